"""Credit events (``/api/v1/enterprises/{uscc}/credit-events``) and repair."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from inspect_core.auth.access import current_user, require
from inspect_core.credit import service
from inspect_core.credit.schemas import (
    CreditEventInSchema,
    CreditEventListSchema,
    CreditEventSchema,
    RepairInSchema,
)
from inspect_core.db import db

blp = Blueprint("credit", __name__, url_prefix="/api/v1", description="Credit events and ratings")


@blp.route("/enterprises/<string:uscc>/credit-events")
class CreditEventsView(MethodView):
    @require("credit:read")
    @blp.response(200, CreditEventListSchema)
    def get(self, uscc: str) -> dict[str, Any]:
        """Penalties, list entries, complaints, recalls, incidents, certifications, awards."""
        return {"items": service.list_events(db.session, current_user(), uscc)}

    @require("credit:write")
    @blp.arguments(CreditEventInSchema)
    @blp.response(201, CreditEventSchema)
    def post(self, data: dict[str, Any], uscc: str) -> dict[str, Any]:
        """Record a credit event; its effect ends at ``expires_on`` (default by type)."""
        return service.add_event(db.session, current_user(), uscc, data)


@blp.route("/credit-events/<int:event_id>/repair")
class RepairView(MethodView):
    @require("credit:write")
    @blp.arguments(RepairInSchema)
    @blp.response(201, CreditEventSchema)
    def post(self, data: dict[str, Any], event_id: int) -> dict[str, Any]:
        """信用修复: end an event's effect early, with the reason recorded."""
        return service.repair(db.session, current_user(), event_id, data)
