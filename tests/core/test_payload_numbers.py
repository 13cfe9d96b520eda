"""The bulk path's walk for payload numbers out of range (judging._any_out_of_range)
answers as the error tree (nested_errors with _out_of_range) does, on any payload."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from inspect_core.errors import nested_errors
from inspect_core.judging import _any_out_of_range, _out_of_range, number_errors

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(lambda d, e: Decimal(d).scaleb(e), st.integers(-99, 99), st.integers(-1100, 1100)),
)
leaves = st.one_of(
    numbers, st.text(max_size=5), st.none(), st.booleans(), st.floats(), st.dates(),
    st.just(dt.datetime(2026, 11, 27, 8, 0)),
)  # fmt: skip
keys = st.one_of(  # hashable: a signalling NaN is not
    st.text(max_size=3), st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(allow_nan=False, allow_infinity=False),
)  # fmt: skip
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4).map(OrderedDict),
    ),
    max_leaves=20,
)


#: a payload is an object (the sector's schema loads one); a bare number at the top has
#: no field the error tree could name, so the two would differ there by construction
payloads = st.one_of(
    st.dictionaries(keys, trees, max_size=4),
    st.dictionaries(keys, trees, max_size=4).map(OrderedDict),
)


@given(payloads)
def test_the_walk_finds_what_the_error_tree_names(payload):
    assert _any_out_of_range(payload) == bool(nested_errors(payload, _out_of_range))
    assert number_errors(payload) == nested_errors(payload, _out_of_range)


def test_numbers_past_what_can_be_stored_are_found_at_any_depth():
    assert _any_out_of_range({"items": [{"value": Decimal("1E+1001")}]})
    assert _any_out_of_range({"items": ({"sampled": 2**63},)})
    assert _any_out_of_range({2**64: "a key"})
    assert not _any_out_of_range({"items": [{"value": Decimal("1E+1000"), "n": 2**63 - 1}]})
    assert not _any_out_of_range({"flag": True, "x": 1e308, "on": dt.date(2026, 1, 1)})
