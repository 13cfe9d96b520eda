"""How long a credit event counts, and when a credit repair (信用修复) may end it early.

Four settings; the tables by event type and, where the rules differ, by severity.  A
term in them is whole days (``90``) or whole calendar years or months in ISO 8601
(``"P3Y"``, ``"P3M"``, :func:`add_term`): the rules' terms are years and months, and 365
days a year ended one spanning 29 February a day early:

- ``CREDIT_EVENT_DAYS`` — the default effect when a request gives no ``expires_on``.
  Penalty publicity ends three months after a penalty of only 通报批评 or a low fine
  (recorded with severity ``minor``) and three years after any other
  (《市场监督管理行政处罚信息公示规定》2021, art. 13).
- ``CREDIT_REPAIR_MIN_DAYS`` — days an event must stand before a repair takes effect:
  a year on the serious-dishonesty list, and about a year of a penalty's publicity
  (DOMAIN.md §2 [M]).
- ``CREDIT_EXPIRY_MAX_DAYS`` — the longest an event may count when a request gives its
  ``expires_on`` (ten years: a later date is a typo, not a term of any rule).
- ``CREDIT_REPAIR_REFUSED`` — events no repair may end early: serious food, drug and
  special-equipment penalties keep their full term (DOMAIN.md §2 [M]).  A rule names the
  enterprise's sectors, since an event does not record which of them it concerns.

A request's own ``expires_on`` may not end an event sooner than these rules let it stop
counting (``earliest_expiry``): ending one early is a repair, with its reason recorded.

The [M] facts are defaults, not law checked here: a district sets its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from dateutil.relativedelta import relativedelta

from inspect_core.credit.models import CREDIT_EVENT_TYPES, EVENT_SEVERITIES

_ABSENT = object()
#: the most days a setting may give: a century is far beyond any legal term, and an event
#: date plus a larger number overflows Python's dates (a 500 on every listing of the event)
MAX_DAYS = 36_600
#: CREDIT_EXPIRY_MAX_DAYS when a config leaves it out (inspect_core/config.py says why)
DEFAULT_EXPIRY_MAX_DAYS = 3653


#: a calendar term: whole years or months, ISO 8601 (P3Y, P3M); three digits at most, so
#: that any term can be added to any event's date (P9999Y runs past the year 9999)
_CALENDAR_TERM = re.compile(r"P([1-9][0-9]{0,2})([YM])")


def add_term(on: dt.date, term: int | str) -> dt.date:
    """``on`` plus a term: whole days, or calendar years or months (``"P3Y"``, ``"P3M"``)
    to the same day of the month that many later, or that month's last day where it has
    none (民法典 art. 202: 2024-02-29 plus a year is 2025-02-28).  Counted as 365 and 90
    days, a listing of 2023-03-01 was repairable on 2024-02-29, before a year on the list,
    and a minor penalty of 2026-03-01 stopped being public on 2026-05-30, not 2026-06-01."""
    if not isinstance(term, str):
        return on + dt.timedelta(days=term)
    match = _CALENDAR_TERM.fullmatch(term)
    if match is None:
        raise ValueError(f"{term!r} is not a term of days, P<n>Y or P<n>M")
    n = int(match[1]) * (12 if match[2] == "Y" else 1)
    return on + relativedelta(months=n)  # clamps to the month's last day


def term_days(term: int | str) -> int:
    """The most days a term lasts (a year spanning 29 February, the longest months): what
    the bounds in days (``MAX_DAYS``, ``CREDIT_EXPIRY_MAX_DAYS``) are checked against."""
    if not isinstance(term, str):
        return term
    starts = [dt.date(year, month, 1) for year in (2023, 2024) for month in range(1, 13)]
    return max((add_term(start, term) - start).days for start in starts)


def term_text(term: int | str) -> str:
    """A term in English as the messages give it: ``365 days``, ``1 year``, ``3 months``
    (zh-CN by :mod:`inspect_core.i18n`, placeholder ``term``)."""
    if not isinstance(term, str):
        return f"{term} days"
    n, unit = int(term[1:-1]), {"Y": "year", "M": "month"}[term[-1]]
    return f"{n} {unit}{'' if n == 1 else 's'}"


def term_text_zh(term: int | str) -> str:
    """A term in zh-CN: ``365天``, ``1年``, ``3个月``."""
    if not isinstance(term, str):
        return f"{term}天"
    return f"{int(term[1:-1])}{'年' if term[-1] == 'Y' else '个月'}"


def _by_severity(table: Mapping[str, Any] | None, kind: str, severity: str) -> tuple[bool, Any]:
    """(named, value): a type's entry is a value for every severity or a severity map."""
    entry = (table or {}).get(kind, _ABSENT)
    if isinstance(entry, Mapping):
        entry = entry.get(severity, _ABSENT)
    return (entry is not _ABSENT), (None if entry is _ABSENT else entry)


def default_days(config: Mapping[str, Any], kind: str, severity: str) -> int | str | None:
    """How long an event recorded without ``expires_on`` counts, a term (None: until
    repaired)."""
    named, days = _by_severity(config.get("CREDIT_EVENT_DAYS"), kind, severity)
    return days if named else CREDIT_EVENT_TYPES[kind][3]


def default_expiry(
    config: Mapping[str, Any], kind: str, severity: str, on: dt.date
) -> dt.date | None:
    """The day an event recorded without ``expires_on`` stops counting (None: never)."""
    days = default_days(config, kind, severity)
    return add_term(on, days) if days else None


def latest_expiry(config: Mapping[str, Any], occurred_on: dt.date) -> dt.date:
    """The last ``expires_on`` an event of that date may be given (CREDIT_EXPIRY_MAX_DAYS)."""
    days = config.get("CREDIT_EXPIRY_MAX_DAYS", DEFAULT_EXPIRY_MAX_DAYS)
    return occurred_on + dt.timedelta(days=days)


def refusing_rule(
    config: Mapping[str, Any], kind: str, severity: str, sectors: Iterable[str]
) -> dict[str, Any] | None:
    """The ``CREDIT_REPAIR_REFUSED`` rule that keeps this event from early repair, if any."""
    held = set(sectors)
    for rule in config.get("CREDIT_REPAIR_REFUSED") or []:
        if rule["type"] != kind or severity not in rule.get("severity", EVENT_SEVERITIES):
            continue
        if not rule.get("sectors") or held & set(rule["sectors"]):
            return rule
    return None


def repair_wait(config: Mapping[str, Any], kind: str, severity: str) -> int | str:
    """The term an event must stand before a repair may take effect, days or ``P<n>Y``
    (none, 0, where the setting names neither the type nor, in a type's severity map, the
    severity)."""
    return _by_severity(config.get("CREDIT_REPAIR_MIN_DAYS"), kind, severity)[1] or 0


def repairable_from(
    config: Mapping[str, Any],
    kind: str,
    severity: str,
    occurred_on: dt.date,
    sectors: Iterable[str],
    expires_on: dt.date | None = None,
) -> dt.date | None:
    """The first day a repair may take effect; None when the rules refuse one, or when the
    event stops counting (``expires_on``) before the wait is over: a repair ends an event
    early, and nothing is left to end then.  A positive event (certification, award)
    records no dishonesty, so it has nothing to repair."""
    if CREDIT_EVENT_TYPES[kind][2] < 0 or refusing_rule(config, kind, severity, sectors):
        return None
    earliest = add_term(occurred_on, repair_wait(config, kind, severity))
    return None if expires_on is not None and earliest >= expires_on else earliest


def earliest_expiry(
    config: Mapping[str, Any],
    kind: str,
    severity: str,
    occurred_on: dt.date,
    sectors: Iterable[str],
) -> dt.date | None:
    """The earliest ``expires_on`` a request may give: the first day the rules let the event
    stop counting, by a repair (``repairable_from``) or its default term if that ends
    sooner.  An earlier date would end it early without the repair and the reason it
    records.  Where no repair may end it, its default expiry; None when that is never
    (no date may be given).  A positive event has nothing to repair: ``occurred_on``."""
    if CREDIT_EVENT_TYPES[kind][2] < 0:
        return occurred_on
    default = default_expiry(config, kind, severity, occurred_on)
    repairable = repairable_from(config, kind, severity, occurred_on, sectors)
    if repairable is None:  # CREDIT_REPAIR_REFUSED: the full term
        return default
    return min(repairable, default) if default else repairable


def _day_table_errors(table: Any, allow_null: bool, least: int) -> list[str]:
    """What is wrong with a days-by-type(-and-severity) table, one line each."""
    if not isinstance(table, Mapping):
        return [f"{table!r} is not an object of event types"]
    errors = []

    def bad_days(value: Any) -> bool:
        if value is None:
            return not allow_null
        if type(value) is str and _CALENDAR_TERM.fullmatch(value):
            return term_days(value) > MAX_DAYS
        return type(value) is not int or not least <= value <= MAX_DAYS

    for kind, entry in table.items():
        if kind not in CREDIT_EVENT_TYPES:
            errors.append(f"{kind!r} is not a credit event type")
        elif isinstance(entry, Mapping):
            for severity, days in entry.items():
                if severity not in EVENT_SEVERITIES:
                    errors.append(f"{kind}.{severity}: not a severity")
                elif bad_days(days):
                    errors.append(
                        f"{kind}.{severity}: {days!r} is not a whole number of days from "
                        f"{least} to {MAX_DAYS}, nor P<n>Y or P<n>M within them"
                    )
        elif bad_days(entry):
            errors.append(
                f"{kind}: {entry!r} is not whole days from {least} to {MAX_DAYS}, nor P<n>Y or "
                "P<n>M within them"
            )
    return errors


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _refused_errors(rules: Any, sectors: Iterable[str]) -> list[str]:
    """``sectors``: the catalogue's codes (the configured ones and every enabled plugin's)."""
    if not isinstance(rules, list):
        return [f"{rules!r} is not a list of rules"]
    known = set(sectors)
    errors = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            errors.append(f"[{i}]: {rule!r} is not an object")
            continue
        extra = set(rule) - {"type", "severity", "sectors"}
        if extra:
            errors.append(f"[{i}]: unknown keys {sorted(extra)}")
        # a list or an object where a name belongs is unhashable: a TypeError, not this
        # message, when looked up in the tables
        kind = rule.get("type")
        if not isinstance(kind, str) or kind not in CREDIT_EVENT_TYPES:
            errors.append(f"[{i}].type: {kind!r} is not a credit event type")
        severity = rule.get("severity", list(EVENT_SEVERITIES))
        if not _strings(severity) or not severity or not set(severity) <= set(EVENT_SEVERITIES):
            # empty would match nothing: leave the key out for every severity
            errors.append(f"[{i}].severity: {severity!r} is not a non-empty list of severities")
        chosen = rule.get("sectors", [])
        if not _strings(chosen):
            errors.append(f"[{i}].sectors: {chosen!r} is not a list of sector codes")
        elif set(chosen) - known:
            errors.append(f"[{i}].sectors: unknown sectors {sorted(set(chosen) - known)}")
    return errors


def check(config: Mapping[str, Any], sectors: Iterable[str]) -> None:
    """Refuse bad credit-rule settings when the app starts (ValueError naming each).

    ``sectors``: the sector catalogue's codes, once the plugins are loaded (they declare
    sectors of their own)."""
    kinds = ", ".join(CREDIT_EVENT_TYPES)
    severities = ", ".join(EVENT_SEVERITIES)
    tables = (
        ("CREDIT_EVENT_DAYS", True, 1, "; null: until repaired", "信用事件默认有效天数"),
        ("CREDIT_REPAIR_MIN_DAYS", False, 0, "", "信用修复最短等待天数"),
    )
    for name, allow_null, least, note, zh in tables:
        errors = _day_table_errors(config.get(name) or {}, allow_null, least)
        if errors:
            raise ValueError(
                f"{name} (INSPECT_{name}): {'; '.join(errors)} — keys are credit event types "
                f"({kinds}); values whole days from {least} to {MAX_DAYS} or calendar years or "
                f"months (P3Y, P3M), or an object of severities ({severities}) to those{note} "
                f"/ {zh}设置有误（{least}至{MAX_DAYS}天，或 P3Y、P3M 等整年整月）"
            )
    longest = config.get("CREDIT_EXPIRY_MAX_DAYS", DEFAULT_EXPIRY_MAX_DAYS)
    if isinstance(longest, bool) or not isinstance(longest, int) or not 1 <= longest <= MAX_DAYS:
        raise ValueError(
            f"CREDIT_EXPIRY_MAX_DAYS (INSPECT_CREDIT_EXPIRY_MAX_DAYS): {longest!r} — a whole "
            f"number of days from 1 to {MAX_DAYS} / 信用事件最长有效天数设置有误"
            f"（1至{MAX_DAYS}天）"
        )
    longer = [
        f"{kind}.{severity}: {term_days(days)}"
        for kind in CREDIT_EVENT_TYPES
        for severity in EVENT_SEVERITIES
        if (days := default_days(config, kind, severity)) is not None and term_days(days) > longest
    ]
    if longer:
        raise ValueError(
            f"CREDIT_EXPIRY_MAX_DAYS (INSPECT_CREDIT_EXPIRY_MAX_DAYS): {longest} is shorter "
            f"than the default effect of {'; '.join(longer)} days (CREDIT_EVENT_DAYS or the "
            f"type's own) / 信用事件最长有效天数设置有误（短于默认有效天数）"
        )
    errors = _refused_errors(config.get("CREDIT_REPAIR_REFUSED") or [], sectors)
    if errors:
        raise ValueError(
            f"CREDIT_REPAIR_REFUSED (INSPECT_CREDIT_REPAIR_REFUSED): {'; '.join(errors)} — a "
            'list of {"type": …, "severity": [...], "sectors": [...]} '
            "/ 不予提前信用修复的规则设置有误"
        )
