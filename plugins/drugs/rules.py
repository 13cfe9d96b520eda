"""Pure rules of the drugs (药品) sector: GMP/GSP on-site inspections and sampling results.

Nothing here touches marshmallow, pluggy or the database: functions take plain
values (the payload as loaded by :mod:`plugins.drugs.schemas`) and return the
plugin-API dataclasses, so each rule can be tested on the worked examples of its
standard.  Thresholds are data: ``thresholds.json`` (scalars, with their source
and DOMAIN.md tag) and ``assay_ranges.csv`` (default assay ranges), both
overridable through ``context["config"]``.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import decimal
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from inspect_core.plugin_api import (
    SEVERITIES,
    Finding,
    ItemJudgement,
    Judgement,
    RiskFactor,
    RuleInputError,
)

DATA_DIR = Path(__file__).resolve().parent

GMP_STANDARD = "《药品检查管理办法（试行）》(国家药监局, 2021)"
GSP_STANDARD = "《药品经营质量管理规范现场检查指导原则》(2016, 批发)"
SAMPLING_STANDARD = "《药品质量抽查检验管理办法》(国家药监局, 2019)"
CHP = "《中华人民共和国药典》2020年版"
DRUG_LAW = "《中华人民共和国药品管理法》(2019)"

GRADES: tuple[str, ...] = ("critical", "major", "general")
GRADE_SEVERITY: Mapping[str, str] = MappingProxyType(
    {"critical": "critical", "major": "major", "general": "minor"}
)
GRADE_ZH: Mapping[str, str] = MappingProxyType(
    {"critical": "严重缺陷", "major": "主要缺陷", "general": "一般缺陷"}
)
GRADE_EN: Mapping[str, str] = MappingProxyType(
    {"critical": "critical defect", "major": "major defect", "general": "general defect"}
)
STAGES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "production": ("生产环节", "production"),
        "circulation": ("流通环节", "circulation"),
        "use": ("使用环节", "use"),
    }
)
TEST_KINDS: tuple[str, ...] = (
    "assay",
    "dissolution",
    "related_substances",
    "identification",
    "other",
)

#: Conclusion code → (zh-CN, English) label, per inspection type.
GMP_CONCLUSIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "pass": ("符合要求", "Compliant"),
        "rectify": ("待整改后评定", "To be assessed after rectification"),
        "fail": ("不符合要求", "Non-compliant"),
    }
)
GSP_CONCLUSIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "pass": ("通过检查", "Passed"),
        "rectify": ("限期整改后复查", "Re-check after rectification within a time limit"),
        "fail": ("不通过检查", "Failed"),
    }
)
SAMPLING_CONCLUSIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"pass": ("符合规定", "Conforms"), "fail": ("不符合规定", "Does not conform")}
)


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
class AssayRange:
    """A default assay range (% of label claim) from ``assay_ranges.csv``."""

    product: str
    dosage_form: str
    dosage_form_zh: str
    lower: Decimal
    upper: Decimal
    standard: str
    verified: str


def load_assay_ranges(path: Path | None = None) -> tuple[AssayRange, ...]:
    """Read the default assay-range table (product-specific rows first in lookups)."""
    path = path or DATA_DIR / "assay_ranges.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(
            AssayRange(
                product=row["product"].strip(),
                dosage_form=row["dosage_form"].strip(),
                dosage_form_zh=row["dosage_form_zh"].strip(),
                lower=Decimal(row["lower"]),
                upper=Decimal(row["upper"]),
                standard=row["standard"].strip(),
                verified=row["verified"].strip(),
            )
            for row in csv.DictReader(fh)
        )


ASSAY_RANGES: tuple[AssayRange, ...] = load_assay_ranges()


def resolve_config(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults merged with a district's overrides; a typo fails loudly instead of
    silently judging with the default.

    Dict-valued thresholds (``gsp_denominators``, ``sampling_severity``) merge key
    by key.  Raises :class:`RuleInputError` naming ``config.<key>``.
    """
    cfg: dict[str, Any] = copy.deepcopy(dict(DEFAULT_CONFIG))
    for key, value in (overrides or {}).items():
        if key not in cfg:
            raise RuleInputError(f"config.{key}", "unknown threshold for the drugs sector")
        if isinstance(cfg[key], dict):
            if not isinstance(value, Mapping):
                raise RuleInputError(f"config.{key}", "must be a mapping")
            unknown = set(value) - set(cfg[key])
            if unknown:
                raise RuleInputError(f"config.{key}.{sorted(unknown)[0]}", "unknown key")
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    for key in ("gmp_related_major_for_fail", "gmp_related_general_for_rectify"):
        _check_int(f"config.{key}", cfg[key], minimum=1)
    for cls, value in cfg["gsp_denominators"].items():
        _check_int(f"config.gsp_denominators.{cls}", value, minimum=1)
    for key in (
        "gsp_pass_general_max_pct",
        "gsp_recheck_general_max_pct",
        "gsp_recheck_major_below_pct",
        "assay_far_outside_points",
    ):
        cfg[key] = _percent(f"config.{key}", cfg[key])
    # below 100 % of label claim the ceiling would refuse a drug exactly as labelled
    cfg["label_claim_max_pct"] = _fraction(
        "config.label_claim_max_pct", cfg["label_claim_max_pct"], 100
    )
    for kind, severity in cfg["sampling_severity"].items():
        if severity not in SEVERITIES:
            raise RuleInputError(
                f"config.sampling_severity.{kind}", f"must be one of {', '.join(SEVERITIES)}"
            )
    return cfg


def _check_int(field: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleInputError(field, f"must be an integer ≥ {minimum}")


def _fraction(field: str, value: Any, low: int, high: int | None = None) -> Fraction:
    """A threshold as an exact fraction, so 20 % of 145 compares without float error,
    between ``low`` and ``high`` (no upper end when None)."""
    if high is None:
        why = f"must be a number ≥ {low}"
    else:
        why = f"must be a number between {low} and {high}"
    if isinstance(value, bool):
        raise RuleInputError(field, why)
    try:
        number = Fraction(str(value))
    except (ValueError, ZeroDivisionError) as exc:
        raise RuleInputError(field, why) from exc
    if number < low or (high is not None and number > high):
        raise RuleInputError(field, why)
    return number


def _percent(field: str, value: Any) -> Fraction:
    return _fraction(field, value, 0, 100)


def _within_label_claim(field: str, value: Decimal | None, cfg: Mapping[str, Any]) -> None:
    """Refuse a result in % of label claim above ``label_claim_max_pct``: "9950" typed
    for 99.50 would otherwise stand in the enterprise's record as a critical assay
    failure, and a dissolution unit of "1e28" would be judged to conform."""
    ceiling = cfg["label_claim_max_pct"]
    if value is not None and value.is_finite() and Fraction(value) > ceiling:
        raise RuleInputError(
            field,
            f"{value}% of label claim is above the plausible maximum "
            f"({_ceiling_text(ceiling)}%); check the value",
        )


def _ceiling_text(value: Fraction) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(value.numerator) if value.denominator == 1 else f"{exact.normalize():f}"


def _pct_text(value: Fraction) -> str:
    return f"{Decimal(value.numerator) / Decimal(value.denominator):.1f}%"


# --------------------------------------------------------------------------- GMP / GSP


@dataclass(frozen=True)
class Defect:
    """A defect found on site: checklist item code, grade and QMS subsystem.

    ``subsystem`` (e.g. 质量控制与质量保证, 物料系统) is what makes defects
    *related* (关联) in the 2021 measures; an empty subsystem relates to nothing.
    """

    item_code: str
    grade: str
    subsystem: str = ""
    description: str = ""


def as_defects(raw: Iterable[Mapping[str, Any]]) -> tuple[Defect, ...]:
    """Loaded payload defects → :class:`Defect` values."""
    return tuple(
        Defect(
            item_code=d["item_code"],
            grade=d["grade"],
            subsystem=d.get("subsystem", "") or "",
            description=d.get("description", "") or "",
        )
        for d in raw
    )


def related_counts(defects: Iterable[Defect], grade: str) -> dict[str, int]:
    """Count ``grade`` defects per subsystem (case- and blank-insensitive)."""
    counts: Counter[str] = Counter()
    for defect in defects:
        key = defect.subsystem.strip()
        if defect.grade == grade and key:
            counts[key.casefold()] += 1
    return dict(counts)


def _defect_finding(defect: Defect, standard: str) -> Finding:
    detail = f" — {defect.description}" if defect.description else ""
    return Finding(
        code=f"DRUG-DEFECT-{defect.grade.upper()}",
        severity=GRADE_SEVERITY[defect.grade],  # type: ignore[arg-type]
        message_zh=f"{defect.item_code}：{GRADE_ZH[defect.grade]}{detail}",
        message_en=f"{defect.item_code}: {GRADE_EN[defect.grade]}{detail}",
        basis=standard,
    )


def _defect_item(defect: Defect, rule: str, standard: str) -> ItemJudgement:
    return ItemJudgement(
        item=defect.item_code,
        passed=False,
        rule=rule,
        standard=standard,
        measured=defect.grade,
        message_zh=f"{GRADE_ZH[defect.grade]}（{defect.subsystem or '未注明系统'}）",
        message_en=f"{GRADE_EN[defect.grade]} ({defect.subsystem or 'subsystem not given'})",
    )


def _falsified_finding(standard: str) -> Finding:
    return Finding(
        code="DRUG-RECORDS-FALSIFIED",
        severity="critical",
        message_zh="存在记录或数据造假",
        message_en="Records or data were falsified",
        basis=standard,
    )


def gmp_conclusion(
    defects: Sequence[Defect],
    *,
    records_falsified: bool,
    qms_sound: bool,
    related_major_for_fail: int,
    related_general_for_rectify: int,
) -> str:
    """The 2021 measures' three-way conclusion (pass / rectify / fail).

    - 不符合要求 (fail): any 严重缺陷, ``related_major_for_fail`` or more 主要缺陷 in
      one subsystem, or falsified records;
    - 待整改后评定 (rectify): any 主要缺陷, ``related_general_for_rectify`` or more
      一般缺陷 in one subsystem, or general defects with an unsound QMS;
    - 符合要求 (pass): no defects, or only unrelated general defects with a sound QMS.
    """
    grades = Counter(d.grade for d in defects)
    majors = related_counts(defects, "major")
    generals = related_counts(defects, "general")
    if records_falsified or grades["critical"]:
        return "fail"
    if any(n >= related_major_for_fail for n in majors.values()):
        return "fail"
    if grades["major"] or any(n >= related_general_for_rectify for n in generals.values()):
        return "rectify"
    if grades["general"] and not qms_sound:
        return "rectify"
    return "pass"


def judge_gmp(
    defects: Sequence[Defect],
    *,
    records_falsified: bool = False,
    qms_sound: bool = True,
    config: Mapping[str, Any] | None = None,
) -> Judgement:
    """Judge a GMP (or any 2021-measures) on-site inspection from its defect list."""
    cfg = resolve_config(config)
    n_major, n_general = cfg["gmp_related_major_for_fail"], cfg["gmp_related_general_for_rectify"]
    rule = "药品检查缺陷分级与综合评定"
    items = [_defect_item(d, rule, GMP_STANDARD) for d in defects]
    findings = [_defect_finding(d, GMP_STANDARD) for d in defects]
    if records_falsified:
        findings.append(_falsified_finding(GMP_STANDARD))
    for subsystem, count in sorted(related_counts(defects, "major").items()):
        if count >= n_major:
            findings.append(
                Finding(
                    code="DRUG-GMP-RELATED-MAJOR",
                    severity="critical",
                    message_zh=f"{subsystem} 系统存在 {count} 项关联主要缺陷（阈值 {n_major}）",
                    message_en=(
                        f"{count} related major defects in subsystem {subsystem} "
                        f"(threshold {n_major})"
                    ),
                    basis=f"{GMP_STANDARD} 不符合要求：多项关联主要缺陷 [M: count configurable]",
                )
            )
    for subsystem, count in sorted(related_counts(defects, "general").items()):
        if count >= n_general:
            findings.append(
                Finding(
                    code="DRUG-GMP-RELATED-GENERAL",
                    severity="major",
                    message_zh=f"{subsystem} 系统存在 {count} 项关联一般缺陷，表明该系统不完善",
                    message_en=(
                        f"{count} related general defects in subsystem {subsystem}: "
                        "the subsystem is incomplete"
                    ),
                    basis=f"{GMP_STANDARD} 待整改后评定：多项关联一般缺陷 [M: count configurable]",
                )
            )
    conclusion = gmp_conclusion(
        defects,
        records_falsified=records_falsified,
        qms_sound=qms_sound,
        related_major_for_fail=n_major,
        related_general_for_rectify=n_general,
    )
    zh, en = GMP_CONCLUSIONS[conclusion]
    return Judgement(
        passed=conclusion == "pass",
        conclusion=conclusion,
        conclusion_zh=zh,
        conclusion_en=en,
        items=tuple(items),
        findings=tuple(findings),
    )


def gsp_percentages(
    counts: Mapping[str, int],
    denominators: Mapping[str, int],
    not_applicable: Mapping[str, int] | None = None,
) -> dict[str, Fraction]:
    """Defects as an exact percentage of the items checked in each class.

    Items not applicable (合理缺项) leave the denominator.  Raises
    :class:`RuleInputError` on impossible counts.
    """
    not_applicable = not_applicable or {}
    if sum(denominators[c] - not_applicable.get(c, 0) for c in GRADES) <= 0:
        # every item "not applicable" passed an inspection that checked nothing
        raise RuleInputError("gsp_not_applicable", "leaves no item checked")
    result: dict[str, Fraction] = {}
    for cls in GRADES:
        checked = denominators[cls] - not_applicable.get(cls, 0)
        if checked < 0:
            raise RuleInputError(
                f"gsp_not_applicable.{cls}",
                f"more items not applicable than the {denominators[cls]} {cls} items",
            )
        found = counts.get(cls, 0)
        if found > checked:
            raise RuleInputError(
                "defects", f"{found} {cls} defects but only {checked} {cls} items were checked"
            )
        result[cls] = Fraction(found * 100, checked) if checked else Fraction(0)
    return result


def gsp_conclusion(
    counts: Mapping[str, int],
    percentages: Mapping[str, Fraction],
    *,
    pass_general_max: Fraction,
    recheck_general_max: Fraction,
    recheck_major_below: Fraction,
) -> str:
    """The 2016 wholesale guideline's percentage rule.

    严重0 / 主要0 / 一般≤20% → pass; 严重0 / 主要0 / 20%<一般≤30%, or 严重0 /
    主要<10% / 一般≤20% → rectify (限期整改后复查); anything else → fail.
    """
    general = percentages["general"]
    if counts.get("critical", 0):
        return "fail"
    if counts.get("major", 0) == 0:
        if general <= pass_general_max:
            return "pass"
        if general <= recheck_general_max:
            return "rectify"
        return "fail"
    if percentages["major"] < recheck_major_below and general <= pass_general_max:
        return "rectify"
    return "fail"


def judge_gsp(
    defects: Sequence[Defect],
    *,
    not_applicable: Mapping[str, int] | None = None,
    records_falsified: bool = False,
    config: Mapping[str, Any] | None = None,
) -> Judgement:
    """Judge a GSP (wholesale) on-site inspection by the share of defective items."""
    cfg = resolve_config(config)
    denominators = cfg["gsp_denominators"]
    seen: dict[str, int] = {}
    for i, defect in enumerate(defects):
        # the percentage counts items: thirty defects under one item code are one item
        if defect.item_code in seen:
            raise RuleInputError(
                f"defects.{i}.item_code",
                f"item {defect.item_code} is already listed (defects.{seen[defect.item_code]}): "
                "a GSP item counts once",
            )
        seen[defect.item_code] = i
    counts = Counter(d.grade for d in defects)
    pct = gsp_percentages(counts, denominators, not_applicable)
    pass_max = cfg["gsp_pass_general_max_pct"]
    recheck_max = cfg["gsp_recheck_general_max_pct"]
    major_below = cfg["gsp_recheck_major_below_pct"]
    na = not_applicable or {}
    limits = {
        "critical": ("0", "0"),
        "major": (
            f"0（通过）/ <{_pct_text(major_below)}（复查）",
            f"0 (pass) / <{_pct_text(major_below)} (re-check)",
        ),
        "general": (
            f"≤{_pct_text(pass_max)}（通过）/ ≤{_pct_text(recheck_max)}（复查）",
            f"≤{_pct_text(pass_max)} (pass) / ≤{_pct_text(recheck_max)} (re-check)",
        ),
    }
    ok = {
        "critical": counts["critical"] == 0,
        "major": counts["major"] == 0,
        "general": pct["general"] <= pass_max,
    }
    items = []
    for cls in GRADES:
        checked = denominators[cls] - na.get(cls, 0)
        items.append(
            ItemJudgement(
                item=f"gsp_{cls}",
                passed=ok[cls],
                rule=f"GSP {GRADE_ZH[cls]}项比例",
                standard=GSP_STANDARD,
                measured=f"{counts[cls]}/{checked} ({_pct_text(pct[cls])})",
                limit=limits[cls][1],
                unit="%",
                message_zh=(
                    f"{GRADE_ZH[cls]} {counts[cls]} 项，检查 {checked} 项，限度 {limits[cls][0]}"
                ),
                message_en=(
                    f"{counts[cls]} {GRADE_EN[cls]}s of {checked} items checked, "
                    f"limit {limits[cls][1]}"
                ),
            )
        )
    items.extend(_defect_item(d, "GSP 缺陷项", GSP_STANDARD) for d in defects)
    findings = [_defect_finding(d, GSP_STANDARD) for d in defects]
    conclusion = gsp_conclusion(
        counts,
        pct,
        pass_general_max=pass_max,
        recheck_general_max=recheck_max,
        recheck_major_below=major_below,
    )
    if records_falsified:
        findings.append(_falsified_finding(GSP_STANDARD))
        conclusion = "fail"
    zh, en = GSP_CONCLUSIONS[conclusion]
    return Judgement(
        passed=conclusion == "pass",
        conclusion=conclusion,
        conclusion_zh=zh,
        conclusion_en=en,
        items=tuple(items),
        findings=tuple(findings),
    )


# --------------------------------------------------------------------------- sampling


def assay_default_range(
    product_name: str | None,
    dosage_form: str | None,
    table: Sequence[AssayRange] = ASSAY_RANGES,
) -> AssayRange | None:
    """The default assay range: a product-specific row first, then the dosage form's."""
    form = (dosage_form or "").strip().casefold()
    product = (product_name or "").strip()

    def same_form(row: AssayRange) -> bool:
        return form in (row.dosage_form.casefold(), row.dosage_form_zh)

    for row in table:
        if row.product and row.product == product and (not form or same_form(row)):
            return row
    for row in table:
        if not row.product and form and same_form(row):
            return row
    return None


def assay_deviation(measured: Decimal, lower: Decimal, upper: Decimal) -> Decimal:
    """Percentage points outside ``[lower, upper]`` (0 when inside)."""
    if measured < lower:
        return lower - measured
    if measured > upper:
        return measured - upper
    return Decimal(0)


@dataclass(frozen=True)
class DissolutionResult:
    """ChP 2020 0931 outcome: ``conforms``, ``fails`` or ``retest`` (second 6 units needed)."""

    outcome: str
    stage: int
    units_below_q: int
    mean: Decimal


def judge_dissolution(units: Sequence[Decimal], q: Decimal) -> DissolutionResult:
    """Dissolution of ordinary-release units against Q, ChP 2020 通则 0931 [M].

    Stage 1 (6 units) conforms when every unit ≥ Q, or when 1–2 units are below Q,
    none below Q−10 % and the mean ≥ Q.  If 1–2 are below Q, exactly one of them
    below Q−10 % but not below Q−20 %, and the mean ≥ Q, 6 more units are tested:
    stage 2 (12 units) conforms when 1–3 are below Q, only one below Q−10 %, none
    below Q−20 % and the mean of 12 ≥ Q.  10 % and 20 % are points of label claim.
    (USP <711> S1 instead asks each unit ≥ Q+5 %; that is not the ChP rule.)
    """
    if len(units) not in (6, 12):
        raise ValueError("dissolution needs 6 or 12 units")

    def stats(values: Sequence[Decimal]) -> tuple[int, int, int, Decimal]:
        below = sum(1 for u in values if u < q)
        below10 = sum(1 for u in values if u < q - 10)
        below20 = sum(1 for u in values if u < q - 20)
        return below, below10, below20, sum(values, Decimal(0)) / len(values)

    below, below10, below20, mean = stats(units[:6])
    if below == 0 or (below <= 2 and below10 == 0 and mean >= q):
        return DissolutionResult("conforms", 1, below, mean)
    if not (below <= 2 and below10 == 1 and below20 == 0 and mean >= q):
        return DissolutionResult("fails", 1, below, mean)
    if len(units) == 6:
        return DissolutionResult("retest", 1, below, mean)
    below, below10, below20, mean = stats(units)
    ok = 1 <= below <= 3 and below10 == 1 and below20 == 0 and mean >= q
    return DissolutionResult("conforms" if ok else "fails", 2, below, mean)


def to_tenth(value: Decimal) -> Decimal:
    """``value`` to 0.1 however many digits it has: in the default 28-digit context a
    mean past 10^27 raised InvalidOperation (the plugin failed, a 502)."""
    with decimal.localcontext() as ctx:
        ctx.prec = max(28, value.adjusted() + 3)
        return value.quantize(Decimal("0.1"))


def judge_limit(measured: Decimal, limit: Decimal, direction: str) -> bool:
    """``max``: measured must not exceed the limit; ``min``: must not fall below it."""
    if direction == "max":
        return measured <= limit
    if direction == "min":
        return measured >= limit
    raise ValueError(f"unknown direction {direction!r}")


def _judge_test_item(
    index: int, test: Mapping[str, Any], sample: Mapping[str, Any], cfg: Mapping[str, Any]
) -> tuple[ItemJudgement, Finding | None]:
    kind = test["kind"]
    field = f"sample.test_items.{index}"
    severity = cfg["sampling_severity"]
    # an assay is always in % of label claim; a related substance may be given in ppm,
    # and an "other" item carries a unit of its own, so neither has a ceiling then
    in_percent = kind == "assay" or (
        kind == "related_substances" and (test.get("unit") or "%").strip() in ("%", "％")
    )
    for name in ("measured", "lower", "upper", "limit") if in_percent else ():
        _within_label_claim(f"{field}.{name}", test.get(name), cfg)
    for i, unit in enumerate(test["units"] if kind == "dissolution" else ()):
        _within_label_claim(f"{field}.units.{i}", unit, cfg)
    if kind == "assay":
        lower, upper = test.get("lower"), test.get("upper")
        standard = f"{CHP} 品种正文（含量测定）"
        if lower is None or upper is None:
            default = assay_default_range(sample.get("product_name"), sample.get("dosage_form"))
            if default is None:
                raise RuleInputError(
                    f"{field}.lower",
                    "no labelled range given and no default range for dosage form "
                    f"{sample.get('dosage_form')!r}",
                )
            lower = default.lower if lower is None else lower
            upper = default.upper if upper is None else upper
            standard = f"{default.standard} [{default.verified}]"
        measured = test["measured"]
        deviation = assay_deviation(measured, lower, upper)
        passed = deviation == 0
        name_zh, name_en = test.get("name") or "含量测定", test.get("name") or "Assay"
        item = ItemJudgement(
            item=test.get("name") or "assay",
            passed=passed,
            rule="含量测定（按标示量计）",
            standard=standard,
            measured=str(measured),
            limit=f"{lower}–{upper}",
            unit="% of label claim",
            message_zh=f"含量 {measured}%，规定 {lower}%–{upper}%",
            message_en=f"assay {measured}% of label claim, limits {lower}–{upper}%",
        )
        if passed:
            return item, None
        far = Fraction(deviation) > cfg["assay_far_outside_points"]
        return item, Finding(
            code="DRUG-SAMPLE-ASSAY",
            severity=severity["assay_far" if far else "assay"],
            message_zh=f"{name_zh}不符合规定：含量 {measured}%，超出限度 {deviation} 个百分点",
            message_en=(
                f"{name_en} does not conform: {measured}% is {deviation} points outside "
                f"{lower}–{upper}% of label claim"
            ),
            basis=f"{DRUG_LAW} 第98条 劣药：成分含量不符合国家药品标准 [M]; {SAMPLING_STANDARD}",
        )
    if kind == "dissolution":
        q, units = test["q"], test["units"]
        result = judge_dissolution(units, q)
        if result.outcome == "retest":
            raise RuleInputError(
                f"{field}.units",
                "ChP 0931: one unit below Q−10% — the second stage of 6 more units is "
                "required; report all 12 units",
            )
        passed = result.outcome == "conforms"
        mean = to_tenth(result.mean)
        item = ItemJudgement(
            item=test.get("name") or "dissolution",
            passed=passed,
            rule=f"溶出度（第{result.stage}次，{len(units) if result.stage == 2 else 6}单位）",
            standard=f"{CHP} 四部 通则0931 [M]",
            measured=f"mean {mean}; min {min(units)}",
            limit=f"Q={q}",
            unit="% of label claim",
            message_zh=f"平均溶出量 {mean}%，{result.units_below_q} 个单位低于 Q={q}%",
            message_en=f"mean dissolved {mean}%, {result.units_below_q} unit(s) below Q={q}%",
        )
        finding = None
        if not passed:
            finding = Finding(
                code="DRUG-SAMPLE-DISSOLUTION",
                severity=severity["dissolution"],
                message_zh=f"溶出度不符合规定：{result.units_below_q} 个单位低于 Q={q}%",
                message_en=(
                    f"Dissolution does not conform: {result.units_below_q} unit(s) below Q={q}%"
                ),
                basis=f"{CHP} 通则0931 [M]; {SAMPLING_STANDARD}",
            )
        return item, finding
    if kind == "identification":
        passed = bool(test["passed"])
        name = test.get("name") or ""
        label_zh, label_en = f"{name}鉴别", f"{name + ' ' if name else ''}identification"
        item = ItemJudgement(
            item=name or "identification",
            passed=passed,
            rule="鉴别",
            standard=f"{CHP} 品种正文（鉴别）",
            measured="符合" if passed else "不符合",
            limit="应呈正反应",
            message_zh=f"{label_zh}符合规定" if passed else f"{label_zh}不符合规定，疑似假药",
            message_en=(
                f"{label_en} conforms" if passed else f"{label_en} fails: possible counterfeit"
            ),
        )
        finding = None
        if not passed:
            finding = Finding(
                code="DRUG-SAMPLE-IDENTIFICATION",
                severity=severity["identification"],
                message_zh=f"{label_zh}不符合规定，所含成分可能与标准不符（疑似假药）",
                message_en=f"{label_en.capitalize()} fails — possible counterfeit drug",
                basis=f"{DRUG_LAW} 第98条 假药：所含成分与国家药品标准规定的成分不符 [M]",
            )
        return item, finding
    # related substances and any other "measured vs limit" item
    direction = "max" if kind == "related_substances" else test["direction"]
    measured, limit = test["measured"], test["limit"]
    unit = test.get("unit") or "%"
    passed = judge_limit(measured, limit, direction)
    default_name = "有关物质" if kind == "related_substances" else kind
    name = test.get("name") or default_name
    # the English texts name an unnamed related-substances item in English, as the assay does
    name_en = test.get("name") or ("Related substances" if kind == "related_substances" else kind)
    sign = "≤" if direction == "max" else "≥"
    item = ItemJudgement(
        item=name,
        passed=passed,
        rule="有关物质（杂质限度）" if kind == "related_substances" else f"{name} 限度",
        standard=f"{CHP} 品种正文",
        measured=str(measured),
        limit=f"{sign}{limit}",
        unit=unit,
        message_zh=f"{name} 实测 {measured}{unit}，限度 {sign}{limit}{unit}",
        message_en=f"{name_en} measured {measured}{unit}, limit {sign}{limit}{unit}",
    )
    finding = None
    if not passed:
        finding = Finding(
            code=f"DRUG-SAMPLE-{kind.upper().replace('_', '-')}",
            severity=severity[kind],
            message_zh=f"{name} 不符合规定：实测 {measured}{unit}，限度 {sign}{limit}{unit}",
            message_en=(
                f"{name_en} does not conform: {measured}{unit} against {sign}{limit}{unit}"
            ),
            basis=f"{CHP} 品种正文; {SAMPLING_STANDARD}",
        )
    return item, finding


def judge_sampling(sample: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> Judgement:
    """Judge a sampling (抽检) report: 符合规定 only when every test item conforms."""
    cfg = resolve_config(config)
    items: list[ItemJudgement] = []
    findings: list[Finding] = []
    for index, test in enumerate(sample["test_items"]):
        item, finding = _judge_test_item(index, test, sample, cfg)
        items.append(item)
        if finding is not None:
            stage_zh, stage_en = STAGES[sample["stage"]]
            findings.append(
                Finding(
                    code=finding.code,
                    severity=finding.severity,
                    message_zh=f"[{stage_zh}] {finding.message_zh}",
                    message_en=f"[{stage_en} stage] {finding.message_en}",
                    basis=finding.basis,
                )
            )
    conclusion = "pass" if all(i.passed for i in items) else "fail"
    zh, en = SAMPLING_CONCLUSIONS[conclusion]
    return Judgement(
        passed=conclusion == "pass",
        conclusion=conclusion,
        conclusion_zh=zh,
        conclusion_en=en,
        items=tuple(items),
        findings=tuple(findings),
    )


def judge(payload: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> Judgement:
    """Dispatch a loaded drugs payload to the rule of its ``inspection_type``."""
    kind = payload["inspection_type"]
    if kind == "sampling":
        return judge_sampling(payload["sample"], config)
    defects = as_defects(payload.get("defects", ()))
    falsified = bool(payload.get("records_falsified", False))
    if kind == "gsp":
        return judge_gsp(
            defects,
            not_applicable=payload.get("gsp_not_applicable"),
            records_falsified=falsified,
            config=config,
        )
    if kind == "gmp":
        return judge_gmp(
            defects,
            records_falsified=falsified,
            qms_sound=bool(payload.get("qms_sound", True)),
            config=config,
        )
    raise RuleInputError("inspection_type", f"unknown inspection type {kind!r}")


# --------------------------------------------------------------------------- risk factors


def as_date(value: Any) -> dt.date:
    """A stored ``recorded_on`` (date, datetime or ISO string) as a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """Read a judgement field whether it is stored as a mapping or a dataclass."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def risk_factors(results: Iterable[Mapping[str, Any]], as_of: dt.date) -> list[RiskFactor]:
    """Drugs risk factors from results recorded strictly before ``as_of``.

    - ``drugs_failed_sample_rate``: share of judged sampling results that did not conform;
    - ``drugs_critical_defects`` / ``drugs_major_defects``: GMP/GSP defects of that grade
      over the whole history (falsified records count as a critical defect);
    - ``drugs_noncompliant_inspections``: GMP/GSP inspections not concluded ``pass``.
    """
    sampled = failed = critical = major = noncompliant = 0
    for result in results:
        if as_date(result["recorded_on"]) >= as_of:
            continue
        payload = result.get("payload") or {}
        judgement = result.get("judgement")
        kind = payload.get("inspection_type")
        if kind == "sampling":
            passed = _get(judgement, "passed")
            if passed is not None:
                sampled += 1
                failed += 0 if passed else 1
        elif kind in ("gmp", "gsp"):
            for defect in payload.get("defects") or ():
                grade = str(defect.get("grade", ""))
                critical += grade == "critical"
                major += grade == "major"
            critical += bool(payload.get("records_falsified"))
            conclusion = _get(judgement, "conclusion")
            noncompliant += conclusion is not None and conclusion != "pass"
    return [
        RiskFactor(
            "drugs_failed_sample_rate",
            failed / sampled if sampled else 0.0,
            "药品抽检不符合规定批次占比",
            "Share of sampled batches that did not conform",
        ),
        RiskFactor(
            "drugs_critical_defects",
            float(critical),
            "历次GMP/GSP检查严重缺陷数（含记录造假）",
            "Critical GMP/GSP defects in history (falsified records included)",
        ),
        RiskFactor(
            "drugs_major_defects",
            float(major),
            "历次GMP/GSP检查主要缺陷数",
            "Major GMP/GSP defects in history",
        ),
        RiskFactor(
            "drugs_noncompliant_inspections",
            float(noncompliant),
            "GMP/GSP检查结论非“符合/通过”的次数",
            "GMP/GSP inspections not concluded as compliant",
        ),
    ]
