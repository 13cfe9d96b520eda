"""Drugs plugin: GMP (2021 measures), GSP percentage rule (2016), sampling (ChP 2020), hooks."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

import inspect_core.hookspecs
import plugins.drugs
from inspect_core.plugin_api import Judgement, RuleInputError
from plugins.drugs import rules
from plugins.drugs.rules import Defect, judge_dissolution, judge_gmp, judge_gsp
from plugins.drugs.schemas import DrugPayloadSchema
from tests.plugins.helpers import as_stored, through

SECTOR = "drugs"


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    """A plugin manager holding only the drugs plugin."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    manager.register(plugins.drugs)
    manager.check_pending()
    return manager


def defects(grade: str, n: int, subsystem: str = "") -> list[Defect]:
    """``n`` defects of one grade, distinct item codes."""
    return [Defect(f"{grade[:1].upper()}{i:03d}", grade, subsystem) for i in range(n)]


def load(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate a payload with the sector schema."""
    return DrugPayloadSchema().load(payload)


def sampling(*tests: dict[str, Any], **sample: Any) -> dict[str, Any]:
    """A loaded sampling payload with the given test items."""
    base = {"stage": "circulation", "product_name": "某某片", "dosage_form": "tablet"}
    return load(
        {"inspection_type": "sampling", "sample": {**base, **sample, "test_items": list(tests)}}
    )


# --------------------------------------------------------------------------- GSP (2016)


def test_gsp_table_one_critical_defect_fails() -> None:
    """Must-show: a single critical (**) defect fails the GSP inspection whatever else."""
    judgement = judge_gsp(defects("critical", 1))
    assert (judgement.conclusion, judgement.passed) == ("fail", False)
    assert (judgement.conclusion_zh, judgement.conclusion_en) == ("不通过检查", "Failed")
    critical = next(i for i in judgement.items if i.item == "gsp_critical")
    assert critical.measured == "1/6 (16.7%)" and not critical.passed
    assert [f.severity for f in judgement.findings] == ["critical"]


# Worked table: (critical, major, general, not applicable per class) → conclusion.
GSP_TABLE = [
    (0, 0, 0, {}, "pass"),
    (0, 0, 29, {}, "pass"),  # 29/145 = 20.0 % exactly: ≤20 % passes
    (0, 0, 30, {}, "rectify"),  # 20.7 %
    (0, 0, 30, {"general": 45}, "rectify"),  # 30/100 = 30 % exactly: still re-check
    (0, 0, 31, {"general": 45}, "fail"),  # 31 %
    (0, 9, 20, {"major": 7, "general": 45}, "rectify"),  # 9/100 major < 10 %, general 20 %
    (0, 10, 0, {"major": 7}, "fail"),  # 10/100 = 10 % exactly is not < 10 %
    (0, 9, 21, {"major": 7, "general": 45}, "fail"),  # major < 10 % but general 21 %
    (0, 1, 0, {}, "rectify"),
    (1, 0, 0, {}, "fail"),
    (0, 0, 44, {}, "fail"),  # 30.3 %
]


@pytest.mark.parametrize(("n_crit", "n_major", "n_general", "na", "expected"), GSP_TABLE)
def test_gsp_percentage_rule_and_boundaries(
    n_crit: int, n_major: int, n_general: int, na: dict[str, int], expected: str
) -> None:
    """Boundaries at 20 %, 30 % (general) and 10 % (major) of items checked per class."""
    found = defects("critical", n_crit) + defects("major", n_major) + defects("general", n_general)
    judgement = judge_gsp(found, not_applicable=na)
    assert judgement.conclusion == expected
    assert judgement.passed is (expected == "pass")


def test_gsp_items_show_fraction_of_checked_items() -> None:
    """Not-applicable items leave the denominator shown in the item."""
    judgement = judge_gsp(defects("general", 30), not_applicable={"general": 45})
    general = next(i for i in judgement.items if i.item == "gsp_general")
    assert general.measured == "30/100 (30.0%)"
    assert judgement.conclusion_zh == "限期整改后复查"


def test_gsp_denominators_and_thresholds_are_configurable() -> None:
    """A district's retail table (different counts) changes the percentages."""
    found = defects("general", 20)
    assert judge_gsp(found).conclusion == "pass"  # 20/145 = 13.8 %
    retail = {"gsp_denominators": {"general": 80}}
    assert judge_gsp(found, config=retail).conclusion == "rectify"  # 25 %
    stricter = {"gsp_pass_general_max_pct": 10}
    assert judge_gsp(found, config=stricter).conclusion == "rectify"


def test_gsp_rejects_impossible_counts() -> None:
    """More not-applicable items than exist, or more defects than checked, name the field."""
    with pytest.raises(RuleInputError) as exc:
        judge_gsp([], not_applicable={"major": 108})
    assert exc.value.field == "gsp_not_applicable.major"
    with pytest.raises(RuleInputError) as exc:
        judge_gsp(defects("critical", 2), not_applicable={"critical": 5})
    assert exc.value.field == "defects"


def test_gsp_counts_each_item_once_and_needs_an_item_checked() -> None:
    """Thirty defects under one item code were thirty items (20.7 % → rectify), and every
    item "not applicable" passed an inspection that checked nothing: both name the field."""
    with pytest.raises(RuleInputError) as exc:
        judge_gsp([Defect("G-01", "general")] * 30)
    assert (exc.value.field, exc.value.message) == (
        "defects.1.item_code",
        "item G-01 is already listed (defects.0): a GSP item counts once",
    )
    with pytest.raises(RuleInputError) as exc:
        judge_gsp([], not_applicable={"critical": 6, "major": 107, "general": 145})
    assert (exc.value.field, exc.value.message) == ("gsp_not_applicable", "leaves no item checked")
    one_left = judge_gsp([], not_applicable={"critical": 6, "major": 107, "general": 144})
    assert one_left.conclusion == "pass"  # one item checked, no defect
    assert judge_gsp(defects("general", 30)).conclusion == "rectify"  # thirty distinct items


def test_gsp_falsified_records_fail() -> None:
    """Falsified records fail a GSP inspection that would otherwise pass."""
    judgement = judge_gsp([], records_falsified=True)
    assert judgement.conclusion == "fail"
    assert [f.code for f in judgement.findings] == ["DRUG-RECORDS-FALSIFIED"]


_ORDER = {"pass": 0, "rectify": 1, "fail": 2}


@settings(max_examples=150)
@given(
    st.integers(0, 2),
    st.integers(0, 30),
    st.integers(0, 60),
    st.sampled_from(["critical", "major", "general"]),
)
def test_gsp_one_more_defect_never_improves_the_conclusion(
    n_crit: int, n_major: int, n_general: int, extra: str
) -> None:
    """Monotonicity of the percentage rule."""
    found = defects("critical", n_crit) + defects("major", n_major) + defects("general", n_general)
    before = judge_gsp(found).conclusion
    after = judge_gsp([*found, Defect("X999", extra)]).conclusion
    assert _ORDER[after] >= _ORDER[before]


# --------------------------------------------------------------------------- GMP (2021)


def test_gmp_no_defects_or_minor_with_sound_qms_is_compliant() -> None:
    """符合要求: no defects, or unrelated general defects with a sound QMS."""
    assert judge_gmp([]).conclusion == "pass"
    spread = [Defect("G1", "general", "物料"), Defect("G2", "general", "生产")]
    judgement = judge_gmp(spread)
    assert (judgement.conclusion, judgement.conclusion_zh) == ("pass", "符合要求")
    assert {f.severity for f in judgement.findings} == {"minor"}
    assert judge_gmp(spread, qms_sound=False).conclusion == "rectify"


def test_gmp_major_defect_or_related_generals_wait_for_rectification() -> None:
    """待整改后评定: a major defect, or ≥3 (default) related general defects."""
    assert judge_gmp([Defect("M1", "major", "质量控制")]).conclusion == "rectify"
    related = defects("general", 3, "质量控制")
    judgement = judge_gmp(related)
    assert (judgement.conclusion, judgement.conclusion_zh) == ("rectify", "待整改后评定")
    assert "DRUG-GMP-RELATED-GENERAL" in {f.code for f in judgement.findings}
    assert judge_gmp(defects("general", 2, "质量控制")).conclusion == "pass"


def test_gmp_related_majors_critical_or_falsified_fail() -> None:
    """不符合要求: a critical defect, ≥3 (default) related majors, or falsified records."""
    assert judge_gmp([Defect("C1", "critical")]).conclusion == "fail"
    assert judge_gmp([], records_falsified=True).conclusion == "fail"
    related = defects("major", 3, "Quality Control")
    related[2] = Defect("M9", "major", " quality control ")  # same subsystem, other spelling
    judgement = judge_gmp(related)
    assert (judgement.conclusion, judgement.conclusion_en) == ("fail", "Non-compliant")
    assert "DRUG-GMP-RELATED-MAJOR" in {f.code for f in judgement.findings}
    unrelated = [Defect(f"M{i}", "major", s) for i, s in enumerate(("物料", "生产", "确认"))]
    assert judge_gmp(unrelated).conclusion == "rectify"
    assert judge_gmp(defects("major", 3)).conclusion == "rectify"  # no subsystem: unrelated


def test_gmp_related_counts_are_configurable() -> None:
    """'Several' is a district setting."""
    two = defects("major", 2, "物料")
    assert judge_gmp(two).conclusion == "rectify"
    assert judge_gmp(two, config={"gmp_related_major_for_fail": 2}).conclusion == "fail"


def test_gmp_defect_grades_map_to_finding_severity() -> None:
    """严重 → critical, 主要 → major, 一般 → minor."""
    found = [Defect("C", "critical"), Defect("M", "major"), Defect("G", "general")]
    assert [f.severity for f in judge_gmp(found).findings] == ["critical", "major", "minor"]


def test_unknown_or_bad_config_names_the_key() -> None:
    """A mistyped override is an input error, not silently ignored."""
    with pytest.raises(RuleInputError) as exc:
        judge_gmp([], config={"gmp_related_major": 2})
    assert exc.value.field == "config.gmp_related_major"
    with pytest.raises(RuleInputError) as exc:
        judge_gsp([], config={"sampling_severity": {"assay": "fatal"}})
    assert exc.value.field == "config.sampling_severity.assay"


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize(
    ("measured", "passed"),
    [("90.0", True), ("110.0", True), ("89.9", False), ("110.1", False), ("100.0", True)],
)
def test_assay_against_default_tablet_range(measured: str, passed: bool) -> None:
    """Typical tablets: 90.0–110.0 % of label claim (ChP 2020, S23), ends inclusive."""
    judgement = rules.judge(sampling({"kind": "assay", "measured": measured}))
    assert judgement.items[0].limit == "90.0–110.0"
    assert judgement.passed is passed
    assert judgement.conclusion_zh == ("符合规定" if passed else "不符合规定")


def test_assay_far_outside_is_critical_and_labelled_range_wins() -> None:
    """>10 points outside → critical (configurable); the item's own range overrides defaults."""
    near = rules.judge(sampling({"kind": "assay", "measured": "85.0"}))
    far = rules.judge(sampling({"kind": "assay", "measured": "79.0"}))
    assert [f.severity for f in near.findings] == ["major"]
    assert [f.severity for f in far.findings] == ["critical"]
    assert "[流通环节]" in far.findings[0].message_zh
    own = rules.judge(
        sampling({"kind": "assay", "measured": "96.0", "lower": "97.0", "upper": "103.0"})
    )
    assert not own.passed and own.items[0].limit == "97.0–103.0"
    relaxed = rules.judge(
        sampling({"kind": "assay", "measured": "79.0"}), {"assay_far_outside_points": 20}
    )
    assert [f.severity for f in relaxed.findings] == ["major"]


def test_assay_product_specific_default_and_missing_range() -> None:
    """Paracetamol tablets use 95.0–105.0 %; no range and unknown form is an input error."""
    judgement = rules.judge(
        sampling({"kind": "assay", "measured": "94.0"}, product_name="对乙酰氨基酚片")
    )
    assert not judgement.passed and judgement.items[0].limit == "95.0–105.0"
    with pytest.raises(RuleInputError) as exc:
        rules.judge(sampling({"kind": "assay", "measured": "94.0"}, dosage_form="气雾剂"))
    assert exc.value.field == "sample.test_items.0.lower"


def D(*values: float) -> list[Decimal]:
    """Decimals from literals."""
    return [Decimal(str(v)) for v in values]


@pytest.mark.parametrize(
    ("units", "outcome", "stage"),
    [
        (D(80, 82, 85, 90, 88, 81), "conforms", 1),  # all ≥ Q
        (D(75, 71, 90, 90, 90, 90), "conforms", 1),  # 2 below Q, none below Q−10, mean ≥ Q
        (D(75, 71, 78, 95, 95, 95), "fails", 1),  # 3 below Q
        (D(75, 71, 82, 82, 82, 82), "fails", 1),  # 2 below Q, none below Q−10, mean 79 < Q
        (D(65, 90, 90, 90, 90, 90), "retest", 1),  # one below Q−10, not below Q−20
        (D(59, 90, 90, 90, 90, 90), "fails", 1),  # below Q−20
        (D(65, 90, 90, 90, 90, 90, 85, 85, 85, 85, 85, 85), "conforms", 2),
        (D(65, 90, 90, 90, 90, 90, 85, 78, 78, 85, 85, 85), "conforms", 2),  # 3 below Q
        (D(65, 90, 90, 90, 90, 90, 78, 78, 78, 85, 85, 85), "fails", 2),  # 4 below Q of 12
        (D(65, 90, 90, 90, 90, 90, 85, 69, 85, 85, 85, 85), "fails", 2),  # 2 below Q−10
    ],
)
def test_dissolution_chp_0931(units: list[Decimal], outcome: str, stage: int) -> None:
    """ChP 2020 通则 0931 first and second stage with Q = 80 %."""
    result = judge_dissolution(units, Decimal(80))
    assert (result.outcome, result.stage) == (outcome, stage)


def test_dissolution_retest_needs_all_twelve_units() -> None:
    """A stage-1 'retest' pattern cannot be judged on 6 units: the field is named."""
    with pytest.raises(RuleInputError) as exc:
        rules.judge(sampling({"kind": "dissolution", "q": "80", "units": [65] + [90] * 5}))
    assert exc.value.field == "sample.test_items.0.units"


def test_identification_failure_is_critical_possible_counterfeit() -> None:
    """鉴别 fails → critical finding citing the Drug Administration Law's 假药 clause."""
    judgement = rules.judge(
        sampling({"kind": "assay", "measured": "100"}, {"kind": "identification", "passed": False})
    )
    assert judgement.conclusion == "fail"
    (finding,) = judgement.findings
    assert finding.code == "DRUG-SAMPLE-IDENTIFICATION" and finding.severity == "critical"
    assert "假药" in finding.basis and "counterfeit" in finding.message_en


def test_related_substances_and_other_items_with_direction() -> None:
    """Measured vs limit: related substances are maxima; 'other' items carry direction."""
    ok = rules.judge(
        sampling(
            {"kind": "related_substances", "measured": "0.5", "limit": "0.5"},
            {"kind": "other", "name": "pH", "measured": "6.5", "limit": "6.0", "direction": "min"},
        )
    )
    assert ok.passed
    bad = rules.judge(
        sampling(
            {"kind": "related_substances", "measured": "0.51", "limit": "0.5"},
            {
                "kind": "other",
                "name": "水分",
                "measured": "5.1",
                "limit": "5.0",
                "direction": "max",
            },
        ),
        {"sampling_severity": {"other": "minor"}},
    )
    assert [(f.code, f.severity) for f in bad.findings] == [
        ("DRUG-SAMPLE-RELATED-SUBSTANCES", "major"),
        ("DRUG-SAMPLE-OTHER", "minor"),
    ]
    assert bad.items[0].limit == "≤0.5"


def test_unnamed_related_substances_read_in_english_in_the_english_texts() -> None:
    """An unnamed related-substances item was "有关物质 measured 0.51%" in the English
    item and finding: the English reader got the Chinese name, as the assay does not."""
    bad = rules.judge(sampling({"kind": "related_substances", "measured": "0.51", "limit": "0.5"}))
    (item,), (finding,) = bad.items, bad.findings
    assert item.message_en == "Related substances measured 0.51%, limit ≤0.5%"
    assert finding.message_en == (
        "[circulation stage] Related substances does not conform: 0.51% against ≤0.5%"
    )
    assert item.message_zh == "有关物质 实测 0.51%，限度 ≤0.5%"
    assert finding.message_zh == "[流通环节] 有关物质 不符合规定：实测 0.51%，限度 ≤0.5%"
    named = rules.judge(
        sampling({"kind": "related_substances", "name": "杂质A", "measured": "0.1", "limit": "0.5"})
    )
    assert named.items[0].message_en == "杂质A measured 0.1%, limit ≤0.5%"


@pytest.mark.parametrize(
    ("test", "field"),
    [
        ({"kind": "assay", "measured": "9950"}, "measured"),  # 99.50 without its point
        ({"kind": "assay", "measured": "99", "lower": "90", "upper": "1100"}, "upper"),
        ({"kind": "dissolution", "q": "80", "units": ["90"] * 5 + ["1e29"]}, "units.5"),
        ({"kind": "related_substances", "measured": "1000.1", "limit": "0.5"}, "measured"),
        ({"kind": "related_substances", "measured": "0.1", "limit": "5000", "unit": "％"}, "limit"),
    ],
)
def test_a_result_above_the_label_claim_ceiling_is_refused_naming_it(
    test: dict[str, Any], field: str
) -> None:
    """Above ``label_claim_max_pct`` (1000 %) a value in % of label claim is an entry
    error: "9950" was judged a critical assay failure that stood in the record."""
    with pytest.raises(RuleInputError) as exc:
        rules.judge(sampling(test))
    assert exc.value.field == f"sample.test_items.0.{field}"
    assert "above the plausible maximum (1000%)" in exc.value.message


def test_the_label_claim_ceiling_keeps_real_extremes_and_other_units() -> None:
    """The ceiling itself is judged (a tenfold strength mix-up must still be recorded as
    the critical failure it is); a related substance in ppm and an "other" item have
    units of their own and no ceiling; a district may raise it, not drop it below 100."""
    at = rules.judge(sampling({"kind": "assay", "measured": "1000"}))
    assert not at.passed and [f.severity for f in at.findings] == ["critical"]
    own_units = rules.judge(
        sampling(
            {"kind": "related_substances", "measured": "5000", "limit": "10", "unit": "ppm"},
            {
                "kind": "other",
                "name": "细菌内毒素",
                "measured": "2000",
                "limit": "2500",
                "direction": "max",
                "unit": "EU/mg",
            },
        )  # fmt: skip
    )
    assert [i.passed for i in own_units.items] == [False, True]
    raised = rules.judge(
        sampling({"kind": "assay", "measured": "9950"}), {"label_claim_max_pct": 10000}
    )
    assert not raised.passed
    for bad in (99, "abc", True):
        with pytest.raises(RuleInputError) as exc:
            rules.judge(
                sampling({"kind": "assay", "measured": "100"}), {"label_claim_max_pct": bad}
            )
        assert (exc.value.field, exc.value.message) == (
            "config.label_claim_max_pct",
            "must be a number ≥ 100",
        )


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"inspection_type": "audit"}, ("inspection_type",)),
        ({"inspection_type": "gmp", "colour": "red"}, ("colour",)),
        (
            {"inspection_type": "gmp", "defects": [{"item_code": "A", "grade": "bad"}]},
            ("defects", 0, "grade"),
        ),
        ({"inspection_type": "sampling"}, ("sample",)),
        ({"inspection_type": "gmp", "gsp_not_applicable": {"major": 1}}, ("gsp_not_applicable",)),
        (
            {"inspection_type": "gsp", "gsp_not_applicable": {"major": -1}},
            ("gsp_not_applicable", "major"),
        ),
        (
            {
                "inspection_type": "sampling",
                "sample": {
                    "stage": "use",
                    "product_name": "x",
                    "test_items": [{"kind": "assay", "measured": "-1"}],
                },
            },
            ("sample", "test_items", 0, "measured"),
        ),
        (
            {
                "inspection_type": "sampling",
                "sample": {
                    "stage": "use",
                    "product_name": "x",
                    "test_items": [{"kind": "assay", "measured": "abc"}],
                },
            },
            ("sample", "test_items", 0, "measured"),
        ),
        (
            {
                "inspection_type": "sampling",
                "sample": {"stage": "use", "product_name": "x", "test_items": [{"kind": "assay"}]},
            },
            ("sample", "test_items", 0, "measured"),
        ),
        (
            {
                "inspection_type": "sampling",
                "sample": {
                    "stage": "use",
                    "product_name": "x",
                    "test_items": [{"kind": "dissolution", "q": "80", "units": [80] * 7}],
                },
            },
            ("sample", "test_items", 0, "units"),
        ),
        (
            {
                "inspection_type": "sampling",
                "sample": {
                    "stage": "use",
                    "product_name": "x",
                    "test_items": [{"kind": "assay", "measured": "99", "lower": "95"}],
                },
            },
            ("sample", "test_items", 0, "upper"),
        ),
        (
            {
                "inspection_type": "sampling",
                "sample": {"stage": "use", "product_name": "x", "test_items": []},
            },
            ("sample", "test_items"),
        ),
    ],
)
def test_schema_rejects_bad_payloads_naming_the_field(
    payload: dict[str, Any], path: tuple[Any, ...]
) -> None:
    """Every rejection names the offending field (nested paths included)."""
    with pytest.raises(ValidationError) as exc:
        load(payload)
    node: Any = exc.value.messages
    for key in path:
        assert key in node, (path, exc.value.messages)
        node = node[key]


def test_schema_accepts_chinese_grades_and_stages() -> None:
    """Inspectors' 严重/主要/一般 and 流通/符合 load as the canonical codes."""
    payload = load({"inspection_type": "gmp", "defects": [{"item_code": "1.2", "grade": "严重"}]})
    assert payload["defects"][0]["grade"] == "critical"
    sample = sampling({"kind": "identification", "passed": "符合"}, stage="使用环节")
    assert sample["sample"]["stage"] == "use"
    assert sample["sample"]["test_items"][0]["passed"] is True


# --------------------------------------------------------------------------- hooks


def test_hooks_declare_sector_schema_checklist_and_qualification(pm: pluggy.PluginManager) -> None:
    """Sector, schema, checklist (~15 lines, key items marked) and qualification."""
    (sectors,) = pm.hook.inspect_sectors()
    assert [(s.code, s.name_zh, s.version) for s in sectors] == [
        ("drugs", "药品", plugins.drugs.__version__)
    ]
    assert pm.hook.inspect_payload_schema(sector=SECTOR) is DrugPayloadSchema
    checklist = pm.hook.inspect_checklist(sector=SECTOR)
    assert 12 <= len(checklist) <= 18
    assert len({c.code for c in checklist}) == len(checklist)
    assert any(c.key for c in checklist) and not all(c.key for c in checklist)
    assert all(c.text_zh and c.text_en for c in checklist)
    assert pm.hook.inspect_required_qualification(sector=SECTOR) == "drugs"


def test_hooks_answer_none_for_other_sectors(pm: pluggy.PluginManager) -> None:
    """Every sector-taking hook stays silent for a sector it does not own."""
    other = "food"
    assert pm.hook.inspect_payload_schema(sector=other) is None
    assert pm.hook.inspect_checklist(sector=other) is None
    assert pm.hook.inspect_judge(sector=other, payload={}, context={}) is None
    assert pm.hook.inspect_risk_factors(sector=other, results=[], as_of=dt.date(2024, 1, 1)) == []
    assert pm.hook.inspect_required_qualification(sector=other) is None
    assert pm.hook.inspect_template_columns(sector=other) is None
    assert pm.hook.inspect_payload_from_row(sector=other, row={}) is None
    assert pm.hook.inspect_row_from_payload(sector=other, payload={"defects": []}) is None


def test_judge_hook_uses_config_from_context(pm: pluggy.PluginManager) -> None:
    """The hook judges a loaded payload with the district's overrides."""
    payload = load(
        {
            "inspection_type": "gmp",
            "defects": [
                {"item_code": f"M{i}", "grade": "major", "subsystem": "物料"} for i in range(2)
            ],
        }
    )
    context = {"recorded_on": dt.date(2024, 5, 1), "uscc": "x", "sectors": ["drugs"]}
    default = pm.hook.inspect_judge(
        sector=SECTOR, payload=payload, context={**context, "config": {}}
    )
    strict = pm.hook.inspect_judge(
        sector=SECTOR,
        payload=payload,
        context={**context, "config": {"gmp_related_major_for_fail": 2}},
    )
    assert isinstance(default, Judgement)
    assert (default.conclusion, strict.conclusion) == ("rectify", "fail")


def test_template_columns_round_trip_through_payload_from_row(pm: pluggy.PluginManager) -> None:
    """Example values of the template form a row that converts and validates."""
    columns = pm.hook.inspect_template_columns(sector=SECTOR)
    names = [c.name for c in columns]
    assert len(names) == len(set(names)) and all(c.header_zh for c in columns)
    row = {c.name: c.example for c in columns}
    payload = load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    kinds = [t["kind"] for t in payload["sample"]["test_items"]]
    assert kinds == ["assay", "dissolution", "related_substances", "identification"]
    assert payload["sample"]["test_items"][1]["units"][0] == Decimal(86)
    judgement = pm.hook.inspect_judge(sector=SECTOR, payload=payload, context={"config": {}})
    assert judgement.passed


def test_payload_from_row_parses_defects_and_flags(pm: pluggy.PluginManager) -> None:
    """The defect cell encoding and 是/否 flags of a GSP row; Excel numbers as floats."""
    row = {
        "inspection_type": "gsp",
        "defects": "GSP-01|严重|质量管理；GSP-02|general",
        "records_falsified": "否",
        "gsp_na_general": 45.0,
        "product_name": "",
    }
    payload = load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    assert [(d["item_code"], d["grade"], d["subsystem"]) for d in payload["defects"]] == [
        ("GSP-01", "critical", "质量管理"),
        ("GSP-02", "general", ""),
    ]
    assert payload["records_falsified"] is False
    assert payload["gsp_not_applicable"] == {"critical": 0, "major": 0, "general": 45}
    bad = pm.hook.inspect_payload_from_row(
        sector=SECTOR, row={"inspection_type": "gmp", "qms_sound": "maybe"}
    )
    with pytest.raises(ValidationError) as exc:
        load(bad)
    assert "qms_sound" in exc.value.messages


@pytest.mark.parametrize(
    ("row", "field"),
    [
        # a critical defect typed on a sampling row: stored as 符合规定, the defect gone
        (
            {"inspection_type": "sampling", "stage": "流通", "product_name": "某某片",
             "identification": "符合", "defects": "GSP-1|严重"},
            "defects",
        ),
        # a failed assay typed on a GMP row: stored as 符合要求, the assay gone
        ({"inspection_type": "gmp", "defects": "G-1|一般|物料", "assay_measured": "70"}, "sample"),
        ({"inspection_type": "gsp", "stage": "生产"}, "sample"),
        ({"inspection_type": "gmp", "gsp_na_general": "5"}, "gsp_not_applicable"),
        ({"inspection_type": "sampling", "gsp_na_major": 0, "stage": "流通", "product_name": "x",
          "identification": "符合"}, "gsp_not_applicable"),
    ],
)  # fmt: skip
def test_an_upload_cell_of_another_inspection_type_is_refused_not_dropped(
    pm: pluggy.PluginManager, row: dict[str, Any], field: str
) -> None:
    """The row reader read only its own type's columns, so a filled cell of another type
    was dropped without a word and the row stored; now the schema refuses it, naming it."""
    payload = pm.hook.inspect_payload_from_row(sector=SECTOR, row=row)
    with pytest.raises(ValidationError) as exc:
        load(payload)
    assert list(exc.value.messages) == [field], exc.value.messages


def test_a_range_or_limit_typed_without_its_result_is_refused_not_dropped(
    pm: pluggy.PluginManager,
) -> None:
    """An assay range or a related-substances limit without the measured value was no test
    item at all: the row stored with one test fewer than the inspector typed."""
    base = {"inspection_type": "sampling", "stage": "流通", "product_name": "某某片"}
    for cells in ({"assay_lower": "95", "assay_upper": "105"}, {"related_substances_limit": "1"}):
        payload = pm.hook.inspect_payload_from_row(
            sector=SECTOR, row={**base, "identification": "符合", **cells}
        )
        with pytest.raises(ValidationError) as exc:
            load(payload)
        assert "measured" in exc.value.messages["sample"]["test_items"][0], exc.value.messages


@pytest.mark.parametrize("cell", [True, "٣", "-1", "4.5"])
def test_a_gsp_count_cell_not_in_ascii_digits_is_refused_naming_it(
    pm: pluggy.PluginManager, cell: Any
) -> None:
    """A spreadsheet's TRUE in a 合理缺项 column failed the row reader
    ("AttributeError: 'bool' object has no attribute 'isdigit'", no column named), and
    "٣" was read as 3 items not applicable: each is refused naming the count."""
    row = {"inspection_type": "gsp", "gsp_na_general": cell}
    with pytest.raises(ValidationError) as exc:
        load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    assert list(exc.value.messages) == ["gsp_not_applicable"]
    assert list(exc.value.messages["gsp_not_applicable"]) == ["general"]
    ok = load(pm.hook.inspect_payload_from_row(sector=SECTOR, row={**row, "gsp_na_general": "45"}))
    assert ok["gsp_not_applicable"]["general"] == 45


def test_a_flag_the_rule_does_not_read_is_refused_not_ignored() -> None:
    """Falsified records on a sampling result, or an unsound QMS on a GSP or sampling
    result, were stored and read by no rule: the result still 符合规定 / 通过检查.
    The defaults (否 / 是), which an export writes on every row, still load."""
    sample = {"stage": "流通", "product_name": "某某片",
              "test_items": [{"kind": "identification", "passed": "符合"}]}  # fmt: skip
    refused = [
        ({"inspection_type": "sampling", "records_falsified": True, "sample": sample},
         {"records_falsified": ["Only for a gmp or gsp inspection."]}),
        ({"inspection_type": "gsp", "qms_sound": False},
         {"qms_sound": ["Only for a gmp inspection."]}),
        ({"inspection_type": "sampling", "qms_sound": False, "sample": sample},
         {"qms_sound": ["Only for a gmp inspection."]}),
    ]  # fmt: skip
    for raw, messages in refused:
        with pytest.raises(ValidationError) as exc:
            load(raw)
        assert exc.value.messages == messages
    flags = {"records_falsified": False, "qms_sound": True}
    assert rules.judge(load({"inspection_type": "sampling", **flags, "sample": sample})).passed
    gsp = load({"inspection_type": "gsp", "records_falsified": True, "qms_sound": True})
    assert rules.judge(gsp).conclusion == "fail"
    defect = {"item_code": "G1", "grade": "一般"}
    gmp = load({"inspection_type": "gmp", "qms_sound": False, "defects": [defect]})
    assert rules.judge(gmp).conclusion == "rectify"


def _result(day: str, payload: dict[str, Any], judgement: Judgement) -> dict[str, Any]:
    return {
        "recorded_on": dt.date.fromisoformat(day),
        "payload": payload,
        "judgement": {"passed": judgement.passed, "conclusion": judgement.conclusion},
    }


def test_risk_factors_use_only_results_before_as_of(pm: pluggy.PluginManager) -> None:
    """Failed-sample rate and defect counts ignore results on or after ``as_of``."""
    good = sampling({"kind": "assay", "measured": "100"})
    bad = sampling({"kind": "identification", "passed": False})
    gmp = load(
        {
            "inspection_type": "gmp",
            "defects": [
                {"item_code": "C1", "grade": "critical"},
                {"item_code": "M1", "grade": "major"},
            ],
        }
    )
    history = [
        _result("2023-01-10", good, rules.judge(good)),
        _result("2023-06-10", bad, rules.judge(bad)),
        _result("2023-09-01", gmp, rules.judge(gmp)),
        _result("2024-01-01", bad, rules.judge(bad)),  # on as_of: excluded
    ]
    (factors,) = pm.hook.inspect_risk_factors(
        sector=SECTOR, results=history, as_of=dt.date(2024, 1, 1)
    )
    values = {f.name: f.value for f in factors}
    assert values == {
        "drugs_failed_sample_rate": 0.5,
        "drugs_critical_defects": 1.0,
        "drugs_major_defects": 1.0,
        "drugs_noncompliant_inspections": 1.0,
    }
    (early,) = pm.hook.inspect_risk_factors(
        sector=SECTOR, results=history, as_of=dt.date(2023, 2, 1)
    )
    assert {f.name: f.value for f in early}["drugs_failed_sample_rate"] == 0.0
    assert all(f.description_zh and f.description_en for f in factors)


# --------------------------------------------------------------------------- export rows


def round_trip(
    pm: pluggy.PluginManager, raw: dict[str, Any], transport: str = "dict"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """raw → load → stored JSON → export row → file → import row → load: (first, again, row)."""
    first = load(raw)
    row = pm.hook.inspect_row_from_payload(sector=SECTOR, payload=as_stored(first))
    again = load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=through(row, transport)))
    return first, again, row


ASSAY = {"kind": "assay", "measured": "98.60", "lower": "95.0", "upper": "105.0"}
DISSOLUTION = {"kind": "dissolution", "q": "80", "units": ["86", "88", "90", "85", "91", "87"]}
RELATED = {"kind": "related_substances", "measured": "0.12", "limit": "0.5"}
IDENTIFICATION = {"kind": "identification", "passed": "符合"}
PH = {"kind": "other", "name": "pH", "measured": "5.2", "limit": "7.0", "direction": "max"}


def _sampling_raw(*tests: dict[str, Any], **sample: Any) -> dict[str, Any]:
    base = {"stage": "流通", "product_name": "对乙酰氨基酚片"}
    return {"inspection_type": "sampling", "sample": {**base, **sample, "test_items": list(tests)}}


EXPORT_PAYLOADS: dict[str, dict[str, Any]] = {
    "gmp, grades in Chinese, unsound QMS": {
        "inspection_type": "gmp",
        "defects": [
            {
                "item_code": "GMP-0101",
                "grade": "主要",
                "subsystem": "质量管理",
                "description": "偏差未调查",
            },
            {"item_code": "GMP-0202", "grade": "general", "description": "培训记录缺页"},
        ],
        "qms_sound": False,
    },
    "gsp, text the compact cell cannot hold": {
        "inspection_type": "gsp",
        "defects": [
            {
                "item_code": "GSP-01401",
                "grade": "critical",
                "description": "温湿度记录不全；未校准",
            },
            {"item_code": "GSP-02301", "grade": "**", "subsystem": "设施|设备"},
        ],
        "records_falsified": True,
        "gsp_not_applicable": {"general": 45},
    },
    "gsp, no defects, no counts": {"inspection_type": "gsp", "defects": []},
    "sampling, every fixed column": _sampling_raw(
        ASSAY, DISSOLUTION, RELATED, IDENTIFICATION, batch_no="20240301", dosage_form="片剂"
    ),
    "sampling, tests beyond the fixed columns": _sampling_raw(
        RELATED,
        ASSAY,
        PH,
        {"kind": "assay", "measured": "101"},
        {**DISSOLUTION, "units": [*DISSOLUTION["units"], "70", "75", "78", "80", "82", "79"]},
    ),
    "sampling, assay with a unit, failed identification": _sampling_raw(
        {"kind": "assay", "measured": "99", "unit": "%"},
        {"kind": "identification", "passed": False},
        stage="use",
    ),
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
    assert pm.hook.inspect_row_from_payload(sector=SECTOR, payload=first) == row
    assert list(row) == [c.name for c in pm.hook.inspect_template_columns(sector=SECTOR)]


def test_row_from_payload_encodings(pm: pluggy.PluginManager) -> None:
    """Compact defects and 是/否 where they fit, JSON where not; fixed test columns while the
    tests come in their order, the rest (in order) as JSON in ``more_test_items``."""
    _, _, gmp = round_trip(pm, EXPORT_PAYLOADS["gmp, grades in Chinese, unsound QMS"])
    assert gmp["defects"] == "GMP-0101|major|质量管理|偏差未调查;GMP-0202|general||培训记录缺页"
    assert (gmp["records_falsified"], gmp["qms_sound"], gmp["gsp_na_general"]) == ("否", "否", None)
    _, _, gsp = round_trip(pm, EXPORT_PAYLOADS["gsp, text the compact cell cannot hold"])
    assert [d["description"] for d in json.loads(gsp["defects"])] == ["温湿度记录不全；未校准", ""]
    assert (gsp["gsp_na_critical"], gsp["gsp_na_general"]) == (0, 45)
    # compact text that would itself parse as a JSON array is written as JSON instead
    tricky = {"inspection_type": "gmp", "defects": [{"item_code": '["x', "grade": "major"}]}
    tricky["defects"][0]["subsystem"] = 'y"]'
    first, again, row = round_trip(pm, tricky)
    assert again == first and json.loads(row["defects"])[0]["item_code"] == '["x'
    _, _, full = round_trip(pm, EXPORT_PAYLOADS["sampling, every fixed column"])
    assert full["dissolution_units"] == "86;88;90;85;91;87" and full["identification"] == "符合"
    assert full["assay_measured"] == "98.60" and full["more_test_items"] is None
    _, _, more = round_trip(pm, EXPORT_PAYLOADS["sampling, tests beyond the fixed columns"])
    assert more["related_substances_measured"] == "0.12" and more["assay_measured"] is None
    assert [t["kind"] for t in json.loads(more["more_test_items"])] == [
        "assay",
        "other",
        "assay",
        "dissolution",
    ]


def test_payload_from_row_reads_json_cells(pm: pluggy.PluginManager) -> None:
    """Defects as a JSON array; bad JSON in ``more_test_items`` is named by the schema."""
    row = {
        "inspection_type": "gmp",
        "defects": json.dumps([{"item_code": "A;1", "grade": "严重"}], ensure_ascii=False),
    }
    payload = load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    assert [(d["item_code"], d["grade"]) for d in payload["defects"]] == [("A;1", "critical")]
    bad = {"inspection_type": "sampling", "stage": "流通", "product_name": "x"}
    bad["more_test_items"] = "[{not json"
    with pytest.raises(ValidationError) as exc:
        load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=bad))
    assert "test_items" in exc.value.messages["sample"]


_DECIMALS = st.decimals(min_value=0, max_value=100, places=2).map(str)
_TEXTS = st.text(alphabet=st.sampled_from("AB甲乙-:;；|\n ["), min_size=1, max_size=8)


@st.composite
def any_test_item(draw: st.DrawFn) -> dict[str, Any]:
    """A raw test item of any kind, optional fields sometimes given."""
    kind = draw(st.sampled_from(rules.TEST_KINDS))
    if kind == "assay":
        item = {"measured": draw(_DECIMALS)}
        if draw(st.booleans()):
            item.update(lower="95", upper="105")
    elif kind == "dissolution":
        units = st.lists(_DECIMALS, min_size=6, max_size=6) | st.lists(
            _DECIMALS, min_size=12, max_size=12
        )
        item = {"q": draw(_DECIMALS), "units": draw(units)}
    elif kind == "related_substances":
        item = {"measured": draw(_DECIMALS), "limit": draw(_DECIMALS)}
    elif kind == "identification":
        item = {"passed": draw(st.booleans())}
    else:
        item = {
            "name": draw(_TEXTS),
            "measured": draw(_DECIMALS),
            "limit": draw(_DECIMALS),
            "direction": draw(st.sampled_from(["max", "min"])),
        }
    if draw(st.integers(0, 4)) == 0:
        item["unit"] = draw(_TEXTS)
    return {"kind": kind, **item}


_DEFECTS = st.lists(
    st.fixed_dictionaries(
        {"item_code": _TEXTS, "grade": st.sampled_from(["critical", "major", "general", "一般"])},
        optional={"subsystem": st.text(max_size=6) | _TEXTS, "description": _TEXTS},
    ),
    max_size=5,
)


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(["gmp", "gsp", "sampling"]),
    found=_DEFECTS,
    flags=st.fixed_dictionaries(
        {}, optional={"records_falsified": st.booleans(), "qms_sound": st.booleans()}
    ),
    counts=st.none()
    | st.fixed_dictionaries(
        {}, optional={"major": st.integers(0, 9), "general": st.integers(0, 99)}
    ),
    tests=st.lists(any_test_item(), min_size=1, max_size=6),
)
def test_row_from_payload_round_trips_any_payload(
    pm: pluggy.PluginManager,
    kind: str,
    found: list[dict[str, Any]],
    flags: dict[str, bool],
    counts: dict[str, int] | None,
    tests: list[dict[str, Any]],
) -> None:
    """Property: defects with separators in their text, tests of any kinds in any order and
    number, flags and counts present or not — the exported row re-imports unchanged."""
    # a type refuses a flag its rule does not read unless it says nothing (its default)
    if kind == "sampling" and flags.get("records_falsified"):
        del flags["records_falsified"]
    if kind != "gmp" and flags.get("qms_sound") is False:
        del flags["qms_sound"]
    raw: dict[str, Any] = {"inspection_type": kind, **flags}
    if kind == "sampling":
        raw["sample"] = {"stage": "production", "product_name": "某某片", "test_items": tests}
    else:
        raw["defects"] = found
    if kind == "gsp" and counts is not None:
        raw["gsp_not_applicable"] = counts
    first, again, _ = round_trip(pm, raw)
    assert again == first
