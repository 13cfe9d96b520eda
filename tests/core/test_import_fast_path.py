"""The bulk upload's shortcuts around marshmallow and the plugin, held to the slow path."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from inspect_core.imports.service import fast_result_data
from inspect_core.judging import Judger
from inspect_core.plugin_api import hookimpl
from inspect_core.plugin_manager import make_plugin_manager
from inspect_core.results.models import RESULT_CODES
from inspect_core.results.schemas import ResultInSchema

record = st.fixed_dictionaries(
    {
        "sector": st.sampled_from(["food", "x" * 41, 5]),
        "conclusion_code": st.sampled_from([*RESULT_CODES, "整改", "", None, 3]),
        "payload": st.sampled_from([{"a": 1}, {}, None, [1], "text"]),
    },
    optional={
        "inspected_on": st.sampled_from(
            ["2026-11-25", "2026-02-30", "20261125", "2026-1-5", "", None, dt.date(2026, 1, 1)]
        ),
        "findings": st.just([{"severity": "minor", "description": "x"}]),
    },
)


@settings(max_examples=400, deadline=None)
@given(data=record)
def test_fast_result_data_is_the_schema_or_nothing(data):
    fast = fast_result_data(data)
    try:
        loaded = ResultInSchema().load(dict(data))
    except ValidationError:
        assert fast is None, data
        return
    if fast is not None:
        assert fast == loaded
        assert list(fast) == list(loaded)


def test_fast_result_data_takes_plain_rows():
    data = {"sector": "food", "conclusion_code": "no_problem", "inspected_on": "2026-11-25",
            "payload": {"a": 1}}  # fmt: skip
    assert fast_result_data(data) == ResultInSchema().load(data)


class Broken:
    """A plugin whose fast path misbehaves in each way the core must survive."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    @hookimpl
    def inspect_judge_rows(self, sector, rows, context):
        if self.mode == "raise":
            raise RuntimeError("bug")
        if self.mode == "short":
            return [None]
        return [("not a pair",) for _ in rows]


def test_a_misbehaving_fast_path_only_costs_speed():
    rows = [{"sample_no": "S"}, {"sample_no": "T"}]
    for mode in ("raise", "short", "malformed"):
        pm = make_plugin_manager(("food",))
        pm.register(Broken(mode), name=f"broken-{mode}")
        judger = Judger(pm, "food", {})
        # the broken plugin answers first (registered last): every row is declined
        assert judger.judge_rows(rows, {"recorded_on": None}) == [None, None], mode


def test_bulk_encoding_writes_the_text_the_api_path_stores():
    """Bulk uploads encode the plugin's dataclasses and loaded payloads straight to JSON;
    the text must be what ``judgement_json``/``_jsonable`` give, for every built-in."""
    from inspect_core.db import json_dumps
    from inspect_core.judging import _jsonable, judgement_json

    pm = make_plugin_manager(("food", "drugs", "special_equipment", "construction"))
    for code in ("food", "drugs", "special_equipment", "construction"):
        columns = pm.hook.inspect_template_columns(sector=code)
        row = {c.name: c.example for c in columns if c.example not in (None, "")}
        payload = pm.hook.inspect_payload_schema(sector=code)().load(
            pm.hook.inspect_payload_from_row(sector=code, row=row)
        )
        # an upload's 检查日期 column is the result's date and the payload's alike
        day = payload.get("inspected_on") or dt.date(2026, 11, 25)
        judgement = pm.hook.inspect_judge(
            sector=code,
            payload=payload,
            context={"config": {}, "recorded_on": dt.date(2026, 11, 25),
                     "inspected_on": day, "uscc": "", "sectors": [code]},
        )  # fmt: skip
        assert judgement.items, code
        assert json_dumps(judgement) == json_dumps(judgement_json(judgement)), code
        assert json_dumps(payload) == json_dumps(_jsonable(payload)), code


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.text(max_size=14),
            st.sampled_from(
                [" 2026/11/25", "2026年11月25日 ", "２０２６-1-5", "0.12 ", "  ", "ND"]
            ),
            st.integers(),
            st.floats(allow_nan=False),
            st.none(),
        ),
        min_size=3,
        max_size=3,
    )
)
def test_reading_a_row_is_normalise_cell_on_each_cell(cells):
    """records_of's shortcut for plain ASCII cells gives what normalise_cell gives."""
    from inspect_core.imports import reader

    limits = reader.Limits(10**9, 10**9, 10, 10**9, 10**9)
    [(_, record, _, problems)] = list(
        reader.records_of(["a", "b", "c"], [(2, cells)], ["a", "b", "c"], limits)
    )
    expected = {f: reader.normalise_cell(v) for f, v in zip("abc", cells, strict=True)}
    too_long = {f for f, v in expected.items() if isinstance(v, str) and len(v) > 10}
    assert record == {f: v for f, v in expected.items() if v is not None and f not in too_long}
    assert {p[0] for p in problems} == too_long


def test_a_fast_path_payload_the_store_cannot_hold_goes_the_per_row_way():
    """A payload number past what the JSON columns hold (64-bit integers) is declined on
    the fast path too, so the per-row path refuses it naming the field, not the store."""
    pm = make_plugin_manager(("food",))
    columns = pm.hook.inspect_template_columns(sector="food")
    row = {c.name: c.example for c in columns if c.example not in (None, "")}
    context = {"recorded_on": dt.date(2026, 11, 25)}
    (fine,) = Judger(pm, "food", {}).judge_rows([row], context)
    assert fine is not None

    class Huge:
        @hookimpl
        def inspect_judge_rows(self, sector, rows, context):
            return [({**fine.payload, "count": 10**30}, fine.judgement) for _ in rows]

    pm.register(Huge(), name="huge")
    assert Judger(pm, "food", {}).judge_rows([row], context) == [None]
