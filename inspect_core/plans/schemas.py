"""Schemas for plans, pool snapshots, draws and tasks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from inspect_core.enterprises.models import STATUSES
from inspect_core.errors import Unprocessable
from inspect_core.pagination import PageArgsSchema, page_schema
from inspect_core.plans.models import PLAN_STATUSES
from inspect_core.validators import (
    CleanString,
    FullMatch,
    RowId,
    validate_region,
    validate_sector_filter,
    validate_sectors,
)

TIERS = ("A", "B", "C", "D")


class CheckItemSchema(Schema):
    # the whole text: "C-1\n" passed Regexp's $ as a second C-1 beside the first
    code = fields.String(required=True, validate=FullMatch(r"^[A-Za-z0-9_.-]{1,40}$"))
    name_zh = CleanString(required=True, validate=validate.Length(max=200))
    name_en = CleanString(required=True, validate=validate.Length(max=200))
    key = fields.Boolean(load_default=False, metadata={"description": "重点检查事项 (no cap)"})


#: the most check items a plan takes
MAX_CHECK_ITEMS = 200


def _distinct_codes(items: list[dict[str, Any]]) -> None:
    """An item code names one check item: the published plan lists the items by code, and
    two with one code cannot be told apart."""
    codes = [item["code"] for item in items]
    if len(codes) != len(set(codes)):
        raise ValidationError("check item codes repeat")


def _check_items(**kwargs: Any) -> fields.List:
    """A plan's check items, with the same limits on create and on PATCH of a draft: a
    PATCH that skipped them stored (and published) thousands of items or repeated codes."""
    return fields.List(
        fields.Nested(CheckItemSchema),
        validate=[validate.Length(min=1, max=MAX_CHECK_ITEMS), _distinct_codes],
        **kwargs,
    )


#: decimal places a tier's ratio may have (0.000001 is one enterprise in a million)
RATIO_PLACES = 6


def _ratio_places(ratio: Decimal) -> None:
    """Refuse, never round, a ratio finer than :data:`RATIO_PLACES`: the frozen pool writes
    it out in full, and "1E-999999999" was a gigabyte of digits there.  One outside 0–1 is
    left to the range (quantizing "1E+999999999" raises)."""
    if 0 <= ratio <= 1 and ratio != ratio.quantize(Decimal(1).scaleb(-RATIO_PLACES)):
        raise ValidationError(f"at most {RATIO_PLACES} decimal places")


def _ratio() -> fields.Decimal:
    """A tier's ratio, 0–1.  Its bounds are documented by hand: apispec writes a Decimal
    field's bounds as strings ("0", "1"), which is not a valid OpenAPI document."""
    return fields.Decimal(
        required=True,
        as_string=True,
        validate=[validate.Range(0, 1), _ratio_places],
        metadata={
            "minimum": 0,
            "maximum": 1,
            "description": f"0–1 with at most {RATIO_PLACES} decimal places, a number or its"
            ' decimal string ("0.25")',
        },
    )


class RatiosSchema(Schema):
    """Sampling ratio per credit tier, 0–1 (a minimum: the draw rounds up)."""

    A = _ratio()
    B = _ratio()
    C = _ratio()
    D = _ratio()


def _one_sector(code: str) -> None:
    validate_sectors([code])


def _due_date(day: dt.date) -> None:
    """A plan falls due between today (China) and ``PLAN_MAX_DAYS_AHEAD`` days on: a date
    already past made every task overdue at once and its disclosure late, and one years
    away (2062 for 2026) kept the tasks open that long."""
    from inspect_core.results.service import today_in_china

    today = today_in_china()
    latest = today + dt.timedelta(days=int(current_app.config["PLAN_MAX_DAYS_AHEAD"]))
    if day < today:
        raise ValidationError(f"before today ({today})")
    if day > latest:
        raise ValidationError(f"after {latest} (PLAN_MAX_DAYS_AHEAD days from today)")


def check_due_date(day: dt.date) -> None:
    """:func:`_due_date` for a PATCH that moves a draft's due date: a 422 naming it."""
    try:
        _due_date(day)
    except ValidationError as exc:
        raise Unprocessable(
            "the request's fields did not validate", {"due_date": exc.messages}
        ) from None


class PlanCreateSchema(Schema):
    title = CleanString(required=True, validate=validate.Length(max=200))
    issuing_unit = CleanString(required=True, validate=validate.Length(max=200))
    sector = fields.String(required=True, validate=_one_sector)
    check_items = _check_items(required=True)
    scope_regions = fields.List(
        CleanString(validate=[validate.Length(max=64), validate_region]),
        load_default=list,
        metadata={"description": "empty = every region in your scope"},
    )
    scope_statuses = fields.List(
        fields.String(validate=validate.OneOf(STATUSES)), load_default=lambda: ["active"]
    )
    ratios = fields.Nested(RatiosSchema, required=True)
    inspectors_per_task = fields.Integer(load_default=2, validate=validate.Range(min=2, max=10))
    due_date = fields.Date(required=True, validate=_due_date)


class PlanPatchSchema(Schema):
    """Draft plans change freely; later only the status moves (drawn → published → closed)."""

    title = CleanString(validate=validate.Length(max=200))
    issuing_unit = CleanString(validate=validate.Length(max=200))
    check_items = _check_items()
    scope_regions = fields.List(CleanString(validate=[validate.Length(max=64), validate_region]))
    scope_statuses = fields.List(fields.String(validate=validate.OneOf(STATUSES)))
    ratios = fields.Nested(RatiosSchema)
    inspectors_per_task = fields.Integer(validate=validate.Range(min=2, max=10))
    # checked by the service against the stored date (:func:`check_due_date`): the draft's
    # own date sent back unchanged is taken once it has passed, as a status move is
    due_date = fields.Date()
    status = fields.String(validate=validate.OneOf(PLAN_STATUSES))


class PlanSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    issuing_unit = fields.String()
    sector = fields.String()
    check_items = fields.List(fields.Nested(CheckItemSchema))
    scope_regions = fields.List(fields.String())
    scope_statuses = fields.List(fields.String())
    ratios = fields.Dict(keys=fields.String(), values=fields.String())
    inspectors_per_task = fields.Integer()
    due_date = fields.Date()
    status = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class PlanListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(PLAN_STATUSES))
    sector = fields.String(validate=[validate.Length(max=40), validate_sector_filter])


class SnapshotSchema(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    seq = fields.Integer()
    pool_hash = fields.String()
    algorithm_version = fields.String()
    enterprises = fields.Integer()
    inspectors = fields.Integer()
    frozen_at = fields.DateTime()
    frozen_by = fields.String()


class DrawRequestSchema(Schema):
    """Either a public value drawn after the pool was frozen, or an explicit test seed."""

    public_value = CleanString(validate=validate.Length(max=200), metadata={"example": "527"})
    public_source = CleanString(
        validate=validate.Length(min=4, max=300),
        metadata={"example": "中国福利彩票3D 第2026318期开奖号码"},
    )
    public_drawn_at = fields.AwareDateTime(
        metadata={"description": "when the public value was drawn (after the pool was frozen)"}
    )
    seed = fields.Integer(
        validate=validate.Range(min=0, max=2**128 - 1),
        metadata={"description": "tests and simulations only; marks the draw as such"},
    )
    reason = CleanString(validate=validate.Length(min=4, max=2000))

    @validates_schema
    def _one_mode(self, data: dict[str, Any], **_: Any) -> None:
        public = [k for k in ("public_value", "public_source", "public_drawn_at") if k in data]
        if "seed" in data and public:
            raise ValidationError("give either seed or the public value, not both", "seed")
        if "seed" not in data and len(public) != 3:
            missing = {
                k: ["required unless an explicit test seed is given"]
                for k in ("public_value", "public_source", "public_drawn_at")
                if k not in data
            }
            raise ValidationError(missing)


class TierCountSchema(Schema):
    tier = fields.String()
    ratio = fields.String(allow_none=True)
    eligible = fields.Integer()
    selected = fields.Integer()


class DrawSchema(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    seq = fields.Integer()
    snapshot_id = fields.Integer()
    seed = fields.String()
    seed_kind = fields.String()
    public_value = fields.String(allow_none=True)
    public_source = fields.String(allow_none=True)
    public_drawn_at = fields.DateTime(allow_none=True)
    algorithm_version = fields.String()
    pool_hash = fields.String()
    params = fields.Dict()
    tiers = fields.List(fields.Nested(TierCountSchema))
    workload_cap = fields.Integer()
    reason = fields.String(allow_none=True)
    drawn_by = fields.String()
    drawn_at = fields.DateTime()
    tasks = fields.Integer(metadata={"description": "number of tasks created"})


class VerifyProblemSchema(Schema):
    code = fields.String(
        metadata={"description": "snapshot_unreadable | snapshot_hash | seed_not_derived"}
    )
    message = fields.String()
    message_zh = fields.String()


class VerifySchema(Schema):
    identical = fields.Boolean(required=True)
    draw_id = fields.Integer()
    pool_hash_matches = fields.Boolean(allow_none=True)
    algorithm_matches = fields.Boolean()
    algorithm_version = fields.String()
    error = fields.String(allow_none=True)
    tasks = fields.Integer()
    missing = fields.List(fields.String())
    unexpected = fields.List(fields.String())
    changed = fields.List(fields.String())
    #: the checks of the published inputs that failed (the replay's own are above)
    problems = fields.List(fields.Nested(VerifyProblemSchema))


def _release_reason(assignment: Any) -> str | None:
    """A recusal reason may be personal ("与企业负责人系亲属"): those who manage tasks see
    every one, an inspector only their own (the team learns that a member left, and when,
    not why)."""
    from inspect_core.auth.access import has_permission, optional_user

    user = optional_user()
    if user is None:
        return None
    if has_permission(user, "tasks:read") or assignment.inspector.badge == user.inspector_badge:
        return assignment.release_reason
    return None


class TaskSchema(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    draw_id = fields.Integer()
    uscc = fields.Function(lambda t: t.enterprise.uscc)
    enterprise_name = fields.Function(lambda t: t.enterprise.name)
    region = fields.Function(lambda t: t.enterprise.region)
    sector = fields.Function(lambda t: t.plan.sector)
    inspectors = fields.List(fields.String())
    due_date = fields.Date()
    status = fields.String()
    history = fields.Function(
        lambda t: [
            {
                "badge": a.inspector.badge,
                "how": a.how,
                "assigned_at": a.assigned_at.isoformat(),
                "released_at": a.released_at.isoformat() if a.released_at else None,
                "release_reason": _release_reason(a),
            }
            for a in t.assignments
        ]
    )


class TaskListArgsSchema(PageArgsSchema):
    plan = RowId()
    status = fields.String(validate=validate.OneOf(("open", "done", "superseded")))
    badge = fields.String(validate=validate.Length(max=32))
    region = fields.String(validate=validate.Length(max=64))


class ReassignSchema(Schema):
    badge = fields.String(required=True, metadata={"description": "the inspector leaving"})
    reason = CleanString(required=True, validate=validate.Length(min=4, max=2000))


PlanPageSchema = page_schema(PlanSchema, "PlanPage")
TaskPageSchema = page_schema(TaskSchema, "TaskPage")


def ratios_to_json(ratios: dict[str, Decimal]) -> dict[str, str]:
    return {tier: str(ratios[tier]) for tier in TIERS}
