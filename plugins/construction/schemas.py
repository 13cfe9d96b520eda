"""Payload schema of a construction-quality result, and the construction checklist.

A result carries one or more of ``acceptance_tree`` (GB 50300-2013), ``concrete_batches``
(GB/T 50107-2010), ``completion`` (竣工验收 dates and conditions) and ``problems``
(质量常见问题).  The schema checks shape and types and names the offending field; the
standards' logic (which node levels nest, how many groups a method needs) is in
:mod:`plugins.construction.rules`, which raises ``RuleInputError`` naming the field.
"""

from __future__ import annotations

from typing import Any

from inspect_core.plugin_api import (
    RAISE,
    SEVERITIES,
    ChecklistItem,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from .rules import LEVEL_FIELDS, LEVELS, METHODS, default_thresholds

_THRESHOLDS = default_thresholds()
PROBLEM_TYPES = tuple(t["code"] for t in _THRESHOLDS["problem_types"])
CONDITIONS = tuple(_THRESHOLDS["completion"]["conditions"])
_POSITIVE = validate.Range(min=0, min_inclusive=False)


class MainControlItemSchema(Schema):
    """A main-control item (主控项目) of an inspection lot."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    passed = fields.Boolean(required=True)


class GeneralItemSchema(Schema):
    """A general item (一般项目) checked by count sampling."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    sampled = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    compliant = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    #: above 0: a minimum of 0 passes an item whose every point failed
    min_rate = fields.Decimal(
        as_string=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(0, 1, min_inclusive=False),
    )

    @validates_schema
    def _compliant_within_sampled(self, data: dict[str, Any], **_: Any) -> None:
        if data["compliant"] > data["sampled"]:
            raise ValidationError("cannot exceed sampled", "compliant")


class AcceptanceNodeSchema(Schema):
    """A node of the GB 50300 tree: unit → division → (subdivision) → subitem → lot."""

    class Meta:
        unknown = RAISE

    level = fields.String(required=True, validate=validate.OneOf(tuple(LEVELS)))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    code = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    children = fields.List(fields.Nested(lambda: AcceptanceNodeSchema()), load_default=list)
    main_control = fields.List(fields.Nested(MainControlItemSchema), load_default=None)
    general_items = fields.List(fields.Nested(GeneralItemSchema), load_default=None)
    severe_defect = fields.Boolean(load_default=None)
    records_complete = fields.Boolean(load_default=None)
    documents_complete = fields.Boolean(load_default=None)
    safety_function_tests_passed = fields.Boolean(load_default=None)
    safety_function_records_complete = fields.Boolean(load_default=None)
    main_function_checks_passed = fields.Boolean(load_default=None)
    appearance_accepted = fields.Boolean(load_default=None)
    unsafe_after_repair = fields.Boolean(load_default=None)

    @validates_schema
    def _level_fields(self, data: dict[str, Any], **_: Any) -> None:
        """Each level must record the facts its GB 50300 clause asks for."""
        level = data["level"]
        errors: dict[str, list[str]] = {}
        for name in LEVEL_FIELDS[level]:
            if data.get(name) is None:
                errors[name] = [f"required for level {level}"]
        if level == "lot" and not data.get("main_control"):
            errors["main_control"] = ["a lot needs at least one main-control item"]
        if level != "lot" and not data.get("children"):
            errors["children"] = [f"a {level} needs at least one child"]
        if level == "lot" and data.get("children"):
            errors["children"] = ["an inspection lot has no children"]
        if errors:
            raise ValidationError(errors)


class ConcreteBatchSchema(Schema):
    """Cube compressive strengths (N/mm²) of one acceptance batch."""

    class Meta:
        unknown = RAISE

    batch_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    grade = fields.String(required=True, validate=validate.Regexp(r"^[Cc]\d{1,3}(\.\d)?$"))
    method = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(tuple(METHODS))
    )
    values = fields.List(
        fields.Decimal(as_string=True, validate=_POSITIVE),
        required=True,
        validate=validate.Length(min=1, max=1000),
    )
    sigma0 = fields.Decimal(as_string=True, allow_none=True, load_default=None, validate=_POSITIVE)
    sigma0_history = fields.List(
        fields.Decimal(as_string=True, validate=_POSITIVE),
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=10000),
    )


ConditionsSchema: type[Schema] = type(
    "ConditionsSchema",
    (Schema,),
    {
        "__doc__": "Completion conditions (code → met?), built from thresholds.json.",
        "Meta": type("Meta", (), {"unknown": RAISE}),
        **{
            c["code"]: (
                fields.Boolean(required=True)
                if c["required"]
                else fields.Boolean(allow_none=True, load_default=None)
            )
            for c in CONDITIONS
        },
    },
)


class CompletionSchema(Schema):
    """Completion acceptance (竣工验收): dates and the conditions met."""

    class Meta:
        unknown = RAISE

    acceptance_date = fields.Date(required=True)
    notice_date = fields.Date(required=True)
    filing_date = fields.Date(allow_none=True, load_default=None)
    conditions = fields.Nested(ConditionsSchema, required=True)

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        filing = data.get("filing_date")
        if filing is not None and filing < data["acceptance_date"]:
            raise ValidationError("cannot precede acceptance_date", "filing_date")


class ProblemSchema(Schema):
    """A common quality problem (质量常见问题) found on site."""

    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(PROBLEM_TYPES))
    location = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=1000)
    )
    severity = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(SEVERITIES)
    )


class ConstructionResultSchema(Schema):
    """A construction-quality result: project identity and one or more judged parts."""

    class Meta:
        unknown = RAISE

    project_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    project_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    acceptance_tree = fields.Nested(AcceptanceNodeSchema, allow_none=True, load_default=None)
    concrete_batches = fields.List(
        fields.Nested(ConcreteBatchSchema), allow_none=True, load_default=None
    )
    completion = fields.Nested(CompletionSchema, allow_none=True, load_default=None)
    problems = fields.List(fields.Nested(ProblemSchema), allow_none=True, load_default=None)

    @validates_schema
    def _at_least_one_part(self, data: dict[str, Any], **_: Any) -> None:
        parts = ("acceptance_tree", "concrete_batches", "completion", "problems")
        if not any(data.get(p) for p in parts):
            raise ValidationError(f"at least one of {', '.join(parts)} is required", parts[0])


#: Construction on-site checklist: completion acceptance conditions (条例 art. 16, 建质
#: 〔2013〕171号), GB 50300 acceptance records, GB/T 50107 strength evaluation and the
#: common quality problems (DOMAIN.md §6).  ``key=True`` marks 重点项 (this plugin's choice:
#: items whose failure bars acceptance or endangers safety).
CHECKLIST: tuple[ChecklistItem, ...] = tuple(
    ChecklistItem(f"CC-{n}", c["name_zh"], c["name_en"], c["required"])
    for n, c in enumerate(CONDITIONS, start=1)
) + (
    ChecklistItem(
        "CA-1",
        "竣工验收前 7 个工作日书面通知质量监督机构（时间、地点、验收组名单）",
        "Supervision station notified in writing 7 working days before acceptance",
        True,
    ),
    ChecklistItem(
        "CA-2",
        "竣工验收合格之日起 15 日内办理备案",
        "Completion filed within 15 days of acceptance",
    ),
    ChecklistItem(
        "CA-3",
        "检验批主控项目全部合格，一般项目合格点率符合专业验收规范",
        "Inspection lots: main-control items all pass; general items meet the compliance rate",
        True,
    ),
    ChecklistItem(
        "CA-4",
        "分部工程安全、节能、环保和主要使用功能检验结果符合规定",
        "Division safety, energy, environmental and main-function tests pass",
        True,
    ),
    ChecklistItem(
        "CA-5",
        "混凝土强度按 GB/T 50107 评定合格，试件组数与评定方法相符",
        "Concrete strength accepted per GB/T 50107 with a method fitting the group count",
        True,
    ),
    ChecklistItem(
        "CA-6",
        "观感质量检查合格",
        "Appearance quality inspected and accepted",
    ),
    ChecklistItem(
        "CQ-1",
        "屋面、外墙门窗、卫生间无渗漏",
        "No leaks at roofs, external walls and windows, bathrooms",
    ),
    ChecklistItem(
        "CQ-2",
        "墙体、楼板、抹灰层无开裂",
        "No cracks in walls, slabs or plaster",
    ),
    ChecklistItem(
        "CQ-3",
        "抹灰、饰面砖、保温层无空鼓脱落",
        "No hollow or debonded plaster, tiles or insulation",
    ),
    ChecklistItem("CQ-4", "地面无起砂", "No dusting floors"),
    ChecklistItem("CQ-5", "给排水管道无渗漏、堵塞", "No pipe leaks or blockages"),
)


class ChecklistItemSchema(Schema):
    """Dump schema of one checklist line (code, bilingual text, key-item flag)."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True)
    text_zh = fields.String(required=True)
    text_en = fields.String(required=True)
    key = fields.Boolean(required=True)
