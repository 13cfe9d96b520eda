"""Appending to and verifying the audit hash chain.

Every write calls :func:`record` inside its own transaction, so the event commits or
rolls back with the change it describes.  Appends are serialised (an advisory lock on
PostgreSQL; SQLite has one writer) so the chain never forks.  :func:`verify` walks the
chain and reports the first broken link: an altered row, a deleted one, or rows swapped.
A superuser can still rewrite the whole chain, or cut off its tail, so the head is signed
outside the database and checked against later (:mod:`inspect_core.audit.checkpoint`,
``inspect-core audit checkpoint``; a CT-style signed tree head, RELIABILITY.md §1.4).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from inspect_core.audit.models import AuditEvent
from inspect_core.db import json_dumps, json_loads, utcnow

GENESIS = "0" * 64
_LOCK_KEY = 0x1A5D17  # pg_advisory_xact_lock key of the chain


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot put {type(value).__name__} in an audit event")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same bytes on every machine."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode()


HASHED = ("id", "occurred_at", "actor", "action", "entity", "entity_id", "data")


def event_hash(prev_hash: str, event: Any) -> str:
    """The hash of one event given the previous hash (an ORM row or a result row)."""
    body = {name: getattr(event, name) for name in HASHED}
    return hashlib.sha256(prev_hash.encode() + b"\x00" + canonical_json(body)).hexdigest()


def record(
    session: Session,
    actor: Any,
    action: str,
    entity: str,
    entity_id: Any,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the chain in the caller's transaction (the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    prev_id, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
    # round-trip through JSON, then through the column's own serializer, so what is hashed
    # is exactly what is stored: orjson stores NaN and Infinity as null, and hashed as
    # ``json`` reads them the event was "altered" from the moment it was written
    payload = json_loads(json_dumps(json.loads(canonical_json(data or {}))))
    event = AuditEvent(
        id=prev_id + 1,
        occurred_at=utcnow(),
        actor=getattr(actor, "username", actor),
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        data=payload,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(prev_hash, event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    head: str
    first_broken: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> VerifyReport:
    """Recompute the chain; name the first event whose link or content does not hold."""
    columns = [getattr(AuditEvent, name) for name in HASHED] + [
        AuditEvent.prev_hash,
        AuditEvent.hash,
    ]
    expected_prev, expected_id, count = GENESIS, 1, 0
    # the first batch from the lowest id: a row with an id below 1 is on no chain, yet
    # ``verify_records`` reads every event, so one there is a break, not skipped
    after: int | None = None
    while True:
        query = select(*columns).order_by(AuditEvent.id).limit(batch)
        if after is not None:
            query = query.where(AuditEvent.id > after)
        rows = session.execute(query).all()
        if not rows:
            return VerifyReport(True, count, expected_prev)
        for row in rows:
            problem, broken = None, expected_id
            if row.id < 1:
                problem, broken = f"event {row.id} is outside the chain (ids start at 1)", row.id
            elif row.id != expected_id:
                problem = f"event {expected_id} is missing (next is {row.id})"
            elif row.prev_hash != expected_prev:
                problem = "prev_hash does not match the previous event's hash"
            elif row.hash != event_hash(row.prev_hash, row):
                problem = "content does not match its hash (altered)"
            if problem:
                return VerifyReport(False, count, expected_prev, broken, problem)
            expected_prev, expected_id, count = row.hash, row.id + 1, count + 1
        after = rows[-1].id


def head(session: Session) -> tuple[int, str]:
    """(last id, last hash): the checkpoint to publish or sign outside the database."""
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)
