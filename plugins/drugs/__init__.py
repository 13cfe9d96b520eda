"""Drugs (药品) sector plugin: GMP/GSP inspections and sampling (抽检) results.

The module itself is the pluggy plugin (``pm.register(plugins.drugs)``); every
hook answers ``None`` for sectors other than ``drugs``.  Rules live in
:mod:`plugins.drugs.rules` (pure), the payload schema and checklist in
:mod:`plugins.drugs.schemas`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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
from .schemas import CHECKLIST, DrugPayloadSchema

__version__ = "1.0.0"
PLUGIN_NAME = "inspect-core-drugs"
SECTOR_CODE = "drugs"

SECTOR = Sector(
    code=SECTOR_CODE,
    name_zh="药品",
    name_en="Drugs",
    version=__version__,
    qualification=SECTOR_CODE,
)

TEMPLATE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("inspection_type", "检查类型（gmp/gsp/sampling）", "sampling"),
    TemplateColumn(
        "defects",
        "缺陷项（条款号|等级|所属系统|描述，多项以分号分隔）",
        "GSP-01401|major|质量管理体系;GSP-02301|一般|设施与设备",
        required=False,
        notes="gmp/gsp only; grade critical|major|general or 严重|主要|一般",
    ),
    TemplateColumn("records_falsified", "是否存在记录造假（是/否）", "否", required=False),
    TemplateColumn("qms_sound", "质量管理体系是否健全（是/否）", "是", required=False),
    TemplateColumn("gsp_na_critical", "严重项合理缺项数", 0, required=False, notes="gsp only"),
    TemplateColumn("gsp_na_major", "主要项合理缺项数", 0, required=False, notes="gsp only"),
    TemplateColumn("gsp_na_general", "一般项合理缺项数", 0, required=False, notes="gsp only"),
    TemplateColumn("stage", "抽样环节（生产/流通/使用）", "流通", required=False),
    TemplateColumn("product_name", "药品名称", "对乙酰氨基酚片", required=False),
    TemplateColumn("batch_no", "批号", "20240301", required=False),
    TemplateColumn("dosage_form", "剂型", "片剂", required=False),
    TemplateColumn("assay_measured", "含量测定结果（%标示量）", "98.6", required=False),
    TemplateColumn("assay_lower", "含量限度下限（%）", "95.0", required=False),
    TemplateColumn("assay_upper", "含量限度上限（%）", "105.0", required=False),
    TemplateColumn("dissolution_q", "溶出度限度Q（%）", "80", required=False),
    TemplateColumn(
        "dissolution_units",
        "溶出度各单位结果（%，分号分隔，6或12个）",
        "86;88;90;85;91;87",
        required=False,
    ),
    TemplateColumn("related_substances_measured", "有关物质实测（%）", "0.12", required=False),
    TemplateColumn("related_substances_limit", "有关物质限度（%）", "0.5", required=False),
    TemplateColumn("identification", "鉴别（符合/不符合）", "符合", required=False),
)

_TRUE = {"是", "有", "true", "yes", "y", "1", "符合", "合格"}
_FALSE = {"否", "无", "false", "no", "n", "0", "不符合", "不合格"}


def _cell(row: Mapping[str, Any], name: str) -> Any:
    """A cell as JSON-ready text (dates ISO, numbers as written); blank → ``None``."""
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


def _flag(row: Mapping[str, Any], name: str) -> Any:
    """是/否-style cells → bool; anything unrecognised is left for the schema to reject."""
    value = _cell(row, name)
    if isinstance(value, str):
        low = value.casefold()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return value


def _split(text: str) -> list[str]:
    for sep in ("；", "\n"):
        text = text.replace(sep, ";")
    return [part.strip() for part in text.split(";") if part.strip()]


def payload_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One flat upload row → one payload.

    Encoding: ``defects`` is ``item_code|grade|subsystem|description`` entries
    separated by ``;`` (subsystem and description optional); GSP not-applicable
    counts are ``gsp_na_critical/major/general``.  A sampling row carries at most
    one test of each common kind in fixed columns (``assay_*``, ``dissolution_q``
    with ``dissolution_units`` as ``;``-separated unit results,
    ``related_substances_*``, ``identification``); other test kinds need the JSON API.
    """
    payload: dict[str, Any] = {"inspection_type": _cell(row, "inspection_type")}
    if payload["inspection_type"] == "sampling":
        sample: dict[str, Any] = {
            key: _cell(row, key)
            for key in ("stage", "product_name", "batch_no", "dosage_form")
            if _cell(row, key) is not None
        }
        tests: list[dict[str, Any]] = []
        if _cell(row, "assay_measured") is not None:
            assay = {"kind": "assay", "measured": _cell(row, "assay_measured")}
            for end in ("lower", "upper"):
                if _cell(row, f"assay_{end}") is not None:
                    assay[end] = _cell(row, f"assay_{end}")
            tests.append(assay)
        if _cell(row, "dissolution_q") is not None or _cell(row, "dissolution_units") is not None:
            units = _cell(row, "dissolution_units")
            tests.append(
                {
                    "kind": "dissolution",
                    "q": _cell(row, "dissolution_q"),
                    "units": _split(units) if isinstance(units, str) else units,
                }
            )
        if _cell(row, "related_substances_measured") is not None:
            tests.append(
                {
                    "kind": "related_substances",
                    "measured": _cell(row, "related_substances_measured"),
                    "limit": _cell(row, "related_substances_limit"),
                }
            )
        if _cell(row, "identification") is not None:
            tests.append({"kind": "identification", "passed": _flag(row, "identification")})
        sample["test_items"] = tests
        payload["sample"] = sample
        return payload
    defects = []
    for entry in _split(_cell(row, "defects") or ""):
        parts = [p.strip() for p in entry.split("|")]
        defect = {"item_code": parts[0]}
        for key, value in zip(("grade", "subsystem", "description"), parts[1:], strict=False):
            if value:
                defect[key] = value
        defects.append(defect)
    payload["defects"] = defects
    for key in ("records_falsified", "qms_sound"):
        if _cell(row, key) is not None:
            payload[key] = _flag(row, key)
    if payload["inspection_type"] == "gsp":
        na = {
            cls: _cell(row, f"gsp_na_{cls}")
            for cls in ("critical", "major", "general")
            if _cell(row, f"gsp_na_{cls}") is not None
        }
        if na:
            payload["gsp_not_applicable"] = {
                cls: int(v) if v.isdigit() else v for cls, v in na.items()
            }
    return payload


# --------------------------------------------------------------------------- hooks


@hookimpl
def inspect_sectors() -> Sequence[Sector]:
    """The drugs sector."""
    return [SECTOR]


@hookimpl
def inspect_payload_schema(sector: str) -> type[DrugPayloadSchema] | None:
    """The drugs payload schema class."""
    return DrugPayloadSchema if sector == SECTOR_CODE else None


@hookimpl
def inspect_checklist(sector: str) -> Sequence[ChecklistItem] | None:
    """The GMP/GSP-style on-site checklist."""
    return CHECKLIST if sector == SECTOR_CODE else None


@hookimpl
def inspect_judge(
    sector: str, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> Judgement | None:
    """Judge a loaded payload with the district's threshold overrides (``config``)."""
    if sector != SECTOR_CODE:
        return None
    return rules.judge(payload, (context or {}).get("config") or {})


@hookimpl
def inspect_risk_factors(
    sector: str, results: Sequence[Mapping[str, Any]], as_of: dt.date
) -> Sequence[RiskFactor] | None:
    """Failed-sample rate and GMP/GSP defect history before ``as_of``."""
    if sector != SECTOR_CODE:
        return None
    return rules.risk_factors(results, as_of)


@hookimpl
def inspect_required_qualification(sector: str) -> str | None:
    """Drugs tasks need a drugs-qualified inspector."""
    return SECTOR_CODE if sector == SECTOR_CODE else None


@hookimpl
def inspect_template_columns(sector: str) -> Sequence[TemplateColumn] | None:
    """Columns of the drugs upload template."""
    return TEMPLATE_COLUMNS if sector == SECTOR_CODE else None


@hookimpl
def inspect_payload_from_row(sector: str, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One upload row → one drugs payload (see :func:`payload_from_row`)."""
    return payload_from_row(row) if sector == SECTOR_CODE else None
