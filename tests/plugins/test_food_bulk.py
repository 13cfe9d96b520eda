"""The food plugin's bulk fast path (``inspect_judge_rows``) against its per-row path.

The fast path builds payloads without marshmallow and shares judged items across an
upload; these tests hold it to the per-row answer on generated rows, ordinary and odd.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_core.plugin_manager import make_plugin_manager
from inspect_core.testing import assert_fast_path_agrees
from plugins.food import bulk, rules

ANALYTES = ["Cd", "Pb", "Hg_total", "As_total", "enrofloxacin", "chloramphenicol", "sudan_I"]
CATEGORIES = ["cereal.rice.milled", "meat.fresh", "aquatic.fish", "egg", "veg", "nonsense"]


@pytest.fixture(scope="module")
def pm():
    return make_plugin_manager(("food",))


GOOD_VALUES = ["0.12", "0.10", "0.1", "0", "0.005", "250", "1.000", "ND", "未检出", "<0.01",
               " 0.2 ", 5, Decimal("0.2")]  # fmt: skip
GOOD_UNITS = ["mg/kg", "μg/kg", "ug/kg", "g/kg"]
#: per category, the analytes it has a limit for (so a plain row can be judged)
JUDGEABLE = {
    c: [a for a in ANALYTES if rules.default_table().find(a, c) is not None]
    for c in CATEGORIES[:-2]
}
#: odd cells: each either valid in a less usual spelling or invalid for the schema or rules
ODD = {
    "sample_no": ["", "  ", "x" * 65, 12345, None],
    "food_name": ["y" * 129, None],
    "food_category": ["nonsense", "veg", None],
    "sampling_date": [
        "2026/11/25",
        "20261125",
        "2026-02-30",
        "2026-1-5",
        dt.date(2026, 11, 25),
        "1900-01-01",
        None,
    ],
    "stage": ["流通", "销售", "餐饮环节", "market", None],
    "batch": ["z" * 65, "", "20240301"],
    "value": ["-1", "1e-3", ".5", "1,2", "abc", "<", "< 0.3", "", "NaN", "0.1.2", None, 1.5],
    "qualifier": ["", "ND", "nd", "<", ">", "未检出"],
    "unit": ["/25g", "", "bogus", "x" * 17, None],
    "lod": ["-0.01", "abc", "", None, "1e-2"],
    "loq": ["0.03", "-1", "x"],
    "method": ["", "m" * 129],
    "standard": ["GB 2762-2017", "GB2762", "s" * 129],
    "item": ["unknown_thing", "x" * 65, "", None],
    "business_risk.static_score": ["12.5", "41", "-1", "x"],
    "business_risk.dynamic_score": ["30", "61"],
    "colour": ["red"],
}
ITEM_FIELDS = ("value", "qualifier", "unit", "lod", "loq", "method", "standard", "item")


@st.composite
def upload_row(draw: st.DrawFn) -> dict:
    """A valid row, then up to three odd cells: mostly rows the fast path should take, each
    odd cell a single step away from them."""
    row = {
        "sample_no": f"S-{draw(st.integers(0, 99))}",
        "food_name": "大米",
        "food_category": (category := draw(st.sampled_from(CATEGORIES[:-2]))),
        "sampling_date": "2026-11-25",
        "stage": draw(st.sampled_from(["circulation", "production", "catering"])),
    }
    groups = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4, unique=True))
    for n in groups:
        value = draw(st.sampled_from(GOOD_VALUES))
        row[f"items.{n}.item"] = draw(st.sampled_from(JUDGEABLE[category]))
        row[f"items.{n}.value"] = value
        row[f"items.{n}.unit"] = draw(st.sampled_from(GOOD_UNITS))
        row[f"items.{n}.lod"] = draw(st.sampled_from(["0.01", "0.001", "0.5"]))
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(sorted(ODD)))
        key = field
        if field in ITEM_FIELDS:
            key = f"items.{draw(st.sampled_from(groups))}.{field}"
        row[key] = draw(st.sampled_from(ODD[field]))
    return row


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(upload_row(), min_size=1, max_size=12))
def test_fast_path_equals_the_per_row_path(pm, rows):
    assert_fast_path_agrees(pm, "food", rows)


def test_generated_rows_exercise_both_paths(pm):
    """The generator is only useful if many of its rows are accepted and many declined."""
    import random

    rng = random.Random(7)

    def draw_like_upload_row() -> dict:
        row = {
            "sample_no": f"S-{rng.randint(0, 99)}",
            "food_name": "大米",
            "food_category": (category := rng.choice(CATEGORIES[:-2])),
            "sampling_date": "2026-11-25",
            "stage": rng.choice(["circulation", "production", "catering"]),
        }
        groups = rng.sample(range(7), rng.randint(1, 4))
        for n in groups:
            row[f"items.{n}.item"] = rng.choice(JUDGEABLE[category])
            row[f"items.{n}.value"] = rng.choice(GOOD_VALUES)
            row[f"items.{n}.unit"] = rng.choice(GOOD_UNITS)
            # mostly below the values: a banned substance's value under its LOD is refused
            row[f"items.{n}.lod"] = rng.choice(["0.001", "0.001", "0.01", "0.5"])
        for _ in range(rng.randint(0, 3)):
            field = rng.choice(sorted(ODD))
            key = f"items.{rng.choice(groups)}.{field}" if field in ITEM_FIELDS else field
            row[key] = rng.choice(ODD[field])
        return row

    accepted, declined = assert_fast_path_agrees(
        pm, "food", [draw_like_upload_row() for _ in range(400)]
    )
    assert accepted >= 100 and declined >= 100, (accepted, declined)


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(upload_row(), min_size=1, max_size=8),
    config=st.sampled_from(
        [
            {"comparison_method": "rounded"},
            {"nd_lod_above_limit": "fail", "banned_threshold": "loq"},
            {"severity": {"max": "critical"}},
        ]
    ),
)
def test_fast_path_agrees_under_district_config(pm, rows, config):
    assert_fast_path_agrees(pm, "food", rows, config)


def ordinary_rows(n: int) -> list[dict]:
    """Rows as a district office uploads them: plain text cells, ND results, decimals."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "sample_no": f"SC-{i}",
                "food_name": "大米",
                "food_category": "cereal.rice.milled",
                "sampling_date": "2026-11-20",
                "stage": ["circulation", "生产", "餐饮"][i % 3],
                "items.0.item": "Cd",
                "items.0.value": ["0.12", "0.25", "0.120", "ND"][i % 4],
                "items.0.unit": "mg/kg",
                "items.0.lod": "0.01",
                "items.1.item": "Pb",
                "items.1.value": "<0.05",
                "items.1.unit": "mg/kg",
                "items.2.item": "sudan_I",
                "items.2.value": "未检出",
                "items.2.unit": "mg/kg",
                "items.2.lod": "0.01",
            }
        )
    return rows


def test_ordinary_rows_take_the_fast_path(pm):
    accepted, declined = assert_fast_path_agrees(pm, "food", ordinary_rows(40))
    assert (accepted, declined) == (40, 0)


def test_a_row_sampled_after_the_upload_day_goes_the_per_row_way(pm):
    """The fast path knows only the upload's day: a row sampled after it is declined, so
    the per-row path, which knows the row's inspection date, names ``sampling_date``."""
    rows = ordinary_rows(2)
    rows[1]["sampling_date"] = "2999-01-01"
    answers = pm.hook.inspect_judge_rows(
        sector="food", rows=rows, context={"config": {}, "recorded_on": dt.date(2026, 11, 27)}
    )
    assert answers[0] is not None and answers[1] is None


def test_memo_keeps_exact_digits_apart():
    """0.120 and 0.12 are equal Decimals but are reported differently."""
    answers = bulk.judge_rows(ordinary_rows(4), {})
    measured = [a[1].items[0].measured for a in answers if a is not None]
    assert measured[0] == "0.12" and measured[2] == "0.120"


def test_item_memo_is_per_config():
    """A memo filled under one config is never consulted under another: judge_rows makes
    its own, so a district's override applies to every row of its upload."""
    rows = ordinary_rows(2)
    rounded = bulk.judge_rows(rows, {"comparison_method": "rounded"})
    full = bulk.judge_rows(rows, {})
    assert rounded[0][1].items[0].rule != full[0][1].items[0].rule
    book = rules.Rulebook({})
    assert book.judge(rounded[0][0]) == full[0][1]


def test_item_memo_lives_across_chunks_but_is_bounded(monkeypatch):
    """A large upload reaches the hook chunk by chunk: the memo of its config is kept for
    the next chunk, another config starts afresh, and a memo past the limit is dropped."""
    rows = ordinary_rows(8)
    bulk._MEMOS.clear()
    bulk.judge_rows(rows, {})
    kept = bulk._memo_for({})
    assert kept and bulk.judge_rows(rows, {})[0] is not None and bulk._memo_for({}) is kept
    bulk.judge_rows(rows, {"comparison_method": "rounded"})
    assert len(bulk._MEMOS) == 1 and bulk._memo_for({}) is not kept
    monkeypatch.setattr(bulk, "MEMO_LIMIT", 2)
    bulk.judge_rows(rows, {})
    assert len(bulk._memo_for({})) == 0
