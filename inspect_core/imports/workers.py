"""The worker processes that validate large uploads.

Workers start from a ``forkserver`` (not ``fork``: a forked child would inherit, and on
exit close, the parent's database connections).  Started afresh for each upload, two
workers cost about 0.3 s of CPU each to import the core, Flask, SQLAlchemy, marshmallow
and the plugins, and the importing process waited about 0.55 s for them to be launched
one after the other: a tenth of what a 100,000-row file then takes.  So the pool is
kept for the life of the process and shared by its uploads (each chunk carries its own
:class:`~inspect_core.imports.service.RowContext`), the forkserver imports those modules
once, and :func:`warm` starts all of it in the background when the server starts.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait as wait_for
from typing import Any

log = logging.getLogger(__name__)

#: imported once in the forkserver; the plugins' own modules are added by name
CORE_MODULES = ("inspect_core.imports.service",)


def preload(plugins: Iterable[str]) -> list[str]:
    """Modules for the forkserver to import: the core's and each enabled plugin's."""
    from inspect_core.plugin_manager import available_entry_points

    eps = available_entry_points()
    return [*CORE_MODULES, *(eps[p].module for p in plugins if p in eps)]


def context(plugins: Iterable[str]) -> Any:
    """The multiprocessing context for workers, its forkserver told what to preload.

    The preload list only counts before the forkserver starts (once per process); a
    forkserver started earlier keeps its list, and workers then import what is missing.
    """
    if os.name != "posix":
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload(plugins))
    return ctx


_lock = threading.Lock()
#: pools by (workers, plugins): one in a server; tests and several apps in one process
#: may ask for others, and a pool an upload may still be using is never shut down
_pools: dict[tuple[int, tuple[str, ...]], ProcessPoolExecutor] = {}


def pool(workers: int, plugins: Iterable[str], initializer: Callable[..., None]) -> Any:
    """The process's pool of ``workers`` processes for ``plugins``, each having run
    ``initializer(plugins)``; made on first use, then kept."""
    key = (workers, tuple(plugins))
    with _lock:
        executor = _pools.get(key)
        if executor is None:
            executor = _pools[key] = ProcessPoolExecutor(
                workers, context(key[1]), _start_worker, (initializer, key[1])
            )
        return executor


def _start_worker(initializer: Callable[..., None], plugins: tuple[str, ...]) -> None:
    """A worker's start: it ends with the process that started it, then runs
    ``initializer(plugins)``.

    A pool's worker waits on its call queue, whose write end it holds itself, so when a
    server is killed (SIGTERM, SIGKILL: no exit handlers run) its workers — and the
    forkserver, which they keep alive — would wait for ever.  ``parent_process()``'s
    sentinel is the write end of a pipe that only the starting process holds: it turns
    readable when that process is gone, however it ended."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:

        def exit_with_parent() -> None:
            wait_for([parent.sentinel])
            os._exit(0)

        threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()
    initializer(plugins)
    # Unpickling a chunk (its rows and tasks: ~100,000 new objects) sets off the cyclic
    # collector many times, and each full collection walked the whole heap of Flask,
    # SQLAlchemy and the plugins: 18 ms a load instead of 7 in a measurement.  What is
    # loaded by now stays for the worker's life, so it is kept out of collections.
    gc.freeze()


def discard(executor: Any) -> None:
    """Forget ``executor`` (a worker died: the pool is broken); the next upload makes a
    new one."""
    with _lock:
        for key, known in list(_pools.items()):
            if known is executor:
                del _pools[key]
    executor.shutdown(wait=False, cancel_futures=True)


def _ready() -> None:
    """A task that returns at once, submitted to make the pool start its processes."""


def warm(
    workers: int, plugins: Iterable[str], initializer: Callable[..., None], wait: bool = False
) -> None:
    """Start the pool's processes now so that the first large upload does not wait for
    them: in the background (returns at once), or with ``wait`` before returning."""
    plugins = tuple(plugins)

    def start() -> None:
        executor = pool(workers, plugins, initializer)
        try:
            # processes start on demand, one per task submitted while none is idle
            for future in [executor.submit(_ready) for _ in range(workers)]:
                future.result()
        except BrokenProcessPool:
            # e.g. a main module the workers cannot import again (a script read from
            # stdin): uploads then validate in their own process
            log.warning("upload workers could not start; large uploads run in-process")
            discard(executor)

    if wait:
        start()
    else:
        threading.Thread(target=start, name="import-workers-warm", daemon=True).start()
