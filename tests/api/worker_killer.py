"""A worker function for tests: it ends its own worker process on a chunk holding a row
whose sample number is ``KILL``, as the out-of-memory killer would.  A module of its
own so that the worker processes can import it by name."""

from __future__ import annotations

import os
from typing import Any


def chunk(ctx: Any, rows: Any) -> Any:
    from inspect_core.imports import reader, service

    parsed = rows.rows() if isinstance(rows, reader.TextChunk) else rows
    if any("KILL" in values for _, values in parsed):
        os._exit(1)
    return service._worker_chunk(ctx, rows)


def failing_start(plugins: tuple[str, ...]) -> None:
    """A worker initializer that fails, as a broken plugin install would."""
    raise RuntimeError(f"cannot start with {plugins}")
