"""Food (食品) sector plugin: sampling results judged against GB 2762 / 2763 / 2761 / 2760 /
31650 limits and banned-substance lists, plus CFDA 2016 business risk grading.

The module itself is the plugin object (``pm.register(plugins.food)``).  It imports only
``inspect_core.plugin_api``; the rules live in :mod:`plugins.food.rules`, the payload schema
and checklist in :mod:`plugins.food.schemas`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from inspect_core.plugin_api import (
    ChecklistItem,
    Judgement,
    Message,
    RiskFactor,
    Sector,
    TemplateColumn,
    hookimpl,
    result_date,
)

from . import bulk, rules
from .messages import MESSAGES
from .schemas import CHECKLIST, STAGES, FoodResultSchema

__version__ = "1.0.0"
PLUGIN_NAME = "inspect-food"
SECTOR_CODE = "food"
QUALIFICATION = "food"

SECTOR = Sector(
    code=SECTOR_CODE,
    name_zh="食品",
    name_en="Food",
    version=__version__,
    qualification=QUALIFICATION,
    facts=rules.FACTS,
)

#: Number of test-item column groups in the upload template; rows may carry more
#: (``items.3.item`` …), the parser reads whatever indexes are present.
TEMPLATE_ITEM_GROUPS = 3


@hookimpl
def inspect_sectors() -> Sequence[Sector]:
    """The one sector this plugin owns."""
    return [SECTOR]


@hookimpl
def inspect_payload_schema(sector: str) -> type[FoodResultSchema] | None:
    """The result payload schema for ``food``."""
    return FoodResultSchema if sector == SECTOR_CODE else None


@hookimpl
def inspect_checklist(sector: str) -> Sequence[ChecklistItem] | None:
    """The 食品生产经营日常监督检查要点 checklist, key items marked."""
    return CHECKLIST if sector == SECTOR_CODE else None


@hookimpl
def inspect_judge(
    sector: str, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> Judgement | None:
    """Judge a sampling result; ``context["config"]`` may override limits and options.
    The sample must not postdate the inspection day (``inspected_on``, else ``recorded_on``)."""
    if sector != SECTOR_CODE:
        return None
    context = context or {}
    day = result_date(payload, context) or _day(context.get("recorded_on"))
    rules.check_sampling_date(payload.get("sampling_date"), day)
    return rules.judge_sample(payload, context.get("config") or {})


@hookimpl
def inspect_judge_rows(
    sector: str, rows: Sequence[Mapping[str, Any]], context: Mapping[str, Any]
) -> Sequence[tuple[Mapping[str, Any], Judgement] | None] | None:
    """Bulk uploads: load and judge many rows at once, declining any row it is not sure of."""
    if sector != SECTOR_CODE:
        return None
    context = context or {}
    return bulk.judge_rows(rows, context.get("config") or {}, _day(context.get("recorded_on")))


def _day(value: Any) -> dt.date | None:
    """A context's date (a ``datetime`` taken as its day); None for anything else."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


@hookimpl
def inspect_risk_factors(
    sector: str, results: Sequence[Mapping[str, Any]], as_of: dt.date
) -> Sequence[RiskFactor] | None:
    """Failed-sample rate, banned hits, limit exceedances and the latest risk grade."""
    if sector != SECTOR_CODE:
        return None
    return rules.risk_factors(results, as_of)


@hookimpl
def inspect_messages() -> Sequence[Message]:
    """zh-CN for the reasons this plugin's schema and rules give."""
    return MESSAGES


@hookimpl
def inspect_required_qualification(sector: str) -> str | None:
    """Food tasks need the ``food`` inspector qualification."""
    return QUALIFICATION if sector == SECTOR_CODE else None


_ITEM_COLUMNS: tuple[tuple[str, str, Any, bool, str], ...] = (
    ("item", "检验项目{n}（代码）", "Cd", True, "analyte code from analytes.csv, e.g. Cd, Pb"),
    ("value", "检验结果{n}", "0.15", False, "number; or 'ND'/'未检出', or '<0.01'"),
    ("qualifier", "结果标识{n}", "", False, "empty, '<' or 'ND'"),
    ("unit", "计量单位{n}", "mg/kg", True, "mg/kg, μg/kg (ug/kg), g/kg, mg/L, μg/L, /25g"),
    ("lod", "检出限{n}", "0.01", False, "same unit as the result; required for ND"),
    ("loq", "定量限{n}", "0.03", False, "same unit as the result"),
    ("method", "检验方法{n}", "GB 5009.15-2014", False, ""),
    ("standard", "判定依据{n}", "GB 2762-2022", False, ""),
)


@hookimpl
def inspect_template_columns(sector: str) -> Sequence[TemplateColumn] | None:
    """Sample columns, then ``TEMPLATE_ITEM_GROUPS`` numbered groups ``items.N.<field>``."""
    if sector != SECTOR_CODE:
        return None
    columns = [
        TemplateColumn("sample_no", "样品编号", "SC2024-0001"),
        TemplateColumn("food_name", "食品名称", "大米"),
        TemplateColumn("food_category", "食品类别（代码）", "cereal.rice.milled"),
        TemplateColumn("batch", "批号", "20240301", required=False),
        TemplateColumn("sampling_date", "抽样日期", "2024-03-05"),
        TemplateColumn(
            "stage",
            "抽样环节",
            "circulation",
            notes="production/circulation/catering or 生产/流通/餐饮",
        ),
        TemplateColumn(
            "business_risk.static_score", "静态风险分值", None, required=False, notes="0–40"
        ),
        TemplateColumn(
            "business_risk.dynamic_score", "动态风险分值", None, required=False, notes="0–60"
        ),
    ]
    for n in range(TEMPLATE_ITEM_GROUPS):
        for name, header, example, required, notes in _ITEM_COLUMNS:
            columns.append(
                TemplateColumn(
                    f"items.{n}.{name}",
                    header.format(n=n + 1),
                    example if n == 0 else None,
                    required=required and n == 0,
                    notes=notes,
                )
            )
    return columns


_STAGE_ALIASES = {zh.removesuffix("环节"): code for code, (zh, _) in STAGES.items()}
_STAGE_ALIASES["销售"] = "circulation"
_ND_WORDS = {"nd", "未检出", "n.d.", "not detected"}
_ITEM_KEY = re.compile(r"^items\.(\d+)\.([a-z_]+)$")


def _cell(value: Any) -> Any:
    """Normalise a spreadsheet cell: blanks → None, numbers → exact strings, dates → ISO."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value).strip()
    return text or None


@hookimpl
def inspect_payload_from_row(sector: str, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One upload row → one food result payload.

    Flat encoding: sample fields by name; ``business_risk.static_score`` /
    ``business_risk.dynamic_score``; test items as numbered column groups ``items.N.item``,
    ``items.N.value`` … (N from 0).  Groups left blank are dropped and the rest renumbered
    in order.  A value cell may say ``ND``/``未检出`` or ``<0.01``; the qualifier is then
    derived.  Unrecognised columns are passed through so the schema rejects them by name.
    """
    if sector != SECTOR_CODE:
        return None
    payload: dict[str, Any] = {}
    groups: dict[int, dict[str, Any]] = {}
    risk: dict[str, Any] = {}
    for key, raw in row.items():
        value = _cell(raw)
        match = _ITEM_KEY.match(str(key))
        if match:
            if value is not None:
                groups.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif str(key).startswith("business_risk."):
            if value is not None:
                risk[str(key).split(".", 1)[1]] = value
        elif value is not None:
            payload[str(key)] = value
    if isinstance(payload.get("stage"), str):
        payload["stage"] = _STAGE_ALIASES.get(payload["stage"], payload["stage"])
    if risk:
        payload["business_risk"] = risk
    items = []
    for n in sorted(groups):
        item = groups[n]
        value = item.get("value")
        if isinstance(value, str):
            if value.lower() in _ND_WORDS:
                item["value"] = None
                item["qualifier"] = "ND"
            elif value.startswith("<"):
                item["value"] = value[1:].strip()
                item["qualifier"] = "<"
        qualifier = item.get("qualifier")
        if isinstance(qualifier, str) and qualifier.lower() in _ND_WORDS:
            item["qualifier"] = "ND"
        items.append(item)
    payload["items"] = items
    return payload


_SAMPLE_COLUMNS = ("sample_no", "food_name", "food_category", "batch", "sampling_date", "stage")


@hookimpl
def inspect_row_from_payload(sector: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One stored food payload → one upload row, the inverse of :func:`inspect_payload_from_row`.

    Every template column is present (blank → ``None``) so exported rows line up; items past
    the template's ``TEMPLATE_ITEM_GROUPS`` get further numbered groups ``items.3.*`` …,
    which the parser reads like the others.  An ND item shows ``ND`` in its value cell too,
    so the exported sheet does not look like a missing result.  Decimals stay the exact text
    they were stored as.
    """
    if sector != SECTOR_CODE:
        return None
    row: dict[str, Any] = {c.name: None for c in inspect_template_columns(sector=SECTOR_CODE)}
    for key in _SAMPLE_COLUMNS:
        row[key] = _export_cell(payload.get(key))
    risk = payload.get("business_risk") or {}
    for key in ("static_score", "dynamic_score"):
        row[f"business_risk.{key}"] = _export_cell(risk.get(key))
    for n, item in enumerate(payload.get("items") or ()):
        for name, *_ in _ITEM_COLUMNS:
            row[f"items.{n}.{name}"] = _export_cell(item.get(name))
        if item.get("qualifier") == "ND" and item.get("value") is None:
            row[f"items.{n}.value"] = "ND"
    return row


def _export_cell(value: Any) -> Any:
    """A stored value as a cell: JSON payloads hold text already; loaded ones are tolerated."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


__all__ = [
    "PLUGIN_NAME",
    "QUALIFICATION",
    "SECTOR",
    "SECTOR_CODE",
    "__version__",
    "inspect_checklist",
    "inspect_judge",
    "inspect_judge_rows",
    "inspect_messages",
    "inspect_payload_from_row",
    "inspect_payload_schema",
    "inspect_required_qualification",
    "inspect_risk_factors",
    "inspect_row_from_payload",
    "inspect_sectors",
    "inspect_template_columns",
]
