"""``/api/v1/sectors``: the sector catalogue, each sector's payload schema, checklist and
upload template, as the enabled plugins declare them."""

from __future__ import annotations

import dataclasses
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields

from inspect_core.auth.access import require
from inspect_core.blueprint import Blueprint
from inspect_core.errors import NotFound
from inspect_core.judging import payload_schema
from inspect_core.plugin_manager import get_pm
from inspect_core.results.columns import RESULT_COLUMNS
from inspect_core.results.models import RESULT_CODES
from inspect_core.sectors import SectorEntry, catalogue
from inspect_core.workbook import XLSX_MIMETYPE, template_workbook

blp = Blueprint("sectors", __name__, url_prefix="/api/v1/sectors", description="Sectors")


class ChecklistItemSchema(Schema):
    code = fields.String()
    text_zh = fields.String()
    text_en = fields.String()
    key = fields.Boolean()


class ColumnSchema(Schema):
    name = fields.String()
    header_zh = fields.String()
    required = fields.Boolean()
    notes = fields.String()


class SectorSchema(Schema):
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    plugin = fields.String(allow_none=True)
    version = fields.String(allow_none=True)
    qualification = fields.String()
    payload_schema = fields.Dict(metadata={"description": "JSON Schema of the result payload"})
    checklist = fields.List(fields.Nested(ChecklistItemSchema))
    template_columns = fields.List(fields.Nested(ColumnSchema))


class SectorListSchema(Schema):
    items = fields.List(fields.Nested(SectorSchema))


def json_schema(schema_cls: type[Schema], name: str) -> dict[str, Any]:
    """A self-contained JSON Schema (``$defs``) of a marshmallow schema, via apispec."""
    spec = APISpec(name, "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema(name, schema=schema_cls)
    defs = spec.to_dict()["components"]["schemas"]
    text = _rewrite_refs(defs)
    return {"$ref": f"#/$defs/{name}", "$defs": text}


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = value.replace("#/components/schemas/", "#/$defs/")
            elif key in ("minimum", "maximum") and isinstance(value, str):
                # Decimal fields serialise as strings; the bound is still a number
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def columns_of(code: str) -> list[Any]:
    """Result columns, then the plugin's payload columns (if it declares any)."""
    plugin_columns = get_pm().hook.inspect_template_columns(sector=code) or ()
    return [*RESULT_COLUMNS, *plugin_columns]


def describe(entry: SectorEntry) -> dict[str, Any]:
    pm = get_pm()
    checklist = pm.hook.inspect_checklist(sector=entry.code) or ()
    qualification = pm.hook.inspect_required_qualification(sector=entry.code) or entry.code
    return {
        **dataclasses.asdict(entry),
        "qualification": qualification,
        "payload_schema": json_schema(payload_schema(entry.code), f"{entry.code}_payload"),
        "checklist": [dataclasses.asdict(item) for item in checklist],
        "template_columns": [dataclasses.asdict(c) for c in columns_of(entry.code)],
    }


def _entry(code: str) -> SectorEntry:
    entry = catalogue().get(code)
    if entry is None:
        raise NotFound(
            f"unknown sector '{code}'", {"code": [f"known: {', '.join(sorted(catalogue()))}"]},
            message_zh="未知行业代码",
        )  # fmt: skip
    return entry


@blp.route("")
class SectorsView(MethodView):
    @require("sectors:read")
    @blp.response(200, SectorListSchema)
    def get(self) -> dict[str, Any]:
        """Every sector the registries accept: plugin, payload schema, checklist."""
        return {"items": [describe(e) for e in sorted(catalogue().values(), key=lambda s: s.code)]}


@blp.route("/<string:code>")
class SectorView(MethodView):
    @require("sectors:read")
    @blp.response(200, SectorSchema)
    def get(self, code: str) -> Any:
        """One sector: names, plugin and version, JSON Schema of the payload, checklist."""
        return describe(_entry(code))


@blp.route("/<string:code>/template.xlsx")
class TemplateView(MethodView):
    @require("sectors:read")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX_MIMETYPE)
    def get(self, code: str) -> Response:
        """The sector's upload template: zh-CN headers, an example row, a column guide."""
        entry = _entry(code)
        data = template_workbook(
            f"{entry.name_zh} {entry.name_en} — inspect-core {entry.plugin or 'generic'} "
            f"{entry.version or ''}",
            columns_of(code),
            {"conclusion_code": list(RESULT_CODES)},
        )
        return Response(
            data,
            mimetype=XLSX_MIMETYPE,
            headers={"Content-Disposition": f"attachment; filename={code}-template.xlsx"},
        )
