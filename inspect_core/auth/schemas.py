"""Login and identity payloads."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})


class MeSchema(Schema):
    username = fields.String()
    role = fields.String()
    inspector_badge = fields.String(allow_none=True)
    regions = fields.List(fields.String())
