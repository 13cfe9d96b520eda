"""Bulk uploads (multipart ``.xlsx``/``.csv``), import reports, and the results export."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from flask import Response, jsonify, request, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from inspect_core import idempotency, workbook
from inspect_core.auth.access import current_user, require
from inspect_core.blueprint import Blueprint, UploadedFile, query_args
from inspect_core.db import db
from inspect_core.errors import ErrorSchema, Unprocessable
from inspect_core.imports import service
from inspect_core.imports.models import IMPORT_MODES
from inspect_core.ratelimit import EXPORT, UPLOAD, rate_limited
from inspect_core.responses import xlsx_response
from inspect_core.validators import RowId
from inspect_core.workbook import CSV_RESPONSE, XLSX_ALSO, XLSX_MIMETYPE, csv_lines, rows_workbook

blp = Blueprint("imports", __name__, url_prefix="/api/v1", description="Bulk uploads and exports")


class ImportFormSchema(Schema):
    """One multipart body: the file and the form fields."""

    file = UploadedFile(
        required=True, metadata={"description": ".xlsx or .csv (UTF-8, UTF-8-BOM, GBK)"}
    )
    mode = fields.String(
        validate=validate.OneOf(IMPORT_MODES),
        metadata={"description": "all_or_nothing (default) or partial; also accepted as ?mode="},
    )


class ResultImportFormSchema(ImportFormSchema):
    sector = fields.String(required=True, metadata={"description": "the template's sector code"})


class RowErrorSchema(Schema):
    row = fields.Integer(allow_none=True, metadata={"description": "sheet row (header = 1)"})
    column = fields.String()
    field = fields.String()
    value = fields.Raw(allow_none=True)
    message = fields.String()
    message_zh = fields.String(allow_none=True, metadata={"description": "the reason in zh-CN"})


class ImportReportSchema(Schema):
    import_id = fields.Integer()
    kind = fields.String()
    sector = fields.String(allow_none=True)
    mode = fields.String()
    status = fields.String()
    sha256 = fields.String()
    received = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))


class ImportRejectedSchema(ImportReportSchema):
    """An all-or-nothing upload with a bad row: its report in the error shape."""

    code = fields.Integer(metadata={"description": "422"})
    status = fields.String(metadata={"description": "Unprocessable Entity"})
    import_status = fields.String(metadata={"description": "the import's status: rejected"})
    message = fields.String()
    message_zh = fields.String()


class ImportStatusSchema(ImportReportSchema):
    filename = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    processed = fields.Integer()
    progress = fields.Float(metadata={"description": "processed / received"})
    message = fields.String(allow_none=True)


class ExportArgsSchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))
    sector = fields.String(required=True)
    plan = RowId()


def _run(kind: str, form: dict[str, Any]) -> Any:
    upload = form["file"]
    query = query_args(request)
    given = {m for m in (form.get("mode"), query.get("mode")) if m}
    if len(given) > 1:
        # the form field used to win silently: an all-or-nothing upload could run partial
        raise Unprocessable(
            "mode given twice, differently",
            {"mode": [f"form says {form['mode']!r}, query says {query['mode']!r}"]},
            message_zh="导入方式在表单和查询参数中不一致",
        )
    mode = given.pop() if given else "all_or_nothing"
    if mode not in IMPORT_MODES:
        raise Unprocessable("unknown mode", {"mode": [f"one of {', '.join(IMPORT_MODES)}"]})
    key = idempotency.request_key(required=False)
    status, body, replayed = service.run_import(
        db.session,
        current_user(),
        kind,
        upload.filename or "upload",
        upload.mimetype or "",
        upload.read(),
        mode,
        form.get("sector"),
        key,
    )
    response = jsonify(body)
    response.status_code = status
    response.headers["Location"] = url_for("imports.ImportView", import_id=body["import_id"])
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


IMPORT_DOC = {
    "responses": {
        "422": {
            "description": "a form that did not validate (the error shape), or an "
            "all_or_nothing upload with a bad row (its report, row errors listed)",
            "content": {
                "application/json": {"schema": {"oneOf": [ErrorSchema, ImportRejectedSchema]}}
            },
        }
    },
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "a retried upload with the same key returns the first answer; "
            "one sent while the first is still running is a 409 (retry later)",
        },
        {
            "in": "query",
            "name": "mode",
            "required": False,
            "schema": {"type": "string", "enum": list(IMPORT_MODES)},
        },
    ],
}


@blp.route("/results/import")
class ResultImportView(MethodView):
    @require("results:import")
    @blp.arguments(ResultImportFormSchema, location="form_and_files")
    @blp.response(201, ImportReportSchema)
    @blp.doc(**IMPORT_DOC)
    @rate_limited(UPLOAD)
    def post(self, form: dict[str, Any]) -> Any:
        """Upload results in a sector's template; rows validated and judged as in the JSON API."""
        return _run("results", form)


@blp.route("/enterprises/import")
class EnterpriseImportView(MethodView):
    @require("enterprises:write")
    @blp.arguments(ImportFormSchema, location="form_and_files")
    @blp.response(201, ImportReportSchema)
    @blp.doc(**IMPORT_DOC)
    @rate_limited(UPLOAD)
    def post(self, form: dict[str, Any]) -> Any:
        """Upload enterprise registry rows (统一社会信用代码, 企业名称, 监管行业, 所属街镇, …)."""
        return _run("enterprises", form)


@blp.route("/inspectors/import")
class InspectorImportView(MethodView):
    @require("inspectors:write")
    @blp.arguments(ImportFormSchema, location="form_and_files")
    @blp.response(201, ImportReportSchema)
    @blp.doc(**IMPORT_DOC)
    @rate_limited(UPLOAD)
    def post(self, form: dict[str, Any]) -> Any:
        """Upload inspector registry rows (执法证号, 姓名, 所属单位, 所属街镇, 执法资格, 在岗)."""
        return _run("inspectors", form)


@blp.route("/imports/<int:import_id>")
class ImportView(MethodView):
    @require("imports:read", "imports:read:own")
    @blp.response(200, ImportStatusSchema)
    def get(self, import_id: int) -> dict[str, Any]:
        """An upload's status, progress, counts and row errors."""
        upload = service.get_import(db.session, current_user(), import_id)
        return {
            **service.report(upload),
            "filename": upload.filename,
            "created_by": upload.created_by,
            "created_at": upload.created_at,
            "finished_at": upload.finished_at,
            "processed": upload.processed,
            "progress": upload.processed / upload.received
            if upload.received
            else (1.0 if upload.status != "received" else 0.0),
            "message": upload.message,
        }


@blp.route("/imports/<int:import_id>/errors.xlsx")
class ImportErrorsView(MethodView):
    @require("imports:read", "imports:read:own")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX_MIMETYPE)
    def get(self, import_id: int) -> Response:
        """The rejected rows as uploaded plus a reason column, ready to fix and re-upload."""
        upload = service.get_import(db.session, current_user(), import_id)
        headers, rows = service.error_rows(upload)
        return Response(
            rows_workbook("错误行 Rejected", headers, rows),
            mimetype=XLSX_MIMETYPE,
            headers={"Content-Disposition": f"attachment; filename=import-{import_id}-errors.xlsx"},
        )


#: rows per chunk of a streamed results CSV
EXPORT_CHUNK = 1000


@blp.route("/results/export")
class ResultExportView(MethodView):
    @require("results:read")
    @rate_limited(EXPORT)
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, **CSV_RESPONSE)
    @blp.alt_response(200, **XLSX_ALSO)
    def get(self, args: dict[str, Any]) -> Response:
        """Current results of a sector in its template's columns: re-imports cleanly.

        The rows are gathered into a temporary file first (the columns are known only
        after the last row), then sent: the CSV streamed from it, the Excel file written
        from it.  A plugin fault is a 502 before a byte is sent."""
        columns, spool = service.export_results(
            db.session, current_user(), args["sector"], args.get("plan")
        )
        name = f"{args['sector']}-results"
        rows = spool.rows(len(columns))
        if args["format"] == "xlsx":
            with spool:
                if spool.count + 1 > workbook.XLSX_MAX_ROWS:  # before a row is written
                    raise workbook.too_many_rows()
                headers = [c.header_zh for c in columns]
                return xlsx_response("结果 Results", headers, rows, f"{name}.xlsx")

        def body() -> Iterator[bytes]:
            yield service.csv_header(columns)
            while chunk := list(islice(rows, EXPORT_CHUNK)):
                yield csv_lines(chunk)

        response = Response(
            body(),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
        response.call_on_close(spool.close)  # also when the client goes away mid-way
        return response
