"""``finding_weight`` in an event log: how much an event's findings count (1 / the
strictness of the team that made them, issue #5), on the CSV path as on the database's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.errors import ScoringDataError
from scoring.features import build_features

EVENTS = pd.DataFrame(
    {
        "enterprise_id": [1, 1, 2],
        "date": ["2024-01-10", "2024-03-01", "2024-03-01"],
        "critical_count": [1, 0, 1],
        "serious_count": [0, 2, 0],
        "minor_count": [3, 1, 0],
        "failed": [1, 1, 1],
    }
)
ROWS = pd.DataFrame({"enterprise_id": [1, 2], "as_of": ["2024-06-01", "2024-06-01"]})


def test_a_weight_scales_findings_but_not_the_check_or_its_failure():
    whole = build_features(EVENTS, ROWS)
    net = build_features(EVENTS.assign(finding_weight=[0.5, 0.8, 1.0]), ROWS)
    one = net.iloc[0]
    assert one["last_serious"] == pytest.approx(2 * 0.8)
    assert one["last_minor"] == pytest.approx(0.8)
    age = np.array([143.0, 92.0])  # days before 2024-06-01
    decay = np.exp2(-age / 180.0)
    assert one["decay_critical_180d"] == pytest.approx(0.5 * decay[0])
    assert one["decay_minor_180d"] == pytest.approx(3 * 0.5 * decay[0] + 0.8 * decay[1])
    for name in (
        "decay_inspections_180d",
        "decay_failed_180d",
        "last_failed",
        "n_prior",
        "days_since_last",
        "last_result",
    ):
        assert one[name] == whole.iloc[0][name], name
    # a weight of 1 changes nothing
    pd.testing.assert_series_equal(net.iloc[1], whole.iloc[1])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "strict"])
def test_a_weight_that_is_not_a_number_of_at_least_zero_is_named(bad):
    with pytest.raises(ScoringDataError, match="finding_weight") as refused:
        build_features(EVENTS.assign(finding_weight=[1.0, bad, 1.0]), ROWS)
    assert "finding_weight 须为" in refused.value.message_zh
