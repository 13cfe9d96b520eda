"""Credit events and their repair; the current tiers the draw reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_core.audit.service import record as audit
from inspect_core.credit import rules
from inspect_core.credit.models import (
    CREDIT_EVENT_TYPES,
    SEVERITY_NAMES,
    CreditEvent,
    CreditRepair,
    CreditWithdrawal,
)
from inspect_core.enterprises import service as enterprises
from inspect_core.errors import Conflict, NotFound, Unprocessable
from inspect_core.results.service import today_in_china
from inspect_core.scope import region_clause
from inspect_core.sectors import catalogue


def event_view(
    event: CreditEvent,
    repair: CreditRepair | None,
    on: dt.date,
    sectors: list[str],
    withdrawal: CreditWithdrawal | None = None,
) -> dict[str, Any]:
    """An event with its repair and withdrawal, whether it still counts on ``on``, and from
    when a repair may end it (``sectors``: the enterprise's, which the repair rules match
    on).  A withdrawn event never counts."""
    end = min(
        d for d in (event.expires_on, repair.effective_on if repair else None, dt.date.max) if d
    )
    return {
        "id": event.id,
        "type": event.type,
        "occurred_on": event.occurred_on,
        "severity": event.severity,
        "source": event.source,
        "description": event.description,
        "expires_on": event.expires_on,
        "repaired_on": repair.effective_on if repair else None,
        "repair_reason": repair.reason if repair else None,
        "active": withdrawal is None and event.occurred_on <= on < end,
        "withdrawn_at": withdrawal.recorded_at if withdrawal else None,
        "withdrawal_reason": withdrawal.reason if withdrawal else None,
        "replaced_by": withdrawal.replaced_by_id if withdrawal else None,
        "repairable_from": None
        if repair or withdrawal
        else rules.repairable_from(
            current_app.config,
            event.type,
            event.severity,
            event.occurred_on,
            sectors,
            event.expires_on,
        ),
        "recorded_by": event.recorded_by,
        "recorded_at": event.recorded_at,
    }


#: the earliest date a credit event may carry (the founding of the PRC: no market-regulation
#: record is older); an enterprise's own is its establishment date, where recorded
EARLIEST_EVENT = dt.date(1949, 10, 1)


def _refused_where(refusing: dict[str, Any], sectors: list[str]) -> tuple[str, str]:
    """The enterprise's sectors a ``CREDIT_REPAIR_REFUSED`` rule matched, by code and by
    zh-CN name (a rule without sectors matches any)."""
    held = set(sectors)
    codes = sorted(held & set(refusing.get("sectors") or held))
    names = catalogue()
    where = ", ".join(codes) or "any sector"
    where_zh = "、".join(names[c].name_zh if c in names else c for c in codes) or "任何行业"
    return where, where_zh


def _check_not_before_the_rules(data: dict[str, Any], sectors: list[str]) -> None:
    """Refuse an ``expires_on`` sooner than the credit rules let the event stop counting
    (``rules.earliest_expiry``): a one-day expiry ended a serious-dishonesty listing, or a
    food penalty no repair may end, at once, with no repair and no reason recorded."""
    config = current_app.config
    kind, severity, occurred = data["type"], data["severity"], data["occurred_on"]
    given = data["expires_on"]
    earliest = rules.earliest_expiry(config, kind, severity, occurred, sectors)
    if earliest is not None and given >= earliest:
        return
    zh, en = CREDIT_EVENT_TYPES[kind][:2]
    level_zh, level_en = SEVERITY_NAMES[severity]
    refusing = rules.refusing_rule(config, kind, severity, sectors)
    if refusing:  # e.g. a serious food penalty keeps its whole term
        where, where_zh = _refused_where(refusing, sectors)
        if earliest is None:  # its default is to count until removed
            raise Unprocessable(
                f"{en} ({level_en}) of an enterprise in {where}: the rules allow no early "
                "repair (CREDIT_REPAIR_REFUSED) and it counts until removed; record it "
                "without expires_on",
                {"expires_on": [f"must be left out: no early repair of a {severity} {kind} "
                                f"in {where}, and it counts until removed"]},
                message_zh=f"{level_zh}{zh}（{where_zh}）依规不予提前信用修复且长期有效，"
                "不得指定失效日期",
            )  # fmt: skip
        raise Unprocessable(
            f"{en} ({level_en}) of an enterprise in {where}: the rules allow no early repair "
            f"(CREDIT_REPAIR_REFUSED), so it counts its full term; expires_on may not be "
            f"before {earliest}",
            {"expires_on": [f"before {earliest}, the end of its full term: no early repair "
                            f"of a {severity} {kind} in {where}"]},
            message_zh=f"{level_zh}{zh}（{where_zh}）依规不予提前信用修复，"
            f"失效日期不得早于{earliest}（完整有效期届满）",
        )  # fmt: skip
    assert earliest is not None  # only a refused repair leaves no day
    wait = rules.repair_wait(config, kind, severity)
    wait_en, wait_zh = rules.term_text(wait), rules.term_text_zh(wait)
    if earliest < rules.add_term(occurred, wait):  # its default term ends first
        raise Unprocessable(
            f"{en}: its default term ends on {earliest} (CREDIT_EVENT_DAYS), before a credit "
            f"repair may take effect ({wait_en} after the event); expires_on may not be "
            "sooner",
            {"expires_on": [f"before {earliest}, when its default term ends: no credit repair "
                            f"may end it sooner ({wait_en} after occurred_on)"]},
            message_zh=f"{zh}默认有效期至{earliest}，期满前不可信用修复，"
            f"失效日期不得早于{earliest}",
        )  # fmt: skip
    raise Unprocessable(
        f"{en}: a credit repair may end it from {earliest}, {wait_en} after the event "
        "(CREDIT_REPAIR_MIN_DAYS); an earlier expires_on would end it sooner without one",
        {"expires_on": [f"before {earliest}, the first day a credit repair may end it "
                        f"({wait_en} after occurred_on)"]},
        message_zh=f"{zh}满{wait_zh}后（{earliest}起）方可信用修复，失效日期不得早于{earliest}；"
        "提前结束效力须申请信用修复",
    )  # fmt: skip


def _not_withdrawn() -> Any:
    """Where-clause: the event has no withdrawal (it may count)."""
    return ~exists().where(CreditWithdrawal.event_id == CreditEvent.id)


def _check_not_recorded(
    session: Session, enterprise_id: int, data: dict[str, Any], replacing: int | None = None
) -> None:
    """One decision is one event: the same type, day and source posted again (a retry, a
    second clerk) counted twice, and repairing one copy of a serious-dishonesty listing
    left the enterprise in tier D by the other.  A withdrawn event, and the one
    ``replacing`` names (withdrawn in the same transaction), no longer record it."""
    found = session.scalar(
        select(CreditEvent.id).where(
            CreditEvent.enterprise_id == enterprise_id,
            CreditEvent.type == data["type"],
            CreditEvent.occurred_on == data["occurred_on"],
            CreditEvent.source == data["source"],
            CreditEvent.id != (replacing or 0),
            _not_withdrawn(),
        )
    )
    if found is not None:
        raise Conflict(
            f"credit event {found} already records this {data['type']} of "
            f"{data['occurred_on']} from this source",
            {"source": [f"already recorded as credit event {found}; a second event of this "
                        "type and day needs the document number that tells it apart"]},
            message_zh=f"该信用事件已登记（编号 {found}）：同一类型、同一日期、同一来源只登记一次",
        )  # fmt: skip


def add_event(session: Session, user: Any, uscc: str, data: dict[str, Any]) -> dict[str, Any]:
    # a PATCH moving established_on, or the same event posted twice at once, waits for
    # this one and then sees it
    enterprise = enterprises.get(session, user, uscc, lock=True)
    event = _new_event(session, user, enterprise, data)
    audit(session, user, "credit_event.add", "enterprise", enterprise.uscc,
          {"event": event.id, "type": event.type, "occurred_on": event.occurred_on,
           "severity": event.severity, "source": event.source})  # fmt: skip
    session.commit()
    return event_view(event, None, today_in_china(), enterprise.sectors)


def _new_event(
    session: Session, user: Any, enterprise: Any, data: dict[str, Any], replacing: int | None = None
) -> CreditEvent:
    """Check a new event against the rules and the record (the enterprise row locked by
    the caller) and add it, flushed, not committed."""
    today = today_in_china()
    if data["occurred_on"] > today:
        raise Unprocessable(
            "the event is dated in the future", {"occurred_on": [f"after today ({today})"]}
        )
    # a date no record of this enterprise can have (a typo such as 0202-05-01): it would
    # stand in its history and, with a long expiry, in its score
    earliest = max(EARLIEST_EVENT, enterprise.established_on or EARLIEST_EVENT)
    if data["occurred_on"] < earliest:
        why = (
            f"before the enterprise was established ({earliest})"
            if earliest > EARLIEST_EVENT
            else f"before {EARLIEST_EVENT}"
        )
        raise Unprocessable(
            "the event is dated before any record the enterprise can have",
            {"occurred_on": [why]},
            message_zh=f"事件日期早于{earliest}（企业成立或最早可记录日期）",
        )
    latest = rules.latest_expiry(current_app.config, data["occurred_on"])
    if data.get("expires_on") and data["expires_on"] > latest:
        days = (latest - data["occurred_on"]).days
        raise Unprocessable(
            "the event would count longer than any credit rule lets one",
            {"expires_on": [f"more than {days} days after occurred_on (latest {latest})"]},
            message_zh=f"失效日期距发生日期超过{days}天（最晚{latest}），请核对日期",
        )
    if data.get("expires_on"):
        _check_not_before_the_rules(data, enterprise.sectors)
    _check_not_recorded(session, enterprise.id, data, replacing)
    expires = data.get("expires_on") or rules.default_expiry(
        current_app.config, data["type"], data["severity"], data["occurred_on"]
    )
    event = CreditEvent(
        enterprise_id=enterprise.id,
        type=data["type"],
        occurred_on=data["occurred_on"],
        severity=data["severity"],
        source=data["source"],
        description=data.get("description", ""),
        expires_on=expires,
        recorded_by=user.username,
    )
    session.add(event)
    session.flush()
    return event


def list_events(session: Session, user: Any, uscc: str) -> list[dict[str, Any]]:
    enterprise = enterprises.get(session, user, uscc)
    rows = session.execute(
        _with_repair_and_withdrawal()
        .where(CreditEvent.enterprise_id == enterprise.id)
        .order_by(CreditEvent.occurred_on.desc(), CreditEvent.id.desc())
    ).all()
    today = today_in_china()
    return [event_view(e, r, today, enterprise.sectors, w) for e, r, w in rows]


def get_event(session: Session, user: Any, event_id: int) -> dict[str, Any]:
    """One credit event as the enterprise's list shows it, with its enterprise's USCC: the
    resource a POST of an event, a repair or a withdrawal names in ``Location``."""
    _, enterprise = _scoped_event(session, user, event_id)
    event, repair, withdrawal = session.execute(
        _with_repair_and_withdrawal().where(CreditEvent.id == event_id)
    ).one()
    view = event_view(event, repair, today_in_china(), enterprise.sectors, withdrawal)
    return {**view, "uscc": enterprise.uscc}


def _with_repair_and_withdrawal() -> Any:
    """Events with their repair and withdrawal (each at most one), as the views show them."""
    return (
        select(CreditEvent, CreditRepair, CreditWithdrawal)
        .outerjoin(CreditRepair, CreditRepair.event_id == CreditEvent.id)
        .outerjoin(CreditWithdrawal, CreditWithdrawal.event_id == CreditEvent.id)
    )


def _scoped_event(session: Session, user: Any, event_id: int) -> tuple[CreditEvent, Any]:
    """The event and its enterprise; scope in the query: an event of another region reads
    as absent, and the 404 names only the id asked for (not the enterprise it belongs
    to)."""
    from inspect_core.enterprises.models import Enterprise

    found = session.execute(
        select(CreditEvent, Enterprise)
        .join(Enterprise, Enterprise.id == CreditEvent.enterprise_id)
        .where(CreditEvent.id == event_id, region_clause(user, Enterprise.region))
    ).first()
    if found is None:
        raise NotFound(f"no credit event {event_id}", message_zh=f"未找到信用事件 {event_id}")
    return found[0], found[1]


def _check_not_withdrawn(session: Session, event: CreditEvent) -> None:
    withdrawal = session.scalar(
        select(CreditWithdrawal).where(CreditWithdrawal.event_id == event.id)
    )
    if withdrawal is None:
        return
    by = withdrawal.replaced_by_id
    reason = f"withdrawn; credit event {by} replaces it" if by else "withdrawn"
    raise Conflict(
        f"credit event {event.id} was {reason}",
        {"event": [reason]},
        message_zh=f"信用事件 {event.id} 已撤销" + (f"，由信用事件 {by} 替代" if by else ""),
    )


def repair(session: Session, user: Any, event_id: int, data: dict[str, Any]) -> dict[str, Any]:
    event, enterprise = _scoped_event(session, user, event_id)
    # the lock a withdrawal takes: a repair racing one waits for it, then sees it (no table
    # constraint ties a repair to a withdrawal)
    enterprise = enterprises.get(session, user, enterprise.uscc, lock=True)
    if session.scalar(select(CreditRepair.id).where(CreditRepair.event_id == event.id)):
        raise Conflict("this event was already repaired", {"event": ["already repaired"]})
    _check_not_withdrawn(session, event)
    zh, en = CREDIT_EVENT_TYPES[event.type][:2]
    if CREDIT_EVENT_TYPES[event.type][2] < 0:  # a certification or an award
        raise Unprocessable(
            f"{en} is a positive event: credit repair ends a dishonesty record's effect early",
            {"event": [f"a positive event ({event.type}) has nothing to repair"]},
            message_zh=f"{zh}属正面信用信息，无需信用修复",
        )
    today = today_in_china()
    effective = data.get("effective_on") or today
    if not event.occurred_on <= effective <= today:
        raise Unprocessable(
            "a repair takes effect between the event and today",
            {"effective_on": [f"between {event.occurred_on} and {today}"]},
        )
    expires = event.expires_on
    refusing = rules.refusing_rule(
        current_app.config, event.type, event.severity, enterprise.sectors
    )
    if refusing:  # e.g. a serious food penalty keeps its whole term
        where, where_zh = _refused_where(refusing, enterprise.sectors)
        level_zh, level_en = SEVERITY_NAMES[event.severity]
        end_en, end_zh = (expires, expires) if expires else ("it is removed", "移出")
        raise Unprocessable(
            f"{en} ({level_en}) of an enterprise in {where}: the rules allow no early "
            f"repair; it counts until {end_en} (CREDIT_REPAIR_REFUSED)",
            {"event": [f"no early repair of a {event.severity} {event.type} in {where}"]},
            message_zh=f"{level_zh}{zh}（{where_zh}）依规不予提前信用修复，效力持续至{end_zh}",
        )
    wait = rules.repair_wait(current_app.config, event.type, event.severity)
    wait_en, wait_zh = rules.term_text(wait), rules.term_text_zh(wait)
    earliest = rules.add_term(event.occurred_on, wait)
    if expires is not None and earliest >= expires:  # the wait outlasts the event
        raise Unprocessable(
            f"{en}: it stops counting on {expires}, before a repair could take effect "
            f"({earliest}, {wait_en} after the event)",
            {"event": [f"stops counting on {expires}, before a repair may ({earliest})"]},
            message_zh=f"{zh}于{expires}到期失效，早于可信用修复之日（{earliest}），无需提前修复",
        )
    if expires is not None and effective >= expires:  # a repair ends an event early
        raise Unprocessable(
            f"{en}: it stops counting on {expires}; a repair can only end it earlier",
            {"effective_on": [f"before {expires}, when the event stops counting"]},
            message_zh=f"{zh}于{expires}到期失效，信用修复须在此之前生效",
        )
    if effective < earliest:  # e.g. a year on the serious-dishonesty list before removal
        raise Unprocessable(
            f"{en}: a repair can take effect from {earliest}, {wait_en} after the event",
            {"effective_on": [f"not before {earliest} ({wait_en} after {event.occurred_on})"]},
            message_zh=f"{zh}满{wait_zh}后（{earliest}起）方可信用修复",
        )
    row = CreditRepair(event_id=event.id, effective_on=effective, reason=data["reason"],
                       recorded_by=user.username)  # fmt: skip
    session.add(row)
    try:
        session.flush()
        audit(session, user, "credit_event.repair", "enterprise", enterprise.uscc,
              {"event": event.id, "effective_on": effective, "reason": data["reason"]})  # fmt: skip
        session.commit()
    except IntegrityError:  # a concurrent repair of the same event won (unique event_id)
        session.rollback()
        raise Conflict("this event was already repaired", {"event": ["already repaired"]}) from None
    return event_view(event, row, today, enterprise.sectors)


def withdraw(session: Session, user: Any, event_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """更正/撤销: void an event recorded in error, or whose decision was annulled, with the
    reason recorded; with ``replacement``, record the corrected event in its place.  The
    withdrawn event stays in the history; it never counts, as of any day (a repair, by
    contrast, ends a valid event's effect from a day on).  Both, or neither, are stored."""
    event, enterprise = _scoped_event(session, user, event_id)
    # the same lock add_event takes: a concurrent withdrawal, a re-post of the event or a
    # PATCH of established_on waits for this one and then sees it
    enterprise = enterprises.get(session, user, enterprise.uscc, lock=True)
    _check_not_withdrawn(session, event)
    replacement = None
    if data.get("replacement") is not None:
        try:
            replacement = _new_event(session, user, enterprise, data["replacement"], event.id)
        except (Unprocessable, Conflict) as exc:  # the same status, the fields where sent
            raise type(exc)(
                f"the replacement event: {exc.message}",
                {"replacement": exc.errors},
                message_zh=f"替代事件：{exc.message_zh}" if exc.message_zh else None,
            ) from None
    row = CreditWithdrawal(
        event_id=event.id,
        replaced_by_id=replacement.id if replacement else None,
        reason=data["reason"],
        recorded_by=user.username,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent withdrawal of the same event won (unique event_id)
        session.rollback()
        raise Conflict(
            f"credit event {event.id} was withdrawn", {"event": ["withdrawn"]},
            message_zh=f"信用事件 {event.id} 已撤销",
        ) from None  # fmt: skip
    audit(session, user, "credit_event.withdraw", "enterprise", enterprise.uscc,
          {"event": event.id, "reason": data["reason"],
           "replacement": None if replacement is None else {
               "event": replacement.id, "type": replacement.type,
               "occurred_on": replacement.occurred_on, "severity": replacement.severity,
               "source": replacement.source}})  # fmt: skip
    session.commit()
    repaired = session.scalar(select(CreditRepair).where(CreditRepair.event_id == event.id))
    today = today_in_china()
    return {
        "withdrawn": event_view(event, repaired, today, enterprise.sectors, row),
        "replacement": None
        if replacement is None
        else event_view(replacement, None, today, enterprise.sectors),
    }
