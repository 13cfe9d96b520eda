"""Payload schema and on-site checklist of the special-equipment (特种设备) sector.

A payload is the enterprise's equipment register as found on the inspection day (the
result's ``inspected_on``; a payload ``inspected_on`` may only repeat it): one entry per
unit with its category code (1000 boilers … 9000 passenger ropeways), sub-type where the
interval rules differ (cranes, cylinders), commissioning and registration,
last inspections, safety grade (pressure vessels and piping), maintenance
visits and operators' certificates.
"""

from __future__ import annotations

from typing import Any

from inspect_core.plugin_api import (
    RAISE,
    ChecklistItem,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from .rules import CATEGORIES, EXTRA_KINDS, GRADED_CATEGORIES, sub_types_for


class OperatorSchema(Schema):
    """An operator (作业人员) and the expiry of their certificate."""

    class Meta:
        unknown = RAISE

    certificate_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(max=64))
    expires_on = fields.Date(required=True)


class EquipmentSchema(Schema):
    """One unit of the register.

    ``registration_code`` is the use-registration certificate number, or the
    equipment code (设备代码) of a unit not yet registered.
    ``last_periodic_inspection`` is the last periodic inspection (定期检验; for a
    boiler its internal inspection), not the installation supervision inspection.
    ``last_inspections`` dates other kinds (a boiler's ``external`` inspection).
    """

    class Meta:
        unknown = RAISE

    registration_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True, validate=validate.OneOf(tuple(CATEGORIES)))
    sub_type = fields.String(validate=validate.Length(min=1, max=64))
    commissioning_date = fields.Date(required=True)
    registered = fields.Boolean(required=True)
    registration_date = fields.Date(allow_none=True)
    last_periodic_inspection = fields.Date(allow_none=True)
    last_inspections = fields.Dict(
        keys=fields.String(validate=validate.OneOf(EXTRA_KINDS)), values=fields.Date()
    )
    safety_grade = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    maintenance_records = fields.List(fields.Date(), load_default=list)
    operators = fields.List(fields.Nested(OperatorSchema), load_default=list)

    @pre_load
    def _category_as_text(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("category"), int):
            data = {**data, "category": str(data["category"])}
        return data

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        category = data.get("category")
        sub_type = data.get("sub_type")
        allowed = sub_types_for(category) if category else ()
        if sub_type is not None and allowed and sub_type not in allowed:
            errors["sub_type"] = [f"Must be one of: {', '.join(allowed)}."]
        if data.get("registration_date") is not None and data.get("registered") is False:
            errors["registration_date"] = ["Given for a unit marked as not registered."]
        if data.get("safety_grade") is not None and category not in GRADED_CATEGORIES:
            errors["safety_grade"] = [
                f"Only for categories {', '.join(sorted(GRADED_CATEGORIES))}."
            ]
        commissioning = data.get("commissioning_date")
        last = data.get("last_periodic_inspection")
        if commissioning and last and last < commissioning:
            errors["last_periodic_inspection"] = ["Before the commissioning date."]
        if errors:
            raise ValidationError(errors)


class RegisterSchema(Schema):
    """A special-equipment result payload: the register on the inspection day."""

    class Meta:
        unknown = RAISE

    inspected_on = fields.Date()
    equipment = fields.List(
        fields.Nested(EquipmentSchema), required=True, validate=validate.Length(min=1)
    )

    @validates_schema
    def _unique_codes(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[str] = set()
        errors: dict[int, dict[str, list[str]]] = {}
        for i, unit in enumerate(data.get("equipment") or ()):
            code = unit.get("registration_code")
            if code in seen:
                errors[i] = {"registration_code": [f"Duplicate registration code {code}."]}
            seen.add(code)
        if errors:
            raise ValidationError({"equipment": errors})


#: On-site checklist; ``key`` marks the 重点项.
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "SE-01",
        "特种设备均已办理使用登记，登记证与设备一致",
        "Every unit has use registration matching the unit",
        key=True,
    ),
    ChecklistItem(
        "SE-02",
        "定期检验在有效期内，检验合格标志置于显著位置",
        "Periodic inspection current; inspection mark displayed",
        key=True,
    ),
    ChecklistItem(
        "SE-03",
        "检验有效期届满前1个月提出定期检验要求",
        "Periodic inspection requested a month before expiry",
    ),
    ChecklistItem(
        "SE-04",
        "不使用超期未检、检验不合格或已报废的设备",
        "No unit used overdue, after a failed inspection or when scrapped",
        key=True,
    ),
    ChecklistItem(
        "SE-05",
        "设备安全技术档案齐全（合格证、监检证书、检验报告）",
        "Safety technical files complete (certificates, inspection reports)",
    ),
    ChecklistItem(
        "SE-06",
        "设置安全管理机构或配备安全管理人员",
        "Safety management body or safety manager in place",
        key=True,
    ),
    ChecklistItem("SE-07", "作业人员持有效证件上岗", "Operators hold valid certificates", key=True),
    ChecklistItem(
        "SE-08",
        "电梯维保单位具备资质，维保间隔不超过15日",
        "Elevator maintained by a licensed contractor at most every 15 days",
        key=True,
    ),
    ChecklistItem(
        "SE-09",
        "非定期检验年度电梯按规定进行自行检测",
        "Elevators self-tested in the years without periodic inspection",
    ),
    ChecklistItem(
        "SE-10",
        "经常性维护保养和定期自行检查有记录",
        "Routine maintenance and periodic self-checks recorded",
    ),
    ChecklistItem(
        "SE-11",
        "安全附件、安全保护装置、测量调控装置校验有效",
        "Safety accessories, protective and measuring devices calibrated",
    ),
    ChecklistItem(
        "SE-12",
        "制定特种设备事故应急专项预案并定期演练",
        "Special-equipment emergency plan in place and drilled",
    ),
    ChecklistItem(
        "SE-13",
        "电梯轿厢内张贴使用标志、应急救援电话",
        "Elevator car shows the use mark and emergency phone number",
    ),
    ChecklistItem(
        "SE-14",
        "压力容器安全状况等级为5级的已停用或维修",
        "Pressure vessels of safety grade 5 stopped or repaired",
        key=True,
    ),
    ChecklistItem(
        "SE-15", "隐患排查治理与安全风险管控记录", "Hazard checks and risk-control records kept"
    ),
)
