"""Load and dump schemas for the enterprise registry (separate, against mass assignment)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema

from inspect_core.enterprises.models import STATUSES
from inspect_core.pagination import PageArgsSchema, page_schema
from inspect_core.validators import (
    CleanString,
    RowId,
    USCCField,
    validate_region,
    validate_sector_filter,
    validate_sectors,
)

#: the earliest establishment date taken: older is a typo (0202 for 2020), which would
#: make the enterprise's age, a scoring feature, some 1,800 years
EARLIEST_ESTABLISHED = dt.date(1900, 1, 1)


def validate_established(day: dt.date | None) -> None:
    """An establishment date lies between :data:`EARLIEST_ESTABLISHED` and today (China)."""
    from inspect_core.results.service import today_in_china

    if day is None:
        return
    if day < EARLIEST_ESTABLISHED:
        raise ValidationError(f"before {EARLIEST_ESTABLISHED}")
    today = today_in_china()
    if day > today:
        raise ValidationError(f"after today ({today})")


def validate_licence_expiry(day: dt.date | None) -> None:
    """A licence expires between :data:`EARLIEST_ESTABLISHED` and ``LICENCE_MAX_DAYS_AHEAD``
    days from today (China): it may have expired long ago, or run for years yet, but an
    expiry in the year 1 or 9999 is no office's (a typo, or a placeholder for "none",
    which is ``null``), and would sort first or last in every expiry list."""
    from inspect_core.results.service import today_in_china

    if day is None:
        return
    if day < EARLIEST_ESTABLISHED:
        raise ValidationError(f"before {EARLIEST_ESTABLISHED}")
    ahead = int(current_app.config["LICENCE_MAX_DAYS_AHEAD"])
    latest = today_in_china() + dt.timedelta(days=ahead)
    if day > latest:
        raise ValidationError(f"after {latest} (LICENCE_MAX_DAYS_AHEAD days from today)")


def licence_errors(licences: list[dict[str, Any]], established: dt.date | None) -> dict[str, Any]:
    """Field errors for each licence expiring before the enterprise was established
    (``{"licences": {"0": {"expires_on": [why]}}}``): none may."""
    if established is None:
        return {}
    bad = {
        str(n): {"expires_on": [f"before the enterprise was established ({established})"]}
        for n, licence in enumerate(licences)
        if licence.get("expires_on") is not None and licence["expires_on"] < established
    }
    return {"licences": bad} if bad else {}


class LicenceSchema(Schema):
    kind = CleanString(required=True, validate=validate.Length(max=60))
    number = CleanString(required=True, validate=validate.Length(max=60))
    expires_on = fields.Date(
        load_default=None,
        validate=validate_licence_expiry,
        metadata={
            "description": "null when it has none; else from 1900-01-01 to "
            "LICENCE_MAX_DAYS_AHEAD days from today, and not before established_on"
        },
    )

    @pre_dump
    def _stored(self, licence: dict[str, Any], **_: Any) -> dict[str, Any]:
        """A licence as stored: the JSON column holds its expiry as ISO text, which the
        Date field does not dump (a 500, after the row was committed)."""
        day = licence.get("expires_on")
        if isinstance(day, str):
            return {**licence, "expires_on": dt.date.fromisoformat(day)}
        return licence


class EnterpriseCreateSchema(Schema):
    uscc = USCCField(required=True, metadata={"example": "91110000600037341L"})
    name = CleanString(required=True, validate=validate.Length(max=200))
    sectors = fields.List(
        fields.String(validate=validate.Length(max=40)),
        required=True,
        validate=validate_sectors,
        metadata={"example": ["food"]},
    )
    region = CleanString(required=True, validate=[validate.Length(max=64), validate_region])
    address = CleanString(load_default="", allow_blank=True, validate=validate.Length(max=300))
    status = fields.String(load_default="active", validate=validate.OneOf(STATUSES))
    established_on = fields.Date(load_default=None, validate=validate_established)
    licences = fields.List(fields.Nested(LicenceSchema), load_default=list)

    @validates_schema
    def _licences_after_establishment(self, data: dict[str, Any], **_: Any) -> None:
        if errors := licence_errors(data.get("licences", []), data.get("established_on")):
            raise ValidationError(errors)


class EnterprisePatchSchema(Schema):
    """Every field but the USCC may change; the USCC is the identity."""

    name = CleanString(validate=validate.Length(max=200))
    sectors = fields.List(
        fields.String(validate=validate.Length(max=40)), validate=validate_sectors
    )
    region = CleanString(validate=[validate.Length(max=64), validate_region])
    address = CleanString(allow_blank=True, validate=validate.Length(max=300))
    status = fields.String(validate=validate.OneOf(STATUSES))
    established_on = fields.Date(allow_none=True, validate=validate_established)
    licences = fields.List(fields.Nested(LicenceSchema))


class EnterpriseSchema(Schema):
    uscc = fields.String()
    name = fields.String()
    sectors = fields.List(fields.String())
    region = fields.String()
    address = fields.String()
    status = fields.String()
    established_on = fields.Date(allow_none=True)
    licences = fields.List(fields.Nested(LicenceSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    # with order=risk: the rating in the scoring run being paged
    score = fields.Float(metadata={"description": "credit score (higher = lower risk)"})
    probability = fields.Float(
        allow_none=True, metadata={"description": "P(critical/major finding)"}
    )
    tier = fields.String(metadata={"description": "A (low risk) … D (high risk)"})
    reasons = fields.List(fields.Dict(), metadata={"description": "top reasons, zh-CN and English"})
    run_id = fields.Integer()


def search_field() -> fields.String:
    """``q`` of the enterprise lists, plain and risk-ranked: one definition, so both
    take and describe it alike (``service.filters`` applies it to both)."""
    return fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "part of the name (letters, digits and brackets full- or "
            "half-width alike; Latin letters in any case) or the start of the USCC"
        },
    )


class EnterpriseListArgsSchema(PageArgsSchema):
    sector = fields.String(validate=[validate.Length(max=40), validate_sector_filter])
    region = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(STATUSES))
    q = search_field()
    order = fields.String(
        validate=validate.OneOf(("risk",)),
        metadata={"description": "risk: riskiest first, from one fixed scoring run"},
    )
    tier = fields.String(
        validate=validate.OneOf(("A", "B", "C", "D")), metadata={"description": "with order=risk"}
    )
    run = RowId(
        metadata={"description": "with order=risk: a scoring run (default the current one)"}
    )


EnterprisePageSchema = page_schema(EnterpriseSchema, "EnterprisePage")
