"""The plugin contract: every hook a sector plugin may implement.

Each hook is called with keyword arguments; an implementation may accept fewer
of them than the spec lists, so arguments can be added later without breaking
plugins (pluggy's rule, as in pytest's ``hookspec.py``).  Hooks that take a
``sector`` argument are asked of every plugin; a plugin answers ``None`` for
sectors it does not own, and ``firstresult`` hooks stop at the first answer.
Each hook is documented in ``docs/plugin_hooks.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pluggy import HookspecMarker

from inspect_core.plugin_api import (
    ChecklistItem,
    Judgement,
    Message,
    RiskFactor,
    Sector,
    TemplateColumn,
)

hookspec = HookspecMarker("inspect_core")


@hookspec
def inspect_sectors() -> Sequence[Sector]:
    """Declare the sectors this plugin owns.

    Fires when the plugin manager loads plugins, and whenever the sector list is
    read.  Returns a sequence of :class:`Sector` (code, zh-CN and English names,
    rulebook version, all non-empty text).  All plugins' answers are collected; a
    sector code declared twice, or an answer that is not a list of well-formed
    ``Sector``, is a configuration error.
    """


@hookspec(firstresult=True)
def inspect_payload_schema(sector: str) -> Any:
    """The marshmallow ``Schema`` class of a result payload for ``sector``.

    Fires when a result is validated (JSON API and bulk import alike) and when
    ``GET /api/v1/sectors/{code}`` renders the payload's JSON schema.  Returns a
    ``marshmallow.Schema`` subclass, or ``None`` for sectors the plugin does not
    own.  ``firstresult``.
    """


@hookspec(firstresult=True)
def inspect_checklist(sector: str) -> Sequence[ChecklistItem] | None:
    """The on-site checklist for ``sector``: items with bilingual text, key items marked.

    Fires when the sector is described and when a checklist is printed for a
    task.  ``firstresult``.
    """


@hookspec(firstresult=True)
def inspect_judge(
    sector: str, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> Judgement | None:
    """Judge one result payload (already loaded by the sector's schema).

    ``context`` carries ``recorded_on`` (a ``date``), ``inspected_on`` (the result's
    inspection date, which date-dependent rules judge on), the enterprise's ``uscc``
    and ``sectors``, and the plugin's configuration (``config``, a mapping of
    thresholds the district may override).  Returns a :class:`Judgement`: per
    item pass/fail with the measured value, the limit, the rule and the
    standard edition; the overall conclusion; findings with severity.  Raise
    :class:`~inspect_core.plugin_api.RuleInputError` naming the payload field
    when the payload cannot be judged.  Fires when a result is stored; the
    plugin's name and version are stored with the answer, and its ``facts``
    (names declared in ``Sector.facts``) become credit-model features.
    ``firstresult``.
    """


@hookspec
def inspect_risk_factors(
    sector: str, results: Sequence[Mapping[str, Any]], as_of: dt.date
) -> Sequence[RiskFactor] | None:
    """Sector-specific risk factors for scoring one enterprise.

    ``results`` are the enterprise's stored results in this sector recorded
    before ``as_of`` (each a mapping with ``recorded_on``, ``inspected_on``, ``payload``
    and ``judgement``); a plugin must not look at anything dated on or after
    ``as_of``.  Returns :class:`RiskFactor` values, higher meaning riskier.
    Fires when an enterprise's credit page is built (``as_of`` = today in China);
    only the plugin owning ``sector`` is called, and a fault costs that sector's
    section of the page only.  Not a feature of the credit models itself (too
    costly at district scale): the models use ``Judgement.facts`` instead.
    """


@hookspec(firstresult=True)
def inspect_required_qualification(sector: str) -> str | None:
    """The inspector qualification code a task in ``sector`` needs.

    Fires when a plan is drawn and when a task is re-assigned.  ``firstresult``;
    ``None`` from every plugin means the sector's declared ``Sector.qualification``,
    or the sector code itself when it declares none.
    """


@hookspec(firstresult=True)
def inspect_template_columns(sector: str) -> Sequence[TemplateColumn] | None:
    """Columns of the sector's Excel/CSV upload template, one row per result.

    Fires when ``GET /api/v1/sectors/{code}/template.xlsx`` is built and when an
    upload is parsed.  A column named like one of the core's result columns
    (``inspected_on``) is the core's, shown once; a name or zh-CN header given twice is
    a plugin fault.  ``firstresult``.
    """


@hookspec(firstresult=True)
def inspect_payload_from_row(sector: str, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Turn one upload row (keyed by the template's English column names) into a
    payload for the sector schema.

    Cells arrive as written: text is NFC and trimmed, full-width punctuation kept (``，``
    ``；`` ``：`` ``｜`` reach the plugin as typed); only a cell whose NFKC form is plain
    ASCII (digits, codes, ``１２３``, ``Ａ１；Ｂ２``) or a date arrives folded.  A plugin
    that splits a cell into a list or fields must therefore accept the full-width
    separators as equivalent to the ASCII ones (``，``/``,``, ``；``/``;``, ``：``/``:``,
    ``｜``/``|``), or a mixed Chinese cell silently becomes one entry.

    Fires once per row during a bulk import, before validation.  ``firstresult``.
    """


@hookspec(firstresult=True)
def inspect_row_from_payload(sector: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The inverse of :func:`inspect_payload_from_row`: one stored payload (as the schema
    loaded it, then stored as JSON: Decimals as strings, dates as ISO text) → one upload
    row keyed by the template's English column names.

    Fires once per result during ``GET /api/v1/results/export``; feeding the row back
    through ``inspect_payload_from_row`` and the schema must give the same payload, so an
    export re-imports cleanly.  ``firstresult``.
    """


@hookspec(firstresult=True)
def inspect_judge_rows(
    sector: str, rows: Sequence[Mapping[str, Any]], context: Mapping[str, Any]
) -> Sequence[tuple[Mapping[str, Any], Judgement] | None] | None:
    """Optional fast path for bulk uploads: load and judge many upload rows in one call.

    ``rows`` are what :func:`inspect_payload_from_row` would receive, one per upload row;
    ``context`` carries only ``config`` and ``recorded_on``, so a plugin whose judgement
    depends on the enterprise or the inspection date must not implement this hook.

    Return one answer per row, in order: either ``(payload, judgement)``, where
    ``payload`` is exactly what the sector schema's ``load`` gives for
    ``inspect_payload_from_row(row)`` and ``judgement`` exactly what
    :func:`inspect_judge` gives for that payload; or ``None`` for a row the fast path
    does not vouch for.  Such a row goes through the per-row path, which names any
    error, so a fast path may decline anything unusual and only has to be right about
    what it accepts (test it with ``inspect_core.testing.assert_fast_path_agrees``).
    Plugins that do not implement it lose nothing but speed.  ``firstresult``.
    """


@hookspec
def inspect_messages() -> Sequence[Message]:
    """zh-CN for the English reasons this plugin's schemas and checks give.

    Fires when the plugins load (a malformed answer stops the app from starting) and
    once per app, when the first error or import report is shown.  Returns a
    sequence of :class:`Message` (``en`` with ``{name}`` placeholders that match any
    text, ``zh`` showing them again); every answer is collected.  Each field-level
    reason in an error body (``errors_zh``) and in an upload's row errors
    (``message_zh``, the rejected-rows workbook) is looked up there; a reason with no
    entry is shown in English only; ``inspect_core.testing.untranslated_reasons``
    records them, so a plugin's tests can fail on one.
    """
