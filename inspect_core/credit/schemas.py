"""Schemas for credit events, repairs, ratings and the ranked list."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from inspect_core.credit.models import CREDIT_EVENT_TYPES, EVENT_SEVERITIES, SEVERITY_NAMES
from inspect_core.enterprises.models import STATUSES
from inspect_core.enterprises.schemas import search_field
from inspect_core.pagination import PageArgsSchema, page_schema
from inspect_core.validators import CleanString, RowId, validate_sector_filter


class CreditEventInSchema(Schema):
    type = fields.String(
        required=True,
        validate=validate.OneOf(list(CREDIT_EVENT_TYPES)),
        metadata={
            "description": "; ".join(f"{k}: {v[0]} / {v[1]}" for k, v in CREDIT_EVENT_TYPES.items())
        },
    )
    occurred_on = fields.Date(required=True)
    severity = fields.String(
        required=True,
        validate=validate.OneOf(EVENT_SEVERITIES),
        metadata={
            "description": "positive for certifications and awards; for a penalty, minor is "
            "通报批评 or a low fine (public 3 months), critical a heavier penalty (closure, "
            "licence revoked, practice ban)"
        },
    )
    source = CleanString(
        required=True,
        validate=validate.Length(max=200),
        metadata={"example": "九龙市监处罚〔2026〕12号"},
    )
    description = CleanString(load_default="", allow_blank=True, validate=validate.Length(max=5000))
    expires_on = fields.Date(
        load_default=None,
        metadata={
            "description": "default by type and severity (CREDIT_EVENT_DAYS) when omitted; "
            "at most CREDIT_EXPIRY_MAX_DAYS (default 3653, ten years) after occurred_on, and "
            "not before the first day a credit repair may end the event "
            "(CREDIT_REPAIR_MIN_DAYS; its default expiry, if sooner), nor, where "
            "CREDIT_REPAIR_REFUSED allows none, before its default expiry (ending it early is "
            "a repair, with its reason recorded)"
        },
    )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        positive = (
            CREDIT_EVENT_TYPES[data["type"]][2] < 0
            if data.get("type") in CREDIT_EVENT_TYPES
            else None
        )
        if positive is True and data.get("severity") != "positive":
            raise ValidationError(
                "a positive event (certification, award) has severity 'positive'", "severity"
            )
        if positive is False and data.get("severity") == "positive":
            raise ValidationError("a negative event needs critical, major or minor", "severity")
        if (
            data.get("expires_on")
            and data.get("occurred_on")
            and data["expires_on"] <= data["occurred_on"]
        ):
            raise ValidationError("must be after occurred_on", "expires_on")


class RepairInSchema(Schema):
    reason = CleanString(required=True, validate=validate.Length(min=4, max=2000))
    effective_on = fields.Date(load_default=None, metadata={"description": "default: today"})


class WithdrawalInSchema(Schema):
    reason = CleanString(
        required=True,
        validate=validate.Length(min=4, max=2000),
        metadata={
            "description": "why the event is void: entered in error, or the decision annulled "
            "(name the review decision, e.g. 行政复议决定书 number)",
            "example": "录入错误：处罚决定书载明为一般程序轻微违法，误录为较重",
        },
    )
    replacement = fields.Nested(
        CreditEventInSchema,
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the corrected event, recorded in its place under the same rules "
            "as a new one (it may repeat the withdrawn event's type, day and source); "
            "omitted: the event is withdrawn with nothing in its place.  A repair of the "
            "withdrawn event does not carry over"
        },
    )


class CreditEventSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    type_zh = fields.Function(
        lambda e: (
            CREDIT_EVENT_TYPES[e["type"]][0]
            if isinstance(e, dict)
            else CREDIT_EVENT_TYPES[e.type][0]
        )
    )
    type_en = fields.Function(
        lambda e: (
            CREDIT_EVENT_TYPES[e["type"]][1]
            if isinstance(e, dict)
            else CREDIT_EVENT_TYPES[e.type][1]
        )
    )
    occurred_on = fields.Date()
    severity = fields.String()
    severity_zh = fields.Function(lambda e: SEVERITY_NAMES[e["severity"]][0])
    severity_en = fields.Function(lambda e: SEVERITY_NAMES[e["severity"]][1])
    source = fields.String()
    description = fields.String()
    expires_on = fields.Date(allow_none=True)
    repairable_from = fields.Date(
        allow_none=True,
        metadata={
            "description": "first day a credit repair may take effect; null once repaired, "
            "where the rules allow no early repair (CREDIT_REPAIR_REFUSED), or where the "
            "event expires before the wait (CREDIT_REPAIR_MIN_DAYS) is over"
        },
    )
    repaired_on = fields.Date(allow_none=True)
    repair_reason = fields.String(allow_none=True)
    withdrawn_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when it was withdrawn (更正/撤销): void from the start, it "
                                 "never counts; null: not withdrawn"},
    )  # fmt: skip
    withdrawal_reason = fields.String(allow_none=True)
    replaced_by = fields.Integer(
        allow_none=True, metadata={"description": "the id of the event recorded in its place"}
    )
    active = fields.Boolean()
    recorded_by = fields.String()
    recorded_at = fields.DateTime()


class CreditEventOneSchema(CreditEventSchema):
    uscc = fields.String(metadata={"description": "the enterprise it belongs to"})


class CreditEventListSchema(Schema):
    items = fields.List(fields.Nested(CreditEventSchema))


class WithdrawalSchema(Schema):
    withdrawn = fields.Nested(CreditEventSchema)
    replacement = fields.Nested(CreditEventSchema, allow_none=True)


class ReasonSchema(Schema):
    code = fields.String()
    feature = fields.String()
    points = fields.Float(allow_none=True)
    text_zh = fields.String()
    text_en = fields.String()


class RankedItemSchema(Schema):
    uscc = fields.String()
    name = fields.String()
    region = fields.String()
    sectors = fields.List(fields.String())
    score = fields.Float()
    probability = fields.Float(allow_none=True)
    tier = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))
    run_id = fields.Integer()


class RankedArgsSchema(PageArgsSchema):
    order = fields.String(validate=validate.OneOf(("risk",)))
    sector = fields.String(validate=[validate.Length(max=40), validate_sector_filter])
    region = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(STATUSES))
    q = search_field()
    tier = fields.String(validate=validate.OneOf(("A", "B", "C", "D")))
    run = RowId(
        metadata={"description": "a scoring run id; default the current run (newest as_of)"}
    )


class RatingHistorySchema(Schema):
    run_id = fields.Integer()
    as_of = fields.Date()
    score = fields.Float()
    probability = fields.Float(allow_none=True)
    tier = fields.String()


class SectorFactorSchema(Schema):
    name = fields.String()
    value = fields.Float()
    text_zh = fields.String()
    text_en = fields.String()


class SectorFactorsSchema(Schema):
    sector = fields.String()
    plugin = fields.String()
    factors = fields.List(fields.Nested(SectorFactorSchema))
    error = fields.String(allow_none=True, metadata={"description": "the plugin failed"})
    error_zh = fields.String(allow_none=True)


class CreditSchema(Schema):
    uscc = fields.String()
    name = fields.String()
    current = fields.Nested(RankedItemSchema, allow_none=True)
    history = fields.List(fields.Nested(RatingHistorySchema))
    events = fields.List(fields.Nested(CreditEventSchema))
    sector_factors = fields.List(
        fields.Nested(SectorFactorsSchema),
        metadata={"description": "each sector plugin's risk factors from the stored results, "
                  "as of today (the models use the judgements' facts instead)"},
    )  # fmt: skip


RankedPageSchema = page_schema(RankedItemSchema, "RankedPage")
