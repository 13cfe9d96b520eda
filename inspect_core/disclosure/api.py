"""Disclosure endpoints: public results and plans (no token), and the regulators' side."""

from __future__ import annotations

import zlib
from typing import Any

from flask import Response, url_for
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from inspect_core.auth.access import current_user, public, require
from inspect_core.blueprint import Blueprint
from inspect_core.db import db
from inspect_core.disclosure import service
from inspect_core.results.schemas import PublicResultArgsSchema, PublicResultPageSchema

blp = Blueprint("disclosure", __name__, url_prefix="/api/v1", description="Disclosure (一公开)")


class DisclosedSchema(Schema):
    chain = fields.String()
    disclosed_at = fields.DateTime()
    disclosed_by = fields.String()


class CountSchema(Schema):
    disclosed = fields.Integer()


class PublicDrawSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    seed = fields.String()
    seed_kind = fields.String(
        metadata={"description": "public, or explicit (test/simulation only)"}
    )
    public_value = fields.String(allow_none=True)
    public_source = fields.String(allow_none=True)
    public_drawn_at = fields.DateTime(allow_none=True)
    pool_hash = fields.String()
    algorithm_version = fields.String()
    reason = fields.String(allow_none=True)
    drawn_at = fields.DateTime()
    snapshot_id = fields.Integer()


class PublicPlanSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    issuing_unit = fields.String()
    sector = fields.String()
    sector_zh = fields.String()
    sector_en = fields.String()
    check_items = fields.List(fields.Dict())
    scope_regions = fields.List(fields.String())
    ratios = fields.Dict()
    inspectors_per_task = fields.Integer()
    due_date = fields.Date()
    status = fields.String()
    published_at = fields.DateTime(allow_none=True)
    draws = fields.List(fields.Nested(PublicDrawSchema))


class PublicPlanListSchema(Schema):
    items = fields.List(fields.Nested(PublicPlanSchema))


class OverdueSchema(Schema):
    result_id = fields.Integer()
    uscc = fields.String()
    enterprise_name = fields.String()
    plan_id = fields.Integer()
    plan_status = fields.String(
        metadata={"description": "a plan not yet published is published before its results"}
    )
    recorded_at = fields.DateTime()
    disclosure_due = fields.Date()
    disclosure_basis = fields.String()
    days_overdue = fields.Integer()


class OverdueListSchema(Schema):
    items = fields.List(fields.Nested(OverdueSchema))


class OverdueArgsSchema(Schema):
    as_of = fields.Date()


class CalendarSchema(Schema):
    holidays = fields.List(fields.Date(), required=True, validate=validate.Length(max=200))
    workdays = fields.List(fields.Date(), load_default=list, validate=validate.Length(max=100))

    @validates_schema
    def _disjoint(self, data: dict[str, Any], **kwargs: Any) -> None:
        both = set(data.get("holidays", [])) & set(data.get("workdays", []))
        if both:
            raise ValidationError(f"{sorted(both)[0]} is listed as both", "workdays")


class CalendarLoadedSchema(Schema):
    year = fields.Integer()
    days = fields.Integer()


@blp.route("/public/results")
class PublicResultsView(MethodView):
    @public
    @blp.arguments(PublicResultArgsSchema, location="query")
    @blp.response(200, PublicResultPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Disclosed results (no token); filters ``uscc, plan, sector, from, to``."""
        return service.public_results(db.session, args)


@blp.route("/public/plans")
class PublicPlansView(MethodView):
    @public
    @blp.response(200, PublicPlanListSchema)
    def get(self) -> dict[str, Any]:
        """Published plans and every draw of each: seed, public value and source, pool hash."""
        return {"items": service.public_plans(db.session)}


@blp.route("/public/snapshots/<int:snapshot_id>")
class PublicSnapshotView(MethodView):
    @public
    @blp.response(200, {"type": "string"}, content_type="text/plain")
    def get(self, snapshot_id: int) -> Response:
        """The frozen pool of a published plan, byte for byte: SHA-256 of it is the pool hash."""
        snapshot = service.public_snapshot(db.session, snapshot_id)
        body = zlib.decompress(snapshot.snapshot)
        return Response(
            body,
            mimetype="text/plain",
            headers={
                "Content-Disposition": f"attachment; filename=pool-{snapshot.pool_hash[:12]}.txt",
                "X-Pool-Hash": snapshot.pool_hash,
            },
        )


@blp.route("/results/<int:result_id>/disclose")
class DiscloseResultView(MethodView):
    @require("disclosure:write")
    @blp.response(201, DisclosedSchema)
    def post(self, result_id: int) -> Any:
        """Make a result public; later corrections show as its current version.  Its plan is
        published first (a 409 naming ``plan`` otherwise): the public reads the plan too."""
        disclosed = service.disclose_result(db.session, current_user(), result_id)
        return disclosed, 201, {"Location": url_for("results.ResultView", result_id=result_id)}


@blp.route("/plans/<int:plan_id>/disclose")
class DisclosePlanView(MethodView):
    @require("disclosure:write")
    @blp.response(200, CountSchema)
    def post(self, plan_id: int) -> dict[str, int]:
        """Make every undisclosed current result of a published plan public (a 409 naming
        ``plan`` for a plan not yet published)."""
        return {"disclosed": service.disclose_plan(db.session, current_user(), plan_id)}


@blp.route("/disclosures/overdue")
class OverdueView(MethodView):
    @require("disclosure:write")
    @blp.arguments(OverdueArgsSchema, location="query")
    @blp.response(200, OverdueListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Results past their 20-working-day disclosure deadline and not yet public."""
        return {"items": service.overdue(db.session, current_user(), args.get("as_of"))}


@blp.route("/calendar/<int:year>")
class CalendarView(MethodView):
    @require("calendar:write")
    @blp.arguments(CalendarSchema)
    @blp.response(200, CalendarLoadedSchema)
    def put(self, data: dict[str, Any], year: int) -> dict[str, int]:
        """Load a year's holidays and adjusted working days (State Council notice)."""
        from inspect_core.errors import Forbidden, Unprocessable

        user = current_user()
        if user.regions:  # the calendar sets every region's disclosure deadlines
            raise Forbidden(
                "the working-day calendar is district-wide; a user scoped to regions may not "
                "load it",
                {"year": [f"your scope is {', '.join(user.regions)}"]},
                message_zh="工作日历为全区共用，限全区账号维护",
            )
        if not 2000 <= year <= 2100:
            raise Unprocessable("year out of range", {"year": ["2000-2100"]})
        for name in ("holidays", "workdays"):  # the reason under the list that has the day
            outside = [d for d in data[name] if d.year != year]
            if outside:
                raise Unprocessable(
                    "dates outside the year", {name: [f"{outside[0]} is not in the year {year}"]}
                )
        days = service.load_calendar(db.session, user, year, data["holidays"], data["workdays"])
        return {"year": year, "days": days}
