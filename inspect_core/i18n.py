"""zh-CN for field-level reasons.

A reason in an error body (``errors``) or an import's row errors is written in English by a
schema, a check or a plugin: ``"Not a valid date."``, ``"before today (2026-11-27)"``.  An
inspector reading an upload's rejected rows, or a regulator reading a 422, needs it in
zh-CN too.  Each reason is matched against a catalogue of :class:`~inspect_core.plugin_api.Message`
pairs — marshmallow's and webargs' own reasons, the core's, and those each plugin
declares with ``inspect_messages`` — and its zh-CN text is given beside it
(``errors_zh``, a row error's ``message_zh``).

A pattern's ``{name}`` placeholders match any text, which the zh-CN text shows again, so a
reason built with an f-string needs one entry.  A reason with no entry keeps its English
(the field is still named) and is reported to :data:`MISSING_HOOKS`: the test suite
fails on any reason it produced that the catalogue cannot translate.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app, has_app_context

from inspect_core.plugin_api import Message

#: called with each reason that has no zh-CN entry (the test suite records them)
MISSING_HOOKS: list[Callable[[str], None]] = []


def _pattern(en: str) -> tuple[re.Pattern[str] | None, int]:
    """``en`` as a regular expression (``None`` when it has no placeholder) and the length
    of its literal text, which orders patterns from the most specific.

    Each placeholder but the last takes the text up to the first place its following
    literal text is found, and keeps it (an atomic group): a reason is matched in time
    linear in its length.  Plain lazy groups backtrack over every split of the text, and a
    reason echoing a long value (an upload's header, a form field) took seconds to minutes
    against a pattern such as ``{found} {grade} defects but only …``.
    """
    parts = list(string.Formatter().parse(en))
    if all(name is None for _, name, _, _ in parts):
        return None, len(en)
    # the literal text before each placeholder, and after the last ("{{" splits a text)
    texts, names = [""], []
    for text, name, _, _ in parts:
        texts[-1] += text
        if name is not None:
            if not name.isidentifier():
                raise ValueError(f"message pattern {en!r}: placeholder {{{name}}} is not a name")
            names.append(name)
            texts.append("")
    regex, seen = re.escape(texts[0]), set()
    for n, name in enumerate(names):
        follow = texts[n + 1]
        # a name met again must match the same text
        group = f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
        seen.add(name)
        if n == len(names) - 1:
            regex += group + re.escape(follow)
        elif not follow:
            raise ValueError(
                f"message pattern {en!r}: {{{name}}} and the next placeholder have no text "
                "between them to tell them apart"
            )
        else:
            regex += f"(?>{group}{re.escape(follow)})"
    literal = sum(len(text) for text in texts)
    return re.compile(regex, re.DOTALL), literal


#: a row error's reason for a field inside a column: ``items.0.value: Not a valid number.``
_PATH = re.compile(r"(?P<path>[A-Za-z_][\w.]*): (?P<reason>.+)", re.DOTALL)


#: a "reason" that is one name or code (``{"plugin": ["food_lab"]}``): the same in zh-CN,
#: so not reported missing
_NAME = re.compile(r"[\w.\-]+", re.ASCII)


def _credit_type(code: str) -> str:
    from inspect_core.credit.models import CREDIT_EVENT_TYPES

    return CREDIT_EVENT_TYPES[code][0] if code in CREDIT_EVENT_TYPES else code


def _credit_severity(code: str) -> str:
    from inspect_core.credit.models import SEVERITY_NAMES

    return SEVERITY_NAMES[code][0] if code in SEVERITY_NAMES else code


#: a credit rule's term as credit.rules.term_text gives it: ``365 days``, ``1 year``
_TERM = re.compile(r"([0-9]+) (day|year|month)s?")


def _term(text: str) -> str:
    """``365 days``, ``1 year``, ``3 months`` in zh-CN: ``365 天``, ``1 年``, ``3 个月``."""
    match = _TERM.fullmatch(text)
    if match is None:
        return text
    return f"{match[1]} {dict(day='天', year='年', month='个月')[match[2]]}"


def _sectors(text: str) -> str:
    """``food, drugs`` (or ``any sector``) by the sectors' zh-CN names."""
    if text == "any sector":
        return "任何"
    if not has_app_context():
        return text
    from inspect_core.sectors import catalogue as sectors

    known = sectors()
    return "、".join(known[c].name_zh if c in known else c for c in text.split(", "))


#: placeholders whose matched text is a code, shown in zh-CN by its name (a reason such
#: as "no early repair of a major abnormal_operations in food" read "food 行业的 major
#: 级 abnormal_operations"); an unknown code is shown as it is
VALUE_NAMES: dict[str, Callable[[str], str]] = {
    "term": _term,
    "credit_type": _credit_type,
    "credit_severity": _credit_severity,
    "sectors": _sectors,
}


class Catalogue:
    """English reason → zh-CN, by exact text or by pattern."""

    def __init__(self, messages: Iterable[Message]) -> None:
        """Raises ``ValueError`` for a malformed entry (a placeholder that is not a name,
        one its zh-CN shows and its English lacks, or a zh-CN that does not format, such as
        ``{n:d}``: the matched text is a string), so it fails where it is declared, not in
        the middle of an error response."""
        self._exact: dict[str, str] = {}
        patterns: list[tuple[int, re.Pattern[str], str]] = []
        for m in messages:
            regex, literal = _pattern(m.en)
            shown = {name for _, name, _, _ in string.Formatter().parse(m.zh) if name is not None}
            names = {name for _, name, _, _ in string.Formatter().parse(m.en) if name is not None}
            if not shown <= names:
                raise ValueError(f"message {m.en!r}: its zh-CN shows a placeholder it lacks")
            try:
                # as zh() formats it, with the text each placeholder matched
                zh = m.zh.format(**dict.fromkeys(names, "x"))
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                raise ValueError(f"message {m.en!r}: its zh-CN does not format: {exc}") from None
            if regex is None:
                # "{{" in a text without placeholders is a literal brace, in both languages
                self._exact.setdefault(m.en.replace("{{", "{").replace("}}", "}"), zh)
            else:
                patterns.append((literal, regex, m.zh))
        patterns.sort(key=lambda p: -p[0])
        self._patterns = [(regex, zh) for _, regex, zh in patterns]

    def match(self, reason: str) -> tuple[str, dict[str, str]] | None:
        """The zh-CN of ``reason`` and the text each placeholder of its entry matched
        (none for an exact entry), or ``None`` when the catalogue has no entry for it."""
        if (found := self._exact.get(reason)) is not None:
            return found, {}
        for regex, zh in self._patterns:
            if match := regex.fullmatch(reason):
                found = match.groupdict()
                shown = {k: VALUE_NAMES[k](v) if k in VALUE_NAMES else v for k, v in found.items()}
                return zh.format(**shown), found
        return None

    def zh(self, reason: str) -> str | None:
        """The zh-CN of ``reason``, or ``None`` when the catalogue has no entry for it."""
        found = self.match(reason)
        return None if found is None else found[0]

    def translate(self, reason: str) -> str:
        """The zh-CN of ``reason``; its English (reported to :data:`MISSING_HOOKS`) when
        there is no entry."""
        found = self.zh(reason)
        if found is None:
            if not _NAME.fullmatch(reason):
                for hook in MISSING_HOOKS:
                    hook(reason)
            return reason
        return found

    def row_reason(self, reason: str) -> str:
        """:meth:`translate` for an upload's row error, whose reason for a field inside a
        column's value is prefixed with the field's path (``items.0.value: Not a valid
        number.``)."""
        if self.zh(reason) is None and (prefixed := _PATH.fullmatch(reason)):
            return f"{prefixed['path']}: {self.translate(prefixed['reason'])}"
        return self.translate(reason)

    def errors(self, errors: Any) -> Any:
        """``errors`` (``{field: [reasons]}``, nested as marshmallow nests them) with each
        reason in zh-CN: the same keys, so a client reads both side by side."""
        if isinstance(errors, str):
            return self.translate(errors)
        if isinstance(errors, dict):
            if isinstance(errors.get("message_zh"), str):
                # an entry that carries its own zh-CN (a draw's problems); not a field
                # that happens to be named message_zh ({"message_zh": ["Unknown field."]})
                return errors
            return {key: self.errors(value) for key, value in errors.items()}
        if isinstance(errors, list | tuple):
            return [self.errors(value) for value in errors]
        return errors


def _range_messages() -> list[Message]:
    """marshmallow's ``Range`` reasons, in every combination of its bounds."""
    lower = {"greater than or equal to": "大于或等于", "greater than": "大于"}
    upper = {"less than or equal to": "小于或等于", "less than": "小于"}
    out = [Message(f"Must be {en} {{min}}.", f"必须{zh} {{min}}") for en, zh in lower.items()]
    out += [Message(f"Must be {en} {{max}}.", f"必须{zh} {{max}}") for en, zh in upper.items()]
    out += [
        Message(f"Must be {le} {{min}} and {ue} {{max}}.", f"必须{lz} {{min}} 且{uz} {{max}}")
        for le, lz in lower.items()
        for ue, uz in upper.items()
    ]
    return out


#: marshmallow's and webargs' own reasons
LIBRARY_MESSAGES: tuple[Message, ...] = (
    Message("Missing data for required field.", "缺少必填字段"),
    Message("Field may not be null.", "不能为空值（null）"),
    Message("Invalid value.", "值无效"),
    Message("Invalid type.", "类型无效"),
    Message("Invalid input type.", "输入类型无效"),
    Message("Invalid input.", "输入无效"),
    Message("Unknown field.", "未知字段"),
    Message("Not a valid list.", "不是有效的列表"),
    Message("Not a valid tuple.", "不是有效的元组"),
    Message("Not a valid string.", "不是有效的字符串"),
    Message("Not a valid utf-8 string.", "不是有效的 UTF-8 字符串"),
    Message("Not a valid UUID.", "不是有效的 UUID"),
    Message("Not a valid number.", "不是有效的数字"),
    Message("Number too large.", "数值过大"),
    Message("Not a valid integer.", "不是有效的整数"),
    Message("Not a valid integer: ASCII digits 0-9 only.", "不是有效的整数：须为半角数字 0-9"),
    Message("Not a valid number: ASCII digits 0-9 only.", "不是有效的数字：须为半角数字 0-9"),
    Message(
        "Special numeric values (nan or infinity) are not permitted.",
        "不允许特殊数值（NaN 或无穷大）",
    ),
    Message("Not a valid boolean.", "不是有效的布尔值"),
    Message("Not a valid date.", "不是有效的日期"),
    Message("Not a valid datetime.", "不是有效的日期时间"),
    Message("Not a valid time.", "不是有效的时间"),
    Message("Not a valid naive datetime.", "不是有效的日期时间（不应带时区）"),
    Message("Not a valid aware datetime.", "不是有效的日期时间（须带时区）"),
    Message("Not a valid {awareness} datetime.", "不是有效的日期时间（{awareness}）"),
    Message('"{input}" cannot be formatted as a date.', "“{input}”无法格式化为日期"),
    Message('"{input}" cannot be formatted as a {obj_type}.', "“{input}”无法格式化为 {obj_type}"),
    Message("Not a valid period of time.", "不是有效的时间段"),
    Message("Not a valid mapping type.", "不是有效的对象（映射）"),
    Message("Not a valid URL.", "不是有效的网址"),
    Message("Not a valid email address.", "不是有效的电子邮件地址"),
    Message("Not a valid IP address.", "不是有效的 IP 地址"),
    Message("Must be one of: {choices}.", "必须是以下之一：{choices}"),
    Message(
        "One or more of the choices you made was not in: {choices}.",
        "所选值中有不在以下范围内的：{choices}",
    ),
    Message(
        "One or more of the choices you made was in: {values}.",
        "所选值中有以下不允许的值：{values}",
    ),
    Message("Shorter than minimum length {min}.", "长度不能少于 {min}"),
    Message("Longer than maximum length {max}.", "长度不能超过 {max}"),
    Message("Length must be between {min} and {max}.", "长度必须在 {min} 到 {max} 之间"),
    Message("Length must be {equal}.", "长度必须为 {equal}"),
    Message("Must be equal to {other}.", "必须等于 {other}"),
    Message("String does not match expected pattern.", "格式不符合要求"),
    Message("Invalid JSON body.", "JSON 请求体无效"),
    *_range_messages(),
)

#: the core's own reasons (schemas, checks and services under ``inspect_core``)
CORE_MESSAGES: tuple[Message, ...] = (
    # request bodies and query strings (blueprint, errors)
    Message("must not contain a NUL byte (0x00)", "不能包含 NUL 字节（0x00）"),
    Message(
        "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)",
        "不能包含孤立的 UTF-16 代理字符（\\ud800-\\udfff）",
    ),
    Message(
        "the file's name and Content-Type must not contain a NUL byte (0x00)",
        "文件名和 Content-Type 不能包含 NUL 字节（0x00）",
    ),
    Message("given more than once; this parameter takes one value", "重复给出；该参数只接受一个值"),
    Message("unknown parameter; this operation takes: {known}", "未知参数；此操作接受：{known}"),
    Message(
        "not UTF-8 text; percent-encode the parameters", "不是 UTF-8 文本；请对参数进行百分号编码"
    ),
    Message("not UTF-8 text", "不是 UTF-8 文本"),
    Message(
        "not valid JSON: {detail} at line {line} column {column}",
        "不是有效的 JSON：第 {line} 行第 {column} 列（{detail}）",
    ),
    Message(
        "given more than once in the same object; send each key once",
        "在同一对象中重复出现；每个键只能给出一次",
    ),
    Message(
        "empty: a JSON object of the fields to change is expected",
        "请求体为空：应为包含待修改字段的 JSON 对象",
    ),
    Message("a file part is expected, not a text field", "应上传文件，而不是文本字段"),
    Message("larger than {limit} bytes", "超过 {limit} 字节"),
    # a login body of unknown length (ratelimit.check_login_body)
    Message(
        "of unknown length; send a Content-Length of at most {limit} bytes",
        "长度未知；请注明 Content-Length，且不超过 {limit} 字节",
    ),
    # werkzeug's 413 past MAX_CONTENT_LENGTH (errors.register_error_handlers)
    Message("request body too large (limit {limit} bytes)", "请求体过大（上限 {limit} 字节）"),
    # rate limits and quotas (ratelimit._BREACHES)
    Message(
        "too many failed logins for this username; retry after {seconds} seconds",
        "该用户名登录失败次数过多，请 {seconds} 秒后再试",
    ),
    Message(
        "too many login attempts from this address; retry after {seconds} seconds",
        "此地址登录尝试过于频繁，请 {seconds} 秒后再试",
    ),
    Message(
        "export quota of this account used up; retry after {seconds} seconds",
        "本账号导出次数已用完，请 {seconds} 秒后再试",
    ),
    Message(
        "upload quota of this account used up; retry after {seconds} seconds",
        "本账号上传次数已用完，请 {seconds} 秒后再试",
    ),
    Message(
        "risk-ranking reading quota of this account used up; retry after {seconds} seconds",
        "本账号风险排序查阅次数已用完，请 {seconds} 秒后再试",
    ),
    Message(
        "too many requests; retry after {seconds} seconds", "请求过于频繁，请 {seconds} 秒后再试"
    ),
    Message("expected {expected}, got {got}", "应为 {expected}，实际为 {got}"),
    Message(
        "nested deeper than {depth} levels",
        "嵌套超过 {depth} 层",
    ),
    Message("a number longer than {digits} digits", "数字超过 {digits} 位"),
    Message(
        "out of range: an integer of at most 64 bits is expected",
        "超出范围：应为不超过 64 位的整数",
    ),
    Message(
        "out of range: a number within 10^±{exponent} is expected",
        "超出范围：数值应在 10^±{exponent} 以内",
    ),
    Message(
        "unknown or malformed cursor; start again without one",
        "游标未知或格式错误；请不带游标重新开始",
    ),
    # {regions} is the user's own scope, not the value refused
    Message("outside your scope: {regions}", "超出本账号的辖区范围（辖区：{regions}）"),
    Message("known: {known}", "可用：{known}"),
    # common field checks (validators)
    Message("must be an id from 1 to {max} / 须为1至{max}的编号", "须为1至{max}的编号"),
    Message("invalid USCC: {reason} / {reason_zh}", "统一社会信用代码无效：{reason_zh}"),
    Message("must not be blank", "不能为空"),
    Message("must not contain control characters", "不能包含控制字符"),
    Message("must not contain a comma (',')", "不能包含英文逗号（,）"),
    Message(
        "must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)",
        "不能包含双向文本控制字符（U+202A-U+202E、U+2066-U+2069）",
    ),
    Message("unknown sector code: {code}", "未知的行业代码：{code}"),
    Message("unknown sector code(s): {codes}", "未知的行业代码：{codes}"),
    Message("at least one sector code", "至少需要一个行业代码"),
    Message("sector codes repeat", "行业代码重复"),
    Message("required", "必填"),
    Message("empty", "为空"),
    Message("closed", "已关闭"),
    Message("superseded", "已因重新抽取而作废"),
    Message("in the future", "晚于当前时间"),
    Message("after today ({today})", "晚于今天（{today}）"),
    Message(
        "more than {days} days after occurred_on (latest {latest})",
        "距发生日期超过{days}天（最晚{latest}）",
    ),
    Message("before today ({today})", "早于今天（{today}）"),
    Message("before {date}", "早于 {date}"),
    Message("must be after {when}", "必须晚于 {when}"),
    Message("already registered", "已登记"),
    Message("already taken", "已被占用"),
    Message("already repaired", "已修复"),
    Message("withdrawn", "已撤销"),
    Message("withdrawn; credit event {id} replaces it", "已撤销，由信用事件 {id} 替代"),
    Message("already disclosed", "已公示"),
    Message(
        "not published: publish the plan before disclosing its results",
        "抽查计划尚未公示：请先公示计划，再公示其结果",
    ),
    Message("already declared for this inspector", "该执法人员已申报过与该企业的利益冲突"),
    # users and inspectors (auth, inspectors)
    Message("unknown role {role}; one of {roles}", "未知角色 {role}；可选：{roles}"),
    Message("1 to 64 characters", "长度为 1 至 64 个字符"),
    Message("at least 8 characters", "至少 8 个字符"),
    Message("at most {limit} characters", "至多 {limit} 个字符"),
    Message(
        "an inspector account must be linked to an inspector badge",
        "执法人员账号必须关联执法证号",
    ),
    Message("no inspector with badge {badge}", "没有执法证号为 {badge} 的执法人员"),
    Message("no user {name}", "没有用户 {name}"),
    Message("1-32 letters, digits or '-'", "1 至 32 个字母、数字或“-”"),
    Message("no enterprise {uscc} is registered", "企业 {uscc} 未登记"),
    # idempotency
    Message("1-255 printable characters", "1 至 255 个可打印字符"),
    Message(
        "reused with a different body or endpoint; use a new key",
        "已用于不同的请求体或接口；请使用新的键",
    ),
    Message(
        "missing; send a unique key (e.g. a UUID) and reuse it on retry",
        "缺失；请发送唯一的键（如 UUID），重试时沿用同一个",
    ),
    # enterprises
    Message(
        "before the enterprise was established ({date})",
        "早于企业成立日期（{date}）",
    ),
    Message(
        "later than the earliest record of this enterprise (credit event on {date})",
        "晚于该企业最早的记录（{date} 的信用事件）",
    ),
    Message(
        "later than the earliest record of this enterprise (inspection result on {date})",
        "晚于该企业最早的记录（{date} 的检查结果）",
    ),
    Message(
        "later than the earliest record of this enterprise ({record} on {date})",
        "晚于该企业最早的记录（{date} 的 {record}）",
    ),
    Message(
        "after {latest} (LICENCE_MAX_DAYS_AHEAD days from today)",
        "晚于 {latest}（最晚为今天起第 LICENCE_MAX_DAYS_AHEAD 天）",
    ),
    # plans and draws
    Message(
        "after {latest} (PLAN_MAX_DAYS_AHEAD days from today)",
        "晚于 {latest}（最晚为今天起第 PLAN_MAX_DAYS_AHEAD 天）",
    ),
    Message("check item codes repeat", "检查事项代码重复"),
    Message("at most {places} decimal places", "最多 {places} 位小数"),
    Message("give either seed or the public value, not both", "种子和公开随机值只能给出其一"),
    Message("required unless an explicit test seed is given", "未给出测试种子时必填"),
    Message("choose among: {choices}", "请从以下选择：{choices}"),
    Message("closed plans are not drawn", "已关闭的计划不能抽取"),
    Message("only open tasks are re-assigned", "只能重新指派未完成的任务"),
    Message("{badge} is not on task {task}", "{badge} 不在任务 {task} 中"),
    Message(
        "no active, qualified, unconflicted inspector below the workload cap",
        "没有在岗、具备资质、无利益冲突且未超过工作量上限的执法人员",
    ),
    Message(
        "allowed: draft→drawn (by drawing), drawn→published, published→closed",
        "允许的状态变更：draft→drawn（通过抽取）、drawn→published、published→closed",
    ),
    Message(
        "passed ({due}, today {today}); PATCH a new one",
        "已过期（{due}，今天 {today}）；请 PATCH 设置新的日期",
    ),
    Message("required for a re-draw", "重新抽取时必填"),
    Message("results recorded", "已录入结果"),
    Message("no frozen pool", "没有已冻结的抽取名录"),
    Message(
        "frozen before the plan's ratios, regions or inspectors per task changed",
        "名录冻结于计划的抽查比例、范围或每组检查人数修改之前",
    ),
    Message("frozen before the draft was last edited", "名录冻结于计划草案最近一次修改之前"),
    # results and attachments
    Message(
        "required unless the conclusion says nothing was inspected",
        "除结论为未实施检查外必填",
    ),
    Message("'from' is after 'to'", "“from”晚于“to”"),
    Message("this task belongs to a {sector} plan", "该任务属于 {sector} 计划"),
    Message("before the plan was created", "早于计划创建时间"),
    Message("plan is no longer a draft", "计划已不是草稿，不能再修改此字段"),
    Message("before the task was drawn ({date})", "早于任务抽取日期（{date}）"),
    # plugin_api.result_date, which date-dependent plugins call
    Message(
        "{given} differs from the result's inspection date ({day}): give the date once, "
        "on the result",
        "{given} 与结果的检查日期（{day}）不一致：检查日期只需在结果中填写一次",
    ),
    Message(
        "already recorded as credit event {id}; a second event of this type and day needs "
        "the document number that tells it apart",
        "已登记为信用事件（编号 {id}）：同一类型、同一日期的另一事件须填写能区分它的文号",
    ),
    Message(
        "'{code}' says nothing was inspected, but sample or inspection data was given: "
        "choose the conclusion of what was found, or leave the data out",
        "结论“{code}”表示未实施检查，却填写了抽样或检查数据：请选择与检查所见相符的结论，"
        "或删去这些数据",
    ),
    Message(
        "'no_problem' but the rules or the findings show a critical or major problem",
        "结论为“未发现问题”，但判定规则或检查发现存在严重或较重问题",
    ),
    Message("allowed: {types}", "允许的类型：{types}"),
    Message("{size} bytes; limit {limit}", "{size} 字节；上限 {limit}"),
    Message("content is not {type}", "内容不是 {type}"),
    Message("not base64", "不是 base64 编码"),
    Message("current version is {version}", "当前版本为 {version}"),
    # credit events and ratings
    Message(
        "a positive event (certification, award) has severity 'positive'",
        "正面事件（认证、奖励）的严重程度应为“positive”",
    ),
    Message(
        "a negative event needs critical, major or minor",
        "负面事件的严重程度应为 critical、major 或 minor",
    ),
    Message("must be after occurred_on", "必须晚于 occurred_on"),
    Message(
        "a positive event ({credit_type}) has nothing to repair",
        "{credit_type}属正面事件，无需信用修复",
    ),
    Message("between {low} and {high}", "应在 {low} 至 {high} 之间"),
    Message(
        "no early repair of a {credit_severity} {credit_type} in {sectors}",
        "{sectors}行业的{credit_severity}{credit_type}不可提前修复",
    ),
    Message(
        "stops counting on {ends}, before a repair may ({earliest})",
        "该事件于 {ends} 停止计分，早于可修复日期（{earliest}）",
    ),
    Message("before {ends}, when the event stops counting", "早于事件停止计分的日期 {ends}"),
    Message(
        "not before {earliest} ({term} after {occurred})",
        "不得早于 {earliest}（{occurred} 后 {term}）",
    ),
    Message(
        "before {earliest}, the first day a credit repair may end it ({term} after occurred_on)",
        "早于 {earliest}，即最早可信用修复之日（发生日期后 {term}）",
    ),
    Message(
        "before {ends}, the end of its full term: no early repair of a {credit_severity} "
        "{credit_type} in {sectors}",
        "早于 {ends}（完整有效期届满）：{sectors}行业的{credit_severity}{credit_type}不可提前修复",
    ),
    Message(
        "must be left out: no early repair of a {credit_severity} {credit_type} in "
        "{sectors}, and it counts until removed",
        "不得指定：{sectors}行业的{credit_severity}{credit_type}不可提前修复，且长期有效",
    ),
    Message(
        "before {ends}, when its default term ends: no credit repair may end it sooner "
        "({term} after occurred_on)",
        "早于 {ends}（默认有效期届满）：发生日期后 {term}内不可信用修复",
    ),
    Message("no finished scoring run {run}", "没有已完成的评分批次 {run}"),
    Message(
        "made for scoring run {run}, not run {other}; start again without one",
        "该游标属于评分批次 {run}，而不是 {other}；请不带游标重新开始",
    ),
    Message(
        "made with other filters (tier, sector, region, status, q); start again without one",
        "该游标使用了不同的筛选条件（tier、sector、region、status、q）；请不带游标重新开始",
    ),
    Message("scoring run {run} names no stored model", "评分批次 {run} 没有对应的已存模型"),
    Message("no judged results from {start} to {end}", "{start} 至 {end} 期间没有已判定的检查结果"),
    Message(
        "{positives} positives of {rows}",
        "{rows} 次检查中有 {positives} 次发现严重或较重问题",
    ),
    Message("none", "无"),
    Message("xlsx holds at most {rows} rows; use csv", "xlsx 最多容纳 {rows} 行；请使用 csv"),
    # disclosure
    Message("{day} is listed as both", "{day} 同时出现在两个列表中"),
    Message("your scope is {scope}", "您的权限范围是 {scope}"),
    Message("2000-2100", "2000 至 2100"),
    Message("{date} is not in the year {year}", "{date} 不在 {year} 年内"),
    # uploads (imports)
    Message("form says {form}, query says {query}", "表单为 {form}，查询参数为 {query}"),
    Message("one of {choices}", "可选：{choices}"),
    Message("line {line}: {detail}", "第 {line} 行：{detail}"),
    Message("first sheet of the .xlsx: {detail}", ".xlsx 的第一个工作表：{detail}"),
    Message(
        "Excel 97-2003 (.xls) format; use .xlsx or CSV",
        "Excel 97-2003（.xls）格式；请使用 .xlsx 或 CSV",
    ),
    Message("binary data in a CSV", "CSV 中含有二进制数据"),
    Message("no header row", "没有表头行"),
    Message(
        "unpacked size over the limit (possible zip bomb)", "解压后大小超过上限（可能是 zip 炸弹）"
    ),
    Message(
        "compression ratio over the limit (possible zip bomb)", "压缩比超过上限（可能是 zip 炸弹）"
    ),
    Message("no xl/workbook.xml in the archive", "压缩包中没有 xl/workbook.xml"),
    Message("not a zip/xlsx archive", "不是 zip/xlsx 文件"),
    Message(
        "unknown text encoding; save as UTF-8 or GBK CSV",
        "无法识别文本编码；请另存为 UTF-8 或 GBK 编码的 CSV",
    ),
    Message("at most {rows} data rows per file", "每个文件最多 {rows} 行数据"),
    Message("unreadable: {detail}", "无法读取：{detail}"),
    Message(
        "{value} is not 'severity:description' (severity: {severities})",
        "{value} 不是“严重程度:描述”格式（严重程度：{severities}）",
    ),
    Message(
        "{value} is not a severity ({severities})", "{value} 不是有效的严重程度（{severities}）"
    ),
    Message(
        "identical (SHA-256 {digest}) to import {other}",
        "与导入 {other} 完全相同（SHA-256 {digest}）",
    ),
    Message(
        "identical (SHA-256 {digest}) to a file already imported",
        "与已导入的文件完全相同（SHA-256 {digest}）",
    ),
    Message(
        "an unfinished upload used this key with another file",
        "一个未完成的上传已用此键上传了另一个文件",
    ),
    Message("in use by an upload not yet finished", "正被一个尚未完成的上传使用"),
    Message(
        "the database took longer than {limit} ms (STATEMENT_TIMEOUT_MS)",
        "数据库执行超过 {limit} 毫秒（STATEMENT_TIMEOUT_MS）",
    ),
    Message(
        "in use by an upload not yet finished (import {id})",
        "正被一个尚未完成的上传使用（导入 {id}）",
    ),
    Message("unknown sector {sector}", "未知行业 {sector}"),
    Message("no upload template", "没有上传模板"),
    Message("not in the template: {columns}", "不在模板中：{columns}"),
    Message("missing: {columns}", "缺少：{columns}"),
    Message("repeated: {columns}", "重复：{columns}"),
    Message("longer than {limit} characters", "超过 {limit} 个字符"),
    Message(
        "more cells than the header has columns (from {cell} on)",
        "单元格数多于表头的列数（从 {cell} 起）",
    ),
    Message("{cell} holds a value but its column has no header", "{cell} 有值，但所在列没有表头"),
    Message(
        "{cell} is a formula without a computed value: open and save the file in Excel, "
        "or paste values",
        "{cell} 是没有计算结果的公式：请用 Excel 打开并保存该文件，或粘贴为数值",
    ),
    Message(
        "{cells} is merged: unmerge and fill each cell",
        "{cells} 是合并单元格：请取消合并并逐格填写",
    ),
    Message(
        "{cell} is formatted as a percentage, which Excel stores divided by 100 (98.6% as "
        "0.986): type the number without %, in a cell formatted as a number",
        "{cell} 为百分比格式，Excel 会将其除以 100 保存（98.6% 存为 0.986）：请去掉 %，"
        "在数值格式的单元格中填写数字",
    ),
    Message("not a task number", "不是有效的任务编号"),
    Message(
        "the template's example row: delete it before uploading", "模板中的示例行：请删除后再上传"
    ),
    Message("no such task in your scope", "您的权限范围内没有该任务"),
    Message("the plan is closed", "该计划已关闭"),
    Message("task superseded by a re-draw", "该任务已因重新抽取而作废"),
    Message("sector plugin could not read the row: {detail}", "行业插件无法读取该行：{detail}"),
    # a plugin fault (judging.PluginFault) met by one row of an upload is that row's error
    Message(
        "sector plugin '{name}' {version} failed: {detail}",
        "行业插件 {name} {version} 出错：{detail}",
    ),
    Message(
        "{value} cannot be stored: the database connection's encoding is {encoding}",
        "{value} 无法保存：数据库连接的编码为 {encoding}",
    ),
)


def catalogue(app: Flask | None = None) -> Catalogue:
    """The app's catalogue: the library's, the core's and every enabled plugin's reasons,
    built once per app (plugins are fixed when the app is made)."""
    app = app or (current_app._get_current_object() if has_app_context() else None)  # type: ignore[attr-defined]
    if app is None:
        return _CORE
    found = app.extensions.get("inspect_messages")
    if found is None:
        found = app.extensions["inspect_messages"] = catalogue_of(app.extensions["inspect_plugins"])
    return found


def catalogue_of(pm: Any) -> Catalogue:
    """The library's, the core's and the reasons of every plugin in ``pm``."""
    plugin_messages = [m for answer in pm.hook.inspect_messages() for m in answer]
    return Catalogue([*LIBRARY_MESSAGES, *CORE_MESSAGES, *plugin_messages])


_CORE = Catalogue([*LIBRARY_MESSAGES, *CORE_MESSAGES])
