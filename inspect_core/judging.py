"""Validate and judge a result payload through its sector plugin, containing plugin faults.

Sector rules never live here: this module asks the plugin manager for the sector's schema
and judgement, checks that what a plugin returns is well-formed (OWASP API10: treat plugin
output like any untrusted input), and turns plugin faults into a clear error naming the
plugin instead of a 500 or a half-stored result.  Sectors without a plugin use the generic
checklist schema below.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate

from inspect_core.errors import ApiError, Unprocessable, nested_errors
from inspect_core.plugin_api import (
    SEVERITIES,
    ChecklistItem,
    Fact,
    Finding,
    ItemJudgement,
    Judgement,
    RuleInputError,
    TemplateColumn,
)
from inspect_core.plugin_manager import get_pm, sector_owners
from inspect_core.validators import BIDI_CONTROLS, BIDI_REASON, CONTROL_REASON, CleanString

log = logging.getLogger(__name__)


class PluginFault(ApiError):
    """A plugin raised or returned malformed data; nothing is stored."""

    status_code = 502


class GenericCheckSchema(Schema):
    item = CleanString(required=True, validate=validate.Length(max=200))
    passed = fields.Boolean(required=True)
    severity = fields.String(validate=validate.OneOf(SEVERITIES), load_default="minor")
    note = CleanString(load_default="", allow_blank=True, validate=validate.Length(max=2000))


class GenericPayloadSchema(Schema):
    """For sectors without a plugin: a checklist of items passed or failed."""

    checks = fields.List(
        fields.Nested(GenericCheckSchema), required=True, validate=validate.Length(min=1)
    )
    notes = CleanString(load_default="", allow_blank=True, validate=validate.Length(max=5000))


@dataclasses.dataclass(frozen=True)
class Judged:
    payload: dict[str, Any]
    judgement: Judgement
    plugin: str | None
    plugin_version: str | None


def _prefix(errors: Any, prefix: str) -> dict[str, Any]:
    if isinstance(errors, Mapping):
        return {f"{prefix}.{key}": value for key, value in errors.items()}
    return {prefix: errors}


#: the largest power of ten a payload's decimal may reach, either way: a rule writes its
#: numbers out (``format(value, "f")``), so the 13 characters "1E+1000000000" became a
#: billion digits and exhausted the memory (the server was killed); 10^±1000 is still far
#: past any measurement
MAX_DECIMAL_EXPONENT = 1000
#: what a payload's integer may be: the JSON columns' encoder (orjson) holds 64 bits, and a
#: larger count (``"sampled": 10**30``) failed as the result was stored (a 500)
INT64 = range(-(2**63), 2**63)


def _out_of_range(value: Any) -> str | None:
    """Why a number of a loaded payload cannot be judged and stored, if it cannot."""
    if type(value) is int and value not in INT64:
        return "out of range: an integer of at most 64 bits is expected"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent  # a letter for NaN and Infinity
        reach = max(abs(exponent), abs(value.adjusted())) if isinstance(exponent, int) else 0
        if reach > MAX_DECIMAL_EXPONENT:
            return f"out of range: a number within 10^±{MAX_DECIMAL_EXPONENT} is expected"
    return None


def _any_out_of_range(value: Any) -> bool:
    """Whether any key or leaf of a loaded payload is a number :func:`_out_of_range`
    refuses.  A plain walk that builds nothing, exact types first: every row of a bulk
    upload is checked, and :func:`nested_errors`, which builds the error tree as it goes,
    took 60 µs of a food row's time (this walk: 19 µs)."""
    stack = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            extend(item.values())
            for key in item:
                if type(key) is not str:
                    push(key)
        elif kind is list or kind is tuple:
            extend(item)
        elif kind is int or kind is Decimal:
            if _out_of_range(item):
                return True
        elif item is None or kind in _NO_NUMBER:
            continue
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                push(key)
                push(inner)
        elif isinstance(item, list | tuple):
            extend(item)
        elif isinstance(item, Decimal) and _out_of_range(item):
            return True
    return False


#: leaf types with no number of their own to check
_NO_NUMBER = frozenset({str, float, bool, dt.date, dt.datetime})


def number_errors(value: Any) -> dict[str, Any]:
    """Field errors for each number of a loaded payload out of range (see
    :data:`MAX_DECIMAL_EXPONENT`, :data:`INT64`)."""
    if not _any_out_of_range(value):
        return {}
    return nested_errors(value, _out_of_range)


#: characters no text of a payload may hold, whatever its plugin's schema says: C0 and C1
#: controls but tab, line feed and carriage return (a description may run over lines),
#: and the bidi controls, which make a public page, an export or the audit log show text
#: other than what is stored (OWASP API10: the core checks what a plugin let through)
_BAD_BUT_NUL = "\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_BAD_TEXT = re.compile(f"[\x00{_BAD_BUT_NUL}]")
#: the same but NUL, which joins a row's cells for one search (see _needs_row_path)
_BAD_TEXT_IN_ROW = re.compile(f"[{_BAD_BUT_NUL}]")


def _bad_text(value: Any) -> str | None:
    if type(value) is str and (found := _BAD_TEXT.search(value)):
        return BIDI_REASON if found.group() in BIDI_CONTROLS else CONTROL_REASON
    return None


def text_errors(value: Any) -> dict[str, Any]:
    """Field errors for each key or text of a loaded payload holding a character
    :data:`_BAD_TEXT` refuses (plugins declare their text fields as plain strings)."""
    return nested_errors(value, _bad_text)


_EXPONENT_TEXT = re.compile(r"\s*[+-]?[\d_.]+[eE]")
#: the same at the start of any cell of a row's string cells joined by NUL
_EXPONENT_IN_ROW = re.compile(r"(?:^|\x00)\s*[+-]?[\d_.]+[eE]")


def _needs_row_path(row: Mapping[str, Any]) -> bool:
    """An upload row with a cell a Decimal field reads as a number out of range, or a
    cell :func:`text_errors` refuses: the bulk path hands cells to the plugin unchecked,
    so such a row takes the per-row path, where the schema reads it first and
    :func:`number_errors` or :func:`text_errors` names it."""
    strings = [value for value in row.values() if type(value) is str]
    text = "\x00".join(strings)
    if _BAD_TEXT_IN_ROW.search(text) or text.count("\x00") > max(len(strings) - 1, 0):
        return True  # a control or bidi character (a NUL beyond the joins is a cell's)
    if not _EXPONENT_IN_ROW.search(text):  # one search a row; most rows have none
        return False
    for value in row.values():
        if isinstance(value, str) and _EXPONENT_TEXT.match(value):
            try:
                number = Decimal(value)
            except ArithmeticError:
                continue
            if _out_of_range(number):
                return True
    return False


def payload_schema(sector: str, what_zh: str | None = None) -> type[Schema]:
    pm = get_pm()
    try:
        schema = pm.hook.inspect_payload_schema(sector=sector)
    except Exception as exc:  # noqa: BLE001 - contained and named
        raise _fault(sector, f"inspect_payload_schema raised {exc!r}", what_zh) from exc
    if schema is None:
        return GenericPayloadSchema
    if not (isinstance(schema, type) and issubclass(schema, Schema)):
        raise _fault(
            sector, f"inspect_payload_schema returned {schema!r}, not a Schema class", what_zh
        )
    return schema


def _plugin_of(sector: str) -> tuple[str | None, str | None]:
    owner = sector_owners(get_pm()).get(sector)
    if owner is None:
        return None, None
    name, declared = owner
    return name, declared.version


def _fault(sector: str, detail: str, what_zh: str | None = None) -> PluginFault:
    """The 502 naming ``sector``'s plugin; ``what_zh`` says in zh-CN what could not be
    done (default: the result was not stored)."""
    name, version = _plugin_of(sector)
    return PluginFault(
        f"sector plugin '{name or sector}' {version or ''} failed: {detail}".replace("  ", " "),
        {"plugin": [name or sector]},
        message_zh="行业插件出错，结果未保存"
        if what_zh is None
        else f"行业插件 {name or sector} 出错，{what_zh}",
    )


def call_plugin(sector: str, hook: str, what_zh: str, *, about: str = "", **kwargs: Any) -> Any:
    """``hook``'s answer for ``sector``; a plugin that raises is a :class:`PluginFault`
    naming it (502, as from a faulty judge), never a 500.  ``what_zh`` says in zh-CN what
    could not be done, ``about`` what the call was on (`` on result 7``).  The answer's
    shape is the caller's to check."""
    try:
        return getattr(get_pm().hook, hook)(sector=sector, **kwargs)
    except Exception as exc:  # noqa: BLE001 - contained and named
        log.warning("sector %s: %s%s raised", sector, hook, about, exc_info=True)
        raise _fault(sector, f"{hook}{about} raised {exc!r}", what_zh) from exc


def _sequence_of(sector: str, hook: str, answer: Any, kind: type, what_zh: str) -> list[Any]:
    """``answer`` as a list of ``kind``, or the :class:`PluginFault` saying it is not."""
    if isinstance(answer, str | bytes) or not isinstance(answer, Sequence):
        raise _fault(sector, f"{hook} returned {type(answer).__name__}, not a list", what_zh)
    for item in answer:
        if not isinstance(item, kind):
            raise _fault(sector, f"{hook} returned {item!r}, not a {kind.__name__}", what_zh)
    return list(answer)


#: what a spreadsheet cell cannot hold (openpyxl refuses them: a 500 writing the template)
_NOT_IN_A_CELL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: what a template column's example may be: a value a spreadsheet cell holds
_CELL_VALUE = (str, int, float, Decimal, dt.date, dt.time)


def plugin_checklist(sector: str) -> list[ChecklistItem]:
    """The sector's checklist (``inspect_checklist``), checked: a list of
    :class:`ChecklistItem` with text; empty when no plugin gives one."""
    what_zh = "未能给出检查清单"
    answer = call_plugin(sector, "inspect_checklist", what_zh)
    if answer is None:
        return []
    items = _sequence_of(sector, "inspect_checklist", answer, ChecklistItem, what_zh)
    for item in items:
        texts = (item.code, item.text_zh, item.text_en)
        if not all(isinstance(t, str) for t in texts) or not isinstance(item.key, bool):
            raise _fault(sector, f"inspect_checklist returned malformed {item!r}", what_zh)
    return items


def plugin_template_columns(sector: str) -> list[TemplateColumn] | None:
    """The sector's payload columns (``inspect_template_columns``), checked: a list of
    :class:`TemplateColumn` with a name and a zh-CN header; None when no plugin declares
    a template."""
    what_zh = "未能给出上传模板的列"
    answer = call_plugin(sector, "inspect_template_columns", what_zh)
    if answer is None:
        return None
    columns = _sequence_of(sector, "inspect_template_columns", answer, TemplateColumn, what_zh)
    for c in columns:
        texts = (c.name, c.header_zh, c.notes)
        if (
            not all(isinstance(t, str) and not _NOT_IN_A_CELL.search(t) for t in texts)
            or not (c.name and c.header_zh)
            or not isinstance(c.required, bool)
            or not (c.example is None or isinstance(c.example, _CELL_VALUE))
            or (isinstance(c.example, str) and _NOT_IN_A_CELL.search(c.example))
        ):
            raise _fault(sector, f"inspect_template_columns returned malformed {c!r}", what_zh)
    # a name or header given twice made a template whose upload, as downloaded, was
    # refused as the user's fault ("a column appears twice")
    for label, values in (
        ("name", [c.name for c in columns]),
        ("header", [c.header_zh for c in columns]),
    ):
        if twice := sorted({v for v in values if values.count(v) > 1}):
            raise _fault(
                sector, f"inspect_template_columns gave the {label} {twice[0]!r} twice", what_zh
            )
    return columns


#: what a qualification code cannot hold: the draw's pool snapshot is tab- and
#: comma-separated (``plans.draw._FORBIDDEN``)
_NOT_IN_A_CODE = re.compile(r"[\x00-\x1f\x7f,]")


def required_qualification(sector: str) -> str:
    """The qualification an inspector needs for ``sector``'s tasks
    (``inspect_required_qualification``), checked; when no plugin says, the one its
    ``Sector`` declares (``Sector.qualification``, which was ignored: the draw took
    inspectors qualified for the code), else the sector code."""
    what_zh = "未能给出该行业所需的检查员资质"
    answer = call_plugin(sector, "inspect_required_qualification", what_zh)
    source = "inspect_required_qualification returned"
    if answer is None:
        owner = sector_owners(get_pm()).get(sector)
        answer = owner[1].qualification if owner else None
        source = "Sector.qualification is"
        if answer is None:
            return sector
    if not isinstance(answer, str) or not answer or _NOT_IN_A_CODE.search(answer):
        raise _fault(sector, f"{source} {answer!r}, not a qualification code", what_zh)
    return answer


def _generic_judgement(payload: Mapping[str, Any]) -> Judgement:
    failed = [c for c in payload["checks"] if not c["passed"]]
    items = tuple(
        ItemJudgement(
            item=c["item"],
            passed=c["passed"],
            rule="checklist",
            standard="",
            message_zh=c["note"],
            message_en=c["note"],
        )
        for c in payload["checks"]
    )
    findings = tuple(
        Finding(
            code=f"check.{i}", severity=c["severity"], message_zh=c["item"], message_en=c["item"]
        )
        for i, c in enumerate(failed)
    )
    return Judgement(
        passed=not failed,
        conclusion="pass" if not failed else "fail",
        conclusion_zh="符合" if not failed else "不符合",
        conclusion_en="conforms" if not failed else "does not conform",
        items=items,
        findings=findings,
    )


def check_judgement(
    sector: str,
    judgement: Any,
    fault: Callable[[str], PluginFault] | None = None,
    declared: Mapping[str, Fact] | None = None,
) -> Judgement:
    """Refuse malformed plugin output before anything is stored.  ``declared``: the
    sector's facts by name, when the caller holds them (else read from the plugins)."""
    fault = fault or (lambda detail: _fault(sector, detail))
    if not isinstance(judgement, Judgement):
        raise fault(f"inspect_judge returned {type(judgement).__name__}, not a Judgement")
    if not isinstance(judgement.passed, bool):
        raise fault("Judgement.passed is not a bool")
    for name in ("items", "findings"):
        if not isinstance(getattr(judgement, name), tuple | list):
            kind = type(getattr(judgement, name)).__name__
            raise fault(f"Judgement.{name} is {kind}, not a tuple")
    for item in judgement.items:
        if not isinstance(item, ItemJudgement):
            raise fault(f"an item is {type(item).__name__}, not an ItemJudgement")
        if (
            type(item.passed) is not bool
            or not all(type(getattr(item, t)) is str for t in _ITEM_TEXTS)
            or not all(_is_reading(getattr(item, r)) for r in _ITEM_READINGS)
        ):
            raise fault(f"malformed item {_shown(item)}")
    for finding in judgement.findings:
        # the stored finding is shown as given, in zh-CN and English: a None, an object the
        # JSON column cannot hold (a 500) or a blank message cannot be stored
        if (
            not isinstance(finding, Finding)
            or finding.severity not in SEVERITIES
            or not all(type(getattr(finding, t)) is str for t in _FINDING_TEXTS)
            or not (finding.message_zh and finding.message_en)
        ):
            raise fault(f"malformed finding {_shown(finding)}")
    for text in (judgement.conclusion, judgement.conclusion_zh, judgement.conclusion_en):
        if not isinstance(text, str) or not text:
            raise fault("the conclusion and its zh-CN/English labels must be non-empty")
    if judgement.facts:
        known = declared_facts(sector) if declared is None else declared
        check_facts(judgement.facts, fault, known)
    return judgement


#: an item's text fields, and its readings: text or a finite number (what JSON holds)
_ITEM_TEXTS = ("item", "rule", "standard", "message_zh", "message_en")
_ITEM_READINGS = ("measured", "limit", "unit")
_FINDING_TEXTS = ("code", "message_zh", "message_en", "basis")


def _shown(value: Any) -> str:
    """``repr(value)`` for a fault's message: an integer too long to write out (Python's
    4,300-digit limit) raised ValueError there, a 500 instead of the plugin named."""
    try:
        return repr(value)
    except ValueError:
        return f"{type(value).__name__} holding an integer too long to show"


def _is_reading(value: Any) -> bool:
    """Text, or a number the JSON column holds: an integer past 64 bits failed as the
    result was stored (a 500 instead of the plugin named)."""
    kind = type(value)
    if value is None or kind is str or kind is Decimal:
        return True
    if kind is int:
        return value in INT64
    return kind is float and math.isfinite(value)


def declared_facts(sector: str, pm: Any = None) -> dict[str, Fact]:
    """The facts ``sector``'s plugin declares (``Sector.facts``), by name."""
    owner = sector_owners(pm or get_pm()).get(sector)
    return {f.name: f for f in (owner[1].facts if owner else ()) if isinstance(f, Fact)}


#: what a fact's name must look like: it becomes a column and a feature name
FACT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_facts(
    facts: Any, fault: Callable[[str], PluginFault], declared: Mapping[str, Fact]
) -> None:
    """Refuse ``Judgement.facts`` that are not ``(name, value)`` pairs, whose name is not
    of the form :data:`FACT_NAME`, not declared by the sector or given twice, or whose
    value is not a finite number."""
    if not isinstance(facts, tuple | list):
        raise fault(f"Judgement.facts is {type(facts).__name__}, not (name, value) pairs")
    seen: set[str] = set()
    for pair in facts:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise fault(f"Judgement.facts holds {_shown(pair)}, not a (name, value) pair")
        name, value = pair
        if not isinstance(name, str) or not FACT_NAME.fullmatch(name):
            raise fault(f"fact name {_shown(name)} is not of the form [a-z][a-z0-9_]{{0,39}}")
        if name not in declared:
            raise fault(f"fact {name!r} is not declared in Sector.facts")
        if name in seen:
            raise fault(f"fact {name!r} is given twice")
        seen.add(name)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise fault(f"fact {name!r} is {type(value).__name__}, not a number")
        if isinstance(value, int) and value not in INT64:
            # stored as it is (orjson holds 64 bits), and float() of one past 1e308 raises
            raise fault(f"fact {name!r} is an integer past 64 bits")
        if not math.isfinite(float(value)):
            raise fault(f"fact {name!r} is not a finite number")


class Judger:
    """Validates and judges payloads of one sector; build once, call per row.

    Holds the schema instance, the plugin's name and version and the district's config,
    so a bulk upload pays for them once rather than per row.  Needs no Flask context:
    bulk uploads run it in worker processes.
    """

    def __init__(self, pm: Any, sector: str, config: Mapping[str, Any]) -> None:
        self.pm = pm
        self.sector = sector
        self.config = dict(config)
        owner = sector_owners(pm).get(sector)
        self.plugin, self.version = (owner[0], owner[1].version) if owner else (None, None)
        self.facts = declared_facts(sector, pm)
        try:
            schema = pm.hook.inspect_payload_schema(sector=sector)
        except Exception as exc:  # noqa: BLE001 - contained and named
            raise self.fault(f"inspect_payload_schema raised {exc!r}") from exc
        if schema is None:
            schema = GenericPayloadSchema
        if not (isinstance(schema, type) and issubclass(schema, Schema)):
            raise self.fault(f"inspect_payload_schema returned {schema!r}, not a Schema class")
        try:
            self.schema = schema()
        except Exception as exc:  # noqa: BLE001 - a schema class that cannot be built (a 500)
            raise self.fault(f"its payload schema raised {exc!r}") from exc

    def fault(self, detail: str) -> PluginFault:
        name = self.plugin or self.sector
        return PluginFault(
            f"sector plugin '{name}' {self.version or ''} failed: {detail}".replace("  ", " "),
            {"plugin": [name]},
            message_zh="行业插件出错，结果未保存",
        )

    def __call__(
        self, raw_payload: Any, context: Mapping[str, Any], field: str = "payload"
    ) -> Judged:
        """Load ``raw_payload`` with the schema and judge it; 422 names the payload field."""
        try:
            payload = self.schema.load(raw_payload)
        except ValidationError as exc:
            raise Unprocessable(
                "the payload does not fit the sector's schema", _prefix(exc.messages, field)
            ) from None
        except Exception as exc:  # noqa: BLE001 - a plugin schema that crashes
            raise self.fault(f"its payload schema raised {exc!r}") from exc
        if errors := number_errors(payload) or text_errors(payload):
            raise Unprocessable(
                "the payload does not fit the sector's schema", _prefix(errors, field)
            )
        if self.plugin is None:
            return Judged(_jsonable(payload), _generic_judgement(payload), None, None)
        try:
            judgement = self.pm.hook.inspect_judge(
                sector=self.sector, payload=payload, context={**context, "config": self.config}
            )
        except RuleInputError as exc:
            raise Unprocessable(
                f"the {self.sector} rules cannot judge this payload: {exc.message}",
                {f"{field}.{exc.field}": [exc.message]},
            ) from None
        except Exception as exc:  # noqa: BLE001 - contained and named
            raise self.fault(f"inspect_judge raised {exc!r}") from exc
        checked = check_judgement(self.sector, judgement, self.fault, self.facts)
        return Judged(_jsonable(payload), checked, self.plugin, self.version)

    def judge_rows(
        self, rows: list[Mapping[str, Any]], context: Mapping[str, Any]
    ) -> list[Judged | None]:
        """The plugin's bulk fast path (``inspect_judge_rows``): one answer per row, None
        where the row must take the per-row path.  A plugin without the hook, one that
        raises, or one that answers with the wrong shape costs speed, never correctness:
        every row then goes the per-row way.  Accepted answers are checked like
        :meth:`__call__`'s."""
        out: list[Judged | None] = [None] * len(rows)
        if self.plugin is None or not rows:
            return out
        kept = [i for i, row in enumerate(rows) if not _needs_row_path(row)]
        if not kept:
            return out
        try:
            answers = self.pm.hook.inspect_judge_rows(
                sector=self.sector,
                rows=rows if len(kept) == len(rows) else [rows[i] for i in kept],
                context={**context, "config": self.config},
            )
        except Exception:  # noqa: BLE001 - the per-row path will name any fault
            return out
        if not isinstance(answers, Sequence) or len(answers) != len(kept):
            return out
        for i, answer in zip(kept, answers, strict=True):
            if answer is None:
                continue
            try:
                payload, judgement = answer
                checked = check_judgement(self.sector, judgement, self.fault, self.facts)
            except (PluginFault, TypeError, ValueError):
                continue  # malformed: the per-row path will say so
            if number_errors(payload):
                continue  # a number the store cannot hold: the per-row path names it
            # the payload stays as loaded: a bulk upload encodes it with json_dumps, which
            # writes Decimals and dates as _jsonable does
            out[i] = Judged(payload, checked, self.plugin, self.version)
        return out


def judger_for(sector: str) -> Judger:
    """The judger of ``sector`` with this app's plugins and district config."""
    config = current_app.config.get("PLUGIN_CONFIG", {}).get(sector, {})
    return Judger(get_pm(), sector, config)


def validate_and_judge(
    sector: str, raw_payload: Any, context: Mapping[str, Any], field: str = "payload"
) -> Judged:
    """Load the payload with the sector's schema, then judge it; 422 names the payload field."""
    return judger_for(sector)(raw_payload, context, field)


#: what a JSON column holds as it is
_JSON_NATIVE = (str, int, float, bool, type(None))


def _jsonable(value: Any) -> Any:
    """Decimals as strings, dates as ISO text: what JSON columns can hold exactly.

    Exact type checks first: this runs for every field of every uploaded row.
    """
    kind = type(value)
    if kind in _JSON_NATIVE:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
    if kind is Decimal:
        return str(value)
    if kind is dt.date or kind is dt.datetime:
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(ItemJudgement))
_FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))


def judgement_json(judgement: Judgement) -> dict[str, Any]:
    """The judgement as JSON-ready data (``dataclasses.asdict`` deep-copies; this does not)."""
    return {
        "passed": judgement.passed,
        "conclusion": judgement.conclusion,
        "conclusion_zh": judgement.conclusion_zh,
        "conclusion_en": judgement.conclusion_en,
        "items": [
            {name: _jsonable(getattr(item, name)) for name in _ITEM_FIELDS}
            for item in judgement.items
        ],
        "findings": [
            {name: getattr(finding, name) for name in _FINDING_FIELDS}
            for finding in judgement.findings
        ],
        # as orjson writes the dataclass field (pairs as lists): bulk uploads store that
        "facts": [[name, value] for name, value in judgement.facts],
    }
