"""Pure rules for construction-project quality results (建设工程质量).

* GB 50300-2013 §5.0.1–5.0.4: acceptance of inspection lots → sub-items → (sub-)divisions →
  unit projects, evaluated recursively with a verdict and reasons per node.
* GB/T 50107-2010 §5.1–5.2: batch acceptance of concrete compressive strength by the
  known-σ0, statistical (n ≥ 10) and non-statistical (n < 10) methods.
* Completion acceptance (竣工验收): the five conditions of 《建设工程质量管理条例》 art. 16,
  notice to the supervision station ≥ 7 working days before acceptance, filing (备案)
  within 15 days after.
* Common quality problems (质量常见问题) as findings.

Thresholds, coefficients, conditions and severities are DATA in ``thresholds.json`` (each
with its source and a ``verified`` flag); ``config`` overrides any key.  No Flask,
database, marshmallow or pluggy here.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from importlib.resources import files
from typing import Any

import chinese_calendar

from inspect_core.plugin_api import (
    SEVERITIES,
    Finding,
    ItemJudgement,
    Judgement,
    RiskFactor,
    RuleInputError,
)

GB_50300 = "GB 50300-2013"
GB_T_50107 = "GB/T 50107-2010"

# --------------------------------------------------------------------------- thresholds


@lru_cache(maxsize=1)
def _default_thresholds() -> Mapping[str, Any]:
    text = files(__package__).joinpath("thresholds.json").read_text(encoding="utf-8")
    return json.loads(text)


def default_thresholds() -> dict[str, Any]:
    """A private copy of the shipped thresholds (callers may mutate it)."""
    return copy.deepcopy(dict(_default_thresholds()))


def _merge(base: dict[str, Any], override: Mapping[str, Any], path: str) -> None:
    for key, value in override.items():
        where = f"{path}.{key}"
        if key not in base:
            raise RuleInputError(where, "unknown threshold key")
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise RuleInputError(where, "expected a mapping")
            _merge(base[key], value, where)
        else:
            base[key] = copy.deepcopy(value)


def thresholds_with_overrides(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Shipped thresholds with ``config`` deep-merged over them (unknown keys refused).

    Example: ``{"acceptance": {"general_item_min_rate": "0.90"}}`` for a professional code
    that asks 90 % of points to comply.
    """
    merged = default_thresholds()
    if config:
        _merge(merged, config, "config")
    _dec(
        merged["concrete"]["plausible_max_strength"],
        "config.concrete.plausible_max_strength",
        positive=True,
    )
    _share(merged["acceptance"]["general_item_min_rate"], "config.acceptance.general_item_min_rate")
    _check_numbers(merged)
    for code, severity in merged["severity"].items():
        if severity not in SEVERITIES:
            raise RuleInputError(
                f"config.severity.{code}", f"must be one of {', '.join(SEVERITIES)}"
            )
    return merged


#: Coefficients of GB/T 50107 that must be numbers ≥ 0 (``True``: > 0) for the batch
#: judgement to run, by section of ``concrete``.
_CONCRETE_NUMBERS: dict[str, dict[str, bool]] = {
    "known_sigma": {
        "mean_factor": False,
        "min_factor": False,
        "min_ratio_low_grade": True,
        "min_ratio_high_grade": True,
        "low_grade_max_fcuk": True,
        "sigma_floor": False,
    },
    "statistical": {"s_floor": False},
    "non_statistical": {
        "lambda3_below_c60": True,
        "lambda3_c60_and_above": True,
        "lambda3_switch_fcuk": True,
        "lambda4": True,
    },
    "precision": {"mean": True, "std": True},
}
#: Group counts (the least each may be: a standard deviation takes two values) and day
#: counts (at most a year: more is a typo, and past the calendar's end a date overflows).
_CONCRETE_COUNTS = {
    ("known_sigma", "batch_size"): 1,
    ("known_sigma", "sigma_history_min_groups"): 2,
    ("statistical", "min_groups"): 2,
    ("non_statistical", "max_groups"): 1,
}
_COMPLETION_DAYS = ("notice_working_days", "filing_days")


def _whole(value: Any, field_: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleInputError(field_, f"a whole number ≥ {minimum} is required")
    return value


def _check_numbers(th: Mapping[str, Any]) -> None:
    """Every number the rules compute with, checked once after a district's overrides:
    text where a count belongs, or a coefficient that is no number, failed each result as
    a plugin fault (502), and a negative filing term made every filing late."""
    conc = th["concrete"]
    for section, names in _CONCRETE_NUMBERS.items():
        for name, positive in names.items():
            _dec(conc[section][name], f"config.concrete.{section}.{name}", positive=positive)
    for (section, name), minimum in _CONCRETE_COUNTS.items():
        _whole(conc[section][name], f"config.concrete.{section}.{name}", minimum)
    if conc["non_statistical"]["max_groups"] != conc["statistical"]["min_groups"] - 1:
        raise RuleInputError(
            "config.concrete.non_statistical.max_groups",
            "must be one less than statistical.min_groups (GB/T 50107-2010 §5.2)",
        )
    for table in ("lambda1", "lambda2"):
        where = f"config.concrete.statistical.{table}"
        bands = conc["statistical"][table]
        if not isinstance(bands, Sequence) or isinstance(bands, str) or not bands:
            raise RuleInputError(where, "a list of bands (min_n, max_n, value) is required")
        for i, band in enumerate(bands):
            if not isinstance(band, Mapping) or set(band) != {"min_n", "max_n", "value"}:
                raise RuleInputError(f"{where}.{i}", "a band (min_n, max_n, value) is required")
            low = _whole(band["min_n"], f"{where}.{i}.min_n", 1)
            if band["max_n"] is not None:
                _whole(band["max_n"], f"{where}.{i}.max_n", low)
            _dec(band["value"], f"{where}.{i}.value", positive=True)
    for name in _COMPLETION_DAYS:
        days = th["completion"][name]
        if _whole(days, f"config.completion.{name}", 1) > 366:
            raise RuleInputError(f"config.completion.{name}", "at most 366 days")


def _dec(value: Any, field_: str, *, positive: bool = False) -> Decimal:
    """A finite, non-negative Decimal (strictly positive when asked) or RuleInputError."""
    if isinstance(value, bool) or value is None:
        raise RuleInputError(field_, "a number is required")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise RuleInputError(field_, f"not a number: {value!r}") from None
    if not result.is_finite() or result < 0 or (positive and result == 0):
        raise RuleInputError(field_, "must be a finite number > 0" if positive else ">= 0")
    return result


def _share(value: Any, field_: str) -> Decimal:
    """A general item's minimum compliant share, in (0, 1] (GB 50300-2013 §5.0.1(2)): 0
    passes a lot whose every point failed, and above 1 (80 typed for 0.80) fails every lot."""
    share = _dec(value, field_)
    if share == 0 or share > 1:
        raise RuleInputError(field_, "a share above 0 and at most 1")
    return share


def _round(value: Decimal, step: str) -> Decimal:
    """Round once to ``step`` per GB/T 8170-2008 (half to even on the exact value), in
    as many digits as that takes: 50 raised InvalidOperation for a value past 10^48."""
    with decimal.localcontext() as ctx:
        ctx.prec = max(50, value.adjusted() - Decimal(step).as_tuple().exponent + 3)
        return value.quantize(Decimal(step), rounding=ROUND_HALF_EVEN)


def _fmt(value: Decimal) -> str:
    return format(value, "f")


# --------------------------------------------------------------------------- GB 50300 tree

LEVELS: dict[str, tuple[str, str]] = {
    "unit": ("单位工程", "unit project"),
    "division": ("分部工程", "division"),
    "subdivision": ("子分部工程", "sub-division"),
    "subitem": ("分项工程", "sub-item"),
    "lot": ("检验批", "inspection lot"),
}
#: Which levels a node of each level may contain (GB 50300-2013 §4).
CHILD_LEVELS: dict[str, tuple[str, ...]] = {
    "unit": ("division",),
    "division": ("subdivision", "subitem"),
    "subdivision": ("subitem",),
    "subitem": ("lot",),
    "lot": (),
}
#: Yes/no facts a node of each level must record, with the clause that asks for them.
LEVEL_FIELDS: dict[str, tuple[str, ...]] = {
    "lot": ("records_complete",),
    "subitem": ("records_complete",),
    "subdivision": ("documents_complete", "safety_function_tests_passed", "appearance_accepted"),
    "division": ("documents_complete", "safety_function_tests_passed", "appearance_accepted"),
    "unit": (
        "documents_complete",
        "safety_function_records_complete",
        "main_function_checks_passed",
        "appearance_accepted",
    ),
}
#: Field → (finding code, clause, zh, en) when the field is false.
_FIELD_FAILURES: dict[str, tuple[str, str, str, str]] = {
    "records_complete": (
        "construction.records_incomplete",
        "§5.0.1(3)/§5.0.2(2)",
        "施工操作依据、质量验收记录不完整",
        "construction basis or acceptance records incomplete",
    ),
    "documents_complete": (
        "construction.documents_incomplete",
        "§5.0.3(2)/§5.0.4(2)",
        "质量控制资料不完整",
        "quality control documents incomplete",
    ),
    "safety_function_tests_passed": (
        "construction.safety_function_failed",
        "§5.0.3(3)",
        "安全、节能、环境保护和主要使用功能的抽样检验结果不符合规定",
        "safety, energy, environmental or main-function tests failed",
    ),
    "safety_function_records_complete": (
        "construction.documents_incomplete",
        "§5.0.4(3)",
        "安全、节能、环境保护和主要使用功能的检验资料不完整",
        "safety, energy, environmental and main-function test records incomplete",
    ),
    "main_function_checks_passed": (
        "construction.main_function_failed",
        "§5.0.4(4)",
        "主要使用功能的抽查结果不符合规定",
        "main-function spot checks failed",
    ),
    "appearance_accepted": (
        "construction.appearance_not_accepted",
        "§5.0.3(4)/§5.0.4(5)",
        "观感质量不符合要求",
        "appearance quality not accepted",
    ),
}


@dataclass(frozen=True)
class Reason:
    """Why a node failed; ``code`` is ``None`` when it failed only because a child did."""

    code: str | None
    message_zh: str
    message_en: str
    basis: str


@dataclass(frozen=True)
class NodeVerdict:
    """The verdict on one node of the acceptance tree, with its children's verdicts."""

    path: str
    level: str
    name: str
    code: str | None
    passed: bool
    reasons: tuple[Reason, ...] = ()
    children: tuple[NodeVerdict, ...] = ()

    def walk(self) -> Iterator[NodeVerdict]:
        """This node, then its descendants depth-first."""
        yield self
        for child in self.children:
            yield from child.walk()


def _flag(node: Mapping[str, Any], name: str, path: str, *, default: bool | None = None) -> bool:
    value = node.get(name)
    if value is None:
        value = default
    if not isinstance(value, bool):
        raise RuleInputError(f"{path}.{name}", "true or false is required")
    return value


def _evaluate_lot(node: Mapping[str, Any], path: str, min_rate: Decimal) -> list[Reason]:
    """GB 50300-2013 §5.0.1: main-control items all pass; each general item's compliant
    share ≥ its minimum (80 % by default) with no severe defect; records complete."""
    reasons: list[Reason] = []
    main = node.get("main_control")
    if not isinstance(main, Sequence) or isinstance(main, str) or not main:
        raise RuleInputError(f"{path}.main_control", "a lot needs at least one main-control item")
    failed = []
    for j, item in enumerate(main):
        if not isinstance(item, Mapping):
            raise RuleInputError(f"{path}.main_control.{j}", "expected a mapping")
        if not _flag(item, "passed", f"{path}.main_control.{j}"):
            failed.append(str(item.get("code") or j))
    if failed:
        reasons.append(
            Reason(
                "construction.lot_main_control_failed",
                f"主控项目不合格：{'、'.join(failed)}",
                f"main-control items failed: {', '.join(failed)}",
                f"{GB_50300} §5.0.1(1)",
            )
        )
    for j, item in enumerate(node.get("general_items") or ()):
        where = f"{path}.general_items.{j}"
        if not isinstance(item, Mapping):
            raise RuleInputError(where, "expected a mapping")
        sampled = item.get("sampled")
        compliant = item.get("compliant")
        if not isinstance(sampled, int) or isinstance(sampled, bool) or sampled < 1:
            raise RuleInputError(f"{where}.sampled", "a whole number ≥ 1 is required")
        if not isinstance(compliant, int) or isinstance(compliant, bool) or compliant < 0:
            raise RuleInputError(f"{where}.compliant", "a whole number ≥ 0 is required")
        if compliant > sampled:
            raise RuleInputError(f"{where}.compliant", "cannot exceed the number sampled")
        need = min_rate
        if item.get("min_rate") is not None:
            need = _share(item["min_rate"], f"{where}.min_rate")
        rate = Decimal(compliant) / Decimal(sampled)
        if rate < need:
            label = str(item.get("code") or j)
            reasons.append(
                Reason(
                    "construction.lot_general_rate_low",
                    f"一般项目 {label} 合格点率 {compliant}/{sampled} 低于 {_fmt(need * 100)}%",
                    f"general item {label}: {compliant}/{sampled} compliant, "
                    f"below {_fmt(need * 100)} %",
                    f"{GB_50300} §5.0.1(2)",
                )
            )
    if _flag(node, "severe_defect", path, default=False):
        reasons.append(
            Reason(
                "construction.lot_severe_defect",
                "一般项目存在严重缺陷",
                "general items show a severe defect",
                f"{GB_50300} §5.0.1(2)",
            )
        )
    return reasons


def evaluate_acceptance(
    node: Mapping[str, Any],
    thresholds: Mapping[str, Any] | None = None,
    path: str = "acceptance_tree",
) -> NodeVerdict:
    """Evaluate a GB 50300-2013 acceptance (sub-)tree, bottom-up.

    A lot passes per §5.0.1; a sub-item when all its lots pass and its records are complete
    (§5.0.2); a (sub-)division when all children pass, documents are complete, safety and
    function tests pass and the appearance is accepted (§5.0.3); a unit when all divisions
    pass plus complete safety/function records and main-function spot checks (§5.0.4).  A
    division or unit still unsafe after repair or reinforcement must not be accepted
    (§5.0.8).  Structural errors raise :class:`RuleInputError` naming the node's field.
    """
    thresholds = thresholds or _default_thresholds()
    if not isinstance(node, Mapping):
        raise RuleInputError(path, "expected a mapping")
    level = node.get("level")
    if level not in LEVELS:
        raise RuleInputError(f"{path}.level", f"must be one of {', '.join(LEVELS)}")
    name = str(node.get("name") or node.get("code") or LEVELS[level][0])
    children_raw = node.get("children") or ()
    if level == "lot" and children_raw:
        raise RuleInputError(f"{path}.children", "an inspection lot has no children")
    if level != "lot" and not children_raw:
        raise RuleInputError(
            f"{path}.children", f"a {LEVELS[level][1]} needs at least one child to be accepted"
        )
    children = []
    for i, child in enumerate(children_raw):
        child_path = f"{path}.children.{i}"
        if not isinstance(child, Mapping) or child.get("level") not in CHILD_LEVELS[level]:
            allowed = " or ".join(CHILD_LEVELS[level])
            raise RuleInputError(f"{child_path}.level", f"a {level} contains {allowed} nodes")
        children.append(evaluate_acceptance(child, thresholds, child_path))

    reasons: list[Reason] = []
    if level == "lot":
        min_rate = _share(
            thresholds["acceptance"]["general_item_min_rate"],
            "config.acceptance.general_item_min_rate",
        )
        reasons.extend(_evaluate_lot(node, path, min_rate))
    failed_children = [c.name for c in children if not c.passed]
    if failed_children:
        reasons.append(
            Reason(
                None,
                f"所含{LEVELS[children[0].level][0]}不合格：{'、'.join(failed_children)}",
                f"{LEVELS[children[0].level][1]}(s) failed: {', '.join(failed_children)}",
                f"{GB_50300} §5.0.2–5.0.4",
            )
        )
    for flag in LEVEL_FIELDS[level]:
        if not _flag(node, flag, path):
            code, clause, zh, en = _FIELD_FAILURES[flag]
            reasons.append(Reason(code, zh, en, f"{GB_50300} {clause}"))
    if level in ("unit", "division", "subdivision") and _flag(
        node, "unsafe_after_repair", path, default=False
    ):
        reasons.append(
            Reason(
                "construction.unsafe_after_repair",
                "经返修或加固处理仍不能满足安全或重要使用要求，严禁验收",
                "still unsafe after repair or reinforcement: must not be accepted",
                f"{GB_50300} §5.0.8",
            )
        )
    return NodeVerdict(
        path=path,
        level=str(level),
        name=name,
        code=str(node["code"]) if node.get("code") else None,
        passed=not reasons,
        reasons=tuple(reasons),
        children=tuple(children),
    )


# --------------------------------------------------------------------------- GB/T 50107

_GRADE = re.compile(r"^C(\d{1,3}(?:\.\d)?)$", re.IGNORECASE)
METHODS: dict[str, tuple[str, str]] = {
    "known_sigma": ("标准差已知统计方法", "statistical method, known σ0"),
    "statistical": ("标准差未知统计方法", "statistical method, unknown σ"),
    "non_statistical": ("非统计方法", "non-statistical method"),
}


@dataclass(frozen=True)
class Check:
    """One inequality of GB/T 50107: ``measured ≥ required``."""

    name: str
    formula: str
    measured: Decimal
    required: Decimal

    @property
    def passed(self) -> bool:
        return self.measured >= self.required


@dataclass(frozen=True)
class ConcreteVerdict:
    """Acceptance of one concrete strength batch (检验批) and the figures behind it."""

    path: str
    batch_no: str
    grade: str
    fcuk: Decimal
    method: str
    n: int
    mean: Decimal
    minimum: Decimal
    std: Decimal | None
    std_computed: Decimal | None
    checks: tuple[Check, ...]
    clause: str
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def _plausible(value: Decimal, ceiling: Decimal, field_: str) -> Decimal:
    """``value`` unless it is above the plausibility ceiling (N/mm²): a strength of "335"
    typed for 33.5, or 1e1000, would otherwise be judged and stand in the record."""
    if value > ceiling:
        raise RuleInputError(
            field_,
            f"{value} N/mm² is above the plausible maximum ({_fmt(ceiling)} N/mm²); "
            "check the value",
        )
    return value


def parse_grade(grade: Any, field_: str) -> Decimal:
    """``C30`` → 30 (fcu,k in N/mm²)."""
    match = _GRADE.match(str(grade or "").strip())
    if not match:
        raise RuleInputError(field_, f"not a concrete strength grade like C30: {grade!r}")
    return Decimal(match.group(1))


def sample_std(values: Sequence[Decimal]) -> Decimal:
    """Sample standard deviation (divisor n − 1), GB/T 50107 formula 5.1.3-3, exact Decimal."""
    n = len(values)
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        mean = sum(values, Decimal(0)) / n
        return (sum(((v - mean) ** 2 for v in values), Decimal(0)) / (n - 1)).sqrt()


def _band(bands: Sequence[Mapping[str, Any]], n: int, field_: str) -> Decimal:
    for band in bands:
        if n >= band["min_n"] and (band["max_n"] is None or n <= band["max_n"]):
            return Decimal(str(band["value"]))
    raise RuleInputError(field_, f"no coefficient for n = {n}")


def evaluate_concrete_batch(
    batch: Mapping[str, Any],
    thresholds: Mapping[str, Any] | None = None,
    path: str = "concrete_batches.0",
) -> ConcreteVerdict:
    """Judge one batch of cube strengths (N/mm²) per GB/T 50107-2010.

    ``method`` may be given or left to choose: ``known_sigma`` when ``sigma0`` or
    ``sigma0_history`` is given, ``statistical`` for n ≥ 10, else ``non_statistical``.
    The mean is taken to 0.1 and σ0 / Sfcu to 0.01 N/mm² (GB/T 8170 rounding), and a
    standard deviation below 2.5 N/mm² is taken as 2.5.  Too few (or, for the
    non-statistical method, too many) groups raise :class:`RuleInputError`.
    """
    conf = (thresholds or _default_thresholds())["concrete"]
    ceiling = _dec(conf["plausible_max_strength"], "config.concrete.plausible_max_strength")
    fcuk = _plausible(parse_grade(batch.get("grade"), f"{path}.grade"), ceiling, f"{path}.grade")
    if fcuk == 0:
        raise RuleInputError(f"{path}.grade", "C0 is not a strength grade: fcu,k must be > 0")
    raw_values = batch.get("values")
    if not isinstance(raw_values, Sequence) or isinstance(raw_values, str) or not raw_values:
        raise RuleInputError(f"{path}.values", "at least one strength value is required")
    values = [
        _plausible(_dec(v, where, positive=True), ceiling, where)
        for where, v in ((f"{path}.values.{i}", v) for i, v in enumerate(raw_values))
    ]
    n = len(values)
    has_sigma = batch.get("sigma0") is not None or batch.get("sigma0_history")
    # the group count that picks the method is the configured one (§5.1.3 / §5.2: 10), as
    # the methods themselves check it: a fixed 10 here sent a batch the district's
    # thresholds give to the non-statistical method to the statistical one, which refused it
    statistical_from = conf["statistical"]["min_groups"]
    method = batch.get("method") or (
        "known_sigma"
        if has_sigma
        else "statistical"
        if n >= statistical_from
        else "non_statistical"
    )
    if method not in METHODS:
        raise RuleInputError(f"{path}.method", f"must be one of {', '.join(METHODS)}")
    prec = conf["precision"]
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        mean = _round(sum(values, Decimal(0)) / n, prec["mean"])
    minimum = _round(min(values), prec["mean"])
    notes: list[str] = []
    std: Decimal | None = None
    computed: Decimal | None = None

    if method == "known_sigma":
        ks = conf["known_sigma"]
        if n != ks["batch_size"]:
            raise RuleInputError(
                f"{path}.values",
                f"the known-σ0 method takes a batch of exactly {ks['batch_size']} groups, got {n}",
            )
        if batch.get("sigma0") is not None:
            sigma0 = _dec(batch["sigma0"], f"{path}.sigma0", positive=True)
            computed = _round(_plausible(sigma0, ceiling, f"{path}.sigma0"), prec["std"])
        else:
            history = batch.get("sigma0_history")
            if not isinstance(history, Sequence) or isinstance(history, str):
                raise RuleInputError(f"{path}.sigma0", "σ0 or its history is required")
            if len(history) < ks["sigma_history_min_groups"]:
                raise RuleInputError(
                    f"{path}.sigma0_history",
                    f"σ0 needs ≥ {ks['sigma_history_min_groups']} groups, got {len(history)}",
                )
            hist = [
                _plausible(_dec(v, where, positive=True), ceiling, where)
                for where, v in ((f"{path}.sigma0_history.{i}", v) for i, v in enumerate(history))
            ]
            computed = _round(sample_std(hist), prec["std"])
        floor = Decimal(ks["sigma_floor"])
        std = max(computed, floor)
        if std != computed:
            notes.append(f"σ0 {_fmt(computed)} < {_fmt(floor)}: {_fmt(floor)} used")
        k_mean, k_min = Decimal(ks["mean_factor"]), Decimal(ks["min_factor"])
        low = fcuk <= Decimal(ks["low_grade_max_fcuk"])
        ratio = Decimal(ks["min_ratio_low_grade"] if low else ks["min_ratio_high_grade"])
        checks = (
            Check("mean", f"mfcu ≥ fcu,k + {k_mean}σ0", mean, fcuk + k_mean * std),
            Check("min", f"fcu,min ≥ fcu,k − {k_min}σ0", minimum, fcuk - k_min * std),
            Check("min_ratio", f"fcu,min ≥ {ratio}·fcu,k", minimum, ratio * fcuk),
        )
        clause = ks["clause"]
    elif method == "statistical":
        st = conf["statistical"]
        if n < st["min_groups"]:
            raise RuleInputError(
                f"{path}.values",
                f"the statistical method needs ≥ {st['min_groups']} groups, got {n}",
            )
        computed = _round(sample_std(values), prec["std"])
        floor = Decimal(st["s_floor"])
        std = max(computed, floor)
        if std != computed:
            notes.append(f"Sfcu {_fmt(computed)} < {_fmt(floor)}: {_fmt(floor)} used")
        lam1 = _band(st["lambda1"], n, f"{path}.values")
        lam2 = _band(st["lambda2"], n, f"{path}.values")
        checks = (
            Check("mean", f"mfcu ≥ fcu,k + {lam1}·Sfcu", mean, fcuk + lam1 * std),
            Check("min", f"fcu,min ≥ {lam2}·fcu,k", minimum, lam2 * fcuk),
        )
        clause = st["clause"]
    else:
        ns = conf["non_statistical"]
        if n > ns["max_groups"]:
            raise RuleInputError(
                f"{path}.method",
                f"{n} groups: batches of ≥ {ns['max_groups'] + 1} must use the statistical method",
            )
        high = fcuk >= Decimal(ns["lambda3_switch_fcuk"])
        lam3 = Decimal(ns["lambda3_c60_and_above"] if high else ns["lambda3_below_c60"])
        lam4 = Decimal(ns["lambda4"])
        checks = (
            Check("mean", f"mfcu ≥ {lam3}·fcu,k", mean, lam3 * fcuk),
            Check("min", f"fcu,min ≥ {lam4}·fcu,k", minimum, lam4 * fcuk),
        )
        clause = ns["clause"]
    return ConcreteVerdict(
        path=path,
        batch_no=str(batch.get("batch_no") or path),
        grade=f"C{_fmt(fcuk)}",
        fcuk=fcuk,
        method=method,
        n=n,
        mean=mean,
        minimum=minimum,
        std=std,
        std_computed=computed,
        checks=checks,
        clause=f"{GB_T_50107} {clause}",
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- completion


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, fell back to Mon–Fri).

    Uses ``chinese_calendar`` (statutory holidays and adjusted weekends); for years it
    does not know it raises ``NotImplementedError`` and we fall back to Monday–Friday.
    """
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        return day.weekday() < 5, True


def notice_deadline(acceptance: dt.date, working_days: int) -> tuple[dt.date, bool]:
    """The latest date to notify the supervision station: the ``working_days``-th working
    day counted back from the acceptance date (the acceptance day itself not counted).

    Returns (deadline, whether any day needed the Mon–Fri fallback).
    """
    day, counted, fallback = acceptance, 0, False
    while counted < working_days:
        day -= dt.timedelta(days=1)
        work, fell_back = is_working_day(day)
        fallback |= fell_back
        counted += work
    return day, fallback


def _as_date(value: Any, field_: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise RuleInputError(field_, f"not a date: {value!r}")


@dataclass
class _Part:
    """Items and findings one part of the payload contributes, and whether it fails it."""

    items: list[ItemJudgement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    hard_fail: bool = False


def _finding(code: str, severity: Mapping[str, str], zh: str, en: str, basis: str) -> Finding:
    return Finding(code, severity[code], zh, en, basis)  # type: ignore[arg-type]


def evaluate_completion(
    completion: Mapping[str, Any],
    thresholds: Mapping[str, Any] | None = None,
    inspected_on: dt.date | None = None,
) -> _Part:
    """Completion acceptance: conditions met, notice in time, filing in time, as found on
    ``inspected_on`` (the inspection date, when known).

    A date after the inspection is refused (an acceptance, notice or filing not yet made
    cannot be judged: an acceptance "in 2099" escaped the late-filing rule), and so is an
    acceptance before ``completion.earliest_acceptance``, before the rules judged here were
    in force (year 1 also overflowed the date arithmetic, a 502).
    """
    th = thresholds or _default_thresholds()
    conf, severity = th["completion"], th["severity"]
    part = _Part()
    acceptance = _as_date(completion.get("acceptance_date"), "completion.acceptance_date")
    earliest = _as_date(conf["earliest_acceptance"], "config.completion.earliest_acceptance")
    if acceptance < earliest:
        raise RuleInputError(
            "completion.acceptance_date",
            f"before {earliest.isoformat()}, when the completion rules judged here took effect",
        )
    dates = {"acceptance_date": acceptance}
    for name in ("notice_date", "filing_date"):
        if completion.get(name) is not None:
            dates[name] = _as_date(completion[name], f"completion.{name}")
    for name, day in dates.items() if inspected_on is not None else ():
        if day > inspected_on:
            raise RuleInputError(
                f"completion.{name}",
                f"after the inspection date ({inspected_on.isoformat()}): "
                "what has not happened yet cannot be judged",
            )

    conditions = completion.get("conditions") or {}
    if not isinstance(conditions, Mapping):
        raise RuleInputError("completion.conditions", "expected a mapping of condition → bool")
    known = {c["code"]: c for c in conf["conditions"]}
    for code in conditions:
        if code not in known:
            raise RuleInputError(f"completion.conditions.{code}", "unknown condition")
    for code, cond in known.items():
        met = conditions.get(code)
        if met is None:
            if cond["required"]:
                raise RuleInputError(f"completion.conditions.{code}", "required (true or false)")
            continue
        if not isinstance(met, bool):
            raise RuleInputError(f"completion.conditions.{code}", "true or false is required")
        part.items.append(
            ItemJudgement(
                item=f"completion.conditions.{code}",
                passed=met,
                rule="竣工验收条件 / completion acceptance condition",
                standard=cond["basis"],
                measured="是" if met else "否",
                message_zh=f"{cond['name_zh']}：{'具备' if met else '不具备'}",
                message_en=f"{cond['name_en']}: {'met' if met else 'not met'}",
            )
        )
        if not met:
            part.hard_fail = True
            part.findings.append(
                _finding(
                    "construction.completion_condition_unmet",
                    severity,
                    f"不具备竣工验收条件：{cond['name_zh']}",
                    f"completion condition not met: {cond['name_en']}",
                    cond["basis"],
                )
            )

    days = int(conf["notice_working_days"])
    notice_raw = completion.get("notice_date")
    if notice_raw is None:
        raise RuleInputError("completion.notice_date", "required")
    notice = _as_date(notice_raw, "completion.notice_date")
    deadline, fallback = notice_deadline(acceptance, days)
    fb_zh = "（部分日期超出节假日日历范围，按周一至周五计工作日）" if fallback else ""
    fb_en = " (holiday calendar unavailable for some dates: Mon–Fri used)" if fallback else ""
    on_time = notice <= deadline
    part.items.append(
        ItemJudgement(
            item="completion.notice_date",
            passed=on_time,
            rule=f"notice ≥ {days} working days before acceptance",
            standard=conf["notice_basis"],
            measured=notice.isoformat(),
            limit=f"≤ {deadline.isoformat()}",
            message_zh=f"验收 {acceptance.isoformat()} 前 {days} 个工作日通知监督机构，"
            f"最迟 {deadline.isoformat()}，实际 {notice.isoformat()}{fb_zh}",
            message_en=f"notice due {days} working days before acceptance on "
            f"{acceptance.isoformat()}, i.e. by {deadline.isoformat()}; given "
            f"{notice.isoformat()}{fb_en}",
        )
    )
    if not on_time:
        part.findings.append(
            _finding(
                "construction.late_notice",
                severity,
                f"未在竣工验收 {days} 个工作日前书面通知质量监督机构{fb_zh}",
                f"supervision station not notified {days} working days before acceptance{fb_en}",
                conf["notice_basis"],
            )
        )

    limit_days = int(conf["filing_days"])
    try:
        due = acceptance + dt.timedelta(days=limit_days)
    except OverflowError:  # only without an inspection date to bound it
        raise RuleInputError("completion.acceptance_date", "out of range") from None
    filing_raw = completion.get("filing_date")
    if filing_raw is not None:
        filing = _as_date(filing_raw, "completion.filing_date")
        if filing < acceptance:
            raise RuleInputError("completion.filing_date", "filing cannot precede acceptance")
        late = filing > due
        measured = filing.isoformat()
        msg_zh = f"备案日期 {measured}，期限 {due.isoformat()}"
        msg_en = f"filed {measured}, due by {due.isoformat()}"
    elif inspected_on is not None and inspected_on > due:
        late = True
        measured = None
        msg_zh = f"截至 {inspected_on.isoformat()} 未备案，期限 {due.isoformat()} 已过"
        msg_en = f"not filed by {inspected_on.isoformat()}; due by {due.isoformat()}"
    else:
        late = False
        measured = None
        msg_zh = f"尚未备案，期限 {due.isoformat()} 未届满"
        msg_en = f"not yet filed; due by {due.isoformat()}"
    part.items.append(
        ItemJudgement(
            item="completion.filing_date",
            passed=not late,
            rule=f"filing ≤ {limit_days} calendar days after acceptance",
            standard=conf["filing_basis"],
            measured=measured,
            limit=f"≤ {due.isoformat()}",
            message_zh=msg_zh,
            message_en=msg_en,
        )
    )
    if late:
        part.findings.append(
            _finding(
                "construction.late_filing",
                severity,
                f"未在竣工验收合格之日起 {limit_days} 日内备案：{msg_zh}",
                f"not filed within {limit_days} days of acceptance: {msg_en}",
                conf["filing_basis"],
            )
        )
    return part


# --------------------------------------------------------------------------- whole result

CONCLUSIONS: dict[str, tuple[str, str]] = {
    "pass": ("合格", "Pass"),
    "rectify": ("责令整改", "Rectification required"),
    "fail": ("不合格", "Fail"),
}
PARTS = ("acceptance_tree", "concrete_batches", "completion", "problems")


def _acceptance_part(tree: Mapping[str, Any], th: Mapping[str, Any]) -> _Part:
    part = _Part()
    root = evaluate_acceptance(tree, th)
    severity = th["severity"]
    for node in root.walk():
        zh_level, en_level = LEVELS[node.level]
        own = [r for r in node.reasons if r.code is not None]
        part.items.append(
            ItemJudgement(
                item=node.path,
                passed=node.passed,
                rule=f"{zh_level}质量验收 / {en_level} acceptance",
                standard=GB_50300,
                message_zh=f"{zh_level}「{node.name}」："
                + ("合格" if node.passed else "；".join(r.message_zh for r in node.reasons)),
                message_en=f"{en_level} '{node.name}': "
                + ("accepted" if node.passed else "; ".join(r.message_en for r in node.reasons)),
            )
        )
        for reason in own:
            assert reason.code is not None
            part.findings.append(
                _finding(
                    reason.code,
                    severity,
                    f"{zh_level}「{node.name}」{reason.message_zh}",
                    f"{en_level} '{node.name}': {reason.message_en}",
                    reason.basis,
                )
            )
    part.hard_fail = not root.passed
    return part


def _concrete_part(batches: Sequence[Mapping[str, Any]], th: Mapping[str, Any]) -> _Part:
    part = _Part()
    for i, batch in enumerate(batches):
        if not isinstance(batch, Mapping):
            raise RuleInputError(f"concrete_batches.{i}", "expected a mapping")
        verdict = evaluate_concrete_batch(batch, th, f"concrete_batches.{i}")
        zh_method, en_method = METHODS[verdict.method]
        notes = f" ({'; '.join(verdict.notes)})" if verdict.notes else ""
        for check in verdict.checks:
            part.items.append(
                ItemJudgement(
                    item=f"{verdict.path}.{check.name}",
                    passed=check.passed,
                    rule=f"{en_method}: {check.formula}",
                    standard=verdict.clause,
                    measured=_fmt(check.measured),
                    limit=f"≥ {_fmt(check.required)}",
                    unit="N/mm²",
                    message_zh=f"{verdict.batch_no} {verdict.grade} {zh_method}（n={verdict.n}）"
                    f"：{check.formula}，{_fmt(check.measured)} "
                    f"{'≥' if check.passed else '<'} {_fmt(check.required)}{notes}",
                    message_en=f"{verdict.batch_no} {verdict.grade} {en_method} (n={verdict.n})"
                    f": {check.formula}, {_fmt(check.measured)} "
                    f"{'≥' if check.passed else '<'} {_fmt(check.required)}{notes}",
                )
            )
        if not verdict.passed:
            part.hard_fail = True
            part.findings.append(
                _finding(
                    "construction.concrete_batch_failed",
                    th["severity"],
                    f"混凝土强度检验批 {verdict.batch_no}（{verdict.grade}）评定不合格",
                    f"concrete strength batch {verdict.batch_no} ({verdict.grade}) not accepted",
                    verdict.clause,
                )
            )
    return part


def _problems_part(problems: Sequence[Mapping[str, Any]], th: Mapping[str, Any]) -> _Part:
    part = _Part()
    types = {t["code"]: t for t in th["problem_types"]}
    for i, problem in enumerate(problems):
        if not isinstance(problem, Mapping):
            raise RuleInputError(f"problems.{i}", "expected a mapping")
        kind = problem.get("type")
        if kind not in types:
            raise RuleInputError(f"problems.{i}.type", f"must be one of {', '.join(types)}")
        code = f"construction.problem.{kind}"
        severity = problem.get("severity") or th["severity"][code]
        if severity not in SEVERITIES:
            raise RuleInputError(
                f"problems.{i}.severity", f"must be one of {', '.join(SEVERITIES)}"
            )
        where = str(problem.get("location") or "")
        detail = str(problem.get("description") or "")
        part.findings.append(
            Finding(
                code,
                severity,  # type: ignore[arg-type]
                f"质量常见问题：{types[kind]['name_zh']}"
                + (f"，部位：{where}" if where else "")
                + (f"，{detail}" if detail else ""),
                f"common quality problem: {types[kind]['name_en']}"
                + (f", at {where}" if where else "")
                + (f", {detail}" if detail else ""),
                "质量常见问题防治 [M]",
            )
        )
        part.hard_fail |= severity == "critical"
    return part


def judge_result(
    payload: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    inspected_on: dt.date | None = None,
) -> Judgement:
    """Judge a construction result carrying any of the four parts.

    不合格 (fail) when the acceptance tree's root fails, a concrete batch fails, a required
    completion condition is unmet or any finding is critical; 责令整改 (rectify) when only
    major findings remain (late notice or filing, major common problems); else 合格, minor
    findings listed.
    """
    th = thresholds_with_overrides(config)
    if not any(payload.get(p) for p in PARTS):
        raise RuleInputError("acceptance_tree", f"at least one of {', '.join(PARTS)} is required")
    parts: list[_Part] = []
    if payload.get("acceptance_tree"):
        parts.append(_acceptance_part(payload["acceptance_tree"], th))
    if payload.get("concrete_batches"):
        parts.append(_concrete_part(payload["concrete_batches"], th))
    if payload.get("completion"):
        parts.append(evaluate_completion(payload["completion"], th, inspected_on))
    if payload.get("problems"):
        parts.append(_problems_part(payload["problems"], th))
    items = tuple(i for p in parts for i in p.items)
    findings = tuple(f for p in parts for f in p.findings)
    severities = {f.severity for f in findings}
    if any(p.hard_fail for p in parts) or "critical" in severities:
        code = "fail"
    elif "major" in severities:
        code = "rectify"
    else:
        code = "pass"
    zh, en = CONCLUSIONS[code]
    return Judgement(
        passed=code == "pass",
        conclusion=code,
        conclusion_zh=zh,
        conclusion_en=en,
        items=items,
        findings=findings,
    )


# --------------------------------------------------------------------------- risk factors


def _mapping(value: Any) -> Mapping[str, Any]:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value if isinstance(value, Mapping) else {}


def risk_factors(results: Sequence[Mapping[str, Any]], as_of: dt.date) -> list[RiskFactor]:
    """Construction risk factors from stored results recorded strictly before ``as_of``:
    share of results judged 不合格, failed concrete batches, late notices/filings, and
    common quality problems found."""
    judged = failed = concrete = procedural = problems = 0
    for result in results:
        recorded = result.get("recorded_on")
        if isinstance(recorded, str):
            recorded = dt.date.fromisoformat(recorded[:10])
        if isinstance(recorded, dt.datetime):
            recorded = recorded.date()
        if not isinstance(recorded, dt.date) or recorded >= as_of:
            continue
        judgement = _mapping(result.get("judgement"))
        if not judgement:
            continue
        judged += 1
        failed += judgement.get("conclusion") == "fail"
        for finding in judgement.get("findings") or ():
            code = str(_mapping(finding).get("code") or "")
            concrete += code == "construction.concrete_batch_failed"
            procedural += code in ("construction.late_notice", "construction.late_filing")
            problems += code.startswith("construction.problem.")
    return [
        RiskFactor(
            "construction_failed_rate",
            failed / judged if judged else 0.0,
            "历史检查不合格比例",
            "Share of past results judged non-compliant",
        ),
        RiskFactor(
            "construction_concrete_failures",
            float(concrete),
            "混凝土强度检验批不合格次数",
            "Concrete strength batches not accepted",
        ),
        RiskFactor(
            "construction_procedure_violations",
            float(procedural),
            "竣工验收通知或备案逾期次数",
            "Late completion notices or filings",
        ),
        RiskFactor(
            "construction_common_problems",
            float(problems),
            "质量常见问题发现次数",
            "Common quality problems found",
        ),
    ]
