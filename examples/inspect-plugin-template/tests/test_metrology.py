"""Metrology plugin: worked examples per rule, schema rejections naming the field, every hook."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Any

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inspect_core.plugin_api import Judgement, RuleInputError, ValidationError

import inspect_metrology
from inspect_metrology import rules
from inspect_metrology.schemas import MetrologyPayloadSchema

SECTOR = "metrology"
D = dt.date.fromisoformat


def load(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate a payload with the sector schema, as the core does before judging."""
    return MetrologyPayloadSchema().load(payload)


def instrument(
    kind: str = "retail_scale",
    serial_no: str = "SC-1",
    verified_on: str | None = "2024-01-10",
    **extra: Any,
) -> dict[str, Any]:
    """A raw instrument entry."""
    return {"kind": kind, "serial_no": serial_no, "verified_on": verified_on, **extra}


def check(*instruments: dict[str, Any], on: str = "2024-05-20", config: Any = None) -> Judgement:
    """Load the instruments and judge them on day ``on``."""
    return rules.evaluate(load({"instruments": list(instruments)}), D(on), config)


def codes(judgement: Judgement) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in judgement.findings]


# --------------------------------------------------------------------------- verification


@pytest.mark.parametrize(
    ("kind", "verified_on", "inspected_on", "valid_until", "in_date"),
    [
        ("retail_scale", "2023-03-15", "2024-03-15", "2024-03-15", True),  # last valid day
        ("retail_scale", "2023-03-15", "2024-03-16", "2024-03-15", False),  # one day late
        ("retail_scale", "2024-05-20", "2024-05-20", "2025-05-20", True),  # verified that morning
        ("fuel_dispenser", "2024-08-31", "2025-02-28", "2025-02-28", True),  # 6 months, no 31 Feb
        ("fuel_dispenser", "2024-08-31", "2025-03-01", "2025-02-28", False),
        ("fuel_dispenser", "2024-01-10", "2024-08-01", "2024-07-10", False),  # 12 would pass
        ("taxi_meter", "2024-02-29", "2025-02-28", "2025-02-28", True),  # leap day
        ("taxi_meter", "2024-02-29", "2025-03-01", "2025-02-28", False),
    ],
)
def test_verification_interval_per_kind(
    kind: str, verified_on: str, inspected_on: str, valid_until: str, in_date: bool
) -> None:
    """Interval per kind from instruments.csv (scales and taxi meters 12 months, fuel
    dispensers 6); valid through the same day N months on (Civil Code month rule)."""
    judgement = check(instrument(kind, verified_on=verified_on), on=inspected_on)
    (item,) = judgement.items
    assert (item.measured, item.limit, item.passed) == (verified_on, valid_until, in_date)
    assert judgement.passed is in_date
    expected = [] if in_date else [("METRO-VERIFICATION-OVERDUE", "major")]
    assert codes(judgement) == expected


def test_overdue_verification_is_a_major_finding_to_rectify() -> None:
    """Overdue → major finding citing the Metrology Law; conclusion 责令限期整改."""
    judgement = check(instrument(verified_on="2023-03-15", serial_no="SC-9"), on="2024-04-14")
    assert (judgement.conclusion, judgement.conclusion_zh) == ("rectify", "责令限期整改")
    (finding,) = judgement.findings
    assert "已超期 30 天" in finding.message_zh and "30 day(s) late" in finding.message_en
    assert "SC-9" in finding.message_en and "第九条" in finding.basis
    assert "JJG 539-2016" in judgement.items[0].standard


def test_never_verified_is_a_major_finding() -> None:
    """verified_on null → 未经强制检定 (major), even when the error is within the MPE."""
    judgement = check(instrument(verified_on=None, error_pct="0.1"))
    assert codes(judgement) == [("METRO-NEVER-VERIFIED", "major")]
    verification, error = judgement.items
    assert (verification.passed, verification.measured) == (False, None)
    assert error.passed
    assert judgement.conclusion == "rectify"


def test_verified_after_the_inspection_cannot_be_judged() -> None:
    """A verification dated after the visit is an input error naming the instrument's field."""
    payload = load(
        {"instruments": [instrument(), instrument(serial_no="X", verified_on="2024-06-01")]}
    )
    with pytest.raises(RuleInputError) as exc:
        rules.evaluate(payload, D("2024-05-20"))
    assert exc.value.field == "instruments.1.verified_on"


# --------------------------------------------------------------------------- error of indication


@pytest.mark.parametrize(
    ("kind", "error", "limit", "passed", "code"),
    [
        ("retail_scale", "0.5", "-0.5…+0.5", True, None),  # limits inclusive
        ("retail_scale", "0.51", "-0.5…+0.5", False, "trader"),
        ("retail_scale", "-0.5", "-0.5…+0.5", True, None),
        ("retail_scale", "-0.51", "-0.5…+0.5", False, "customer"),
        ("fuel_dispenser", "0.30", "-0.3…+0.3", True, None),
        ("fuel_dispenser", "0.31", "-0.3…+0.3", False, "trader"),
        ("fuel_dispenser", "-0.31", "-0.3…+0.3", False, "customer"),
        ("taxi_meter", "1.0", "-4…+1", True, None),  # asymmetric: may under-read more
        ("taxi_meter", "1.1", "-4…+1", False, "trader"),
        ("taxi_meter", "-4.0", "-4…+1", True, None),
        ("taxi_meter", "-4.1", "-4…+1", False, "customer"),
        ("taxi_meter", "0", "-4…+1", True, None),
    ],
)
def test_error_against_the_mpe_of_the_kind(
    kind: str, error: str, limit: str, passed: bool, code: str | None
) -> None:
    """Measured error vs the kind's MPE (JJG 539/443/517 [M]); beyond it → critical."""
    judgement = check(instrument(kind, error_pct=error))
    item = judgement.items[1]
    assert (item.limit, item.unit, item.passed) == (limit, "%", passed)
    assert judgement.conclusion == ("pass" if passed else "fail")
    if code is None:
        assert judgement.findings == ()
    else:
        (finding,) = judgement.findings
        assert (finding.code, finding.severity) == ("METRO-ERROR-EXCEEDED", "critical")
        assert ("短斤缺两" in finding.message_zh) is (code == "trader")
        assert ("customer's favour" in finding.message_en) is (code == "customer")


def test_short_measure_finding_reads_well() -> None:
    """The worked example of the guide: a scale over-reading by 0.8 % fails the visit."""
    judgement = check(instrument(serial_no="SC-0001", error_pct="0.8"))
    (finding,) = judgement.findings
    assert finding.message_zh == (
        "电子计价秤（SC-0001）示值误差 +0.8% 超出最大允许误差 -0.5…+0.5%（偏向经营者，可能短斤缺两或多收费）"
    )
    assert "第二十六条" in finding.basis
    assert (judgement.conclusion_zh, judgement.conclusion_en) == ("不符合要求", "Non-compliant")


def test_worst_finding_decides_and_every_instrument_is_itemised() -> None:
    """Several instruments: one item per check, findings in order, critical → fail."""
    judgement = check(
        instrument("retail_scale", "SC-1", error_pct="0.1"),
        instrument("fuel_dispenser", "FD-1", verified_on="2023-10-01"),
        instrument("taxi_meter", "TX-1", verified_on=None, error_pct="2"),
    )
    assert [i.item for i in judgement.items] == [
        "SC-1:verification",
        "SC-1:error",
        "FD-1:verification",
        "TX-1:verification",
        "TX-1:error",
    ]
    assert codes(judgement) == [
        ("METRO-VERIFICATION-OVERDUE", "major"),
        ("METRO-NEVER-VERIFIED", "major"),
        ("METRO-ERROR-EXCEEDED", "critical"),
    ]
    assert judgement.conclusion == "fail"


_RANK = {"pass": 0, "rectify": 1, "fail": 2}
_instruments = st.builds(
    instrument,
    kind=st.sampled_from(sorted(rules.KINDS)),
    serial_no=st.text("ABC123", min_size=1, max_size=4),
    verified_on=st.one_of(
        st.none(), st.dates(dt.date(2022, 1, 1), dt.date(2024, 5, 20)).map(dt.date.isoformat)
    ),
    error_pct=st.one_of(st.none(), st.decimals(-6, 6, places=2).map(str)),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(_instruments, max_size=5, unique_by=lambda i: (i["kind"], i["serial_no"])),
    _instruments,
)
def test_one_more_instrument_never_improves_the_conclusion(
    found: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    """Monotonicity: adding an instrument to a visit can only keep or worsen its conclusion."""
    if any((i["kind"], i["serial_no"]) == (extra["kind"], extra["serial_no"]) for i in found):
        extra = {**extra, "serial_no": "NEW"}
    before = check(*found).conclusion if found else "pass"
    after = check(*found, extra).conclusion
    assert _RANK[after] >= _RANK[before]


@settings(max_examples=100, deadline=None)
@given(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)), st.integers(1, 36))
def test_valid_until_keeps_the_day_or_ends_the_month(verified: dt.date, months: int) -> None:
    """The due date is N calendar months on, never earlier than N×28 days nor past the month."""
    due = rules.valid_until(verified, months)
    assert (due.year * 12 + due.month) - (verified.year * 12 + verified.month) == months
    assert due.day == verified.day or (due.day < verified.day and (due + dt.timedelta(1)).day == 1)


# --------------------------------------------------------------------------- configuration


def test_district_overrides_interval_mpe_and_severity() -> None:
    """context['config'] changes thresholds kind by kind."""
    dispenser = instrument("fuel_dispenser", verified_on="2024-01-10")
    assert not check(dispenser, on="2024-08-01").passed
    assert check(
        dispenser, on="2024-08-01", config={"interval_months": {"fuel_dispenser": 12}}
    ).passed
    meter = instrument("taxi_meter", error_pct="0.8")
    assert check(meter).passed
    strict = {"mpe_upper_pct": {"taxi_meter": "0.5"}}
    assert check(meter, config=strict).items[1].limit == "-4…+0.5"
    assert check(meter, config=strict).conclusion == "fail"
    lenient = {"severity": {"error_exceeded_customer_favoured": "minor"}}
    low = check(instrument(error_pct="-1"), config=lenient)
    assert (low.conclusion, codes(low)) == ("pass", [("METRO-ERROR-EXCEEDED", "minor")])


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"interval": 6}, "config.interval"),
        ({"interval_months": {"gas_meter": 6}}, "config.interval_months.gas_meter"),
        ({"interval_months": {"retail_scale": 0}}, "config.interval_months.retail_scale"),
        ({"interval_months": {"retail_scale": True}}, "config.interval_months.retail_scale"),
        ({"interval_months": 6}, "config.interval_months"),
        ({"mpe_upper_pct": {"retail_scale": "abc"}}, "config.mpe_upper_pct.retail_scale"),
        ({"mpe_upper_pct": {"retail_scale": "-0.1"}}, "config.mpe_upper_pct.retail_scale"),
        ({"mpe_lower_pct": {"retail_scale": 0.2}}, "config.mpe_lower_pct.retail_scale"),
        ({"mpe_lower_pct": {"retail_scale": "NaN"}}, "config.mpe_lower_pct.retail_scale"),
        ({"severity": {"never_verified": "fatal"}}, "config.severity.never_verified"),
        ({"severity": {"typo": "minor"}}, "config.severity.typo"),
    ],
)
def test_bad_config_names_the_key(config: dict[str, Any], field: str) -> None:
    """A mistyped override is an input error naming the key, never silently ignored."""
    with pytest.raises(RuleInputError) as exc:
        rules.resolve_config(config)
    assert exc.value.field == field


_GOOD_ROW = "retail_scale,秤,scale,,12,-0.1,0.5,JJG 539-2016,M,M,"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([_GOOD_ROW.replace(",-0.1,", ",0.1,")], "mpe_lower_pct ≤ 0"),
        ([_GOOD_ROW.replace(",12,", ",0,")], "interval_months must be ≥ 1"),
        ([_GOOD_ROW, _GOOD_ROW], "repeated"),
    ],
)
def test_broken_data_rows_are_refused_at_import(rows: list[str], message: str) -> None:
    """A bad instruments.csv row stops the plugin loading instead of misjudging later."""
    header = rules._read_data("instruments.csv").splitlines()[0]
    assert rules.parse_kinds(f"{header}\n{_GOOD_ROW}\n")["retail_scale"].interval_months == 12
    with pytest.raises(ValueError, match=message):
        rules.parse_kinds("\n".join([header, *rows]) + "\n")


def test_shipped_table_cites_a_standard_for_every_kind() -> None:
    """Every kind has a JJG standard with its edition and a DOMAIN.md-style tag."""
    assert set(rules.KINDS) == {"retail_scale", "fuel_dispenser", "taxi_meter"}
    for kind in rules.KINDS.values():
        assert kind.standard.startswith("JJG ") and "-20" in kind.standard
        assert kind.interval_verified in {"M", "chosen"} or kind.interval_verified.startswith("S")
        assert kind.name_zh and kind.name_en and kind.note


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({}, ("instruments",)),
        ({"instruments": []}, ("instruments",)),
        ({"instruments": [instrument()], "colour": "red"}, ("colour",)),
        ({"instruments": [instrument(kind="gas_meter")]}, ("instruments", 0, "kind")),
        ({"instruments": [instrument(serial_no="  ")]}, ("instruments", 0, "serial_no")),
        (
            {"instruments": [{"kind": "retail_scale", "serial_no": "A"}]},
            ("instruments", 0, "verified_on"),
        ),
        (
            {"instruments": [instrument(verified_on="2024-13-01")]},
            ("instruments", 0, "verified_on"),
        ),
        ({"instruments": [instrument(error_pct="abc")]}, ("instruments", 0, "error_pct")),
        ({"instruments": [instrument(error_pct="NaN")]}, ("instruments", 0, "error_pct")),
        ({"instruments": [instrument(error_pct="-100.5")]}, ("instruments", 0, "error_pct")),
        (
            {"instruments": [instrument(verified_on=None, verification_certificate_no="JD-1")]},
            ("instruments", 0, "verified_on"),
        ),
        (
            {"instruments": [instrument(), instrument(kind="计价秤")]},
            ("instruments", 1, "serial_no"),
        ),
        ({"instruments": [instrument()], "inspected_on": "yesterday"}, ("inspected_on",)),
        ({"instruments": [instrument(serial_no="A|B")]}, ("instruments", 0, "serial_no")),
        (
            {"instruments": [instrument(verification_certificate_no="JD;1")]},
            ("instruments", 0, "verification_certificate_no"),
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


def test_schema_accepts_what_inspectors_type() -> None:
    """Chinese kind names load as codes; serials are trimmed; errors load as Decimal."""
    payload = load(
        {
            "instruments": [
                instrument(kind="加油机", serial_no=" FD-02 ", error_pct="-0.12"),
                instrument(kind="出租汽车计价器", serial_no="TX-7", verified_on=None),
            ]
        }
    )
    first, second = payload["instruments"]
    assert (first["kind"], first["serial_no"], first["error_pct"]) == (
        "fuel_dispenser",
        "FD-02",
        Decimal("-0.12"),
    )
    assert first["verified_on"] == D("2024-01-10") and second["verified_on"] is None
    assert second["kind"] == "taxi_meter" and second["verification_certificate_no"] is None


# --------------------------------------------------------------------------- hooks


def test_hooks_declare_sector_schema_checklist_and_qualification(pm: pluggy.PluginManager) -> None:
    """Sector (bilingual, versioned), schema class, checklist with key items, qualification."""
    (sectors,) = pm.hook.inspect_sectors()
    assert [(s.code, s.name_zh, s.name_en, s.version) for s in sectors] == [
        ("metrology", "计量器具", "Measuring instruments", inspect_metrology.__version__)
    ]
    assert pm.hook.inspect_payload_schema(sector=SECTOR) is MetrologyPayloadSchema
    checklist = pm.hook.inspect_checklist(sector=SECTOR)
    assert len({c.code for c in checklist}) == len(checklist) >= 8
    assert any(c.key for c in checklist) and not all(c.key for c in checklist)
    assert all(c.text_zh and c.text_en for c in checklist)
    assert pm.hook.inspect_required_qualification(sector=SECTOR) == "metrology"


def test_hooks_answer_none_for_other_sectors(pm: pluggy.PluginManager) -> None:
    """Every sector-taking hook stays silent for a sector it does not own."""
    other = "food"
    assert pm.hook.inspect_payload_schema(sector=other) is None
    assert pm.hook.inspect_checklist(sector=other) is None
    assert pm.hook.inspect_judge(sector=other, payload={}, context={}) is None
    assert pm.hook.inspect_risk_factors(sector=other, results=[], as_of=D("2024-01-01")) == []
    assert pm.hook.inspect_required_qualification(sector=other) is None
    assert pm.hook.inspect_template_columns(sector=other) is None
    assert pm.hook.inspect_payload_from_row(sector=other, row={}) is None
    assert pm.hook.inspect_row_from_payload(sector=other, payload={}) is None


def test_judge_hook_dates_and_config_come_from_context(pm: pluggy.PluginManager) -> None:
    """The hook judges on the context's inspected_on (the result's date; a payload date
    may repeat it, a different one is refused), else the payload's, else recorded_on,
    with the district's config."""
    payload = load({"instruments": [instrument("fuel_dispenser", verified_on="2024-01-10")]})
    context = {"recorded_on": D("2024-08-01"), "uscc": "x", "sectors": [SECTOR], "config": {}}
    late = pm.hook.inspect_judge(sector=SECTOR, payload=payload, context=context)
    assert isinstance(late, Judgement) and late.conclusion == "rectify"
    on_time = pm.hook.inspect_judge(
        sector=SECTOR, payload=payload, context={**context, "inspected_on": D("2024-07-10")}
    )
    assert on_time.passed
    own_date = pm.hook.inspect_judge(
        sector=SECTOR, payload={**payload, "inspected_on": D("2024-07-01")}, context=context
    )
    assert own_date.passed
    with pytest.raises(RuleInputError) as exc:
        pm.hook.inspect_judge(
            sector=SECTOR,
            payload={**payload, "inspected_on": D("2024-07-01")},
            context={**context, "inspected_on": D("2024-08-01")},
        )
    assert (exc.value.field, exc.value.message) == (
        "inspected_on",
        "2024-07-01 differs from the result's inspection date (2024-08-01): give the date "
        "once, on the result",
    )
    same_day = pm.hook.inspect_judge(
        sector=SECTOR,
        payload={**payload, "inspected_on": D("2024-07-10")},
        context={**context, "inspected_on": D("2024-07-10")},
    )
    assert same_day == on_time
    relaxed = pm.hook.inspect_judge(
        sector=SECTOR,
        payload=payload,
        context={**context, "config": {"interval_months": {"fuel_dispenser": 12}}},
    )
    assert relaxed.passed
    with pytest.raises(RuleInputError) as exc:
        pm.hook.inspect_judge(sector=SECTOR, payload=payload, context={"config": {}})
    assert exc.value.field == "inspected_on"


def test_template_columns_round_trip_through_payload_from_row(pm: pluggy.PluginManager) -> None:
    """The template's example values form a row that converts, validates and is judged."""
    columns = pm.hook.inspect_template_columns(sector=SECTOR)
    names = [c.name for c in columns]
    assert len(names) == len(set(names)) and all(c.header_zh for c in columns)
    row = {c.name: c.example for c in columns}
    payload = load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    assert [(i["kind"], i["serial_no"]) for i in payload["instruments"]] == [
        ("retail_scale", "SC-0001"),
        ("fuel_dispenser", "FD-02"),
        ("taxi_meter", "TX-7"),
    ]
    assert payload["instruments"][0]["verification_certificate_no"] == "JD2024-0001"
    judgement = pm.hook.inspect_judge(sector=SECTOR, payload=payload, context={"config": {}})
    assert codes(judgement) == [("METRO-NEVER-VERIFIED", "major")]


def test_payload_from_row_handles_excel_cells(pm: pluggy.PluginManager) -> None:
    """Excel dates, full-width separators, '%' signs and 无; bad text is left to the schema."""
    row = {
        "inspected_on": dt.datetime(2024, 5, 20, 9, 30),
        "instruments": "计价秤｜SC-1｜2024-01-10｜0.3%；加油机|FD-1|未检定\n计价器|TX-1||",
        "notes": None,
    }
    payload = load(pm.hook.inspect_payload_from_row(sector=SECTOR, row=row))
    assert payload["inspected_on"] == D("2024-05-20")
    assert [(i["kind"], i["verified_on"], i["error_pct"]) for i in payload["instruments"]] == [
        ("retail_scale", D("2024-01-10"), Decimal("0.3")),
        ("fuel_dispenser", None, None),
        ("taxi_meter", None, None),
    ]
    bad = pm.hook.inspect_payload_from_row(sector=SECTOR, row={"instruments": "秤|A|2024-02-30"})
    with pytest.raises(ValidationError) as exc:
        load(bad)
    assert set(exc.value.messages["instruments"][0]) == {"kind", "verified_on"}


def _stored_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A loaded payload as the core stores it (JSON)."""
    return {
        "inspected_on": _json(payload["inspected_on"]),
        "notes": payload["notes"],
        "instruments": [{k: _json(v) for k, v in i.items()} for i in payload["instruments"]],
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_instruments, min_size=1, max_size=4, unique_by=lambda i: (i["kind"], i["serial_no"])),
    st.one_of(st.none(), st.just("2024-05-20")),
    st.sampled_from(["", "复核秤缺失; 已告知"]),
    st.booleans(),
)
def test_export_row_reimports_to_the_same_payload(
    found: list[dict[str, Any]], inspected_on: str | None, notes: str, certificate: bool
) -> None:
    """row_from_payload ∘ payload_from_row is the identity on stored payloads (export → re-import)."""
    if certificate:
        found = [
            {**i, "verification_certificate_no": f"JD-{n}"} if i["verified_on"] else i
            for n, i in enumerate(found)
        ]
    payload = load({"instruments": found, "inspected_on": inspected_on, "notes": notes})
    row = inspect_metrology.row_from_payload(_stored_payload(payload))
    assert set(row) == {c.name for c in inspect_metrology.TEMPLATE_COLUMNS}
    assert load(inspect_metrology.payload_from_row(row)) == payload


def test_row_from_payload_hook_writes_the_template_encoding(pm: pluggy.PluginManager) -> None:
    """The hook's row uses the packed cell the template documents, 无 for never verified."""
    payload = load(
        {
            "instruments": [
                instrument(error_pct="0.20", verification_certificate_no="JD-1"),
                instrument("taxi_meter", "TX-7", verified_on=None),
                instrument("fuel_dispenser", "FD-2", verification_certificate_no="JD-2"),
            ]
        }
    )
    row = pm.hook.inspect_row_from_payload(sector=SECTOR, payload=_stored_payload(payload))
    assert row == {
        "inspected_on": None,
        "instruments": "retail_scale|SC-1|2024-01-10|0.20|JD-1;taxi_meter|TX-7|无;"
        "fuel_dispenser|FD-2|2024-01-10||JD-2",
        "notes": None,
    }
    assert pm.hook.inspect_row_from_payload(sector="food", payload={}) is None


def _json(value: Any) -> Any:
    """Dates and Decimals as the core stores them: ISO text and strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _stored(day: str, payload: dict[str, Any], judgement: Judgement) -> dict[str, Any]:
    """A result as the core hands it to inspect_risk_factors: JSON payload and judgement."""
    return {
        "recorded_on": day,
        "payload": {
            "instruments": [{k: _json(v) for k, v in i.items()} for i in payload["instruments"]]
        },
        "judgement": {
            "passed": judgement.passed,
            "conclusion": judgement.conclusion,
            "findings": [{"code": f.code, "severity": f.severity} for f in judgement.findings],
        },
    }


def test_risk_factors_use_only_results_before_as_of(pm: pluggy.PluginManager) -> None:
    """Counts from stored judgements recorded strictly before ``as_of``."""
    clean = load({"instruments": [instrument(), instrument("taxi_meter", "T1")]})
    short = load(
        {
            "instruments": [
                instrument(error_pct="1.2"),
                instrument("fuel_dispenser", "F", verified_on=None),
            ]
        }
    )
    history = [
        _stored("2024-02-01", clean, rules.evaluate(clean, D("2024-02-01"))),
        _stored("2024-06-01", short, rules.evaluate(short, D("2024-06-01"))),
        _stored("2025-01-01", short, rules.evaluate(short, D("2024-06-01"))),  # on as_of: excluded
    ]
    (factors,) = pm.hook.inspect_risk_factors(sector=SECTOR, results=history, as_of=D("2025-01-01"))
    assert {f.name: f.value for f in factors} == {
        "metrology_out_of_tolerance": 1.0,
        "metrology_unverified_share": 0.25,
        "metrology_noncompliant_inspections": 1.0,
    }
    assert all(f.description_zh and f.description_en for f in factors)
    (early,) = pm.hook.inspect_risk_factors(sector=SECTOR, results=history, as_of=D("2024-06-01"))
    assert {f.name: f.value for f in early}["metrology_noncompliant_inspections"] == 0.0
    (none,) = pm.hook.inspect_risk_factors(sector=SECTOR, results=[], as_of=D("2024-06-01"))
    assert {f.name: f.value for f in none}["metrology_unverified_share"] == 0.0


def test_every_hookspec_is_implemented(pm: pluggy.PluginManager) -> None:
    """The template shows all hooks: each inspect_* hookspec has this plugin's hookimpl."""
    plugin = pm.get_plugin(SECTOR)
    specs = {name for name in dir(pm.hook) if name.startswith("inspect_")}
    implemented = {caller.name for caller in pm.get_hookcallers(plugin) or ()}
    assert specs and implemented == specs


# --------------------------------------------------------------------------- packaging


def test_entry_point_and_version_are_declared() -> None:
    """The installed distribution names this module in the core's group, at the same version."""
    (ep,) = [ep for ep in entry_points(group="inspect_core.plugins") if ep.name == SECTOR]
    assert ep.value == "inspect_metrology" and ep.load() is inspect_metrology
    assert version("inspect-plugin-metrology") == inspect_metrology.__version__


def test_plugin_imports_only_the_plugin_api() -> None:
    """The package imports no Flask, SQLAlchemy or core module but ``inspect_core.plugin_api``."""
    package = Path(inspect_metrology.__file__).parent
    sources = sorted(package.glob("*.py"))
    assert len(sources) == 4
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root not in {"flask", "sqlalchemy", "flask_smorest"}, (source, name)
                assert root != "inspect_core" or name == "inspect_core.plugin_api", (source, name)


def test_bulk_uploads_take_the_per_row_path() -> None:
    """inspect_judge_rows declines: the judgement needs each row's inspection date."""
    assert inspect_metrology.inspect_judge_rows(sector=SECTOR, rows=[{}], context={}) is None
