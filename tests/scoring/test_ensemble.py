"""The ensemble risk model: scikit-learn conventions, calibration, the inspector as an
additive effect that the net risk averages out, and reason codes that add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from scoring.ensemble import EnsembleRiskModel, resolve_columns
from scoring.labels import feature_label
from scoring.persistence import ModelBundle, dumps, loads

#: simulated inspector strictness in log-odds (strict, average, lenient)
SHIFTS = np.array([1.0, 0.0, -1.0])


def simulated(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Enterprise risk from two variables; a randomly drawn inspector shifts the log-odds."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "decay_critical_180d": rng.exponential(0.5, n),
            "days_since_last": rng.uniform(30, 900, n),
            "facility_type": rng.integers(0, 3, n).astype(float),
            "inspector": rng.integers(0, 3, n).astype(float),
        }
    )
    X.loc[rng.random(n) < 0.1, "days_since_last"] = np.nan
    logit = (
        -2.0
        + 1.2 * X["decay_critical_180d"]
        + 0.4 * (X["facility_type"] == 1)
        + SHIFTS[X["inspector"].astype(int)]
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


def model(**params) -> EnsembleRiskModel:
    defaults = {
        "categorical_features": ["facility_type", "inspector"],
        "effect_features": ["inspector"],
        "max_iter": 60,
        "learning_rate": 0.1,
        "min_samples_leaf": 50,
        "calibration_cv": 2,
        "random_state": 0,
    }
    return EnsembleRiskModel(**{**defaults, **params})


@parametrize_with_checks(
    [EnsembleRiskModel(max_iter=5, min_samples_leaf=5, calibration_cv=2, random_state=0)]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def fitted() -> tuple[EnsembleRiskModel, pd.DataFrame, np.ndarray]:
    """One model fitted on simulated data, shared by the read-only tests below."""
    X, y = simulated()
    return model().fit(X, y), X, y


def test_probabilities_are_calibrated_on_new_data(fitted):
    est, _, _ = fitted
    X_new, y_new = simulated(4000, seed=7)
    p = est.predict_proba(X_new)[:, 1]
    assert abs(p.mean() - y_new.mean()) < 0.02
    bins = np.quantile(p, [0, 0.25, 0.5, 0.75, 1.0])
    codes = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, 3)
    for b in range(4):  # reliability per quartile of predicted risk
        assert abs(p[codes == b].mean() - y_new[codes == b].mean()) < 0.06


def test_inspector_effects_recover_the_simulated_strictness(fitted):
    est, _, _ = fitted
    table = est.effects().set_index("level")
    shifts = table.loc[[0.0, 1.0, 2.0], "log_odds_shift"].to_numpy()
    assert shifts[0] > shifts[1] > shifts[2]
    # simulated gaps are 1.0 log-odds each; boosting and the ridge shrink them somewhat
    assert shifts[0] - shifts[2] == pytest.approx(2.0, abs=0.6)
    assert float(np.dot(table["share"], table["log_odds_shift"])) == pytest.approx(0, abs=1e-9)


def test_net_risk_does_not_depend_on_the_inspector(fitted):
    est, X, _ = fitted
    head = X.head(200)
    net = est.predict_net_proba(head)[:, 1]
    for level in (0.0, 1.0, 2.0):
        np.testing.assert_allclose(est.predict_net_proba(head.assign(inspector=level))[:, 1], net)
    # the gross risk does depend on it, strict above lenient
    strict = est.predict_proba(head.assign(inspector=0.0))[:, 1]
    lenient = est.predict_proba(head.assign(inspector=2.0))[:, 1]
    assert np.all(strict > lenient)


def test_contributions_add_up_to_the_log_odds(fitted):
    est, X, _ = fitted
    head = X.head(50)
    phi = est.contributions(head, n_permutations=3)
    reference = est.decision_function(pd.DataFrame([est.reference_], columns=X.columns))
    np.testing.assert_allclose(
        phi.sum(axis=1), est.decision_function(head) - reference[0], atol=1e-9
    )
    # the variable that drives the simulated risk carries the largest contributions
    assert np.abs(phi).mean(axis=0).argmax() in (0, 3)


def test_reason_codes_are_bilingual_and_ordered(fitted):
    est, X, _ = fitted
    reasons = est.reason_codes(X.head(30), n=3)
    assert len(reasons) == 30
    for row in reasons:
        assert len(row) <= 3
        values = [r["contribution"] for r in row]
        assert values == sorted(values, reverse=True) and all(v > 0 for v in values)
        for r in row:
            zh, en = feature_label(r["feature"])
            assert zh in r["text_zh"] and en in r["text_en"]
    assert any(row for row in reasons)


def test_save_and_load_give_identical_probabilities(fitted):
    est, X, _ = fitted
    bundle = ModelBundle(
        est, "ensemble", "test-1", list(X.columns), {}, ("2014-01-01", "2014-09-01")
    )
    back = loads(dumps(bundle)).estimator
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict_net_proba(X), est.predict_net_proba(X))


def test_bad_parameters_are_named():
    X, y = simulated(300)
    with pytest.raises(ValueError, match="effect_features must also be categorical"):
        model(categorical_features=["facility_type"]).fit(X, y)
    with pytest.raises(ValueError, match="blend"):
        model(blend=1.5).fit(X, y)
    with pytest.raises(ValueError, match="not a feature"):
        resolve_columns(["nope"], 2, ["a", "b"])
    with pytest.raises(ValueError, match="out of range"):
        resolve_columns([5], 2, None)


def test_an_all_missing_column_is_ignored_not_fatal():
    """A context column nobody filled (e.g. months without weather data) must not break fit."""
    X, y = simulated(600)
    X["temperature_max"] = np.nan
    est = model(max_iter=20).fit(X, y)
    p = est.predict_proba(X)[:, 1]
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, est.predict_proba(X.assign(temperature_max=50.0))[:, 1])
