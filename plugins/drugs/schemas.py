"""Payload schema and on-site checklist of the drugs (药品) sector.

One payload is one result of one of three kinds (``inspection_type``):

- ``gmp`` — a GMP (or other 2021-measures) on-site inspection: ``defects`` with
  grade and subsystem, ``records_falsified``, ``qms_sound``;
- ``gsp`` — a GSP wholesale on-site inspection: ``defects`` (grade ``critical`` =
  \\*\\* item, ``major`` = \\* item, ``general``) and ``gsp_not_applicable`` counts;
- ``sampling`` — a sampling (抽检) report: ``sample`` with stage and test items.

Grades and verdicts also load from their Chinese names (严重/主要/一般,
符合/不符合) because inspectors type them that way.
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

from .rules import GRADES, STAGES, TEST_KINDS

GRADE_ALIASES: dict[str, str] = {
    "严重": "critical",
    "严重缺陷": "critical",
    "**": "critical",
    "主要": "major",
    "主要缺陷": "major",
    "*": "major",
    "一般": "general",
    "一般缺陷": "general",
    "minor": "general",
}
STAGE_ALIASES: dict[str, str] = {
    "生产": "production",
    "生产环节": "production",
    "流通": "circulation",
    "流通环节": "circulation",
    "经营": "circulation",
    "使用": "use",
    "使用环节": "use",
}
_NON_NEGATIVE = validate.Range(min=0)


def _alias(data: Any, key: str, aliases: dict[str, str]) -> Any:
    if isinstance(data, dict) and isinstance(data.get(key), str):
        value = data[key].strip()
        data = {**data, key: aliases.get(value, value)}
    return data


class DefectSchema(Schema):
    """One defect found on site."""

    class Meta:
        unknown = RAISE

    item_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    grade = fields.String(required=True, validate=validate.OneOf(GRADES))
    subsystem = fields.String(load_default="", validate=validate.Length(max=64))
    description = fields.String(load_default="", validate=validate.Length(max=500))

    @pre_load
    def _grade_alias(self, data: Any, **_: Any) -> Any:
        return _alias(data, "grade", GRADE_ALIASES)


class GspNotApplicableSchema(Schema):
    """Items not applicable (合理缺项) per class; they leave the percentage's denominator."""

    class Meta:
        unknown = RAISE

    critical = fields.Integer(load_default=0, strict=True, validate=_NON_NEGATIVE)
    major = fields.Integer(load_default=0, strict=True, validate=_NON_NEGATIVE)
    general = fields.Integer(load_default=0, strict=True, validate=_NON_NEGATIVE)


class TestItemSchema(Schema):
    """One test of a sampling report.

    - ``assay``: ``measured`` (% of label claim), optional ``lower``/``upper``
      (default from ``assay_ranges.csv`` by product and dosage form);
    - ``dissolution``: ``q`` and ``units`` (6 or 12 unit results, % of label claim);
    - ``related_substances``: ``measured`` and ``limit`` (a maximum);
    - ``identification``: ``passed``;
    - ``other``: ``name``, ``measured``, ``limit``, ``direction`` (max|min), ``unit``.
    """

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(TEST_KINDS))
    name = fields.String(validate=validate.Length(min=1, max=100))
    measured = fields.Decimal(as_string=True, validate=_NON_NEGATIVE)
    lower = fields.Decimal(as_string=True, validate=_NON_NEGATIVE)
    upper = fields.Decimal(as_string=True, validate=_NON_NEGATIVE)
    limit = fields.Decimal(as_string=True, validate=_NON_NEGATIVE)
    direction = fields.String(validate=validate.OneOf(("max", "min")))
    unit = fields.String(validate=validate.Length(max=20))
    q = fields.Decimal(as_string=True, validate=validate.Range(min=0, max=100))
    units = fields.List(
        fields.Decimal(as_string=True, validate=_NON_NEGATIVE),
        validate=validate.Length(min=6, max=12),
    )
    passed = fields.Boolean()

    _REQUIRED = {
        "assay": ("measured",),
        "dissolution": ("q", "units"),
        "related_substances": ("measured", "limit"),
        "identification": ("passed",),
        "other": ("name", "measured", "limit", "direction"),
    }

    @pre_load
    def _verdict_alias(self, data: Any, **_: Any) -> Any:
        return _alias(data, "passed", {"符合": "true", "不符合": "false"})

    @validates_schema
    def _fields_for_kind(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind")
        errors: dict[str, list[str]] = {}
        for name in self._REQUIRED.get(kind, ()):
            if data.get(name) is None:
                errors[name] = [f"Required for a test item of kind {kind}."]
        if kind == "assay" and ("lower" in data) != ("upper" in data):
            errors["upper" if "lower" in data else "lower"] = [
                "Give both ends of the labelled range, or neither."
            ]
        if (
            kind == "assay"
            and data.get("lower") is not None
            and data.get("upper") is not None
            and data["lower"] > data["upper"]
        ):
            errors["lower"] = ["Must not exceed upper."]
        if (
            kind == "dissolution"
            and data.get("units") is not None
            and len(data["units"])
            not in (
                6,
                12,
            )
        ):
            errors["units"] = ["ChP 0931 judges 6 units (stage 1) or 12 units (stage 2)."]
        if errors:
            raise ValidationError(errors)


class SampleSchema(Schema):
    """A sampled product and its test report."""

    class Meta:
        unknown = RAISE

    stage = fields.String(required=True, validate=validate.OneOf(tuple(STAGES)))
    product_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    batch_no = fields.String(validate=validate.Length(max=64))
    dosage_form = fields.String(validate=validate.Length(max=32))
    test_items = fields.List(
        fields.Nested(TestItemSchema), required=True, validate=validate.Length(min=1)
    )

    @pre_load
    def _stage_alias(self, data: Any, **_: Any) -> Any:
        return _alias(data, "stage", STAGE_ALIASES)


class DrugPayloadSchema(Schema):
    """A drugs-sector result payload (GMP inspection, GSP inspection or sampling)."""

    class Meta:
        unknown = RAISE

    inspection_type = fields.String(
        required=True, validate=validate.OneOf(("gmp", "gsp", "sampling"))
    )
    defects = fields.List(fields.Nested(DefectSchema), load_default=list)
    records_falsified = fields.Boolean(load_default=False)
    qms_sound = fields.Boolean(load_default=True)
    gsp_not_applicable = fields.Nested(GspNotApplicableSchema)
    sample = fields.Nested(SampleSchema)

    @validates_schema
    def _parts_for_type(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("inspection_type")
        errors: dict[str, list[str]] = {}
        if kind == "sampling":
            if "sample" not in data:
                errors["sample"] = ["Required for a sampling result."]
            if data.get("defects"):
                errors["defects"] = ["A sampling result has test items, not defects."]
        elif "sample" in data:
            errors["sample"] = [f"Not allowed for a {kind} inspection."]
        if "gsp_not_applicable" in data and kind != "gsp":
            errors["gsp_not_applicable"] = ["Only for a gsp inspection."]
        # only the rule of its type reads a flag: set elsewhere it was stored and ignored
        # (falsified records beside a sampling result that still read 符合规定)
        if data.get("records_falsified") and kind == "sampling":
            errors["records_falsified"] = ["Only for a gmp or gsp inspection."]
        if data.get("qms_sound") is False and kind != "gmp":
            errors["qms_sound"] = ["Only for a gmp inspection."]
        if errors:
            raise ValidationError(errors)


#: GMP/GSP-style on-site checklist; ``key`` marks the 重点项 (\*\* items in GSP terms).
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "DRUG-01",
        "许可证、GMP/GSP 相关资质有效且与实际经营范围一致",
        "Licence and GMP/GSP credentials valid and matching actual scope",
        key=True,
    ),
    ChecklistItem(
        "DRUG-02",
        "质量负责人、质量受权人到岗履职，资质符合要求",
        "Quality head / qualified person present and qualified",
        key=True,
    ),
    ChecklistItem(
        "DRUG-03", "质量管理体系文件齐全并现行有效", "Quality-system documents complete and current"
    ),
    ChecklistItem(
        "DRUG-04",
        "记录与数据真实、完整、可追溯，无编造或篡改",
        "Records and data genuine, complete and traceable; none falsified",
        key=True,
    ),
    ChecklistItem(
        "DRUG-05",
        "供货单位与购货单位资质审核，购销票据与实物一致",
        "Supplier/customer qualification checked; invoices match goods",
        key=True,
    ),
    ChecklistItem(
        "DRUG-06",
        "药品购进验收记录完整，首营品种审核",
        "Receiving inspection records complete; first-time products reviewed",
    ),
    ChecklistItem(
        "DRUG-07",
        "储存温湿度监测与自动记录，冷链药品全程温控",
        "Storage temperature/humidity monitored and logged; cold chain unbroken",
        key=True,
    ),
    ChecklistItem(
        "DRUG-08",
        "库区分区管理，不合格药品隔离并有处理记录",
        "Warehouse zoned; non-conforming drugs segregated and disposed of on record",
    ),
    ChecklistItem(
        "DRUG-09",
        "特殊管理药品（麻醉、精神、毒性等）专库专账",
        "Specially controlled drugs kept in dedicated store and ledger",
        key=True,
    ),
    ChecklistItem(
        "DRUG-10",
        "生产工艺与注册批准工艺一致，批生产记录完整",
        "Process matches the registered process; batch records complete",
        key=True,
    ),
    ChecklistItem(
        "DRUG-11",
        "物料与成品按标准检验并经质量受权人放行",
        "Materials and products tested and released by the qualified person",
        key=True,
    ),
    ChecklistItem(
        "DRUG-12",
        "偏差、变更、OOS 调查及纠正预防措施有效",
        "Deviations, changes, OOS investigations and CAPA effective",
    ),
    ChecklistItem(
        "DRUG-13",
        "洁净区环境监测与设备验证、校准在有效期内",
        "Clean-area monitoring, equipment qualification and calibration current",
    ),
    ChecklistItem(
        "DRUG-14", "人员培训与健康档案齐全", "Staff training and health records complete"
    ),
    ChecklistItem(
        "DRUG-15",
        "药品追溯码扫码上传、不良反应监测与召回制度落实",
        "Traceability codes uploaded; ADR monitoring and recall procedure in place",
    ),
)
