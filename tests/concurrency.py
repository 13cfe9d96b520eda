"""Two requests at once, made to overlap on every run: the PostgreSQL race tests.

A race test meets both requests at the step before the check they race on
(:func:`meet`), makes the first one through linger after its writes, uncommitted
(:func:`linger`), and runs both in threads (:func:`together`).  Without the lock a fix
adds, the second request then reads the state the first has not yet committed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def meet(monkeypatch: Any, owner: Any, name: str, parties: int = 2) -> None:
    """Each call of ``owner.name`` waits until ``parties`` calls have reached it."""
    real, barrier = getattr(owner, name), threading.Barrier(parties)

    def waiting(*args: Any, **kwargs: Any) -> Any:
        barrier.wait(timeout=10)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, waiting)


def linger(
    monkeypatch: Any,
    owner: Any,
    name: str = "audit",
    when: Callable[..., bool] = lambda *args, **kwargs: True,
    seconds: float = 0.5,
) -> threading.Event:
    """The first call of ``owner.name`` that ``when`` accepts pauses ``seconds`` once it
    returns (its request's writes made, not committed); the event is set as it pauses."""
    real, inside, lock = getattr(owner, name), threading.Event(), threading.Lock()

    def lingering(*args: Any, **kwargs: Any) -> Any:
        answer = real(*args, **kwargs)
        with lock:
            first = not inside.is_set() and when(*args, **kwargs)
            if first:
                inside.set()
        if first:
            time.sleep(seconds)
        return answer

    monkeypatch.setattr(owner, name, lingering)
    return inside


def together(*requests: Callable[[], None]) -> None:
    """Run each request in a thread of its own and wait for all of them."""
    threads = [threading.Thread(target=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
