"""Special-equipment (特种设备) sector plugin: the equipment register of a using unit.

The module itself is the pluggy plugin (``pm.register(plugins.special_equipment)``);
every hook answers ``None`` for sectors other than ``special_equipment``.  Rules
live in :mod:`plugins.special_equipment.rules` (pure), the payload schema and
checklist in :mod:`plugins.special_equipment.schemas`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from inspect_core.plugin_api import (
    ChecklistItem,
    Judgement,
    RiskFactor,
    Sector,
    TemplateColumn,
    hookimpl,
)

from . import rules
from .schemas import CHECKLIST, RegisterSchema

__version__ = "1.0.0"
PLUGIN_NAME = "inspect-core-special-equipment"
SECTOR_CODE = "special_equipment"
#: Tasks need an inspector qualified for special equipment.
QUALIFICATION = "special_equipment"

SECTOR = Sector(
    code=SECTOR_CODE,
    name_zh="特种设备",
    name_en="Special equipment",
    version=__version__,
    qualification=QUALIFICATION,
)

TEMPLATE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn(
        "inspected_on",
        "检查日期",
        "2024-06-15",
        required=False,
        notes="defaults to the result's recorded_on",
    ),
    TemplateColumn("registration_code", "使用登记证编号/设备代码", "梯11沪A00123(20)"),
    TemplateColumn("category", "设备类别代码（1000锅炉…9000客运索道）", "3000"),
    TemplateColumn(
        "sub_type",
        "设备品种",
        "",
        required=False,
        notes="cranes: tower_crane, bridge_crane, …; cylinders: cylinder_general, …",
    ),
    TemplateColumn("commissioning_date", "投入使用日期", "2020-06-01"),
    TemplateColumn("registered", "是否已办理使用登记（是/否）", "是"),
    TemplateColumn("registration_date", "使用登记日期", "2020-06-20", required=False),
    TemplateColumn(
        "last_periodic_inspection",
        "最近一次定期检验日期",
        "2021-05-10",
        required=False,
        notes="boilers: the internal inspection",
    ),
    *(
        TemplateColumn(f"last_inspections.{kind}", f"最近一次{zh}日期", "", required=False)
        for kind, zh in (("external", "外部检验（锅炉）"), ("hydrostatic", "水压试验（锅炉）"))
        if kind in rules.EXTRA_KINDS
    ),
    TemplateColumn("safety_grade", "安全状况等级（1–5，压力容器/管道）", "", required=False),
    TemplateColumn(
        "maintenance_records", "维保日期（分号分隔）", "2024-05-20;2024-06-03", required=False
    ),
    TemplateColumn(
        "operators",
        "作业人员证书（编号:有效期至，分号分隔）",
        "TS1234567:2026-05-31",
        required=False,
    ),
)

_TRUE = {"是", "已登记", "true", "yes", "y", "1"}
_FALSE = {"否", "未登记", "false", "no", "n", "0"}


def _cell(row: Mapping[str, Any], name: str) -> Any:
    """A cell as JSON-ready text (dates ISO, whole numbers without ``.0``); blank → ``None``."""
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip()
    return text or None


def _split(text: str) -> list[str]:
    for sep in ("；", "\n", ","):
        text = text.replace(sep, ";")
    return [part.strip() for part in text.split(";") if part.strip()]


def payload_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One flat upload row → one payload holding a one-unit register.

    One row is one unit (so one result per unit).  ``maintenance_records`` is a
    ``;``-separated list of dates; ``operators`` is ``certificate_no:expiry-date``
    entries separated by ``;``; ``last_inspections.<kind>`` columns fill the
    ``last_inspections`` mapping; ``safety_grade`` whole numbers become integers.
    """
    unit: dict[str, Any] = {}
    for key in (
        "registration_code",
        "category",
        "sub_type",
        "commissioning_date",
        "registration_date",
        "last_periodic_inspection",
    ):
        if _cell(row, key) is not None:
            unit[key] = _cell(row, key)
    registered = _cell(row, "registered")
    if isinstance(registered, str) and registered.casefold() in _TRUE | _FALSE:
        registered = registered.casefold() in _TRUE
    if registered is not None:
        unit["registered"] = registered
    grade = _cell(row, "safety_grade")
    if grade is not None:
        unit["safety_grade"] = int(grade) if grade.isdigit() else grade
    extra = {
        kind: _cell(row, f"last_inspections.{kind}")
        for kind in rules.EXTRA_KINDS
        if _cell(row, f"last_inspections.{kind}") is not None
    }
    if extra:
        unit["last_inspections"] = extra
    records = _cell(row, "maintenance_records")
    if records is not None:
        unit["maintenance_records"] = _split(records)
    operators = _cell(row, "operators")
    if operators is not None:
        unit["operators"] = []
        for entry in _split(operators):
            number, _, expiry = entry.replace("：", ":").partition(":")
            operator = {"certificate_no": number.strip()}
            if expiry.strip():
                operator["expires_on"] = expiry.strip()
            unit["operators"].append(operator)
    payload: dict[str, Any] = {"equipment": [unit]}
    if _cell(row, "inspected_on") is not None:
        payload["inspected_on"] = _cell(row, "inspected_on")
    return payload


def _units(results: Sequence[Mapping[str, Any]], as_of: dt.date) -> Iterator[tuple[dt.date, Any]]:
    """(inspection date, loaded unit) of every past result recorded before ``as_of``."""
    schema = RegisterSchema()
    for result in results:
        recorded = rules.inspection_date({}, {"recorded_on": result["recorded_on"]})
        if recorded >= as_of:
            continue
        payload = schema.load(result["payload"])
        day = rules.inspection_date(payload, {"recorded_on": recorded})
        for unit in payload["equipment"]:
            yield day, unit


# --------------------------------------------------------------------------- hooks


@hookimpl
def inspect_sectors() -> Sequence[Sector]:
    """The special-equipment sector."""
    return [SECTOR]


@hookimpl
def inspect_payload_schema(sector: str) -> type[RegisterSchema] | None:
    """The register payload schema class."""
    return RegisterSchema if sector == SECTOR_CODE else None


@hookimpl
def inspect_checklist(sector: str) -> Sequence[ChecklistItem] | None:
    """The on-site checklist."""
    return CHECKLIST if sector == SECTOR_CODE else None


@hookimpl
def inspect_judge(
    sector: str, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> Judgement | None:
    """Judge the register on ``inspected_on`` (else ``recorded_on``) with ``config``."""
    if sector != SECTOR_CODE:
        return None
    return rules.judge_register(payload, context)


@hookimpl
def inspect_risk_factors(
    sector: str, results: Sequence[Mapping[str, Any]], as_of: dt.date
) -> Sequence[RiskFactor] | None:
    """Overdue inspections, longest delay, unregistered units, maintenance gaps."""
    if sector != SECTOR_CODE:
        return None
    return rules.risk_factors(_units(results, as_of), as_of)


@hookimpl
def inspect_required_qualification(sector: str) -> str | None:
    """Special-equipment tasks need a special-equipment qualified inspector."""
    return QUALIFICATION if sector == SECTOR_CODE else None


@hookimpl
def inspect_template_columns(sector: str) -> Sequence[TemplateColumn] | None:
    """Columns of the upload template (one row per unit)."""
    return TEMPLATE_COLUMNS if sector == SECTOR_CODE else None


@hookimpl
def inspect_payload_from_row(sector: str, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One upload row → one single-unit register payload (see :func:`payload_from_row`)."""
    return payload_from_row(row) if sector == SECTOR_CODE else None
