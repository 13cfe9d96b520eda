"""Construction plugin: GB 50300 acceptance trees, GB/T 50107 concrete batches worked by
hand, completion deadlines on the Chinese working-day calendar, schema rejections, hooks."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inspect_core.hookspecs
import plugins.construction
from inspect_core.plugin_api import Judgement, RuleInputError, ValidationError
from plugins.construction import rules
from plugins.construction.schemas import CHECKLIST, ConstructionResultSchema
from tests.plugins.helpers import as_stored, through

RECORDED = dt.date(2024, 7, 3)


@pytest.fixture()
def pm() -> pluggy.PluginManager:
    """A plugin manager holding the core hookspecs and only the construction plugin."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    manager.register(plugins.construction)
    return manager


def judge(
    pm: pluggy.PluginManager,
    parts: dict[str, Any],
    config: dict[str, Any] | None = None,
    recorded_on: dt.date = RECORDED,
) -> Judgement:
    """Validate a payload with the plugin's schema, then judge it through the hook."""
    raw = {"project_no": "JS-2024-017", "project_name": "滨江花园 3# 楼", **parts}
    payload = pm.hook.inspect_payload_schema(sector="construction")().load(raw)
    context = {"recorded_on": recorded_on, "uscc": "x", "sectors": [], "config": config or {}}
    return pm.hook.inspect_judge(sector="construction", payload=payload, context=context)


# --------------------------------------------------------------------------- tree builders


def lot(
    name: str = "lot",
    main: tuple[bool, ...] = (True, True),
    general: tuple[tuple[int, int], ...] = ((10, 9),),
    **flags: Any,
) -> dict[str, Any]:
    """An inspection lot: main-control results and (sampled, compliant) general items."""
    return {
        "level": "lot",
        "name": name,
        "main_control": [{"code": f"M{i}", "passed": p} for i, p in enumerate(main, 1)],
        "general_items": [
            {"code": f"G{i}", "sampled": s, "compliant": c} for i, (s, c) in enumerate(general, 1)
        ],
        "records_complete": True,
        **flags,
    }


def subitem(name: str, *lots: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """A sub-item (分项) over its lots."""
    return {
        "level": "subitem",
        "name": name,
        "records_complete": True,
        "children": list(lots),
        **flags,
    }


def division(name: str, *children: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """A division (分部) over sub-items or sub-divisions."""
    base = {
        "documents_complete": True,
        "safety_function_tests_passed": True,
        "appearance_accepted": True,
    }
    return {"level": "division", "name": name, **base, "children": list(children), **flags}


def unit(*divisions: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """A unit project (单位工程) over divisions."""
    base = {
        "documents_complete": True,
        "safety_function_records_complete": True,
        "main_function_checks_passed": True,
        "appearance_accepted": True,
    }
    return {"level": "unit", "name": "3#楼", **base, "children": list(divisions), **flags}


def building(**lot_overrides: Any) -> dict[str, Any]:
    """Unit → 主体结构 (钢筋, 混凝土) + 屋面; the first lot takes ``lot_overrides``."""
    return unit(
        division(
            "主体结构",
            subitem("钢筋", lot("1层钢筋", **lot_overrides), lot("2层钢筋")),
            subitem("混凝土", lot("1层混凝土")),
        ),
        division("屋面", subitem("防水层", lot("屋面防水"))),
    )


# --------------------------------------------------------------------------- GB 50300


def test_acceptance_tree_all_pass(pm: pluggy.PluginManager) -> None:
    """Every node accepted: one item per node (1 unit, 2 div, 3 sub-items, 4 lots)."""
    verdict = judge(pm, {"acceptance_tree": building()})
    assert verdict.conclusion == "pass" and verdict.conclusion_zh == "合格"
    assert len(verdict.items) == 10 and all(i.passed for i in verdict.items)
    assert verdict.items[0].item == "acceptance_tree"
    assert verdict.items[-1].item == "acceptance_tree.children.1.children.0.children.0"
    assert not verdict.findings


def test_failed_main_control_item_propagates_up(pm: pluggy.PluginManager) -> None:
    """A failed 主控项目 fails the lot, its sub-item, division and unit; the finding is
    raised once, at the lot, and the sibling division stays accepted."""
    root = rules.evaluate_acceptance(building(main=(True, False)))
    verdicts = {v.path: v.passed for v in root.walk()}
    assert verdicts == {
        "acceptance_tree": False,
        "acceptance_tree.children.0": False,
        "acceptance_tree.children.0.children.0": False,
        "acceptance_tree.children.0.children.0.children.0": False,
        "acceptance_tree.children.0.children.0.children.1": True,
        "acceptance_tree.children.0.children.1": True,
        "acceptance_tree.children.0.children.1.children.0": True,
        "acceptance_tree.children.1": True,
        "acceptance_tree.children.1.children.0": True,
        "acceptance_tree.children.1.children.0.children.0": True,
    }
    verdict = judge(pm, {"acceptance_tree": building(main=(True, False))})
    assert verdict.conclusion == "fail"
    (finding,) = verdict.findings
    assert (finding.code, finding.severity) == ("construction.lot_main_control_failed", "major")
    assert "M2" in finding.message_zh and finding.basis == "GB 50300-2013 §5.0.1(1)"


@pytest.mark.parametrize(
    ("general", "config", "passed"),
    [
        (((100, 80),), None, True),  # exactly 80 %
        (((100, 79),), None, False),
        (((10, 9), (20, 15)), None, False),  # each general item on its own: 75 %
        (((100, 85),), {"acceptance": {"general_item_min_rate": "0.90"}}, False),
    ],
)
def test_general_items_compliance_rate(
    general: tuple[tuple[int, int], ...], config: dict[str, Any] | None, passed: bool
) -> None:
    """一般项目: count sampling ≥ 80 % compliant by default, configurable per district."""
    th = rules.thresholds_with_overrides(config)
    verdict = rules.evaluate_acceptance(lot(general=general), th)
    assert verdict.passed is passed
    if not passed:
        assert verdict.reasons[0].code == "construction.lot_general_rate_low"


def test_general_item_own_minimum_rate() -> None:
    """A professional code's own rate on the item beats the default."""
    node = lot(general=())
    node["general_items"] = [{"code": "G1", "sampled": 10, "compliant": 9, "min_rate": "0.95"}]
    assert not rules.evaluate_acceptance(node).passed


@pytest.mark.parametrize("rate", ["0", "0.00", "1.01", "80"])
def test_a_minimum_rate_outside_0_to_1_is_refused_naming_it(rate: str) -> None:
    """GB 50300-2013 §5.0.1(2) asks a share of the points to comply: a minimum of 0 let a
    lot whose every point failed pass, and one above 1 (80 typed for 0.80) fail every lot.
    Refused in the payload, in the rules and in the district's config, each by its field."""
    node = lot(general=())
    node["general_items"] = [{"code": "G1", "sampled": 10, "compliant": 0, "min_rate": rate}]
    with pytest.raises(ValidationError) as bad_payload:
        ConstructionResultSchema().load(
            {"project_no": "JS-1", "project_name": "p", "acceptance_tree": node}
        )
    assert bad_payload.value.messages["acceptance_tree"]["general_items"][0]["min_rate"]
    with pytest.raises(RuleInputError) as bad_item:
        rules.evaluate_acceptance(node)
    assert bad_item.value.field == "acceptance_tree.general_items.0.min_rate"
    assert bad_item.value.message == "a share above 0 and at most 1"
    with pytest.raises(RuleInputError) as bad_config:
        rules.thresholds_with_overrides({"acceptance": {"general_item_min_rate": rate}})
    assert bad_config.value.field == "config.acceptance.general_item_min_rate"
    assert bad_config.value.message == "a share above 0 and at most 1"
    node["general_items"][0]["min_rate"] = "1"  # every point must comply: a real demand
    assert not rules.evaluate_acceptance(node).passed


def test_severe_defect_and_missing_records_fail_a_lot() -> None:
    """No 严重缺陷 and complete records are conditions of their own."""
    assert not rules.evaluate_acceptance(lot(severe_defect=True)).passed
    codes = [r.code for r in rules.evaluate_acceptance(lot(records_complete=False)).reasons]
    assert codes == ["construction.records_incomplete"]


def test_division_safety_tests_failed_is_critical(pm: pluggy.PluginManager) -> None:
    """§5.0.3(3): failed safety/function tests fail the division, a critical finding."""
    tree = unit(division("主体结构", subitem("钢筋", lot()), safety_function_tests_passed=False))
    verdict = judge(pm, {"acceptance_tree": tree})
    assert verdict.conclusion == "fail"
    assert [(f.code, f.severity) for f in verdict.findings] == [
        ("construction.safety_function_failed", "critical")
    ]


@pytest.mark.parametrize(
    ("flag", "code"),
    [
        ("main_function_checks_passed", "construction.main_function_failed"),
        ("appearance_accepted", "construction.appearance_not_accepted"),
        ("documents_complete", "construction.documents_incomplete"),
        ("safety_function_records_complete", "construction.documents_incomplete"),
    ],
)
def test_unit_level_conditions(flag: str, code: str) -> None:
    """§5.0.4: a unit with accepted divisions still needs its own records and checks."""
    root = rules.evaluate_acceptance(unit(division("d", subitem("s", lot())), **{flag: False}))
    assert not root.passed and [r.code for r in root.reasons] == [code]
    assert all(child.passed for child in root.children)


def test_unsafe_after_repair_must_not_be_accepted() -> None:
    """§5.0.8: still unsafe after repair or reinforcement → 严禁验收."""
    root = rules.evaluate_acceptance(
        unit(division("d", subitem("s", lot()), unsafe_after_repair=True))
    )
    assert not root.passed
    assert root.children[0].reasons[0].code == "construction.unsafe_after_repair"


@pytest.mark.parametrize(
    ("tree", "field"),
    [
        (unit(lot()), "acceptance_tree.children.0.level"),
        (unit(division("d")), "acceptance_tree.children.0.children"),
        ({**lot(), "children": [lot()]}, "acceptance_tree.children"),
        ({**lot(), "records_complete": None}, "acceptance_tree.records_complete"),
        ({**lot(), "main_control": []}, "acceptance_tree.main_control"),
        ({**lot(), "level": "storey"}, "acceptance_tree.level"),
        (lot(general=((5, 6),)), "acceptance_tree.general_items.0.compliant"),
    ],
)
def test_acceptance_structure_errors_name_the_field(tree: dict[str, Any], field: str) -> None:
    """The pure rule refuses malformed trees naming the node's field."""
    with pytest.raises(RuleInputError) as err:
        rules.evaluate_acceptance(tree)
    assert err.value.field == field


# --------------------------------------------------------------------------- GB/T 50107

PASSING_12 = [
    "31.2",
    "36.8",
    "33.5",
    "39.4",
    "30.6",
    "35.1",
    "37.9",
    "32.4",
    "34.0",
    "38.6",
    "29.8",
    "36.2",
]


def test_statistical_batch_of_12_checked_by_hand(pm: pluggy.PluginManager) -> None:
    """C30, n = 12 → λ1 = 1.15, λ2 = 0.90 (GB/T 50107-2010 表5.1.3).

    Hand computation:
      Σf = 31.2+36.8+33.5+39.4+30.6+35.1+37.9+32.4+34.0+38.6+29.8+36.2 = 415.5
      mfcu = 415.5 / 12 = 34.625 → 34.6 (to 0.1; dropped "25" < 50)
      deviations f − 34.625: −3.425, 2.175, −1.125, 4.775, −4.025, 0.475, 3.275,
        −2.225, −0.625, 3.975, −4.825, 1.575
      squares: 11.730625, 4.730625, 1.265625, 22.800625, 16.200625, 0.225625,
        10.725625, 4.950625, 0.390625, 15.800625, 23.280625, 2.480625; Σ = 114.5825
        (check: Σf² − n·m² = 14501.27 − 12 × 34.625² = 14501.27 − 14386.6875 = 114.5825)
      Sfcu = √(114.5825 / 11) = √10.416591 = 3.2275 → 3.23 (≥ 2.5, no floor)
      (1) mfcu ≥ fcu,k + λ1·Sfcu: 34.6 ≥ 30 + 1.15 × 3.23 = 33.7145  ✓
      (2) fcu,min ≥ λ2·fcu,k:     29.8 ≥ 0.90 × 30 = 27.0            ✓
    """
    verdict = rules.evaluate_concrete_batch({"grade": "C30", "values": PASSING_12})
    assert verdict.method == "statistical" and verdict.n == 12
    assert verdict.mean == Decimal("34.6")
    assert verdict.std_computed == verdict.std == Decimal("3.23")
    assert verdict.minimum == Decimal("29.8")
    mean_check, min_check = verdict.checks
    assert mean_check.formula == "mfcu ≥ fcu,k + 1.15·Sfcu"
    assert mean_check.required == Decimal("33.7145") and mean_check.passed
    assert min_check.formula == "fcu,min ≥ 0.90·fcu,k"
    assert min_check.required == Decimal("27") and min_check.passed
    assert verdict.passed
    # the exact sample standard deviation agrees with the standard library's (n − 1)
    exact = rules.sample_std([Decimal(v) for v in PASSING_12])
    assert abs(float(exact) - statistics.stdev(float(v) for v in PASSING_12)) < 1e-12
    judged = judge(
        pm, {"concrete_batches": [{"batch_no": "KJ-01", "grade": "C30", "values": PASSING_12}]}
    )
    assert judged.conclusion == "pass"
    assert [i.item for i in judged.items] == ["concrete_batches.0.mean", "concrete_batches.0.min"]
    assert (judged.items[0].measured, judged.items[0].limit) == ("34.6", "≥ 33.7145")


def test_statistical_batch_failing_on_the_mean(pm: pluggy.PluginManager) -> None:
    """The same 12 values less 1.5 each: Σ = 397.5, mfcu = 33.125 → 33.1, Sfcu still 3.23.
    33.1 < 33.7145 ✗ (the minimum 28.3 ≥ 27.0 still holds) → batch 不合格, critical."""
    values = [str(Decimal(v) - Decimal("1.5")) for v in PASSING_12]
    verdict = rules.evaluate_concrete_batch({"grade": "C30", "values": values})
    assert verdict.mean == Decimal("33.1") and verdict.std == Decimal("3.23")
    assert [c.passed for c in verdict.checks] == [False, True]
    judged = judge(
        pm, {"concrete_batches": [{"batch_no": "KJ-02", "grade": "C30", "values": values}]}
    )
    assert judged.conclusion == "fail" and judged.conclusion_zh == "不合格"
    (finding,) = judged.findings
    assert (finding.code, finding.severity) == ("construction.concrete_batch_failed", "critical")
    assert finding.basis.startswith("GB/T 50107-2010")


TIGHT_10 = ["31.5", "33.5", "32.0", "33.0", "32.5", "31.8", "33.2", "32.5", "32.0", "33.0"]


def test_standard_deviation_floor_of_2_5_applies() -> None:
    """C30, n = 10: Σ = 325.0, mfcu = 32.5; deviations −1, 1, −0.5, 0.5, 0, −0.7, 0.7, 0,
    −0.5, 0.5 → Σd² = 3.98, Sfcu = √(3.98/9) = 0.665 → 0.66 < 2.5, so 2.5 is used:
    32.5 ≥ 30 + 1.15 × 2.5 = 32.875 ✗.  With the computed 0.66 it would pass (30.759), so
    the floor decides."""
    verdict = rules.evaluate_concrete_batch({"grade": "C30", "values": TIGHT_10})
    assert (verdict.std_computed, verdict.std) == (Decimal("0.66"), Decimal("2.5"))
    assert verdict.checks[0].required == Decimal("32.875") and not verdict.passed
    assert verdict.notes == ("Sfcu 0.66 < 2.5: 2.5 used",)
    no_floor = rules.thresholds_with_overrides({"concrete": {"statistical": {"s_floor": "0"}}})
    assert rules.evaluate_concrete_batch({"grade": "C30", "values": TIGHT_10}, no_floor).passed


@pytest.mark.parametrize(
    ("n", "lam1", "lam2"),
    [
        (10, "1.15", "0.90"),
        (14, "1.15", "0.90"),
        (15, "1.05", "0.85"),
        (19, "1.05", "0.85"),
        (20, "0.95", "0.85"),
        (60, "0.95", "0.85"),
    ],
)
def test_statistical_coefficient_bands(n: int, lam1: str, lam2: str) -> None:
    """λ1 = 1.15 / 1.05 / 0.95 for n = 10–14 / 15–19 / ≥20; λ2 = 0.90 / 0.85."""
    values = [str(30 + (i % 7)) for i in range(n)]
    verdict = rules.evaluate_concrete_batch({"grade": "C25", "values": values})
    assert verdict.checks[0].formula == f"mfcu ≥ fcu,k + {lam1}·Sfcu"
    assert verdict.checks[1].formula == f"fcu,min ≥ {lam2}·fcu,k"


def test_non_statistical_batch() -> None:
    """C30, n = 5 (< 10): λ3 = 1.15, λ4 = 0.95.  Σ = 35.0+34.2+36.1+33.9+35.3 = 174.5,
    mfcu = 34.9 ≥ 1.15 × 30 = 34.5 ✓; fcu,min = 33.9 ≥ 0.95 × 30 = 28.5 ✓.
    Lower every value by 0.5: mfcu = 34.4 < 34.5 ✗."""
    values = ["35.0", "34.2", "36.1", "33.9", "35.3"]
    verdict = rules.evaluate_concrete_batch({"grade": "C30", "values": values})
    assert verdict.method == "non_statistical" and verdict.mean == Decimal("34.9")
    assert [c.required for c in verdict.checks] == [Decimal("34.50"), Decimal("28.50")]
    assert verdict.passed
    lower = [str(Decimal(v) - Decimal("0.5")) for v in values]
    failing = rules.evaluate_concrete_batch({"grade": "C30", "values": lower})
    assert failing.mean == Decimal("34.4") and [c.passed for c in failing.checks] == [False, True]


def test_the_method_is_chosen_at_the_configured_group_count() -> None:
    """n = 9 / 10 picks non-statistical / statistical by default (§5.2, §5.1.3); a district
    that moves the boundary in the thresholds moves the automatic choice with it."""
    pick = rules.evaluate_concrete_batch
    assert pick({"grade": "C30", "values": TIGHT_10[:9]}).method == "non_statistical"
    assert pick({"grade": "C30", "values": TIGHT_10}).method == "statistical"
    moved = rules.thresholds_with_overrides(
        {"concrete": {"statistical": {"min_groups": 12}, "non_statistical": {"max_groups": 11}}}
    )
    assert pick({"grade": "C30", "values": TIGHT_10}, moved).method == "non_statistical"
    assert pick({"grade": "C30", "values": [*TIGHT_10, "32.0", "33.0"]}, moved).method == (
        "statistical"
    )


def test_non_statistical_c60_uses_lambda3_1_10() -> None:
    """≥ C60: λ3 = 1.10.  66.5, 67.0, 65.8 → 199.3 / 3 = 66.43 → 66.4 ≥ 66.0 ✓
    (with 1.15 it would need 69.0)."""
    verdict = rules.evaluate_concrete_batch({"grade": "C60", "values": ["66.5", "67.0", "65.8"]})
    assert verdict.checks[0].formula == "mfcu ≥ 1.10·fcu,k"
    assert verdict.checks[0].required == Decimal("66.00") and verdict.passed


def test_known_sigma_batch() -> None:
    """C30, σ0 = 3.0, three groups 33.0, 31.8, 32.4: mfcu = 32.4 ≥ 30 + 0.7 × 3 = 32.1 ✓;
    fcu,min = 31.8 ≥ 30 − 2.1 = 27.9 ✓ and ≥ 0.90 × 30 = 27.0 (> C20) ✓."""
    batch = {"grade": "C30", "values": ["33.0", "31.8", "32.4"], "sigma0": "3.0"}
    verdict = rules.evaluate_concrete_batch(batch)
    assert verdict.method == "known_sigma"
    assert [(c.formula, c.required) for c in verdict.checks] == [
        ("mfcu ≥ fcu,k + 0.7σ0", Decimal("32.100")),
        ("fcu,min ≥ fcu,k − 0.7σ0", Decimal("27.900")),
        ("fcu,min ≥ 0.90·fcu,k", Decimal("27.00")),
    ]
    assert verdict.passed
    low = rules.evaluate_concrete_batch({**batch, "values": ["33.0", "31.8", "31.9"]})
    assert low.mean == Decimal("32.2") and low.passed
    assert not rules.evaluate_concrete_batch({**batch, "values": ["32.0", "31.8", "32.0"]}).passed


def test_known_sigma_floor_and_low_grade_ratio() -> None:
    """σ0 = 2.0 < 2.5 → 2.5; C20 (≤ C20) uses 0.85·fcu,k.  24.5, 23.5, 17.5: mfcu = 65.5/3
    = 21.83 → 21.8 ≥ 20 + 0.7 × 2.5 = 21.75 ✓; fcu,min = 17.5 ≥ 20 − 1.75 = 18.25 ✗;
    17.5 ≥ 0.85 × 20 = 17.0 ✓ (0.90 × 20 = 18.0 would have failed it too)."""
    batch = {"grade": "C20", "values": ["24.5", "23.5", "17.5"], "sigma0": "2.0"}
    verdict = rules.evaluate_concrete_batch(batch)
    assert verdict.std == Decimal("2.5") and verdict.notes == ("σ0 2.00 < 2.5: 2.5 used",)
    assert [c.formula for c in verdict.checks][2] == "fcu,min ≥ 0.85·fcu,k"
    assert [c.passed for c in verdict.checks] == [True, False, True]


def test_known_sigma_from_history() -> None:
    """σ0 may be computed from ≥ 45 earlier groups."""
    history = [str(28 + (i % 9)) for i in range(45)]
    batch = {"grade": "C30", "values": ["34.0", "33.0", "35.0"], "sigma0_history": history}
    verdict = rules.evaluate_concrete_batch(batch)
    expected = Decimal(str(round(statistics.stdev(float(h) for h in history), 2)))
    assert verdict.std_computed == expected and verdict.method == "known_sigma"


@pytest.mark.parametrize(
    ("batch", "field"),
    [
        ({"grade": "C30", "values": TIGHT_10[:9], "method": "statistical"}, "values"),
        ({"grade": "C30", "values": TIGHT_10, "method": "non_statistical"}, "method"),
        ({"grade": "C30", "values": TIGHT_10[:4], "sigma0": "3"}, "values"),
        ({"grade": "C30", "values": TIGHT_10[:2], "method": "known_sigma"}, "values"),
        ({"grade": "C30", "values": TIGHT_10[:3], "method": "known_sigma"}, "sigma0"),
        ({"grade": "C30", "values": TIGHT_10[:3], "sigma0_history": TIGHT_10}, "sigma0_history"),
        ({"grade": "30", "values": TIGHT_10}, "grade"),
        ({"grade": "C30", "values": []}, "values"),
        ({"grade": "C30", "values": ["31", "-2"]}, "values.1"),
    ],
)
def test_concrete_input_errors_name_the_field(batch: dict[str, Any], field: str) -> None:
    """Too few (or too many) groups for the method, a missing σ0, bad grades or values."""
    with pytest.raises(RuleInputError) as err:
        rules.evaluate_concrete_batch(batch, path="concrete_batches.3")
    assert err.value.field == f"concrete_batches.3.{field}"


@pytest.mark.parametrize(
    ("batch", "field", "message"),
    [
        ({"grade": "C30", "values": ["33.5"] * 9 + ["335"]}, "values.9", "335 N/mm²"),
        ({"grade": "C30", "values": ["1e1000"] * 10}, "values.0", "1E+1000 N/mm²"),
        ({"grade": "C350", "values": TIGHT_10}, "grade", "350 N/mm²"),
        ({"grade": "C30", "values": TIGHT_10[:3], "sigma0": "300.01"}, "sigma0", "300.01 N/mm²"),
        (
            {"grade": "C30", "values": TIGHT_10[:3], "sigma0_history": ["31"] * 44 + ["3100"]},
            "sigma0_history.44",
            "3100 N/mm²",
        ),
    ],
)
def test_a_strength_above_the_plausible_maximum_is_refused_naming_it(
    batch: dict[str, Any], field: str, message: str
) -> None:
    """Above ``concrete.plausible_max_strength`` (300 N/mm²) a grade, cube strength or
    σ0 is an entry error: "335" typed for 33.5 passed a C30 batch's mean check, and a σ0
    of 1e1000 failed any batch as critical."""
    with pytest.raises(RuleInputError) as err:
        rules.evaluate_concrete_batch(batch, path="concrete_batches.3")
    assert err.value.field == f"concrete_batches.3.{field}"
    assert err.value.message == (
        f"{message} is above the plausible maximum (300 N/mm²); check the value"
    )


def test_the_strength_ceiling_is_inclusive_configurable_and_c0_is_no_grade() -> None:
    """300 N/mm² itself is judged; a district may raise the ceiling (not to 0 or text);
    C0 set no requirement at all, so every batch of it passed."""
    assert rules.evaluate_concrete_batch({"grade": "C250", "values": ["300"] * 3}).passed
    raised = rules.thresholds_with_overrides({"concrete": {"plausible_max_strength": "400"}})
    verdict = rules.evaluate_concrete_batch({"grade": "C30", "values": ["335"] * 3}, raised)
    assert verdict.passed and verdict.mean == Decimal("335.0")
    for bad in ("0", "abc", "-1"):
        with pytest.raises(RuleInputError) as err:
            rules.thresholds_with_overrides({"concrete": {"plausible_max_strength": bad}})
        assert err.value.field == "config.concrete.plausible_max_strength"
    for grade in ("C0", "c0.0"):
        with pytest.raises(RuleInputError) as err:
            rules.evaluate_concrete_batch({"grade": grade, "values": ["1"] * 3})
        assert err.value.field == "concrete_batches.0.grade"
        assert err.value.message == "C0 is not a strength grade: fcu,k must be > 0"


# --------------------------------------------------------------------------- completion

CONDITIONS_MET = {
    "design_contract_complete": True,
    "technical_records_complete": True,
    "material_test_reports": True,
    "party_quality_documents": True,
    "warranty_signed": True,
}


def completion(**fields: Any) -> dict[str, Any]:
    """Completion data: acceptance on Tue 2024-06-18, notice on time, all conditions met."""
    return {
        "acceptance_date": "2024-06-18",
        "notice_date": "2024-06-06",
        "conditions": dict(CONDITIONS_MET),
        **fields,
    }


def test_notice_deadline_skips_the_dragon_boat_holiday() -> None:
    """Acceptance Tue 2024-06-18; counting back 7 working days skips weekends and Mon
    2024-06-10 (端午节): 17, 14, 13, 12, 11, 7, 6 → notify by Thu 2024-06-06."""
    assert rules.notice_deadline(dt.date(2024, 6, 18), 7) == (dt.date(2024, 6, 6), False)


def test_notice_deadline_counts_adjusted_working_weekends() -> None:
    """2024 National Day: 10-01…07 off, Sun 09-29 worked.  From Thu 10-10: 9, 8, 30, 29,
    27, 26, 25 → notify by 2024-09-25."""
    assert rules.notice_deadline(dt.date(2024, 10, 10), 7) == (dt.date(2024, 9, 25), False)


def test_notice_deadline_falls_back_to_weekdays_beyond_the_calendar() -> None:
    """chinese_calendar raises NotImplementedError for 2031: Mon–Fri is used and flagged."""
    assert rules.notice_deadline(dt.date(2031, 3, 12), 7) == (dt.date(2031, 3, 3), True)


@pytest.mark.parametrize(
    ("notice", "late"), [("2024-06-06", False), ("2024-06-05", False), ("2024-06-07", True)]
)
def test_late_notice_is_a_finding(pm: pluggy.PluginManager, notice: str, late: bool) -> None:
    """Notice on 06-07 is only 6 working days ahead (the holiday does not count)."""
    verdict = judge(pm, {"completion": completion(notice_date=notice)})
    notice_item = next(i for i in verdict.items if i.item == "completion.notice_date")
    assert notice_item.passed is not late and notice_item.limit == "≤ 2024-06-06"
    codes = [f.code for f in verdict.findings]
    assert codes == (["construction.late_notice"] if late else [])
    assert verdict.conclusion == ("rectify" if late else "pass")


def test_fallback_is_noted_in_the_item_message(pm: pluggy.PluginManager) -> None:
    """Dates past the holiday calendar say so in both languages."""
    verdict = judge(
        pm,
        {"completion": completion(acceptance_date="2031-03-12", notice_date="2031-03-04")},
        recorded_on=dt.date(2031, 3, 13),
    )
    notice_item = next(i for i in verdict.items if i.item == "completion.notice_date")
    assert not notice_item.passed
    assert "周一至周五" in notice_item.message_zh and "Mon–Fri" in notice_item.message_en
    assert "Mon–Fri" in verdict.findings[0].message_en


@pytest.mark.parametrize(
    ("filing", "recorded_on", "late"),
    [
        ("2024-07-03", RECORDED, False),  # day 15
        ("2024-07-04", dt.date(2024, 7, 10), True),  # day 16
        (None, dt.date(2024, 7, 3), False),  # not yet due
        (None, dt.date(2024, 7, 4), True),  # overdue and not filed
    ],
)
def test_filing_within_15_calendar_days(
    pm: pluggy.PluginManager, filing: str | None, recorded_on: dt.date, late: bool
) -> None:
    """备案 within 15 days of acceptance on 2024-06-18, i.e. by 2024-07-03."""
    verdict = judge(pm, {"completion": completion(filing_date=filing)}, recorded_on=recorded_on)
    filing_item = next(i for i in verdict.items if i.item == "completion.filing_date")
    assert filing_item.passed is not late and filing_item.limit == "≤ 2024-07-03"
    late_findings = [f for f in verdict.findings if f.code == "construction.late_filing"]
    assert len(late_findings) == int(late)
    if late:
        assert late_findings[0].severity == "major" and verdict.conclusion == "rectify"


@pytest.mark.parametrize(
    ("dates", "field", "reason"),
    [
        ({"acceptance_date": "2099-06-18"}, "acceptance_date", "after the inspection date"),
        ({"acceptance_date": "9999-12-31"}, "acceptance_date", "after the inspection date"),
        ({"filing_date": "2024-07-04"}, "filing_date", "after the inspection date"),
        ({"notice_date": "2024-07-04"}, "notice_date", "after the inspection date"),
        (
            {"acceptance_date": "0001-01-05", "notice_date": "0001-01-01"},
            "acceptance_date",
            "before 2000-01-30, when the completion rules judged here took effect",
        ),
    ],
)
def test_completion_dates_after_the_inspection_or_before_the_rules_are_refused(
    pm: pluggy.PluginManager, dates: dict[str, str], field: str, reason: str
) -> None:
    """An acceptance "in 2099" escaped the late-filing rule (rectify became pass), and
    years 9999 and 1 overflowed the date arithmetic (a 502): what the inspection could
    not have seen, or an acceptance before the 条例 took effect, is an input error."""
    with pytest.raises(RuleInputError) as err:
        judge(pm, {"completion": completion(**dates)}, recorded_on=dt.date(2024, 7, 3))
    assert err.value.field == f"completion.{field}"
    assert err.value.message.startswith(reason), err.value.message


def test_completion_is_judged_on_the_inspection_day_not_the_recording_day(
    pm: pluggy.PluginManager,
) -> None:
    """Not filed when inspected on the due day (2024-07-03) is not late, however much later
    the result is recorded; a district may move the earliest acceptance."""
    payload = ConstructionResultSchema().load(
        {"project_no": "JS-1", "project_name": "滨江花园", "completion": completion()}
    )
    context = {"inspected_on": dt.date(2024, 7, 3), "recorded_on": dt.date(2024, 7, 20)}
    on_the_day = pm.hook.inspect_judge(sector="construction", payload=payload, context=context)
    assert on_the_day.conclusion == "pass"
    recorded = pm.hook.inspect_judge(
        sector="construction", payload=payload, context={"recorded_on": dt.date(2024, 7, 20)}
    )
    assert [f.code for f in recorded.findings] == ["construction.late_filing"]
    moved = {"completion": {"earliest_acceptance": "2024-06-19"}}
    with pytest.raises(RuleInputError) as err:
        pm.hook.inspect_judge(
            sector="construction", payload=payload, context={**context, "config": moved}
        )
    assert err.value.field == "completion.acceptance_date"


def test_unmet_completion_condition_fails(pm: pluggy.PluginManager) -> None:
    """条例 art. 16: acceptance without a signed warranty is not a valid acceptance."""
    conditions = {**CONDITIONS_MET, "warranty_signed": False, "fire_acceptance": True}
    verdict = judge(pm, {"completion": completion(conditions=conditions)})
    assert verdict.conclusion == "fail"
    (finding,) = verdict.findings
    assert finding.code == "construction.completion_condition_unmet"
    assert "保修书" in finding.message_zh and "第十六条" in finding.basis
    assert any(i.item == "completion.conditions.fire_acceptance" for i in verdict.items)


# --------------------------------------------------------------------------- problems


@pytest.mark.parametrize(
    ("problem", "severity", "conclusion"),
    [
        ({"type": "leak"}, "major", "rectify"),
        ({"type": "pipe_leak"}, "major", "rectify"),
        ({"type": "crack"}, "major", "rectify"),
        ({"type": "hollow"}, "minor", "pass"),
        ({"type": "dusting_floor"}, "minor", "pass"),
        ({"type": "crack", "severity": "critical"}, "critical", "fail"),
    ],
)
def test_common_quality_problems(
    pm: pluggy.PluginManager, problem: dict[str, Any], severity: str, conclusion: str
) -> None:
    """Each problem is a finding; its default severity is data, the inspector may raise it."""
    verdict = judge(pm, {"problems": [{"location": "12层卫生间", **problem}]})
    (finding,) = verdict.findings
    assert finding.code == f"construction.problem.{problem['type']}"
    assert finding.severity == severity and "12层卫生间" in finding.message_zh
    assert verdict.conclusion == conclusion


def test_problem_severity_table_is_configurable(pm: pluggy.PluginManager) -> None:
    """A district may treat hollow plaster as major."""
    config = {"severity": {"construction.problem.hollow": "major"}}
    verdict = judge(pm, {"problems": [{"type": "hollow", "location": "外墙"}]}, config)
    assert verdict.findings[0].severity == "major" and verdict.conclusion == "rectify"


def test_judge_combines_all_parts(pm: pluggy.PluginManager) -> None:
    """Tree, concrete, completion and problems in one result; the worst part decides."""
    parts = {
        "acceptance_tree": building(),
        "concrete_batches": [{"batch_no": "KJ-01", "grade": "C30", "values": PASSING_12}],
        "completion": completion(filing_date="2024-06-28"),
        "problems": [{"type": "hollow", "location": "2层走廊"}],
    }
    verdict = judge(pm, parts)
    assert verdict.conclusion == "pass" and verdict.passed
    assert len(verdict.items) == 10 + 2 + 5 + 2
    assert [f.severity for f in verdict.findings] == ["minor"]
    parts["concrete_batches"][0]["values"] = TIGHT_10
    assert judge(pm, parts).conclusion == "fail"


def test_rules_refuse_unknown_config_and_empty_payload() -> None:
    """Config keys outside thresholds.json and payloads with no part are refused."""
    with pytest.raises(RuleInputError) as err:
        rules.judge_result({"problems": [{"type": "leak"}]}, {"acceptance": {"rate": "0.9"}})
    assert err.value.field == "config.acceptance.rate"
    with pytest.raises(RuleInputError) as err:
        rules.judge_result({"project_no": "x"})
    assert err.value.field == "acceptance_tree"
    with pytest.raises(RuleInputError) as err:
        rules.judge_result({"problems": [{"type": "mould"}]})
    assert err.value.field == "problems.0.type"


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"completion": {"filing_days": -5}}, "completion.filing_days", "≥ 1"),
        ({"completion": {"filing_days": "15"}}, "completion.filing_days", "≥ 1"),
        ({"completion": {"filing_days": 1.9}}, "completion.filing_days", "≥ 1"),
        ({"completion": {"notice_working_days": 0}}, "completion.notice_working_days", "≥ 1"),
        ({"completion": {"notice_working_days": 10**9}}, "completion.notice_working_days", "366"),
        ({"concrete": {"statistical": {"min_groups": "10"}}}, "concrete.statistical.min_groups",
         "≥ 2"),
        ({"concrete": {"statistical": {"min_groups": 1}, "non_statistical": {"max_groups": 0}}},
         "concrete.statistical.min_groups", "≥ 2"),
        ({"concrete": {"non_statistical": {"lambda4": "abc"}}},
         "concrete.non_statistical.lambda4", "not a number"),
        ({"concrete": {"known_sigma": {"mean_factor": "-0.7"}}},
         "concrete.known_sigma.mean_factor", ">= 0"),
        ({"concrete": {"precision": {"std": "0"}}}, "concrete.precision.std", "> 0"),
        ({"concrete": {"statistical": {"min_groups": 12}}},
         "concrete.non_statistical.max_groups", "one less than"),
        ({"concrete": {"statistical": {"lambda1": [{"min_n": 10, "value": "1.15"}]}}},
         "concrete.statistical.lambda1.0", "a band"),
        ({"concrete": {"statistical": {"lambda2": [{"min_n": 10, "max_n": 5, "value": "0.9"}]}}},
         "concrete.statistical.lambda2.0.max_n", "≥ 10"),
    ],
)  # fmt: skip
def test_absurd_thresholds_are_refused_naming_the_key(
    pm: pluggy.PluginManager, override: dict[str, Any], field: str, message: str
) -> None:
    """A district's override the rules cannot compute with is refused by its key before
    anything is judged: a negative filing term made every filing late, a group count
    given as text or a coefficient that is no number failed each result as a plugin
    fault, and a term of 10^9 days overflowed the calendar."""
    with pytest.raises(RuleInputError) as err:
        rules.thresholds_with_overrides(override)
    assert err.value.field == f"config.{field}"
    assert message in err.value.message
    with pytest.raises(RuleInputError) as hooked:
        judge(pm, {"completion": completion()}, override)
    assert hooked.value.field == f"config.{field}"


def test_thresholds_data_is_marked() -> None:
    """Coefficients are data with sources; the λ tables match GB/T 50107-2010."""
    th = rules.default_thresholds()
    conc = th["concrete"]
    assert [b["value"] for b in conc["statistical"]["lambda1"]] == ["1.15", "1.05", "0.95"]
    assert [b["value"] for b in conc["statistical"]["lambda2"]] == ["0.90", "0.85"]
    assert conc["non_statistical"]["lambda4"] == "0.95"
    assert conc["precision"]["verified"] == "M"
    assert all(
        part["verified"] in {"S", "M"}
        for part in conc.values()
        if isinstance(part, dict) and "verified" in part
    )
    assert th["completion"]["notice_working_days"] == 7 and th["completion"]["filing_days"] == 15


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("parts", "path"),
    [
        ({}, ("acceptance_tree",)),
        (
            {"concrete_batches": [{"batch_no": "b", "grade": "C30", "values": ["-1"]}]},
            ("concrete_batches", 0, "values", 0),
        ),
        (
            {"concrete_batches": [{"batch_no": "b", "grade": "C30", "values": ["abc"]}]},
            ("concrete_batches", 0, "values", 0),
        ),
        (
            {"concrete_batches": [{"batch_no": "b", "grade": "30MPa", "values": ["30"]}]},
            ("concrete_batches", 0, "grade"),
        ),
        (
            {
                "concrete_batches": [
                    {"batch_no": "b", "grade": "C30", "values": ["30"], "method": "guess"}
                ]
            },
            ("concrete_batches", 0, "method"),
        ),
        (
            {"acceptance_tree": {**lot(), "records_complete": None}},
            ("acceptance_tree", "records_complete"),
        ),
        ({"acceptance_tree": {**lot(), "level": "floor"}}, ("acceptance_tree", "level")),
        (
            {"acceptance_tree": lot(general=((5, 6),))},
            ("acceptance_tree", "general_items", 0, "compliant"),
        ),
        ({"acceptance_tree": subitem("s")}, ("acceptance_tree", "children")),
        ({"acceptance_tree": {**lot(), "colour": "red"}}, ("acceptance_tree", "colour")),
        ({"completion": completion(filing_date="2024-06-01")}, ("completion", "filing_date")),
        (
            {"completion": completion(conditions={"warranty_signed": True})},
            ("completion", "conditions", "design_contract_complete"),
        ),
        (
            {"completion": completion(conditions={**CONDITIONS_MET, "bribe_paid": True})},
            ("completion", "conditions", "bribe_paid"),
        ),
        ({"problems": [{"type": "mould", "location": "x"}]}, ("problems", 0, "type")),
        (
            {"problems": [{"type": "leak", "location": "x", "severity": "fatal"}]},
            ("problems", 0, "severity"),
        ),
        ({"problems": [{"type": "leak", "location": "x"}], "risk_score": 1}, ("risk_score",)),
    ],
)
def test_schema_rejects_bad_payloads(parts: dict[str, Any], path: tuple[Any, ...]) -> None:
    """Bad payloads are refused with the offending field named."""
    raw = {"project_no": "JS-1", "project_name": "p", **parts}
    with pytest.raises(ValidationError) as err:
        ConstructionResultSchema().load(raw)
    messages: Any = err.value.messages
    for key in path:
        messages = messages[key]
    assert messages


def test_schema_loads_decimals_and_dates() -> None:
    """Strengths load as Decimals, dates as dates."""
    loaded = ConstructionResultSchema().load(
        {
            "project_no": "JS-1",
            "project_name": "p",
            "completion": completion(),
            "concrete_batches": [{"batch_no": "b", "grade": "C30", "values": [30.1, "29.9"]}],
        }
    )
    assert loaded["concrete_batches"][0]["values"] == [Decimal("30.1"), Decimal("29.9")]
    assert loaded["completion"]["acceptance_date"] == dt.date(2024, 6, 18)


# --------------------------------------------------------------------------- hooks


def test_sectors_hook(pm: pluggy.PluginManager) -> None:
    """One sector, bilingual, versioned."""
    ((sector,),) = pm.hook.inspect_sectors()
    assert (sector.code, sector.name_zh) == ("construction", "建设工程")
    assert sector.version == plugins.construction.__version__


def test_hooks_answer_none_for_other_sectors(pm: pluggy.PluginManager) -> None:
    """Every sector-taking hook leaves other sectors to other plugins."""
    hook = pm.hook
    assert hook.inspect_payload_schema(sector="food") is None
    assert hook.inspect_checklist(sector="food") is None
    assert hook.inspect_judge(sector="food", payload={}, context={}) is None
    assert hook.inspect_risk_factors(sector="food", results=[], as_of=RECORDED) == []
    assert hook.inspect_required_qualification(sector="food") is None
    assert hook.inspect_template_columns(sector="food") is None
    assert hook.inspect_payload_from_row(sector="food", row={}) is None
    assert hook.inspect_row_from_payload(sector="food", payload={"problems": []}) is None


def test_payload_schema_and_qualification_hooks(pm: pluggy.PluginManager) -> None:
    """Schema class and qualification for construction."""
    assert pm.hook.inspect_payload_schema(sector="construction") is ConstructionResultSchema
    assert pm.hook.inspect_required_qualification(sector="construction") == "construction"


def test_checklist_hook(pm: pluggy.PluginManager) -> None:
    """Bilingual lines, unique codes, key items marked, every condition listed."""
    checklist = pm.hook.inspect_checklist(sector="construction")
    assert checklist is CHECKLIST and 15 <= len(checklist) <= 25
    assert len({c.code for c in checklist}) == len(checklist)
    assert all(c.text_zh and c.text_en for c in checklist)
    assert 0 < sum(c.key for c in checklist) < len(checklist)
    assert "有施工单位签署的工程保修书" in {c.text_zh for c in checklist}


def test_judge_hook_passes_rule_input_errors(pm: pluggy.PluginManager) -> None:
    """RuleInputError reaches the caller, naming the field."""
    with pytest.raises(RuleInputError) as err:
        pm.hook.inspect_judge(
            sector="construction",
            payload={
                "concrete_batches": [
                    {"grade": "C30", "values": ["30"] * 9, "method": "statistical"}
                ]
            },
            context={},
        )
    assert err.value.field == "concrete_batches.0.values"


def test_template_columns_round_trip(pm: pluggy.PluginManager) -> None:
    """Unique names; the example row parses, validates and judges."""
    columns = pm.hook.inspect_template_columns(sector="construction")
    names = [c.name for c in columns]
    assert len(set(names)) == len(names) and all(c.header_zh for c in columns)
    assert {"completion.conditions.warranty_signed", "concrete_batches.1.values"} <= set(names)
    row = {c.name: c.example for c in columns}
    payload = pm.hook.inspect_payload_from_row(sector="construction", row=row)
    verdict = judge(
        pm, {k: v for k, v in payload.items() if k not in ("project_no", "project_name")}
    )
    assert [i.item for i in verdict.items][:2] == [
        "concrete_batches.0.mean",
        "concrete_batches.0.min",
    ]
    assert verdict.items[0].measured == "35.4" and verdict.items[0].passed
    assert any(f.code == "construction.problem.leak" for f in verdict.findings)


def test_payload_from_row_hook(pm: pluggy.PluginManager) -> None:
    """Dotted paths nest, numbered groups become lists, 是/否 become booleans, the tree
    comes from JSON text and strengths from a ;-separated cell."""
    row: dict[str, Any] = {
        "project_no": 2024017,
        "project_name": "滨江花园",
        "acceptance_tree": json.dumps(lot(), ensure_ascii=False),
        "concrete_batches.0.batch_no": "KJ-01",
        "concrete_batches.0.grade": "C30",
        "concrete_batches.0.values": "35.0; 34.2，36.1 33.9;35.3",
        "concrete_batches.1.batch_no": None,
        "completion.acceptance_date": dt.datetime(2024, 6, 18),
        "completion.notice_date": dt.date(2024, 6, 6),
        "completion.filing_date": "",
        **{f"completion.conditions.{k}": "是" for k in CONDITIONS_MET},
        "completion.conditions.fire_acceptance": "否",
        "problems.0.type": None,
        "problems.1.type": "crack",
        "problems.1.location": "2层楼板",
    }
    payload = pm.hook.inspect_payload_from_row(sector="construction", row=row)
    assert payload["project_no"] == "2024017"
    assert payload["acceptance_tree"] == lot()
    assert payload["concrete_batches"] == [
        {"batch_no": "KJ-01", "grade": "C30", "values": ["35.0", "34.2", "36.1", "33.9", "35.3"]}
    ]
    assert payload["completion"]["acceptance_date"] == "2024-06-18"
    assert "filing_date" not in payload["completion"]
    assert payload["completion"]["conditions"]["warranty_signed"] is True
    assert payload["completion"]["conditions"]["fire_acceptance"] is False
    assert payload["problems"] == [{"type": "crack", "location": "2层楼板"}]
    verdict = judge(pm, {k: v for k, v in payload.items() if not k.startswith("project")})
    assert verdict.conclusion == "fail"  # fire acceptance not met


def test_payload_from_row_bad_json_is_left_for_the_schema(pm: pluggy.PluginManager) -> None:
    """Broken JSON in the tree cell surfaces as a schema error on acceptance_tree."""
    row = {"project_no": "x", "project_name": "p", "acceptance_tree": "{not json"}
    payload = pm.hook.inspect_payload_from_row(sector="construction", row=row)
    with pytest.raises(ValidationError) as err:
        ConstructionResultSchema().load(payload)
    assert "acceptance_tree" in err.value.messages


def test_risk_factors_hook(pm: pluggy.PluginManager) -> None:
    """Only results before as_of count: failed share, concrete failures, late procedures,
    common problems."""
    as_of = dt.date(2024, 9, 1)

    def stored(day: dt.date, parts: dict[str, Any]) -> dict[str, Any]:
        verdict = rules.judge_result(parts, inspected_on=day)
        return {"recorded_on": day, "payload": parts, "judgement": asdict(verdict)}

    failing_batch = [{"batch_no": "b", "grade": "C30", "values": TIGHT_10}]
    results = [
        stored(dt.date(2024, 7, 1), {"concrete_batches": failing_batch}),
        stored(dt.date(2024, 7, 22), {"completion": completion(filing_date="2024-07-20")}),
        stored(
            dt.date(2024, 7, 3),
            {"problems": [{"type": "leak", "location": "x"}, {"type": "crack", "location": "y"}]},
        ),
        stored(dt.date(2024, 7, 4), {"acceptance_tree": building()}),
        stored(as_of, {"concrete_batches": failing_batch}),  # on as_of: ignored
    ]
    (factors,) = pm.hook.inspect_risk_factors(sector="construction", results=results, as_of=as_of)
    assert {f.name: f.value for f in factors} == {
        "construction_failed_rate": 0.25,
        "construction_concrete_failures": 1.0,
        "construction_procedure_violations": 1.0,
        "construction_common_problems": 2.0,
    }
    assert all(f.description_zh and f.description_en for f in factors)


# --------------------------------------------------------------------------- export rows


def round_trip(
    pm: pluggy.PluginManager, raw: dict[str, Any], transport: str = "dict"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """raw → load → stored JSON → export row → file → import row → load: (first, again, row)."""
    schema = ConstructionResultSchema()
    first = schema.load(raw)
    row = pm.hook.inspect_row_from_payload(sector="construction", payload=as_stored(first))
    back = pm.hook.inspect_payload_from_row(sector="construction", row=through(row, transport))
    return first, schema.load(back), row


def project(**parts: Any) -> dict[str, Any]:
    """A raw construction payload with the given parts."""
    return {"project_no": "JS-2024-017", "project_name": "滨江花园 3# 住宅楼", **parts}


EXPORT_PAYLOADS: dict[str, dict[str, Any]] = {
    "every part, more batches and problems than groups": project(
        acceptance_tree=building(),
        concrete_batches=[
            {"batch_no": "KJ-01", "grade": "C30", "values": ["35.2", "34.8", "36.10"]},
            {
                "batch_no": "KJ-02",
                "grade": "C30",
                "method": "statistical",
                "values": TIGHT_10,
            },
            {
                "batch_no": "KJ-03",
                "grade": "c40",
                "method": "known_sigma",
                "values": ["45.0", "46.0", "44.5"],
                "sigma0": "3.2",
                "sigma0_history": ["3.0", "3.5", "2.9"],
            },
        ],
        completion=completion(
            filing_date="2024-06-28",
            conditions={**CONDITIONS_MET, "fire_acceptance": False, "household_acceptance": True},
        ),
        problems=[
            {"type": "leak", "location": "3#楼 12 层卫生间", "description": "地漏周边渗水"},
            {"type": "crack", "location": "2层楼板", "severity": "major"},
            {"type": "hollow", "location": "外墙", "description": "空鼓；面积约 2 m²"},
        ],
    ),
    "tree only, flags and rates": project(
        acceptance_tree=subitem(
            "钢筋",
            lot("1层", general=((10, 9), (20, 20)), severe_defect=False, code="010601"),
            lot("2层", main=(True, False)),
        )
    ),
    "completion only, optional conditions absent": project(
        completion={**completion(), "conditions": {**CONDITIONS_MET, "warranty_signed": False}}
    ),
    "one bare problem": project(problems=[{"type": "dusting_floor", "location": "地下室"}]),
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
    assert pm.hook.inspect_row_from_payload(sector="construction", payload=first) == row
    template = [c.name for c in pm.hook.inspect_template_columns(sector="construction")]
    assert list(row)[: len(template)] == template


def test_row_from_payload_encodings(pm: pluggy.PluginManager) -> None:
    """Tree as JSON without the schema's defaulted nulls, strengths ``;``-separated with their exact
    text, conditions 是/否 (unset ones blank), extra batches and problems numbered on."""
    _, _, row = round_trip(pm, EXPORT_PAYLOADS["every part, more batches and problems than groups"])
    assert json.loads(row["acceptance_tree"]) == building()  # as typed: no defaulted nulls
    assert row["concrete_batches.0.values"] == "35.2;34.8;36.10"
    assert row["concrete_batches.2.sigma0_history"] == "3.0;3.5;2.9"
    assert row["concrete_batches.2.method"] == "known_sigma"
    assert row["completion.conditions.fire_acceptance"] == "否"
    assert row["completion.conditions.warranty_signed"] == "是"
    assert row["completion.conditions.rectification_closed"] is None
    assert row["problems.2.description"] == "空鼓；面积约 2 m²" and "problems.3.type" not in row


def test_empty_part_lists_come_back_absent_and_judge_the_same(pm: pluggy.PluginManager) -> None:
    """A blank cell cannot tell ``[]`` from no list: ``problems: []`` re-imports as ``None``,
    which the rules treat alike."""
    raw = project(completion=completion(), problems=[], concrete_batches=[])
    first, again, _ = round_trip(pm, raw)
    assert (first["problems"], again["problems"]) == ([], None)
    assert {**again, "problems": [], "concrete_batches": []} == first
    context = {"recorded_on": RECORDED, "config": {}}
    assert pm.hook.inspect_judge(
        sector="construction", payload=first, context=context
    ) == pm.hook.inspect_judge(sector="construction", payload=again, context=context)


_STRENGTHS = st.decimals(min_value="0.1", max_value=200, places=2).map(str)
_TEXTS = st.text(alphabet=st.sampled_from('甲乙AB ;；,|[]{}"0-'), min_size=1, max_size=10).filter(
    lambda text: text == text.strip()
)


@settings(max_examples=60, deadline=None)
@given(
    batches=st.none()
    | st.lists(
        st.fixed_dictionaries(
            {
                "batch_no": _TEXTS,
                "grade": st.sampled_from(["C25", "C30", "c50", "C60.5"]),
                "values": st.lists(_STRENGTHS, min_size=1, max_size=15),
            },
            optional={
                "method": st.none() | st.sampled_from(list(rules.METHODS)),
                "sigma0": st.none() | _STRENGTHS,
                "sigma0_history": st.none() | st.lists(_STRENGTHS, min_size=1, max_size=5),
            },
        ),
        min_size=1,
        max_size=4,
    ),
    problems=st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["leak", "crack", "hollow", "pipe_leak"]), "location": _TEXTS},
            optional={
                "description": st.none() | _TEXTS,
                "severity": st.none() | st.sampled_from(["critical", "major", "minor"]),
            },
        ),
        min_size=1,
        max_size=4,
    ),
    tree_name=_TEXTS,
)
def test_row_from_payload_round_trips_any_batches_and_problems(
    batches: list[dict[str, Any]] | None, problems: list[dict[str, Any]], tree_name: str
) -> None:
    """Property: any number of batches and problems, optional fields given or not, texts with
    separators and JSON characters — the exported row re-imports unchanged."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    manager.register(plugins.construction)
    raw = project(concrete_batches=batches, problems=problems, acceptance_tree=lot(tree_name))
    first, again, _ = round_trip(manager, raw)
    assert again == first
