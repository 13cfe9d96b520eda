"""Enterprise registry rules; owns the transaction of each write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_core.audit.service import record as audit
from inspect_core.credit.models import CreditEvent, CreditWithdrawal
from inspect_core.db import registry_lock
from inspect_core.enterprises.models import Enterprise, EnterpriseSector, search_text
from inspect_core.enterprises.schemas import licence_errors
from inspect_core.errors import Conflict, NotFound, Unprocessable
from inspect_core.pagination import decode_cursor, encode_cursor
from inspect_core.results.models import Result
from inspect_core.scope import check_region_writable, region_clause
from inspect_core.uscc import compact

CURSOR_KIND = "enterprises:id"


def _dump_licences(licences: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**lic, "expires_on": lic["expires_on"].isoformat() if lic.get("expires_on") else None}
        for lic in licences
    ]


def _stored_licences(enterprise: Enterprise) -> list[dict[str, Any]]:
    """The enterprise's licences with their expiry as a date (the JSON column holds text)."""
    return [
        {
            **lic,
            "expires_on": dt.date.fromisoformat(day) if (day := lic.get("expires_on")) else None,
        }
        for lic in enterprise.licences
    ]


def _audit_view(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "licences"} | (
        {"licences": _dump_licences(data["licences"])} if "licences" in data else {}
    )


def create(session: Session, user: Any, data: dict[str, Any]) -> Enterprise:
    check_region_writable(user, data["region"])
    registry_lock(session, "enterprises", shared=True)  # not beside an upload's check
    if session.scalar(select(Enterprise.id).where(Enterprise.uscc == data["uscc"])) is not None:
        raise Conflict(
            f"enterprise {data['uscc']} is already registered",
            {"uscc": ["already registered"]},
            message_zh="该统一社会信用代码已登记",
        )
    enterprise = Enterprise(
        uscc=data["uscc"],
        name=data["name"],
        region=data["region"],
        address=data.get("address", ""),
        status=data.get("status", "active"),
        established_on=data.get("established_on"),
        licences=_dump_licences(data.get("licences", [])),
        sector_rows=[EnterpriseSector(sector=s) for s in data["sectors"]],
    )
    session.add(enterprise)
    try:
        session.flush()
        audit(session, user, "enterprise.create", "enterprise", enterprise.uscc, _audit_view(data))
        session.commit()
    except IntegrityError:  # a concurrent insert of the same USCC
        session.rollback()
        raise Conflict(
            f"enterprise {data['uscc']} is already registered",
            {"uscc": ["already registered"]},
            message_zh="该统一社会信用代码已登记",
        ) from None
    return enterprise


def get(session: Session, user: Any, uscc: str, lock: bool = False) -> Enterprise:
    """The enterprise if it is in the user's scope; 404 otherwise (no existence leak).

    ``lock`` locks its row on PostgreSQL until the transaction ends: a credit event is
    checked against ``established_on`` and the events already recorded, and a new
    ``established_on`` against the events, so none may change under the other."""
    stmt = select(Enterprise).where(
        Enterprise.uscc == compact(uscc), region_clause(user, Enterprise.region)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        # FOR NO KEY UPDATE (what an UPDATE takes): inserts naming the row by foreign
        # key, such as a task's, are not held up
        stmt = stmt.with_for_update(key_share=True)
    if lock:
        # the row as it is now, not as the session loaded it before waiting for the lock
        # (a withdrawal loads the enterprise, unlocked, to scope the event first)
        stmt = stmt.execution_options(populate_existing=True)
    enterprise = session.scalar(stmt)
    if enterprise is None:
        raise NotFound(f"no enterprise {uscc}", message_zh="未找到该企业")
    return enterprise


def _earliest_record(session: Session, enterprise_id: int) -> tuple[dt.date, str] | None:
    """The date of the enterprise's earliest credit event or stored result, and which of
    the two it is (``None``: it has neither).  Every result version counts: versions are
    never altered, so a superseded one still stands in the enterprise's history.  A
    withdrawn credit event does not: it is void, and may have been withdrawn for the very
    date that was wrong."""
    queries = (
        (
            "credit event",
            select(func.min(CreditEvent.occurred_on)).where(
                CreditEvent.enterprise_id == enterprise_id,
                ~exists().where(CreditWithdrawal.event_id == CreditEvent.id),
            ),
        ),
        (
            "inspection result",
            select(func.min(Result.inspected_on)).where(Result.enterprise_id == enterprise_id),
        ),
    )
    found = [(day, kind) for kind, stmt in queries if (day := session.scalar(stmt)) is not None]
    return min(found, key=lambda f: f[0]) if found else None


def _check_established(session: Session, enterprise: Enterprise, day: dt.date | None) -> None:
    """A new establishment date may not follow a record of the enterprise: it would stand
    dated before the enterprise existed (a credit event is refused so on create), and
    scoring reads the enterprise's age from the date.  The stored date sent back unchanged
    is taken, as a form sends every field."""
    if day is None or day == enterprise.established_on:
        return
    earliest = _earliest_record(session, enterprise.id)
    if earliest is not None and day > earliest[0]:
        on, kind = earliest
        raise Unprocessable(
            "the establishment date is later than a record of the enterprise",
            {
                "established_on": [
                    f"later than the earliest record of this enterprise ({kind} on {on})"
                ]
            },
            message_zh=f"成立日期晚于该企业最早的记录（{on}）",
        )


def update(session: Session, user: Any, uscc: str, changes: dict[str, Any]) -> Enterprise:
    enterprise = get(session, user, uscc, lock="established_on" in changes)
    if "region" in changes:
        check_region_writable(user, changes["region"])
    if "established_on" in changes:
        _check_established(session, enterprise, changes["established_on"])
    established = changes.get("established_on", enterprise.established_on)
    if "licences" in changes or established != enterprise.established_on:
        # the licences the enterprise will have against the establishment date it will
        # have: the body's, else the stored ones (the schema sees only the body; a later
        # date alone left a stored licence expiring before the enterprise existed)
        licences = changes["licences"] if "licences" in changes else _stored_licences(enterprise)
        if errors := licence_errors(licences, established):
            raise Unprocessable(
                "a licence expires before the enterprise was established",
                errors,
                message_zh="许可证有效期早于企业成立日期",
            )
    for key in ("name", "region", "address", "status", "established_on"):
        if key in changes:
            setattr(enterprise, key, changes[key])
    if "licences" in changes:
        enterprise.licences = _dump_licences(changes["licences"])
    if "sectors" in changes:
        enterprise.sector_rows = [EnterpriseSector(sector=s) for s in changes["sectors"]]
    audit(session, user, "enterprise.update", "enterprise", enterprise.uscc, _audit_view(changes))
    session.commit()
    return enterprise


def filters(args: dict[str, Any]) -> list[ColumnElement[bool]]:
    """The ``sector``, ``region``, ``status`` and ``q`` (name or USCC) conditions on
    :class:`Enterprise`: one definition for the plain list and the risk-ranked list, so
    the same query string filters both the same way."""
    conditions: list[ColumnElement[bool]] = []
    if args.get("sector"):
        conditions.append(
            exists().where(
                EnterpriseSector.enterprise_id == Enterprise.id,
                EnterpriseSector.sector == args["sector"],
            )
        )
    if args.get("region"):
        conditions.append(Enterprise.region == args["region"])
    if args.get("status"):
        conditions.append(Enterprise.status == args["status"])
    if args.get("q"):
        q = args["q"].strip()
        conditions.append(
            or_(
                # ILIKE on PostgreSQL: LIKE there is case-sensitive, so ``q=abc`` missed
                # "重庆ABC食品" that SQLite's LIKE found; both sides NFKC, so full-width
                # letters and brackets match half-width ones either way round
                Enterprise.search_name.icontains(search_text(q), autoescape=True),
                Enterprise.uscc.startswith(compact(q), autoescape=True),
            )
        )
    return conditions


def list_page(session: Session, user: Any, args: dict[str, Any]) -> dict[str, Any]:
    """One keyset page ordered by ``id``; rows inserted meanwhile land after the cursor."""
    stmt = select(Enterprise).where(region_clause(user, Enterprise.region), *filters(args))
    if args.get("cursor"):
        (last_id,) = decode_cursor(CURSOR_KIND, args["cursor"], (int,))
        stmt = stmt.where(Enterprise.id > last_id)
    limit = args["limit"]
    rows = list(session.scalars(stmt.order_by(Enterprise.id).limit(limit + 1)))
    next_cursor = encode_cursor(CURSOR_KIND, [rows[limit - 1].id]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}
