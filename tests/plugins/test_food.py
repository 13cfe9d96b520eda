"""Food plugin: worked examples from GB 2762 / GB/T 8170, schema rejections, every hook."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inspect_core.hookspecs
import plugins.food
from inspect_core.plugin_api import Judgement, RuleInputError, ValidationError
from plugins.food import rules
from plugins.food.schemas import CHECKLIST, FoodResultSchema
from tests.plugins.helpers import as_stored, through

RECORDED = dt.date(2024, 3, 8)


@pytest.fixture()
def pm() -> pluggy.PluginManager:
    """A plugin manager holding the core hookspecs and only the food plugin."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    manager.register(plugins.food)
    return manager


def sample(*items: dict[str, Any], category: str = "cereal.rice.milled") -> dict[str, Any]:
    """A raw (JSON-shaped) food payload with the given test items."""
    return {
        "sample_no": "SC2024-0001",
        "food_name": "大米",
        "food_category": category,
        "batch": "20240301",
        "sampling_date": "2024-03-05",
        "stage": "circulation",
        "items": list(items),
    }


def cd(value: Any, unit: str = "mg/kg", **extra: Any) -> dict[str, Any]:
    """A cadmium test item."""
    return {"item": "Cd", "value": value, "unit": unit, **extra}


def judge(
    pm: pluggy.PluginManager, raw: dict[str, Any], config: dict[str, Any] | None = None
) -> Judgement:
    """Validate ``raw`` with the plugin's schema, then judge it through the hook."""
    schema = pm.hook.inspect_payload_schema(sector="food")
    payload = schema().load(raw)
    context = {"recorded_on": RECORDED, "uscc": "x", "sectors": ["food"], "config": config or {}}
    return pm.hook.inspect_judge(sector="food", payload=payload, context=context)


# --------------------------------------------------------------------------- worked examples


@pytest.mark.parametrize(
    ("item", "passed", "measured"),
    [
        (cd("0.15"), True, "0.15 (→ 0.2)"),  # 0.15: 5 after odd 1 → 0.2 ≤ 0.2
        (cd("150", "μg/kg"), True, "0.150 (→ 0.2)"),  # 150 μg/kg = 0.150 mg/kg
        (cd("150", "ug/kg"), True, "0.150 (→ 0.2)"),
        (cd("150", "\u00b5g/kg"), True, "0.150 (→ 0.2)"),  # micro sign, not Greek mu
        (cd(None, qualifier="ND", lod="0.01"), True, "ND (LOD 0.01)"),
        (cd("0.204"), True, "0.204 (→ 0.2)"),  # dropped 04 < 5
        (cd("0.26"), False, "0.26 (→ 0.3)"),
        (cd("0.2501"), False, "0.2501 (→ 0.3)"),  # 5 followed by a non-zero digit carries
        (cd("0.3"), False, "0.3"),
    ],
)
def test_cadmium_in_rice_limit_0_2_rounded_comparison(
    pm: pluggy.PluginManager, item: dict[str, Any], passed: bool, measured: str
) -> None:
    """GB 2762-2022 表2: Cd in 大米 ≤ 0.2 mg/kg, value rounded per GB/T 8170 first
    (修约值比较法, chosen through config)."""
    verdict = judge(pm, sample(item), {"comparison_method": "rounded"})
    (judged,) = verdict.items
    assert judged.passed is passed
    assert judged.limit == "0.2" and judged.unit == "mg/kg"
    assert judged.measured == measured
    assert judged.standard.startswith("GB 2762-2022")
    assert verdict.conclusion == ("pass" if passed else "fail")
    assert (verdict.conclusion_zh, verdict.passed) == (
        ("合格", True) if passed else ("不合格", False)
    )
    if not passed:
        (finding,) = verdict.findings
        assert (finding.code, finding.severity) == ("food.limit_exceeded", "major")


@pytest.mark.parametrize(
    ("item", "passed"),
    [
        (cd("0.25"), False),
        (cd("0.15"), True),
        (cd("150", "μg/kg"), True),
        (cd(None, qualifier="ND", lod="0.01"), True),
        (cd("0.2"), True),
        (cd("0.2001"), False),
    ],
)
def test_cadmium_in_rice_issue_examples_by_default(
    pm: pluggy.PluginManager, item: dict[str, Any], passed: bool
) -> None:
    """The issue's worked examples under the default, 全数值比较法 (GB/T 8170-2008 §4.3.1):
    0.25 fails, 0.15 passes, 150 μg/kg passes, "ND, LOD 0.01" passes."""
    verdict = judge(pm, sample(item))
    assert verdict.passed is passed
    assert verdict.items[0].passed is passed
    if not passed:
        assert "全数值比较法" in verdict.items[0].rule


def test_0_25_rounds_half_to_even_so_passes_under_rounded_comparison(
    pm: pluggy.PluginManager,
) -> None:
    """0.25 to one decimal: the dropped 5 stands alone and 2 is even → 0.2 ≤ 0.2 (GB/T 8170
    §3.3.3), so under 修约值比较法 0.25 passes — why it is not the default."""
    (item,) = judge(pm, sample(cd("0.25")), {"comparison_method": "rounded"}).items
    assert item.passed and item.measured == "0.25 (→ 0.2)"


def test_0_35_rounds_up_after_odd_digit(pm: pluggy.PluginManager) -> None:
    """Pb in 叶菜 ≤ 0.3: 0.35 → 0.4 (5 after odd 3 carries) → fails; 0.34 → 0.3 passes."""
    verdict = judge(
        pm,
        sample(
            {"item": "Pb", "value": "0.35", "unit": "mg/kg"},
            {"item": "Pb", "value": "0.34", "unit": "mg/kg"},
            category="veg.leafy.spinach",
        ),
        {"comparison_method": "rounded"},
    )
    assert [i.passed for i in verdict.items] == [False, True]
    assert verdict.items[0].measured == "0.35 (→ 0.4)"


@pytest.mark.parametrize(
    ("value", "exponent", "expected"),
    [  # the examples GB/T 8170-2008 §3.3 gives
        ("12.1498", -1, "12.1"),
        ("1268", 2, "1.3E+3"),
        ("10.5002", 0, "11"),
        ("1.050", -1, "1.0"),
        ("0.35", -1, "0.4"),
        ("2500", 3, "2E+3"),
        ("3500", 3, "4E+3"),
        ("28.175", -2, "28.18"),
        ("28.165", -2, "28.16"),
        ("8.53459", -2, "8.53"),  # one rounding, never 8.5346 → 8.535 → 8.54
    ],
)
def test_round_gbt8170_examples(value: str, exponent: int, expected: str) -> None:
    """四舍六入五考虑 on the exact Decimal."""
    assert rules.round_gbt8170(Decimal(value), exponent) == Decimal(expected)


def test_round_gbt8170_huge_value_does_not_overflow_context() -> None:
    """A very large value still rounds (the context precision grows with it)."""
    assert rules.round_gbt8170(Decimal("1E+40"), -2) == Decimal("1E+40")


def test_nd_with_lod_above_limit_cannot_be_judged(pm: pluggy.PluginManager) -> None:
    """ND with LOD 0.3 > limit 0.2: the method could not see an exceedance, so nothing is
    proven either way → 无法判定 (not passed), a minor finding asking for a re-test."""
    verdict = judge(pm, sample(cd(None, qualifier="ND", lod="0.3")))
    assert (verdict.passed, verdict.conclusion, verdict.conclusion_zh) == (
        False,
        "indeterminate",
        "无法判定",
    )
    (finding,) = verdict.findings
    assert (finding.code, finding.severity) == ("food.method_not_fit", "minor")
    assert "检出限 0.3 高于限量 0.2" in verdict.items[0].message_zh


def test_nd_with_lod_above_limit_fails_when_configured(pm: pluggy.PluginManager) -> None:
    """A district may choose to treat an unfit method as 不合格."""
    verdict = judge(
        pm,
        sample(cd(None, qualifier="ND", lod="300", unit="μg/kg")),
        {"nd_lod_above_limit": "fail"},
    )
    assert verdict.conclusion == "fail"


def test_a_value_below_an_lod_above_the_limit_is_no_pass(pm: pluggy.PluginManager) -> None:
    """A reading under the method's LOD is a non-detect, held to the ND rule (DOMAIN.md §3:
    ND passes only if LOD ≤ limit): "0.1" with an LOD of 0.5 passed Cd ≤ 0.2 in rice where
    "ND (LOD 0.5)" could not be judged.  Under an LOD at or below the limit it still passes."""
    verdict = judge(pm, sample(cd("0.1", lod="0.5")))
    assert (verdict.passed, verdict.conclusion) == (False, "indeterminate")
    (finding,) = verdict.findings
    assert (finding.code, finding.severity) == ("food.method_not_fit", "minor")
    assert verdict.items[0].measured == "0.1 (< LOD 0.5)"
    assert "检出限 0.5" in verdict.items[0].message_zh
    in_ug = sample(cd("100", unit="μg/kg", lod="500"))
    assert judge(pm, in_ug, {"nd_lod_above_limit": "fail"}).conclusion == "fail"
    assert judge(pm, sample(cd("0.1", lod="0.2"))).passed
    assert judge(pm, sample(cd("0.6", lod="0.5"))).conclusion == "fail"  # detected, over


def test_less_than_qualifier(pm: pluggy.PluginManager) -> None:
    """'<0.1' ≤ limit 0.2 passes; '<0.5' cannot show compliance."""
    verdict = judge(pm, sample(cd("0.1", qualifier="<"), cd("0.5", qualifier="<")))
    assert [i.passed for i in verdict.items] == [True, False]
    assert verdict.conclusion == "indeterminate"


def fish(*items: dict[str, Any]) -> dict[str, Any]:
    """A payload for a fish sample."""
    raw = sample(*items, category="aquatic.fish")
    raw["food_name"] = "鲈鱼"
    return raw


def test_a_banned_value_below_its_own_lod_or_an_loq_below_the_lod_is_refused(
    pm: pluggy.PluginManager,
) -> None:
    """The LOD is the inspector's to give: "500 μg/kg" of malachite green with an LOD of
    1000 passed as "below the LOD: not detected", where with an LOD of 0.5 it is a critical
    failure.  A number for a banned substance must be a detection (≥ LOD) or the result
    is ND; and no method's LOQ lies below its LOD.  Both are 422s naming the field."""
    cases = (
        ({"value": "500", "lod": "1000"}, "items.0.value",
         "500 is below the LOD (1000) given for it: a banned substance is either detected "
         "(a value at or above the LOD) or reported ND"),
        ({"value": "0.3", "lod": "0.5"}, "items.0.value", None),
        ({"value": "2.1", "lod": "1", "loq": "0.1"}, "items.0.loq",
         "0.1 is below the LOD (1): no method quantifies what it cannot detect"),
    )  # fmt: skip
    for item, field, message in cases:
        with pytest.raises(RuleInputError) as err:
            judge(pm, fish({"item": "malachite_green", "unit": "μg/kg", **item}))
        assert err.value.field == field
        assert message is None or err.value.message == message
    # a contaminant with a maximum keeps reading a value under the LOD as below the limit
    rice = sample({"item": "Cd", "value": "0.001", "unit": "mg/kg", "lod": "0.002"})
    assert judge(pm, rice).passed


@pytest.mark.parametrize(
    ("item", "passed"),
    [
        ({"value": "0.5", "lod": "0.5"}, False),  # at the LOD: detected
        ({"value": "2.1", "lod": "0.5"}, False),
        ({"value": None, "qualifier": "ND", "lod": "0.5"}, True),
        ({"value": "0.3", "qualifier": "<", "lod": "0.5"}, True),  # below the LOD
    ],
)
def test_malachite_green_must_not_be_detected(
    pm: pluggy.PluginManager, item: dict[str, Any], passed: bool
) -> None:
    """孔雀石绿 in aquatic products is banned (农业农村部公告第250号): fails at value ≥ LOD."""
    verdict = judge(pm, fish({"item": "malachite_green", "unit": "μg/kg", **item}))
    assert verdict.passed is passed
    assert verdict.items[0].limit == "不得检出"
    if not passed:
        (finding,) = verdict.findings
        assert (finding.code, finding.severity) == ("food.banned_detected", "critical")
        assert "第250号" in finding.basis
        assert verdict.facts == (("food_banned_hits", 1.0),)  # what scoring remembers
    else:
        assert verdict.facts == ()


def test_banned_threshold_can_be_loq(pm: pluggy.PluginManager) -> None:
    """Where the method says so, detection means ≥ LOQ: 0.8 with LOQ 1.0 passes."""
    item = {"item": "malachite_green", "unit": "μg/kg", "value": "0.8", "lod": "0.3", "loq": "1.0"}
    assert not judge(pm, fish(item)).passed
    assert judge(pm, fish(item), {"banned_threshold": "loq"}).passed


def test_banned_substance_needs_its_threshold(pm: pluggy.PluginManager) -> None:
    """A numeric result for a banned substance without LOD cannot be judged."""
    with pytest.raises(RuleInputError) as err:
        judge(pm, fish({"item": "malachite_green", "unit": "μg/kg", "value": "1.2"}))
    assert err.value.field == "items.0.lod"


def test_chloramphenicol_found_through_category_ancestor(pm: pluggy.PluginManager) -> None:
    """氯霉素 is listed for 肉及肉制品; a pork sample (meat.fresh) inherits it."""
    raw = sample(
        {"item": "chloramphenicol", "value": "0.2", "unit": "μg/kg", "lod": "0.1"},
        category="meat.fresh",
    )
    verdict = judge(pm, raw)
    assert verdict.conclusion == "fail" and verdict.findings[0].severity == "critical"


def test_pathogen_detected_is_critical(pm: pluggy.PluginManager) -> None:
    """沙门氏菌 in 熟肉制品 (GB 29921-2021, m = 0/25g)."""
    raw = sample({"item": "salmonella", "value": "1", "unit": "/25g"}, category="meat.cooked")
    verdict = judge(pm, raw)
    assert verdict.findings[0].code == "food.pathogen_detected"
    assert verdict.findings[0].severity == "critical"
    raw["items"][0] = {
        "item": "salmonella",
        "value": None,
        "qualifier": "ND",
        "unit": "/25g",
        "lod": "1",
    }
    assert judge(pm, raw).passed


def test_most_specific_category_wins(pm: pluggy.PluginManager) -> None:
    """Cd: 叶菜 0.2 for spinach, but 新鲜蔬菜 0.05 for a fruiting vegetable."""
    leafy = judge(pm, sample(cd("0.1"), category="veg.leafy.spinach"))
    fruiting = judge(pm, sample(cd("0.1"), category="veg.fruiting"))
    assert (leafy.items[0].limit, leafy.passed) == ("0.2", True)
    assert (fruiting.items[0].limit, fruiting.passed) == ("0.05", False)


def test_pesticide_limits_from_gb_2763(pm: pluggy.PluginManager) -> None:
    """腐霉利 in 韭菜 0.2; 67.8 mg/kg is the "338× over" case (DOMAIN.md S19)."""
    raw = sample(
        {"item": "procymidone", "value": "67.8", "unit": "mg/kg"},
        {"item": "carbofuran", "value": "0.02", "unit": "mg/kg"},
        category="veg.bulb.chives",
    )
    verdict = judge(pm, raw)
    assert [(i.limit, i.passed) for i in verdict.items] == [("0.2", False), ("0.02", True)]
    assert verdict.items[0].standard.startswith("GB 2763-2021")


def test_g_per_kg_limits_convert(pm: pluggy.PluginManager) -> None:
    """Benzoic acid in soy sauce ≤ 1.0 g/kg: 850 mg/kg = 0.85 g/kg → 0.8 (lone 5, even 8)."""
    raw = sample(
        {"item": "benzoic_acid", "value": "850", "unit": "mg/kg"}, category="condiment.soy_sauce"
    )
    verdict = judge(pm, raw, {"comparison_method": "rounded"})
    assert verdict.passed and verdict.items[0].measured == "0.85 (→ 0.8)"
    assert judge(pm, raw).items[0].measured == "0.85"  # unrounded under the default


def test_overall_fails_when_one_item_fails(pm: pluggy.PluginManager) -> None:
    """Several items: one failure makes the sample 不合格, findings list only the failure."""
    raw = sample(cd("0.1"), {"item": "Pb", "value": "0.5", "unit": "mg/kg"}, cd("0.05"))
    verdict = judge(pm, raw)
    assert verdict.conclusion == "fail"
    assert [i.passed for i in verdict.items] == [True, False, True]
    assert len(verdict.findings) == 1 and verdict.findings[0].message_en.startswith("Lead")


def test_severity_mapping_is_configurable(pm: pluggy.PluginManager) -> None:
    """The failure-kind → severity table is data; a district may raise exceedances."""
    verdict = judge(pm, sample(cd("0.3")), {"severity": {"max": "critical"}})
    assert verdict.findings[0].severity == "critical"
    with pytest.raises(RuleInputError) as err:
        judge(pm, sample(cd("0.3")), {"severity": {"max": "fatal"}})
    assert err.value.field == "config.severity.max"


def test_limit_override_from_config(pm: pluggy.PluginManager) -> None:
    """A stricter local limit replaces the national row for the same analyte × category."""
    override = {
        "analyte": "Cd",
        "category": "cereal.rice",
        "limit_type": "max",
        "limit": "0.10",
        "unit": "mg/kg",
        "standard": "DB 00/000-2024",
        "clause": "表1",
        "verified": "M",
    }
    verdict = judge(pm, sample(cd("0.15")), {"limits": [override]})
    assert not verdict.passed and verdict.items[0].standard == "DB 00/000-2024 表1"


def test_a_row_that_excludes_a_category_does_not_judge_it(pm: pluggy.PluginManager) -> None:
    """GB 2762 总砷 "谷物（稻谷除外）0.5": rice is limited by its inorganic arsenic only, so
    total arsenic in rice is not judged against that row (0.45 mg/kg passed it); wheat is."""
    rice = sample({"item": "As_total", "value": "0.45", "unit": "mg/kg"})
    with pytest.raises(RuleInputError) as err:
        judge(pm, rice)
    assert err.value.field == "items.0.item"
    assert rules.default_table().find("As_total", "cereal.rice.brown") is None
    wheat = judge(pm, sample({"item": "As_total", "value": "0.45", "unit": "mg/kg"},
                             category="cereal.wheat"))  # fmt: skip
    assert wheat.passed and wheat.items[0].limit == "0.5"
    assert (
        judge(pm, sample({"item": "As_inorganic", "value": "0.25", "unit": "mg/kg"})).conclusion
        == "fail"
    )
    bad = {"analyte": "As_total", "category": "cereal", "limit": "0.5", "unit": "mg/kg",
           "standard": "DB 00/000-2024", "excludes": "cereal.rice;rice_products"}  # fmt: skip
    with pytest.raises(RuleInputError) as err:
        judge(pm, sample(cd("0.1")), {"limits": [bad]})
    assert err.value.field == "config.limits.0.excludes"


def test_cited_standard_mismatch_is_noted(pm: pluggy.PluginManager) -> None:
    """A report citing another standard is judged under the table's, and says so."""
    verdict = judge(pm, sample(cd("0.1", standard="GB 2763-2021")))
    assert "GB 2763-2021" in verdict.items[0].message_en


# --------------------------------------------------------------------------- rule errors


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (sample(cd("0.1", "mg/L")), "items.0.unit"),  # volume basis: needs a density
        (sample(cd("0.1", "ppm")), "items.0.unit"),
        (sample(cd("0.1"), {"item": "Zz", "value": "1", "unit": "mg/kg"}), "items.1.item"),
        (sample(cd("0.1"), category="cereal.quinoa"), "food_category"),
        (sample({"item": "procymidone", "value": "0.1", "unit": "mg/kg"}), "items.0.item"),
        (sample(cd(None, "mg/L", qualifier="ND", lod="0.01")), "items.0.unit"),
    ],
)
def test_unjudgeable_payload_names_the_field(
    pm: pluggy.PluginManager, raw: dict[str, Any], field: str
) -> None:
    """Unknown/unconvertible units, unknown analytes or categories, and analytes without a
    limit for the category raise RuleInputError naming the payload field."""
    with pytest.raises(RuleInputError) as err:
        judge(pm, raw)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (cd("1000001"), "items.0.value"),
        (cd("1E+1000"), "items.0.value"),
        (cd("1000.5", "g/kg"), "items.0.value"),
        (cd("1000000001", "μg/kg"), "items.0.value"),
        (cd(None, qualifier="ND", lod="2000000"), "items.0.lod"),
        (cd("<", qualifier="<", lod="0.01", loq="5E+6"), "items.0.loq"),
    ],
)
def test_a_mass_fraction_above_the_whole_sample_is_refused(
    pm: pluggy.PluginManager, item: dict[str, Any], field: str
) -> None:
    """A value past 1,000,000 mg/kg (more cadmium than rice) was judged a failed check,
    which then stood in the enterprise's credit record: a misplaced decimal point or a
    wrong unit is refused naming the field, in any unit of mass fraction."""
    if item.get("qualifier") == "<":
        item = {**item, "value": "0.01"}
    with pytest.raises(RuleInputError) as err:
        judge(pm, sample(item))
    assert err.value.field == field
    assert "more than the whole sample (1000000 mg/kg)" in err.value.message


@pytest.mark.parametrize(
    "item",
    [
        cd("1000000.00000000000000000000000000001"),
        cd("1000.00000000000000000000000000000001", "g/kg"),
        cd("1000000000.00000000000000000000000000001", "μg/kg"),
    ],
)
def test_just_above_the_whole_sample_is_refused_in_every_unit(
    pm: pluggy.PluginManager, item: dict[str, Any]
) -> None:
    """The same amount, a hair above 1,000,000 mg/kg, is refused whatever mass-fraction
    unit it is written in: converting g/kg or μg/kg to mg/kg in 28 digits rounded it down
    to the bound itself, so it was judged (a failed check) where mg/kg was refused."""
    with pytest.raises(RuleInputError) as err:
        judge(pm, sample(item))
    assert err.value.field == "items.0.value"


@pytest.mark.parametrize("item", [cd("1000000"), cd("1000", "g/kg"), cd("1E+9", "μg/kg")])
def test_the_whole_sample_is_still_judged(pm: pluggy.PluginManager, item: dict[str, Any]) -> None:
    """The bound is the whole sample, not a plausibility guess: 1,000,000 mg/kg is
    judged (a fail).  A mass concentration has no bound without the sample's density
    (honey holds over 1,000 g/L of sugar), nor has a count per 25 g."""
    assert judge(pm, sample(item)).passed is False
    for unit in ("mg/L", "g/L", "/25g"):
        rules._within_the_sample(Decimal("1E+12"), unit, "items.0.value")


def test_rules_refuse_bad_options() -> None:
    """Option values outside their choices are refused, naming the config key."""
    with pytest.raises(RuleInputError) as err:
        rules.judge_sample(sample(cd("0.1")), {"comparison_method": "approx"})
    assert err.value.field == "config.comparison_method"


def test_rules_coerce_stored_json_values() -> None:
    """A payload re-read from JSON (strings, ints) judges the same as a loaded one."""
    raw = sample(cd("0.15"), cd(0), cd(None, qualifier="ND", lod=0.01))
    assert rules.judge_sample(raw).passed
    with pytest.raises(RuleInputError) as err:
        rules.judge_sample(sample(cd("-1")))
    assert err.value.field == "items.0.value"


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"items": [cd("-0.1")]}, ("items", 0, "value")),
        ({"items": [cd("abc")]}, ("items", 0, "value")),
        ({"items": [cd("NaN")]}, ("items", 0, "value")),
        ({"items": [cd("0.1", qualifier="~")]}, ("items", 0, "qualifier")),
        ({"items": [cd("0.1", qualifier="ND", lod="0.01")]}, ("items", 0, "value")),
        ({"items": [cd(None, qualifier="ND")]}, ("items", 0, "lod")),
        ({"items": [cd(None)]}, ("items", 0, "value")),
        ({"items": [cd("0.1", lod="-0.01")]}, ("items", 0, "lod")),
        ({"items": [cd("0.1", colour="red")]}, ("items", 0, "colour")),
        ({"items": []}, ("items",)),
        ({"stage": "farm"}, ("stage",)),
        ({"sampling_date": "05/03/2024"}, ("sampling_date",)),
        ({"risk_score": 9}, ("risk_score",)),
        (
            {"business_risk": {"static_score": "41", "dynamic_score": "0"}},
            ("business_risk", "static_score"),
        ),
    ],
)
def test_schema_rejects_bad_payloads(patch: dict[str, Any], path: tuple[Any, ...]) -> None:
    """Bad values are refused with the offending field named."""
    raw = {**sample(cd("0.1")), **patch}
    with pytest.raises(ValidationError) as err:
        FoodResultSchema().load(raw)
    messages: Any = err.value.messages
    for key in path:
        messages = messages[key]
    assert messages


def test_schema_missing_required_fields() -> None:
    """Every required sample field is named when absent."""
    with pytest.raises(ValidationError) as err:
        FoodResultSchema().load({})
    assert set(err.value.messages) == {
        "sample_no",
        "food_name",
        "food_category",
        "sampling_date",
        "stage",
        "items",
    }


def test_schema_keeps_decimals_exact() -> None:
    """A JSON float 0.1 loads as Decimal('0.1'), and dumps back as a string."""
    loaded = FoodResultSchema().load(sample(cd(0.1)))
    assert loaded["items"][0]["value"] == Decimal("0.1")
    assert FoodResultSchema().dump(loaded)["items"][0]["value"] == "0.1"


# --------------------------------------------------------------------------- data tables


def test_limits_table_content() -> None:
    """≥ 30 real rows; every row names a standard and a verified flag; codes resolve."""
    table = rules.default_table()
    assert len(table.limits) >= 30
    for (analyte, category), row in table.limits.items():
        assert analyte in table.analytes and category in table.categories
        assert row.standard and row.verified in {"S", "M"}
        assert (row.limit is None) == (row.limit_type != "max")
    for code, cat in table.categories.items():
        assert cat.name_zh and cat.name_en
        assert cat.parent is None or cat.parent in table.categories
        assert table.lineage(code)[-1] == "all"
    assert all(a.name_zh and a.name_en for a in table.analytes.values())
    expected = {
        ("procymidone", "veg.bulb.chives"): "0.2",
        ("carbofuran", "veg"): "0.02",
        ("chlorpyrifos", "cereal.rice.paddy"): "0.5",
        ("Cd", "cereal.rice"): "0.2",
    }
    for key, limit in expected.items():
        assert str(table.limits[key].limit) == limit
    assert table.limits[("malachite_green", "aquatic")].limit_type == "banned"
    assert table.limits[("procymidone", "veg.bulb.chives")].verified == "S"


@pytest.mark.parametrize(
    ("unit", "canonical"),
    [
        ("mg/kg", "mg/kg"),
        ("ug/kg", "μg/kg"),
        ("µg/kg", "μg/kg"),
        ("MG/L", "mg/L"),
        ("μg/l", "μg/L"),
        ("g/kg", "g/kg"),
    ],
)
def test_unit_aliases(unit: str, canonical: str) -> None:
    """μg spelt ug or with the micro sign, litres in any case."""
    assert rules.canonical_unit(unit, "u") == canonical


def test_convert_exact() -> None:
    """Conversions are exact Decimal arithmetic."""
    assert rules.convert(Decimal("150"), "μg/kg", "mg/kg", "u") == Decimal("0.150")
    assert rules.convert(Decimal("0.075"), "g/kg", "mg/kg", "u") == Decimal("75")
    assert rules.convert(Decimal("2"), "mg/L", "μg/L", "u") == Decimal("2000")


# --------------------------------------------------------------------------- risk grading


@pytest.mark.parametrize(
    ("static", "dynamic", "grade"),
    [
        ("0", "0", "A"),
        ("20", "10", "A"),  # 30: upper bound inclusive
        ("20", "10.5", "B"),
        ("25", "20", "B"),  # 45
        ("25", "20.5", "C"),
        ("30", "30", "C"),  # 60
        ("30", "30.5", "D"),
        ("40", "60", "D"),
    ],
)
def test_business_risk_grade(static: str, dynamic: str, grade: str) -> None:
    """CFDA 2016 试行: ≤30 A, ≤45 B, ≤60 C, >60 D."""
    assert rules.business_risk_grade(static, dynamic) == grade


def test_business_risk_grade_rejects_out_of_range() -> None:
    """Static scores stop at 40 and dynamic at 60."""
    with pytest.raises(RuleInputError) as err:
        rules.business_risk_grade("41", "0")
    assert err.value.field == "business_risk.static_score"
    with pytest.raises(RuleInputError) as err:
        rules.business_risk_grade("0", "-1")
    assert err.value.field == "business_risk.dynamic_score"


def test_inspections_per_year() -> None:
    """A ≥1, B 1–2, C 2–3, D 3–4."""
    assert [rules.inspections_per_year(g) for g in "ABCD"] == [(1, None), (1, 2), (2, 3), (3, 4)]
    with pytest.raises(RuleInputError):
        rules.inspections_per_year("E")


# --------------------------------------------------------------------------- hooks


def test_sectors_hook(pm: pluggy.PluginManager) -> None:
    """One sector, bilingual, versioned, with its qualification."""
    (declared,) = pm.hook.inspect_sectors()
    (sector,) = declared
    assert (sector.code, sector.name_zh, sector.name_en) == ("food", "食品", "Food")
    assert sector.version == plugins.food.__version__


def test_hooks_answer_none_for_other_sectors(pm: pluggy.PluginManager) -> None:
    """Every sector-taking hook leaves other sectors to other plugins."""
    hook = pm.hook
    assert hook.inspect_payload_schema(sector="drugs") is None
    assert hook.inspect_checklist(sector="drugs") is None
    assert hook.inspect_judge(sector="drugs", payload={}, context={}) is None
    assert hook.inspect_risk_factors(sector="drugs", results=[], as_of=RECORDED) == []
    assert hook.inspect_required_qualification(sector="drugs") is None
    assert hook.inspect_template_columns(sector="drugs") is None
    assert hook.inspect_payload_from_row(sector="drugs", row={}) is None
    assert hook.inspect_row_from_payload(sector="drugs", payload={"items": []}) is None


def test_payload_schema_hook(pm: pluggy.PluginManager) -> None:
    """The schema class for food."""
    assert pm.hook.inspect_payload_schema(sector="food") is FoodResultSchema


def test_checklist_hook(pm: pluggy.PluginManager) -> None:
    """15–25 bilingual lines with unique codes, key items (重点项) marked."""
    checklist = pm.hook.inspect_checklist(sector="food")
    assert checklist is CHECKLIST
    assert 15 <= len(checklist) <= 25
    assert len({c.code for c in checklist}) == len(checklist)
    assert all(c.text_zh and c.text_en for c in checklist)
    keys = [c for c in checklist if c.key]
    assert 0 < len(keys) < len(checklist)


def test_required_qualification_hook(pm: pluggy.PluginManager) -> None:
    """Food tasks need the food qualification."""
    assert pm.hook.inspect_required_qualification(sector="food") == "food"


def test_judge_hook_raises_rule_input_error(pm: pluggy.PluginManager) -> None:
    """The hook lets RuleInputError through for the core to answer 422."""
    with pytest.raises(RuleInputError):
        pm.hook.inspect_judge(
            sector="food", payload=sample(cd("1", "kg")), context={"config": None}
        )


@pytest.mark.parametrize(
    ("sampling", "context", "reason"),
    [
        ("2024-03-09", {"recorded_on": RECORDED}, "after the inspection date (2024-03-08)"),
        ("2999-01-01", {"recorded_on": RECORDED}, "after the inspection date (2024-03-08)"),
        # the result's inspection day bounds it, not the later day it is recorded
        ("2024-03-06", {"recorded_on": RECORDED, "inspected_on": dt.date(2024, 3, 5)},
         "after the inspection date (2024-03-05)"),
        ("1900-01-01", {"recorded_on": RECORDED}, "before 2009-06-01"),
        ("2009-05-31", {}, "before 2009-06-01"),
    ],
)  # fmt: skip
def test_a_sampling_date_after_the_inspection_or_before_2009_is_refused(
    pm: pluggy.PluginManager, sampling: str, context: dict[str, Any], reason: str
) -> None:
    """A sample dated in 1900 or 2999 was judged and stored: it is taken on or before the
    inspection, and not before the Food Safety Law the limits stand under."""
    payload = FoodResultSchema().load({**sample(cd("0.1")), "sampling_date": sampling})
    with pytest.raises(RuleInputError) as err:
        pm.hook.inspect_judge(sector="food", payload=payload, context={**context, "config": {}})
    assert err.value.field == "sampling_date"
    assert err.value.message.startswith(reason)
    for day in ("2009-06-01", "2024-03-05"):
        payload = FoodResultSchema().load({**sample(cd("0.1")), "sampling_date": day})
        judged = pm.hook.inspect_judge(
            sector="food", payload=payload, context={**context, "config": {}}
        )
        assert judged.passed  # the floor and the inspection day themselves are judged


def test_template_columns_hook(pm: pluggy.PluginManager) -> None:
    """Unique English names, zh headers, examples that make a valid, judgeable row."""
    columns = pm.hook.inspect_template_columns(sector="food")
    names = [c.name for c in columns]
    assert len(set(names)) == len(names)
    assert {"sample_no", "food_category", "items.0.item", "items.2.standard"} <= set(names)
    assert all(c.header_zh for c in columns)
    row = {c.name: c.example for c in columns}
    payload = pm.hook.inspect_payload_from_row(sector="food", row=row)
    verdict = judge(pm, dict(payload))
    assert verdict.passed and [i.item for i in verdict.items] == ["Cd"]


def test_payload_from_row_hook(pm: pluggy.PluginManager) -> None:
    """Value cells 'ND'/'<x', zh stage names, spreadsheet types, blank groups dropped."""
    row = {
        "sample_no": 2024001,
        "food_name": " 大米 ",
        "food_category": "cereal.rice.milled",
        "batch": "",
        "sampling_date": dt.datetime(2024, 3, 5, 9, 30),
        "stage": "流通",
        "items.0.item": "Cd",
        "items.0.value": "未检出",
        "items.0.unit": "mg/kg",
        "items.0.lod": 0.01,
        "items.1.item": None,
        "items.1.value": None,
        "items.2.item": "Pb",
        "items.2.value": "<0.05",
        "items.2.unit": "mg/kg",
        "items.3.item": "Hg_total",
        "items.3.value": 0.012,
        "items.3.unit": "mg/kg",
        "items.3.qualifier": "",
    }
    payload = pm.hook.inspect_payload_from_row(sector="food", row=row)
    assert payload["sample_no"] == "2024001" and payload["food_name"] == "大米"
    assert payload["sampling_date"] == "2024-03-05" and payload["stage"] == "circulation"
    assert "batch" not in payload
    assert payload["items"] == [
        {"item": "Cd", "value": None, "qualifier": "ND", "unit": "mg/kg", "lod": "0.01"},
        {"item": "Pb", "value": "0.05", "qualifier": "<", "unit": "mg/kg"},
        {"item": "Hg_total", "value": "0.012", "unit": "mg/kg"},
    ]
    verdict = judge(pm, dict(payload))
    assert verdict.passed and len(verdict.items) == 3


def test_payload_from_row_passes_unknown_columns_to_the_schema(pm: pluggy.PluginManager) -> None:
    """A misspelt column is not silently dropped: the schema names it."""
    row = {c.name: c.example for c in pm.hook.inspect_template_columns(sector="food")}
    row["food_nmae"] = "大米"
    payload = pm.hook.inspect_payload_from_row(sector="food", row=row)
    with pytest.raises(ValidationError) as err:
        FoodResultSchema().load(payload)
    assert "food_nmae" in err.value.messages


def _stored(day: dt.date, raw: dict[str, Any]) -> dict[str, Any]:
    """A stored result as the core hands it to risk_factors (judgement as a mapping)."""
    return {"recorded_on": day, "payload": raw, "judgement": asdict(rules.judge_sample(raw))}


def test_risk_factors_hook(pm: pluggy.PluginManager) -> None:
    """Counts only results before as_of: failed rate, banned hits, exceedances, grade."""
    as_of = dt.date(2024, 6, 1)
    ok = sample(cd("0.1"))
    over = sample(cd("0.5"))
    banned = fish({"item": "malachite_green", "unit": "μg/kg", "value": "3", "lod": "0.5"})
    graded = sample(cd("0.1"))
    graded["business_risk"] = {"static_score": "30", "dynamic_score": "25"}  # 55 → C
    late = fish({"item": "malachite_green", "unit": "μg/kg", "value": "3", "lod": "0.5"})
    late["business_risk"] = {"static_score": "40", "dynamic_score": "60"}
    results = [
        _stored(dt.date(2024, 1, 10), ok),
        _stored(dt.date(2024, 2, 10), over),
        _stored(dt.date(2024, 3, 10), banned),
        _stored(dt.date(2024, 4, 10), graded),
        _stored(as_of, late),  # on as_of: must be ignored
        {**_stored(dt.date(2024, 7, 1), late), "recorded_on": "2024-07-01"},
    ]
    (factors,) = pm.hook.inspect_risk_factors(sector="food", results=results, as_of=as_of)
    values = {f.name: f.value for f in factors}
    assert values == {
        "food_failed_sample_rate": 0.5,
        "food_banned_hits": 1.0,
        "food_limit_exceedances": 1.0,
        "food_risk_grade": 3.0,
    }
    assert all(f.description_zh and f.description_en for f in factors)
    (empty,) = pm.hook.inspect_risk_factors(sector="food", results=[], as_of=as_of)
    assert {f.name: f.value for f in empty}["food_failed_sample_rate"] == 0.0


# --------------------------------------------------------------------------- export rows


def round_trip(pm: pluggy.PluginManager, raw: dict[str, Any], transport: str = "dict") -> Any:
    """raw → load → stored JSON → export row → file → import row → load: (first, again, row)."""
    first = FoodResultSchema().load(raw)
    row = pm.hook.inspect_row_from_payload(sector="food", payload=as_stored(first))
    back = pm.hook.inspect_payload_from_row(sector="food", row=through(row, transport))
    return first, FoodResultSchema().load(back), row


def pb(value: Any, **extra: Any) -> dict[str, Any]:
    """A lead test item."""
    return {"item": "Pb", "value": value, "unit": "mg/kg", **extra}


def _without_batch(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k != "batch"}


EXPORT_PAYLOADS: dict[str, dict[str, Any]] = {
    "one full item": sample(
        cd("0.150", lod="0.01", loq="0.03", method="GB 5009.15-2014", standard="GB 2762-2022")
    ),
    "ND and below-LOQ items": {
        **sample(cd(None, qualifier="ND", lod="0.010"), pb("0.05", qualifier="<")),
        "batch": None,
    },
    "more items than template groups": sample(
        cd("0.08"),
        pb("0.1"),
        {"item": "Hg_total", "value": "0.012", "unit": "mg/kg"},
        {"item": "As_inorganic", "value": None, "qualifier": "ND", "lod": "0.02", "unit": "mg/kg"},
        {"item": "aflatoxin_b1", "value": "3.5", "unit": "μg/kg", "lod": "0.1"},
    ),
    "graded, batch absent, catering": {
        **_without_batch(sample(cd("1E+1", unit="μg/kg"))),
        "stage": "catering",
        "business_risk": {"static_score": "30", "dynamic_score": "25.5"},
    },
}


@pytest.mark.parametrize("transport", ["dict", "xlsx", "csv"])
@pytest.mark.parametrize("raw", EXPORT_PAYLOADS.values(), ids=list(EXPORT_PAYLOADS))
def test_row_from_payload_round_trips(
    pm: pluggy.PluginManager, raw: dict[str, Any], transport: str
) -> None:
    """An exported row, through a spreadsheet or CSV file, re-imports to the same payload;
    a payload handed over still loaded (Decimals, dates) exports the same row."""
    first, again, row = round_trip(pm, raw, transport)
    assert again == first
    assert pm.hook.inspect_row_from_payload(sector="food", payload=first) == row
    template = [c.name for c in pm.hook.inspect_template_columns(sector="food")]
    assert list(row)[: len(template)] == template


def test_row_from_payload_encodings(pm: pluggy.PluginManager) -> None:
    """ND reads 'ND' in the value cell, Decimals keep their exact text, extra items get
    further numbered groups, absent optional fields are blank cells."""
    _, _, row = round_trip(pm, EXPORT_PAYLOADS["more items than template groups"])
    assert (row["items.3.value"], row["items.3.qualifier"]) == ("ND", "ND")
    assert row["items.4.item"] == "aflatoxin_b1" and "items.5.item" not in row
    assert row["items.2.value"] == "0.012" and row["business_risk.static_score"] is None
    _, _, nd = round_trip(pm, EXPORT_PAYLOADS["ND and below-LOQ items"])
    assert (nd["items.0.lod"], nd["items.1.value"], nd["items.1.qualifier"]) == (
        "0.010",
        "0.05",
        "<",
    )
    assert nd["batch"] is None and nd["items.2.item"] is None


_DECIMALS = st.decimals(
    min_value=0, max_value=100000, allow_nan=False, allow_infinity=False, places=4
).map(str)
_TEXTS = st.text(min_size=1, max_size=20).filter(lambda t: t == t.strip())


@st.composite
def food_items(draw: st.DrawFn) -> dict[str, Any]:
    """A raw test item: a number, a '<' result or ND, with optional LOD/LOQ/method/standard."""
    item = {
        "item": draw(st.sampled_from(["Cd", "Pb", "Hg_total", "As_inorganic", "aflatoxin_b1"])),
        "unit": draw(st.sampled_from(["mg/kg", "μg/kg", "g/kg", "mg/L", "/25g"])),
    }
    kind = draw(st.sampled_from(["number", "below", "nd"]))
    if kind == "nd":
        item.update(value=None, qualifier="ND", lod=draw(_DECIMALS))
    else:
        item["value"] = draw(_DECIMALS)
        if kind == "below":
            item["qualifier"] = "<"
    for key, values in (("lod", _DECIMALS), ("loq", _DECIMALS), ("method", _TEXTS)):
        if key not in item and draw(st.booleans()):
            item[key] = draw(st.none() | values)
    return item


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(food_items(), min_size=1, max_size=7),
    batch=st.none() | _TEXTS,
    risk=st.none()
    | st.fixed_dictionaries(
        {
            "static_score": _DECIMALS.filter(lambda d: Decimal(d) <= 40),
            "dynamic_score": st.just("60"),
        }
    ),
    stage=st.sampled_from(["production", "circulation", "catering"]),
)
def test_row_from_payload_round_trips_any_items(
    items: list[dict[str, Any]], batch: str | None, risk: dict[str, str] | None, stage: str
) -> None:
    """Property: whatever the items (ND, '<', numbers, optional fields), the row round-trips."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    manager.register(plugins.food)
    raw = {**sample(*items), "batch": batch, "stage": stage, "business_risk": risk}
    first, again, _ = round_trip(manager, raw)
    assert again == first
