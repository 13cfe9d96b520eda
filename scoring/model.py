"""The ML risk model: gradient-boosted trees with calibrated probabilities of a critical or
major finding at the next inspection, and per-row reason codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

#: the most categories HistGradientBoosting splits as a set (its ``max_bins``)
MAX_TREE_CATEGORIES = 255


class RiskModel(ClassifierMixin, BaseEstimator):
    """``HistGradientBoostingClassifier`` (missing values handled natively) wrapped in
    ``CalibratedClassifierCV`` so the probability is a probability, not just a ranking.

    ``categorical_features``: names of columns holding integer category codes (such as the
    inspector) that the trees split as sets of categories, not as ordered numbers: one split
    can then set the strictest inspector apart, wherever its code falls in the vocabulary.
    The trees take at most 255 categories (codes 0–254); a column with higher codes is
    split as numbers.  A negative code (a category first seen after training) is missing
    to the trees either way: as a number it sorted with code 0.

    ``ensemble``: scikit-learn's choice for ``CalibratedClassifierCV``.  True averages the
    ``cv`` fold models, each calibrated on its held-out fold; False calibrates one model,
    fitted on all rows, on out-of-fold predictions, so a prediction walks one set of trees
    instead of ``cv`` (rescoring a district spends most of its time there).
    """

    def __init__(
        self,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        l2_regularization: float = 1.0,
        calibration: str = "isotonic",
        cv: int = 3,
        n_threads: int | None = None,
        random_state: int | None = 0,
        categorical_features: Sequence[str] | None = None,
        ensemble: bool = True,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.n_threads = n_threads
        self.random_state = random_state
        self.categorical_features = categorical_features
        self.ensemble = ensemble

    def __setstate__(self, state: dict[str, Any]) -> None:
        # scikit-learn's repr, get_params and clone read every __init__ parameter: a model
        # pickled before ``ensemble`` existed averaged its fold models, and one pickled
        # before ``categorical_features`` existed split every column as numbers
        state.setdefault("ensemble", True)
        state.setdefault("categorical_features", None)
        super().__setstate__(state)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def _threads(self, n_rows: int) -> Any:
        """OpenMP threads for this call: one for small data, where thread start-up and
        contention with other processes cost far more than they save (measured: 207 s vs
        0.5 s for 192 rows on a loaded 2-core host)."""
        limit = self.n_threads or (1 if n_rows < 100_000 else None)
        return threadpool_limits(limits=limit, user_api="openmp")

    def fit(self, X: Any, y: Any) -> RiskModel:
        names = list(X.columns) if hasattr(X, "columns") else None
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=float)
        kind = type_of_target(y, raise_unknown=True)
        if kind != "binary":
            raise ValueError(f"Only binary classification is supported; the target is {kind}.")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("Classifier can't train when only one class is present.")
        self.feature_names_ = names or [f"x{i}" for i in range(X.shape[1])]
        wanted = set(self.categorical_features or ())
        self.category_codes_ = np.array([name in wanted for name in self.feature_names_])
        X = self._unseen_missing(X)
        # the trees' own categorical splits take codes 0–254; more categories are numbers
        highest = np.nanmax(np.where(self.category_codes_, X, np.nan), axis=0, initial=-1.0)
        categorical = self.category_codes_ & (highest < MAX_TREE_CATEGORIES)
        base = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, l2_regularization=self.l2_regularization,
            categorical_features=categorical if categorical.any() else None,
            random_state=self.random_state,
        )  # fmt: skip
        counts = np.bincount(np.searchsorted(self.classes_, y))
        cv = max(2, min(self.cv, int(counts.min())))
        self.calibrated_ = CalibratedClassifierCV(
            clone(base), method=self.calibration, cv=cv, ensemble=self.ensemble
        )
        with self._threads(len(X)):
            self.calibrated_.fit(X, y)
        self.n_iter_ = max(c.estimator.n_iter_ for c in self.calibrated_.calibrated_classifiers_)
        self.reference_ = np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=0)
        return self

    def _unseen_missing(self, X: np.ndarray) -> np.ndarray:
        """``X`` with negative category codes (unseen categories) as NaN: what the trees'
        categorical splits make of them, and for a column split as numbers the missing
        side rather than code 0's.  (A model fitted before this knew no codes.)"""
        codes = getattr(self, "category_codes_", None)
        if codes is None or not codes.any():
            return X
        negative = (X < 0) & codes[None, :]
        return np.where(negative, np.nan, X) if negative.any() else X

    def _check(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        return self._unseen_missing(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._check(X)
        with self._threads(len(X)):
            return self.calibrated_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def reason_codes(self, X: Any, n: int = 3) -> list[list[dict[str, Any]]]:
        """Per row, the variables whose value raises its probability most over the training
        median of that variable (one variable replaced at a time)."""
        X = self._check(X)
        with self._threads(len(X)):
            base = self.calibrated_.predict_proba(X)[:, 1]
            lift = np.empty_like(X, dtype=float)
            for j in range(X.shape[1]):
                moved = X.copy()
                moved[:, j] = self.reference_[j]
                lift[:, j] = base - self.calibrated_.predict_proba(moved)[:, 1]
        order = np.argsort(-lift, axis=1)[:, :n]
        return [
            [{"feature": self.feature_names_[j], "probability_added": float(lift[i, j])}
             for j in order[i] if lift[i, j] > 1e-9]
            for i in range(X.shape[0])
        ]  # fmt: skip
