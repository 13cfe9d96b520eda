"""Pure rules for food sampling results (食品安全监督抽检) and food business risk grading.

Nothing here knows about HTTP, the database, marshmallow or pluggy: every function takes
plain mappings and Decimals and returns the frozen dataclasses of ``plugin_api``, so a
district can re-run a judgement from a stored payload and get the same answer.

The limits, food categories and analytes are DATA (``limits.csv``, ``categories.csv``,
``analytes.csv`` beside this module).  Each limit row names its standard and edition and a
``verified`` flag: ``S`` = found in a source listed in DOMAIN.md, ``M`` = from memory, to be
checked against the official text.  A district's ``config`` may add or replace rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal

from inspect_core.plugin_api import (
    SEVERITIES,
    Fact,
    Finding,
    ItemJudgement,
    Judgement,
    RiskFactor,
    RuleInputError,
)

#: 《中华人民共和国食品安全法》(2009) in force [M]: the sampling and the GB 2762 / GB 2763
#: limits judged here stand under it, so a sample dated earlier (1900 typed for 2024, or a
#: year's digits swapped) is an entry error, not a result to judge and store.
EARLIEST_SAMPLING = dt.date(2009, 6, 1)

LimitType = Literal["max", "banned", "pathogen"]
Status = Literal["pass", "fail", "indeterminate"]

#: Finding severity per kind of failure.  Default table; ``config["severity"]`` overrides
#: any key.  Banned substances and pathogens endanger health whatever the amount, hence
#: ``critical``; exceeding a maximum limit is ``major``; a result that cannot be judged
#: because the method's LOD is above the limit is ``minor`` (a re-test, not a violation).
DEFAULT_SEVERITY: dict[str, str] = {
    "max": "major",
    "banned": "critical",
    "pathogen": "critical",
    "indeterminate": "minor",
}

#: Default judging options; each key may be overridden through ``config``.
#: ``comparison_method``: GB/T 8170-2008 §4.3 — ``full`` (全数值比较法, which §4.3.1 makes
#: the default when a standard does not say otherwise [M]; it is also the only reading under
#: which the issue's worked example "Cd 0.25 mg/kg in rice fails a 0.2 limit" holds) or
#: ``rounded`` (修约值比较法: round to the limit's digits per §3, then compare).
#: ``banned_threshold``: a banned substance fails at a value >= the method's ``lod`` (or
#: ``loq`` where the method says so).  ``nd_lod_above_limit``: what an ND result whose LOD
#: exceeds the limit yields — ``indeterminate`` (default) or ``fail``.
DEFAULT_OPTIONS: dict[str, str] = {
    "comparison_method": "full",
    "banned_threshold": "lod",
    "nd_lod_above_limit": "indeterminate",
}
_OPTION_CHOICES: dict[str, tuple[str, ...]] = {
    "comparison_method": ("rounded", "full"),
    "banned_threshold": ("lod", "loq"),
    "nd_lod_above_limit": ("indeterminate", "fail"),
}

#: Unit aliases → (canonical spelling, dimension, factor to the dimension's base unit).
#: Mass fractions and mass concentrations are different dimensions: converting mg/L to
#: mg/kg needs the density, which a result does not carry, so it is refused.
_UNITS: dict[str, tuple[str, str, Decimal]] = {
    "g/kg": ("g/kg", "mass_fraction", Decimal("1000")),
    "mg/kg": ("mg/kg", "mass_fraction", Decimal("1")),
    "μg/kg": ("μg/kg", "mass_fraction", Decimal("0.001")),
    "g/l": ("g/L", "mass_concentration", Decimal("1000")),
    "mg/l": ("mg/L", "mass_concentration", Decimal("1")),
    "μg/l": ("μg/L", "mass_concentration", Decimal("0.001")),
    "/25g": ("/25g", "presence_per_25g", Decimal("1")),
}

_FINDING_CODES: dict[str, str] = {
    "max": "food.limit_exceeded",
    "banned": "food.banned_detected",
    "pathogen": "food.pathogen_detected",
    "indeterminate": "food.method_not_fit",
}

GB_T_8170 = "GB/T 8170-2008"


# --------------------------------------------------------------------------- data tables


@dataclass(frozen=True)
class Category:
    """A food category; ``parent`` links it into the hierarchy rooted at ``all``."""

    code: str
    parent: str | None
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Analyte:
    """A test item (检验项目): element, pesticide, drug, additive or pathogen."""

    code: str
    name_zh: str
    name_en: str
    kind: str


@dataclass(frozen=True)
class Limit:
    """One row of the limits table: analyte × category → limit under a standard edition."""

    analyte: str
    category: str
    limit_type: LimitType
    limit: Decimal | None
    unit: str
    standard: str
    clause: str
    verified: str
    source: str = ""
    note: str = ""
    #: categories under ``category`` that the standard's row leaves out ("谷物（稻谷除外）"):
    #: they do not inherit this row
    excludes: tuple[str, ...] = ()

    @property
    def cite(self) -> str:
        """Standard, edition and clause, e.g. ``GB 2762-2022 §4.2 表2``."""
        return f"{self.standard} {self.clause}".strip()


@dataclass(frozen=True)
class LimitTable:
    """Categories, analytes and limits; lookups walk up the category hierarchy so that
    the most specific row wins (叶菜 0.2 over 新鲜蔬菜 0.05 for Cd)."""

    categories: Mapping[str, Category]
    analytes: Mapping[str, Analyte]
    limits: Mapping[tuple[str, str], Limit]

    def lineage(self, category: str) -> list[str]:
        """``category`` and its ancestors, nearest first."""
        chain: list[str] = []
        code: str | None = category
        while code is not None and code not in chain:
            chain.append(code)
            code = self.categories[code].parent if code in self.categories else None
        return chain

    def find(self, analyte: str, category: str) -> Limit | None:
        """The limit for ``analyte`` in ``category`` or its nearest ancestor, if any.

        The nearest row is the standard's word for the category: when it excludes the
        category (or an ancestor on the way), there is no limit, not a further one up.
        Total arsenic in rice fell to "谷物（稻谷除外）0.5" and passed at 0.45 mg/kg,
        where GB 2762 limits rice by its inorganic arsenic only.
        """
        chain = self.lineage(category)
        for code in chain:
            hit = self.limits.get((analyte, code))
            if hit is not None:
                return None if set(hit.excludes) & set(chain) else hit
        return None


def _read_csv(name: str) -> list[dict[str, str]]:
    text = files(__package__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _limit_from_row(row: Mapping[str, Any], where: str) -> Limit:
    limit_type = str(row.get("limit_type") or "max")
    if limit_type not in ("max", "banned", "pathogen"):
        raise RuleInputError(f"{where}.limit_type", f"unknown limit type {limit_type!r}")
    raw = row.get("limit")
    limit: Decimal | None = None
    if raw not in (None, ""):
        limit = _to_decimal(raw, f"{where}.limit")
    if limit_type == "max" and limit is None:
        raise RuleInputError(f"{where}.limit", "a 'max' row needs a numeric limit")
    unit = canonical_unit(str(row.get("unit") or ""), f"{where}.unit")
    raw_excludes = row.get("excludes") or ()
    if isinstance(raw_excludes, str):
        raw_excludes = raw_excludes.split(";")
    excludes = tuple(str(code).strip() for code in raw_excludes if str(code).strip())
    return Limit(
        analyte=str(row["analyte"]),
        category=str(row["category"]),
        limit_type=limit_type,  # type: ignore[arg-type]
        limit=limit,
        unit=unit,
        standard=str(row.get("standard") or ""),
        clause=str(row.get("clause") or ""),
        verified=str(row.get("verified") or "M"),
        source=str(row.get("source") or ""),
        note=str(row.get("note") or ""),
        excludes=excludes,
    )


@lru_cache(maxsize=1)
def default_table() -> LimitTable:
    """The shipped tables, parsed once."""
    categories = {
        r["code"]: Category(r["code"], r["parent"] or None, r["name_zh"], r["name_en"])
        for r in _read_csv("categories.csv")
    }
    analytes = {
        r["code"]: Analyte(r["code"], r["name_zh"], r["name_en"], r["kind"])
        for r in _read_csv("analytes.csv")
    }
    limits: dict[tuple[str, str], Limit] = {}
    for n, row in enumerate(_read_csv("limits.csv")):
        lim = _limit_from_row(row, f"limits.csv.{n}")
        limits[(lim.analyte, lim.category)] = lim
    return LimitTable(categories, analytes, limits)


def table_with_overrides(config: Mapping[str, Any] | None) -> LimitTable:
    """The default table with ``config["limits"]`` rows added or replacing (analyte, category).

    Override rows use the CSV's columns; their analyte and category must be known, and so
    must the categories in ``excludes`` (``;``-separated, or a list).
    """
    base = default_table()
    rows = (config or {}).get("limits") or ()
    if not rows:
        return base
    limits = dict(base.limits)
    for n, row in enumerate(rows):
        where = f"config.limits.{n}"
        if not isinstance(row, Mapping):
            raise RuleInputError(where, "each override must be a mapping of limit columns")
        for key in ("analyte", "category"):
            if row.get(key) in (None, ""):
                raise RuleInputError(f"{where}.{key}", "required")
        if row["analyte"] not in base.analytes:
            raise RuleInputError(f"{where}.analyte", f"unknown analyte {row['analyte']!r}")
        if row["category"] not in base.categories:
            raise RuleInputError(f"{where}.category", f"unknown category {row['category']!r}")
        lim = _limit_from_row(row, where)
        for code in lim.excludes:
            if code not in base.categories:
                raise RuleInputError(f"{where}.excludes", f"unknown category {code!r}")
        limits[(lim.analyte, lim.category)] = lim
    return LimitTable(base.categories, base.analytes, limits)


def options_from_config(config: Mapping[str, Any] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Judging options and the severity table after applying ``config`` overrides."""
    config = config or {}
    options = dict(DEFAULT_OPTIONS)
    for key, choices in _OPTION_CHOICES.items():
        if key in config:
            if config[key] not in choices:
                raise RuleInputError(f"config.{key}", f"must be one of {', '.join(choices)}")
            options[key] = str(config[key])
    severity = dict(DEFAULT_SEVERITY)
    for key, value in dict(config.get("severity") or {}).items():
        if key not in DEFAULT_SEVERITY:
            raise RuleInputError(f"config.severity.{key}", "unknown failure kind")
        if value not in SEVERITIES:
            raise RuleInputError(
                f"config.severity.{key}", f"must be one of {', '.join(SEVERITIES)}"
            )
        severity[key] = str(value)
    return options, severity


# --------------------------------------------------------------------------- numbers, units


def _to_decimal(value: Any, field: str) -> Decimal:
    """A Decimal from a Decimal, int or numeric string (floats via ``str`` to keep digits)."""
    if isinstance(value, bool):
        raise RuleInputError(field, "not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise RuleInputError(field, f"not a number: {value!r}") from None
    else:
        raise RuleInputError(field, f"not a number: {value!r}")
    if not result.is_finite():
        raise RuleInputError(field, "must be a finite number")
    if result < 0:
        raise RuleInputError(field, "must not be negative")
    return result


def canonical_unit(unit: str, field: str) -> str:
    """The canonical spelling of ``unit``; accepts ``ug``/``µg`` (micro sign) for ``μg``
    and any letter case for litres.  Unknown units raise :class:`RuleInputError`."""
    canonical = _canonical_unit(unit)
    if canonical is None:
        known = ", ".join(sorted({c for c, _, _ in _UNITS.values()}))
        raise RuleInputError(field, f"unknown unit {unit!r}; known: {known}")
    return canonical


@lru_cache(maxsize=512)
def _canonical_unit(unit: str) -> str | None:
    """:func:`canonical_unit` without the error; cached, as judging one item asks for
    its units four times and an upload spells them a handful of ways (measured: 2.5 µs
    of the 9 µs an item took)."""
    key = unit.strip().replace(" ", "").replace("\u00b5", "\u03bc")
    if key.lower().startswith("ug/"):
        key = "\u03bc" + key[1:]
    hit = _UNITS.get(key.lower()) or _UNITS.get(key)
    return None if hit is None else hit[0]


def convert(value: Decimal, from_unit: str, to_unit: str, field: str) -> Decimal:
    """Convert ``value`` between units of one dimension, exactly (Decimal arithmetic).

    ``field`` names the payload unit field in the error when the units are unknown or of
    different dimensions (mg/L → mg/kg would need a density).
    """
    src = _UNITS[canonical_unit(from_unit, field).lower()]
    dst = _UNITS[canonical_unit(to_unit, field).lower()]
    if src[1] != dst[1]:
        raise RuleInputError(field, f"cannot convert {src[0]} to {dst[0]} (different dimensions)")
    if src[2] == dst[2]:
        return value
    return value * src[2] / dst[2]


#: a mass fraction past this (mg/kg) is more analyte than sample: a typo (a misplaced
#: decimal point, a wrong unit), never a measurement, and judged it was a failed check
#: that stood in the enterprise's credit record
WHOLE_SAMPLE_MG_PER_KG = Decimal(1_000_000)


def _within_the_sample(amount: Decimal | None, unit: str, field: str) -> None:
    """Refuse a mass fraction larger than the whole sample (1,000,000 mg/kg).  A mass
    concentration has no such bound without the sample's density (honey holds over
    1,000 g/L of sugar), and a count per 25 g none at all."""
    if amount is None or _UNITS[unit.lower()][1] != "mass_fraction":
        return
    with decimal.localcontext() as ctx:
        # exact: the factors are 1000, 1 and 0.001, so the amount's own digits and four
        # more hold any conversion (in 28 digits 1000.000…0001 g/kg rounded down to the
        # bound and was judged, where the same amount in mg/kg was refused)
        ctx.prec = max(28, len(amount.as_tuple().digits) + 4)
        if convert(amount, unit, "mg/kg", field) > WHOLE_SAMPLE_MG_PER_KG:
            raise RuleInputError(
                field, f"{amount} {unit} is more than the whole sample (1000000 mg/kg)"
            )


def round_gbt8170(value: Decimal, exponent: int) -> Decimal:
    """Round ``value`` once to a multiple of 10**exponent per GB/T 8170-2008 §3.3.

    四舍六入五考虑: a dropped part below 5 is dropped, above 5 carries; exactly 5 followed
    by nothing but zeros rounds to the even neighbour, 5 followed by any non-zero digit
    carries.  That is ``ROUND_HALF_EVEN`` on the exact Decimal (never a float, never a
    chain of roundings, which §3.3.5 forbids).
    """
    with decimal.localcontext() as ctx:
        ctx.prec = max(28, value.adjusted() - exponent + 3)
        return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def limit_exponent(limit: Decimal) -> int:
    """The decimal place of the limit's last written digit (修约数位 per GB/T 8170 §4.3.2):
    ``0.2`` → -1, ``0.05`` → -2, ``20`` → 0, ``1.0`` → -1."""
    return int(limit.as_tuple().exponent)


def _fmt(value: Decimal) -> str:
    """Plain notation without exponent (0.00002, not 2E-5)."""
    return format(value, "f")


# --------------------------------------------------------------------------- item judgement


@dataclass(frozen=True)
class ItemOutcome:
    """One judged test item and, when it did not pass, the finding it raises."""

    status: Status
    judgement: ItemJudgement
    finding: Finding | None = None


def _status_message(status: Status) -> tuple[str, str]:
    return {
        "pass": ("合格", "pass"),
        "fail": ("不合格", "fail"),
        "indeterminate": ("无法判定", "cannot be judged"),
    }[status]


def judge_item(
    index: int,
    item: Mapping[str, Any],
    category: str,
    table: LimitTable,
    options: Mapping[str, str],
    severity: Mapping[str, str],
) -> ItemOutcome:
    """Judge one test item of a sample in ``category`` against the table.

    Rules, per the limit row's type:

    * ``max`` (GB 2762 / 2763 / 2761 / 2760 / 31650 limits): a numeric value is converted to
      the limit's unit, rounded to the limit's last digit per GB/T 8170-2008 (unless
      ``comparison_method`` is ``full``) and passes when ≤ the limit.  ``ND`` passes only
      when the LOD (converted) ≤ limit, and so does a value below its LOD (a non-detect);
      ``<X`` passes when X ≤ limit; otherwise the method could not show compliance:
      ``indeterminate`` by default (a re-test with a fit method is due; a 不合格 finding
      needs a measured exceedance), or ``fail`` by config.
    * ``banned`` (不得检出): ND passes; a value ≥ the method's LOD (or LOQ) fails; ``<X``
      passes when X ≤ that threshold and is indeterminate otherwise.
    * ``pathogen``: ND or 0 passes, any positive count fails.
    """
    base = f"items.{index}"
    analyte = str(item.get("item") or "")
    if analyte not in table.analytes:
        raise RuleInputError(f"{base}.item", f"unknown analyte {analyte!r}")
    limit = table.find(analyte, category)
    if limit is None:
        raise RuleInputError(
            f"{base}.item", f"no limit for analyte {analyte!r} in food category {category!r}"
        )
    unit_field = f"{base}.unit"
    unit = canonical_unit(str(item.get("unit") or ""), unit_field)
    # refuse unconvertible units up front, whatever the qualifier
    convert(Decimal(0), unit, limit.unit, unit_field)
    qualifier = item.get("qualifier")
    if qualifier not in (None, "", "<", "ND"):
        raise RuleInputError(f"{base}.qualifier", "must be null, '<' or 'ND'")
    qualifier = qualifier or None
    raw_value = item.get("value")
    # ``x in (None, "")`` on a Decimal compares it with "" through the numbers ABCs
    if raw_value is not None and isinstance(raw_value, str) and not raw_value:
        raw_value = None
    if qualifier == "ND":
        if raw_value is not None:
            raise RuleInputError(f"{base}.value", "must be null when the qualifier is 'ND'")
        value = None
    else:
        if raw_value is None:
            raise RuleInputError(f"{base}.value", "required unless the qualifier is 'ND'")
        value = _to_decimal(raw_value, f"{base}.value")

    def opt(name: str) -> Decimal | None:
        raw = item.get(name)
        if raw is None or (isinstance(raw, str) and not raw):
            return None
        return _to_decimal(raw, f"{base}.{name}")

    lod, loq = opt("lod"), opt("loq")
    for field, amount in (("value", value), ("lod", lod), ("loq", loq)):
        _within_the_sample(amount, unit, f"{base}.{field}")
    if lod is not None and loq is not None and loq < lod:
        raise RuleInputError(
            f"{base}.loq",
            f"{_fmt(loq)} is below the LOD ({_fmt(lod)}): no method quantifies what it "
            "cannot detect",
        )
    if limit.limit_type == "banned" and qualifier is None and lod is not None and value < lod:
        # "500 μg/kg" of malachite green with an LOD of 1000 passed as not detected: for a
        # substance that must not be detected, a number the method cannot see is no result
        raise RuleInputError(
            f"{base}.value",
            f"{_fmt(value)} is below the LOD ({_fmt(lod)}) given for it: a banned substance "
            "is either detected (a value at or above the LOD) or reported ND",
        )
    name = table.analytes[analyte]
    cited = str(item.get("standard") or "").strip()
    note_zh = note_en = ""
    if cited and _base_designation(cited) != _base_designation(limit.standard):
        note_zh = f"（报告引用 {cited}，按 {limit.standard} 判定）"
        note_en = f" (report cites {cited}; judged under {limit.standard})"

    if limit.limit_type == "max":
        status, measured, rule, zh, en = _judge_max(
            base, value, qualifier, lod, unit, limit, options
        )
    elif limit.limit_type == "banned":
        status, measured, rule, zh, en = _judge_banned(
            base, value, qualifier, lod, loq, unit, options
        )
    else:
        status, measured, rule, zh, en = _judge_pathogen(base, value, qualifier, unit)

    label_zh, label_en = _status_message(status)
    judgement = ItemJudgement(
        item=analyte,
        passed=status == "pass",
        rule=rule,
        standard=limit.cite,
        measured=measured,
        limit=_fmt(limit.limit) if limit.limit is not None else "不得检出",
        unit=limit.unit,
        message_zh=f"{name.name_zh}：{zh}，{label_zh}{note_zh}",
        message_en=f"{name.name_en}: {en}, {label_en}{note_en}",
    )
    finding = None
    if status != "pass":
        kind = "indeterminate" if status == "indeterminate" else limit.limit_type
        finding = Finding(
            code=_FINDING_CODES[kind],
            severity=severity[kind],  # type: ignore[arg-type]
            message_zh=judgement.message_zh,
            message_en=judgement.message_en,
            basis=limit.cite if status == "fail" else f"{limit.cite}; {GB_T_8170}",
        )
    return ItemOutcome(status, judgement, finding)


def _base_designation(standard: str) -> str:
    """``GB 2762-2022`` → ``GB2762``: the standard without spaces and edition year."""
    compact = standard.replace(" ", "").upper()
    head, sep, tail = compact.rpartition("-")
    return head if sep and tail.isdigit() and len(tail) == 4 else compact


def _judge_max(
    base: str,
    value: Decimal | None,
    qualifier: str | None,
    lod: Decimal | None,
    unit: str,
    limit: Limit,
    options: Mapping[str, str],
) -> tuple[Status, str, str, str, str]:
    assert limit.limit is not None
    lim = limit.limit
    unsure: Status = "fail" if options["nd_lod_above_limit"] == "fail" else "indeterminate"
    if qualifier == "ND":
        if lod is None:
            raise RuleInputError(f"{base}.lod", "an 'ND' result needs the method's LOD")
        lod_c = convert(lod, unit, limit.unit, f"{base}.unit")
        rule = "ND passes only when LOD ≤ limit"
        measured = f"ND (LOD {_fmt(lod_c)})"
        if lod_c <= lim:
            return (
                "pass",
                measured,
                rule,
                f"未检出（检出限 {_fmt(lod_c)}）",
                f"not detected (LOD {_fmt(lod_c)})",
            )
        return (
            unsure,
            measured,
            rule,
            f"未检出，但检出限 {_fmt(lod_c)} 高于限量 {_fmt(lim)} {limit.unit}，方法不适用",
            f"not detected, but LOD {_fmt(lod_c)} is above the limit {_fmt(lim)} {limit.unit}; "
            "method not fit for purpose",
        )
    assert value is not None
    value_c = convert(value, unit, limit.unit, f"{base}.unit")
    if qualifier is None and lod is not None and value < lod:
        # a reading under the method's LOD is a non-detect, held to the ND rule: "0.1" with
        # an LOD of 0.5 passed a 0.2 limit that "ND (LOD 0.5)" could not (DOMAIN.md §3)
        lod_c = convert(lod, unit, limit.unit, f"{base}.unit")
        if lod_c > lim:
            return (
                unsure,
                f"{_fmt(value_c)} (< LOD {_fmt(lod_c)})",
                "ND passes only when LOD ≤ limit",
                f"检测值 {_fmt(value_c)} 低于检出限 {_fmt(lod_c)}（视为未检出），"
                f"但检出限高于限量 {_fmt(lim)} {limit.unit}，方法不适用",
                f"measured {_fmt(value_c)} is below the LOD {_fmt(lod_c)} (not detected), but "
                f"the LOD is above the limit {_fmt(lim)} {limit.unit}; method not fit for purpose",
            )
    if qualifier == "<":
        rule = "'<X' passes only when X ≤ limit"
        measured = f"<{_fmt(value_c)}"
        if value_c <= lim:
            return "pass", measured, rule, f"低于 {_fmt(value_c)}", f"below {_fmt(value_c)}"
        return (
            unsure,
            measured,
            rule,
            f"仅报告低于 {_fmt(value_c)}，高于限量 {_fmt(lim)}，无法证明符合",
            f"reported only as below {_fmt(value_c)}, above the limit {_fmt(lim)}",
        )
    if options["comparison_method"] == "rounded":
        rounded = round_gbt8170(value_c, limit_exponent(lim))
        rule = f"{GB_T_8170} §4.3.2 修约值比较法: round(value) ≤ limit"
        measured = _fmt(value_c) if rounded == value_c else f"{_fmt(value_c)} (→ {_fmt(rounded)})"
        compared = rounded
    else:
        rule = f"{GB_T_8170} §4.3.1 全数值比较法: value ≤ limit"
        measured = _fmt(value_c)
        compared = value_c
    verb_zh, verb_en = ("≤", "≤") if compared <= lim else (">", ">")
    status: Status = "pass" if compared <= lim else "fail"
    return (
        status,
        measured,
        rule,
        f"检测值 {measured} {verb_zh} 限量 {_fmt(lim)} {limit.unit}",
        f"measured {measured} {verb_en} limit {_fmt(lim)} {limit.unit}",
    )


def _judge_banned(
    base: str,
    value: Decimal | None,
    qualifier: str | None,
    lod: Decimal | None,
    loq: Decimal | None,
    unit: str,
    options: Mapping[str, str],
) -> tuple[Status, str, str, str, str]:
    which = options["banned_threshold"]
    rule = f"不得检出: fails at value ≥ {which.upper()}"
    if qualifier == "ND":
        shown = f" (LOD {_fmt(lod)})" if lod is not None else ""
        return "pass", f"ND{shown}", rule, "未检出", "not detected"
    threshold = lod if which == "lod" else loq
    if threshold is None:
        raise RuleInputError(
            f"{base}.{which}", f"a banned substance's result needs the method's {which.upper()}"
        )
    assert value is not None
    if qualifier == "<":
        if value <= threshold:
            return "pass", f"<{_fmt(value)} {unit}", rule, "未检出", "not detected"
        return (
            "indeterminate",
            f"<{_fmt(value)} {unit}",
            rule,
            f"报告为 <{_fmt(value)}，高于{which.upper()} {_fmt(threshold)}，无法判定是否检出",
            f"reported as <{_fmt(value)}, above the {which.upper()} {_fmt(threshold)}",
        )
    if value >= threshold:
        return (
            "fail",
            f"{_fmt(value)} {unit}",
            rule,
            f"检出 {_fmt(value)} {unit}（≥ {which.upper()} {_fmt(threshold)}），禁用物质不得检出",
            f"detected {_fmt(value)} {unit} (≥ {which.upper()} {_fmt(threshold)}); "
            "banned substance must not be detected",
        )
    return (
        "pass",
        f"{_fmt(value)} {unit}",
        rule,
        f"{_fmt(value)} 低于{which.upper()}，视为未检出",
        f"{_fmt(value)} is below the {which.upper()}: not detected",
    )


def _judge_pathogen(
    base: str, value: Decimal | None, qualifier: str | None, unit: str
) -> tuple[Status, str, str, str, str]:
    rule = "致病菌不得检出 (m=0)"
    if qualifier == "<":
        raise RuleInputError(f"{base}.qualifier", "a pathogen result is ND or a count, not '<'")
    if qualifier == "ND" or value == 0:
        return "pass", "ND", rule, "未检出", "not detected"
    assert value is not None
    return (
        "fail",
        f"{_fmt(value)} {unit}",
        rule,
        f"检出（{_fmt(value)} {unit}），致病菌不得检出",
        f"detected ({_fmt(value)} {unit}); pathogen must be absent",
    )


# --------------------------------------------------------------------------- whole result

CONCLUSIONS: dict[str, tuple[str, str]] = {
    "pass": ("合格", "Pass"),
    "fail": ("不合格", "Fail"),
    "indeterminate": ("无法判定", "Cannot be judged"),
}


ItemMemo = dict[tuple[Any, ...], ItemOutcome]


def _item_key(category: str, item: Mapping[str, Any]) -> tuple[Any, ...]:
    """Everything :func:`judge_item` reads of an item.  Numbers as their exact text:
    ``Decimal("0.10") == Decimal("0.1")``, but they are reported differently."""
    get = item.get
    value, lod, loq = get("value"), get("lod"), get("loq")
    return (
        category,
        get("item"),
        None if value is None else (type(value), str(value)),
        get("qualifier"),
        get("unit"),
        None if lod is None else (type(lod), str(lod)),
        None if loq is None else (type(loq), str(loq)),
        get("standard"),
    )


def check_sampling_date(sampling: Any, day: dt.date | None) -> None:
    """A sample is taken on or before the inspection its result records (``day``: the
    result's inspection date, else the day it is recorded; None when a rule is called
    without one), and not before :data:`EARLIEST_SAMPLING`.  Checked when a result is
    judged, not by :func:`risk_factors`, which re-reads stored results."""
    if not isinstance(sampling, dt.date):
        return  # the schema requires a date; a rule called directly may pass none
    if day is not None and sampling > day:
        raise RuleInputError(
            "sampling_date",
            f"after the inspection date ({day.isoformat()}): a sample is taken on or before it",
        )
    if sampling < EARLIEST_SAMPLING:
        raise RuleInputError(
            "sampling_date",
            f"before {EARLIEST_SAMPLING.isoformat()}, when the Food Safety Law took effect: "
            "the limits judged here do not apply",
        )


def judge_sample(
    payload: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    memo: ItemMemo | None = None,
) -> Judgement:
    """Judge a sampling result: every test item, then the overall conclusion.

    Any failed item → 不合格; else any item that cannot be judged → 无法判定 (not counted
    as passed; a re-test is due); else 合格.  ``memo`` (one per ``config``) keeps item
    outcomes across calls: an item's judgement depends only on its category, its own
    fields and the config, and a bulk upload repeats the same ND-with-LOD items and
    reported values many times.
    """
    return Rulebook(config).judge(payload, memo)


class Rulebook:
    """The table, options and severities of one ``config``, resolved once: a bulk upload
    judges thousands of samples under the same configuration."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.table = table_with_overrides(config)
        self.options, self.severity = options_from_config(config)

    def judge(self, payload: Mapping[str, Any], memo: ItemMemo | None = None) -> Judgement:
        """See :func:`judge_sample`."""
        table, options, severity = self.table, self.options, self.severity
        category = str(payload.get("food_category") or "")
        if category not in table.categories:
            raise RuleInputError("food_category", f"unknown food category {category!r}")
        items = payload.get("items")
        if (not isinstance(items, list | tuple) or not items) and (
            not isinstance(items, Sequence) or isinstance(items, str) or not items
        ):
            raise RuleInputError("items", "at least one test item is required")
        if memo is None:
            outcomes = [
                judge_item(n, item, category, table, options, severity)
                for n, item in enumerate(items)
            ]
        else:
            outcomes = []
            for n, item in enumerate(items):
                key = _item_key(category, item)
                outcome = memo.get(key)
                if outcome is None:  # errors are not kept: they name the item's index
                    outcome = judge_item(n, item, category, table, options, severity)
                    memo[key] = outcome
                outcomes.append(outcome)
        statuses = {o.status for o in outcomes}
        code = (
            "fail"
            if "fail" in statuses
            else "indeterminate"
            if "indeterminate" in statuses
            else "pass"
        )
        zh, en = CONCLUSIONS[code]
        findings = tuple(o.finding for o in outcomes if o.finding is not None)
        return Judgement(
            passed=code == "pass",
            conclusion=code,
            conclusion_zh=zh,
            conclusion_en=en,
            items=tuple(o.judgement for o in outcomes),
            findings=findings,
            facts=result_facts(findings),
        )


#: what scoring remembers of each judged sample (``Judgement.facts``; declared on the
#: plugin's ``Sector``): the counts :func:`risk_factors` also reports over a history
FACTS: tuple[Fact, ...] = (
    Fact("food_banned_hits", "禁用物质及致病菌检出次数",
         "Banned substances or pathogens detected"),
    Fact("food_limit_exceedances", "超限量项目次数", "Test items over their limit"),
)  # fmt: skip
_BANNED_CODES = frozenset(("food.banned_detected", "food.pathogen_detected"))


def result_facts(findings: Sequence[Finding]) -> tuple[tuple[str, float], ...]:
    """Banned or pathogen hits and limit exceedances of one sample (zeros left out)."""
    banned = sum(f.code in _BANNED_CODES for f in findings)
    exceeded = sum(f.code == "food.limit_exceeded" for f in findings)
    pairs = (("food_banned_hits", float(banned)), ("food_limit_exceedances", float(exceeded)))
    return tuple(p for p in pairs if p[1])


# --------------------------------------------------------------------------- risk grading

#: CFDA 2016《食品生产经营风险分级管理办法（试行）》: score = static (≤40) + dynamic (≤60),
#: higher = riskier; grade upper bounds inclusive (DOMAIN.md §3, S15).  Default table.
RISK_GRADE_CUTOFFS: tuple[tuple[str, Decimal], ...] = (
    ("A", Decimal(30)),
    ("B", Decimal(45)),
    ("C", Decimal(60)),
)
RISK_SCORE_MAX: dict[str, Decimal] = {"static_score": Decimal(40), "dynamic_score": Decimal(60)}
#: Minimum inspections per year per grade (DOMAIN.md §3, S14): (at least, up to); A has no
#: upper figure.  Local variants (e.g. S17: A/B ≥1, C ≥2, D ≥3) override this table.
INSPECTIONS_PER_YEAR: dict[str, tuple[int, int | None]] = {
    "A": (1, None),
    "B": (1, 2),
    "C": (2, 3),
    "D": (3, 4),
}
GRADE_RANK: dict[str, int] = {"A": 1, "B": 2, "C": 3, "D": 4}


def business_risk_grade(
    static_score: Decimal | int | str,
    dynamic_score: Decimal | int | str,
    cutoffs: Sequence[tuple[str, Decimal]] = RISK_GRADE_CUTOFFS,
) -> str:
    """Grade A–D from the static (≤40) and dynamic (≤60) risk scores.

    Total ≤30 → A, ≤45 → B, ≤60 → C, above → D (CFDA 2016 试行, cut-offs inclusive).
    """
    total = Decimal(0)
    for name, raw in (("static_score", static_score), ("dynamic_score", dynamic_score)):
        score = _to_decimal(raw, f"business_risk.{name}")
        if score > RISK_SCORE_MAX[name]:
            raise RuleInputError(f"business_risk.{name}", f"must be ≤ {RISK_SCORE_MAX[name]}")
        total += score
    for grade, upper in cutoffs:
        if total <= upper:
            return grade
    return "D"


def inspections_per_year(grade: str) -> tuple[int, int | None]:
    """(minimum, upper figure) of routine inspections a year for a risk grade."""
    if grade not in INSPECTIONS_PER_YEAR:
        raise RuleInputError("business_risk.grade", f"unknown grade {grade!r}")
    return INSPECTIONS_PER_YEAR[grade]


# --------------------------------------------------------------------------- risk factors


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    return None


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value if isinstance(value, Mapping) else {}


def risk_factors(results: Sequence[Mapping[str, Any]], as_of: dt.date) -> list[RiskFactor]:
    """Food risk factors from stored results recorded strictly before ``as_of``.

    * ``food_failed_sample_rate``: share of judged results concluded 不合格;
    * ``food_banned_hits``: banned-substance and pathogen findings (critical by default);
    * ``food_limit_exceedances``: limit-exceeded findings;
    * ``food_risk_grade``: 1–4 for A–D from the latest recorded static+dynamic scores,
      0 when none was recorded.
    """
    judged = failed = banned = exceed = 0
    latest: tuple[dt.date, str] | None = None
    for result in results:
        recorded = _as_date(result.get("recorded_on"))
        if recorded is None or recorded >= as_of:
            continue
        judgement = _as_mapping(result.get("judgement"))
        if judgement:
            judged += 1
            failed += judgement.get("conclusion") == "fail"
            for finding in judgement.get("findings") or ():
                code = _as_mapping(finding).get("code")
                banned += code in ("food.banned_detected", "food.pathogen_detected")
                exceed += code == "food.limit_exceeded"
        risk = _as_mapping(_as_mapping(result.get("payload")).get("business_risk"))
        if risk.get("static_score") is not None and risk.get("dynamic_score") is not None:
            grade = business_risk_grade(risk["static_score"], risk["dynamic_score"])
            if latest is None or recorded >= latest[0]:
                latest = (recorded, grade)
    rate = failed / judged if judged else 0.0
    return [
        RiskFactor(
            "food_failed_sample_rate",
            rate,
            "历史抽检不合格率",
            "Share of past samples judged non-compliant",
        ),
        RiskFactor(
            "food_banned_hits",
            float(banned),
            "禁用物质及致病菌检出次数",
            "Banned substances or pathogens detected in past samples",
        ),
        RiskFactor(
            "food_limit_exceedances",
            float(exceed),
            "超限量项目次数",
            "Test items above their limit in past samples",
        ),
        RiskFactor(
            "food_risk_grade",
            float(GRADE_RANK[latest[1]]) if latest else 0.0,
            "最近一次风险分级（A=1…D=4，未评定=0）",
            "Latest food business risk grade (A=1 … D=4, none recorded = 0)",
        ),
    ]
