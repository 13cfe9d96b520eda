"""A transparent credit scorecard: binned variables, weight of evidence, logistic
regression, and a points table regulators can read.

Scaling follows the usual convention and is stored with the fitted model (toad lost it
on export, its issue #110): ``factor = pdo / ln 2``, ``offset = base_points −
factor · ln(base_odds)``; a higher score is a better credit (lower risk).  Each row's
score is the sum of its bins' points, and its reason codes are the variables whose points
fall furthest below their best bin, so the reasons and the score agree by construction.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from scoring.ensemble import resolve_columns


class Scorecard(ClassifierMixin, BaseEstimator):
    """Binary scorecard.  ``n_bins`` quantile bins per variable (missing values get a bin
    of their own); WoE with ``smoothing`` pseudo-counts; L2 logistic regression (``C``).
    A variable's smallest value gets a bin of its own when it holds more than a bin's share
    of the rows and the values above it at least ``min_bin_share``: a count that is 0 for
    most enterprises still tells none from some.

    ``categorical_features`` (indices, names or a mask): columns of integer category codes
    (sector, region, inspector).  Their codes have no order, so each category with at least
    ``min_bin_share`` of the training rows gets a bin of its own, and the rarer ones,
    and any category first seen after training, share one "other" bin; quantile bins of
    codes would have put alphabetical neighbours together ("region [2, 5)").

    A category's WoE is its own rows' outcome, so on a hundred rows it is partly luck, and
    a regression fitted on those same rows takes the luck for signal: a region with no
    effect of its own got a large weight and became the first reason of the riskiest
    enterprises.  So the coefficient of a categorical variable is fitted on *out-of-fold*
    WoE (``cross_fit`` folds, as scikit-learn's ``TargetEncoder`` does): each row's WoE from
    the other folds' rows.  Points and predictions use the WoE of all training rows.

    Cross-fitting shrinks such a weight but does not remove it: on the demo district a
    region with no simulated effect still lost 9 points against the luckiest one (66 rows)
    and was the third reason of the riskiest enterprises.  So a variable whose bins' shares
    of positives differ no more than chance makes them differ — a chi-squared test of
    independence with a p-value above ``alpha`` — is left out before the fit (None keeps
    every variable).  ``p_values_`` holds each variable's p-value, and ``drop_reasons_``
    why each dropped variable was dropped."""

    def __init__(
        self,
        n_bins: int = 5,
        smoothing: float = 0.5,
        C: float = 1.0,
        pdo: float = 20.0,
        base_points: float = 600.0,
        base_odds: float = 50.0,
        categorical_features: Sequence[int] | Sequence[str] | Sequence[bool] | None = None,
        min_bin_share: float = 0.02,
        cross_fit: int = 5,
        random_state: int | None = None,
        alpha: float | None = 0.01,
    ) -> None:
        self.n_bins = n_bins
        self.smoothing = smoothing
        self.C = C
        self.pdo = pdo
        self.base_points = base_points
        self.base_odds = base_odds
        self.categorical_features = categorical_features
        self.min_bin_share = min_bin_share
        self.cross_fit = cross_fit
        self.random_state = random_state
        self.alpha = alpha

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a model pickled before categorical variables existed: scikit-learn's repr,
        # get_params and clone read every __init__ parameter, and its variables were all
        # binned by range
        # (and before the significance test: alpha None, every variable kept)
        for key, value in (("categorical_features", None), ("min_bin_share", 0.02),
                           ("cross_fit", 5), ("alpha", None)):  # fmt: skip
            state.setdefault(key, value)
        if "edges_" in state:
            state.setdefault("is_categorical_", np.zeros(len(state["edges_"]), dtype=bool))
        super().__setstate__(state)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    # --- fitting ---------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> Scorecard:
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=float)
        kind = type_of_target(y, raise_unknown=True)
        if kind != "binary":
            raise ValueError(f"Only binary classification is supported; the target is {kind}.")
        if self.n_bins < 2:
            raise ValueError("n_bins must be at least 2")
        if not 0.0 <= self.min_bin_share < 1.0:
            raise ValueError("min_bin_share must be at least 0 and below 1")
        if isinstance(self.cross_fit, bool) or not isinstance(self.cross_fit, numbers.Integral):
            raise ValueError(f"cross_fit must be a whole number of folds, not {self.cross_fit!r}")
        if self.alpha is not None and not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must be above 0 and at most 1, or None, not {self.alpha!r}")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("Classifier can't train when only one class is present.")
        target = (y == self.classes_[1]).astype(float)
        self.feature_names_ = names or [f"x{i}" for i in range(X.shape[1])]
        self.is_categorical_ = resolve_columns(self.categorical_features, X.shape[1], names)
        self.edges_: list[np.ndarray] = []
        self.woe_: list[np.ndarray] = []
        self.counts_: list[np.ndarray] = []
        self.p_values_ = np.ones(X.shape[1])
        woe_matrix = np.empty_like(X)
        folds = self._folds(target) if self.is_categorical_.any() else None
        share = self.min_bin_share
        for j in range(X.shape[1]):
            column = X[:, j]
            finite = column[~np.isnan(column)]
            if self.is_categorical_[j]:
                # edges_ of a categorical variable: its categories with a bin of their own
                values, counts = np.unique(finite, return_counts=True)
                edges = values[counts >= max(1.0, share * len(column))]
            elif finite.size:
                edges = np.unique(np.quantile(finite, np.linspace(0, 1, self.n_bins + 1)[1:-1]))
                lowest = finite.min()
                above = finite[finite > lowest]
                need = max(1.0, share * len(column))
                if (edges <= lowest).any() and above.size >= need:
                    # the smallest value (0 for a count) holds more than a bin's share: it
                    # is a bin of its own, so "none" and "some" differ even when 90 % of
                    # rows have none (the edges all fell on 0 and it was one bin)
                    start = above.min()
                    # the bin it opens, [start, next edge), holds min_bin_share of the rows
                    # too: else that next edge goes (a few stray values just above the
                    # minimum were a bin of their own, with a WoE of pure luck)
                    higher = edges[edges > start]
                    while higher.size and (above < higher[0]).sum() < need:
                        higher = higher[1:]
                    edges = np.concatenate([edges[edges < start], [start], higher])
                # no value bin without training rows: an edge at the smallest value (a count
                # that is mostly 0) left "[-inf, 0)" empty, and an interpolated edge between
                # two values a count takes (1.8 between 1 and 3) left "[1.8, 3)" empty; an
                # empty bin scored as no evidence, so 2 failed checks beat 1.  Each edge
                # opening an empty bin goes: that bin joins the one below it.
                edges = edges[edges > finite.min()]
                below = np.searchsorted(edges, finite, side="right")
                edges = edges[np.bincount(below, minlength=len(edges) + 1)[1:] > 0]
            else:
                edges = np.array([])
            codes = self._codes(column, edges, bool(self.is_categorical_[j]))
            # value bins (a categorical variable's last one is "other"), then missing
            rows, woe = self._bin_woe(codes, target, len(edges) + 2)
            self.p_values_[j] = _independence_p(codes, target, len(woe))
            self.edges_.append(edges)
            self.woe_.append(woe)
            self.counts_.append(rows)
            if self.is_categorical_[j] and folds is not None:
                for fit_rows, held_out in folds:
                    _, fold_woe = self._bin_woe(codes[fit_rows], target[fit_rows], len(woe))
                    woe_matrix[held_out, j] = fold_woe[codes[held_out]]
            else:
                woe_matrix[:, j] = woe[codes]
        self.logit_ = self._sign_consistent_fit(woe_matrix, target)
        self.factor_ = self.pdo / math.log(2)
        self.offset_ = self.base_points - self.factor_ * math.log(self.base_odds)
        return self

    def _folds(self, target: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Stratified folds for out-of-fold WoE: ``cross_fit`` of them, fewer when a class
        has fewer rows; None (in-sample WoE) when that leaves fewer than 2."""
        n_folds = min(self.cross_fit, int(target.sum()), int((1 - target).sum()))
        if n_folds < 2:
            return None
        split = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
        return list(split.split(np.zeros((len(target), 1)), target))

    def _bin_woe(
        self, codes: np.ndarray, target: np.ndarray, n_codes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and WoE per bin, with ``smoothing`` pseudo-counts."""
        rows = np.bincount(codes, minlength=n_codes)
        bad = np.bincount(codes, weights=target, minlength=n_codes) + self.smoothing
        good = np.bincount(codes, weights=1 - target, minlength=n_codes) + self.smoothing
        total_bad = target.sum() + self.smoothing
        total_good = (1 - target).sum() + self.smoothing
        woe = np.log((bad / total_bad) / (good / total_good))
        # a bin no training row fell in (only the missing-value bin, or the "other" bin of
        # a categorical variable without rare categories) holds no evidence: WoE 0, not the
        # smoothing's log(goods / bads), which read as a risk of its own and, as the best
        # bin, made every row "lose" points against it
        woe[rows == 0] = 0.0
        return rows, woe

    def _sign_consistent_fit(self, woe_matrix: np.ndarray, target: np.ndarray) -> Any:
        """The logistic regression on the WoE columns, every coefficient ≥ 0.

        WoE already points each variable the risky way, so a negative coefficient (two
        collinear variables, such as one count over 180 and over 730 days) turns a
        variable around: its riskier bins score more points, and a regulator reading the
        points table sees "more failed checks, better credit".  As scorecards usually
        are, the variable with the most negative coefficient is dropped (its WoE set to
        0, so all its bins score alike and it is never a reason) and the rest refitted,
        until no coefficient is negative.  ``dropped_`` names what was dropped."""
        keep = np.ones(woe_matrix.shape[1], dtype=bool)
        self.dropped_: list[str] = []
        self.drop_reasons_: dict[str, str] = {}
        if self.alpha is not None:
            # bins whose outcomes differ no more than chance makes them differ: the
            # variable's points would be noise, and its worst bin a reason
            for j in np.flatnonzero(self.p_values_ > self.alpha):
                self._drop(int(j), keep, "not_significant")
        # Newton steps (few variables, many rows) to a tight tolerance: lbfgs stopped at its
        # default 1e-4 where the path mattered — refits warm-started from the last one and
        # refits from zero ended up to 43 points apart on a row, and in 4 of 150 random
        # collinear datasets dropped different variables; at 1e-8 with Newton, none of
        # 150 differed and 300,000 rows × 40 variables took 6.3 s instead of lbfgs's 7.4 s.
        # Each refit starts from the last one's coefficients.
        logit = LogisticRegression(
            C=self.C, solver="newton-cholesky", tol=1e-8, max_iter=1000,
            random_state=self.random_state, warm_start=True,
        )  # fmt: skip
        while True:
            if not keep.any():
                # no variable left: the fit is the intercept alone, whose optimum is the
                # log-odds of the training rows (Newton's line search fails on an all-zero
                # design whose start is already that optimum)
                rate = float(target.mean())
                logit.coef_ = np.zeros((1, woe_matrix.shape[1]))
                logit.intercept_ = np.array([math.log(rate / (1 - rate))])
                logit.classes_ = np.array([0.0, 1.0])
                logit.n_features_in_ = woe_matrix.shape[1]
                logit.n_iter_ = np.array([0], dtype=np.int32)
                return logit
            logit.fit(woe_matrix if keep.all() else np.where(keep, woe_matrix, 0.0), target)
            coef = np.where(keep, logit.coef_[0], 0.0)
            worst = int(np.argmin(coef))
            if coef[worst] >= -1e-9:
                logit.coef_[0][~keep] = 0.0
                return logit
            self._drop(worst, keep, "negative_coefficient")

    def _drop(self, j: int, keep: np.ndarray, reason: str) -> None:
        """Leave variable ``j`` out: WoE 0 in every bin, so all score alike and it is
        never a reason.  ``drop_reasons_`` keeps why: ``not_significant`` (its bins'
        outcomes differ by no more than chance, ``p_values_`` above ``alpha``) or
        ``negative_coefficient`` (collinear with another variable)."""
        keep[j] = False
        self.woe_[j] = np.zeros_like(self.woe_[j])
        self.dropped_.append(self.feature_names_[j])
        self.drop_reasons_[self.feature_names_[j]] = reason

    @staticmethod
    def _codes(column: np.ndarray, edges: np.ndarray, categorical: bool = False) -> np.ndarray:
        """Bin per value: by range between ``edges``, or for a categorical variable the
        position of its category in ``edges`` ("other", ``len(edges)``, when not there);
        a missing value's bin, ``len(edges) + 1``, last."""
        if categorical:
            codes = np.full(len(column), len(edges))
            if len(edges):
                at = np.minimum(np.searchsorted(edges, column), len(edges) - 1)
                codes = np.where(edges[at] == column, at, len(edges))
        else:
            codes = np.searchsorted(edges, column, side="right")
        codes[np.isnan(column)] = len(edges) + 1
        return codes

    def _bin_codes(self, X: np.ndarray) -> np.ndarray:
        """:meth:`bins` of checked values."""
        categorical = self.is_categorical_
        return np.column_stack(
            [self._codes(X[:, j], edges, bool(categorical[j]))
             for j, edges in enumerate(self.edges_)]
        ) if X.shape[1] else np.zeros((X.shape[0], 0), dtype=int)  # fmt: skip

    def _woe(self, codes: np.ndarray) -> np.ndarray:
        """WoE per row and variable, from the rows' bin codes."""
        out = np.empty(codes.shape, dtype=float)
        for j, woe in enumerate(self.woe_):
            out[:, j] = woe[codes[:, j]]
        return out

    def _check(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)

    # --- predictions -----------------------------------------------------------------

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the positive (risky) class."""
        woe = self._woe(self._bin_codes(self._check(X)))
        return self.logit_.decision_function(woe)

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int)]

    def _points_matrix(self, codes: np.ndarray) -> np.ndarray:
        """Points per row and variable, from the rows' bin codes."""
        n = codes.shape[1]
        coef = self.logit_.coef_[0]
        intercept = float(self.logit_.intercept_[0])
        return -(self._woe(codes) * coef + intercept / n) * self.factor_ + self.offset_ / n

    def points(self, X: Any) -> np.ndarray:
        """Credit score per row: the sum of its bins' points (higher = lower risk)."""
        return self._points_matrix(self.bins(X)).sum(axis=1)

    def points_table(self) -> pd.DataFrame:
        """One row per variable and bin: its range, WoE and points."""
        check_is_fitted(self)
        rows = []
        n = len(self.feature_names_)
        coef = self.logit_.coef_[0]
        intercept = float(self.logit_.intercept_[0])
        categorical = self.is_categorical_
        for j, name in enumerate(self.feature_names_):
            edges = self.edges_[j]
            bounds = [-np.inf, *edges, np.inf]
            for b, woe in enumerate(self.woe_[j]):
                if b == len(edges) + 1:
                    text = "missing"
                elif categorical[j]:
                    text = "other" if b == len(edges) else f"= {edges[b]:.6g}"
                else:
                    text = f"[{bounds[b]:.4g}, {bounds[b + 1]:.4g})"
                rows.append(
                    {
                        "variable": name,
                        "bin": text,
                        "woe": float(woe),
                        "points": float(
                            -(woe * coef[j] + intercept / n) * self.factor_ + self.offset_ / n
                        ),
                    }
                )
        return pd.DataFrame(rows)

    def best_points(self) -> np.ndarray:
        """Per variable, the points of its best bin (the maximum of ``points_table``): the
        reference a row's reasons are measured against.  Every value bin held training
        rows and an unseen missing-value bin is neutral (WoE 0), so no row scores above
        the sum of these."""
        check_is_fitted(self)
        n = len(self.feature_names_)
        coef = self.logit_.coef_[0]
        intercept = float(self.logit_.intercept_[0])
        return np.array(
            [
                float(np.max(-(woe * coef[j] + intercept / n) * self.factor_ + self.offset_ / n))
                for j, woe in enumerate(self.woe_)
            ]
        )

    def explain(
        self,
        X: Any,
        n: int = 3,
        eligible: np.ndarray | None = None,
        bins: np.ndarray | None = None,
        families: Sequence[Any] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores and reason codes as arrays, from one points matrix: ``(points, order,
        lost)`` — ``points`` as :meth:`points`, ``order`` the ``n`` variables per row that
        lost the most points, ``lost`` the points each variable lost against its best bin.
        For a million rows, where building dicts per row costs more than the model.

        ``eligible`` (rows × variables, bool): where False, the variable is not ranked as
        that row's reason and its ``lost`` reads 0 (its points still count in the score) —
        for a caller whose reason text would not be true of that row's value.  ``bins``:
        :meth:`bins` of ``X`` when the caller has them already (rescoring does).

        ``families`` (one label per variable): variables that measure one thing (the same
        count with different half-lives) give one reason per row, the one that lost the
        most; the others read 0 as an ineligible one does, so the ``n`` reasons name ``n``
        different things rather than one thing ``n`` ways."""
        matrix = self._points_matrix(self.bins(X) if bins is None else bins)
        lost = self.best_points()[None, :] - matrix
        if eligible is not None:
            lost = np.where(eligible, lost, 0.0)
        if families is not None:
            lost = _one_per_family(lost, families)
        order = np.argsort(-lost, axis=1)[:, :n]
        return matrix.sum(axis=1), order, lost

    def bins(self, X: Any) -> np.ndarray:
        """Bin index per row and variable: 0 … len(edges) by value, len(edges) + 1 for a
        missing value (the order of :meth:`points_table`)."""
        return self._bin_codes(self._check(X))

    def best_bins(self, finite: bool = False) -> np.ndarray:
        """Per variable, the index of its best bin (the one :meth:`best_points` reads;
        ``finite``: the best of the value bins, the missing-value bin left out).  The
        bins of a variable need not score monotonically in its value."""
        check_is_fitted(self)
        coef = self.logit_.coef_[0]
        stop = -1 if finite else None
        return np.array([int(np.argmin(woe[:stop] * coef[j])) for j, woe in enumerate(self.woe_)])

    def reason_codes(self, X: Any, n: int = 3) -> list[list[dict[str, Any]]]:
        """Per row, the ``n`` variables that cost it the most points against their best bin.

        ``points_lost`` over all variables sums to (best possible score − the row's score).
        """
        matrix = self._points_matrix(self.bins(X))
        lost = self.best_points()[None, :] - matrix
        order = np.argsort(-lost, axis=1)[:, :n]
        out = []
        for i in range(matrix.shape[0]):
            out.append(
                [
                    {"feature": self.feature_names_[j], "points_lost": float(lost[i, j]),
                     "points": float(matrix[i, j])}
                    for j in order[i]
                    if lost[i, j] > 1e-9
                ]
            )  # fmt: skip
        return out

    def scaling(self) -> dict[str, float]:
        """The scaling persisted with the model."""
        return {"pdo": self.pdo, "base_points": self.base_points, "base_odds": self.base_odds,
                "factor": self.factor_, "offset": self.offset_}  # fmt: skip


def _one_per_family(lost: np.ndarray, families: Sequence[Any]) -> np.ndarray:
    """``lost`` with, per row and family of two or more variables, all but the variable
    that lost the most (the first of equals) set to 0.  A NaN is no loss (``explain``
    never ranks one as a reason): it does not push out a member that lost points."""
    labels = list(families)
    if len(labels) != lost.shape[1]:
        raise ValueError(f"{len(labels)} family labels for {lost.shape[1]} variables")
    groups: dict[Any, list[int]] = {}
    for j, label in enumerate(labels):
        groups.setdefault(label, []).append(j)
    shared = [members for members in groups.values() if len(members) > 1]
    if not shared:
        return lost
    out = lost.copy()
    rows = np.arange(lost.shape[0])
    for members in shared:
        block = lost[:, members]
        keep = np.zeros(block.shape, dtype=bool)
        keep[rows, np.argmax(np.where(np.isnan(block), -np.inf, block), axis=1)] = True
        out[:, members] = np.where(keep, block, 0.0)
    return out


def _independence_p(codes: np.ndarray, target: np.ndarray, n_codes: int) -> float:
    """p-value of the chi-squared test that a variable's bins all have the same share of
    positives (1.0 with fewer than two bins holding rows, or one class only)."""
    from scipy.stats import chi2_contingency

    bad = np.bincount(codes, weights=target, minlength=n_codes)
    rows = np.bincount(codes, minlength=n_codes)
    table = np.column_stack([bad, rows - bad])[rows > 0]
    if len(table) < 2 or (table.sum(axis=0) == 0).any():
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def feature_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The model's columns in its order, numeric (categorical codes already applied)."""
    return frame.reindex(columns=list(columns)).apply(pd.to_numeric, errors="coerce")
