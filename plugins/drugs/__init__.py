"""Drugs (药品) sector plugin: GMP/GSP inspections and sampling (抽检) results.

The module itself is the pluggy plugin (``pm.register(plugins.drugs)``); every
hook answers ``None`` for sectors other than ``drugs``.  Rules live in
:mod:`plugins.drugs.rules` (pure), the payload schema and checklist in
:mod:`plugins.drugs.schemas`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
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
    # the example row is a sampling result, so the gmp/gsp-only columns show no example
    TemplateColumn(
        "defects",
        "缺陷项（条款号|等级|所属系统|描述，多项以分号分隔）",
        None,
        required=False,
        notes="gmp/gsp only, e.g. GSP-01401|major|质量管理体系;GSP-02301|一般|设施与设备; "
        "grade critical|major|general or 严重|主要|一般; "
        "or a JSON array of defects when a text holds ';' or '|'",
    ),
    TemplateColumn(
        "records_falsified", "是否存在记录造假（是/否）", "否", required=False, notes="gmp/gsp only"
    ),
    TemplateColumn(
        "qms_sound", "质量管理体系是否健全（是/否）", "是", required=False, notes="gmp only"
    ),
    TemplateColumn("gsp_na_critical", "严重项合理缺项数", None, required=False, notes="gsp only"),
    TemplateColumn("gsp_na_major", "主要项合理缺项数", None, required=False, notes="gsp only"),
    TemplateColumn("gsp_na_general", "一般项合理缺项数", None, required=False, notes="gsp only"),
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
    TemplateColumn(
        "more_test_items",
        "其他检验项目（JSON 数组）",
        None,
        required=False,
        notes="test items the columns above cannot hold (kind other, a second assay …), "
        "as a JSON array; they follow the items above",
    ),
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


#: Entry separators: ``;``, a line break, the full-width ``；`` and its small and vertical
#: forms (what NFKC folds to ``;``).  The reader keeps non-ASCII cells as written.
_LIST_SEPARATORS = ";；﹔︔\n"
#: Field separators inside a defect entry: ``|`` and the full-width ``｜``.
_FIELD_SEPARATORS = "|｜"
#: a count cell read as an integer; anything else goes to the schema as typed
_INTEGER = re.compile(r"-?[0-9]+")
_LIST_SPLIT = re.compile(f"[{re.escape(_LIST_SEPARATORS)}]")
_FIELD_SPLIT = re.compile(f"[{re.escape(_FIELD_SEPARATORS)}]")


def _split(text: str) -> list[str]:
    """A list cell → its entries, split on any :data:`_LIST_SEPARATORS`."""
    return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]


def _json_list(text: Any) -> Any:
    """A cell holding a JSON array → the list; anything else → ``None``."""
    if isinstance(text, str) and text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None
    return None


def _defect(entry: str) -> dict[str, Any]:
    """``item_code|grade|subsystem|description`` → a defect (blank parts left to defaults)."""
    parts = [p.strip() for p in _FIELD_SPLIT.split(entry)]
    defect = {"item_code": parts[0]}
    for key, value in zip(("grade", "subsystem", "description"), parts[1:], strict=False):
        if value:
            defect[key] = value
    return defect


def payload_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One flat upload row → one payload.

    Encoding: ``defects`` is ``item_code|grade|subsystem|description`` entries
    separated by ``;`` (subsystem and description optional; the full-width ``｜``/``；``
    or a line break work as well), or a JSON array of defect objects; GSP not-applicable
    counts are ``gsp_na_critical/major/general``.  A sampling row carries at most one
    test of each common kind in fixed columns (``assay_*``,
    ``dissolution_q`` with ``dissolution_units`` as ``;``-separated unit results,
    ``related_substances_*``, ``identification``); ``more_test_items`` holds any further
    test items as a JSON array, appended after those.  Unparseable JSON there is passed
    on as text so the schema names ``sample.test_items``.  A cell filled for another
    inspection type (a defect on a sampling row, an assay on a GMP row) is passed on too,
    so the schema refuses the row instead of the row being stored without it.
    """
    payload: dict[str, Any] = {"inspection_type": _cell(row, "inspection_type")}
    for key in ("records_falsified", "qms_sound"):
        if _cell(row, key) is not None:
            payload[key] = _flag(row, key)
    # a cell filled for another inspection type goes on to the schema, which refuses it:
    # a defect on a sampling row, or an assay on a GMP row, was dropped and the row stored
    sampling = payload["inspection_type"] == "sampling"
    if sampling or any(_cell(row, key) is not None for key in _SAMPLE_COLUMNS):
        payload["sample"] = _sample_from_row(row)
    cell = _cell(row, "defects")
    if not sampling or cell is not None:
        defects = _json_list(cell)
        payload["defects"] = (
            defects if defects is not None else [_defect(entry) for entry in _split(cell or "")]
        )
    na = {
        cls: _cell(row, f"gsp_na_{cls}")
        for cls in ("critical", "major", "general")
        if _cell(row, f"gsp_na_{cls}") is not None
    }
    if na:
        # ASCII digits only (``int`` also read "٣"), and a spreadsheet's TRUE is no text
        payload["gsp_not_applicable"] = {
            cls: int(v) if isinstance(v, str) and _INTEGER.fullmatch(v) else v
            for cls, v in na.items()
        }
    return payload


#: the columns of a sampling row's ``sample``, in template order
_SAMPLE_COLUMNS: tuple[str, ...] = (
    "stage",
    "product_name",
    "batch_no",
    "dosage_form",
    "assay_measured",
    "assay_lower",
    "assay_upper",
    "dissolution_q",
    "dissolution_units",
    "related_substances_measured",
    "related_substances_limit",
    "identification",
    "more_test_items",
)


def _sample_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``sample`` of an upload row: product columns, then its test items."""
    sample: dict[str, Any] = {
        key: _cell(row, key)
        for key in ("stage", "product_name", "batch_no", "dosage_form")
        if _cell(row, key) is not None
    }
    tests: list[dict[str, Any]] = []
    # a range or limit typed without its result is an item the schema names, not dropped
    if any(_cell(row, f"assay_{key}") is not None for key in ("measured", "lower", "upper")):
        assay = {"kind": "assay"}
        for key in ("measured", "lower", "upper"):
            if _cell(row, f"assay_{key}") is not None:
                assay[key] = _cell(row, f"assay_{key}")
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
    if any(_cell(row, f"related_substances_{key}") is not None for key in ("measured", "limit")):
        tests.append(
            {
                "kind": "related_substances",
                "measured": _cell(row, "related_substances_measured"),
                "limit": _cell(row, "related_substances_limit"),
            }
        )
    if _cell(row, "identification") is not None:
        tests.append({"kind": "identification", "passed": _flag(row, "identification")})
    more = _cell(row, "more_test_items")
    if more is not None:
        parsed = _json_list(more)
        tests.extend(parsed if parsed is not None else [more])
    sample["test_items"] = tests
    return sample


#: Test kinds with fixed columns, in the order :func:`payload_from_row` builds them, with
#: the keys (besides ``kind``) a test must and may carry to fit those columns.
_FIXED_TESTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "assay": (frozenset({"measured"}), frozenset({"measured", "lower", "upper"})),
    "dissolution": (frozenset({"q", "units"}), frozenset({"q", "units"})),
    "related_substances": (frozenset({"measured", "limit"}), frozenset({"measured", "limit"})),
    "identification": (frozenset({"passed"}), frozenset({"passed"})),
}
_DEFECT_KEYS = ("item_code", "grade", "subsystem", "description")
_SEPARATORS = frozenset(_LIST_SEPARATORS + _FIELD_SEPARATORS + "\r")


def _text(value: Any) -> Any:
    """A stored value as cell text: JSON payloads hold strings already; loaded ones are
    tolerated (Decimal → its exact text, date → ISO)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _compact(text: Any) -> bool:
    """Whether ``text`` survives a ``;``/``|`` cell: no separator, nothing the reader strips."""
    return isinstance(text, str) and text == text.strip() and not _SEPARATORS & set(text)


def _fits(value: Any) -> bool:
    """Whether a test's value survives its fixed cell (lists cell by ``;``-separated part)."""
    if isinstance(value, list | tuple):
        return all(map(_fits, value))
    return isinstance(value, bool) or _compact(_text(value))


def _as_json(value: Any) -> str:
    """JSON text for a cell: Chinese kept readable, Decimals and dates as text."""
    return json.dumps(value, ensure_ascii=False, default=_text)


def _defects_cell(defects: Sequence[Mapping[str, Any]]) -> str | None:
    """``code|grade|subsystem|description;…``, or a JSON array when some text would not
    survive that encoding (a ``；`` in a description, say)."""
    if not defects:
        return None
    entries = []
    for defect in defects:
        parts = [_text(defect.get(key)) or "" for key in _DEFECT_KEYS]
        if set(defect) - set(_DEFECT_KEYS) or not parts[0] or not all(map(_compact, parts)):
            return _as_json(list(defects))
        while not parts[-1]:
            parts.pop()
        entries.append("|".join(parts))
    text = ";".join(entries)
    return _as_json(list(defects)) if text.startswith("[") else text


def _split_tests(
    tests: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The longest leading run of tests that fits the fixed columns in their order, and the
    rest (which :func:`payload_from_row` appends from ``more_test_items``)."""
    order = list(_FIXED_TESTS)
    fixed: dict[str, Mapping[str, Any]] = {}
    rank = -1
    for taken, test in enumerate(tests):
        kind = test.get("kind")
        if kind not in _FIXED_TESTS or order.index(kind) <= rank:
            return fixed, list(tests[taken:])
        required, allowed = _FIXED_TESTS[kind]
        keys = set(test) - {"kind"}
        if not required <= keys <= allowed or not all(_fits(test[k]) for k in keys):
            return fixed, list(tests[taken:])
        fixed[kind] = test
        rank = order.index(kind)
    return fixed, []


def row_from_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """One stored payload → one flat upload row: the inverse of :func:`payload_from_row`.

    Every template column is present (blank → ``None``).  Flags are written 是/否 and the
    identification verdict 符合/不符合; GSP counts as integers.  Defects use the compact
    ``|``/``;`` encoding unless some text would not survive it, then JSON.  Test items fill
    the fixed columns while they come in that order, one of each kind; the rest go to
    ``more_test_items`` as JSON so the re-imported list has the same items in the same order.
    """
    row: dict[str, Any] = {c.name: None for c in TEMPLATE_COLUMNS}
    row["inspection_type"] = payload.get("inspection_type")
    row["defects"] = _defects_cell(payload.get("defects") or ())
    for key in ("records_falsified", "qms_sound"):
        if payload.get(key) is not None:
            row[key] = "是" if payload[key] else "否"
    not_applicable = payload.get("gsp_not_applicable")
    if not_applicable is not None:
        for cls in ("critical", "major", "general"):
            # as stored (an int), not int(): an upload error's locator marks it with text
            row[f"gsp_na_{cls}"] = _text(not_applicable.get(cls, 0))
    sample = payload.get("sample")
    if sample is None:
        return row
    for key in ("stage", "product_name", "batch_no", "dosage_form"):
        row[key] = _text(sample.get(key))
    fixed, rest = _split_tests(sample.get("test_items") or ())
    if "assay" in fixed:
        for end in ("measured", "lower", "upper"):
            row[f"assay_{end}"] = _text(fixed["assay"].get(end))
    if "dissolution" in fixed:
        row["dissolution_q"] = _text(fixed["dissolution"]["q"])
        row["dissolution_units"] = ";".join(_text(u) for u in fixed["dissolution"]["units"])
    if "related_substances" in fixed:
        row["related_substances_measured"] = _text(fixed["related_substances"]["measured"])
        row["related_substances_limit"] = _text(fixed["related_substances"]["limit"])
    if "identification" in fixed:
        row["identification"] = "符合" if fixed["identification"]["passed"] else "不符合"
    row["more_test_items"] = _as_json(rest) if rest else None
    return row


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
def inspect_messages() -> Sequence[Message]:
    """zh-CN for the reasons this plugin's schema and rules give."""
    return MESSAGES


@hookimpl
def inspect_template_columns(sector: str) -> Sequence[TemplateColumn] | None:
    """Columns of the drugs upload template."""
    return TEMPLATE_COLUMNS if sector == SECTOR_CODE else None


@hookimpl
def inspect_payload_from_row(sector: str, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One upload row → one drugs payload (see :func:`payload_from_row`)."""
    return payload_from_row(row) if sector == SECTOR_CODE else None


@hookimpl
def inspect_row_from_payload(sector: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One stored drugs payload → one upload row (see :func:`row_from_payload`)."""
    return row_from_payload(payload) if sector == SECTOR_CODE else None
