"""Disclosure (一公开): publishing result chains, the public views, overdue lists, calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.orm import Session, aliased

from inspect_core.audit.service import record as audit
from inspect_core.enterprises.models import Enterprise
from inspect_core.errors import Conflict, NotFound
from inspect_core.pagination import decode_cursor, encode_cursor
from inspect_core.plans.models import PUBLIC_PLAN_STATUSES, Draw, Plan, PoolSnapshot
from inspect_core.results.models import RESULT_CODES, CalendarDay, Disclosure, Result
from inspect_core.results.service import _readable, today_in_china
from inspect_core.scope import region_clause
from inspect_core.sectors import catalogue


def _check_published(plan: Plan) -> None:
    """Refuse to disclose under a plan the public cannot read yet.

    ``/public/plans`` lists published and closed plans only, and a disclosed result names its
    plan: disclosed under a drawn plan, it showed the public a plan (title, issuing unit) that
    the plan list and its draw still hid.  The plan is published first (一公开 of the plan).
    """
    if plan.status not in PUBLIC_PLAN_STATUSES:
        raise Conflict(
            f"plan {plan.id} is {plan.status}: publish it before disclosing its results",
            {"plan": ["not published: publish the plan before disclosing its results"]},
            message_zh=f"抽查计划 {plan.id} 尚未公示（{plan.status}），请先公示计划再公示其结果",
        )


def _lock_plan(session: Session, plan_id: int) -> None:
    """Take the plan's row lock (PostgreSQL) before reading which chains are public.

    Two disclosures of one chain at once (a double click, a plan's beside one result's)
    both found it undisclosed, and the second insert broke the unique chain: a 500, and a
    plan's whole disclosure undone.  The second now waits, then sees the first.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Plan.id).where(Plan.id == plan_id).with_for_update())


def disclose_result(session: Session, user: Any, result_id: int) -> Disclosure:
    result = _readable(session, user, result_id)
    _lock_plan(session, result.plan_id)
    _check_published(result.plan)
    if session.scalar(select(Disclosure.id).where(Disclosure.chain == result.chain)):
        raise Conflict("this result is already public", {"result": ["already disclosed"]})
    disclosure = Disclosure(chain=result.chain, disclosed_by=user.username)
    session.add(disclosure)
    session.flush()
    audit(session, user, "result.disclose", "result", result.id, {"chain": result.chain})
    session.commit()
    return disclosure


def disclose_plan(session: Session, user: Any, plan_id: int) -> int:
    """Disclose every undisclosed current result of a plan in the user's scope."""
    from inspect_core.plans.service import get_plan

    _check_published(get_plan(session, user, plan_id, for_update=True))
    newer = aliased(Result)
    chains = session.scalars(
        select(Result.chain)
        .join(Enterprise, Enterprise.id == Result.enterprise_id)
        .where(
            Result.plan_id == plan_id,
            region_clause(user, Enterprise.region),
            ~exists().where(newer.supersedes_id == Result.id),
            ~exists().where(Disclosure.chain == Result.chain),
        )
    ).all()
    for chain in chains:
        session.add(Disclosure(chain=chain, disclosed_by=user.username))
    audit(session, user, "plan.disclose", "plan", plan_id, {"chains": len(chains)})
    session.commit()
    return len(chains)


def public_results(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """Disclosed results, their current version, with only the public fields.

    Newest result first, by its first version's id: a correction gives the current version a
    new id, and paged by that, a result corrected while a reader paged jumped ahead of the
    cursor and was never listed (or listed twice, when corrected after its page).
    """
    newer = aliased(Result)
    first = aliased(Result)
    stmt = (
        select(Result, Disclosure.disclosed_at, Enterprise, Plan, first.id)
        .join(Disclosure, Disclosure.chain == Result.chain)
        .join(first, and_(first.chain == Result.chain, first.version == 1))
        .join(Enterprise, Enterprise.id == Result.enterprise_id)
        .join(Plan, Plan.id == Result.plan_id)
        .where(
            ~exists().where(newer.supersedes_id == Result.id),
            # disclosed before a plan had to be published first: hidden until it is
            Plan.status.in_(PUBLIC_PLAN_STATUSES),
        )
    )
    if args.get("uscc"):
        stmt = stmt.where(Enterprise.uscc == args["uscc"])
    if args.get("plan"):
        stmt = stmt.where(Result.plan_id == args["plan"])
    if args.get("sector"):
        stmt = stmt.where(Result.sector == args["sector"])
    if args.get("date_from"):
        stmt = stmt.where(Result.inspected_on >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(Result.inspected_on <= args["date_to"])
    if args.get("cursor"):
        (last,) = decode_cursor("public-results:first", args["cursor"], (int,))
        stmt = stmt.where(first.id < last)
    limit = args["limit"]
    rows = session.execute(stmt.order_by(first.id.desc()).limit(limit + 1)).all()
    sectors = catalogue()
    items = []
    for result, disclosed_at, enterprise, plan, _ in rows[:limit]:
        zh, en = RESULT_CODES[result.conclusion_code]
        sector = sectors.get(result.sector)
        items.append(
            {
                "id": result.id,
                "uscc": enterprise.uscc,
                "enterprise_name": enterprise.name,
                "plan_id": plan.id,
                "plan_title": plan.title,
                "issuing_unit": plan.issuing_unit,
                "sector": result.sector,
                "sector_zh": sector.name_zh if sector else result.sector,
                "sector_en": sector.name_en if sector else result.sector,
                "inspected_on": result.inspected_on,
                "conclusion_code": result.conclusion_code,
                "conclusion_zh": zh,
                "conclusion_en": en,
                "passed": result.passed,
                "corrected": result.version > 1,
                "disclosed_at": disclosed_at,
            }
        )
    next_cursor = (
        encode_cursor("public-results:first", [rows[limit - 1][4]]) if len(rows) > limit else None
    )
    return {"items": items, "next_cursor": next_cursor}


def public_plans(session: Session) -> list[dict[str, Any]]:
    """Published and closed plans with every draw (seed, public value, pool hash), and the
    sector's zh-CN and English names, as ``/public/results`` gives them."""
    sectors = catalogue()
    plans = session.scalars(
        select(Plan).where(Plan.status.in_(PUBLIC_PLAN_STATUSES)).order_by(Plan.id.desc())
    ).all()
    out = []
    for plan in plans:
        draws = session.scalars(
            select(Draw).where(Draw.plan_id == plan.id).order_by(Draw.seq)
        ).all()
        sector = sectors.get(plan.sector)
        out.append(
            {
                "id": plan.id,
                "title": plan.title,
                "issuing_unit": plan.issuing_unit,
                "sector": plan.sector,
                "sector_zh": sector.name_zh if sector else plan.sector,
                "sector_en": sector.name_en if sector else plan.sector,
                "check_items": plan.check_items,
                "scope_regions": plan.scope_regions,
                "ratios": plan.ratios,
                "inspectors_per_task": plan.inspectors_per_task,
                "due_date": plan.due_date,
                "status": plan.status,
                "published_at": plan.published_at,
                "draws": [
                    {
                        "id": d.id,
                        "seq": d.seq,
                        "seed": d.seed,
                        "seed_kind": d.seed_kind,
                        "public_value": d.public_value,
                        "public_source": d.public_source,
                        "public_drawn_at": d.public_drawn_at,
                        "pool_hash": d.pool_hash,
                        "algorithm_version": d.algorithm_version,
                        "reason": d.reason,
                        "drawn_at": d.drawn_at,
                        "snapshot_id": d.snapshot_id,
                    }
                    for d in draws
                ],  # fmt: skip
            }
        )
    return out


def public_snapshot(session: Session, snapshot_id: int) -> PoolSnapshot:
    """A published plan's frozen pool, for anyone to replay its draw."""
    snapshot = session.get(PoolSnapshot, snapshot_id)
    # an unpublished plan's snapshot answers as a missing one, to the letter: "no published
    # snapshot" told anyone that it existed (a pool frozen for a draw not yet public)
    plan = session.get(Plan, snapshot.plan_id) if snapshot is not None else None
    if plan is None or plan.status not in PUBLIC_PLAN_STATUSES:
        raise NotFound(
            f"no published snapshot {snapshot_id}", message_zh="未找到已公示的名录库快照"
        )
    return snapshot


def overdue(session: Session, user: Any, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """Current results past their disclosure deadline and not yet disclosed."""
    as_of = as_of or today_in_china()
    newer = aliased(Result)
    rows = session.execute(
        select(Result, Enterprise, Plan.status)
        .join(Enterprise, Enterprise.id == Result.enterprise_id)
        .join(Plan, Plan.id == Result.plan_id)
        .where(
            region_clause(user, Enterprise.region),
            Result.disclosure_due < as_of,
            ~exists().where(newer.supersedes_id == Result.id),
            ~exists().where(Disclosure.chain == Result.chain),
        )
        .order_by(Result.disclosure_due, Result.id)
    ).all()
    return [
        {
            "result_id": r.id,
            "uscc": e.uscc,
            "enterprise_name": e.name,
            "plan_id": r.plan_id,
            "plan_status": plan_status,
            "recorded_at": r.recorded_at,
            "disclosure_due": r.disclosure_due,
            "disclosure_basis": r.disclosure_basis,
            "days_overdue": (as_of - r.disclosure_due).days,
        }
        for r, e, plan_status in rows
    ]


def load_calendar(
    session: Session, user: Any, year: int, holidays: list[dt.date], workdays: list[dt.date]
) -> int:
    """Replace a year's working-day overrides (State Council holiday notice)."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    session.execute(
        delete(CalendarDay).where(and_(CalendarDay.day >= start, CalendarDay.day < end))
    )
    rows = [CalendarDay(day=d, workday=False, note="holiday") for d in sorted(set(holidays))]
    rows += [
        CalendarDay(day=d, workday=True, note="adjusted working day") for d in sorted(set(workdays))
    ]
    # an empty notice still marks the year as loaded: store its first day's weekday status
    if not rows:
        rows = [CalendarDay(day=start, workday=start.weekday() < 5, note="year loaded")]
    session.add_all(rows)
    audit(
        session, user, "calendar.load", "calendar", year,
        {"holidays": sorted(set(holidays)), "workdays": sorted(set(workdays))},
    )  # fmt: skip
    session.commit()
    return len(rows)
