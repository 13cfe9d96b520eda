"""Load and dump schemas for inspectors and conflicts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from inspect_core.pagination import PageArgsSchema, page_schema
from inspect_core.validators import (
    CleanString,
    FullMatch,
    USCCField,
    validate_region,
    validate_sector_filter,
    validate_sectors,
)

BADGE = FullMatch(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$", error="1-32 letters, digits or '-'")


class InspectorCreateSchema(Schema):
    badge = fields.String(required=True, validate=BADGE, metadata={"example": "CQ-JLP-0001"})
    name = CleanString(required=True, validate=validate.Length(max=100))
    unit = CleanString(required=True, validate=validate.Length(max=200))
    region = CleanString(required=True, validate=[validate.Length(max=64), validate_region])
    qualifications = fields.List(fields.String(), required=True, validate=validate_sectors)
    active = fields.Boolean(load_default=True)


class InspectorPatchSchema(Schema):
    name = CleanString(validate=validate.Length(max=100))
    unit = CleanString(validate=validate.Length(max=200))
    region = CleanString(validate=[validate.Length(max=64), validate_region])
    qualifications = fields.List(fields.String(), validate=validate_sectors)
    active = fields.Boolean()


class InspectorSchema(Schema):
    badge = fields.String()
    name = fields.String()
    unit = fields.String()
    region = fields.String()
    qualifications = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class InspectorListArgsSchema(PageArgsSchema):
    region = fields.String(validate=validate.Length(max=64))
    qualification = fields.String(validate=[validate.Length(max=40), validate_sector_filter])
    active = fields.Boolean()
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "part of the name (Latin letters in any case) or the start of "
            "the badge (full-width letters and digits alike)"
        },
    )


class ConflictCreateSchema(Schema):
    uscc = USCCField(required=True)
    reason = CleanString(required=True, validate=validate.Length(min=2, max=500))


class ConflictSchema(Schema):
    uscc = fields.Function(lambda c: c.enterprise.uscc)
    enterprise_name = fields.Function(lambda c: c.enterprise.name)
    reason = fields.String()
    declared_at = fields.DateTime()


class ConflictListSchema(Schema):
    items = fields.List(fields.Nested(ConflictSchema))


InspectorPageSchema = page_schema(InspectorSchema, "InspectorPage")
