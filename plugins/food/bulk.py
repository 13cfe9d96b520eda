"""The bulk-upload fast path of the food plugin (hook ``inspect_judge_rows``).

For the rows a district office really uploads — plain text cells, decimal numbers, ISO
dates — this builds exactly the payload that ``FoodResultSchema().load(
inspect_payload_from_row(row))`` gives, about twenty times faster than marshmallow, and
judges it with :func:`rules.judge_sample` sharing one item memo across the upload.  Any
row it is not sure of (an unusual number, a missing field, an unknown column, a rule
error) it declines with ``None``: the core then takes that row through the per-row path,
which reports the error.  ``tests/test_food_bulk.py`` checks with hypothesis that every
row it does accept equals the per-row answer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from inspect_core.plugin_api import Judgement, RuleInputError

from . import rules
from .schemas import QUALIFIERS, STAGES

#: what the schema's Decimal field turns into the same Decimal as ``Decimal(text)``,
#: without signs, exponents or special values (those go the per-row way)
_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ITEM_FIELDS = ("item", "value", "qualifier", "unit", "lod", "loq", "method", "standard")
_ITEM_KEY = re.compile(r"items\.([0-9]{1,3})\.(item|value|qualifier|unit|lod|loq|method|standard)")
_SAMPLE_FIELDS = {"sample_no", "food_name", "food_category", "batch", "sampling_date", "stage"}
_RISK_FIELDS = {"business_risk.static_score": 40, "business_risk.dynamic_score": 60}
_ND_WORDS = {"nd", "未检出", "n.d.", "not detected"}
_STAGE_ALIASES = {zh.removesuffix("环节"): code for code, (zh, _) in STAGES.items()}
_STAGE_ALIASES["销售"] = "circulation"
_MAX_LEN = {
    "sample_no": 64,
    "food_name": 128,
    "food_category": 64,
    "batch": 64,
    "item": 64,
    "unit": 16,
    "method": 128,
    "standard": 128,
}


def _text(value: Any) -> str | None:
    """The cell as ``inspect_payload_from_row`` reads it, for the types met here; a type
    it treats differently (bool, date, float) is refused by raising ``_Decline``."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        text = value.strip()
        return text or None
    if kind is int or kind is Decimal:
        return str(value)
    raise _Decline


class _Decline(Exception):
    """This row is not for the fast path."""


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    if _NUMBER.fullmatch(text) is None:
        raise _Decline
    return Decimal(text)


def _bounded(field: str, text: str | None, required: bool) -> str | None:
    if text is None:
        if required:
            raise _Decline
        return None
    if len(text) > _MAX_LEN[field]:
        raise _Decline
    return text


def load_row(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The loaded payload of ``row``, or None when the row should take the per-row path."""
    try:
        return _load(row)
    except _Decline:
        return None


def _kind(key: str) -> tuple[str, Any, Any]:
    """What a column is: a sample field, an item field (group, name), a risk score, or
    unknown.  Cached: every row of an upload has the same columns."""
    kind = _KINDS.get(key)
    if kind is None:
        match = _ITEM_KEY.fullmatch(key)
        if key in _SAMPLE_FIELDS:
            kind = ("sample", key, None)
        elif match is not None:
            kind = ("item", int(match.group(1)), match.group(2))
        elif key in _RISK_FIELDS:
            kind = ("risk", key.split(".", 1)[1], None)
        else:
            kind = ("unknown", None, None)
        if len(_KINDS) < 10_000:
            _KINDS[key] = kind
    return kind


_KINDS: dict[str, tuple[str, Any, Any]] = {}


def _load(row: Mapping[str, Any]) -> dict[str, Any]:
    sample: dict[str, str | None] = {}
    risk: dict[str, str] = {}
    groups: dict[int, dict[str, str]] = {}
    for key, raw in row.items():
        kind, a, b = _KINDS.get(key) or _kind(key)
        if type(raw) is str:
            value: str | None = raw.strip() or None
        else:
            value = _text(raw)
        if kind == "sample":
            sample[a] = value
        elif value is None:
            continue
        elif kind == "item":
            group = groups.get(a)
            if group is None:
                group = groups[a] = {}
            group[b] = value
        elif kind == "risk":
            risk[a] = value
        else:
            raise _Decline  # unknown column: the schema names it
    date_text = sample.get("sampling_date")
    if date_text is None or _ISO_DATE.fullmatch(date_text) is None:
        raise _Decline
    try:
        sampling_date = dt.date.fromisoformat(date_text)
    except ValueError:
        raise _Decline from None
    stage = sample.get("stage")
    stage = _STAGE_ALIASES.get(stage, stage) if stage is not None else None
    if stage not in STAGES:
        raise _Decline
    if not groups or len(groups) > 500:
        raise _Decline
    items = [_item(groups[n]) for n in sorted(groups)]
    business_risk = None
    if risk:
        if len(risk) != 2:
            raise _Decline
        business_risk = {}
        for key in ("static_score", "dynamic_score"):
            number = _decimal(risk[key])
            if number > _RISK_FIELDS[f"business_risk.{key}"]:
                raise _Decline
            business_risk[key] = number
    return {
        "sample_no": _bounded("sample_no", sample.get("sample_no"), True),
        "food_name": _bounded("food_name", sample.get("food_name"), True),
        "food_category": _bounded("food_category", sample.get("food_category"), True),
        "batch": _bounded("batch", sample.get("batch"), False),
        "sampling_date": sampling_date,
        "stage": stage,
        "items": items,
        "business_risk": business_risk,
    }


def _item(group: dict[str, str]) -> dict[str, Any]:
    value_text = group.get("value")
    qualifier = group.get("qualifier")
    if value_text is not None:
        if value_text.lower() in _ND_WORDS:
            value_text, qualifier = None, "ND"
        elif value_text.startswith("<"):
            value_text, qualifier = value_text[1:].strip(), "<"
    if qualifier is not None and qualifier.lower() in _ND_WORDS:
        qualifier = "ND"
    if qualifier is not None and qualifier not in QUALIFIERS:
        raise _Decline
    value = _decimal(value_text)
    lod = _decimal(group.get("lod"))
    if qualifier == "ND":
        if value_text is not None or lod is None:
            raise _Decline
    elif value is None:
        raise _Decline
    return {
        "item": _bounded("item", group.get("item"), True),
        "value": value,
        "qualifier": qualifier,
        "unit": _bounded("unit", group.get("unit"), True),
        "lod": lod,
        "loq": _decimal(group.get("loq")),
        "method": _bounded("method", group.get("method"), False),
        "standard": _bounded("standard", group.get("standard"), False),
    }


#: item memos by configuration, kept across calls: a large upload reaches this hook one
#: chunk at a time, often in the same worker process.  An item's outcome depends only on
#: its key, the configuration and this plugin's code, so a memo is valid for the life of
#: the process; it is dropped when it grows past ``MEMO_LIMIT`` items.
_MEMOS: dict[str, rules.ItemMemo] = {}
MEMO_LIMIT = 20_000


def _memo_for(config: Mapping[str, Any]) -> rules.ItemMemo:
    key = json.dumps(config, sort_keys=True, default=str)
    memo = _MEMOS.get(key)
    if memo is None or len(memo) > MEMO_LIMIT:
        _MEMOS.clear()
        memo = _MEMOS[key] = {}
    return memo


def judge_rows(
    rows: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    recorded_on: dt.date | None = None,
) -> list[tuple[dict[str, Any], Judgement] | None]:
    """Each row's loaded payload and judgement, or None where the per-row path must answer
    (a sampling date after ``recorded_on`` among them: that path knows the row's own
    inspection date and names the field)."""
    rulebook = rules.Rulebook(config)
    memo = _memo_for(config)
    out: list[tuple[dict[str, Any], Judgement] | None] = []
    for row in rows:
        payload = load_row(row)
        if payload is None:
            out.append(None)
            continue
        try:
            rules.check_sampling_date(payload["sampling_date"], recorded_on)
            out.append((payload, rulebook.judge(payload, memo)))
        except RuleInputError:
            out.append(None)
    return out
