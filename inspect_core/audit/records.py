"""Checking the stored result rows against the digests the audit chain holds.

:func:`inspect_core.audit.service.verify` proves the events were not edited; this proves
the rows they describe were not either.  Each write of result rows put their digest in
its event (:mod:`inspect_core.results.digest`); a superuser who turns the triggers off
and edits, deletes or adds a row (or a holder of INSERT who adds one) leaves rows that no
longer match, or that no event covers.  Run it after ``verify``: an event whose digest
was edited is the chain's finding, not this one's.

One pass over the events, then one over ``results`` in id order; memory holds the events'
digests and one running hash per upload, not the rows.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, insert, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from inspect_core.audit.models import AuditEvent
from inspect_core.audit.service import record
from inspect_core.db import json_loads
from inspect_core.results.digest import (
    DIGESTED,
    JSON_COLUMNS,
    id_ranges,
    row_digest,
    rows_digest,
)

#: events that stored result rows, and how each names them
SINGLE = ("result.record", "result.correct")  # one row, by id
UPLOAD = "import.results"  # the rows whose import_id is the event's entity_id
LOAD = "result.load"  # the rows in its id ranges (the demo's simulated history)


def store_loaded(
    session: Session, actor: Any, rows: list[dict[str, Any]], **note: Any
) -> list[int]:
    """Insert result rows a loader made (not an inspector's upload: the demo's simulated
    history) with one ``result.load`` event holding their id ranges and digest, so
    :func:`verify_records` covers them like every other result.  Returns their ids."""
    from inspect_core.results.models import Result

    if not rows:
        return []
    ids = session.scalars(
        insert(Result).returning(Result.id, sort_by_parameter_order=True), rows
    ).all()
    _record_load(session, actor, list(ids), note)
    return list(ids)


def stored_columns() -> list[Any]:
    """``results.id`` and the digested columns as a row's digest is of them: the JSON
    columns as the text stored (a cast), not parsed."""
    from inspect_core.results.models import Result

    table = Result.__table__
    return [
        table.c.id,
        *(
            cast(table.c[name], Text).label(name) if name in JSON_COLUMNS else table.c[name]
            for name in DIGESTED
        ),
    ]


@dataclass
class RecordsReport:
    """``ok`` unless a row differs from, or is missing from, or is absent from the chain."""

    rows: int = 0
    verified: int = 0
    #: attachments read, each checked against its SHA-256 and its result's event
    attachments: int = 0
    #: rows stored before row digests (revision 0012): counted, not checked
    unverifiable: int = 0
    problems: list[str] = field(default_factory=list)
    n_problems: int = 0
    #: the ids of rows no event covers, when asked for (:func:`baseline`)
    uncovered: list[int] | None = None
    #: problems other than rows no event covers
    n_other: int = 0

    @property
    def ok(self) -> bool:
        return self.n_problems == 0


@dataclass
class _Group:
    """Rows one event covers as a whole (an upload or a load), hashed as they are read."""

    event_id: int
    what: str
    count: int
    digest: str | None
    seen: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    #: an upload's: the id ranges its event holds, and those of the rows seen
    ranges: list[list[int]] | None = None
    runs: list[list[int]] = field(default_factory=list)

    def add(self, rid: int, digest: bytes) -> None:
        self.hasher.update(digest)
        self.seen += 1
        if self.runs and rid == self.runs[-1][1] + 1:
            self.runs[-1][1] = rid
        else:
            self.runs.append([rid, rid])


def verify_records(
    session: Session, batch: int = 5000, max_problems: int = 20, collect: bool = False
) -> RecordsReport:
    """Recompute every result row's digest and compare it with its event's.  With
    ``collect``, also list the ids of the rows no event covers."""
    report = RecordsReport(uncovered=[] if collect else None)

    def problem(message: str, other: bool = True) -> None:
        report.n_problems += 1
        report.n_other += other
        if len(report.problems) < max_problems:
            report.problems.append(message)

    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        # one snapshot for both passes: a result recorded between them is not "in no
        # event"; a connection already in a transaction (a test's) keeps its own
        with contextlib.suppress(InvalidRequestError):
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    singles: dict[int, tuple[int, str | None, str | None]] = {}
    # result → (event, whether it names files, its attachments as _attachment_key gives them)
    attached: dict[int, tuple[int, bool, list[tuple[Any, ...]]]] = {}
    uploads: dict[int, _Group] = {}
    loads: list[tuple[int, int, _Group]] = []
    legacy_rows = 0  # rows that events from before row digests stored without one
    events = session.execute(
        select(AuditEvent.id, AuditEvent.action, AuditEvent.entity_id, AuditEvent.data)
        .where(AuditEvent.action.in_([*SINGLE, UPLOAD, LOAD]))
        .order_by(AuditEvent.id)
    )
    for event_id, action, entity_id, data in events:
        if action in SINGLE:
            singles[int(entity_id)] = (
                event_id,
                data.get("row_sha256"),
                data.get("payload_sha256"),
            )
            files = data.get("attachment_files")
            if files is None:  # recorded before events named the files: contents only
                listed = [(sha,) for sha in data.get("attachments") or []]
            else:
                listed = [_attachment_key(f, True) for f in files]
            attached[int(entity_id)] = (event_id, files is not None, sorted(listed, key=str))
        elif action == UPLOAD:
            if not data.get("accepted"):
                continue
            if "rows_sha256" not in data:
                legacy_rows += int(data["accepted"])
                continue
            group = _Group(
                event_id,
                f"import {entity_id}",
                data["accepted"],
                data["rows_sha256"],
                ranges=data.get("ranges"),
            )
            uploads[int(entity_id)] = group
        else:
            if data.get("baseline"):  # it took in the rows those uploads had counted
                legacy_rows = 0
            group = _Group(
                event_id, f"history load {entity_id}", data["count"], data["rows_sha256"]
            )
            loads.extend((first, last, group) for first, last in data["ranges"])
    loads.sort(key=lambda item: item[0])
    starts = [first for first, _, _ in loads]

    from inspect_core.results.models import Result

    table = Result.__table__
    columns = stored_columns()
    # rows stored before row digests name no event: the first as many as those events
    # counted are taken for them (unchecked), any more were added behind the back
    legacy_left = legacy_rows
    last = 0
    while True:
        rows = session.execute(
            select(*columns).where(table.c.id > last).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            values = row._mapping
            rid = row.id
            report.rows += 1
            digest = row_digest(values)
            if row.import_id is not None:
                group = uploads.get(row.import_id)
                if group is None:
                    problem(
                        f"result {rid} names import {row.import_id}, whose audit event "
                        "stored no such rows"
                    )
                else:
                    group.add(rid, digest)
                continue
            single = singles.pop(rid, None)
            if single is not None:
                event_id, row_sha256, payload_sha256 = single
                if row_sha256 is None:  # an event from before row digests
                    report.unverifiable += 1
                    if payload_sha256 is not None and payload_sha256 != _payload_sha256(
                        values["payload"]  # its text: the event has the value's digest
                    ):
                        problem(f"result {rid}: payload differs from audit event {event_id}")
                elif digest.hex() != row_sha256:
                    problem(f"result {rid} differs from what audit event {event_id} recorded")
                else:
                    report.verified += 1
                continue
            k = bisect.bisect_right(starts, rid) - 1
            if k >= 0 and loads[k][0] <= rid <= loads[k][1]:
                loads[k][2].add(rid, digest)
                continue
            if report.uncovered is not None:
                report.uncovered.append(rid)
            if legacy_left:
                legacy_left -= 1
                report.unverifiable += 1
            else:
                problem(
                    f"result {rid} is in no audit event (written outside the application)",
                    other=False,
                )
        last = rows[-1].id

    _check_attachments(session, attached, report, problem)
    if legacy_left:  # fewer than those events stored: append-only rows were deleted
        problem(
            f"{legacy_left} of the {legacy_rows} result rows that uploads from before row "
            "digests stored are missing (deleted)"
        )
    for rid, (event_id, _, _) in sorted(singles.items()):
        problem(f"result {rid}, recorded by audit event {event_id}, is missing (deleted)")
    for group in [*uploads.values(), *{id(g): g for _, _, g in loads}.values()]:
        if group.seen != group.count:
            problem(
                f"{group.what}: {group.seen} result rows stored, but audit event "
                f"{group.event_id} recorded {group.count} (rows deleted or added)"
            )
        elif group.hasher.hexdigest() != group.digest:
            problem(
                f"{group.what}: its {group.count} result rows differ from the digest in "
                f"audit event {group.event_id} (a row altered, or rows swapped)"
            )
        elif group.ranges is not None and group.runs != group.ranges:
            problem(
                f"{group.what}: its result rows have ids {group.runs}, but audit event "
                f"{group.event_id} recorded {group.ranges} (rows renumbered)"
            )
        else:
            report.verified += group.count
    return report


#: what an event lists of each attachment (``attachment_files``)
_ATTACHMENT_KEYS = ("sha256", "filename", "content_type", "size")


def _attachment_key(attachment: dict[str, Any], named: bool) -> tuple[Any, ...]:
    """An attachment as an event lists it: its SHA-256, and, in events that name files,
    the filename, content type and size a reader is shown with it."""
    if not named:
        return (attachment.get("sha256"),)
    return tuple(attachment.get(k) for k in _ATTACHMENT_KEYS)


def _check_attachments(
    session: Session,
    attached: dict[int, tuple[int, bool, list[tuple[Any, ...]]]],
    report: RecordsReport,
    problem: Any,
) -> None:
    """Each attachment's content against its SHA-256 and its size, and each result's
    attachments (SHA-256, filename, content type, size) against the list its
    ``result.record``/``result.correct`` event holds (an attachment is evidence: a lab
    report, a photo; a renamed one reads as other evidence).  Read 200 at a time (5 MB
    each at most)."""
    from inspect_core.results.models import Attachment

    table = Attachment.__table__
    found: dict[int, list[Any]] = {}
    last = 0
    while True:
        rows = session.execute(
            select(*(table.c[k] for k in ("id", "result_id", *_ATTACHMENT_KEYS, "content")))
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(200)
        ).all()
        if not rows:
            break
        for row in rows:
            report.attachments += 1
            if hashlib.sha256(row.content).hexdigest() != row.sha256:
                problem(
                    f"attachment {row.id} of result {row.result_id}: its content does not "
                    "match its SHA-256 (altered)"
                )
            elif len(row.content) != row.size:
                problem(
                    f"attachment {row.id} of result {row.result_id}: its size does not "
                    "match its content (altered)"
                )
            # the row without its content: a result's attachments are kept until compared
            found.setdefault(row.result_id, []).append(
                {k: row._mapping[k] for k in _ATTACHMENT_KEYS}
            )
        last = rows[-1].id
    for rid, (event_id, named, listed) in attached.items():
        stored = sorted((_attachment_key(a, named) for a in found.pop(rid, [])), key=str)
        if stored != listed:
            problem(
                f"result {rid}: its attachments (content, name, type or size) differ from "
                f"audit event {event_id}"
            )
    for rid in sorted(found):
        problem(f"result {rid} has attachments that no audit event lists")


class BaselineRefused(Exception):
    """The rows have problems other than being in no event: recording them would cover
    up what ``verify --records`` reports."""


def baseline(session: Session, actor: Any = "cli") -> tuple[int, RecordsReport]:
    """Record, in one ``result.load`` event marked ``baseline``, every result row no event
    covers: the rows of a database from before row digests (revision 0012), which the
    demo's history and bulk uploads stored without one.  Trust on first use: run once,
    after the upgrade.  Refuses when any row differs from or is missing from its event.
    Returns (rows recorded, the report that found them); the caller commits."""
    report = verify_records(session, collect=True)
    if report.n_other:
        raise BaselineRefused("; ".join(report.problems))
    ids = report.uncovered or []
    if not ids:
        return 0, report
    _record_load(
        session,
        actor,
        ids,
        {
            "baseline": True,
            "reason": "result rows stored before row digests (revision 0012), as found",
        },
    )
    return len(ids), report


def _record_load(session: Session, actor: Any, ids: list[int], note: dict[str, Any]) -> None:
    """One ``result.load`` event for the rows ``ids``: their id runs and the digest of
    the rows as stored, read back (a column's default, say, is what was stored)."""
    from inspect_core.results.models import Result

    ids = sorted(ids)
    columns, key = stored_columns(), Result.__table__.c.id
    digests = bytearray()
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        for row in session.execute(select(*columns).where(key.in_(part)).order_by(key)):
            digests += row_digest(row._mapping)
    record(
        session,
        actor,
        LOAD,
        "result",
        f"{ids[0]}-{ids[-1]}",
        {
            **note,
            "count": len(ids),
            "ranges": id_ranges(ids),
            "rows_sha256": rows_digest(bytes(digests)),
        },
    )


def _payload_sha256(text: str | None) -> str:
    """``payload_sha256`` as ``result.record`` events hold it (of the parsed payload)."""
    from inspect_core import idempotency

    payload = None if text is None else json_loads(text)
    return hashlib.sha256(idempotency.fingerprint("", payload).encode()).hexdigest()
