"""Special-equipment plugin: inspection intervals (TSG), registration, maintenance, hooks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

import inspect_core.hookspecs
import plugins.special_equipment
from inspect_core.plugin_api import Judgement, RuleInputError
from plugins.special_equipment import rules
from plugins.special_equipment.rules import ScheduledEvent, add_months, elevator_schedule
from plugins.special_equipment.schemas import RegisterSchema
from tests.plugins.helpers import as_stored, through

SECTOR = "special_equipment"
D = dt.date.fromisoformat


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    """A plugin manager holding only the special-equipment plugin."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    manager.register(plugins.special_equipment)
    manager.check_pending()
    return manager


def unit(**fields: Any) -> dict[str, Any]:
    """A raw register entry: a registered elevator commissioned 2020-06-01 unless overridden."""
    return {
        "registration_code": "U1",
        "category": "3000",
        "commissioning_date": "2020-06-01",
        "registered": True,
        **fields,
    }


def judge(*units: dict[str, Any], on: str, config: dict[str, Any] | None = None) -> Judgement:
    """Load a register with the schema and judge it on ``on``."""
    payload = RegisterSchema().load({"inspected_on": on, "equipment": list(units)})
    return rules.judge_register(payload, {"config": config or {}})


def overdue_severities(judgement: Judgement) -> list[str]:
    """Severities of the overdue-inspection findings, in order."""
    return [f.severity for f in judgement.findings if f.code == "SE-OVERDUE-INSPECTION"]


# --------------------------------------------------------------------------- elevators


def test_elevator_commissioned_2020_06_01_schedule() -> None:
    """Must-show (TSG T7001-2023): periodic inspection in years 1, 4 and 7, self-tested in
    years 2, 3, 5, 6; year n = [C+(n−1)y, C+ny), due by its last day."""
    assert elevator_schedule(D("2020-06-01"), 7) == (
        ScheduledEvent(1, "periodic", D("2020-06-01"), D("2021-05-31")),
        ScheduledEvent(2, "self_test", D("2021-06-01"), D("2022-05-31")),
        ScheduledEvent(3, "self_test", D("2022-06-01"), D("2023-05-31")),
        ScheduledEvent(4, "periodic", D("2023-06-01"), D("2024-05-31")),
        ScheduledEvent(5, "self_test", D("2024-06-01"), D("2025-05-31")),
        ScheduledEvent(6, "self_test", D("2025-06-01"), D("2026-05-31")),
        ScheduledEvent(7, "periodic", D("2026-06-01"), D("2027-05-31")),
    )


def test_elevator_full_fifteen_year_pattern_then_yearly() -> None:
    """Years 1, 4, 7, 9, 11, 13, 15 periodic; every year after 15 periodic [M]."""
    events = elevator_schedule(D("2020-06-01"), 18)
    periodic = [e.year for e in events if e.kind == "periodic"]
    assert periodic == [1, 4, 7, 9, 11, 13, 15, 16, 17, 18]
    no_yearly = elevator_schedule(D("2020-06-01"), 18, yearly_after_span=False)
    assert [e.year for e in no_yearly if e.kind == "periodic"][-1] == 15


def test_elevator_first_inspection_due_by_end_of_year_one() -> None:
    """No periodic inspection yet: due 2021-05-31, overdue from 2021-06-01."""
    assert overdue_severities(judge(unit(), on="2021-05-31")) == []
    late = judge(unit(maintenance_records=["2021-05-25"]), on="2021-06-01")
    assert late.conclusion == "rectify"
    (finding,) = [f for f in late.findings if f.code == "SE-OVERDUE-INSPECTION"]
    assert finding.severity == "major" and "1 days overdue" in finding.message_en
    assert "第83条" in finding.basis and "第84条" in finding.basis
    # scoring remembers the overdue unit (a declared fact); an on-time register has none
    assert dict(late.facts)["se_overdue_inspections"] == 1.0
    assert "se_overdue_inspections" not in dict(judge(unit(), on="2021-05-31").facts)


def test_elevator_self_test_years_are_not_periodic_overdue() -> None:
    """Inspected in year 1: nothing due in years 2–3; the year-4 inspection is due 2024-05-31."""
    inspected = unit(last_periodic_inspection="2021-05-10", maintenance_records=["2023-05-20"])
    quiet = judge(inspected, on="2023-05-31")
    assert quiet.passed
    item = next(i for i in quiet.items if i.item == "U1:periodic_inspection")
    assert item.limit == "due 2024-05-31" and "year 3" in item.message_en
    assert "self-testing" in item.message_en
    assert overdue_severities(
        judge({**inspected, "maintenance_records": ["2024-06-01"]}, on="2024-06-01")
    ) == ["major"]


def test_supervision_inspection_on_commissioning_day_is_not_periodic() -> None:
    """An 'inspection' on the commissioning date is the supervision inspection."""
    judgement = judge(
        unit(last_periodic_inspection="2020-06-01", maintenance_records=["2021-06-05"]),
        on="2021-06-10",
    )
    assert overdue_severities(judgement) == ["major"]


def test_elevator_over_fifteen_years_inspected_yearly() -> None:
    """Commissioned 2000-01-01, inspected 2023-03-01 (year 24): next due 2024-12-31."""
    old = unit(
        commissioning_date="2000-01-01",
        last_periodic_inspection="2023-03-01",
        maintenance_records=["2024-12-30"],
    )
    assert judge(old, on="2024-12-31").passed
    assert overdue_severities(
        judge({**old, "maintenance_records": ["2025-01-01"]}, on="2025-01-01")
    ) == ["major"]


def test_feb_29_anniversary_falls_on_feb_28() -> None:
    """A missing day becomes the month's last day."""
    assert add_months(D("2020-02-29"), 12) == D("2021-02-28")
    assert add_months(D("2020-01-31"), 1) == D("2020-02-29")
    assert elevator_schedule(D("2020-02-29"), 1)[0].due == D("2021-02-27")


def test_feb_29_elevator_year_ends_the_day_before_its_anniversary() -> None:
    """Year n ends on C + n years − 1 day, counted from C: for C = 2020-02-29, year 4
    runs to 2024-02-28 (2024 has a 29 Feb), not to 2024-02-27 (12 months after the
    clamped start of year 4, 2023-02-28), so the unit is not yet overdue on the 28th."""
    events = elevator_schedule(D("2020-02-29"), 4)
    assert [e.due for e in events] == [
        D("2021-02-27"),
        D("2022-02-27"),
        D("2023-02-27"),
        D("2024-02-28"),
    ]
    leap = unit(
        commissioning_date="2020-02-29",
        last_periodic_inspection="2021-01-10",
        maintenance_records=["2024-02-20"],
    )
    on_time = judge(leap, on="2024-02-28")
    assert overdue_severities(on_time) == []
    item = next(i for i in on_time.items if i.item == "U1:periodic_inspection")
    assert item.limit == "due 2024-02-28" and "year 4" in item.message_en
    assert overdue_severities(judge(leap, on="2024-02-29")) == ["major"]


# --------------------------------------------------------------------------- other categories


def test_crane_intervals_by_type() -> None:
    """TSG Q7015-2016: tower cranes yearly, bridge cranes every 2 years."""
    tower = {
        "registration_code": "T1",
        "category": "4000",
        "sub_type": "tower_crane",
        "commissioning_date": "2022-03-01",
        "registered": True,
        "last_periodic_inspection": "2023-02-20",
    }
    bridge = {**tower, "registration_code": "B1", "sub_type": "bridge_crane"}
    judgement = judge(tower, bridge, on="2024-03-01")
    limits = {i.item: i.limit for i in judgement.items if i.item.endswith("_inspection")}
    assert limits == {
        "T1:periodic_inspection": "due 2024-02-19",
        "B1:periodic_inspection": "due 2025-02-19",
    }
    assert overdue_severities(judgement) == ["major"]


def test_crane_without_sub_type_names_the_field() -> None:
    """The interval of a crane depends on its type."""
    crane = {
        "registration_code": "X",
        "category": "4000",
        "commissioning_date": "2022-03-01",
        "registered": True,
    }
    with pytest.raises(RuleInputError) as exc:
        judge(unit(), crane, on="2022-04-01")
    assert exc.value.field == "equipment.1.sub_type"
    assert "tower_crane" in exc.value.message


def test_pressure_vessel_first_and_graded_intervals() -> None:
    """First inspection within 3 years; grade 1 → 6 years; grade 3 → 3 years (configurable)."""
    vessel = {
        "registration_code": "V",
        "category": "2000",
        "commissioning_date": "2018-01-01",
        "registered": True,
    }
    first = judge(vessel, on="2021-01-01")
    assert overdue_severities(first) == ["major"]  # due 2020-12-31
    grade1 = {**vessel, "last_periodic_inspection": "2020-06-01", "safety_grade": 1}
    assert judge(grade1, on="2026-05-31").passed
    assert not judge(grade1, on="2026-06-01").passed
    grade3 = {**grade1, "safety_grade": 3}
    assert overdue_severities(judge(grade3, on="2023-06-01")) == ["major"]
    relaxed = {"interval_overrides": {"2000/fixed/periodic/3": 72}}
    assert judge(grade3, on="2023-06-01", config=relaxed).passed


def test_pressure_vessel_grade_5_must_stop() -> None:
    """Safety grade 5: critical finding, the register fails."""
    vessel = {
        "registration_code": "V",
        "category": "2000",
        "sub_type": "fixed",
        "commissioning_date": "2018-01-01",
        "registered": True,
        "last_periodic_inspection": "2020-06-01",
        "safety_grade": 5,
    }
    judgement = judge(vessel, on="2020-07-01")
    assert (judgement.conclusion, judgement.conclusion_zh) == ("fail", "存在严重问题，责令停止使用")
    assert [(f.code, f.severity) for f in judgement.findings] == [("SE-SAFETY-GRADE-5", "critical")]


def test_graded_interval_needs_the_grade() -> None:
    """After a periodic inspection the grade sets the next one: missing grade is named."""
    vessel = {
        "registration_code": "V",
        "category": "2000",
        "commissioning_date": "2018-01-01",
        "registered": True,
        "last_periodic_inspection": "2020-06-01",
    }
    with pytest.raises(RuleInputError) as exc:
        judge(vessel, on="2021-01-01")
    assert exc.value.field == "equipment.0.safety_grade"


def test_boiler_internal_external_and_old_hydrostatic_rule() -> None:
    """Internal every 2 years, external yearly (an internal one also counts); the 6-year
    hydrostatic test is an older rule, off unless a district turns it on."""
    boiler = {
        "registration_code": "G",
        "category": "1000",
        "commissioning_date": "2015-01-01",
        "registered": True,
        "last_periodic_inspection": "2023-03-01",
        "last_inspections": {"external": "2023-09-01"},
    }
    judgement = judge(boiler, on="2024-06-01")
    limits = {i.item: i.limit for i in judgement.items if i.item.endswith("_inspection")}
    assert limits == {
        "G:periodic_inspection": "due 2025-02-28",
        "G:external_inspection": "due 2024-08-31",
    }
    assert judgement.passed
    only_internal = {**boiler, "last_inspections": {}}
    assert overdue_severities(judge(only_internal, on="2024-03-01")) == ["major"]  # due 2024-02-29
    hydro = judge(
        boiler, on="2024-06-01", config={"interval_overrides": {"1000/*/hydrostatic": 72}}
    )
    assert overdue_severities(hydro) == ["critical"]  # never tested since 2015: due 2020-12-31


def test_zh_messages_name_the_inspection_kind_and_registration_status_in_chinese() -> None:
    """The zh-CN texts once showed the English codes ("periodic 检验超期", "使用登记：ok")."""
    boiler = {
        "registration_code": "G",
        "category": "1000",
        "commissioning_date": "2015-01-01",
        "registered": True,
        "last_periodic_inspection": "2022-03-01",
        "last_inspections": {"external": "2022-03-01"},
    }
    judgement = judge(boiler, on="2024-06-01")
    zh = [f.message_zh for f in judgement.findings] + [i.message_zh for i in judgement.items]
    assert not [text for text in zh if any(c.isascii() and c.isalpha() for c in text[1:])]
    assert any("内部检验（定期检验）超期" in text for text in zh)
    assert any("外部检验超期" in text for text in zh)
    assert "G（锅炉）使用登记：已登记" in zh
    unregistered = judge(unit(registered=False), on="2020-08-01")
    assert "U1（电梯）使用登记：未登记" in [i.message_zh for i in unregistered.items]


def test_long_overdue_is_critical_at_configurable_days() -> None:
    """> 180 days overdue (default) → critical."""
    tower = {
        "registration_code": "T",
        "category": "4000",
        "sub_type": "tower_crane",
        "commissioning_date": "2022-01-01",
        "registered": True,
    }  # due 2022-12-31
    assert overdue_severities(judge(tower, on="2023-06-29")) == ["major"]  # 180 days
    assert overdue_severities(judge(tower, on="2023-06-30")) == ["critical"]  # 181 days
    assert overdue_severities(
        judge(tower, on="2023-06-30", config={"overdue_critical_days": 365})
    ) == ["major"]


# --------------------------------------------------------------------------- registration, etc.


def test_registration_within_thirty_days() -> None:
    """Art. 33: register within 30 days of entry into service (art. 83 penalty)."""
    fresh = {
        "registration_code": "T",
        "category": "4000",
        "sub_type": "tower_crane",
        "commissioning_date": "2024-01-01",
        "registered": False,
    }
    assert judge(fresh, on="2024-01-31").passed
    late = judge(fresh, on="2024-02-01")
    (finding,) = late.findings
    assert (finding.code, finding.severity) == ("SE-UNREGISTERED", "major")
    assert "第33条" in finding.basis and "第83条" in finding.basis
    assert "31 days" in finding.message_en and "31 日" in finding.message_zh


def test_late_registration_is_a_minor_note() -> None:
    """Registered on day 31: a minor finding, the register still passes."""
    judgement = judge(
        unit(
            registration_date="2020-07-02",
            last_periodic_inspection="2021-05-01",
            maintenance_records=["2021-06-01"],
        ),
        on="2021-06-02",
    )
    assert judgement.passed
    assert [(f.code, f.severity) for f in judgement.findings] == [("SE-LATE-REGISTRATION", "minor")]


@pytest.mark.parametrize(
    ("records", "on", "gaps"),
    [
        (["2024-01-01", "2024-01-16", "2024-01-31"], "2024-02-15", 0),  # exactly 15 days
        (["2024-01-01", "2024-01-17"], "2024-01-20", 1),  # 16 days between visits
        (["2024-01-01", "2024-01-10"], "2024-01-26", 1),  # open gap up to the inspection
        (["2023-12-25", "2024-01-09"], "2024-01-20", 0),
    ],
)
def test_elevator_maintenance_every_fifteen_days(records: list[str], on: str, gaps: int) -> None:
    """At least every 15 days (S28); each longer gap is a major finding."""
    elevator = unit(
        commissioning_date="2020-01-01",  # older than the 365-day lookback
        last_periodic_inspection="2023-06-01",  # year 4 done; year 7 due 2026-12-31
        maintenance_records=records,
    )
    judgement = judge(elevator, on=on)
    found = [f for f in judgement.findings if f.code == "SE-MAINTENANCE-GAP"]
    assert len(found) == gaps
    assert all(f.severity == "major" for f in found)


def test_new_elevator_without_maintenance_and_configurable_interval() -> None:
    """Commissioned 20 days ago with no visit: a gap; a 30-day district rule: none."""
    fresh = unit(commissioning_date="2024-01-01")
    assert (
        len([f for f in judge(fresh, on="2024-01-21").findings if f.code == "SE-MAINTENANCE-GAP"])
        == 1
    )
    relaxed = {"maintenance_interval_days": {"3000": 30}}
    assert judge(fresh, on="2024-01-21", config=relaxed).passed


def test_expired_operator_certificate() -> None:
    """Art. 86: certificates valid through their expiry day; severity configurable."""
    ops = [
        {"certificate_no": "TS1", "expires_on": "2024-03-01"},
        {"certificate_no": "TS2", "expires_on": "2024-02-29"},
    ]
    elevator = unit(
        last_periodic_inspection="2023-12-01", maintenance_records=["2024-02-20"], operators=ops
    )
    judgement = judge(elevator, on="2024-03-01")
    (finding,) = judgement.findings
    assert (finding.code, finding.severity) == ("SE-CERT-EXPIRED", "major")
    assert "TS2" in finding.message_en and "第86条" in finding.basis
    softer = judge(elevator, on="2024-03-01", config={"severity": {"certificate_expired": "minor"}})
    assert softer.passed and softer.findings[0].severity == "minor"


def test_inspection_date_comes_from_payload_or_context() -> None:
    """``inspected_on`` wins over ``recorded_on``; neither is an input error."""
    payload = RegisterSchema().load({"equipment": [unit()]})
    early = rules.judge_register(payload, {"recorded_on": D("2021-05-31")})
    late = rules.judge_register(payload, {"recorded_on": D("2021-07-01")})
    assert early.passed is False  # no maintenance records → gap, but not overdue
    assert overdue_severities(early) == [] and overdue_severities(late) == ["major"]
    with pytest.raises(RuleInputError) as exc:
        rules.judge_register(payload, {})
    assert exc.value.field == "inspected_on"


def test_the_results_inspection_date_wins_and_a_contradicting_payload_date_is_refused() -> None:
    """The core's ``inspected_on`` (the result's date) is the day judged: a payload date
    may repeat it, not move it.  A crane due 2020-12-31 passed when the payload said
    2020-06-01 while the stored result said years later."""
    crane = unit(category="4000", sub_type="tower_crane", commissioning_date="2020-01-01")
    loaded = RegisterSchema().load({"inspected_on": "2020-06-01", "equipment": [crane]})
    bare = RegisterSchema().load({"equipment": [crane]})
    context = {"inspected_on": D("2026-11-07"), "recorded_on": D("2026-11-27")}
    with pytest.raises(RuleInputError) as exc:
        rules.judge_register(loaded, context)
    assert exc.value.field == "inspected_on"
    assert exc.value.message == (
        "2020-06-01 differs from the result's inspection date (2026-11-07): give the date "
        "once, on the result"
    )
    same = rules.judge_register({**loaded, "inspected_on": D("2026-11-07")}, context)
    assert same == rules.judge_register(bare, context)
    assert overdue_severities(same) == ["critical"]
    # judged on the inspection day, not the later day it was recorded
    due_soon = unit(category="4000", sub_type="tower_crane", commissioning_date="2025-11-22")
    on_time = rules.judge_register(RegisterSchema().load({"equipment": [due_soon]}), context)
    assert overdue_severities(on_time) == []
    late = rules.judge_register(
        RegisterSchema().load({"equipment": [due_soon]}), {"recorded_on": D("2026-11-27")}
    )
    assert overdue_severities(late) == ["major"]


def test_dates_after_the_inspection_are_named() -> None:
    """A unit cannot be commissioned, inspected or maintained after the inspection date."""
    with pytest.raises(RuleInputError) as exc:
        judge(
            unit(),
            unit(registration_code="U2", maintenance_records=["2025-01-01"]),
            on="2024-01-01",
        )
    assert exc.value.field == "equipment.1.maintenance_records.0"
    with pytest.raises(RuleInputError) as exc:
        judge(unit(commissioning_date="2024-02-01"), on="2024-01-01")
    assert exc.value.field == "equipment.0.commissioning_date"


def test_maintenance_before_commissioning_or_a_unit_from_year_one_is_refused() -> None:
    """Maintenance of a unit not yet in use made "1 gap(s), longest 46351 days", and a
    unit commissioned in year 1 read "739582 days overdue" on the credit page."""
    with pytest.raises(RuleInputError) as exc:
        judge(unit(maintenance_records=["2024-01-02", "1900-01-01"]), on="2024-01-10")
    assert (exc.value.field, exc.value.message) == (
        "equipment.0.maintenance_records.1",
        "before the commissioning date",
    )
    with pytest.raises(RuleInputError) as exc:
        judge(unit(commissioning_date="0001-01-01"), on="2024-01-10")
    assert (exc.value.field, exc.value.message) == (
        "equipment.0.commissioning_date",
        "before 1900-01-01",
    )
    on_the_day = judge(unit(maintenance_records=["2020-06-01"]), on="2020-06-10")
    assert on_the_day.items  # a visit on the commissioning day is judged


def test_config_errors_name_the_key() -> None:
    """Unknown thresholds and interval rows fail loudly."""
    for config, field in (
        ({"grace": 10}, "config.grace"),
        (
            {"interval_overrides": {"4000/tower/periodic": 6}},
            "config.interval_overrides.4000/tower/periodic",
        ),
        ({"severity": {"unregistered": "severe"}}, "config.severity.unregistered"),
        ({"registration_grace_days": -1}, "config.registration_grace_days"),
    ):
        with pytest.raises(RuleInputError) as exc:
            judge(unit(), on="2020-06-02", config=config)
        assert exc.value.field == field


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        (unit(category="7000"), ("category",)),
        (unit(colour="red"), ("colour",)),
        (unit(category="4000", sub_type="tower"), ("sub_type",)),
        (unit(safety_grade=2), ("safety_grade",)),
        (unit(category="2000", safety_grade=6), ("safety_grade",)),
        (unit(registered=False, registration_date="2020-06-10"), ("registration_date",)),
        (unit(last_periodic_inspection="2020-05-01"), ("last_periodic_inspection",)),
        (unit(commissioning_date="not a date"), ("commissioning_date",)),
        (unit(maintenance_records=["2024-13-01"]), ("maintenance_records", 0)),
        (unit(operators=[{"certificate_no": "X"}]), ("operators", 0, "expires_on")),
        (unit(last_inspections={"annual": "2024-01-01"}), ("last_inspections",)),
    ],
)
def test_schema_rejects_bad_units_naming_the_field(
    entry: dict[str, Any], path: tuple[Any, ...]
) -> None:
    """Errors sit under ``equipment.<i>.<field>``."""
    with pytest.raises(ValidationError) as exc:
        RegisterSchema().load({"equipment": [entry]})
    node: Any = exc.value.messages["equipment"][0]
    for key in path:
        assert key in node, (path, exc.value.messages)
        node = node[key]


def test_schema_rejects_empty_register_and_duplicate_codes() -> None:
    """A register lists units once each."""
    with pytest.raises(ValidationError) as exc:
        RegisterSchema().load({"equipment": []})
    assert "equipment" in exc.value.messages
    with pytest.raises(ValidationError) as exc:
        RegisterSchema().load({"equipment": [unit(), unit()]})
    assert "registration_code" in exc.value.messages["equipment"][1]


# --------------------------------------------------------------------------- hooks


def test_hooks_declare_sector_schema_checklist_and_qualification(pm: pluggy.PluginManager) -> None:
    """Sector, schema, checklist (~15 lines, key items marked) and the qualification."""
    (sectors,) = pm.hook.inspect_sectors()
    assert [(s.code, s.name_zh, s.qualification) for s in sectors] == [
        ("special_equipment", "特种设备", "special_equipment")
    ]
    assert pm.hook.inspect_payload_schema(sector=SECTOR) is RegisterSchema
    checklist = pm.hook.inspect_checklist(sector=SECTOR)
    assert 12 <= len(checklist) <= 18 and len({c.code for c in checklist}) == len(checklist)
    assert any(c.key for c in checklist) and not all(c.key for c in checklist)
    assert pm.hook.inspect_required_qualification(sector=SECTOR) == "special_equipment"


def test_hooks_answer_none_for_other_sectors(pm: pluggy.PluginManager) -> None:
    """Every sector-taking hook stays silent for a sector it does not own."""
    other = "drugs"
    assert pm.hook.inspect_payload_schema(sector=other) is None
    assert pm.hook.inspect_checklist(sector=other) is None
    assert pm.hook.inspect_judge(sector=other, payload={}, context={}) is None
    assert pm.hook.inspect_risk_factors(sector=other, results=[], as_of=D("2024-01-01")) == []
    assert pm.hook.inspect_required_qualification(sector=other) is None
    assert pm.hook.inspect_template_columns(sector=other) is None
    assert pm.hook.inspect_payload_from_row(sector=other, row={}) is None
    assert pm.hook.inspect_row_from_payload(sector=other, payload={"equipment": []}) is None


def test_judge_hook_uses_recorded_on_and_config(pm: pluggy.PluginManager) -> None:
    """The hook judges on the context's date with the context's overrides."""
    payload = RegisterSchema().load({"equipment": [unit(maintenance_records=["2021-06-05"])]})
    context = {"recorded_on": D("2021-06-10"), "uscc": "x", "sectors": [SECTOR]}
    judgement = pm.hook.inspect_judge(
        sector=SECTOR, payload=payload, context={**context, "config": {}}
    )
    assert judgement.conclusion == "rectify"
    stricter = pm.hook.inspect_judge(
        sector=SECTOR,
        payload=payload,
        context={**context, "config": {"severity": {"overdue_inspection": "critical"}}},
    )
    assert stricter.conclusion == "fail"


def test_template_round_trip_and_row_encodings(pm: pluggy.PluginManager) -> None:
    """Template examples form a valid row; list cells use ';' and 'number:expiry'."""
    columns = pm.hook.inspect_template_columns(sector=SECTOR)
    names = [c.name for c in columns]
    assert len(names) == len(set(names)) and "registration_code" in names
    row = {c.name: c.example for c in columns}
    payload = RegisterSchema().load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    (entry,) = payload["equipment"]
    assert entry["maintenance_records"] == [D("2024-05-20"), D("2024-06-03")]
    assert entry["operators"][0]["expires_on"] == D("2026-05-31")
    excel = {
        "registration_code": "V-9",
        "category": 2000.0,
        "commissioning_date": dt.datetime(2019, 5, 1),
        "registered": "否",
        "safety_grade": 2.0,
        "last_periodic_inspection": D("2022-04-01"),
        "last_inspections.external": None,
        "operators": "TS1：2025-01-01；TS2:2026-01-01",
    }
    loaded = RegisterSchema().load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=excel))
    vessel = loaded["equipment"][0]
    assert (vessel["category"], vessel["registered"], vessel["safety_grade"]) == ("2000", False, 2)
    assert [o["certificate_no"] for o in vessel["operators"]] == ["TS1", "TS2"]


def test_risk_factors_latest_state_per_unit_before_as_of(pm: pluggy.PluginManager) -> None:
    """Counts come from each unit's latest record before ``as_of``; later ones are unseen."""
    crane = {
        "registration_code": "T",
        "category": "4000",
        "sub_type": "tower_crane",
        "commissioning_date": "2022-01-01",
        "registered": False,
    }
    elevator = unit(
        registration_code="E",
        last_periodic_inspection="2021-05-01",
        maintenance_records=["2023-01-01", "2023-01-30"],
    )
    results = [
        # 2023-03-01: crane 60 days overdue and unregistered; elevator one 29-day gap + open gap
        {"recorded_on": "2023-03-01", "payload": {"equipment": [crane, elevator]}},
        # 2023-04-01: the crane was inspected and registered since
        {
            "recorded_on": D("2023-04-01"),
            "payload": {
                "equipment": [
                    {**crane, "registered": True, "last_periodic_inspection": "2023-03-20"}
                ]
            },
        },
        # on as_of: ignored
        {
            "recorded_on": D("2023-05-01"),
            "payload": {"equipment": [{**crane, "registered": False}]},
        },
    ]
    (factors,) = pm.hook.inspect_risk_factors(sector=SECTOR, results=results, as_of=D("2023-05-01"))
    assert {f.name: f.value for f in factors} == {
        "se_overdue_inspections": 0.0,
        "se_max_days_overdue": 0.0,
        "se_unregistered": 0.0,
        "se_maintenance_gaps": 2.0,
        "se_expired_certificates": 0.0,
    }
    (earlier,) = pm.hook.inspect_risk_factors(sector=SECTOR, results=results, as_of=D("2023-04-01"))
    values = {f.name: f.value for f in earlier}
    assert values["se_overdue_inspections"] == 1.0 and values["se_max_days_overdue"] == 60.0
    assert values["se_unregistered"] == 1.0


def test_risk_factors_count_from_the_results_inspection_date(pm: pluggy.PluginManager) -> None:
    """A result's ``inspected_on`` (the core passes it) dates its register, not the later
    day it was recorded; a stored payload date is used only where the core gives none."""
    crane = {"registration_code": "T", "category": "4000", "sub_type": "tower_crane",
             "commissioning_date": "2022-01-01", "registered": True}  # fmt: skip
    stored = {"recorded_on": D("2023-03-20"), "payload": {"equipment": [crane]}}
    cases = (
        ({**stored, "inspected_on": D("2023-03-01")}, 60.0),
        (stored, 79.0),
        ({**stored, "payload": {"inspected_on": "2023-03-10", "equipment": [crane]}}, 69.0),
    )
    for result, days in cases:
        (factors,) = pm.hook.inspect_risk_factors(
            sector=SECTOR, results=[result], as_of=D("2023-05-01")
        )
        assert {f.name: f.value for f in factors}["se_max_days_overdue"] == days, result


def test_risk_factors_read_registers_stored_before_the_date_checks(
    pm: pluggy.PluginManager,
) -> None:
    """A stored register is read, not refused again: one stored before maintenance before
    commissioning was refused, or judged on its payload's own later date (or on the day
    it was recorded) with a visit after the result's date, raised RuleInputError and the
    enterprise's credit page lost its special-equipment section."""
    elevator = {"registration_code": "E", "category": "3000",
                "commissioning_date": "2020-06-01", "registered": True}  # fmt: skip
    before_commissioning = {**elevator, "maintenance_records": ["2020-05-20", "2024-05-01"]}
    after_the_result = {**elevator, "maintenance_records": ["2024-05-05"]}
    cases = (
        ({"inspected_on": D("2024-05-10"), "payload": {"equipment": [before_commissioning]}},
         1075.0),
        ({"inspected_on": D("2024-05-01"),
          "payload": {"inspected_on": "2024-05-08", "equipment": [after_the_result]}}, 1066.0),
        ({"inspected_on": D("2024-05-01"), "payload": {"equipment": [after_the_result]}}, 1066.0),
    )  # fmt: skip
    for stored, days in cases:
        result = {"recorded_on": D("2024-05-10"), "judgement": {}, **stored}
        (factors,) = pm.hook.inspect_risk_factors(
            sector=SECTOR, results=[result], as_of=D("2025-01-01")
        )
        assert {f.name: f.value for f in factors}["se_max_days_overdue"] == days, stored


def test_config_category_keys_are_checked() -> None:
    """Maintenance and default sub-type overrides must name real categories and sub-types."""
    with pytest.raises(RuleInputError) as exc:
        judge(unit(), on="2020-06-02", config={"maintenance_interval_days": {"7000": 15}})
    assert exc.value.field == "config.maintenance_interval_days.7000"
    with pytest.raises(RuleInputError) as exc:
        judge(unit(), on="2020-06-02", config={"default_sub_types": {"4000": "crane"}})
    assert exc.value.field == "config.default_sub_types.4000"


# --------------------------------------------------------------------------- export rows


def round_trip(
    pm: pluggy.PluginManager, raw: dict[str, Any], transport: str = "dict"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """raw → load → stored JSON → export row → file → import row → load: (first, again, row)."""
    first = RegisterSchema().load(raw)
    row = pm.hook.inspect_row_from_payload(sector=SECTOR, payload=as_stored(first))
    back = pm.hook.inspect_payload_from_row(sector=SECTOR, row=through(row, transport))
    return first, RegisterSchema().load(back), row


ELEVATOR = unit(
    registration_code="梯11沪A00123(20)",
    registration_date="2020-06-20",
    last_periodic_inspection="2024-05-10",
    maintenance_records=["2024-05-20", "2024-06-03"],
    operators=[
        {"certificate_no": "TS1234567", "expires_on": "2026-05-31", "name": "张三"},
        {"certificate_no": "TS7654321", "expires_on": "2025-01-31"},
    ],
)
BOILER = unit(
    registration_code="锅沪B0001",
    category="1000",
    last_periodic_inspection="2023-09-01",
    last_inspections={"external": "2024-03-01", "hydrostatic": "2021-09-01"},
    operators=[{"certificate_no": "G1:A", "expires_on": "2027-01-01", "name": "李 四"}],
)
VESSEL = unit(registration_code="容沪C0002", category="2000", sub_type="fixed", safety_grade=3)
CRANE = unit(
    registration_code="起沪D0003",
    category="4000",
    sub_type="tower_crane",
    registered=False,
    operators=[{"certificate_no": " T9", "expires_on": "2026-01-01", "name": "王五；赵六"}],
)

EXPORT_PAYLOADS: dict[str, dict[str, Any]] = {
    "one elevator, dated": {"inspected_on": "2024-06-15", "equipment": [ELEVATOR]},
    "bare unit, no inspection date": {"equipment": [unit()]},
    "four units, texts the compact cell cannot hold": {
        "inspected_on": "2024-06-15",
        "equipment": [ELEVATOR, BOILER, VESSEL, CRANE],
    },
    "empty lists": {"equipment": [unit(maintenance_records=[], operators=[])]},
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
    template = [c.name for c in pm.hook.inspect_template_columns(sector=SECTOR)]
    assert list(row)[: len(template)] == template


def test_row_from_payload_encodings(pm: pluggy.PluginManager) -> None:
    """First unit in the template's columns, further units in ``equipment.N.*`` groups;
    compact ``number:expiry[:name]`` operators where they fit, JSON where not."""
    _, _, row = round_trip(pm, EXPORT_PAYLOADS["four units, texts the compact cell cannot hold"])
    assert row["operators"] == "TS1234567:2026-05-31:张三;TS7654321:2025-01-31"
    assert row["maintenance_records"] == "2024-05-20;2024-06-03" and row["registered"] == "是"
    assert row["equipment.1.last_inspections.hydrostatic"] == "2021-09-01"
    assert json.loads(row["equipment.1.operators"])[0]["certificate_no"] == "G1:A"
    assert (row["equipment.2.safety_grade"], row["equipment.3.registered"]) == (3, "否")
    assert json.loads(row["equipment.3.operators"])[0]["name"] == "王五；赵六"
    assert "equipment.4.registration_code" not in row


def test_payload_from_row_reads_numbered_units(pm: pluggy.PluginManager) -> None:
    """Numbered unit groups follow the first unit in index order, blank groups dropped."""
    row = {
        "registration_code": "A",
        "category": 3000,
        "commissioning_date": "2020-01-01",
        "registered": "是",
        "operators": "TS1:2026-01-01:张三",
        "equipment.5.registration_code": "C",
        "equipment.5.category": "3000",
        "equipment.5.commissioning_date": "2021-01-01",
        "equipment.5.registered": "否",
        "equipment.2.registration_code": None,
        "equipment.3.registration_code": "B",
        "equipment.3.category": "4000",
        "equipment.3.sub_type": "bridge_crane",
        "equipment.3.commissioning_date": dt.datetime(2019, 1, 1),
        "equipment.3.registered": "是",
    }
    payload = RegisterSchema().load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    assert [u["registration_code"] for u in payload["equipment"]] == ["A", "B", "C"]
    assert payload["equipment"][0]["operators"] == [
        {"certificate_no": "TS1", "expires_on": D("2026-01-01"), "name": "张三"}
    ]
    only_numbered = {k: v for k, v in row.items() if k.startswith("equipment.")}
    loaded = RegisterSchema().load(
        pm.hook.inspect_payload_from_row(sector=SECTOR, row=only_numbered)
    )
    assert [u["registration_code"] for u in loaded["equipment"]] == ["B", "C"]


_DATES = st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
_TEXTS = st.text(alphabet=st.sampled_from("T0甲乙 :：;；,，[-"), min_size=1, max_size=8)
#: A plain cell is read stripped, so its text cannot start or end with a space.
_CODES = _TEXTS.filter(lambda text: text == text.strip())


@st.composite
def units(draw: st.DrawFn) -> dict[str, Any]:
    """A raw register entry with optional fields sometimes given."""
    category = draw(st.sampled_from(["1000", "2000", "3000", "4000", "8000"]))
    entry: dict[str, Any] = {
        "registration_code": draw(_CODES),
        "category": category,
        "commissioning_date": "2015-01-01",
        "registered": draw(st.booleans()),
    }
    if rules.sub_types_for(category) and draw(st.booleans()):
        entry["sub_type"] = draw(st.sampled_from(rules.sub_types_for(category)))
    if entry["registered"] and draw(st.booleans()):
        entry["registration_date"] = draw(_DATES)
    if draw(st.booleans()):
        entry["last_periodic_inspection"] = draw(_DATES)
    if category in rules.GRADED_CATEGORIES and draw(st.booleans()):
        entry["safety_grade"] = draw(st.integers(1, 5))
    if category == "1000" and draw(st.booleans()):
        entry["last_inspections"] = {"external": draw(_DATES)}
    entry["maintenance_records"] = draw(st.lists(_DATES, max_size=4))
    entry["operators"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"certificate_no": _TEXTS, "expires_on": _DATES}, optional={"name": _TEXTS}
            ),
            max_size=3,
        )
    )
    return entry


@settings(max_examples=60, deadline=None)
@given(
    register=st.lists(units(), min_size=1, max_size=4, unique_by=lambda u: u["registration_code"]),
    day=st.none() | _DATES,
)
def test_row_from_payload_round_trips_any_register(
    pm: pluggy.PluginManager, register: list[dict[str, Any]], day: str | None
) -> None:
    """Property: registers of any size whose texts hold separators re-import unchanged."""
    raw: dict[str, Any] = {"equipment": register}
    if day is not None:
        raw["inspected_on"] = day
    first, again, _ = round_trip(pm, raw)
    assert again == first
