"""Metrology (计量器具) sector plugin for inspect-core: a template for third-party plugins.

The module itself is the pluggy plugin: the entry point
``metrology = "inspect_metrology"`` in the ``inspect_core.plugins`` group names it, and the
core registers it when ``metrology`` is listed in ``INSPECT_PLUGINS``.  Every hook answers
``None`` for sectors other than ``metrology``.  Rules live in :mod:`.rules` (pure), the
payload schema and checklist in :mod:`.schemas`, thresholds in ``instruments.csv`` and
``thresholds.json``.  Only ``inspect_core.plugin_api`` is imported from the core.
"""

from __future__ import annotations

import datetime as dt
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
from .schemas import CHECKLIST, MetrologyPayloadSchema

#: Stored with every judgement: bump it whenever a rule or a default threshold changes.
__version__ = "0.1.0"
SECTOR_CODE = "metrology"
#: The inspector qualification a metrology task needs (计量执法 sub-pool).
QUALIFICATION = "metrology"

SECTOR = Sector(
    code=SECTOR_CODE,
    name_zh="计量器具",
    name_en="Measuring instruments",
    version=__version__,
    qualification=QUALIFICATION,
)

TEMPLATE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn(
        "inspected_on",
        "检查日期",
        "2024-05-20",
        required=False,
        notes="blank → the result's date",
    ),
    TemplateColumn(
        "instruments",
        "计量器具（种类|出厂编号|检定日期|示值误差%|检定证书号，多台以分号分隔；未检定的检定日期填“无”）",
        "电子计价秤|SC-0001|2024-01-10|0.2|JD2024-0001;加油机|FD-02|2024-03-01|-0.12;"
        "计价器|TX-7|无",
        notes="kind|serial_no|verified_on|error_pct|certificate_no; the last three optional",
    ),
    TemplateColumn("notes", "备注", "", required=False),
)

#: Cell values meaning "never verified".
_NEVER = {"", "无", "未检定", "未检", "-", "—", "none", "null", "never"}


def _cell(row: Mapping[str, Any], name: str) -> Any:
    """A cell as JSON-ready text (dates ISO, numbers as written); blank → ``None``."""
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip()
    return text or None


def _entries(text: str) -> list[str]:
    for sep in ("；", "\n"):
        text = text.replace(sep, ";")
    return [part.strip() for part in text.split(";") if part.strip()]


def payload_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One upload row → one payload; the schema then validates it.

    ``instruments`` holds ``kind|serial_no|verified_on|error_pct|certificate_no`` entries
    separated by ``;``.  A blank or ``无`` date means never verified; anything else is passed
    through as typed, so the schema can name what is wrong with it.
    """
    instruments: list[dict[str, Any]] = []
    for entry in _entries(_cell(row, "instruments") or ""):
        parts = [p.strip() for p in entry.replace("｜", "|").split("|")]
        parts += [""] * (5 - len(parts))
        kind, serial, verified, error, certificate = parts[:5]
        instrument: dict[str, Any] = {
            "kind": kind,
            "serial_no": serial,
            "verified_on": None if verified.casefold() in _NEVER else verified,
        }
        if error:
            instrument["error_pct"] = error.rstrip("%")
        if certificate:
            instrument["verification_certificate_no"] = certificate
        instruments.append(instrument)
    payload: dict[str, Any] = {"instruments": instruments}
    if _cell(row, "inspected_on") is not None:
        payload["inspected_on"] = _cell(row, "inspected_on")
    if _cell(row, "notes") is not None:
        payload["notes"] = _cell(row, "notes")
    return payload


def _export(value: Any) -> str:
    """A stored value as cell text: stored JSON holds text already; loaded values are tolerated."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def row_from_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """One stored payload → one upload row, the inverse of :func:`payload_from_row`.

    Every template column is present (blank → ``None``).  Never-verified instruments show
    ``无``; trailing empty parts are dropped.  The schema forbids ``|`` and ``;`` in serial
    and certificate numbers, so the packed cell always splits back the same way.
    """
    entries = []
    for instrument in payload.get("instruments") or ():
        verified = _export(instrument.get("verified_on")) or "无"
        parts = [
            _export(instrument.get("kind")),
            _export(instrument.get("serial_no")),
            verified,
            _export(instrument.get("error_pct")),
            _export(instrument.get("verification_certificate_no")),
        ]
        while parts[-1] == "":
            parts.pop()
        entries.append("|".join(parts))
    row: dict[str, Any] = {c.name: None for c in TEMPLATE_COLUMNS}
    row["instruments"] = ";".join(entries) or None
    row["inspected_on"] = _export(payload.get("inspected_on")) or None
    row["notes"] = _export(payload.get("notes")) or None
    return row


# --------------------------------------------------------------------------- hooks


@hookimpl
def inspect_sectors() -> Sequence[Sector]:
    """The metrology sector."""
    return [SECTOR]


@hookimpl
def inspect_payload_schema(sector: str) -> type[MetrologyPayloadSchema] | None:
    """The metrology payload schema class."""
    return MetrologyPayloadSchema if sector == SECTOR_CODE else None


@hookimpl
def inspect_checklist(sector: str) -> Sequence[ChecklistItem] | None:
    """The on-site checklist for measuring instruments."""
    return CHECKLIST if sector == SECTOR_CODE else None


@hookimpl
def inspect_judge(
    sector: str, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> Judgement | None:
    """Judge a loaded payload on its inspection date with the district's ``config``."""
    if sector != SECTOR_CODE:
        return None
    return rules.judge(payload, context)


@hookimpl
def inspect_risk_factors(
    sector: str, results: Sequence[Mapping[str, Any]], as_of: dt.date
) -> Sequence[RiskFactor] | None:
    """Out-of-tolerance and unverified instruments, non-compliant visits, before ``as_of``."""
    if sector != SECTOR_CODE:
        return None
    return rules.risk_factors(results, as_of)


@hookimpl
def inspect_required_qualification(sector: str) -> str | None:
    """Metrology tasks need a metrology-qualified inspector."""
    return QUALIFICATION if sector == SECTOR_CODE else None


@hookimpl
def inspect_template_columns(sector: str) -> Sequence[TemplateColumn] | None:
    """Columns of the metrology upload template."""
    return TEMPLATE_COLUMNS if sector == SECTOR_CODE else None


@hookimpl
def inspect_payload_from_row(sector: str, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One upload row → one metrology payload (see :func:`payload_from_row`)."""
    return payload_from_row(row) if sector == SECTOR_CODE else None


@hookimpl
def inspect_row_from_payload(sector: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One stored metrology payload → one upload row (see :func:`row_from_payload`)."""
    return row_from_payload(payload) if sector == SECTOR_CODE else None


@hookimpl
def inspect_judge_rows(
    sector: str, rows: Sequence[Mapping[str, Any]], context: Mapping[str, Any]
) -> Sequence[tuple[Mapping[str, Any], Judgement] | None] | None:
    """No bulk fast path: metrology judges each result on its own inspection date, which
    this hook's context does not carry, so every row takes the per-row path.  A sector
    whose judgement depends on the payload and ``config`` alone can answer here instead
    (see the food plugin and ``inspect_core.testing.assert_fast_path_agrees``)."""
    return None


@hookimpl
def inspect_messages() -> Sequence[Message]:
    """zh-CN for the reasons the schema and rules give: the core shows them beside the
    English in every 422 and rejected upload row (see :mod:`.messages`)."""
    return MESSAGES
