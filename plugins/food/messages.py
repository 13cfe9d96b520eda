"""zh-CN for the reasons the food schema and rules give: inspectors read rejections in Chinese."""

from __future__ import annotations

from inspect_core.plugin_api import Message

MESSAGES: tuple[Message, ...] = (
    # schemas.py: ItemSchema._qualifier_matches_value
    Message("must be null when qualifier is 'ND'", "结果标识为 'ND' 时应为空（null）"),
    Message("required when qualifier is 'ND'", "结果标识为 'ND' 时必填"),
    Message("required unless qualifier is 'ND'", "结果标识不是 'ND' 时必填"),
    # rules.py: limit rows (limits.csv, config["limits"])
    Message("unknown limit type {limit_type}", "未知的限量类型 {limit_type}"),
    Message("a 'max' row needs a numeric limit", "限量类型为 'max' 的记录须填写数值限量"),
    Message(
        "each override must be a mapping of limit columns",
        "每条限量覆盖配置须为以限量表列名为键的映射",
    ),
    Message("required", "必填"),
    Message("unknown analyte {analyte}", "未知的检验项目 {analyte}"),
    Message("unknown category {category}", "未知的食品类别 {category}"),
    # rules.py: judging options and severities (config)
    Message("must be one of {choices}", "必须是以下之一：{choices}"),
    Message("unknown failure kind", "未知的不合格类型"),
    # rules.py: numbers and units
    Message("not a number", "不是有效的数值"),
    Message("not a number: {value}", "不是有效的数值：{value}"),
    Message("must be a finite number", "必须为有限数值"),
    Message("must not be negative", "不能为负数"),
    Message(
        "{amount} {unit} is more than the whole sample (1000000 mg/kg)",
        "{amount} {unit} 超过样品本身的质量（1000000 mg/kg），请核对数值与单位",
    ),
    Message(
        "{loq} is below the LOD ({lod}): no method quantifies what it cannot detect",
        "{loq} 低于检出限（{lod}）：定量限不能低于检出限",
    ),
    Message(
        "{value} is below the LOD ({lod}) given for it: a banned substance is either detected "
        "(a value at or above the LOD) or reported ND",
        "{value} 低于所填检出限（{lod}）：禁用物质要么检出（结果不低于检出限），"
        "要么报告为未检出（ND）",
    ),
    Message("unknown unit {unit}; known: {known}", "未知的计量单位 {unit}；可用：{known}"),
    Message(
        "cannot convert {source} to {target} (different dimensions)",
        "无法将 {source} 换算为 {target}（量纲不同）",
    ),
    # rules.py: test items
    Message(
        "no limit for analyte {analyte} in food category {category}",
        "食品类别 {category} 中没有检验项目 {analyte} 的限量",
    ),
    Message("must be null, '<' or 'ND'", "只能为空（null）、'<' 或 'ND'"),
    Message("must be null when the qualifier is 'ND'", "结果标识为 'ND' 时应为空（null）"),
    Message("required unless the qualifier is 'ND'", "结果标识不是 'ND' 时必填"),
    Message(
        "an 'ND' result needs the method's LOD",
        "结果为 'ND'（未检出）时须填写方法检出限（LOD）",
    ),
    # ``which.upper()`` is "LOD" or "LOQ" (config banned_threshold)
    Message(
        "a banned substance's result needs the method's LOD",
        "禁用物质的检验结果须填写方法检出限（LOD）",
    ),
    Message(
        "a banned substance's result needs the method's LOQ",
        "禁用物质的检验结果须填写方法定量限（LOQ）",
    ),
    Message(
        "a banned substance's result needs the method's {threshold}",
        "禁用物质的检验结果须填写方法的 {threshold}",
    ),
    Message(
        "a pathogen result is ND or a count, not '<'",
        "致病菌检验结果应为 'ND' 或计数值，不能使用 '<'",
    ),
    # rules.py: the whole sample
    Message(
        "after the inspection date ({day}): a sample is taken on or before it",
        "晚于检查日期（{day}）：样品应在检查之日或之前抽取",
    ),
    Message(
        "before {earliest}, when the Food Safety Law took effect: "
        "the limits judged here do not apply",
        "早于 {earliest}：《食品安全法》当时尚未施行，本插件的限量规则不适用",
    ),
    Message("unknown food category {category}", "未知的食品类别 {category}"),
    Message("at least one test item is required", "至少需要一个检验项目"),
    # rules.py: business risk grading
    Message("must be ≤ {maximum}", "不能大于 {maximum}"),
    Message("unknown grade {grade}", "未知的风险等级 {grade}"),
)
