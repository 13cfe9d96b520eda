"""``/api/v1/audit``: verify the chain, read its head for an external checkpoint."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from inspect_core.audit import service
from inspect_core.auth.access import require
from inspect_core.blueprint import Blueprint
from inspect_core.db import db

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log")


class VerifyReportSchema(Schema):
    ok = fields.Boolean()
    events = fields.Integer(metadata={"description": "events verified before any break"})
    head = fields.String(metadata={"description": "hash of the last verified event"})
    first_broken = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)


class HeadSchema(Schema):
    id = fields.Integer()
    hash = fields.String()


@blp.route("/verify")
class VerifyView(MethodView):
    @require("audit:read")
    @blp.response(200, VerifyReportSchema)
    def get(self) -> Any:
        """Recompute the hash chain and report the first broken link, if any."""
        return service.verify(db.session)


@blp.route("/head")
class HeadView(MethodView):
    @require("audit:read")
    @blp.response(200, HeadSchema)
    def get(self) -> dict[str, Any]:
        """The last event's id and hash: publish or sign it outside the database."""
        event_id, digest = service.head(db.session)
        return {"id": event_id, "hash": digest}
