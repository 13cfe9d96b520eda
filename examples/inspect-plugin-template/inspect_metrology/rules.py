"""Pure rules of the metrology (计量器具) sector: a trader's instruments under compulsory
verification (强制检定).

Nothing here touches marshmallow, pluggy, Flask or a database: functions take the payload
as loaded by :mod:`inspect_metrology.schemas` and return ``inspect_core.plugin_api``
dataclasses, so every rule is tested on worked examples without the core running.  The
thresholds are data: ``instruments.csv`` (verification interval and maximum permissible
error per kind of instrument, with the standard's edition beside each row) and
``thresholds.json`` (finding severities); a district overrides any of them through
``context["config"]``.

**Date convention.**  A verification done on day *V* with an interval of *N* months is valid
through the day with *V*'s number *N* months later, or that month's last day when it has
no such day (the Civil Code's rule for periods counted in months, 《中华人民共和国民法典》
第二百零一、二百零二条 [M]).  The instrument is overdue from the next day on.

**Error convention.**  ``error_pct`` is the relative error of indication,
``(indicated − true) / true × 100``: positive means the instrument shows more mass, volume
or distance than was really delivered, so the customer pays for more than they get.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any

from inspect_core.plugin_api import (
    SEVERITIES,
    Finding,
    ItemJudgement,
    Judgement,
    RiskFactor,
    RuleInputError,
    Severity,
    result_date,
)

_PACKAGE = __name__.rpartition(".")[0]

#: The law every finding cites.  Article numbers are from memory: check the 2018 text.
LAW = "《中华人民共和国计量法》(1985, 2018年修正)"
LAW_VERIFICATION = (
    f"{LAW} 第九条：强制检定的计量器具未按照规定申请检定或者检定不合格的，不得使用 [M]"
)
LAW_ACCURACY = f"{LAW} 第二十六条：使用不合格的计量器具或者破坏计量器具准确度 [M]"

#: Conclusion code → (zh-CN, English) label.
CONCLUSIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "pass": ("符合要求", "Compliant"),
        "rectify": ("责令限期整改", "Rectify within a time limit"),
        "fail": ("不符合要求", "Non-compliant"),
    }
)

FINDING_CODES: Mapping[str, str] = MappingProxyType(
    {
        "never_verified": "METRO-NEVER-VERIFIED",
        "verification_overdue": "METRO-VERIFICATION-OVERDUE",
        "error_exceeded_trader_favoured": "METRO-ERROR-EXCEEDED",
        "error_exceeded_customer_favoured": "METRO-ERROR-EXCEEDED",
    }
)


# --------------------------------------------------------------------------- data tables


@dataclass(frozen=True)
class InstrumentKind:
    """One row of ``instruments.csv``: a kind of instrument and its verification rule."""

    kind: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...]
    interval_months: int
    mpe_lower_pct: Decimal
    mpe_upper_pct: Decimal
    standard: str
    interval_verified: str
    mpe_verified: str
    note: str

    @property
    def standard_cited(self) -> str:
        """The standard with the DOMAIN.md-style tag of its interval, e.g. ``… [M]``."""
        return f"{self.standard} [{self.interval_verified}]"


def parse_kinds(text: str) -> dict[str, InstrumentKind]:
    """Parse the instrument table; a broken row stops the import rather than misjudging later."""
    kinds: dict[str, InstrumentKind] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        kind = InstrumentKind(
            kind=row["kind"].strip(),
            name_zh=row["name_zh"].strip(),
            name_en=row["name_en"].strip(),
            aliases=tuple(a.strip() for a in row["aliases"].split("|") if a.strip()),
            interval_months=int(row["interval_months"]),
            mpe_lower_pct=Decimal(row["mpe_lower_pct"]),
            mpe_upper_pct=Decimal(row["mpe_upper_pct"]),
            standard=row["standard"].strip(),
            interval_verified=row["interval_verified"].strip(),
            mpe_verified=row["mpe_verified"].strip(),
            note=row["note"].strip(),
        )
        if kind.kind in kinds:
            raise ValueError(f"instruments.csv line {line}: kind {kind.kind!r} repeated")
        if kind.interval_months < 1:
            raise ValueError(f"instruments.csv line {line}: interval_months must be ≥ 1")
        if not kind.mpe_lower_pct <= 0 <= kind.mpe_upper_pct:
            raise ValueError(f"instruments.csv line {line}: need mpe_lower_pct ≤ 0 ≤ mpe_upper_pct")
        kinds[kind.kind] = kind
    return kinds


def _read_data(name: str) -> str:
    """A data file shipped inside the package (works from a wheel as well as a checkout)."""
    return resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


#: kind code → its row of ``instruments.csv``; read-only.
KINDS: Mapping[str, InstrumentKind] = MappingProxyType(parse_kinds(_read_data("instruments.csv")))
#: What inspectors type (计价秤, 加油机 …) → kind code.
KIND_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        alias: kind.kind
        for kind in KINDS.values()
        for alias in (kind.kind, kind.name_zh, *kind.aliases)
    }
)
#: ``thresholds.json`` without its comment: key → {value, source, verified}.
THRESHOLDS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {k: v for k, v in json.loads(_read_data("thresholds.json")).items() if not k.startswith("_")}
)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """The thresholds a judgement uses: the shipped defaults with a district's overrides."""

    interval_months: Mapping[str, int]
    mpe_lower_pct: Mapping[str, Decimal]
    mpe_upper_pct: Mapping[str, Decimal]
    severity: Mapping[str, Severity]


def _per_kind(overrides: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = overrides.get(key, {})
    if not isinstance(value, Mapping):
        raise RuleInputError(f"config.{key}", "must be a mapping of instrument kind → value")
    for kind in value:
        if kind not in KINDS:
            raise RuleInputError(f"config.{key}.{kind}", "no such instrument kind")
    return value


def _decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise RuleInputError(field, "must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise RuleInputError(field, "must be a number") from exc
    if not number.is_finite():
        raise RuleInputError(field, "must be a finite number")
    return number


def resolve_config(overrides: Mapping[str, Any] | None = None) -> Config:
    """Defaults merged with ``context["config"]``; a mistyped key fails loudly.

    Keys: ``interval_months``, ``mpe_lower_pct`` and ``mpe_upper_pct`` (each a mapping of
    instrument kind → value, merged kind by kind) and ``severity`` (finding → severity).
    Raises :class:`RuleInputError` naming ``config.<key>[.<kind>]``.
    """
    overrides = overrides or {}
    allowed = {"interval_months", "mpe_lower_pct", "mpe_upper_pct", *THRESHOLDS}
    for key in overrides:
        if key not in allowed:
            raise RuleInputError(f"config.{key}", "unknown threshold for the metrology sector")

    intervals = {k: v.interval_months for k, v in KINDS.items()}
    for kind, months in _per_kind(overrides, "interval_months").items():
        if isinstance(months, bool) or not isinstance(months, int) or months < 1:
            raise RuleInputError(f"config.interval_months.{kind}", "must be an integer ≥ 1")
        intervals[kind] = months

    lower = {k: v.mpe_lower_pct for k, v in KINDS.items()}
    upper = {k: v.mpe_upper_pct for k, v in KINDS.items()}
    for kind, value in _per_kind(overrides, "mpe_lower_pct").items():
        lower[kind] = _decimal(f"config.mpe_lower_pct.{kind}", value)
        if lower[kind] > 0:
            raise RuleInputError(f"config.mpe_lower_pct.{kind}", "must be ≤ 0")
    for kind, value in _per_kind(overrides, "mpe_upper_pct").items():
        upper[kind] = _decimal(f"config.mpe_upper_pct.{kind}", value)
        if upper[kind] < 0:
            raise RuleInputError(f"config.mpe_upper_pct.{kind}", "must be ≥ 0")

    severity: dict[str, Any] = dict(THRESHOLDS["severity"]["value"])
    chosen = overrides.get("severity", {})
    if not isinstance(chosen, Mapping):
        raise RuleInputError("config.severity", "must be a mapping of finding → severity")
    for name, value in chosen.items():
        if name not in severity:
            raise RuleInputError(f"config.severity.{name}", "no such finding")
        severity[name] = value
    for name, value in severity.items():  # the shipped defaults are checked too
        if value not in SEVERITIES:
            raise RuleInputError(
                f"config.severity.{name}", f"must be one of {', '.join(SEVERITIES)}"
            )
    return Config(
        MappingProxyType(intervals),
        MappingProxyType(lower),
        MappingProxyType(upper),
        MappingProxyType(severity),
    )


# --------------------------------------------------------------------------- dates


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months; a day the target month lacks becomes its last day."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def valid_until(verified_on: dt.date, interval_months: int) -> dt.date:
    """Last day a verification done on ``verified_on`` is valid (see the date convention)."""
    return add_months(verified_on, interval_months)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def inspection_date(payload: Mapping[str, Any], context: Mapping[str, Any] | None) -> dt.date:
    """The day the instruments were checked: the context's ``inspected_on`` (the result's
    date, which the payload's own may repeat but not contradict: judged on another day,
    the result would show one date and a verdict of another), else the payload's, else
    the context's ``recorded_on``."""
    on_result = result_date(payload, context)  # the core's rule: see plugin_api
    if on_result is not None:
        return on_result
    for value in (payload.get("inspected_on"), (context or {}).get("recorded_on")):
        if value is not None:
            return _as_date(value)
    raise RuleInputError(
        "inspected_on",
        "needed: the payload has no inspected_on and the context no inspected_on or recorded_on",
    )


# --------------------------------------------------------------------------- rules


def _pct(value: Decimal) -> str:
    return f"{value:+}" if value else "0"


def check_verification(
    instrument: Mapping[str, Any], as_of: dt.date, cfg: Config, field: str
) -> tuple[ItemJudgement, Finding | None]:
    """Compulsory periodic verification: never verified, or overdue on ``as_of`` → finding.

    Standard: the kind's verification regulation (JJG 539-2016, JJG 443-2015, JJG 517-2016,
    all [M]) for the interval; 《计量法》第九条 [M] for "must not be used".
    """
    kind = KINDS[instrument["kind"]]
    serial = instrument["serial_no"]
    months = cfg.interval_months[kind.kind]
    label_zh, label_en = f"{kind.name_zh}（{serial}）", f"{kind.name_en} {serial}"
    rule = f"强制检定周期 {months} 个月 / compulsory verification every {months} months"
    verified_on = instrument.get("verified_on")
    if verified_on is None:
        item = ItemJudgement(
            item=f"{serial}:verification",
            passed=False,
            rule=rule,
            standard=kind.standard_cited,
            measured=None,
            limit=f"{months} months",
            message_zh=f"{label_zh}无检定记录",
            message_en=f"{label_en}: no verification on record",
        )
        return item, Finding(
            code=FINDING_CODES["never_verified"],
            severity=cfg.severity["never_verified"],
            message_zh=f"{label_zh}未经强制检定即投入使用",
            message_en=f"{label_en} is in use without ever having been verified",
            basis=LAW_VERIFICATION,
        )
    if verified_on > as_of:
        raise RuleInputError(
            f"{field}.verified_on",
            f"verified on {verified_on.isoformat()}, after the inspection on {as_of.isoformat()}",
        )
    due = valid_until(verified_on, months)
    passed = as_of <= due
    item = ItemJudgement(
        item=f"{serial}:verification",
        passed=passed,
        rule=rule,
        standard=kind.standard_cited,
        measured=verified_on.isoformat(),
        limit=due.isoformat(),
        unit="date",
        message_zh=f"{label_zh}于 {verified_on} 检定，有效期至 {due}",
        message_en=f"{label_en} verified on {verified_on}, valid until {due}",
    )
    if passed:
        return item, None
    days = (as_of - due).days
    return item, Finding(
        code=FINDING_CODES["verification_overdue"],
        severity=cfg.severity["verification_overdue"],
        message_zh=f"{label_zh}超过检定周期未检定：有效期至 {due}，已超期 {days} 天",
        message_en=f"{label_en} is overdue for verification: valid until {due}, {days} day(s) late",
        basis=f"{LAW_VERIFICATION}; {kind.standard_cited} 检定周期",
    )


def check_error(
    instrument: Mapping[str, Any], cfg: Config
) -> tuple[ItemJudgement, Finding | None] | None:
    """Measured error of indication against the kind's maximum permissible error (MPE).

    The limits are inclusive.  Beyond the upper limit the instrument favours the trader
    (possible 短斤缺两, short weight or measure); beyond the lower limit, the customer.
    Either way it fails verification and must not be used.  ``None`` when no error was
    measured on site.
    """
    error = instrument.get("error_pct")
    if error is None:
        return None
    kind = KINDS[instrument["kind"]]
    serial = instrument["serial_no"]
    lower, upper = cfg.mpe_lower_pct[kind.kind], cfg.mpe_upper_pct[kind.kind]
    label_zh, label_en = f"{kind.name_zh}（{serial}）", f"{kind.name_en} {serial}"
    limit = f"{_pct(lower)}…{_pct(upper)}"
    passed = lower <= error <= upper
    item = ItemJudgement(
        item=f"{serial}:error",
        passed=passed,
        rule="示值误差不超过最大允许误差 / error of indication within the MPE",
        standard=f"{kind.standard} [{kind.mpe_verified}]",
        measured=_pct(error),
        limit=limit,
        unit="%",
        message_zh=f"{label_zh}示值误差 {_pct(error)}%，最大允许误差 {limit}%",
        message_en=f"{label_en} error of indication {_pct(error)}%, MPE {limit}%",
    )
    if passed:
        return item, None
    if error > upper:
        name = "error_exceeded_trader_favoured"
        why_zh, why_en = (
            "偏向经营者，可能短斤缺两或多收费",
            "in the trader's favour: possible short measure",
        )
    else:
        name = "error_exceeded_customer_favoured"
        why_zh, why_en = "偏向消费者", "in the customer's favour"
    return item, Finding(
        code=FINDING_CODES[name],
        severity=cfg.severity[name],
        message_zh=f"{label_zh}示值误差 {_pct(error)}% 超出最大允许误差 {limit}%（{why_zh}）",
        message_en=f"{label_en} error {_pct(error)}% is beyond the MPE {limit}% ({why_en})",
        basis=f"{LAW_VERIFICATION}; {LAW_ACCURACY}; {kind.standard} [{kind.mpe_verified}]",
    )


def evaluate(
    payload: Mapping[str, Any], as_of: dt.date, config: Mapping[str, Any] | None = None
) -> Judgement:
    """Judge every instrument on ``as_of``: ``fail`` on any critical finding, ``rectify``
    on a major one, ``pass`` otherwise."""
    cfg = resolve_config(config)
    items: list[ItemJudgement] = []
    findings: list[Finding] = []
    for index, instrument in enumerate(payload["instruments"]):
        field = f"instruments.{index}"
        if instrument.get("kind") not in KINDS:
            raise RuleInputError(
                f"{field}.kind", f"unknown instrument kind {instrument.get('kind')!r}"
            )
        checks = [check_verification(instrument, as_of, cfg, field), check_error(instrument, cfg)]
        for check in checks:
            if check is None:
                continue
            item, finding = check
            items.append(item)
            if finding is not None:
                findings.append(finding)
    severities = {f.severity for f in findings}
    conclusion = (
        "fail" if "critical" in severities else "rectify" if "major" in severities else "pass"
    )
    zh, en = CONCLUSIONS[conclusion]
    return Judgement(
        passed=conclusion == "pass",
        conclusion=conclusion,
        conclusion_zh=zh,
        conclusion_en=en,
        items=tuple(items),
        findings=tuple(findings),
    )


def judge(payload: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Judgement:
    """Judge a loaded payload on its inspection date with ``context["config"]``."""
    as_of = inspection_date(payload, context)
    return evaluate(payload, as_of, (context or {}).get("config") or {})


# --------------------------------------------------------------------------- risk factors


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Read a stored field whether it is a mapping (stored JSON) or a dataclass."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def risk_factors(results: Iterable[Mapping[str, Any]], as_of: dt.date) -> list[RiskFactor]:
    """Metrology risk factors from results recorded strictly before ``as_of``.

    They count the *stored* judgements' findings rather than re-judging the payloads: the
    stored judgement is what was decided then, with the district's thresholds of the day.

    - ``metrology_out_of_tolerance``: instruments found beyond their MPE;
    - ``metrology_unverified_share``: never-verified or overdue instruments / instruments checked;
    - ``metrology_noncompliant_inspections``: inspections not concluded ``pass``.
    """
    checked = unverified = out_of_tolerance = noncompliant = 0
    verification_codes = {FINDING_CODES["never_verified"], FINDING_CODES["verification_overdue"]}
    for result in results:
        if _as_date(result["recorded_on"]) >= as_of:
            continue
        checked += len(_get(result.get("payload") or {}, "instruments", None) or ())
        judgement = result.get("judgement") or {}
        for finding in _get(judgement, "findings", None) or ():
            code = _get(finding, "code")
            unverified += code in verification_codes
            out_of_tolerance += code == FINDING_CODES["error_exceeded_trader_favoured"]
        conclusion = _get(judgement, "conclusion")
        noncompliant += conclusion is not None and conclusion != "pass"
    return [
        RiskFactor(
            "metrology_out_of_tolerance",
            float(out_of_tolerance),
            "示值误差超出最大允许误差的计量器具台次",
            "Instruments found beyond their maximum permissible error",
        ),
        RiskFactor(
            "metrology_unverified_share",
            unverified / checked if checked else 0.0,
            "未检定或超期未检的计量器具占检查台次的比例",
            "Share of instruments checked that were never verified or overdue",
        ),
        RiskFactor(
            "metrology_noncompliant_inspections",
            float(noncompliant),
            "计量检查结论非“符合要求”的次数",
            "Metrology inspections not concluded compliant",
        ),
    ]
