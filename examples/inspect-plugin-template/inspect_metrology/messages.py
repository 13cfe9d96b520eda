"""zh-CN for every reason this plugin's schema and rules give (``inspect_messages``): an
inspector reads a refused upload row or a 422 in zh-CN as well as English."""

from __future__ import annotations

from inspect_core.plugin_api import Message

MESSAGES: tuple[Message, ...] = (
    # schema
    Message(
        "A verification certificate number needs its verification date.",
        "填写了检定证书编号，须同时填写检定日期",
    ),
    Message("The same instrument is listed twice.", "同一计量器具重复列出"),
    Message("Must not contain | or ; characters.", "不能包含“|”或“;”字符"),
    # judging
    Message(
        "needed: the payload has no inspected_on and the context no inspected_on or recorded_on",
        "缺少检查日期：结果中没有 inspected_on，上下文中也没有 inspected_on 或 recorded_on",
    ),
    Message(
        "verified on {verified}, after the inspection on {inspected}",
        "检定日期 {verified} 晚于检查日期 {inspected}",
    ),
    Message("unknown instrument kind {kind}", "未知的计量器具种类 {kind}"),
    # district overrides (config.<key>)
    Message("unknown threshold for the metrology sector", "计量行业没有该阈值"),
    Message("must be a mapping of instrument kind → value", "应为“器具种类 → 数值”的映射"),
    Message("no such instrument kind", "没有该计量器具种类"),
    Message("must be a number", "必须是数字"),
    Message("must be a finite number", "必须是有限数值"),
    Message("must be an integer ≥ {minimum}", "必须是不小于 {minimum} 的整数"),
    Message("must be ≤ {bound}", "必须小于或等于 {bound}"),
    Message("must be ≥ {bound}", "必须大于或等于 {bound}"),
    Message("must be a mapping of finding → severity", "应为“问题 → 严重程度”的映射"),
    Message("no such finding", "没有该问题类型"),
    Message("must be one of {choices}", "必须是以下之一：{choices}"),
)
