"""Helpers for plugin authors' own test suites."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import ValidationError

from inspect_core.db import json_dumps
from inspect_core.judging import _jsonable
from inspect_core.plugin_api import RuleInputError


def assert_fast_path_agrees(
    pm: Any,
    sector: str,
    rows: Iterable[Mapping[str, Any]],
    config: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """Check a plugin's ``inspect_judge_rows`` against its per-row path.

    Every row the fast path accepts must give the payload the schema loads from
    ``inspect_payload_from_row(row)`` and the judgement ``inspect_judge`` gives for it;
    a row the per-row path rejects must be declined.  Returns ``(accepted, declined)`` so
    a test can also insist that ordinary rows do take the fast path.
    """
    rows = list(rows)
    config = dict(config or {})
    answers = pm.hook.inspect_judge_rows(
        sector=sector, rows=rows, context={"config": config, "recorded_on": None}
    )
    assert answers is not None, f"no inspect_judge_rows for {sector}"
    assert len(answers) == len(rows), "one answer per row"
    schema = pm.hook.inspect_payload_schema(sector=sector)()
    accepted = 0
    for n, (row, answer) in enumerate(zip(rows, answers, strict=True)):
        try:
            payload = schema.load(pm.hook.inspect_payload_from_row(sector=sector, row=row))
            judgement = pm.hook.inspect_judge(
                sector=sector, payload=payload, context={"config": config}
            )
        except (ValidationError, RuleInputError) as exc:
            assert answer is None, (
                f"row {n}: the fast path accepted a row the schema or rules reject ({exc}): {row!r}"
            )
            continue
        if answer is None:
            continue
        accepted += 1
        fast_payload, fast_judgement = answer
        # as stored: exact digits (Decimal("0.10") == Decimal("0.1")), types and key order
        stored, expected = json_dumps(_jsonable(fast_payload)), json_dumps(_jsonable(payload))
        assert stored == expected, f"row {n}: payload {stored} != {expected}"
        assert fast_judgement == judgement, f"row {n}: judgement differs"
    return accepted, len(rows) - accepted
