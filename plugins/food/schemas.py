"""Payload schema of a food sampling result, and the food on-site checklist.

The schema checks shape and types (unknown keys rejected, Decimals not floats, no negative
amounts, qualifier/value consistency) and names the offending field; whether an analyte,
unit or category is *known* is the rules' business (``rules.judge_sample``), because a
district's configuration can extend the tables.
"""

from __future__ import annotations

from typing import Any

from inspect_core.plugin_api import (
    RAISE,
    ChecklistItem,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

STAGES: dict[str, tuple[str, str]] = {
    "production": ("生产环节", "Production"),
    "circulation": ("流通环节", "Distribution"),
    "catering": ("餐饮环节", "Catering"),
}
QUALIFIERS = ("<", "ND")

_NON_NEGATIVE = validate.Range(min=0)


def _decimal(**kwargs: Any) -> fields.Decimal:
    """A non-negative Decimal rendered as a string, so no digit is lost to floats."""
    return fields.Decimal(as_string=True, validate=_NON_NEGATIVE, **kwargs)


class ItemSchema(Schema):
    """One test item (检验项目) of a sample."""

    class Meta:
        unknown = RAISE

    item = fields.String(required=True, validate=validate.Length(min=1, max=64))
    value = _decimal(allow_none=True, load_default=None)
    qualifier = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(QUALIFIERS)
    )
    unit = fields.String(required=True, validate=validate.Length(min=1, max=16))
    lod = _decimal(allow_none=True, load_default=None)
    loq = _decimal(allow_none=True, load_default=None)
    method = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=128))
    standard = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=128))

    @validates_schema
    def _qualifier_matches_value(self, data: dict[str, Any], **_: Any) -> None:
        """ND carries no value but needs the LOD; a number or '<X' needs the number."""
        if data.get("qualifier") == "ND":
            if data.get("value") is not None:
                raise ValidationError("must be null when qualifier is 'ND'", "value")
            if data.get("lod") is None:
                raise ValidationError("required when qualifier is 'ND'", "lod")
        elif data.get("value") is None:
            raise ValidationError("required unless qualifier is 'ND'", "value")


class BusinessRiskSchema(Schema):
    """Risk-grading scores recorded on site (CFDA 2016 试行: static ≤40, dynamic ≤60)."""

    class Meta:
        unknown = RAISE

    static_score = fields.Decimal(as_string=True, required=True, validate=validate.Range(0, 40))
    dynamic_score = fields.Decimal(as_string=True, required=True, validate=validate.Range(0, 60))


class FoodResultSchema(Schema):
    """A food sampling result: sample information and its test items."""

    class Meta:
        unknown = RAISE

    sample_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    food_name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    food_category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    batch = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    sampling_date = fields.Date(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(tuple(STAGES)))
    items = fields.List(
        fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1, max=500)
    )
    business_risk = fields.Nested(BusinessRiskSchema, allow_none=True, load_default=None)


#: 食品生产经营日常监督检查要点 (原国家食品药品监督管理总局 2016, 与《食品生产经营日常监督
#: 检查管理办法》配套) — lines condensed from the production (FP), sales (FS) and catering (FC)
#: tables; ``key=True`` marks 重点项.  Numbering is this plugin's own; the selection of key
#: items follows the 2016 tables from memory [M].
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "FP-1",
        "食品生产许可证合法有效，产品在许可范围内",
        "Food production licence valid; products within its scope",
        True,
    ),
    ChecklistItem(
        "FP-2",
        "厂区、车间环境整洁，与有毒有害场所保持规定距离",
        "Premises clean and at the required distance from sources of contamination",
    ),
    ChecklistItem(
        "FP-3",
        "生产设备设施（防护、清洗消毒、温控）正常运行并维护",
        "Production equipment (protection, cleaning/disinfection, temperature control) "
        "working and maintained",
    ),
    ChecklistItem(
        "FP-4",
        "查验原辅料供货者许可证和产品合格证明，记录完整",
        "Suppliers' licences and certificates of raw materials checked and recorded",
        True,
    ),
    ChecklistItem(
        "FP-5",
        "未使用非食品原料、回收食品、超过保质期原料或非食用物质",
        "No non-food raw materials, recycled food, expired materials or non-food substances",
        True,
    ),
    ChecklistItem(
        "FP-6",
        "按 GB 2760 使用食品添加剂，无超范围、超限量使用",
        "Food additives used within the scope and levels of GB 2760",
        True,
    ),
    ChecklistItem(
        "FP-7",
        "关键控制点（投料、温度、时间）有记录",
        "Critical control points (dosing, temperature, time) recorded",
    ),
    ChecklistItem(
        "FP-8",
        "出厂产品按规定逐批检验并保存检验记录",
        "Each batch tested before release and test records kept",
        True,
    ),
    ChecklistItem(
        "FP-9",
        "不合格品按规定处置，召回制度建立并执行",
        "Non-conforming products handled; recall procedure in place and followed",
        True,
    ),
    ChecklistItem(
        "FP-10",
        "贮存、运输条件符合要求，出入库记录完整",
        "Storage and transport conditions met; stock records complete",
    ),
    ChecklistItem(
        "FP-11",
        "制定食品安全事故处置方案",
        "Food safety incident response plan in place",
    ),
    ChecklistItem(
        "FS-1",
        "食品经营许可证（或备案）合法有效，经营项目相符",
        "Food business licence (or filing) valid and matching the business",
        True,
    ),
    ChecklistItem(
        "FS-2",
        "进货查验记录及票据齐全，可追溯",
        "Purchase inspection records and invoices complete and traceable",
        True,
    ),
    ChecklistItem(
        "FS-3",
        "无超过保质期、腐败变质或标签不符合规定的食品",
        "No expired, spoiled or wrongly labelled food on sale",
        True,
    ),
    ChecklistItem(
        "FS-4",
        "冷藏冷冻食品贮存温度符合标签标示要求",
        "Chilled and frozen food kept at the labelled temperature",
    ),
    ChecklistItem(
        "FS-5",
        "预包装食品标签标注名称、生产日期、保质期、生产者等",
        "Prepackaged labels show name, production date, shelf life and producer",
    ),
    ChecklistItem(
        "FC-1",
        "从业人员持有效健康证明，落实晨检",
        "Food handlers hold valid health certificates; daily health check done",
        True,
    ),
    ChecklistItem(
        "FC-2",
        "餐饮具按规定清洗消毒并保洁存放",
        "Tableware cleaned, disinfected and stored clean",
        True,
    ),
    ChecklistItem(
        "FC-3",
        "加工流程布局合理，生熟分开",
        "Processing layout sound; raw and cooked food kept apart",
    ),
    ChecklistItem(
        "FC-4",
        "未使用罂粟壳等非食用物质，未超范围超限量使用添加剂",
        "No poppy husk or other non-food substances; additives within limits",
        True,
    ),
    ChecklistItem(
        "FC-5",
        "集体用餐配送单位、学校食堂等按规定留样（≥125 g，冷藏 ≥48 h）",
        "Meal samples kept where required (≥125 g, chilled ≥48 h)",
        True,
    ),
    ChecklistItem(
        "FC-6",
        "建立并落实食品安全管理制度，配备食品安全管理人员",
        "Food safety management system and a food safety manager in place",
    ),
)


class ChecklistItemSchema(Schema):
    """Dump schema of one checklist line (code, bilingual text, key-item flag)."""

    class Meta:
        unknown = RAISE

    code = fields.String(required=True)
    text_zh = fields.String(required=True)
    text_en = fields.String(required=True)
    key = fields.Boolean(required=True)
