"""zh-CN for the register schema's and rules' reasons, so inspectors read them in Chinese."""

from __future__ import annotations

from inspect_core.plugin_api import Message

MESSAGES: tuple[Message, ...] = (
    # schemas.py: EquipmentSchema / RegisterSchema
    Message(
        "Given for a unit marked as not registered.",
        "该设备标记为未办理使用登记，不应填写使用登记日期",
    ),
    Message("Only for categories {categories}.", "仅适用于设备类别 {categories}"),
    Message("Before the commissioning date.", "不得早于投入使用日期"),
    Message("Duplicate registration code {code}.", "使用登记证编号/设备代码 {code} 重复"),
    # rules.py: config (resolve_config, _check_int)
    Message("unknown threshold for special equipment", "特种设备无此阈值项"),
    Message("must be a mapping", "必须为对象（映射）"),
    Message("unknown key", "未知的键"),
    Message("no such category", "无此设备类别"),
    Message("no such sub_type", "无此设备品种（sub_type）"),
    Message("must be a list of years", "必须为非空的年份列表"),
    Message("must be true or false", "必须为 true 或 false"),
    Message("must be one of {choices}", "必须是以下之一：{choices}"),
    Message("must be an integer ≥ {minimum}", "必须为 ≥ {minimum} 的整数"),
    Message("no such interval row", "检验周期表中无此行"),
    # rules.py: the unit's inspection obligations and dates
    Message(
        "category {category} needs a sub_type to choose its interval (one of {choices})",
        "设备类别 {category} 须填写设备品种（sub_type）以确定检验周期（可选：{choices}）",
    ),
    Message(
        "the safety grade of the last periodic inspection sets the next one",
        "须填写最近一次定期检验评定的安全状况等级，据此确定下次检验日期",
    ),
    Message("no interval for grade {grade}", "安全状况等级 {grade} 无对应的检验周期"),
    Message("after the inspection date", "不得晚于检查日期"),
    Message("before the commissioning date", "不得早于投入使用日期"),
    Message(
        "needed: no inspected_on and no recorded_on",
        "必填：未提供 inspected_on，也没有 recorded_on",
    ),
)
