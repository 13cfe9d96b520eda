"""zh-CN for the result schema's and rules' reasons, so inspectors read them in Chinese."""

from __future__ import annotations

from inspect_core.plugin_api import Message

from .rules import CHILD_LEVELS, LEVELS


def _level(code: str) -> str:
    """A tree level as an inspector reads it, its code kept: ``分部工程（division）``."""
    return f"{LEVELS[code][0]}（{code}）"


#: The tree's reasons for each known level, with the level's GB 50300 name; the patterns
#: in :data:`MESSAGES` cover any other level.
_LEVEL_MESSAGES: tuple[Message, ...] = (
    *(Message(f"required for level {c}", f"{_level(c)}须填写此项") for c in LEVELS),
    *(
        Message(f"a {c} needs at least one child", f"{_level(c)}至少需要一个下级节点")
        for c in LEVELS
        if CHILD_LEVELS[c]
    ),
    *(
        Message(
            f"a {en} needs at least one child to be accepted",
            f"{zh}至少需要一个下级节点方可验收",
        )
        for zh, en in (LEVELS[c] for c in LEVELS if CHILD_LEVELS[c])
    ),
    *(
        Message(
            f"a {c} contains {' or '.join(CHILD_LEVELS[c])} nodes",
            f"{_level(c)}的下级只能是{'或'.join(_level(k) for k in CHILD_LEVELS[c])}",
        )
        for c in LEVELS
        if CHILD_LEVELS[c]
    ),
)

MESSAGES: tuple[Message, ...] = (
    # schemas.py
    Message("cannot exceed sampled", "不得大于抽样数量 sampled"),
    Message("required for level {level}", "{level} 级节点须填写此项"),
    Message("a lot needs at least one main-control item", "检验批至少需要一项主控项目"),
    Message("a {level} needs at least one child", "{level} 节点至少需要一个下级节点"),
    Message("an inspection lot has no children", "检验批不应有下级节点"),
    Message("cannot precede acceptance_date", "不得早于竣工验收日期 acceptance_date"),
    Message("at least one of {parts} is required", "{parts} 至少需要填写一项"),
    # rules.py: thresholds and numbers
    Message("unknown threshold key", "未知的阈值项"),
    Message("expected a mapping", "应为对象（映射）"),
    Message("must be one of {choices}", "必须是以下之一：{choices}"),
    Message("a number is required", "必须填写数值"),
    Message("not a number: {value}", "不是有效的数值：{value}"),
    Message("must be a finite number > 0", "必须为 > 0 的有限数值"),
    Message(">= 0", "必须为 >= 0 的有限数值"),
    Message("a whole number ≥ {minimum} is required", "必须为 ≥ {minimum} 的整数"),
    Message(
        "must be one less than statistical.min_groups (GB/T 50107-2010 §5.2)",
        "必须比 statistical.min_groups 小 1（GB/T 50107-2010 §5.2）",
    ),
    Message(
        "a list of bands (min_n, max_n, value) is required",
        "必须为系数分段列表（min_n、max_n、value）",
    ),
    Message("a band (min_n, max_n, value) is required", "必须为系数分段（min_n、max_n、value）"),
    Message("at most 366 days", "不得超过 366 天"),
    # rules.py: the GB 50300 acceptance tree
    Message("true or false is required", "必须为 true 或 false"),
    Message("a whole number ≥ 1 is required", "必须为 ≥ 1 的整数"),
    Message("a whole number ≥ 0 is required", "必须为 ≥ 0 的整数"),
    Message("cannot exceed the number sampled", "合格点数不得大于抽样数量"),
    Message("a share above 0 and at most 1", "应为大于 0、不大于 1 的比例"),
    Message(
        "a {level} needs at least one child to be accepted",
        "{level} 至少需要一个下级节点方可验收",
    ),
    Message("a {level} contains {allowed} nodes", "{level} 的下级只能是 {allowed} 节点"),
    *_LEVEL_MESSAGES,
    # rules.py: GB/T 50107 concrete strength
    Message(
        "not a concrete strength grade like C30: {grade}",
        "不是有效的混凝土强度等级（如 C30）：{grade}",
    ),
    Message(
        "C0 is not a strength grade: fcu,k must be > 0",
        "C0 不是混凝土强度等级：强度标准值 fcu,k 必须大于 0",
    ),
    Message(
        "{value} N/mm² is above the plausible maximum ({maximum} N/mm²); check the value",
        "{value} N/mm² 超过合理上限（{maximum} N/mm²），请核对数值",
    ),
    Message("no coefficient for n = {n}", "试件组数 n = {n} 无对应的合格评定系数"),
    Message("at least one strength value is required", "至少需要一组试件强度代表值"),
    Message(
        "the known-σ0 method takes a batch of exactly {size} groups, got {n}",
        "标准差已知统计方法每个检验批应为 {size} 组试件，实际为 {n} 组",
    ),
    Message("σ0 or its history is required", "须提供 σ0 或用于计算 σ0 的前一检验期强度数据"),
    Message(
        "σ0 needs ≥ {minimum} groups, got {n}",
        "计算 σ0 至少需要 {minimum} 组强度数据，实际为 {n} 组",
    ),
    Message(
        "the statistical method needs ≥ {minimum} groups, got {n}",
        "统计方法评定至少需要 {minimum} 组试件，实际为 {n} 组",
    ),
    Message(
        "{n} groups: batches of ≥ {minimum} must use the statistical method",
        "试件组数为 {n}：不少于 {minimum} 组的检验批应采用统计方法评定",
    ),
    # rules.py: completion acceptance (竣工验收) and filing (备案)
    Message("not a date: {value}", "不是有效的日期：{value}"),
    Message(
        "expected a mapping of condition → bool",
        "应为“竣工验收条件代码 → true/false”的对象（映射）",
    ),
    Message("unknown condition", "未知的竣工验收条件"),
    Message("required (true or false)", "必填（true 或 false）"),
    Message("required", "必填"),
    Message("filing cannot precede acceptance", "竣工验收备案日期不得早于竣工验收日期"),
    Message(
        "before {earliest}, when the completion rules judged here took effect",
        "早于 {earliest}：所依据的竣工验收规定当时尚未施行",
    ),
    Message(
        "after the inspection date ({day}): what has not happened yet cannot be judged",
        "晚于检查日期（{day}）：尚未发生的事项无法判定",
    ),
    Message("out of range", "超出有效范围"),
)
