"""``/api/v1/inspectors``: HTTP only."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from inspect_core.auth.access import current_user, require
from inspect_core.blueprint import Blueprint
from inspect_core.db import db
from inspect_core.inspectors import service
from inspect_core.inspectors.schemas import (
    ConflictCreateSchema,
    ConflictListSchema,
    ConflictSchema,
    InspectorCreateSchema,
    InspectorListArgsSchema,
    InspectorPageSchema,
    InspectorPatchSchema,
    InspectorSchema,
)

blp = Blueprint(
    "inspectors",
    __name__,
    url_prefix="/api/v1/inspectors",
    description="Inspector registry (执法检查人员名录库) and conflicts of interest (回避)",
)


@blp.route("")
class InspectorsView(MethodView):
    @require("inspectors:read")
    @blp.arguments(InspectorListArgsSchema, location="query")
    @blp.response(200, InspectorPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List inspectors in your scope."""
        return service.list_page(db.session, current_user(), args)

    @require("inspectors:write")
    @blp.arguments(InspectorCreateSchema)
    @blp.response(201, InspectorSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an inspector with sector qualifications."""
        inspector = service.create(db.session, current_user(), data)
        return (
            inspector,
            201,
            {"Location": url_for("inspectors.InspectorView", badge=inspector.badge)},
        )


@blp.route("/<string:badge>")
class InspectorView(MethodView):
    @require("inspectors:read", "inspectors:read:own")
    @blp.response(200, InspectorSchema)
    def get(self, badge: str) -> Any:
        """One inspector (an inspector may read only their own record)."""
        return service.get(db.session, current_user(), badge)

    @require("inspectors:write")
    @blp.arguments(InspectorPatchSchema)
    @blp.response(200, InspectorSchema)
    def patch(self, changes: dict[str, Any], badge: str) -> Any:
        """Change an inspector's unit, region, qualifications or active flag."""
        return service.update(db.session, current_user(), badge, changes)


@blp.route("/<string:badge>/conflicts")
class ConflictsView(MethodView):
    @require("conflicts:read", "inspectors:read:own")
    @blp.response(200, ConflictListSchema)
    def get(self, badge: str) -> dict[str, Any]:
        """Declared conflicts of interest of one inspector."""
        return {"items": service.list_conflicts(db.session, current_user(), badge)}

    @require("conflicts:write", "conflicts:write:own")
    @blp.arguments(ConflictCreateSchema)
    @blp.response(201, ConflictSchema)
    def post(self, data: dict[str, Any], badge: str) -> Any:
        """Declare a conflict with an enterprise; the draw will never pair them."""
        conflict = service.declare_conflict(db.session, current_user(), badge, data)
        return conflict, 201, {"Location": url_for("inspectors.ConflictsView", badge=badge)}
