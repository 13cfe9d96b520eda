"""zh-CN for the reasons the drugs schema and rules give: inspectors read rejections in Chinese."""

from __future__ import annotations

from inspect_core.plugin_api import Message

MESSAGES: tuple[Message, ...] = (
    # schemas.py: TestItemSchema._fields_for_kind (``kind`` is one of rules.TEST_KINDS)
    Message("Required for a test item of kind assay.", "含量测定（assay）检验项目须填写此项"),
    Message(
        "Required for a test item of kind dissolution.", "溶出度（dissolution）检验项目须填写此项"
    ),
    Message(
        "Required for a test item of kind related_substances.",
        "有关物质（related_substances）检验项目须填写此项",
    ),
    Message(
        "Required for a test item of kind identification.",
        "鉴别（identification）检验项目须填写此项",
    ),
    Message("Required for a test item of kind other.", "其他（other）检验项目须填写此项"),
    Message("Required for a test item of kind {kind}.", "{kind} 类检验项目须填写此项"),
    Message(
        "Give both ends of the labelled range, or neither.",
        "含量限度的上限和下限应同时填写或同时留空",
    ),
    Message("Must not exceed upper.", "不得大于上限（upper）"),
    Message(
        "ChP 0931 judges 6 units (stage 1) or 12 units (stage 2).",
        "ChP 0931 按 6 个单位（初试）或 12 个单位（复试）判定，结果个数应为 6 或 12",
    ),
    # schemas.py: DrugPayloadSchema._parts_for_type (``kind`` is gmp or gsp)
    Message("Required for a sampling result.", "抽检结果须填写此项"),
    Message(
        "A sampling result has test items, not defects.",
        "抽检结果应填写检验项目，不应填写缺陷项",
    ),
    Message("Not allowed for a gmp inspection.", "GMP 检查结果不应填写此项"),
    Message("Not allowed for a gsp inspection.", "GSP 检查结果不应填写此项"),
    Message("Not allowed for a {kind} inspection.", "{kind} 检查结果不应填写此项"),
    Message("Only for a gsp inspection.", "仅适用于 GSP 检查"),
    Message("Only for a gmp inspection.", "仅适用于 GMP 检查"),
    Message("Only for a gmp or gsp inspection.", "仅适用于 GMP 或 GSP 检查"),
    # rules.py: resolve_config (district threshold overrides)
    Message("unknown threshold for the drugs sector", "药品领域没有该阈值配置项"),
    Message("must be a mapping", "必须为映射（键值对象）"),
    Message("unknown key", "未知的键"),
    Message("must be one of {choices}", "必须是以下之一：{choices}"),
    Message("must be an integer ≥ {minimum}", "必须为不小于 {minimum} 的整数"),
    Message("must be a number between 0 and 100", "必须为 0 到 100 之间的数值"),
    Message("must be a number ≥ 100", "必须为不小于 100 的数值"),
    # rules.py: gsp_percentages (``cls`` is one of rules.GRADES)
    Message(
        "more items not applicable than the {total} critical items",
        "合理缺项数超过严重缺陷项目总数（{total} 项）",
    ),
    Message(
        "more items not applicable than the {total} major items",
        "合理缺项数超过主要缺陷项目总数（{total} 项）",
    ),
    Message(
        "more items not applicable than the {total} general items",
        "合理缺项数超过一般缺陷项目总数（{total} 项）",
    ),
    Message(
        "more items not applicable than the {total} {grade} items",
        "合理缺项数超过 {grade} 类检查项目总数（{total} 项）",
    ),
    Message("leaves no item checked", "所有检查项目均为合理缺项，没有实际检查的项目"),
    Message(
        "item {code} is already listed ({where}): a GSP item counts once",
        "检查项目 {code} 已列出（{where}）：GSP 每个检查项目只计一次",
    ),
    Message(
        "{found} critical defects but only {checked} critical items were checked",
        "严重缺陷 {found} 项，但仅检查了 {checked} 项严重缺陷项目",
    ),
    Message(
        "{found} major defects but only {checked} major items were checked",
        "主要缺陷 {found} 项，但仅检查了 {checked} 项主要缺陷项目",
    ),
    Message(
        "{found} general defects but only {checked} general items were checked",
        "一般缺陷 {found} 项，但仅检查了 {checked} 项一般缺陷项目",
    ),
    Message(
        "{found} {grade} defects but only {checked} {grade} items were checked",
        "{grade} 类缺陷 {found} 项，但仅检查了 {checked} 项 {grade} 类项目",
    ),
    # rules.py: sampling test items
    Message(
        "no labelled range given and no default range for dosage form None",
        "未填写标示含量限度，且未注明剂型，无法确定默认含量限度",
    ),
    Message(
        "no labelled range given and no default range for dosage form {dosage_form}",
        "未填写标示含量限度，且剂型 {dosage_form} 没有默认含量限度",
    ),
    Message(
        "ChP 0931: one unit below Q−10% — the second stage of 6 more units is required; "
        "report all 12 units",
        "ChP 0931：有 1 个单位低于 Q−10%，应另取 6 个单位复试，请报告全部 12 个单位的结果",
    ),
    Message(
        "{value}% of label claim is above the plausible maximum ({maximum}%); check the value",
        "{value}%（按标示量计）超过合理上限（{maximum}%），请核对数值",
    ),
    Message("unknown inspection type {kind}", "未知的检查类型 {kind}"),
)
