"""The scoring estimators follow scikit-learn's conventions, persist exactly, and explain
themselves consistently; tiers and PSI behave as documented; features never leak."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.estimator_checks import parametrize_with_checks

from scoring import monitoring
from scoring.features import FeatureConfig, build_features
from scoring.model import RiskModel
from scoring.persistence import ModelBundle, dumps, loads
from scoring.scorecard import Scorecard
from scoring.tiers import assign, check_cutoffs, check_shares, cutoffs_for_shares


@parametrize_with_checks(
    [Scorecard(), RiskModel(max_iter=5, cv=2), RiskModel(max_iter=5, cv=2, ensemble=False)]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.integers(0, 4, n).astype(float)}
    )
    X.loc[rng.random(n) < 0.1, "b"] = np.nan
    y = (X["a"] + 0.5 * X["c"] + rng.normal(size=n) > 1).astype(int).to_numpy()
    return X, y


def test_scorecard_points_follow_risk_and_scaling_is_kept():
    X, y = data()
    sc = Scorecard(pdo=20, base_points=600, base_odds=50).fit(X, y)
    p = sc.predict_proba(X)[:, 1]
    points = sc.points(X)
    assert np.corrcoef(points, p)[0, 1] < -0.95  # more points, less risk
    # PDO: 20 points double the good:bad odds
    odds = (1 - p) / p
    slope = np.polyfit(np.log(odds), points, 1)[0]
    assert slope == pytest.approx(20 / np.log(2), rel=1e-6)
    assert sc.scaling()["pdo"] == 20
    table = sc.points_table()
    assert set(table["variable"]) == {"a", "b", "c"} and "missing" in set(table["bin"])


def test_reason_codes_add_up_with_the_points():
    X, y = data()
    sc = Scorecard().fit(X, y)
    best_total = sc.points_table().groupby("variable")["points"].max().sum()
    all_reasons = sc.reason_codes(X, n=3 * X.shape[1])
    for row_points, reasons in zip(sc.points(X), all_reasons, strict=True):
        assert sum(r["points_lost"] for r in reasons) == pytest.approx(
            best_total - row_points, abs=1e-6
        )
    top = sc.reason_codes(X, n=3)
    assert all(len(r) <= 3 for r in top)
    assert all(r[0]["points_lost"] >= r[-1]["points_lost"] for r in top if r)


def test_explain_ranks_only_eligible_reasons_and_the_score_is_unchanged():
    """A caller may rule a variable out as a row's reason (its text would be false there):
    the next variables take its place, the score and the bins' points do not change."""
    X, y = data()
    sc = Scorecard().fit(X, y)
    bins, best = sc.bins(X), sc.best_bins()
    table = sc.points_table()
    for j, name in enumerate(sc.feature_names_):  # best_bins is where best_points is
        points = table.loc[table["variable"] == name, "points"].to_numpy()
        assert points[best[j]] == pytest.approx(sc.best_points()[j])
        assert bins[:, j].max() < len(points)
    assert (sc.best_bins(finite=True) < [len(e) + 1 for e in sc.edges_]).all()
    eligible = np.ones(X.shape, dtype=bool)
    eligible[:, 0] = False  # "a" is never a reason
    scores, order, lost = sc.explain(X, n=2, eligible=eligible)
    plain_scores, _, plain_lost = sc.explain(X, n=2)
    np.testing.assert_allclose(scores, plain_scores)
    assert (lost[:, 0] == 0).all() and (lost[:, 1:] == plain_lost[:, 1:]).all()
    shown = np.take_along_axis(lost, order, axis=1)
    assert not ((order == 0) & (shown > 1e-9)).any()
    # rescoring hands over the bins it has already computed: the same answer
    given = sc.explain(X, n=2, eligible=eligible, bins=bins)
    for a, b in zip(given, (scores, order, lost), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(scores, sc.points(X))


def test_explain_gives_one_reason_per_family_and_the_score_is_unchanged():
    """Two variables measuring one thing (the same count, two half-lives) gave two of a
    row's three reasons: with ``families`` a row names each family once, by the member
    that lost the most, and the third reason is something else."""
    X, y = data()
    X["a2"] = X["a"] + np.random.default_rng(1).normal(scale=0.05, size=len(X))
    sc = Scorecard().fit(X, y)
    families = ["a", "b", "c", "a"]
    scores, order, lost = sc.explain(X, n=2, families=families)
    plain_scores, plain_order, plain_lost = sc.explain(X, n=2)
    np.testing.assert_allclose(scores, plain_scores)
    shown = np.take_along_axis(lost, order, axis=1) > 1e-9
    named = np.array(families)[order]
    both = shown.all(axis=1)
    assert (named[both, 0] != named[both, 1]).all()
    # the family's reason is the member that lost the most; the other reads 0
    pair = plain_lost[:, [0, 3]]
    kept = np.where(pair[:, 0] >= pair[:, 1], 0, 3)
    rows = np.arange(len(X))
    np.testing.assert_array_equal(lost[rows, kept], plain_lost[rows, kept])
    assert (lost[rows, 3 - kept] == 0).all()
    np.testing.assert_array_equal(lost[:, [1, 2]], plain_lost[:, [1, 2]])
    # without families the same rows did name "a" twice: the test can fail
    plain_named = np.array(families)[plain_order]
    assert (plain_named[:, 0] == plain_named[:, 1]).any()
    with pytest.raises(ValueError, match="3 family labels for 4 variables"):
        sc.explain(X, families=families[:3])


def test_a_nan_loss_does_not_push_out_its_familys_reason():
    """A NaN ``lost`` (an infinite WoE, ``smoothing=0``) is never ranked as a reason, but
    ``np.argmax`` took it as its family's largest: the member that did lose points was set
    to 0, and the row lost that reason."""
    from scoring.scorecard import _one_per_family

    lost = np.array([[np.nan, 2.0, 1.0], [3.0, np.nan, 0.0], [np.nan, np.nan, 4.0]])
    out = _one_per_family(lost, ["a", "a", "b"])
    np.testing.assert_array_equal(out[0], [0.0, 2.0, 1.0])
    np.testing.assert_array_equal(out[1], [3.0, 0.0, 0.0])
    assert np.isnan(out[2, 0]) and out[2, 1] == 0.0 and out[2, 2] == 4.0
    order = np.argsort(-out, axis=1)[:, :2]
    assert [int(j) for j in order[0]] == [1, 2]


def _mostly_zero_counts(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two decayed counts, zero for most rows (as failures are), and the outcome they
    drive; no missing values in training."""
    rng = np.random.default_rng(seed)
    n = 2000
    failed = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(1.0, n))
    minor = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(2.0, n))
    y = (rng.random(n) < 1 / (1 + np.exp(2.0 - 1.2 * failed - 0.2 * minor))).astype(int)
    return pd.DataFrame({"failed": failed, "minor": minor}), y


def test_a_count_that_is_mostly_zero_has_no_empty_bin_below_zero():
    """Quantile edges of a count that is mostly 0 include 0; the bin below it,
    "[-inf, 0)", held no row and was scored from the smoothing alone.  In the demo it
    was the best bin, so every enterprise with a little of the count "lost" points to it
    and was told "failed 0-0.36 times" as a reason."""
    X, y = _mostly_zero_counts()
    card = Scorecard().fit(X, y)
    table = card.points_table()
    assert not table["bin"].str.startswith("[-inf, 0)").any(), table
    for j, counts in enumerate(card.counts_):
        seen = counts[:-1] > 0  # the value bins
        assert seen.all(), (card.feature_names_[j], counts)
    # a row with no failures at all sits in the best bin of "failed": it loses nothing
    _, _, lost = card.explain(pd.DataFrame({"failed": [0.0], "minor": [0.0]}))
    assert lost[0, 0] == pytest.approx(0.0)


def test_a_count_that_is_zero_for_most_rows_still_tells_none_from_some():
    """Critical findings are 0 for nine enterprises in ten: every quantile edge fell on 0,
    the variable had one bin, and the scorecard ignored the strongest signal it had.
    0 now has a bin of its own once the values above it hold ``min_bin_share`` of rows."""
    rng = np.random.default_rng(0)
    n = 5000
    critical = np.where(rng.random(n) < 0.9, 0.0, rng.integers(1, 4, n).astype(float))
    y = (rng.random(n) < np.where(critical > 0, 0.45, 0.1)).astype(int)
    card = Scorecard().fit(pd.DataFrame({"critical": critical}), y)
    assert list(card.edges_[0][:1]) == [1.0], card.edges_
    none, some = card.points(pd.DataFrame({"critical": [0.0, 2.0]}))
    assert none > some + 20, (none, some)
    # too few rows above 0 for a bin of their own (0.5 % < 2 %): one bin, as before
    rare = np.where(np.arange(n) < n * 0.005, 1.0, 0.0)
    card = Scorecard().fit(pd.DataFrame({"critical": rare}), y)
    assert len(card.edges_[0]) == 0


def test_a_bin_no_training_row_fell_in_is_neutral_and_never_the_best():
    """No missing value in training: the missing-value bin has WoE 0 (no evidence), and
    the best bin a row's reasons are measured against is one that rows were seen in."""
    X, y = _mostly_zero_counts(1)
    card = Scorecard().fit(X, y)
    for j, woe in enumerate(card.woe_):
        assert card.counts_[j][-1] == 0 and woe[-1] == 0.0
        table = card.points_table()
        seen_points = table[table["variable"] == card.feature_names_[j]]["points"].to_numpy()
        assert card.best_points()[j] == pytest.approx(seen_points[:-1].max())
    # a model saved before bin counts were kept still explains (all bins count as seen)
    old = Scorecard().fit(X, y)
    del old.counts_
    assert np.isfinite(old.best_points()).all() and len(old.best_bins(finite=True)) == 2


def test_no_variable_scores_more_points_for_riskier_bins():
    """Two collinear counts (failures over 180 and over 730 days, the shorter one less
    telling once the longer is known) gave the shorter a negative coefficient, so its
    riskier bins scored more points: "more failed checks, better credit" in the points
    table.  That variable is dropped (its bins all score alike) and every coefficient is
    ≥ 0, so within each variable a riskier bin (higher WoE) never scores more."""
    rng = np.random.default_rng(0)
    n = 6000
    recent = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(1.0, n))
    older = recent + np.where(rng.random(n) < 0.4, 0.0, rng.exponential(1.0, n))
    y = (rng.random(n) < 1 / (1 + np.exp(2.0 - 1.5 * older + 1.0 * recent))).astype(int)
    X = pd.DataFrame({"failed_180d": recent, "failed_730d": older})
    card = Scorecard().fit(X, y)
    assert card.dropped_ == ["failed_180d"]  # its coefficient was negative: the test bites
    assert (card.logit_.coef_[0] >= 0).all(), card.logit_.coef_
    table = card.points_table()
    for name, woe in zip(card.feature_names_, card.woe_, strict=True):
        points = table[table["variable"] == name]["points"].to_numpy()
        assert np.all(np.diff(points[np.argsort(woe)]) <= 1e-9), (name, woe, points)
    flat = table[table["variable"] == "failed_180d"]["points"].to_numpy()
    assert np.ptp(flat) == pytest.approx(0.0)
    reasons = card.reason_codes(X.head(200))
    assert all(r["feature"] != "failed_180d" for row in reasons for r in row)


def test_the_fit_after_dropping_is_the_optimum_not_a_point_on_the_way():
    """The refits after a drop start from the previous coefficients; stopped at lbfgs's
    default tolerance, where they ended depended on that path (warm and cold refits were
    up to 43 points apart on a row in random collinear data).  The kept variables'
    coefficients are those a cold, tightly converged fit finds."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n = 6000
    recent = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(1.0, n))
    older = recent + np.where(rng.random(n) < 0.4, 0.0, rng.exponential(1.0, n))
    other = older * 0.5 + rng.normal(size=n)
    logit = 2.0 - 1.5 * older + 1.0 * recent - 0.3 * other
    y = (rng.random(n) < 1 / (1 + np.exp(logit))).astype(int)
    X = pd.DataFrame({"failed_180d": recent, "failed_730d": older, "other": other})
    card = Scorecard().fit(X, y)
    assert card.dropped_ == ["failed_180d"]  # a refit after a drop happened
    bins = card.bins(X)
    woe = np.column_stack([card.woe_[j][bins[:, j]] for j in (1, 2)])
    cold = LogisticRegression(C=card.C, tol=1e-10, max_iter=10_000).fit(woe, y)
    apart = np.abs(card.decision_function(X) - cold.decision_function(woe)) * card.factor_
    assert apart.max() < 1e-3, apart.max()  # points; lbfgs at 1e-4 left 0.006


def test_no_empty_value_bin_between_two_counts():
    """Quantile edges interpolate between two values of a count (0.6 between 0 and 1, 1.8
    between 1 and 3): the bin [1.8, 3) held no training row, got WoE 0 and so scored 2
    failed checks better than 1, though both neighbours are riskier.  Such a bin joins
    the one below it."""
    rng = np.random.default_rng(0)
    n = 1000
    failed = np.repeat([0.0, 1.0, 3.0], [400, 200, 400])
    y = (rng.random(n) < np.select([failed == 0, failed == 1], [0.1, 0.45], 0.5)).astype(int)
    card = Scorecard().fit(pd.DataFrame({"failed": failed}), y)
    pts = card.points(pd.DataFrame({"failed": [0.0, 1.0, 2.0, 3.0]}))
    assert np.all(np.diff(pts) <= 1e-9), pts  # more failures never score more
    assert (card.counts_[0][:-1] > 0).all(), (card.edges_[0], card.counts_[0])


def test_a_row_never_scores_above_the_best_possible_score():
    """With few positives the smoothing makes every seen bin's WoE > 0; the unseen
    missing-value bin (WoE 0) then scores above them, and the best bin reasons are
    measured against must include it: no row loses a negative number of points."""
    rng = np.random.default_rng(0)
    x = rng.exponential(1, 1000)
    y = np.zeros(1000, dtype=int)
    y[np.argmax(x)] = 1
    card = Scorecard().fit(pd.DataFrame({"a": x}), y)
    score, _, lost = card.explain(pd.DataFrame({"a": [np.nan]}))
    assert score[0] <= card.best_points().sum() + 1e-9
    assert (lost >= -1e-9).all(), lost


def _alternating_categories(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Eight category codes (a region's, say) whose risk alternates with the code, and a
    ninth held by 1 % of rows: no order of the codes means anything."""
    rng = np.random.default_rng(seed)
    n = 8000
    code = rng.integers(0, 8, n).astype(float)
    code[rng.random(n) < 0.01] = 8.0
    risk = np.where(code % 2 == 1, 0.4, 0.05)
    return pd.DataFrame({"region": code}), (rng.random(n) < risk).astype(int)


def test_category_codes_are_binned_as_categories_not_as_ordered_numbers():
    """Quantile bins of category codes put alphabetical neighbours together ("region [2,
    5)"), so a risky region shared points with the safe ones beside it.  A categorical
    variable gives each category its own bin; rare and unseen codes share "other"."""
    from sklearn.metrics import roc_auc_score

    X, y = _alternating_categories()
    card = Scorecard(categorical_features=["region"]).fit(X, y)
    plain = Scorecard().fit(X, y)
    pts = card.points(pd.DataFrame({"region": np.arange(8.0)}))
    assert pts[1::2].max() + 20 < pts[0::2].min(), pts  # every risky region scores lower
    auc = roc_auc_score(y, -card.points(X))
    assert auc > roc_auc_score(y, -plain.points(X)) + 0.05, auc
    table = card.points_table()
    assert list(table["bin"]) == [f"= {k}" for k in range(8)] + ["other", "missing"]
    # the rare code and a code first seen after training share the "other" bin
    other = card.points(pd.DataFrame({"region": [8.0, 20.0]}))
    assert other[0] == other[1] == table["points"].iloc[8]
    assert card.counts_[0][8] == (X["region"] == 8).sum() and card.counts_[0][9] == 0
    # a missing region (none in training) is neutral: WoE 0
    assert card.woe_[0][-1] == 0.0
    assert list(card.bins(pd.DataFrame({"region": [3.0, 8.0, np.nan]}))[:, 0]) == [3, 8, 9]
    with pytest.raises(ValueError, match="min_bin_share"):
        Scorecard(categorical_features=["region"], min_bin_share=1.0).fit(X, y)
    with pytest.raises(ValueError, match="cross_fit"):
        Scorecard(categorical_features=["region"], cross_fit=2.5).fit(X, y)
    with pytest.raises(ValueError, match="not a feature"):
        Scorecard(categorical_features=["sector"]).fit(X, y)


def test_a_category_first_seen_after_training_is_other_to_the_scorecard_and_missing_to_trees():
    """A town or sector first seen after training is some category: the scorecard puts it
    in "other" with the rare ones (it was in the missing-value bin, neutral), while the
    trees, for which an unknown category is a missing one, score it as before."""
    from scoring.ensemble import EnsembleRiskModel
    from scoring.features import encode_categoricals, learn_vocabulary

    codes, y = _alternating_categories()
    towns = pd.DataFrame({"region": [f"town-{int(c)}" for c in codes["region"]]})
    vocabulary = learn_vocabulary(towns, ["region"])
    X = encode_categoricals(towns, vocabulary)
    card = Scorecard(categorical_features=["region"], random_state=0).fit(X, y)
    later = encode_categoricals(pd.DataFrame({"region": ["new-town", None, "town-8"]}), vocabulary)
    assert later["region"].iloc[0] == -1.0 and np.isnan(later["region"].iloc[1])
    other, missing = len(card.edges_[0]), len(card.edges_[0]) + 1
    assert list(card.bins(later)[:, 0]) == [other, missing, other]
    assert card.counts_[0][other] > 0  # town-8 is rare: "other" holds evidence
    new_town, blank, rare = card.points(later)
    assert new_town == rare != blank
    for model in (
        RiskModel(categorical_features=["region"], cv=2, max_iter=20),
        EnsembleRiskModel(categorical_features=["region"], max_iter=20, random_state=0),
    ):
        p = model.fit(X, y).predict_proba(later)[:, 1]
        assert p[0] == p[1], type(model).__name__


def test_an_unseen_category_of_a_column_of_over_255_is_missing_not_code_0():
    """The trees split at most 255 categories as sets; a column of 300 (shops' streets)
    is split as numbers, where an unseen category's code, -1, sorted with code 0 — here
    the riskiest.  It now goes the missing-value way, as it does in a column of fewer."""
    rng = np.random.default_rng(0)
    n = 6000
    street = rng.integers(0, 300, n).astype(float)
    y = (rng.random(n) < np.where(street < 10, 0.8, 0.1)).astype(int)
    X = pd.DataFrame({"street": street, "noise": rng.random(n)})
    model = RiskModel(categorical_features=["street"], cv=2, max_iter=30).fit(X, y)
    assert model.calibrated_.calibrated_classifiers_[0].estimator.is_categorical_ is None
    later = pd.DataFrame({"street": [-1.0, np.nan, 0.0], "noise": [0.5, 0.5, 0.5]})
    unseen, missing, risky = model.predict_proba(later)[:, 1]
    assert unseen == missing and risky > unseen + 0.3
    numbers = RiskModel(cv=2, max_iter=30).fit(X, y)  # codes as plain numbers
    assert numbers.predict_proba(later)[0, 1] > 0.5  # the test bites: -1 sorts with 0
    few = RiskModel(categorical_features=["street"], cv=2, max_iter=30)
    few.fit(X.assign(street=street % 200), y)
    assert few.calibrated_.calibrated_classifiers_[0].estimator.is_categorical_[0]


def test_a_category_without_an_effect_gets_next_to_no_weight():
    """Twenty regions of 150 rows with no effect of their own: each region's WoE is luck,
    and a regression fitted on the same rows' WoE weighted it like a real variable (about
    1.0, a 21-point spread between regions).  Fitted on out-of-fold WoE it gets next to
    none; the real variable keeps its weight."""
    rng = np.random.default_rng(0)
    n = 3000
    region = rng.integers(0, 20, n).astype(float)
    failed = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(1.0, n))
    y = (rng.random(n) < 1 / (1 + np.exp(1.8 - 1.2 * failed))).astype(int)
    X = pd.DataFrame({"failed": failed, "region": region})

    def spread(card: Scorecard) -> float:
        table = card.points_table()
        return float(np.ptp(table.loc[table["variable"] == "region", "points"].iloc[:-2]))

    # alpha=None: the significance test (next test) would drop region before either fit
    in_sample = Scorecard(categorical_features=["region"], cross_fit=0, alpha=None).fit(X, y)
    cross_fitted = Scorecard(categorical_features=["region"], random_state=0, alpha=None).fit(X, y)
    assert in_sample.logit_.coef_[0][1] > 0.8 and spread(in_sample) > 15  # the test bites
    assert cross_fitted.logit_.coef_[0][1] < 0.2 and spread(cross_fitted) < 3
    assert cross_fitted.logit_.coef_[0][0] > 0.8


def _regions_and_failures(region_effect: float, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """3,000 rows: twenty regions, region 0's log-odds raised by ``region_effect``, and a
    real variable (failed checks)."""
    rng = np.random.default_rng(seed)
    n = 3000
    region = rng.integers(0, 20, n).astype(float)
    failed = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(1.0, n))
    logit = -1.8 + 1.2 * failed + region_effect * (region == 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"failed": failed, "region": region}), y


def test_a_variable_whose_bins_differ_by_chance_is_left_out():
    """Cross-fitting shrinks a region without an effect but left it some points, and its
    unluckiest region was a reason; a chi-squared test drops it (every bin alike, never a
    reason) and keeps the real variable and a region with a real effect."""
    X, y = _regions_and_failures(0.0)
    card = Scorecard(categorical_features=["region"], random_state=0).fit(X, y)
    assert card.alpha == 0.01 and card.p_values_[1] > card.alpha
    assert card.dropped_ == ["region"] and card.drop_reasons_ == {"region": "not_significant"}
    table = card.points_table()
    assert np.ptp(table.loc[table["variable"] == "region", "points"]) == 0
    reasons = {r["feature"] for row in card.reason_codes(X) for r in row}
    assert reasons == {"failed"}
    assert card.p_values_[0] < 1e-6 and card.logit_.coef_[0][0] > 0.8
    kept = Scorecard(categorical_features=["region"], random_state=0, alpha=None).fit(X, y)
    assert kept.dropped_ == [] and kept.logit_.coef_[0][1] > 0  # the test bites
    assert {r["feature"] for row in kept.reason_codes(X) for r in row} == {"failed", "region"}

    X, y = _regions_and_failures(1.5)
    real = Scorecard(categorical_features=["region"], random_state=0).fit(X, y)
    assert real.p_values_[1] < 1e-6 and real.dropped_ == []
    risky = real.points(pd.DataFrame({"failed": [0.0, 0.0], "region": [0.0, 5.0]}))
    assert risky[0] < risky[1] - 10  # region 0 costs points


def test_no_variable_significant_leaves_the_base_rate():
    """Every variable dropped: the fit is the intercept alone, every row the training
    rows' log-odds, no reasons."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"noise": rng.random(400)})
    y = (rng.random(400) < 0.25).astype(int)
    card = Scorecard(random_state=0).fit(X, y)
    assert card.dropped_ == ["noise"]
    assert np.allclose(card.predict_proba(X)[:, 1], y.mean())
    assert all(row == [] for row in card.reason_codes(X))


@pytest.mark.parametrize("alpha", [0, -0.1, 1.5])
def test_alpha_out_of_range_is_refused(alpha: float):
    X, y = data()
    with pytest.raises(ValueError, match="alpha"):
        Scorecard(alpha=alpha).fit(X, y)


def test_save_and_load_give_identical_scores():
    X, y = data()
    sc, ml = Scorecard().fit(X, y), RiskModel(max_iter=30).fit(X, y)
    bundle = ModelBundle(
        {"scorecard": sc, "ml": ml},
        "scorecard+ml",
        "v1",
        list(X.columns),
        {},
        ("2024-01-01", "2026-01-01"),
        {"auc": 0.8},
        sc.scaling(),
    )
    back = loads(dumps(bundle))
    assert back.version == "v1" and back.scaling == sc.scaling() and back.window == bundle.window
    np.testing.assert_array_equal(back.estimator["scorecard"].points(X), sc.points(X))
    np.testing.assert_array_equal(back.estimator["ml"].predict_proba(X), ml.predict_proba(X))
    corrupt = bytearray(dumps(bundle))
    corrupt[-5] ^= 1
    with pytest.raises(ValueError, match="checksum"):
        loads(bytes(corrupt))


def test_ml_model_is_calibrated_and_explains():
    X, y = data(3000, seed=2)
    ml = RiskModel(max_iter=60).fit(X, y)
    p = ml.predict_proba(X)[:, 1]
    assert abs(p.mean() - y.mean()) < 0.03
    reasons = ml.reason_codes(X.head(20))
    assert all(r[0]["feature"] in {"a", "b", "c"} for r in reasons if r)


def test_tiers_cutoffs_and_overrides():
    tiers, overrides = assign(
        np.array([700, 600, 570, 500, 700, 700]), {"A": 650, "B": 590, "C": 560},
        serious_dishonesty=np.array([0, 0, 0, 0, 1, 0]), has_history=np.array([1, 1, 1, 1, 1, 0]),
    )  # fmt: skip
    assert list(tiers) == ["A", "B", "C", "D", "D", "B"]
    assert overrides == [None, None, None, None, "serious_dishonesty", "no_history"]
    # a cut-off is its tier's minimum score: a score equal to it is in that tier
    at_cutoffs, _ = assign(np.array([650.0, 590.0, 560.0]), {"A": 650, "B": 590, "C": 560})
    assert list(at_cutoffs) == ["A", "B", "C"]
    for bad in ({"A": 500, "B": 590, "C": 560}, {"A": 650, "B": 590}, {"A": "x", "B": 1, "C": 0}):
        with pytest.raises(ValueError, match="A"):
            check_cutoffs(bad)


def test_psi_is_small_for_the_same_population_and_alarms_on_a_shift():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=5000)
    edges = monitoring.bin_edges(ref)
    reference = {"score": {"edges": edges, "shares": monitoring.distribution(ref, edges)}}
    same = monitoring.report(reference, {"score": rng.normal(size=5000)})
    shifted = monitoring.report(reference, {"score": rng.normal(loc=1.0, size=5000)})
    assert same["psi"]["score"] < 0.05 and not same["alarm"]
    assert shifted["psi"]["score"] > 0.25 and shifted["alarm"]


def test_psi_of_category_codes_sees_a_move_between_alphabetical_neighbours():
    """Thirty regions in decile bins: three alphabetical neighbours to a bin, so half of
    one region's enterprises re-registered in the next changed no share.  Each category
    is a bin of its own now; a region unknown to the model reads as missing."""
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 30, 30_000).astype(float)
    moved = ref.copy()
    moved[(ref % 3 == 0) & (rng.random(ref.size) < 0.8)] += 1  # into the next code
    by_decile = monitoring.bin_edges(ref)
    by_category = monitoring.bin_edges(ref, categorical=True)
    assert len(by_decile) == 9 and len(by_category) == 31  # and below/above every code
    decile_psi, category_psi = (
        monitoring.psi(monitoring.distribution(ref, e), monitoring.distribution(moved, e))
        for e in (by_decile, by_category)
    )
    assert decile_psi < 0.05 < monitoring.ALARM < category_psi, (decile_psi, category_psi)
    assert monitoring.distribution(np.array([np.nan, 3.0]), by_category)[-1] == 0.5


def test_psi_of_category_codes_sees_a_code_the_reference_did_not_hold():
    """A category code the reference population did not hold (every enterprise's last
    check passed when the model was trained; a region between two seen ones) is a bin
    of its own, not part of its neighbour's: half the enterprises failing their last
    check alarmed with decile edges ([1.0]) and read PSI 0 with an edge only between
    codes seen (none at all for one code)."""
    single = np.r_[np.ones(900), np.full(100, np.nan)]  # one code: 1 = "Pass"
    failing = np.r_[np.zeros(450), np.ones(450), np.full(100, np.nan)]
    gap = np.r_[np.zeros(500), np.full(500, 2.0)]  # codes 0 and 2, none of 1
    into_gap = np.r_[np.zeros(250), np.ones(250), np.full(500, 2.0)]
    for ref, moved in ((single, failing), (gap, into_gap)):
        edges = monitoring.bin_edges(ref, categorical=True)
        same = monitoring.psi(monitoring.distribution(ref, edges),
                              monitoring.distribution(ref, edges))  # fmt: skip
        shifted = monitoring.psi(monitoring.distribution(ref, edges),
                                 monitoring.distribution(moved, edges))  # fmt: skip
        assert same == 0.0 and shifted > monitoring.ALARM, (edges, shifted)
    assert monitoring.bin_edges(np.array([np.nan]), categorical=True) == []


events_strategy = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 60), st.integers(0, 2), st.integers(0, 2)),
    min_size=1, max_size=40,
)  # fmt: skip


LOG_START = pd.Timestamp("2026-01-01")


def event_log(items) -> pd.DataFrame:
    """(enterprise, day, critical, serious) tuples as an event log from LOG_START."""
    return pd.DataFrame(
        {"enterprise_id": [e for e, _, _, _ in items],
         "date": [LOG_START + pd.Timedelta(days=d) for _, d, _, _ in items],
         "critical_count": [c for _, _, c, _ in items], "serious_count": [s for _, _, _, s in items]}
    )  # fmt: skip


def built_with_and_without_later(events, extra, cut, n_rows, config, enterprises=None):
    """Features of ``n_rows`` enterprises as of day ``cut``: from the events before it plus
    ``extra`` moved to on or after it (a), and from the events before it alone (b)."""
    as_of = LOG_START + pd.Timedelta(days=cut)
    rows = pd.DataFrame({"enterprise_id": range(n_rows), "as_of": [as_of] * n_rows})
    log = event_log(events)
    before = log[log["date"] < as_of]
    later = event_log([(e, max(d, cut), c, s) for e, d, c, s in extra])
    a = build_features(pd.concat([before, later], ignore_index=True), rows, enterprises, config)
    b = build_features(before if len(before) else log.iloc[:0], rows, enterprises, config)
    return a, b, before, as_of


@settings(max_examples=40, deadline=None)
@given(events=events_strategy, extra=events_strategy, cut=st.integers(5, 55))
def test_features_never_see_events_on_or_after_as_of(events, extra, cut):
    """Changing or adding anything dated on or after a row's as_of never changes its features."""
    config = FeatureConfig(categorical=("last_result",))
    a, b, _, _ = built_with_and_without_later(events, extra, cut, 5, config)
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(events=events_strategy, extra=events_strategy, cut=st.integers(5, 55))
def test_area_rates_never_see_events_on_or_after_as_of(events, extra, cut):
    """The neighbourhood's critical share obeys the cut-off too, and matches a hand count."""
    from scoring.features import AREA_PRIOR

    ents = pd.DataFrame({"enterprise_id": range(5), "zip": ["a", "a", "b", "b", None]})
    config = FeatureConfig(categorical=(), area="zip", area_half_life_days=30.0)
    a, b, before, as_of = built_with_and_without_later(events, extra, cut, 6, config, ents)
    pd.testing.assert_series_equal(a["area_critical_rate"], b["area_critical_rate"])
    assert b["area_critical_rate"].iloc[4:].isna().all()  # area unknown
    weight = np.exp2(-(as_of - before["date"]).dt.days.to_numpy(dtype=float) / 30.0)
    found = (before["critical_count"].to_numpy() > 0) * weight
    if not len(before):  # nothing before as_of: no share to report
        assert b["area_critical_rate"].isna().all()
        return
    city = found.sum() / weight.sum()
    mine = before["enterprise_id"].isin([0, 1]).to_numpy()
    expected = (found[mine].sum() + AREA_PRIOR * city) / (weight[mine].sum() + AREA_PRIOR)
    assert b.loc[0, "area_critical_rate"] == pytest.approx(expected)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_last_event_does_not_depend_on_the_order_the_log_was_read_in(seed):
    """Two results of one day with equal counts (one passed, one failed): with their ids
    the last one is the larger id, whichever order the database returned them in."""
    day = pd.Timestamp("2026-03-02")
    log = pd.DataFrame({
        "inspection_id": [11, 12, 21, 22, 30],
        "enterprise_id": [1, 1, 2, 2, 3],
        "date": [day, day, day, day, day - pd.Timedelta(days=9)],
        "critical_count": [0, 0, 1, 1, 0], "serious_count": [0, 0, 0, 0, 1],
        "minor_count": [0, 3, 2, 0, 0], "failed": [0, 1, 1, 0, 1],
    })  # fmt: skip
    rows = pd.DataFrame({"enterprise_id": [1, 2, 3], "as_of": [day + pd.Timedelta(days=5)] * 3})
    config = FeatureConfig(categorical=())
    shuffled = log.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    got = build_features(shuffled, rows, None, config)
    assert got["last_failed"].tolist() == [1.0, 0.0, 1.0]  # ids 12, 22, 30
    assert got["last_minor"].tolist() == [3.0, 0.0, 0.0]
    pd.testing.assert_frame_equal(got, build_features(log, rows, None, config))


@settings(max_examples=30, deadline=None)
@given(events=events_strategy, extra=events_strategy, cut=st.integers(5, 55))
def test_fact_features_never_see_facts_on_or_after_as_of(events, extra, cut):
    """Plugin facts obey the cut-off too, and an event-log column (a CSV) gives the same
    features as the long form the database reads."""
    from scoring.features import facts_from_events

    base = pd.Timestamp("2026-01-01")

    def frame(items):
        return pd.DataFrame(
            {"enterprise_id": [e for e, _, _, _ in items], "date": [base + pd.Timedelta(days=d) for _, d, _, _ in items],
             "critical_count": 0, "lab_hits": [c for _, _, c, _ in items], "lab_ppm": [s * 0.5 for _, _, _, s in items]}
        )  # fmt: skip

    as_of = base + pd.Timedelta(days=cut)
    rows = pd.DataFrame({"enterprise_id": range(5), "as_of": [as_of] * 5})
    log = frame(events)
    before = log[log["date"] < as_of]
    later = frame([(e, max(d, cut), c, s) for e, d, c, s in extra])
    config = FeatureConfig(categorical=(), facts=("lab_hits", "lab_ppm"))
    a = build_features(pd.concat([before, later], ignore_index=True), rows, None, config)
    b = build_features(before if len(before) else log.iloc[:0], rows, None, config)
    pd.testing.assert_frame_equal(a, b)
    long = facts_from_events(log, config.facts)
    c = build_features(log.drop(columns=["lab_hits", "lab_ppm"]), rows, None, config, long)
    pd.testing.assert_frame_equal(c, build_features(log, rows, None, config))
    # by hand: enterprise 0's decayed sum of lab_hits with a 180-day half-life
    mine = before[before["enterprise_id"] == 0]
    age = (as_of - mine["date"]).dt.days.to_numpy(dtype=float)
    expected = float((mine["lab_hits"].to_numpy() * np.exp2(-age / 180.0)).sum())
    assert b.loc[0, "lab_hits_180d"] == pytest.approx(expected)


def test_inspector_strictness_is_found_over_expected_shrunk_toward_one():
    from scoring.inspectors import effects

    rng = np.random.default_rng(3)
    n = 6000
    inspector = rng.choice(
        ["strict", "average", "lenient", "rare"], size=n, p=[0.33, 0.33, 0.33, 0.01]
    )
    p = rng.uniform(0.05, 0.4, size=n)
    factor = np.select([inspector == "strict", inspector == "lenient"], [1.5, 0.6], 1.0)
    y = (rng.random(n) < np.clip(p * factor, 0, 1)).astype(int)
    table = effects(inspector, y, p).set_index("inspector")
    assert table.loc["strict", "strictness"] == pytest.approx(1.5, rel=0.1)
    assert table.loc["lenient", "strictness"] == pytest.approx(0.6, rel=0.15)
    assert table.loc["average", "strictness"] == pytest.approx(1.0, rel=0.1)
    assert abs(table.loc["rare", "strictness"] - 1) < 0.5  # few visits: pulled toward 1


def test_a_scorecard_pickled_before_the_category_parameters_prints_clones_and_scores():
    """A blob saved before ``categorical_features``, ``min_bin_share`` and ``cross_fit``
    existed unpickles without them: ``repr``, ``get_params`` and ``clone`` (scikit-learn
    reads every ``__init__`` parameter) raised AttributeError."""
    import pickle

    from sklearn.base import clone

    X, y = data()
    card = Scorecard().fit(X, y)
    before = card.points(X)
    for key in ("categorical_features", "min_bin_share", "cross_fit", "is_categorical_"):
        delattr(card, key)  # as the older class pickled it
    old = pickle.loads(pickle.dumps(card))
    assert "Scorecard" in repr(old)
    assert old.get_params()["categorical_features"] is None
    np.testing.assert_array_equal(old.points(X), before)
    assert "other" not in set(old.points_table()["bin"])  # its bins are ranges
    np.testing.assert_array_equal(clone(old).fit(X, y).points(X), before)


def test_a_risk_model_pickled_before_the_ensemble_parameter_still_averages_its_folds():
    """Models stored before ``ensemble`` existed were fold averages: they print, clone and
    score as before."""
    import pickle

    from sklearn.base import clone

    X, y = data()
    model = RiskModel(max_iter=20, cv=3).fit(X, y)
    before = model.predict_proba(X)
    del model.ensemble  # as the older class pickled it
    old = pickle.loads(pickle.dumps(model))
    assert old.get_params()["ensemble"] is True and "RiskModel" in repr(old)
    np.testing.assert_array_equal(old.predict_proba(X), before)
    assert len(clone(old).fit(X, y).calibrated_.calibrated_classifiers_) == 3


def test_a_risk_model_pickled_before_the_category_parameter_prints_and_clones():
    """A model of the first release had neither ``categorical_features`` nor ``ensemble``:
    it scored, but repr, get_params and clone raised AttributeError."""
    import pickle

    from sklearn.base import clone

    X, y = data()
    model = RiskModel(max_iter=20, cv=3).fit(X, y)
    before = model.predict_proba(X)
    del model.ensemble, model.categorical_features, model.category_codes_  # as it pickled
    old = pickle.loads(pickle.dumps(model))
    params = old.get_params()
    assert params["categorical_features"] is None and params["ensemble"] is True
    assert "RiskModel" in repr(old)
    np.testing.assert_array_equal(old.predict_proba(X), before)
    np.testing.assert_array_equal(clone(old).fit(X, y).predict_proba(X), before)


def test_a_single_calibrated_model_walks_one_set_of_trees_and_ranks_as_well():
    """``ensemble=False`` (what ``score train`` stores): one model on every row, calibrated
    on out-of-fold predictions, instead of the average of ``cv`` fold models."""
    from sklearn.metrics import roc_auc_score

    X, y = data(n=3000, seed=4)
    (X_fit, y_fit), (X_test, y_test) = (X[:2400], y[:2400]), (X[2400:], y[2400:])
    single = RiskModel(max_iter=50, cv=3, ensemble=False).fit(X_fit, y_fit)
    folds = RiskModel(max_iter=50, cv=3).fit(X_fit, y_fit)
    assert len(single.calibrated_.calibrated_classifiers_) == 1
    assert len(folds.calibrated_.calibrated_classifiers_) == 3
    p = single.predict_proba(X_test)[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    auc = roc_auc_score(y_test, p)
    assert auc > 0.6
    assert abs(auc - roc_auc_score(y_test, folds.predict_proba(X_test)[:, 1])) < 0.03


def test_the_smallest_values_bin_leaves_no_bin_of_a_few_rows_above_it():
    """The edge that gives the smallest value its bin is the next value up; when the next
    quantile edge lies far above it, the bin between held whatever few rows fell there
    (here one), with a WoE of pure luck.  Those rows join the bin above instead."""
    n = 1000
    v = np.r_[np.zeros(500), [0.001], np.full(499, 7.0)]
    y = np.r_[np.zeros(450), np.ones(50), [1], np.zeros(350), np.ones(149)].astype(int)
    card = Scorecard().fit(pd.DataFrame({"v": v}), y)
    rows = card.counts_[0][:-1]  # value bins
    assert rows.min() >= 0.02 * n, (card.edges_, rows)
    zero, tiny, seven = card.bins(pd.DataFrame({"v": [0.0, 0.001, 7.0]}))[:, 0]
    assert zero != tiny == seven  # 0 still a bin of its own


def test_cut_offs_for_shares_put_those_shares_in_each_tier():
    """Cut-offs set from shares: on scores without ties each tier holds its share."""
    scores = np.random.default_rng(0).normal(520, 25, 2000)
    shares = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}
    cut = cutoffs_for_shares(scores, shares)
    assert cut["A"] > cut["B"] > cut["C"]
    tiers, _ = assign(scores, cut)
    got = {t: float(np.mean(tiers == t)) for t in "ABCD"}
    assert got == pytest.approx(shares, abs=0.001)


def test_cut_offs_for_shares_fall_between_tied_scores():
    """Scorecard scores tie (sums of a few bins' points): a cut-off falls between two
    distinct scores, at the share nearest the target, always below the tier above's."""
    scores = np.array([500.0] * 500 + [530.0] * 300 + [560.0] * 200)
    cut = cutoffs_for_shares(scores, {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1})
    assert cut == {"A": 545.0, "B": 515.0, "C": 499.0}  # A 20 %, B 30 %, C 50 %, D none
    one = cutoffs_for_shares(np.full(7, 512.0), {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1})
    assert one["A"] > one["B"] > one["C"]
    tiers, _ = assign(np.full(7, 512.0), one)
    assert len(set(tiers)) == 1  # one score: one tier, in order whatever the shares
    assert cutoffs_for_shares(np.array([]), {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}) is None


@pytest.mark.parametrize(
    "shares",
    [
        {"A": 0.3, "B": 0.4, "C": 0.2},  # D missing
        {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.2},  # sums to 1.1
        {"A": -0.1, "B": 0.6, "C": 0.4, "D": 0.1},
        {"A": True, "B": 0.0, "C": 0.0, "D": 0.0},
        {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1, "E": 0.0},
        "0.3,0.4,0.2,0.1",
        None,
    ],
)
def test_bad_tier_shares_are_refused(shares):
    with pytest.raises(ValueError, match="share"):
        check_shares(shares)


def test_a_tier_whose_share_is_zero_is_empty():
    """A share may be 0 (a district that wants no B), but each cut-off had to lie below
    a distinct score under the tier above's, so such a tier took the next score's
    enterprises: here B held the 300 at 530 (30 % for a share of 0).  Its cut-off now
    lies in the same gap as the tier above's, just below it: the tier is empty."""
    scores = np.array([500.0] * 500 + [530.0] * 300 + [560.0] * 200)
    cut = cutoffs_for_shares(scores, {"A": 0.2, "B": 0.0, "C": 0.7, "D": 0.1})
    assert cut["A"] > cut["B"] > cut["C"]
    tiers, _ = assign(scores, cut)
    counts = {t: int((tiers == t).sum()) for t in "ABCD"}
    assert counts == {"A": 200, "B": 0, "C": 800, "D": 0}, cut  # C 80 % is nearest 70 %
    smooth = np.random.default_rng(0).normal(520, 25, 2000)
    cut = cutoffs_for_shares(smooth, {"A": 0.3, "B": 0.0, "C": 0.0, "D": 0.7})
    assert cut["A"] > cut["B"] > cut["C"]
    tiers, _ = assign(smooth, cut)
    counts = {t: int((tiers == t).sum()) for t in "ABCD"}
    assert counts == {"A": 600, "B": 0, "C": 0, "D": 1400}, cut


def test_cut_offs_for_shares_leave_nan_scores_out():
    """A NaN score is D to :func:`assign` but sorted last, so it counted as above every
    cut-off: a third of them NaN put A's cut-off above every score (A empty for 30 %)."""
    scores = np.random.default_rng(0).normal(520, 25, 1000)
    shares = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}
    with_nan = cutoffs_for_shares(np.r_[scores, np.full(500, np.nan)], shares)
    assert with_nan == cutoffs_for_shares(scores, shares)
    assert float(np.mean(scores >= with_nan["A"])) == pytest.approx(0.3, abs=0.001)
    assert cutoffs_for_shares(np.full(3, np.nan), shares) is None
