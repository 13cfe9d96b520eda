"""``/api/v1/sectors``: the sector catalogue, each sector's payload schema, checklist and
upload template, as the enabled plugins declare them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields

from inspect_core.auth.access import require
from inspect_core.blueprint import Blueprint
from inspect_core.errors import NotFound
from inspect_core.imports.service import result_columns
from inspect_core.judging import (
    PluginFault,
    _fault,
    payload_schema,
    plugin_checklist,
    required_qualification,
)
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
    qualification = fields.String(
        allow_none=True, metadata={"description": "null when the plugin could not say"}
    )
    payload_schema = fields.Dict(
        allow_none=True,
        metadata={"description": "JSON Schema of the result payload (null when the plugin "
                  "could not give it)"},
    )  # fmt: skip
    checklist = fields.List(fields.Nested(ChecklistItemSchema))
    template_columns = fields.List(fields.Nested(ColumnSchema))
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "each part the sector's plugin could not give (it raised or "
            "answered malformed data: the part is null or empty) → why, naming the plugin; "
            "empty when all is well"
        },
    )
    errors_zh = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "``errors`` in zh-CN (the same keys)"},
    )


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
    """Result columns, then the plugin's payload columns (if it declares any), as an upload
    reads them: a plugin column named like a result column (special equipment's
    ``inspected_on``) is the result's, shown once, or the template downloaded came back
    refused ("a column appears twice").  A plugin that raises or answers malformed
    columns is a :class:`PluginFault` (502)."""
    return result_columns(code)


def _payload_json_schema(code: str) -> dict[str, Any]:
    what_zh = "未能给出结果数据的 JSON Schema"
    schema = payload_schema(code, what_zh)
    try:
        return json_schema(schema, f"{code}_payload")
    except Exception as exc:  # noqa: BLE001 - the plugin's schema, contained and named
        raise _fault(code, f"its payload schema cannot be written as JSON Schema: {exc!r}",
                     what_zh) from exc  # fmt: skip


def describe(entry: SectorEntry) -> dict[str, Any]:
    """The sector as :class:`SectorSchema` shows it.  A part its plugin cannot give
    (it raises or answers malformed data) is left empty and named in ``errors`` /
    ``errors_zh``: one faulty plugin costs its own parts, never the catalogue."""
    code = entry.code
    errors: dict[str, list[str]] = {}
    errors_zh: dict[str, list[str]] = {}

    def part(name: str, build: Callable[[], Any], empty: Any) -> Any:
        try:
            return build()
        except PluginFault as exc:
            errors[name] = [exc.message]
            errors_zh[name] = [exc.message_zh or exc.message]
            return empty

    return {
        **dataclasses.asdict(entry),
        "qualification": part("qualification", lambda: required_qualification(code), None),
        "payload_schema": part("payload_schema", lambda: _payload_json_schema(code), None),
        "checklist": part(
            "checklist", lambda: [dataclasses.asdict(i) for i in plugin_checklist(code)], []
        ),
        "template_columns": part(
            "template_columns", lambda: [dataclasses.asdict(c) for c in columns_of(code)], []
        ),
        "errors": errors,
        "errors_zh": errors_zh,
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
