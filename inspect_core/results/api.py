"""``/api/v1/tasks/{id}/results``, ``/api/v1/results``: HTTP only.

Results have no PATCH or DELETE: those methods answer 405 in the error shape, and the
database refuses UPDATE and DELETE on the table anyway.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.views import MethodView

from inspect_core import idempotency
from inspect_core.auth.access import current_user, require
from inspect_core.blueprint import Blueprint
from inspect_core.db import db
from inspect_core.results import service
from inspect_core.results.schemas import (
    CorrectionInSchema,
    ResultInSchema,
    ResultListArgsSchema,
    ResultPageSchema,
    ResultSchema,
    ResultWithChainSchema,
)

blp = Blueprint("results", __name__, url_prefix="/api/v1", description="Results and corrections")


def idempotency_doc(required: bool) -> dict[str, Any]:
    """The ``Idempotency-Key`` header parameter of a route that honours it."""
    return {
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": required,
                "schema": {"type": "string", "maxLength": 255},
                "description": "a unique key per logical request; a retry with the same key "
                "and body replays the first response",
            }
        ]
    }


IDEMPOTENCY_DOC = idempotency_doc(required=True)


def _respond(status: int, body: dict[str, Any], replayed: bool) -> Any:
    response = jsonify(body)
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("results.ResultView", result_id=body["id"])
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blp.route("/tasks/<int:task_id>/results")
class TaskResultsView(MethodView):
    @require("results:write:own")
    @blp.arguments(ResultInSchema)
    @blp.response(201, ResultSchema)
    @blp.doc(**IDEMPOTENCY_DOC)
    def post(self, data: dict[str, Any], task_id: int) -> Any:
        """Record a result (assigned inspectors only); judged by the sector plugin when stored."""
        key = idempotency.request_key(required=True)
        return _respond(*service.record_result(db.session, current_user(), task_id, data, key))


@blp.route("/results")
class ResultsView(MethodView):
    @require("results:read", "results:read:own")
    @blp.arguments(ResultListArgsSchema, location="query")
    @blp.response(200, ResultPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Current versions of results, newest first."""
        return service.list_results(db.session, current_user(), args)


@blp.route("/results/<int:result_id>")
class ResultView(MethodView):
    @require("results:read", "results:read:own")
    @blp.response(200, ResultWithChainSchema)
    def get(self, result_id: int) -> Any:
        """The current version of this result and the chain of earlier versions."""
        return jsonify(service.with_chain(db.session, current_user(), result_id))


@blp.route("/results/<int:result_id>/corrections")
class CorrectionsView(MethodView):
    @require("results:correct", "results:write:own")
    @blp.arguments(CorrectionInSchema)
    @blp.response(201, ResultSchema)
    @blp.doc(**idempotency_doc(required=False))
    def post(self, data: dict[str, Any], result_id: int) -> Any:
        """Correct a result: a new version superseding the current one; ``reason`` required.
        An ``Idempotency-Key`` header is honoured when sent."""
        key = idempotency.request_key(required=False)
        return _respond(*service.correct(db.session, current_user(), result_id, data, key))
