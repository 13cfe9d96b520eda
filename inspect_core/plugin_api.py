"""The only module a sector plugin imports.

It re-exports the ``hookimpl`` marker and the small frozen dataclasses that hooks
exchange with the core.  Plugins never import models, sessions or Flask: keeping
this surface small is what lets a sector team ship a plugin without knowing the
core's internals (the pattern of pluggy's eggsample and CKAN's toolkit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)
from pluggy import HookimplMarker

hookimpl = HookimplMarker("inspect_core")

Severity = Literal["critical", "major", "minor"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor")


@dataclass(frozen=True)
class Fact:
    """A number a sector records about each result for scoring (see ``Judgement.facts``):
    its name (``[a-z][a-z0-9_]{0,39}``, stable across versions) and what it means."""

    name: str
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class Message:
    """A validation reason in English and zh-CN (``inspect_messages``): ``en`` is the text
    a schema or check gives, where ``{name}`` placeholders match any text; ``zh`` shows
    the same placeholders, e.g. ``Message("cannot exceed {what}", "不能超过 {what}")``."""

    en: str
    zh: str


@dataclass(frozen=True)
class Sector:
    """A sector a plugin supervises: code, bilingual names, rulebook version."""

    code: str
    name_zh: str
    name_en: str
    version: str
    #: qualification code an inspector needs for this sector's tasks (defaults to ``code``)
    qualification: str | None = None
    #: the facts its judgements may carry (``Judgement.facts`` names must be among them)
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class ItemJudgement:
    """One checked item: what was measured, against what limit, under which rule."""

    item: str
    passed: bool
    rule: str
    standard: str
    measured: str | None = None
    limit: str | None = None
    unit: str | None = None
    message_zh: str = ""
    message_en: str = ""


@dataclass(frozen=True)
class Finding:
    """A problem found, with its severity and the legal or standard basis cited."""

    code: str
    severity: Severity
    message_zh: str
    message_en: str
    basis: str = ""


@dataclass(frozen=True)
class Judgement:
    """A plugin's verdict on one result payload.

    ``conclusion`` is a machine code (e.g. ``pass``/``fail``/``rectify``); the
    bilingual labels are for people.  ``passed`` is what KPIs count.
    """

    passed: bool
    conclusion: str
    conclusion_zh: str
    conclusion_en: str
    items: tuple[ItemJudgement, ...] = ()
    findings: tuple[Finding, ...] = ()
    #: ``(name, value)`` pairs scoring remembers about this result, higher meaning riskier
    #: (e.g. banned substances detected); names declared in ``Sector.facts``.  Stored
    #: with the result; each becomes a model feature, its time-decayed sum over the
    #: enterprise's history.  Zeros may be left out.
    facts: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class RiskFactor:
    """A number a sector contributes to scoring, higher meaning riskier."""

    name: str
    value: float
    description_zh: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class ChecklistItem:
    """An on-site checklist line; ``key`` items (重点项) weigh more."""

    code: str
    text_zh: str
    text_en: str
    key: bool = False


class RuleInputError(ValueError):
    """Raised by a rule when the payload cannot be judged (unknown analyte,
    unconvertible unit, too few concrete groups...).

    ``field`` is a dotted path into the payload (``items.2.unit``) so the API can
    answer a 422 that names the field.
    """

    def __init__(self, field: str, message: str, **context: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.context = context


def result_date(payload: Mapping[str, Any], context: Mapping[str, Any] | None) -> dt.date | None:
    """The result's inspection day from the judge context (``inspected_on``), which a
    payload's own ``inspected_on`` may repeat but not contradict; None when the context
    has none (a rule called directly), so the plugin falls back as it chooses.

    Judged on a payload date, a register showed one day on the result and a verdict of
    another (an overdue crane passed as inspected in 2020).  Raises
    :class:`RuleInputError` naming ``inspected_on`` when the two differ.
    """
    day = _day((context or {}).get("inspected_on"))
    given = _day(payload.get("inspected_on"))
    if day is not None and given is not None and given != day:
        raise RuleInputError(
            "inspected_on",
            f"{given.isoformat()} differs from the result's inspection date "
            f"({day.isoformat()}): give the date once, on the result",
        )
    return day


def _day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class TemplateColumn:
    """A column of a sector's upload template (zh-CN header, English JSON name)."""

    name: str
    header_zh: str
    example: Any = None
    required: bool = True
    notes: str = field(default="")


__all__ = [
    # marshmallow, re-exported so a plugin's payload schema needs no other import
    "EXCLUDE",
    "RAISE",
    "Schema",
    "ValidationError",
    "fields",
    "post_load",
    "pre_load",
    "validate",
    "validates",
    "validates_schema",
    "SEVERITIES",
    "ChecklistItem",
    "Fact",
    "Finding",
    "ItemJudgement",
    "Judgement",
    "Message",
    "RiskFactor",
    "RuleInputError",
    "Sector",
    "Severity",
    "TemplateColumn",
    "hookimpl",
    "result_date",
]
