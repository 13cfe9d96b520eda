"""Payload schema and on-site checklist of the metrology (计量器具) sector.

One payload is one on-site check of a trader's measuring instruments::

    {"inspected_on": "2024-05-20",            # optional: else the result's date
     "instruments": [
        {"kind": "retail_scale", "serial_no": "SC-0001",
         "verification_certificate_no": "JD2024-0001",   # optional
         "verified_on": "2024-01-10",                     # date, or null if never verified
         "error_pct": "0.2"}]}                            # optional, measured on site

``verified_on`` is required even though it may be null: an inspector has to say "never
verified" rather than forget the field.  Kinds also load from what inspectors type
(电子计价秤, 加油机, 计价器 …).  The core prefixes every error path with ``payload.``.
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

from .rules import KIND_ALIASES, KINDS

#: ``|`` and ``;`` separate instruments in the upload template's packed cell.
_NO_SEPARATORS = validate.Regexp(r"^[^|;｜；\n]*$", error="Must not contain | or ; characters.")


class InstrumentSchema(Schema):
    """One measuring instrument as found on site."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(tuple(KINDS)))
    serial_no = fields.String(
        required=True, validate=[validate.Length(min=1, max=64), _NO_SEPARATORS]
    )
    verification_certificate_no = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=64), _NO_SEPARATORS],
    )
    verified_on = fields.Date(required=True, allow_none=True)
    error_pct = fields.Decimal(
        load_default=None, allow_none=True, validate=validate.Range(min=-100, max=1000)
    )

    @pre_load
    def _normalise(self, data: Any, **_: Any) -> Any:
        """Map typed kind names to codes and trim the serial number."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("kind"), str):
            kind = data["kind"].strip()
            data["kind"] = KIND_ALIASES.get(kind, kind)
        if isinstance(data.get("serial_no"), str):
            data["serial_no"] = data["serial_no"].strip()
        return data

    @validates_schema
    def _certificate_needs_date(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("verification_certificate_no") and data.get("verified_on") is None:
            raise ValidationError(
                "A verification certificate number needs its verification date.", "verified_on"
            )


class MetrologyPayloadSchema(Schema):
    """A metrology result payload: the instruments checked on one visit."""

    class Meta:
        unknown = RAISE

    inspected_on = fields.Date(load_default=None, allow_none=True)
    instruments = fields.List(
        fields.Nested(InstrumentSchema),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    notes = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _unique_instruments(self, data: dict[str, Any], **_: Any) -> None:
        """The same instrument twice would be judged, and counted for risk, twice."""
        seen: set[tuple[str, str]] = set()
        errors: dict[int, dict[str, list[str]]] = {}
        for index, instrument in enumerate(data.get("instruments") or ()):
            key = (instrument["kind"], instrument["serial_no"])
            if key in seen:
                errors[index] = {"serial_no": ["The same instrument is listed twice."]}
            seen.add(key)
        if errors:
            raise ValidationError({"instruments": errors})


#: On-site checklist; ``key`` marks the 重点项.
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "METRO-01",
        "强制检定的计量器具已登记造册，并向当地市场监管部门备案",
        "Instruments under compulsory verification are listed and filed with the local "
        "market regulator",
        key=True,
    ),
    ChecklistItem(
        "METRO-02",
        "每台计量器具的检定证书或检定合格标志在有效期内",
        "Every instrument has a verification certificate or mark that is still valid",
        key=True,
    ),
    ChecklistItem(
        "METRO-03",
        "铅封、封签完好，无拆封或破坏计量器具准确度的痕迹",
        "Seals intact; no sign of opening or of tampering with accuracy",
        key=True,
    ),
    ChecklistItem(
        "METRO-04",
        "用标准砝码、标准量器或标准里程现场核查示值误差",
        "Error of indication checked on site with standard weights, measures or a test distance",
        key=True,
    ),
    ChecklistItem(
        "METRO-05",
        "无遥控器、作弊芯片或可调参数等作弊装置",
        "No remote control, cheating chip or adjustable parameter used to cheat",
        key=True,
    ),
    ChecklistItem(
        "METRO-06",
        "计量器具台账与现场实物（型号、出厂编号）一致",
        "The instrument register matches the instruments on site (model, serial number)",
    ),
    ChecklistItem(
        "METRO-07",
        "超期未检或检定不合格的计量器具已停止使用并明显标识",
        "Overdue or failed instruments are out of use and clearly marked",
    ),
    ChecklistItem(
        "METRO-08",
        "计量器具安装、调平、置零符合使用要求",
        "Instruments are installed, levelled and zeroed as required for use",
    ),
    ChecklistItem(
        "METRO-09",
        "显示屏清晰，顾客可见示值与计价",
        "Displays are legible and the customer can see the indication and the price",
    ),
    ChecklistItem(
        "METRO-10",
        "经营者配备与经营规模相适应的复核秤或标准量器",
        "A check scale or standard measure suited to the business is available to customers",
    ),
)
