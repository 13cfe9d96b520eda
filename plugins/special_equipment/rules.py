"""Pure rules of the special-equipment (特种设备) sector: an enterprise's equipment register.

For each unit the rules compute the next periodic inspection due date from the
category's interval rule (``inspection_intervals.csv``, with the TSG edition
beside each row), then check use registration, elevator maintenance gaps and
operator certificates, citing the Special Equipment Safety Law (2013).

**Date convention** (used by every rule here): an obligation "within N months of
S" or "in year n" is due by the *last day* of that period, i.e. ``S + N months −
1 day``.  Year *n* of service is ``[C + (n−1) years, C + n years)`` where *C* is
the commissioning date (the date the unit passed its supervision inspection and
entered service), so the year-*n* elevator inspection or self-test is due by
``C + n years − 1 day``.  A day missing in the target month (29 Feb, the 31st)
becomes that month's last day.  An inspection performed on or before *C* is the
installation supervision inspection (监督检验), not a periodic one, and is ignored.
"""

from __future__ import annotations

import calendar
import copy
import csv
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

from inspect_core.plugin_api import (
    SEVERITIES,
    Fact,
    Finding,
    ItemJudgement,
    Judgement,
    RiskFactor,
    RuleInputError,
    result_date,
)

DATA_DIR = Path(__file__).resolve().parent

LAW = "《中华人民共和国特种设备安全法》(2013)"
SELF_TEST_STANDARD = "TSG T7008-2023《电梯自行检测规则》"

#: The eight categories (Special Equipment Safety Law art. 2; catalogue codes, 1000/2000 S26,
#: the others [M]) → (zh-CN, English).
CATEGORIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "1000": ("锅炉", "boiler"),
        "2000": ("压力容器", "pressure vessel"),
        "3000": ("电梯", "elevator"),
        "4000": ("起重机械", "crane"),
        "5000": ("场（厂）内专用机动车辆", "in-plant motor vehicle"),
        "6000": ("大型游乐设施", "amusement ride"),
        "8000": ("压力管道", "pressure piping"),
        "9000": ("客运索道", "passenger ropeway"),
    }
)

CONCLUSIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "pass": ("符合要求", "Compliant"),
        "rectify": ("责令限期改正", "Correct within a time limit"),
        "fail": ("存在严重问题，责令停止使用", "Serious violation: stop using the equipment"),
    }
)


#: zh-CN of :func:`registration_status`: the zh-CN message showed "使用登记：unregistered".
REGISTRATION_ZH: Mapping[str, str] = MappingProxyType(
    {"ok": "已登记", "late": "逾期登记", "grace": "未登记（期限内）", "unregistered": "未登记"}
)
#: zh-CN of the inspection kinds in ``inspection_intervals.csv`` (a boiler's ``periodic``
#: inspection is its internal one): the zh-CN finding read "periodic 检验超期".
INSPECTION_KINDS_ZH: Mapping[str, str] = MappingProxyType(
    {"periodic": "定期检验", "external": "外部检验", "hydrostatic": "水（耐）压试验"}
)


def kind_zh(category: str, kind: str) -> str:
    """zh-CN name of an inspection kind of a unit of ``category``."""
    if category == "1000" and kind == "periodic":
        return "内部检验（定期检验）"
    return INSPECTION_KINDS_ZH.get(kind, kind)


# --------------------------------------------------------------------------- data tables


def _load_thresholds() -> dict[str, dict[str, Any]]:
    with (DATA_DIR / "thresholds.json").open(encoding="utf-8") as fh:
        raw = json.load(fh)
    return {key: entry for key, entry in raw.items() if not key.startswith("_")}


#: The default threshold table with sources (``thresholds.json``); read-only.
THRESHOLDS: Mapping[str, Mapping[str, Any]] = MappingProxyType(_load_thresholds())
#: Default values only, the base that ``context["config"]`` overrides.
DEFAULT_CONFIG: Mapping[str, Any] = MappingProxyType(
    {key: entry["value"] for key, entry in THRESHOLDS.items()}
)


@dataclass(frozen=True)
class IntervalRule:
    """One row of ``inspection_intervals.csv``.

    ``rule`` is ``elevator_schedule``, ``interval`` (first due ``first_months``
    after commissioning, then every ``interval_months``) or ``by_grade`` (one row
    per safety grade; no interval means the unit must be repaired or stopped).
    ``kind`` ``periodic`` reads ``last_periodic_inspection``; other kinds read
    ``last_inspections[kind]``, and ``satisfied_by`` names a kind whose inspection
    also counts (a boiler's internal inspection covers the external one).
    """

    category: str
    sub_type: str
    kind: str
    rule: str
    first_months: int | None
    interval_months: int | None
    safety_grade: int | None
    satisfied_by: str
    active: bool
    standard: str
    verified: str
    note: str

    @property
    def key(self) -> str:
        """``category/sub_type/kind[/grade]``, the handle of ``interval_overrides``."""
        base = f"{self.category}/{self.sub_type}/{self.kind}"
        return f"{base}/{self.safety_grade}" if self.safety_grade is not None else base


def _int_or_none(text: str) -> int | None:
    return int(text) if text.strip() else None


def load_interval_table(path: Path | None = None) -> tuple[IntervalRule, ...]:
    """Read the inspection-interval table."""
    path = path or DATA_DIR / "inspection_intervals.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(
            IntervalRule(
                category=row["category"].strip(),
                sub_type=row["sub_type"].strip(),
                kind=row["kind"].strip(),
                rule=row["rule"].strip(),
                first_months=_int_or_none(row["first_months"]),
                interval_months=_int_or_none(row["interval_months"]),
                safety_grade=_int_or_none(row["safety_grade"]),
                satisfied_by=row["satisfied_by"].strip(),
                active=row["active"].strip() == "1",
                standard=row["standard"].strip(),
                verified=row["verified"].strip(),
                note=row["note"].strip(),
            )
            for row in csv.DictReader(fh)
        )


INTERVALS: tuple[IntervalRule, ...] = load_interval_table()
#: Inspection kinds other than ``periodic`` a payload may date in ``last_inspections``.
EXTRA_KINDS: tuple[str, ...] = tuple(sorted({r.kind for r in INTERVALS} - {"periodic"}))
#: Categories whose periodic interval depends on ``safety_grade``.
GRADED_CATEGORIES: frozenset[str] = frozenset(r.category for r in INTERVALS if r.safety_grade)


def sub_types_for(category: str, table: Sequence[IntervalRule] = INTERVALS) -> tuple[str, ...]:
    """Sub-types with their own rows for ``category`` (empty: one rule for the category)."""
    return tuple(
        dict.fromkeys(r.sub_type for r in table if r.category == category and r.sub_type != "*")
    )


def resolve_config(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults merged with a district's overrides; unknown keys fail loudly.

    Dict-valued thresholds merge key by key.  Raises :class:`RuleInputError`
    naming ``config.<key>``.
    """
    cfg: dict[str, Any] = copy.deepcopy(dict(DEFAULT_CONFIG))
    for key, value in (overrides or {}).items():
        if key not in cfg:
            raise RuleInputError(f"config.{key}", "unknown threshold for special equipment")
        if isinstance(cfg[key], dict):
            if not isinstance(value, Mapping):
                raise RuleInputError(f"config.{key}", "must be a mapping")
            if key == "severity":
                unknown = set(value) - set(cfg[key])
                if unknown:
                    raise RuleInputError(f"config.{key}.{sorted(unknown)[0]}", "unknown key")
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    for key in ("registration_grace_days", "overdue_critical_days", "maintenance_lookback_days"):
        _check_int(f"config.{key}", cfg[key], minimum=0)
    _check_int("config.elevator_schedule_span_years", cfg["elevator_schedule_span_years"], 1)
    for category, days in cfg["maintenance_interval_days"].items():
        if category not in CATEGORIES:
            raise RuleInputError(f"config.maintenance_interval_days.{category}", "no such category")
        _check_int(f"config.maintenance_interval_days.{category}", days, minimum=1)
    for category, sub_type in cfg["default_sub_types"].items():
        if sub_type not in sub_types_for(category):
            raise RuleInputError(f"config.default_sub_types.{category}", "no such sub_type")
    years = cfg["elevator_periodic_years"]
    if not isinstance(years, list | tuple) or not years:
        raise RuleInputError("config.elevator_periodic_years", "must be a list of years")
    for i, year in enumerate(years):
        _check_int(f"config.elevator_periodic_years.{i}", year, minimum=1)
    if not isinstance(cfg["elevator_yearly_after_span"], bool):
        raise RuleInputError("config.elevator_yearly_after_span", "must be true or false")
    for name, severity in cfg["severity"].items():
        if severity not in SEVERITIES:
            raise RuleInputError(
                f"config.severity.{name}", f"must be one of {', '.join(SEVERITIES)}"
            )
    keys = {r.key for r in INTERVALS}
    for key, months in cfg["interval_overrides"].items():
        if key not in keys:
            raise RuleInputError(f"config.interval_overrides.{key}", "no such interval row")
        _check_int(f"config.interval_overrides.{key}", months, minimum=1)
    return cfg


def _check_int(field: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleInputError(field, f"must be an integer ≥ {minimum}")


def interval_table(cfg: Mapping[str, Any]) -> tuple[IntervalRule, ...]:
    """The interval table with ``interval_overrides`` applied (an override also
    activates an inactive row, e.g. the old boiler hydrostatic test)."""
    overrides = cfg.get("interval_overrides") or {}
    rows = []
    for row in INTERVALS:
        months = overrides.get(row.key)
        if months is not None:
            row = replace(row, interval_months=months, active=True, verified="config")
        rows.append(row)
    return tuple(rows)


# --------------------------------------------------------------------------- dates


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` shifted by whole months; a missing day becomes the month's last day."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_last_day(start: dt.date, months: int) -> dt.date:
    """Last day of the ``months``-long period starting on ``start``."""
    return add_months(start, months) - dt.timedelta(days=1)


def service_year_last_day(commissioning: dt.date, year: int) -> dt.date:
    """Last day of service year ``year``: ``C + year years − 1 day``, counted from the
    commissioning date itself.  Counting 12 months on from the year's (clamped) start
    lost a day for a unit commissioned on 29 Feb: year 4 of 2020-02-29 ended 2024-02-27
    while :func:`service_year` still put 2024-02-28 in year 4."""
    return add_months(commissioning, 12 * year) - dt.timedelta(days=1)


@dataclass(frozen=True)
class ScheduledEvent:
    """Year ``year`` of an elevator's service: a periodic inspection or a self-test."""

    year: int
    kind: str  # "periodic" | "self_test"
    start: dt.date
    due: dt.date


def _is_periodic_year(year: int, periodic_years: Sequence[int], span: int, yearly: bool) -> bool:
    return year in periodic_years or (yearly and year > span)


def elevator_schedule(
    commissioning: dt.date,
    years: int,
    *,
    periodic_years: Sequence[int] = tuple(DEFAULT_CONFIG["elevator_periodic_years"]),
    span_years: int = DEFAULT_CONFIG["elevator_schedule_span_years"],
    yearly_after_span: bool = DEFAULT_CONFIG["elevator_yearly_after_span"],
) -> tuple[ScheduledEvent, ...]:
    """The first ``years`` years of an elevator's TSG T7001-2023 schedule.

    Year *n* runs ``[C + (n−1) y, C + n y)``; its event (periodic inspection in
    years 1, 4, 7, 9, 11, 13, 15 and every year after 15 [M]; self-testing per TSG
    T7008-2023 otherwise) is due by the year's last day.
    """
    return tuple(
        ScheduledEvent(
            year=n,
            kind="periodic"
            if _is_periodic_year(n, periodic_years, span_years, yearly_after_span)
            else "self_test",
            start=add_months(commissioning, 12 * (n - 1)),
            due=service_year_last_day(commissioning, n),
        )
        for n in range(1, years + 1)
    )


def service_year(commissioning: dt.date, on: dt.date) -> int:
    """Which year of service (1-based) ``on`` falls in."""
    n = 1
    while add_months(commissioning, 12 * n) <= on:
        n += 1
    return n


def elevator_next_due(
    commissioning: dt.date,
    last: dt.date | None,
    *,
    periodic_years: Sequence[int],
    span_years: int,
    yearly_after_span: bool,
) -> dt.date | None:
    """Due date of the first periodic inspection not covered by ``last``.

    A year-*n* inspection counts as done when ``last`` falls on or after the start
    of year *n*; ``None`` when the schedule has no more periodic years.
    """
    final = max(periodic_years)
    n = 1
    while True:
        if _is_periodic_year(n, periodic_years, span_years, yearly_after_span):
            start = add_months(commissioning, 12 * (n - 1))
            if last is None or start > last:
                return service_year_last_day(commissioning, n)
        if n > max(final, span_years) and not yearly_after_span:
            return None
        n += 1


def interval_next_due(
    commissioning: dt.date, last: dt.date | None, first_months: int, interval_months: int
) -> dt.date:
    """First due ``first_months`` after commissioning, then ``interval_months`` after the last."""
    if last is None:
        return period_last_day(commissioning, first_months)
    return period_last_day(last, interval_months)


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class DueCheck:
    """One inspection obligation of a unit as of the inspection date."""

    kind: str
    last: dt.date | None
    due: dt.date | None
    days_overdue: int
    standard: str
    verified: str
    stop_use: bool = False
    note: str = ""


def _rows_for(
    unit: Mapping[str, Any], table: Sequence[IntervalRule], field: str, cfg: Mapping[str, Any]
) -> list[IntervalRule]:
    category = unit["category"]
    sub_type = unit.get("sub_type") or cfg["default_sub_types"].get(category)
    own = [r for r in table if r.category == category]
    rows = [r for r in own if r.sub_type == sub_type] or [r for r in own if r.sub_type == "*"]
    if own and not rows:
        choices = ", ".join(sub_types_for(category, table))
        raise RuleInputError(
            f"{field}.sub_type",
            f"category {category} needs a sub_type to choose its interval (one of {choices})",
        )
    return [r for r in rows if r.active]


def _last_for(unit: Mapping[str, Any], kind: str, satisfied_by: str) -> dt.date | None:
    extra = unit.get("last_inspections") or {}
    dates = [unit.get("last_periodic_inspection") if kind == "periodic" else extra.get(kind)]
    if satisfied_by:
        dates.append(
            unit.get("last_periodic_inspection")
            if satisfied_by == "periodic"
            else extra.get(satisfied_by)
        )
    known = [d for d in dates if d is not None and d > unit["commissioning_date"]]
    return max(known) if known else None


def _months(row: IntervalRule) -> int:
    if row.interval_months is None:  # pragma: no cover - shipped data always has one
        raise ValueError(f"interval row {row.key} has no interval_months")
    return row.interval_months


def due_checks(
    unit: Mapping[str, Any],
    as_of: dt.date,
    cfg: Mapping[str, Any],
    field: str = "equipment.0",
) -> list[DueCheck]:
    """Every active inspection obligation of one unit, with days overdue at ``as_of``."""
    table = interval_table(cfg)
    commissioning = unit["commissioning_date"]
    kinds: dict[str, list[IntervalRule]] = {}
    for row in _rows_for(unit, table, field, cfg):
        kinds.setdefault(row.kind, []).append(row)
    checks = []
    for kind, rows in kinds.items():
        head = rows[0]
        last = _last_for(unit, kind, head.satisfied_by)
        due: dt.date | None
        standard, verified, note = head.standard, head.verified, head.note
        if head.rule == "elevator_schedule":
            due = elevator_next_due(
                commissioning,
                last,
                periodic_years=cfg["elevator_periodic_years"],
                span_years=cfg["elevator_schedule_span_years"],
                yearly_after_span=cfg["elevator_yearly_after_span"],
            )
        elif head.rule == "interval":
            every = _months(head)
            due = interval_next_due(commissioning, last, head.first_months or every, every)
        elif head.rule == "by_grade":
            grade = unit.get("safety_grade")
            graded = {r.safety_grade: r for r in rows}
            if grade is not None and grade in graded and graded[grade].interval_months is None:
                row = graded[grade]
                checks.append(
                    DueCheck(kind, last, None, 0, row.standard, row.verified, True, row.note)
                )
                continue
            if last is None:
                due = period_last_day(commissioning, head.first_months or _months(head))
            else:
                if grade is None:
                    raise RuleInputError(
                        f"{field}.safety_grade",
                        "the safety grade of the last periodic inspection sets the next one",
                    )
                if grade not in graded:
                    raise RuleInputError(f"{field}.safety_grade", f"no interval for grade {grade}")
                row = graded[grade]
                standard, verified, note = row.standard, row.verified, row.note
                due = period_last_day(last, _months(row))
        else:  # pragma: no cover - the table is data shipped with the plugin
            raise ValueError(f"unknown interval rule {head.rule!r}")
        overdue = (as_of - due).days if due is not None and as_of > due else 0
        checks.append(DueCheck(kind, last, due, overdue, standard, verified, False, note))
    return checks


def registration_status(
    commissioning: dt.date,
    registered: bool,
    registration_date: dt.date | None,
    as_of: dt.date,
    grace_days: int,
) -> str:
    """``ok``, ``late`` (registered after the grace period), ``grace`` (not yet
    registered but within it) or ``unregistered`` — Safety Law art. 33."""
    deadline = commissioning + dt.timedelta(days=grace_days)
    if registered:
        if registration_date is not None and registration_date > deadline:
            return "late"
        return "ok"
    return "grace" if as_of <= deadline else "unregistered"


def maintenance_gaps(
    records: Iterable[dt.date],
    commissioning: dt.date,
    as_of: dt.date,
    *,
    max_gap_days: int,
    lookback_days: int,
) -> list[tuple[dt.date, dt.date, int]]:
    """Gaps longer than ``max_gap_days`` between maintenance visits in the lookback window.

    The window opens ``lookback_days`` before ``as_of`` (or at commissioning if
    later).  The last visit before the window anchors the first gap; a unit
    commissioned inside the window is anchored at commissioning; the time since
    the last visit up to ``as_of`` counts as an open gap.
    """
    window_start = max(commissioning, as_of - dt.timedelta(days=lookback_days))
    visits = sorted({d for d in records if d <= as_of})
    before = [d for d in visits if d < window_start]
    points = [d for d in visits if d >= window_start]
    if before:
        points.insert(0, before[-1])
    elif commissioning >= as_of - dt.timedelta(days=lookback_days) or not points:
        points.insert(0, window_start)
    gaps = [(a, b, (b - a).days) for a, b in pairwise(points) if (b - a).days > max_gap_days]
    if (as_of - points[-1]).days > max_gap_days:
        gaps.append((points[-1], as_of, (as_of - points[-1]).days))
    return gaps


def expired_certificates(
    operators: Iterable[Mapping[str, Any]], as_of: dt.date
) -> list[Mapping[str, Any]]:
    """Operators whose certificate expired before ``as_of`` (valid through its expiry day)."""
    return [op for op in operators if op["expires_on"] < as_of]


# --------------------------------------------------------------------------- evaluation


@dataclass
class UnitEvaluation:
    """What the rules found on one unit: items, findings and the risk counts."""

    items: list[ItemJudgement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    overdue_days: list[int] = field(default_factory=list)
    unregistered: bool = False
    maintenance_gaps: int = 0
    expired_certificates: int = 0


#: no unit in service was commissioned earlier: year 1 read "739582 days overdue"
EARLIEST_COMMISSIONING = dt.date(1900, 1, 1)


def _check_dates(unit: Mapping[str, Any], as_of: dt.date, field: str) -> None:
    """Dates the register cannot hold, checked when judged (not in the schema, which
    also reads payloads stored before these checks, nor by :func:`risk_factors`, which
    re-reads stored registers)."""
    commissioning = unit["commissioning_date"]
    if commissioning > as_of:
        raise RuleInputError(f"{field}.commissioning_date", "after the inspection date")
    if commissioning < EARLIEST_COMMISSIONING:
        raise RuleInputError(
            f"{field}.commissioning_date", f"before {EARLIEST_COMMISSIONING.isoformat()}"
        )
    for i, day in enumerate(unit.get("maintenance_records") or ()):
        # maintenance (维保) is of a unit in use: a visit "in 1900" made a 46351-day gap
        if day < commissioning:
            raise RuleInputError(
                f"{field}.maintenance_records.{i}", "before the commissioning date"
            )
    for name in ("last_periodic_inspection", "registration_date"):
        if unit.get(name) is not None and unit[name] > as_of:
            raise RuleInputError(f"{field}.{name}", "after the inspection date")
    for kind, day in (unit.get("last_inspections") or {}).items():
        if day > as_of:
            raise RuleInputError(f"{field}.last_inspections.{kind}", "after the inspection date")
    for i, day in enumerate(unit.get("maintenance_records") or ()):
        if day > as_of:
            raise RuleInputError(f"{field}.maintenance_records.{i}", "after the inspection date")


def evaluate_unit(
    unit: Mapping[str, Any],
    as_of: dt.date,
    cfg: Mapping[str, Any],
    field: str = "equipment.0",
    check_dates: bool = True,
) -> UnitEvaluation:
    """Apply every rule to one unit of the register as of ``as_of``; ``check_dates``
    refuses dates the register cannot hold (:func:`_check_dates`), as a new result is."""
    if check_dates:
        _check_dates(unit, as_of, field)
    out = UnitEvaluation()
    code, category = unit["registration_code"], unit["category"]
    cat_zh, cat_en = CATEGORIES[category]
    severity = cfg["severity"]
    commissioning = unit["commissioning_date"]

    for check in due_checks(unit, as_of, cfg, field):
        _due_item(out, check, unit, as_of, cfg)

    status = registration_status(
        commissioning,
        unit["registered"],
        unit.get("registration_date"),
        as_of,
        cfg["registration_grace_days"],
    )
    grace = cfg["registration_grace_days"]
    out.items.append(
        ItemJudgement(
            item=f"{code}:registration",
            passed=status in ("ok", "grace"),
            rule=f"投入使用前或投入使用后{grace}日内办理使用登记",
            standard=f"{LAW} 第33条 [S29]",
            measured=REGISTRATION_ZH[status],
            limit=f"≤{grace} days after {commissioning.isoformat()}",
            message_zh=f"{code}（{cat_zh}）使用登记：{REGISTRATION_ZH[status]}",
            message_en=f"{code} ({cat_en}) use registration: {status}",
        )
    )
    if status == "unregistered":
        out.unregistered = True
        days = (as_of - commissioning).days
        out.findings.append(
            Finding(
                code="SE-UNREGISTERED",
                severity=severity["unregistered"],
                message_zh=f"{code}（{cat_zh}）投入使用 {days} 日仍未办理使用登记",
                message_en=f"{code} ({cat_en}) in service for {days} days without use registration",
                basis=f"{LAW} 第33条、第83条第（一）项 [S29]",
            )
        )
    elif status == "late":
        out.findings.append(
            Finding(
                code="SE-LATE-REGISTRATION",
                severity=severity["late_registration"],
                message_zh=f"{code}（{cat_zh}）投入使用后超过 {grace} 日才办理使用登记",
                message_en=f"{code} ({cat_en}) registered more than {grace} days after entry "
                "into service",
                basis=f"{LAW} 第33条 [S29]",
            )
        )

    max_gap = cfg["maintenance_interval_days"].get(category)
    if max_gap is not None:
        gaps = maintenance_gaps(
            unit.get("maintenance_records") or (),
            commissioning,
            as_of,
            max_gap_days=max_gap,
            lookback_days=cfg["maintenance_lookback_days"],
        )
        out.maintenance_gaps = len(gaps)
        longest = max((g[2] for g in gaps), default=0)
        out.items.append(
            ItemJudgement(
                item=f"{code}:maintenance",
                passed=not gaps,
                rule=f"维护保养间隔不超过{max_gap}日",
                standard=f"{LAW} 第39条、第45条 [M]; TSG T5002-2017《电梯维护保养规则》[M] [S28]",
                measured=f"{len(gaps)} gap(s), longest {longest} days",
                limit=f"≤{max_gap} days",
                unit="days",
                message_zh=f"{code} 维保间隔超过 {max_gap} 日 {len(gaps)} 次",
                message_en=f"{code}: {len(gaps)} maintenance gap(s) over {max_gap} days",
            )
        )
        for start, end, days in gaps:
            out.findings.append(
                Finding(
                    code="SE-MAINTENANCE-GAP",
                    severity=severity["maintenance_gap"],
                    message_zh=f"{code}（{cat_zh}）{start.isoformat()} 至 {end.isoformat()} "
                    f"间隔 {days} 日未维护保养（应≤{max_gap}日）",
                    message_en=f"{code} ({cat_en}) not maintained for {days} days between "
                    f"{start.isoformat()} and {end.isoformat()} (max {max_gap})",
                    basis=f"{LAW} 第39条、第83条（未进行经常性维护保养）[M]; "
                    "TSG T5002-2017 [M] [S28]",
                )
            )

    operators = unit.get("operators") or ()
    expired = expired_certificates(operators, as_of)
    out.expired_certificates = len(expired)
    if operators:
        out.items.append(
            ItemJudgement(
                item=f"{code}:operators",
                passed=not expired,
                rule="特种设备作业人员持有效证件上岗",
                standard=f"{LAW} 第14条、第86条 [M]",
                measured=f"{len(expired)}/{len(operators)} expired",
                limit="0 expired",
                message_zh=f"{code} 作业人员证书过期 {len(expired)} 人",
                message_en=f"{code}: {len(expired)} operator certificate(s) expired",
            )
        )
    for op in expired:
        out.findings.append(
            Finding(
                code="SE-CERT-EXPIRED",
                severity=severity["certificate_expired"],
                message_zh=f"{code} 作业人员证书 {op['certificate_no']} 已于 "
                f"{op['expires_on'].isoformat()} 过期",
                message_en=f"{code}: operator certificate {op['certificate_no']} expired on "
                f"{op['expires_on'].isoformat()}",
                basis=f"{LAW} 第86条 [M]",
            )
        )
    return out


def _due_item(
    out: UnitEvaluation,
    check: DueCheck,
    unit: Mapping[str, Any],
    as_of: dt.date,
    cfg: Mapping[str, Any],
) -> None:
    code, category = unit["registration_code"], unit["category"]
    cat_zh, cat_en = CATEGORIES[category]
    severity = cfg["severity"]
    standard = f"{check.standard} [{check.verified}]"
    last = check.last.isoformat() if check.last else "none"
    if check.stop_use:
        out.items.append(
            ItemJudgement(
                item=f"{code}:{check.kind}_inspection",
                passed=False,
                rule="安全状况等级5级：应对缺陷进行处理，否则不得继续使用",
                standard=standard,
                measured="safety grade 5",
                limit="grade 1–4",
                message_zh=f"{code}（{cat_zh}）安全状况等级为5级",
                message_en=f"{code} ({cat_en}) has safety grade 5",
            )
        )
        out.findings.append(
            Finding(
                code="SE-SAFETY-GRADE-5",
                severity=severity["safety_grade_5"],
                message_zh=f"{code}（{cat_zh}）安全状况等级5级，须维修处理或停止使用",
                message_en=f"{code} ({cat_en}) is safety grade 5: repair it or stop using it",
                basis=f"{LAW} 第40条、第84条第（一）项 [M]; {standard}",
            )
        )
        return
    if check.due is None:
        return
    year_note_zh = year_note_en = ""
    if category == "3000":
        year = service_year(unit["commissioning_date"], as_of)
        periodic = _is_periodic_year(
            year,
            cfg["elevator_periodic_years"],
            cfg["elevator_schedule_span_years"],
            cfg["elevator_yearly_after_span"],
        )
        year_note_zh = f"；当前为第{year}年（{'定期检验' if periodic else '自行检测'}年度）"
        year_note_en = (
            f"; now in service year {year} "
            f"({'periodic inspection' if periodic else 'self-testing, ' + SELF_TEST_STANDARD})"
        )
    overdue = check.days_overdue
    out.items.append(
        ItemJudgement(
            item=f"{code}:{check.kind}_inspection",
            passed=overdue == 0,
            rule=f"{check.kind} inspection due by {check.due.isoformat()}",
            standard=standard,
            measured=f"last {last}",
            limit=f"due {check.due.isoformat()}",
            message_zh=f"{code}（{cat_zh}）下次{kind_zh(category, check.kind)}应于 "
            f"{check.due.isoformat()} 前完成"
            f"{'，已超期 ' + str(overdue) + ' 日' if overdue else ''}{year_note_zh}",
            message_en=f"{code} ({cat_en}) next {check.kind} inspection due "
            f"{check.due.isoformat()}{f', {overdue} days overdue' if overdue else ''}"
            f"{year_note_en}",
        )
    )
    if overdue:
        out.overdue_days.append(overdue)
        long = overdue > cfg["overdue_critical_days"]
        out.findings.append(
            Finding(
                code="SE-OVERDUE-INSPECTION",
                severity=severity["overdue_inspection_long" if long else "overdue_inspection"],
                message_zh=f"{code}（{cat_zh}）{kind_zh(category, check.kind)}超期 {overdue} 日"
                f"（应于 {check.due.isoformat()} 前完成）仍在使用",
                message_en=f"{code} ({cat_en}) {check.kind} inspection {overdue} days overdue "
                f"(due {check.due.isoformat()}) and still in use",
                basis=f"{LAW} 第40条 [M]、第83条（未按要求及时申报并接受检验）[S29]; "
                f"使用未经定期检验的特种设备 第84条 [M]; {standard}",
            )
        )


@dataclass(frozen=True)
class RegisterEvaluation:
    """A judged register and the counts risk scoring uses."""

    judgement: Judgement
    overdue_inspections: int
    max_days_overdue: int
    unregistered: int
    maintenance_gaps: int
    expired_certificates: int


def _as_day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def inspection_date(payload: Mapping[str, Any], context: Mapping[str, Any] | None) -> dt.date:
    """The day the register was inspected: the result's ``inspected_on`` (the core's
    context), which the payload's own ``inspected_on`` may repeat but not contradict;
    without it the payload's, else ``recorded_on``.

    The payload's date once won: a crane overdue on the result's date passed when the
    payload said 2020, and one inspected last month failed critical when it said 2099.
    """
    on_result = result_date(payload, context)
    if on_result is not None:
        return on_result
    day = payload.get("inspected_on") or (context or {}).get("recorded_on")
    if day is None:
        raise RuleInputError("inspected_on", "needed: no inspected_on and no recorded_on")
    return _as_day(day)


def evaluate_register(
    payload: Mapping[str, Any], as_of: dt.date, config: Mapping[str, Any] | None = None
) -> RegisterEvaluation:
    """Judge a whole register: ``fail`` on any critical finding, ``rectify`` on a
    major one, ``pass`` otherwise (minor findings are noted, not failed)."""
    cfg = resolve_config(config)
    items: list[ItemJudgement] = []
    findings: list[Finding] = []
    overdue: list[int] = []
    unregistered = gaps = expired = 0
    for i, unit in enumerate(payload["equipment"]):
        result = evaluate_unit(unit, as_of, cfg, f"equipment.{i}")
        items.extend(result.items)
        findings.extend(result.findings)
        overdue.extend(result.overdue_days)
        unregistered += result.unregistered
        gaps += result.maintenance_gaps
        expired += result.expired_certificates
    severities = {f.severity for f in findings}
    conclusion = (
        "fail" if "critical" in severities else "rectify" if "major" in severities else "pass"
    )
    zh, en = CONCLUSIONS[conclusion]
    counts = (
        ("se_overdue_inspections", float(len(overdue))),
        ("se_unregistered", float(unregistered)),
        ("se_maintenance_gaps", float(gaps)),
        ("se_expired_certificates", float(expired)),
    )
    judgement = Judgement(
        passed=conclusion == "pass",
        conclusion=conclusion,
        conclusion_zh=zh,
        conclusion_en=en,
        items=tuple(items),
        findings=tuple(findings),
        facts=tuple(c for c in counts if c[1]),
    )
    return RegisterEvaluation(
        judgement, len(overdue), max(overdue, default=0), unregistered, gaps, expired
    )


#: what scoring remembers of each inspected register (``Judgement.facts``, declared on the
#: plugin's ``Sector``): the counts at the inspection, as :func:`risk_factors` reports them
FACTS: tuple[Fact, ...] = (
    Fact("se_overdue_inspections", "超期未检设备数", "Units overdue for periodic inspection"),
    Fact("se_unregistered", "逾期未办理使用登记设备数",
         "Units in use without registration past 30 days"),
    Fact("se_maintenance_gaps", "电梯维保间隔超限次数", "Elevator maintenance gaps over the limit"),
    Fact("se_expired_certificates", "作业人员证书过期数", "Expired operator certificates"),
)  # fmt: skip


def judge_register(
    payload: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
) -> Judgement:
    """Judge a loaded register payload on its inspection date with ``context["config"]``."""
    as_of = inspection_date(payload, context)
    return evaluate_register(payload, as_of, (context or {}).get("config") or {}).judgement


def risk_factors(
    units: Iterable[tuple[dt.date, Mapping[str, Any]]], as_of: dt.date
) -> list[RiskFactor]:
    """Risk counts over the latest known state of each unit before ``as_of``.

    ``units`` are ``(inspection date, loaded unit)`` pairs from past results; for
    each registration code only the most recent record before ``as_of`` counts,
    re-judged with the default thresholds on its own inspection date.
    """
    latest: dict[str, tuple[dt.date, Mapping[str, Any]]] = {}
    for day, unit in units:
        if day >= as_of:
            continue
        code = unit["registration_code"]
        if code not in latest or day >= latest[code][0]:
            latest[code] = (day, unit)
    cfg = resolve_config({})
    overdue: list[int] = []
    unregistered = gaps = expired = 0
    for day, unit in latest.values():
        # a stored register is not refused again: one stored before the date checks (a
        # visit before commissioning), or judged on a payload date the result contradicts
        # (dates after the result's), cost the enterprise's credit page its section
        result = evaluate_unit(unit, day, cfg, check_dates=False)
        overdue.extend(result.overdue_days)
        unregistered += result.unregistered
        gaps += result.maintenance_gaps
        expired += result.expired_certificates
    return [
        RiskFactor(
            "se_overdue_inspections",
            float(len(overdue)),
            "超期未检设备数",
            "Overdue periodic inspections",
        ),
        RiskFactor(
            "se_max_days_overdue",
            float(max(overdue, default=0)),
            "最长超期天数",
            "Longest overdue period, days",
        ),
        RiskFactor(
            "se_unregistered",
            float(unregistered),
            "逾期未办理使用登记设备数",
            "Units in use without registration past 30 days",
        ),
        RiskFactor(
            "se_maintenance_gaps",
            float(gaps),
            "电梯维保间隔超限次数",
            "Elevator maintenance gaps over the limit",
        ),
        RiskFactor(
            "se_expired_certificates",
            float(expired),
            "作业人员证书过期数",
            "Expired operator certificates",
        ),
    ]
