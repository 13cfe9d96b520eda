"""``/api/v1/plans``, ``/api/v1/draws``, ``/api/v1/tasks``: HTTP only."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from inspect_core.auth.access import (
    current_user,
    has_permission,
    optional_user,
    public_token_optional,
    require,
)
from inspect_core.blueprint import Blueprint
from inspect_core.db import db
from inspect_core.errors import NotFound
from inspect_core.plans import service
from inspect_core.plans.models import PUBLIC_PLAN_STATUSES, Plan
from inspect_core.plans.schemas import (
    DrawRequestSchema,
    DrawSchema,
    PlanCreateSchema,
    PlanListArgsSchema,
    PlanPageSchema,
    PlanPatchSchema,
    PlanSchema,
    ReassignSchema,
    SnapshotSchema,
    TaskListArgsSchema,
    TaskPageSchema,
    TaskSchema,
    VerifySchema,
)

blp = Blueprint(
    "plans", __name__, url_prefix="/api/v1", description="Plans, draws and tasks (双随机)"
)


@blp.route("/plans")
class PlansView(MethodView):
    @require("plans:read")
    @blp.arguments(PlanListArgsSchema, location="query")
    @blp.response(200, PlanPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Plans, newest first."""
        return service.list_plans(db.session, current_user(), args)

    @require("plans:write")
    @blp.arguments(PlanCreateSchema)
    @blp.response(201, PlanSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a draft plan: sector, check items, scope, sampling ratio per tier, k, due date."""
        plan = service.create_plan(db.session, current_user(), data)
        return plan, 201, {"Location": url_for("plans.PlanView", plan_id=plan.id)}


@blp.route("/plans/<int:plan_id>")
class PlanView(MethodView):
    @require("plans:read")
    @blp.response(200, PlanSchema)
    def get(self, plan_id: int) -> Any:
        """One plan."""
        return service.get_plan(db.session, current_user(), plan_id)

    @require("plans:write")
    @blp.arguments(PlanPatchSchema)
    @blp.response(200, PlanSchema)
    def patch(self, changes: dict[str, Any], plan_id: int) -> Any:
        """Edit a draft, or move the status drawn → published → closed."""
        return service.update_plan(db.session, current_user(), plan_id, changes)


@blp.route("/plans/<int:plan_id>/pool")
class PoolView(MethodView):
    @require("plans:write")
    @blp.response(201, SnapshotSchema)
    def post(self, plan_id: int) -> Any:
        """Freeze the pool and publish its hash; the seed will come from a later public value."""
        snapshot = service.freeze_pool(db.session, current_user(), plan_id)
        return snapshot, 201, {"Location": url_for("plans.PoolView", plan_id=plan_id)}

    @require("plans:read")
    @blp.response(200, SnapshotSchema)
    def get(self, plan_id: int) -> Any:
        """The latest frozen pool of the plan (hash, counts, when)."""
        service.get_plan(db.session, current_user(), plan_id)
        snapshot = service.latest_snapshot(db.session, plan_id)
        if snapshot is None:
            raise NotFound("the pool of this plan has not been frozen")
        return snapshot


def _draw_body(draw: Any, tasks: int) -> dict[str, Any]:
    """The draw's fields plus the task count, for the response schema to serialise."""
    body = {name: getattr(draw, name) for name in DrawSchema().fields if hasattr(draw, name)}
    body["tasks"] = tasks
    return body


@blp.route("/plans/<int:plan_id>/draw")
class DrawView(MethodView):
    @require("plans:write")
    @blp.arguments(DrawRequestSchema)
    @blp.response(201, DrawSchema)
    def post(self, data: dict[str, Any], plan_id: int) -> Any:
        """Draw enterprises and inspectors.  Give ``public_value``, ``public_source`` and
        ``public_drawn_at`` (a public draw held after the pool was frozen), or a test ``seed``.
        A re-draw needs ``reason`` and keeps the earlier draw."""
        draw, tasks = service.run_draw(db.session, current_user(), plan_id, data)
        return _draw_body(draw, tasks), 201, {"Location": url_for("plans.DrawOne", draw_id=draw.id)}


def _draw_readable(draw: Any) -> None:
    """Draws of published plans are public; others need a regulator's token, and scope.
    A hidden draw answers as a missing one: "no published draw", or the plan's 404
    naming the plan, told a caller that the draw existed, and for which plan."""
    plan = db.session.get(Plan, draw.plan_id)
    if plan.status in PUBLIC_PLAN_STATUSES:
        return
    user = optional_user()
    if user is None or not has_permission(user, "plans:read"):
        raise service.no_draw(draw.id)
    try:
        service.get_plan(db.session, user, plan.id)
    except NotFound:
        raise service.no_draw(draw.id) from None


@blp.route("/draws/<int:draw_id>")
class DrawOne(MethodView):
    @public_token_optional
    @blp.response(200, DrawSchema)
    def get(self, draw_id: int) -> Any:
        """One draw: seed, public value and source, pool hash, parameters, tier counts."""
        draw = service.get_draw(db.session, draw_id)
        _draw_readable(draw)
        tasks = len(service.stored_assignments(db.session, draw.id))
        body = _draw_body(draw, tasks)
        user = optional_user()
        if user is None or not has_permission(user, "plans:read"):
            # the public sees what /public/plans shows: not the staff account that drew it
            body.pop("drawn_by", None)
        return body


@blp.route("/draws/<int:draw_id>/verify")
class VerifyView(MethodView):
    @public_token_optional
    @blp.response(200, VerifySchema)
    def get(self, draw_id: int) -> Any:
        """Replay the draw from its stored snapshot and seed: ``identical`` true or false."""
        draw = service.get_draw(db.session, draw_id)
        _draw_readable(draw)
        return service.verify_draw(db.session, draw_id)


@blp.route("/tasks")
class TasksView(MethodView):
    @require("tasks:read", "tasks:read:own")
    @blp.arguments(TaskListArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Tasks: an inspector sees only their own; regulators all, filterable."""
        return service.list_tasks(db.session, current_user(), args)


@blp.route("/tasks/<int:task_id>")
class TaskView(MethodView):
    @require("tasks:read", "tasks:read:own")
    @blp.response(200, TaskSchema)
    def get(self, task_id: int) -> Any:
        """One task with its inspectors and assignment history."""
        return service.get_task(db.session, current_user(), task_id)


@blp.route("/tasks/<int:task_id>/reassign")
class ReassignView(MethodView):
    @require("tasks:reassign")
    @blp.arguments(ReassignSchema)
    @blp.response(200, TaskSchema)
    def post(self, data: dict[str, Any], task_id: int) -> Any:
        """Replace an inspector after a late recusal; the replacement is drawn by the same rules."""
        return service.reassign(db.session, current_user(), task_id, data)
