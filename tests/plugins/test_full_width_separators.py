"""Full-width separators in upload cells split like the ASCII ones, in every plugin.

The upload reader keeps non-ASCII cells as written (NFC, trimmed): only a cell whose
NFKC form is plain ASCII, or a date, is folded.  So ``，`` ``；`` ``：`` ``｜`` in a
Chinese cell reach ``inspect_payload_from_row`` as typed, and a plugin that split only
on ``,`` ``;`` ``:`` ``|`` read such a cell as one entry: silent data loss.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pluggy
import pytest
from marshmallow import ValidationError

import inspect_core.hookspecs
import plugins.construction
import plugins.drugs
import plugins.special_equipment
from inspect_core.imports import reader
from plugins.drugs.schemas import DrugPayloadSchema
from plugins.special_equipment.schemas import RegisterSchema
from tests.plugins.helpers import as_stored

LIMITS = reader.Limits(10**9, 10**9, 10**9, 10**9, 10**9)


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    """A plugin manager holding the plugins whose cells carry lists or fields."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    for plugin in (plugins.special_equipment, plugins.drugs, plugins.construction):
        manager.register(plugin)
    manager.check_pending()
    return manager


def uploaded(row: dict[str, str]) -> dict[str, Any]:
    """``row`` written to a UTF-8 CSV and read back cell by cell as an upload reads it."""
    lines = [",".join(row), ",".join(f'"{v}"' for v in row.values())]
    table = reader.read_table("rows.csv", "\n".join(lines).encode(), LIMITS)
    ((_, cells),) = table.rows
    return {h: reader.normalise_cell(c) for h, c in zip(table.headers, cells, strict=True)}


# ------------------------------------------------------------------ special equipment

OPERATORS_FULL = "T1：2027-01-01：张三，T2：2027-06-01：李四"
OPERATORS_ASCII = "T1:2027-01-01:张三,T2:2027-06-01:李四"
TWO_OPERATORS = [
    {"certificate_no": "T1", "expires_on": "2027-01-01", "name": "张三"},
    {"certificate_no": "T2", "expires_on": "2027-06-01", "name": "李四"},
]


def test_reader_keeps_the_full_width_separators_of_a_chinese_cell() -> None:
    """The premise: a mixed Chinese cell reaches the plugin with ``：``/``，`` as typed."""
    assert uploaded({"operators": OPERATORS_FULL}) == {"operators": OPERATORS_FULL}


@pytest.mark.parametrize(
    "cell",
    [
        OPERATORS_FULL,
        OPERATORS_ASCII,
        "T1：2027-01-01：张三；T2：2027-06-01：李四",
        "T1:2027-01-01:张三、T2:2027-06-01:李四",
        "T1﹕2027-01-01﹕张三﹐T2︓2027-06-01︓李四",
        "T1：2027-01-01：张三\nT2：2027-06-01：李四",
    ],
)
def test_special_equipment_operators_split_on_any_separator(
    pm: pluggy.PluginManager, cell: str
) -> None:
    row = {"registration_code": "E-1", "operators": cell}
    payload = pm.hook.inspect_payload_from_row(sector="special_equipment", row=row)
    assert payload["equipment"][0]["operators"] == TWO_OPERATORS


def test_special_equipment_uploaded_operators_and_records(pm: pluggy.PluginManager) -> None:
    """Through the upload reader: two operators, three maintenance dates, all loaded."""
    row = uploaded(
        {
            "registration_code": "E-1",
            "category": "3000",
            "commissioning_date": "2020-06-01",
            "registered": "是",
            "operators": OPERATORS_FULL,
            "maintenance_records": "2024-05-20，2024-06-03、2024-06-18",
        }
    )
    payload = pm.hook.inspect_payload_from_row(sector="special_equipment", row=row)
    (unit,) = RegisterSchema().load(payload)["equipment"]
    assert [(o["certificate_no"], o["name"]) for o in unit["operators"]] == [
        ("T1", "张三"),
        ("T2", "李四"),
    ]
    assert unit["operators"][1]["expires_on"] == dt.date(2027, 6, 1)
    assert unit["maintenance_records"] == [
        dt.date(2024, 5, 20),
        dt.date(2024, 6, 3),
        dt.date(2024, 6, 18),
    ]


def test_special_equipment_full_width_records_split(pm: pluggy.PluginManager) -> None:
    row = {"registration_code": "E-1", "maintenance_records": "维保记录A，维保记录B"}
    payload = pm.hook.inspect_payload_from_row(sector="special_equipment", row=row)
    assert payload["equipment"][0]["maintenance_records"] == ["维保记录A", "维保记录B"]


@pytest.mark.parametrize("name", ["张，三", "张、三", "张﹐三", "张﹔三", "张︓三"])
def test_special_equipment_export_of_a_name_holding_a_separator_reimports(name: str) -> None:
    """A name holding any separator is exported as JSON, so it comes back whole."""
    payload = RegisterSchema().load(
        {
            "equipment": [
                {
                    "registration_code": "E-1",
                    "category": "3000",
                    "commissioning_date": "2020-06-01",
                    "registered": True,
                    "operators": [
                        {"certificate_no": "T1", "expires_on": "2027-01-01", "name": name},
                        {"certificate_no": "T2", "expires_on": "2027-06-01"},
                    ],
                }
            ]
        }
    )
    row = plugins.special_equipment.row_from_payload(as_stored(payload))
    assert RegisterSchema().load(plugins.special_equipment.payload_from_row(row)) == payload


# ---------------------------------------------------------------------------- drugs

DEFECTS_FULL = "A01｜严重｜制冷系统｜温度记录缺失；A02｜一般｜文件系统"
TWO_DEFECTS = [
    ("A01", "critical", "制冷系统", "温度记录缺失"),
    ("A02", "general", "文件系统", ""),
]


def _defects(payload: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    loaded = DrugPayloadSchema().load(payload)
    keys = ("item_code", "grade", "subsystem", "description")
    return [tuple(d[k] for k in keys) for d in loaded["defects"]]


@pytest.mark.parametrize(
    "cell",
    [
        DEFECTS_FULL,
        "A01|严重|制冷系统|温度记录缺失;A02|一般|文件系统",
        "A01｜严重|制冷系统｜温度记录缺失﹔A02|一般｜文件系统",
        "A01｜严重｜制冷系统｜温度记录缺失︔A02｜一般｜文件系统",
    ],
)
def test_drugs_defects_split_on_any_separator(pm: pluggy.PluginManager, cell: str) -> None:
    row = {"inspection_type": "gmp", "qms_sound": "是", "defects": cell}
    assert _defects(pm.hook.inspect_payload_from_row(sector="drugs", row=row)) == TWO_DEFECTS


def test_drugs_uploaded_defects(pm: pluggy.PluginManager) -> None:
    """Through the upload reader: ``｜``/``；`` arrive as typed and still split."""
    row = uploaded({"inspection_type": "gmp", "qms_sound": "是", "defects": DEFECTS_FULL})
    assert row["defects"] == DEFECTS_FULL
    assert _defects(pm.hook.inspect_payload_from_row(sector="drugs", row=row)) == TWO_DEFECTS


def test_drugs_dissolution_units_split_on_small_semicolons(pm: pluggy.PluginManager) -> None:
    row = {
        "inspection_type": "sampling",
        "dissolution_q": "80",
        "dissolution_units": "85﹔86︔87；88;89\n90",
    }
    payload = pm.hook.inspect_payload_from_row(sector="drugs", row=row)
    (test,) = payload["sample"]["test_items"]
    assert test["units"] == ["85", "86", "87", "88", "89", "90"]


@pytest.mark.parametrize("description", ["温度｜湿度", "温度﹔湿度", "温度︔湿度"])
def test_drugs_export_of_a_description_holding_a_separator_reimports(description: str) -> None:
    """A description holding any separator is exported as JSON, so it comes back whole."""
    payload = DrugPayloadSchema().load(
        {
            "inspection_type": "gmp",
            "qms_sound": True,
            "defects": [
                {"item_code": "A01", "grade": "major", "description": description},
                {"item_code": "A02", "grade": "general"},
            ],
        }
    )
    row = plugins.drugs.row_from_payload(as_stored(payload))
    assert DrugPayloadSchema().load(plugins.drugs.payload_from_row(row)) == payload


# --------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "cell",
    [
        "35.2;34.8;36.1",
        "35.2、34.8、36.1",
        "35.2﹔34.8︔36.1",
        "35.2﹐34.8︐36.1",
        "35.2，34.8； 36.1",
    ],
)
def test_construction_values_split_on_any_separator(pm: pluggy.PluginManager, cell: str) -> None:
    row = {"concrete_batches.0.batch_no": "KJ-01", "concrete_batches.0.values": cell}
    payload = pm.hook.inspect_payload_from_row(sector="construction", row=row)
    assert payload["concrete_batches"][0]["values"] == ["35.2", "34.8", "36.1"]


def test_construction_uploaded_values(pm: pluggy.PluginManager) -> None:
    """Through the upload reader: ``、`` is not NFKC-folded, so the plugin must split it."""
    row = uploaded({"concrete_batches.0.values": "35.2、34.8、36.1"})
    assert row["concrete_batches.0.values"] == "35.2、34.8、36.1"
    payload = pm.hook.inspect_payload_from_row(sector="construction", row=row)
    assert payload["concrete_batches"][0]["values"] == ["35.2", "34.8", "36.1"]


def test_a_bad_full_width_entry_is_still_named(pm: pluggy.PluginManager) -> None:
    """Splitting more never hides an error: a bad date in the second operator is named."""
    row = {
        "registration_code": "E-1",
        "category": "3000",
        "commissioning_date": "2020-06-01",
        "registered": "是",
        "operators": "T1：2027-01-01，T2：明年",
    }
    payload = pm.hook.inspect_payload_from_row(sector="special_equipment", row=row)
    with pytest.raises(ValidationError) as exc:
        RegisterSchema().load(payload)
    assert exc.value.messages == {
        "equipment": {0: {"operators": {1: {"expires_on": ["Not a valid date."]}}}}
    }
