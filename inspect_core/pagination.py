"""Keyset pagination: opaque, signed cursors over a stable ``(…, id)`` ordering.

OFFSET paging repeats or skips rows when rows are inserted between pages and is linear
in the offset; a keyset cursor does neither (RELIABILITY.md §2.3).  Cursors are signed
so a forged or stale-format cursor is refused with a 400 instead of silently
returning the wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from typing import Any

from flask import current_app
from marshmallow import Schema, fields, post_load, validate

from inspect_core.errors import BadRequest
from inspect_core.validators import MAX_ID


def _key() -> bytes:
    return hashlib.sha256(b"cursor:" + str(current_app.config["SECRET_KEY"]).encode()).digest()


def encode_cursor(kind: str, values: list[Any]) -> str:
    """Opaque cursor naming which list it belongs to and the last row's sort key."""
    payload = json.dumps({"k": kind, "v": values}, separators=(",", ":")).encode()
    mac = hmac.new(_key(), payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")


def _fits(value: Any, kind: type) -> bool:
    """Whether ``value`` is a ``kind`` a query can bind: an id up to :data:`MAX_ID`
    (PostgreSQL refuses a larger one, "integer out of range"), a finite number (a score),
    a string; ``True`` is not an id."""
    if kind is int:
        return type(value) is int and 0 <= value <= MAX_ID
    if kind is float:
        return type(value) in (int, float) and math.isfinite(value)
    return isinstance(value, kind)


def decode_cursor(kind: str, cursor: str, shape: tuple[type, ...]) -> list[Any]:
    """The sort key a cursor carries, one value of each type in ``shape``; or 400 naming
    ``cursor``.

    The MAC makes a forged cursor all but impossible; the shape check is for the one that
    gets through anyway (an old format under the same kind, a leaked key), so that its
    values are refused here rather than failing in ``int()`` or the database as a 500.
    """
    bad = BadRequest(
        "unknown or malformed cursor",
        {"cursor": ["unknown or malformed cursor; start again without one"]},
        message_zh="分页游标无效",
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise bad from None
    payload, mac = raw[:-12], raw[-12:]
    if len(raw) <= 12 or not hmac.compare_digest(
        mac, hmac.new(_key(), payload, hashlib.sha256).digest()[:12]
    ):
        raise bad
    try:
        data = json.loads(payload)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
        raise bad from None
    if (
        not isinstance(data, dict)
        or data.get("k") != kind
        or not isinstance(values := data.get("v"), list)
        or len(values) != len(shape)
        or not all(_fits(v, t) for v, t in zip(values, shape, strict=True))
    ):
        raise bad
    return values


class PageArgsSchema(Schema):
    """``limit`` (clamped to the configured maximum) and ``cursor``."""

    limit = fields.Integer(load_default=None, validate=validate.Range(min=1))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))

    @post_load
    def _clamp(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        cfg = current_app.config
        limit = data.get("limit") or int(cfg["PAGE_SIZE_DEFAULT"])
        data["limit"] = min(limit, int(cfg["PAGE_SIZE_MAX"]))
        return data


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """``{items: [...], next_cursor}`` around an item schema."""
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
        },
    )
