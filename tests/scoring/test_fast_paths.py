"""The array-wise shortcuts rescoring takes give what the plain definitions give: the last
event (a stable sort keeping the last row), categorical codes (a lookup per value), and
the scorecard's points and reasons (its points table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.features import _last_events, encode_categoricals
from scoring.scorecard import Scorecard

pair_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # _row
        st.integers(0, 4),  # day: few values, so many ties
        st.sampled_from([0.0, 1.0, 2.0, np.inf]),  # critical_count
        st.sampled_from([0.0, 1.0, 3.5]),  # serious_count
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(rows=pair_rows)
def test_last_event_is_what_a_stable_sort_keeping_the_last_row_gives(rows):
    pairs = pd.DataFrame(rows, columns=["_row", "day", "critical_count", "serious_count"])
    pairs["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(pairs["day"], unit="D")
    pairs["position"] = np.arange(len(pairs))
    expected = (
        pairs.sort_values(["_row", "date", "critical_count", "serious_count"])
        .drop_duplicates("_row", keep="last")
        .set_index("_row")["position"]
    )
    rows_with, at = _last_events(pairs)
    assert rows_with.tolist() == expected.index.tolist()
    assert at.tolist() == expected.tolist()


def test_codes_are_looked_up_as_text_per_value_whatever_the_type():
    frame = pd.DataFrame(
        {
            "mixed": pd.Series([1, 1.0, "1", None, np.nan, "a", True, pd.NA, "zz"], dtype=object),
            "text": ["b", "a", None, "b", "c", "a", "a", "b", "x"],
        }
    )
    vocabulary = {"mixed": ("1", "1.0", "True", "a"), "text": ("a", "b", "c"), "absent": ("q",)}
    got = encode_categoricals(frame, vocabulary)
    for column in ("mixed", "text"):
        mapping = {v: float(i) for i, v in enumerate(vocabulary[column])}
        expected = [mapping.get(str(v), -1.0) if pd.notna(v) else np.nan for v in frame[column]]
        np.testing.assert_array_equal(got[column].to_numpy(), np.array(expected, dtype=float))
    assert "absent" not in got.columns


def test_explain_gives_the_points_and_the_reason_codes():
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500),
                      "c": rng.integers(0, 4, 500).astype(float)})  # fmt: skip
    X.loc[rng.random(500) < 0.1, "b"] = np.nan
    y = (X["a"] + 0.5 * X["c"] + rng.normal(size=500) > 1).astype(int).to_numpy()
    sc = Scorecard().fit(X, y)
    table_best = sc.points_table().groupby("variable", sort=False)["points"].max()
    np.testing.assert_array_equal(sc.best_points(), table_best[sc.feature_names_].to_numpy())
    points, order, lost = sc.explain(X, n=2)
    np.testing.assert_array_equal(points, sc.points(X))
    for i, reasons in enumerate(sc.reason_codes(X, n=2)):
        kept = [j for j in order[i] if lost[i, j] > 1e-9]
        assert [r["feature"] for r in reasons] == [sc.feature_names_[j] for j in kept]
        assert [r["points_lost"] for r in reasons] == [float(lost[i, j]) for j in kept]
