"""zh-CN for field-level reasons (inspect_core.i18n): the catalogue's matching, and that
every reason written in the core's and the built-in plugins' source has an entry."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from inspect_core import i18n
from inspect_core.i18n import Catalogue
from inspect_core.plugin_api import Message
from inspect_core.plugin_manager import make_plugin_manager
from inspect_core.testing import source_reasons, untranslated_in_source, untranslated_reasons

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ("food", "drugs", "special_equipment", "construction")
CJK = re.compile(r"[\u4e00-\u9fff]")


def fields_of(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_exact_and_patterned_reasons_are_translated():
    catalogue = Catalogue(
        [
            Message("must not be blank", "不能为空"),
            Message("larger than {n} bytes", "超过 {n} 字节"),
        ]
    )
    assert catalogue.zh("must not be blank") == "不能为空"
    assert catalogue.zh("larger than 200 bytes") == "超过 200 字节"
    assert catalogue.zh("larger than bytes") is None  # a placeholder stands for some text
    assert catalogue.zh("must not be blank!") is None  # the whole reason must match


def test_credit_codes_in_a_reason_read_as_their_zh_cn_names():
    """A credit refusal's reason names the event by its codes; its zh-CN showed them too
    ("food 行业的 major 级 abnormal_operations").  A rule matching any sector reads
    任何行业."""
    core = i18n.catalogue()
    assert core.zh("no early repair of a major abnormal_operations in any sector") == (
        "任何行业的较重列入经营异常名录不可提前修复"
    )
    assert core.zh("a positive event (quality_award) has nothing to repair") == (
        "质量奖属正面事件，无需信用修复"
    )


def test_the_most_specific_pattern_wins():
    catalogue = Catalogue(
        [
            Message("before {date}", "早于 {date}"),
            Message("before {ends}, when the event stops counting", "早于停止计分日 {ends}"),
        ]
    )
    assert catalogue.zh("before 2026-01-01, when the event stops counting") == (
        "早于停止计分日 2026-01-01"
    )
    assert catalogue.zh("before 2026-01-01") == "早于 2026-01-01"


def test_a_placeholder_met_twice_must_match_the_same_text():
    catalogue = Catalogue([Message("{a} equals {a}", "{a} 等于自身")])
    assert catalogue.zh("x equals x") == "x 等于自身"
    assert catalogue.zh("x equals y") is None


def test_a_placeholder_must_be_a_name():
    with pytest.raises(ValueError, match="not a name"):
        Catalogue([Message("over {0}", "超过 {0}")])


@pytest.mark.untranslated
def test_an_unknown_reason_keeps_its_english_and_is_reported():
    catalogue = Catalogue([])
    with untranslated_reasons() as missing:
        assert catalogue.translate("a reason nobody wrote down") == "a reason nobody wrote down"
        # a name or code in place of a reason ({"plugin": ["food_lab"]}) is the same in zh
        assert catalogue.translate("food_lab") == "food_lab"
    assert missing == ["a reason nobody wrote down"]


def test_errors_keep_their_shape_and_bilingual_entries():
    catalogue = Catalogue([Message("not a number", "不是数字")])
    errors = {
        "items": {"0": {"value": ["not a number"]}},
        "draw": [{"code": "empty_scope", "message": "No enterprise.", "message_zh": "无企业。"}],
    }
    assert catalogue.errors(errors) == {
        "items": {"0": {"value": ["不是数字"]}},
        "draw": [{"code": "empty_scope", "message": "No enterprise.", "message_zh": "无企业。"}],
    }


def test_a_row_reason_for_a_field_inside_a_column_keeps_its_path():
    catalogue = Catalogue(i18n.LIBRARY_MESSAGES)
    assert catalogue.row_reason("items.0.value: Not a valid number.") == (
        "items.0.value: 不是有效的数字"
    )
    assert catalogue.row_reason("Not a valid number.") == "不是有效的数字"


def test_marshmallow_reasons_as_marshmallow_words_them():
    from marshmallow import Schema, ValidationError, fields, validate

    class Probe(Schema):
        n = fields.Integer(required=True, validate=validate.Range(min=1, max=9))
        m = fields.Integer(validate=validate.Range(min=0, min_inclusive=False))
        s = fields.String(validate=validate.Length(max=3))
        c = fields.String(validate=validate.OneOf(["a", "b"]))
        d = fields.Date()
        x = fields.Float()

    catalogue = Catalogue(i18n.LIBRARY_MESSAGES)
    bad = {"n": 10, "m": 0, "s": "long", "c": "z", "d": "2026-02-30", "x": "nan", "y": 1}
    with pytest.raises(ValidationError) as caught:
        Probe().load(bad)
    translated = catalogue.errors(caught.value.messages)
    assert translated["n"] == ["必须大于或等于 1 且小于或等于 9"]
    assert translated["m"] == ["必须大于 0"]
    assert translated["s"] == ["长度不能超过 3"]
    assert translated["c"] == ["必须是以下之一：a, b"]
    assert translated["d"] == ["不是有效的日期"]
    assert translated["x"] == ["不允许特殊数值（NaN 或无穷大）"]
    assert translated["y"] == ["未知字段"]
    with pytest.raises(ValidationError) as caught:
        Probe().load({})
    assert catalogue.errors(caught.value.messages) == {"n": ["缺少必填字段"]}


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param(i18n.LIBRARY_MESSAGES, id="library"),
        pytest.param(i18n.CORE_MESSAGES, id="core"),
        *(
            pytest.param(m, id=code)
            for code in BUILT_IN
            for m in make_plugin_manager((code,)).hook.inspect_messages()
        ),
    ],
)
def test_every_entry_is_zh_cn_and_shows_only_its_own_placeholders(messages):
    assert messages
    english = [m.en for m in messages]
    assert len(english) == len(set(english)), "an English reason listed twice"
    for m in messages:
        assert CJK.search(m.zh), f"{m.en!r}: {m.zh!r} is not zh-CN"
        assert fields_of(m.zh) <= fields_of(m.en), f"{m.en!r}: zh shows a field en lacks"
        Catalogue([m])  # every placeholder is a name


#: literals the scanner finds that are data, not reasons
NOT_REASONS = {
    "completion",  # config: the acceptance-rate programme key
    "critical",  # config: a severity list
    "active",  # demo: enterprise status
    "food",  # an example sector list in the OpenAPI document
    "stored draw used …; this is …",  # a verification's error, reported as data
}


def test_every_reason_in_the_core_source_has_an_entry():
    missing = untranslated_in_source(
        make_plugin_manager(()),
        sorted((ROOT / "inspect_core").rglob("*.py")),
        ignore=NOT_REASONS,
    )
    assert missing == []


@pytest.mark.parametrize("code", BUILT_IN)
def test_every_reason_in_a_built_in_plugin_has_an_entry(code):
    missing = untranslated_in_source(
        make_plugin_manager(BUILT_IN),
        sorted((ROOT / "plugins" / code).rglob("*.py")),
        ignore=NOT_REASONS,
    )
    assert missing == []


def test_the_scanner_finds_every_kind_of_reason(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "def f(n):\n"
        "    raise ValidationError(f'over {n}')\n"
        "def g():\n"
        "    raise RuleInputError('items.0', 'unknown unit')\n"
        "errors = {'a': ['must not be blank']}\n"
        "errors['b'] = [f'line {1}: bad']\n"
        "r = validate.Regexp('x', error='letters only')\n",
        encoding="utf-8",
    )
    assert [text for _, text in source_reasons(source)] == [
        "over …",
        "unknown unit",
        "must not be blank",
        "line …: bad",
        "letters only",
    ]


def test_a_field_named_message_zh_is_translated_like_any_other():
    """Only an entry whose ``message_zh`` is its own zh-CN text (a draw's problem) is kept
    whole: a body's unknown field ``message_zh`` hid every other reason's zh-CN."""
    catalogue = Catalogue(i18n.LIBRARY_MESSAGES)
    errors = {"message_zh": ["Unknown field."], "established_on": ["Not a valid date."]}
    assert catalogue.errors(errors) == {
        "message_zh": ["未知字段"],
        "established_on": ["不是有效的日期"],
    }


def test_a_zh_cn_that_does_not_format_is_refused_when_declared():
    """A placeholder is matched text: ``{n:d}`` raised in the middle of an error response."""
    with pytest.raises(ValueError, match="does not format"):
        Catalogue([Message("over {n}", "超过 {n:d}")])
    with pytest.raises(ValueError, match="does not format"):
        Catalogue([Message("over {n}", "超过 {n!z}")])


def test_braces_of_an_exact_entry_read_the_same_as_a_patterns():
    catalogue = Catalogue(
        [Message("a {{b}}", "甲 {{乙}}"), Message("c {{d}} {e}", "丙 {{丁}} {e}")]
    )
    assert catalogue.zh("a {b}") == "甲 {乙}"
    assert catalogue.zh("c {d} 1") == "丙 {丁} 1"


def test_placeholders_side_by_side_are_refused():
    with pytest.raises(ValueError, match="tell them apart"):
        Catalogue([Message("{a}{b} over", "{a}{b} 超过")])


def test_a_long_reason_is_matched_without_backtracking():
    """A reason echoing a long value (an upload's header, a form field) against a pattern
    of several placeholders backtracked over every split (32,000 characters held a request
    for 24 s): each placeholder but the last is an atomic group, taking the text up to
    the first place its following literal text is found, so no split is tried twice."""
    from inspect_core.i18n import _pattern

    regex, _ = _pattern("{found} {grade} defects but only {checked} {grade} items were checked")
    assert regex.pattern.count("(?>") == 3  # every placeholder but the last
    catalogue = Catalogue(
        [
            Message(
                "{found} {grade} defects but only {checked} {grade} items were checked",
                "{grade} 类缺陷 {found} 项，但仅检查了 {checked} 项 {grade} 类项目",
            ),
            Message(
                "no early repair of a {severity} {type} in {sector}", "{sector} {severity} {type}"
            ),
            Message("unknown sector {sector}", "未知行业 {sector}"),
        ]
    )
    words = "a " * 50_000
    assert catalogue.zh(f"unknown sector '{words}'") == f"未知行业 '{words}'"
    assert catalogue.zh(f"no early repair of a {words}x") is None
    assert catalogue.zh("3 major defects but only 2 major items were checked") == (
        "major 类缺陷 3 项，但仅检查了 2 项 major 类项目"
    )
    assert catalogue.zh("3 major defects but only 2 minor items were checked") is None


def test_the_scanner_does_not_take_a_generic_entry_for_an_f_strings_own(tmp_path):
    """``f"cannot exceed {n} items"`` is scanned as ``"cannot exceed … items"``, which a
    generic ``"{first} … {last}"`` fits: the scan passed a reason the API shows in English
    only.  An entry fits an f-string only where each placeholder stands for a field."""
    import types

    generic = [
        Message("{first} … {last}", "{first} 至 {last}"),
        Message("{what} is not in {where}", "{what} 不在 {where} 中"),
    ]
    pm = types.SimpleNamespace(hook=types.SimpleNamespace(inspect_messages=lambda: [generic]))
    source = tmp_path / "probe.py"
    source.write_text(
        "def f(n, start, until):\n"
        "    raise ValidationError(f'cannot exceed {n} items')\n"
        "def g(start, until):\n"
        "    raise ValidationError(f'{start} … {until}')\n"
        "def h(n):\n"
        "    raise ValidationError(f'{n} is not in stock')\n"
        "def k(n, year):\n"
        "    raise ValidationError(f'{n} is not in {year}')\n",
        encoding="utf-8",
    )
    missing = untranslated_in_source(pm, [source])
    assert [m.split(": ", 1)[1] for m in missing] == [
        "'cannot exceed … items'",
        "'… is not in stock'",
    ]
