"""Schemas for results, corrections and their public view."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from inspect_core.pagination import PageArgsSchema, page_schema
from inspect_core.plugin_api import SEVERITIES
from inspect_core.results.models import RESULT_CODES
from inspect_core.validators import CleanString, RowId, USCCField, validate_sector_filter

#: conclusions for which nothing could be inspected, so no payload is judged
NOT_INSPECTED = ("unreachable", "no_activity", "closed", "uncooperative")


class FindingInSchema(Schema):
    description = CleanString(required=True, validate=validate.Length(max=2000))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    code = CleanString(load_default=None, allow_blank=True, validate=validate.Length(max=60))


class AttachmentInSchema(Schema):
    filename = CleanString(required=True, validate=validate.Length(max=200))
    content_type = fields.String(required=True, validate=validate.Length(max=80))
    content_base64 = fields.String(required=True)


class ResultInSchema(Schema):
    sector = fields.String(required=True, validate=validate.Length(max=40))
    inspected_on = fields.Date(
        load_default=None,
        metadata={
            "description": "the inspection day (China time; default today): not in the "
            "future, nor before the plan was created, the task was drawn or the enterprise "
            "was established. Date-dependent sector rules judge on it; a payload date that "
            "contradicts it is refused"
        },
    )
    payload = fields.Dict(load_default=None, allow_none=True)
    findings = fields.List(
        fields.Nested(FindingInSchema), load_default=list, validate=validate.Length(max=200)
    )
    conclusion_code = fields.String(
        required=True,
        validate=validate.OneOf(list(RESULT_CODES)),
        metadata={
            "description": "; ".join(f"{k}: {zh} / {en}" for k, (zh, en) in RESULT_CODES.items())
            + f". {', '.join(NOT_INSPECTED)} say nothing was inspected: they take no payload "
            "(one is a 422 naming conclusion_code); every other code requires one"
        },
    )
    attachments = fields.List(
        fields.Nested(AttachmentInSchema), load_default=list, validate=validate.Length(max=10)
    )

    @validates_schema
    def _payload_needed(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("conclusion_code") not in NOT_INSPECTED and data.get("payload") is None:
            raise ValidationError(
                "required unless the conclusion says nothing was inspected", "payload"
            )


class CorrectionInSchema(ResultInSchema):
    inspected_on = fields.Date(
        load_default=None,
        metadata={
            "description": "the inspection day (China time; default the corrected version's, "
            "which a correction does not move): not in the future, nor before the plan was "
            "created, the task was drawn or the enterprise was established. Date-dependent "
            "sector rules judge on it, and it decides the year whose KPIs count the result; a "
            "payload date that contradicts it is refused"
        },
    )
    reason = CleanString(required=True, validate=validate.Length(min=4, max=2000))


class AttachmentOutSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class VersionSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    recorded_at = fields.DateTime()
    recorded_by = fields.String()
    correction_reason = fields.String(allow_none=True)
    conclusion_code = fields.String()
    passed = fields.Boolean(allow_none=True)


class ResultSchema(Schema):
    id = fields.Integer()
    chain = fields.String()
    version = fields.Integer()
    supersedes_id = fields.Integer(allow_none=True)
    task_id = fields.Integer()
    plan_id = fields.Integer()
    uscc = fields.Function(lambda r: r.enterprise.uscc)
    enterprise_name = fields.Function(lambda r: r.enterprise.name)
    sector = fields.String()
    inspected_on = fields.Date()
    payload = fields.Dict(allow_none=True)
    judgement = fields.Dict()
    passed = fields.Boolean(allow_none=True)
    findings = fields.List(fields.Dict())
    worst_severity = fields.String(allow_none=True)
    conclusion_code = fields.String()
    conclusion_zh = fields.Function(lambda r: RESULT_CODES[r.conclusion_code][0])
    conclusion_en = fields.Function(lambda r: RESULT_CODES[r.conclusion_code][1])
    plugin = fields.String(allow_none=True)
    plugin_version = fields.String(allow_none=True)
    recorded_by = fields.String()
    recorded_at = fields.DateTime()
    correction_reason = fields.String(allow_none=True)
    disclosure_due = fields.Date()
    disclosure_basis = fields.String()
    #: the bulk upload this row came from (``GET /imports/{id}``); null if recorded alone
    import_id = fields.Integer(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentOutSchema))


class ResultWithChainSchema(ResultSchema):
    current = fields.Boolean()
    versions = fields.List(fields.Nested(VersionSchema))
    disclosed_at = fields.DateTime(allow_none=True)


class ResultListArgsSchema(PageArgsSchema):
    plan = RowId()
    uscc = USCCField()
    sector = fields.String(validate=[validate.Length(max=40), validate_sector_filter])
    passed = fields.Boolean()


class PublicResultSchema(Schema):
    """What the public sees (一公开): no payload details, no inspector names."""

    id = fields.Integer()
    uscc = fields.String()
    enterprise_name = fields.String()
    plan_id = fields.Integer()
    plan_title = fields.String()
    issuing_unit = fields.String()
    sector = fields.String()
    sector_zh = fields.String()
    sector_en = fields.String()
    inspected_on = fields.Date()
    conclusion_code = fields.String()
    conclusion_zh = fields.String()
    conclusion_en = fields.String()
    passed = fields.Boolean(allow_none=True)
    corrected = fields.Boolean(metadata={"description": "a later version corrected this result"})
    disclosed_at = fields.DateTime()


class PublicResultArgsSchema(PageArgsSchema):
    uscc = USCCField()
    plan = RowId()
    sector = fields.String(validate=[validate.Length(max=40), validate_sector_filter])
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("'from' is after 'to'", "from")


ResultPageSchema = page_schema(ResultSchema, "ResultPage")
PublicResultPageSchema = page_schema(PublicResultSchema, "PublicResultPage")
