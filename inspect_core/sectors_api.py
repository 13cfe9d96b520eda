"""``/api/v1/sectors``: the sector catalogue and what each plugin declares."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from inspect_core.auth.access import require
from inspect_core.errors import NotFound
from inspect_core.sectors import catalogue

blp = Blueprint("sectors", __name__, url_prefix="/api/v1/sectors", description="Sectors")


class SectorSchema(Schema):
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    plugin = fields.String(allow_none=True)
    version = fields.String(allow_none=True)


class SectorListSchema(Schema):
    items = fields.List(fields.Nested(SectorSchema))


@blp.route("")
class SectorsView(MethodView):
    @require("sectors:read")
    @blp.response(200, SectorListSchema)
    def get(self) -> dict[str, Any]:
        """Every sector code the registries accept, with the plugin judging it."""
        return {"items": sorted(catalogue().values(), key=lambda s: s.code)}


@blp.route("/<string:code>")
class SectorView(MethodView):
    @require("sectors:read")
    @blp.response(200, SectorSchema)
    def get(self, code: str) -> Any:
        """One sector."""
        entry = catalogue().get(code)
        if entry is None:
            raise NotFound(f"unknown sector '{code}'", message_zh="未知行业代码")
        return entry
