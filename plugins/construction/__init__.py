"""Construction (建设工程) sector plugin: GB 50300-2013 acceptance trees, GB/T 50107-2010
concrete strength batches, completion acceptance conditions and deadlines, and common
quality problems.

The module itself is the plugin object (``pm.register(plugins.construction)``).  It imports
only ``inspect_core.plugin_api``; rules live in :mod:`plugins.construction.rules`, the
payload schema and checklist in :mod:`plugins.construction.schemas`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
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
)

from . import rules
from .messages import MESSAGES
from .schemas import CHECKLIST, CONDITIONS, ConstructionResultSchema

__version__ = "1.0.0"
PLUGIN_NAME = "inspect-construction"
SECTOR_CODE = "construction"
QUALIFICATION = "construction"

SECTOR = Sector(
    code=SECTOR_CODE,
    name_zh="建设工程",
    name_en="Construction projects",
    version=__version__,
    qualification=QUALIFICATION,
)

#: Numbered column groups in the upload template; rows may carry more indexes.
TEMPLATE_BATCH_GROUPS = 2
TEMPLATE_PROBLEM_GROUPS = 2


@hookimpl
def inspect_sectors() -> Sequence[Sector]:
    """The one sector this plugin owns."""
    return [SECTOR]


@hookimpl
def inspect_payload_schema(sector: str) -> type[ConstructionResultSchema] | None:
    """The result payload schema for ``construction``."""
    return ConstructionResultSchema if sector == SECTOR_CODE else None


@hookimpl
def inspect_checklist(sector: str) -> Sequence[ChecklistItem] | None:
    """Completion conditions, acceptance and common-problem checks, key items marked."""
    return CHECKLIST if sector == SECTOR_CODE else None


@hookimpl
def inspect_judge(
    sector: str, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> Judgement | None:
    """Judge a result as found on the inspection day (``context["inspected_on"]``, else
    ``recorded_on``), which dates an overdue filing and bounds the completion dates;
    ``config`` overrides thresholds (same keys as ``thresholds.json``)."""
    if sector != SECTOR_CODE:
        return None
    context = context or {}
    day = context.get("inspected_on") or context.get("recorded_on")
    if isinstance(day, dt.datetime):
        day = day.date()
    return rules.judge_result(
        payload, context.get("config") or {}, day if isinstance(day, dt.date) else None
    )


@hookimpl
def inspect_risk_factors(
    sector: str, results: Sequence[Mapping[str, Any]], as_of: dt.date
) -> Sequence[RiskFactor] | None:
    """Failed-result share, failed concrete batches, late notices/filings, problems."""
    if sector != SECTOR_CODE:
        return None
    return rules.risk_factors(results, as_of)


@hookimpl
def inspect_required_qualification(sector: str) -> str | None:
    """Construction tasks need the ``construction`` inspector qualification."""
    return QUALIFICATION if sector == SECTOR_CODE else None


_BATCH_COLUMNS = (
    ("batch_no", "混凝土检验批编号{n}", "KJ-01"),
    ("grade", "强度等级{n}", "C30"),
    ("method", "评定方法{n}", "non_statistical"),
    ("values", "试件强度代表值{n}（N/mm²，分号分隔）", "35.2;34.8;36.1"),
    ("sigma0", "已知标准差σ0 {n}（N/mm²）", None),
)
_PROBLEM_COLUMNS = (
    ("type", "质量问题类型{n}", "leak"),
    ("location", "问题部位{n}", "3#楼 12 层卫生间"),
    ("description", "问题描述{n}", "地漏周边渗水"),
    ("severity", "严重程度{n}", None),
)


@hookimpl
def inspect_template_columns(sector: str) -> Sequence[TemplateColumn] | None:
    """Project columns, the tree as JSON, numbered batch and problem groups, completion."""
    if sector != SECTOR_CODE:
        return None
    columns = [
        TemplateColumn("project_no", "工程编号", "JS-2024-017"),
        TemplateColumn("project_name", "工程名称", "滨江花园 3# 住宅楼"),
        TemplateColumn(
            "acceptance_tree",
            "验收划分及结果（JSON）",
            None,
            required=False,
            notes="GB 50300 tree as JSON text (levels unit/division/subdivision/subitem/lot)",
        ),
    ]
    for n in range(TEMPLATE_BATCH_GROUPS):
        for name, header, example in _BATCH_COLUMNS:
            columns.append(
                TemplateColumn(
                    f"concrete_batches.{n}.{name}",
                    header.format(n=n + 1),
                    example if n == 0 else None,
                    required=False,
                    notes="method: known_sigma / statistical / non_statistical (blank = auto)"
                    if name == "method"
                    else "",
                )
            )
    columns += [
        TemplateColumn("completion.acceptance_date", "竣工验收日期", "2024-06-18", required=False),
        TemplateColumn("completion.notice_date", "通知监督机构日期", "2024-06-06", required=False),
        TemplateColumn("completion.filing_date", "竣工验收备案日期", "2024-06-28", required=False),
    ]
    for cond in CONDITIONS:
        columns.append(
            TemplateColumn(
                f"completion.conditions.{cond['code']}",
                f"{cond['name_zh']}（是/否）",
                "是",
                required=False,
                notes=cond["basis"],
            )
        )
    for n in range(TEMPLATE_PROBLEM_GROUPS):
        for name, header, example in _PROBLEM_COLUMNS:
            columns.append(
                TemplateColumn(
                    f"problems.{n}.{name}",
                    header.format(n=n + 1),
                    example if n == 0 else None,
                    required=False,
                    notes="leak / crack / hollow / dusting_floor / pipe_leak"
                    if name == "type"
                    else "",
                )
            )
    return columns


_TRUE = {"是", "y", "yes", "true", "1", "具备", "合格"}
_FALSE = {"否", "n", "no", "false", "0", "不具备", "不合格"}
#: Number-list separators: ``;`` ``,`` ``、`` whitespace, the full-width ``；`` ``，`` and
#: their small and vertical forms (NFKC kin); the reader keeps non-ASCII cells as written.
_LIST_SPLIT = re.compile(r"[;；﹔︔,，﹐︐、\s]+")


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


def _listify(node: Any) -> Any:
    """Dicts whose keys are all digits become lists in index order (blank groups gone)."""
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


@hookimpl
def inspect_payload_from_row(sector: str, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One upload row → one construction result payload.

    Flat encoding: dotted column names are payload paths, numbered groups are list items
    (``concrete_batches.0.grade``, ``problems.1.location``; blank groups dropped, the rest
    renumbered in order).  ``concrete_batches.N.values`` and ``sigma0_history`` hold
    numbers separated by ``;`` (or commas, ``、``, spaces, the full-width ``；``/``，``).
    ``acceptance_tree`` holds the tree as JSON text.  Condition cells accept 是/否,
    yes/no, true/false.  Unrecognised columns pass through so the schema rejects them by
    name.
    """
    if sector != SECTOR_CODE:
        return None
    nested: dict[str, Any] = {}
    for key, raw in row.items():
        value = _cell(raw)
        if value is None:
            continue
        parts = str(key).split(".")
        if parts[-1] in ("values", "sigma0_history") and isinstance(value, str):
            value = [v for v in _LIST_SPLIT.split(value) if v]
        elif len(parts) == 3 and parts[:2] == ["completion", "conditions"]:
            if isinstance(value, str) and value.lower() in _TRUE:
                value = True
            elif isinstance(value, str) and value.lower() in _FALSE:
                value = False
        elif parts == ["acceptance_tree"] and isinstance(value, str):
            # bad JSON stays text: the schema answers "acceptance_tree: Not a valid mapping"
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        target = nested
        for part in parts[:-1]:
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                break
            target = existing
        else:
            target[parts[-1]] = value
    return _listify(nested)


def _export_cell(value: Any) -> Any:
    """A stored value as a cell: JSON payloads hold text already; loaded ones are tolerated
    (Decimal → its exact text, date → ISO)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _joined(values: Sequence[Any] | None) -> str | None:
    """Numbers as one ``;``-separated cell (an empty list is a blank cell)."""
    return ";".join(str(_export_cell(v)) for v in values or ()) or None


def _pruned(node: Any) -> Any:
    """A tree node without the nulls and empty ``children`` the schema fills in by default,
    so the exported JSON reads like what an inspector would type; loading it again gives
    the same tree."""
    if isinstance(node, Mapping):
        return {
            k: _pruned(v)
            for k, v in node.items()
            if v is not None and not (k == "children" and v == [])
        }
    if isinstance(node, list | tuple):
        return [_pruned(v) for v in node]
    return node


def _flag(value: Any) -> str | None:
    return None if value is None else ("是" if value else "否")


@hookimpl
def inspect_row_from_payload(sector: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One stored construction payload → one upload row, the inverse of
    :func:`inspect_payload_from_row`.

    Every template column is present (blank → ``None``); batches and problems past the
    template's groups get further numbered groups, which the parser reads like the others.
    The acceptance tree is JSON text; strengths (and ``sigma0_history``, which has no
    template column but the parser reads) are ``;``-separated; conditions 是/否.
    """
    if sector != SECTOR_CODE:
        return None
    row: dict[str, Any] = {c.name: None for c in inspect_template_columns(sector=SECTOR_CODE)}
    row["project_no"] = payload.get("project_no")
    row["project_name"] = payload.get("project_name")
    tree = payload.get("acceptance_tree")
    if tree is not None:
        row["acceptance_tree"] = json.dumps(_pruned(tree), ensure_ascii=False, default=_export_cell)
    for n, batch in enumerate(payload.get("concrete_batches") or ()):
        for name, *_ in _BATCH_COLUMNS:
            value = batch.get(name)
            row[f"concrete_batches.{n}.{name}"] = (
                _joined(value) if name == "values" else _export_cell(value)
            )
        if batch.get("sigma0_history") is not None:
            row[f"concrete_batches.{n}.sigma0_history"] = _joined(batch["sigma0_history"])
    completion = payload.get("completion")
    if completion is not None:
        for name in ("acceptance_date", "notice_date", "filing_date"):
            row[f"completion.{name}"] = _export_cell(completion.get(name))
        for code, met in (completion.get("conditions") or {}).items():
            row[f"completion.conditions.{code}"] = _flag(met)
    for n, problem in enumerate(payload.get("problems") or ()):
        for name, *_ in _PROBLEM_COLUMNS:
            row[f"problems.{n}.{name}"] = _export_cell(problem.get(name))
    return row


@hookimpl
def inspect_messages() -> Sequence[Message]:
    """zh-CN for the reasons this plugin's schema and rules give."""
    return MESSAGES


__all__ = [
    "PLUGIN_NAME",
    "QUALIFICATION",
    "SECTOR",
    "SECTOR_CODE",
    "__version__",
    "inspect_checklist",
    "inspect_judge",
    "inspect_messages",
    "inspect_payload_from_row",
    "inspect_payload_schema",
    "inspect_required_qualification",
    "inspect_risk_factors",
    "inspect_row_from_payload",
    "inspect_sectors",
    "inspect_template_columns",
]
