"""Special-equipment (特种设备) sector plugin: the equipment register of a using unit.

The module itself is the pluggy plugin (``pm.register(plugins.special_equipment)``);
every hook answers ``None`` for sectors other than ``special_equipment``.  Rules
live in :mod:`plugins.special_equipment.rules` (pure), the payload schema and
checklist in :mod:`plugins.special_equipment.schemas`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
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
    facts=rules.FACTS,
)

TEMPLATE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn(
        "inspected_on",
        "检查日期",
        "2024-06-15",
        required=False,
        notes="the result's inspection date; defaults to the day it is recorded",
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
        notes="certificate_no:expiry[:name] entries separated by ';', or a JSON array",
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


#: List separators between entries: ``;`` ``,`` and a line break, plus the full-width
#: ``；`` ``，``, their small and vertical forms (what NFKC folds to ``;`` ``,``) and ``、``.
#: The reader keeps non-ASCII cells as written, so ``A，B`` must split like ``A,B``.
_LIST_SEPARATORS = ";；﹔︔,，﹐︐、\n"
#: The ``number:expiry:name`` field separator: ``:``, full-width ``：`` and its NFKC kin.
_COLONS = ":：﹕︓"
_LIST_SPLIT = re.compile(f"[{re.escape(_LIST_SEPARATORS)}]")
_TO_COLON = str.maketrans(dict.fromkeys(_COLONS, ":"))


def _split(text: str) -> list[str]:
    """A list cell → its entries, split on any :data:`_LIST_SEPARATORS`."""
    return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]


_UNIT_KEY = re.compile(r"^equipment\.(\d+)\.(.+)$")
_UNIT_FIELDS = (
    "registration_code",
    "category",
    "sub_type",
    "commissioning_date",
    "registration_date",
    "last_periodic_inspection",
)
#: Characters a compact ``number:expiry:name`` entry cannot carry in a name (:func:`_split`
#: splits entries on them, :func:`_operator` reads ``：`` as ``:``); a certificate number
#: also not ``:``.
_NAME_UNSAFE = frozenset(_LIST_SEPARATORS + _COLONS.replace(":", "") + "\r")


def _json_list(text: Any) -> list[Any] | None:
    """A cell holding a JSON array → the list; anything else → ``None``."""
    if isinstance(text, str) and text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None
    return None


def _operator(entry: str) -> dict[str, Any]:
    """``certificate_no:expiry[:name]`` → an operator; the name is all after the 2nd colon."""
    number, _, rest = entry.translate(_TO_COLON).partition(":")
    expiry, _, name = rest.partition(":")
    operator = {"certificate_no": number.strip()}
    if expiry.strip():
        operator["expires_on"] = expiry.strip()
    if name.strip():
        operator["name"] = name.strip()
    return operator


def _unit_from(cells: Mapping[str, Any]) -> dict[str, Any]:
    """One unit's cells, keyed by the template's column names → one register entry."""
    unit: dict[str, Any] = {}
    for key in _UNIT_FIELDS:
        if _cell(cells, key) is not None:
            unit[key] = _cell(cells, key)
    registered = _cell(cells, "registered")
    if isinstance(registered, str) and registered.casefold() in _TRUE | _FALSE:
        registered = registered.casefold() in _TRUE
    if registered is not None:
        unit["registered"] = registered
    grade = _cell(cells, "safety_grade")
    if grade is not None:
        unit["safety_grade"] = int(grade) if grade.isdigit() else grade
    extra = {
        kind: _cell(cells, f"last_inspections.{kind}")
        for kind in rules.EXTRA_KINDS
        if _cell(cells, f"last_inspections.{kind}") is not None
    }
    if extra:
        unit["last_inspections"] = extra
    records = _cell(cells, "maintenance_records")
    if records is not None:
        unit["maintenance_records"] = _split(records)
    operators = _cell(cells, "operators")
    if operators is not None:
        parsed = _json_list(operators)
        unit["operators"] = (
            parsed if parsed is not None else [_operator(entry) for entry in _split(operators)]
        )
    return unit


def payload_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One flat upload row → one register payload.

    A template row is one unit.  ``maintenance_records`` is a ``;``-separated list of
    dates; ``operators`` is ``certificate_no:expiry-date[:name]`` entries separated by
    ``;``, or a JSON array of operator objects.  Entries may equally be separated by ``,``,
    ``、``, a line break or the full-width ``；``/``，``, fields by ``：``.
    ``last_inspections.<kind>`` columns fill the ``last_inspections`` mapping;
    ``safety_grade`` whole numbers become integers.  Further units of the same register
    (an exported multi-unit result) come in numbered groups ``equipment.N.<column>``
    after the first, in index order; blank groups dropped.
    """
    plain: dict[str, Any] = {}
    groups: dict[int, dict[str, Any]] = {}
    for key, value in row.items():
        match = _UNIT_KEY.match(str(key))
        if match:
            groups.setdefault(int(match.group(1)), {})[match.group(2)] = value
        else:
            plain[key] = value
    first = _unit_from(plain)
    units = [first] if first or not groups else []
    units += [unit for n in sorted(groups) if (unit := _unit_from(groups[n]))]
    payload: dict[str, Any] = {"equipment": units}
    if _cell(row, "inspected_on") is not None:
        payload["inspected_on"] = _cell(row, "inspected_on")
    return payload


def _text(value: Any) -> Any:
    """A stored value as cell text: JSON payloads hold strings already; loaded ones are
    tolerated (date → ISO)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _compact_operator(operator: Mapping[str, Any]) -> str | None:
    """``number:expiry[:name]``, or ``None`` when the operator would not survive it."""
    number = operator.get("certificate_no")
    expiry = _text(operator.get("expires_on"))
    name = operator.get("name")
    texts = [t for t in (number, expiry, name) if t is not None]
    if (
        set(operator) - {"certificate_no", "expires_on", "name"}
        or not all(isinstance(t, str) and t and t == t.strip() for t in texts)
        or not isinstance(number, str)
        or ":" in number
        or any(_NAME_UNSAFE & set(t) for t in texts)
        or (name is not None and expiry is None)
    ):
        return None
    return ":".join(texts)


def _operators_cell(operators: Sequence[Mapping[str, Any]]) -> str | None:
    """Compact ``;``-separated entries, or a JSON array when some entry would not survive."""
    if not operators:
        return None
    entries = [_compact_operator(operator) for operator in operators]
    text = ";".join(e for e in entries if e is not None)
    if None in entries or text.startswith("["):
        return json.dumps(list(operators), ensure_ascii=False, default=_text)
    return text


def _unit_cells(unit: Mapping[str, Any]) -> dict[str, Any]:
    """One register entry → its cells, keyed by the template's column names."""
    cells: dict[str, Any] = {key: _text(unit.get(key)) for key in _UNIT_FIELDS}
    registered = unit.get("registered")
    cells["registered"] = None if registered is None else ("是" if registered else "否")
    cells["safety_grade"] = unit.get("safety_grade")
    extra = unit.get("last_inspections") or {}
    for kind in sorted(set(rules.EXTRA_KINDS) | set(extra)):
        cells[f"last_inspections.{kind}"] = _text(extra.get(kind))
    records = unit.get("maintenance_records") or ()
    cells["maintenance_records"] = ";".join(_text(day) for day in records) or None
    cells["operators"] = _operators_cell(unit.get("operators") or ())
    return cells


def row_from_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """One stored register payload → one upload row: the inverse of :func:`payload_from_row`.

    Every template column is present (blank → ``None``); the first unit fills the template's
    columns, each further unit a numbered group ``equipment.N.<column>`` (N from 1).
    """
    row: dict[str, Any] = {c.name: None for c in TEMPLATE_COLUMNS}
    row["inspected_on"] = _text(payload.get("inspected_on"))
    for n, unit in enumerate(payload.get("equipment") or ()):
        cells = _unit_cells(unit)
        row.update(cells if n == 0 else {f"equipment.{n}.{k}": v for k, v in cells.items()})
    return row


def _units(results: Sequence[Mapping[str, Any]], as_of: dt.date) -> Iterator[tuple[dt.date, Any]]:
    """(inspection date, loaded unit) of every past result recorded before ``as_of``."""
    schema = RegisterSchema()
    for result in results:
        recorded = rules.inspection_date({}, {"recorded_on": result["recorded_on"]})
        if recorded >= as_of:
            continue
        payload = schema.load(result["payload"])
        # the result's date where the core gives it: a payload date that contradicts it is
        # refused now, but a result stored before that may still carry one
        day = rules.inspection_date(
            {} if result.get("inspected_on") else payload,
            {"inspected_on": result.get("inspected_on"), "recorded_on": recorded},
        )
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
    """Judge the register on the result's ``inspected_on`` with ``config``."""
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


@hookimpl
def inspect_row_from_payload(sector: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One stored register payload → one upload row (see :func:`row_from_payload`)."""
    return row_from_payload(payload) if sector == SECTOR_CODE else None


@hookimpl
def inspect_messages() -> Sequence[Message]:
    """zh-CN for the reasons this plugin's schema and rules give."""
    return MESSAGES
