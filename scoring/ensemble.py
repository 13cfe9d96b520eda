"""The ML risk model used for ranking: boosted trees + a spline logistic model, calibrated.

Why two members: the trees find interactions among the history variables, the spline
logistic model is smooth and stable over time; averaging their log-odds ranked the held-out
months better than either alone (time-based validation, see ``bench/bench_chicago.py``).

Why ``effect_features``: inspectors are assigned at random, so an inspector changes what is
*found*, not what the enterprise *is*.  The inspector enters both members additively (the
trees may not let it interact with anything), so its effect is one log-odds shift per
inspector — its strictness — and the enterprise's risk *net of the inspector* is the
prediction averaged over the training inspectors (:meth:`predict_net_proba`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from scoring.labels import feature_label

_EPS = 1e-9


def resolve_columns(
    spec: Sequence[int] | Sequence[str] | Sequence[bool] | None,
    n_features: int,
    feature_names: Sequence[str] | None,
) -> np.ndarray:
    """Boolean column mask from indices, names or a mask (as scikit-learn accepts them)."""
    mask = np.zeros(n_features, dtype=bool)
    items = [] if spec is None else list(spec)
    if items and all(isinstance(s, bool | np.bool_) for s in items):
        if len(items) != n_features:
            raise ValueError(f"column mask has {len(items)} entries for {n_features} features")
        return np.asarray(items, dtype=bool)
    names = None if feature_names is None else [str(f) for f in feature_names]
    for item in items:
        if isinstance(item, str):
            if names is None or item not in names:
                raise ValueError(f"column {item!r} is not a feature of X")
            mask[names.index(item)] = True
        else:
            index = int(item)
            if not 0 <= index < n_features:
                raise ValueError(f"column index {index} is out of range")
            mask[index] = True
    return mask


class EnsembleRiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated probability of an adverse finding (e.g. a critical violation) next time.

    Parameters
    ----------
    categorical_features : indices, names or mask, optional
        Integer-coded categorical columns (one-hot in the linear member, native categories
        in the trees).
    effect_features : indices or names, optional
        Nuisance effects such as the inspector: additive in both members and averaged out
        by :meth:`predict_net_proba`.  They must also be categorical.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Boosting parameters (no early stopping: the number of trees is a tuned constant).
    C : float
        Inverse L2 strength of the spline logistic member.
    n_knots : int
        Quantile knots per numeric variable in the spline member.
    blend : float
        Weight of the trees' log-odds (1 − ``blend`` for the linear member).
    calibration_cv : int
        Folds of the out-of-fold predictions the Platt calibration is fitted on; 0 or 1
        fits it on the in-sample predictions instead (faster, less honest).
    n_threads : int, optional
        OpenMP threads for the trees; 1 avoids contention on shared hosts.
    random_state : int, optional
        Seed of the folds and of the reason-code permutations.
    """

    def __init__(
        self,
        categorical_features: Sequence[int] | Sequence[str] | None = None,
        effect_features: Sequence[int] | Sequence[str] | None = None,
        max_iter: int = 300,
        learning_rate: float = 0.03,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 200,
        l2_regularization: float = 0.0,
        C: float = 0.03,
        n_knots: int = 5,
        blend: float = 0.5,
        calibration_cv: int = 3,
        n_threads: int | None = 1,
        random_state: int | None = None,
    ) -> None:
        self.categorical_features = categorical_features
        self.effect_features = effect_features
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.C = C
        self.n_knots = n_knots
        self.blend = blend
        self.calibration_cv = calibration_cv
        self.n_threads = n_threads
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ members
    def _members(self, n_rows: int) -> tuple[HistGradientBoostingClassifier, Pipeline]:
        cat = np.flatnonzero(self.is_categorical_)
        num = np.flatnonzero(~self.is_categorical_)
        effects = set(np.flatnonzero(self.is_effect_).tolist())
        n = len(self.is_categorical_)
        groups = [[j for j in range(n) if j not in effects]] + [[j] for j in sorted(effects)]
        groups = [g for g in groups if g]
        trees = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=max(1, min(self.min_samples_leaf, n_rows // 10)),
            l2_regularization=self.l2_regularization,
            categorical_features=self.is_categorical_ if cat.size else None,
            interaction_cst=groups if effects else None,
            early_stopping=False,
            random_state=self.random_state,
        )
        parts = []
        if num.size:
            parts.append(
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(strategy="median", add_indicator=True),
                        SplineTransformer(
                            n_knots=self.n_knots, knots="quantile", extrapolation="constant"
                        ),
                    ),
                    num,
                )
            )
        if cat.size:
            parts.append(
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value=-1.0),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    cat,
                )
            )
        linear = make_pipeline(
            ColumnTransformer(parts),
            StandardScaler(with_mean=False),
            LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=200),
        )
        return trees, linear

    def _threads(self) -> Any:
        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p))

    def _raw(self, trees: Any, linear: Any, X: np.ndarray) -> np.ndarray:
        """Blended log-odds of the two members (before calibration)."""
        z_trees = trees.decision_function(X)
        z_linear = linear.decision_function(X)
        return self.blend * z_trees + (1.0 - self.blend) * z_linear

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any) -> EnsembleRiskModel:
        """Fit both members, then a Platt calibration on out-of-fold blended log-odds."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=float)
        kind = type_of_target(y, raise_unknown=True)
        if kind != "binary":
            raise ValueError(f"Only binary classification is supported; the target is {kind}.")
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if not 0.0 <= self.blend <= 1.0:
            raise ValueError("blend must be between 0 and 1")
        names = getattr(self, "feature_names_in_", None)
        n = X.shape[1]
        self.is_categorical_ = resolve_columns(self.categorical_features, n, names)
        self.is_effect_ = resolve_columns(self.effect_features, n, names)
        if np.any(self.is_effect_ & ~self.is_categorical_):
            raise ValueError("effect_features must also be categorical_features")
        self.feature_names_ = (
            [str(s) for s in names] if names is not None else [f"x{i}" for i in range(n)]
        )
        # an all-missing column would break the trees' binning; it carries nothing anyway
        self.all_missing_ = np.isnan(X).all(axis=0)
        X = self._fill(X)
        with self._threads():
            self.trees_, self.linear_ = self._members(len(X))
            self.trees_.fit(X, y_enc)
            self.linear_.fit(X, y_enc)
            z = self._out_of_fold(X, y_enc)
        self.n_iter_ = int(self.trees_.n_iter_)
        platt = LogisticRegression(C=1e6).fit(z.reshape(-1, 1), y_enc)
        self.calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        # effect values seen in training and their shares: what "net" averages over
        self.effect_levels_ = {}
        for j in np.flatnonzero(self.is_effect_):
            col = X[:, j]
            values, counts = np.unique(col[~np.isnan(col)], return_counts=True)
            self.effect_levels_[int(j)] = (values, counts / max(counts.sum(), 1))
        self.reference_ = self._reference_row(X)
        return self

    def _fill(self, X: np.ndarray) -> np.ndarray:
        if not self.all_missing_.any():
            return X
        X = X.copy()
        X[:, self.all_missing_] = 0.0
        return X

    def _out_of_fold(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        folds = min(self.calibration_cv, int(np.bincount(y).min()))
        if folds < 2:
            return self._raw(self.trees_, self.linear_, X)
        z = np.empty(len(X))
        split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        for train, test in split.split(X, y):
            trees, linear = self._members(len(train))
            trees.fit(X[train], y[train])
            linear.fit(X[train], y[train])
            z[test] = self._raw(trees, linear, X[test])
        return z

    def _reference_row(self, X: np.ndarray) -> np.ndarray:
        """Baseline for reason codes: the median of numeric, the mode of categorical columns."""
        ref = np.full(X.shape[1], np.nan)
        for j in range(X.shape[1]):
            col = X[:, j][~np.isnan(X[:, j])]
            if not col.size:
                continue
            if self.is_categorical_[j]:
                values, counts = np.unique(col, return_counts=True)
                ref[j] = values[np.argmax(counts)]
            else:
                ref[j] = float(np.median(col))
        return ref

    # ---------------------------------------------------------------- inference
    def _check(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibration_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        return self._fill(X)

    def _calibrated(self, z: np.ndarray) -> np.ndarray:
        a, b = self.calibration_
        p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        return np.column_stack([1.0 - p, p])

    def decision_function(self, X: Any) -> np.ndarray:
        """Blended log-odds (uncalibrated; the calibration is monotone, ranks are equal)."""
        X = self._check(X)
        with self._threads():
            return self._raw(self.trees_, self.linear_, X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated class probabilities with every column as given (inspector included)."""
        return self._calibrated(self.decision_function(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class with the higher calibrated probability."""
        positive = self.predict_proba(X)[:, 1] > 0.5  # checks fitted before classes_
        return self.classes_[positive.astype(int)]

    def net_decision_function(self, X: Any) -> np.ndarray:
        """Log-odds with each effect feature averaged over its training distribution.

        Effects are additive in log-odds, so this is the enterprise's own risk: what a
        randomly drawn inspector would find, whichever inspector the row names.
        """
        X = self._check(X)
        with self._threads():
            base = self._raw(self.trees_, self.linear_, X)
            z = base.copy()
            moved = X.copy()
            for j, (values, shares) in self.effect_levels_.items():
                average = np.zeros(len(X))
                for value, share in zip(values, shares, strict=True):
                    moved[:, j] = value
                    average += share * self._raw(self.trees_, self.linear_, moved)
                moved[:, j] = X[:, j]
                z += average - base  # additive: swap this effect for its average
        return z

    def predict_net_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities net of the effect features (see
        :meth:`net_decision_function`)."""
        return self._calibrated(self.net_decision_function(X))

    def effects(self) -> pd.DataFrame:
        """Each effect level's log-odds shift against the training average (the inspector's
        strictness: +0.7 finds about twice the odds of an average inspector)."""
        check_is_fitted(self, "calibration_")
        records = []
        probe = self.reference_.reshape(1, -1).copy()
        with self._threads():
            for j, (values, shares) in self.effect_levels_.items():
                rows = np.repeat(probe, len(values), axis=0)
                rows[:, j] = values
                z = self._raw(self.trees_, self.linear_, rows)
                centred = z - float(np.dot(shares, z))
                for v, w, shift in zip(values, shares, centred, strict=True):
                    records.append(
                        {
                            "feature": self.feature_names_[j],
                            "level": float(v),
                            "share": float(w),
                            "log_odds_shift": float(shift),
                        }
                    )
        return pd.DataFrame.from_records(
            records, columns=["feature", "level", "share", "log_odds_shift"]
        )

    def contributions(self, X: Any, n_permutations: int = 4) -> np.ndarray:
        """Per-feature log-odds contributions against the reference row.

        Features are moved from the reference to the row's value one at a time, in
        ``n_permutations`` random orders, and the steps averaged (a sampled Shapley value).
        Every order telescopes, so each row's contributions sum exactly to
        ``decision_function(x) − decision_function(reference)``.
        """
        X = self._check(X)
        n, p = X.shape
        rng = np.random.default_rng(self.random_state)
        out = np.zeros((n, p))
        with self._threads():
            for _ in range(max(1, n_permutations)):
                current = np.repeat(self.reference_.reshape(1, -1), n, axis=0)
                previous = self._raw(self.trees_, self.linear_, current)
                for j in rng.permutation(p):
                    current[:, j] = X[:, j]
                    now = self._raw(self.trees_, self.linear_, current)
                    out[:, j] += now - previous
                    previous = now
        return out / max(1, n_permutations)

    def reason_codes(
        self, X: Any, n: int = 3, n_permutations: int = 4
    ) -> list[list[dict[str, Any]]]:
        """Per row, the ``n`` features that raise its log-odds most over the reference row,
        with zh-CN and English texts; all contributions sum to the row's log-odds minus the
        reference's."""
        phi = self.contributions(X, n_permutations=n_permutations)
        order = np.argsort(-phi, axis=1, kind="stable")[:, :n]
        out = []
        for i in range(phi.shape[0]):
            row = []
            for j in order[i]:
                if phi[i, j] <= _EPS:
                    continue
                zh, en = feature_label(self.feature_names_[j])
                row.append(
                    {
                        "feature": self.feature_names_[j],
                        "contribution": float(phi[i, j]),
                        "text_zh": f"{zh}使风险对数几率上升{phi[i, j]:.2f}",
                        "text_en": f"{en} raises the risk log-odds by {phi[i, j]:.2f}",
                    }
                )
            out.append(row)
        return out
