"""Window-faithful training frames, the ensemble evaluated net of / with the inspector, the
published-feature baseline, and rolling validation windows inside the training period.

This complements :mod:`scoring.evaluate` (same metrics, same protocol) with what tuning and
benchmarking need:

* **stale training history** — test rows see history only up to ``test_from``, so rows
  late in the window see older history.  Training rows are given the same staleness: their
  history is frozen at the start of pseudo-windows of the test window's length, laid
  back-to-back before ``test_from``;
* **one fit, two rankings** — the :class:`~scoring.ensemble.EnsembleRiskModel` learns the
  inspector as an additive fixed effect; *enterprise-only* ranks by the risk net of the
  inspector (averaged over the training inspectors: nothing about a test row's inspector is
  used), *with inspector* by the risk given the assigned inspector;
* **rolling validation** — the same evaluation on earlier windows, each fitted only on data
  before its own start: how hyper-parameters were chosen without touching the test window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from scoring.errors import ScoringDataError
from scoring.evaluate import Evaluation, days_earlier, first_half_capture, window_day
from scoring.features import FeatureConfig, build_features, encode_categoricals, learn_vocabulary

#: categorical columns of the open layout the evaluation encodes (when present)
CATEGORICAL = ("facility_type", "risk_category", "last_result", "inspector")
#: outcome columns of an inspection row: never features of that row
OUTCOMES = ("critical_count", "serious_count", "minor_count", "result", "failed", "split")


class ValidationError(ScoringDataError):
    """The inputs cannot be evaluated; the message names the problem."""


@dataclass
class WindowFrames:
    """Encoded features of the training rows (before ``test_from``) and the test rows."""

    X_train: pd.DataFrame
    y_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    test_dates: np.ndarray
    vocabulary: dict[str, tuple[str, ...]]


def history_cutoffs(dates: pd.Series, test_from: pd.Timestamp, block_days: int) -> pd.Series:
    """Start of each row's pseudo-window (blocks of ``block_days`` ending at ``test_from``);
    rows on or after ``test_from`` get ``test_from``."""
    if block_days < 1:
        raise ValueError("block_days must be at least 1")
    days = (test_from - dates).dt.days.to_numpy()
    k = np.ceil(np.maximum(days, 0) / block_days)
    return pd.Series(test_from - pd.to_timedelta(k * block_days, unit="D"), index=dates.index)


def window_frames(
    enterprises: pd.DataFrame,
    inspections: pd.DataFrame,
    test_from: Any,
    test_to: Any,
    *,
    block_days: int | None = None,
    config: FeatureConfig | None = None,
) -> WindowFrames:
    """Features for the rows before ``test_from`` and in ``[test_from, test_to]``.

    History comes only from inspections before ``test_from``.  ``block_days`` (default: the
    window's length in days; 1 = fresh history per training row) sets the training rows'
    staleness.  Raises :class:`ValidationError` for missing columns, unparseable dates, an
    empty window, or a training period without positives.
    """
    for frame, columns, what, what_zh in (
        (enterprises, ("enterprise_id",), "enterprises table", "企业表"),
        (inspections, ("enterprise_id", "date", "critical_count"), "inspections table", "检查表"),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValidationError(
                f"{what} is missing column(s): {', '.join(missing)}",
                message_zh=f"{what_zh}缺少列: {', '.join(missing)}",
            )
    ins = inspections.copy()
    parsed = pd.to_datetime(ins["date"], errors="coerce", format="mixed")
    if parsed.isna().any():
        examples = ins.loc[parsed.isna(), "date"].astype(str).head(3).tolist()
        raise ValidationError(
            f"inspections column 'date' has unparseable dates, e.g. {examples}",
            message_zh=f"检查表 'date' 列含无法解析的日期，例如 {examples}",
        )
    ins["date"] = parsed.dt.normalize().astype("datetime64[ns]")
    ins["critical_count"] = pd.to_numeric(ins["critical_count"], errors="coerce").fillna(0)
    keys = ["date", "inspection_id"] if "inspection_id" in ins.columns else ["date"]
    ins = ins.sort_values(keys, kind="stable").reset_index(drop=True)
    start = window_day(test_from, "test_from", ValidationError)
    end = window_day(test_to, "test_to", ValidationError)
    train = (ins["date"] < start).to_numpy()
    test = ((ins["date"] >= start) & (ins["date"] <= end)).to_numpy()
    y_all = (ins["critical_count"] > 0).to_numpy(dtype=int)
    if not test.any():
        raise ValidationError(
            f"no inspections in the test window {start.date()} … {end.date()}",
            message_zh=f"测试窗口 {start.date()} … {end.date()} 内没有检查记录",
        )
    if y_all[train].sum() == 0 or y_all[train].min() == 1:
        raise ValidationError(
            f"the inspections before {start.date()} need positives and negatives to train on",
            message_zh=f"{start.date()} 之前的检查须同时有阳性与阴性记录才能训练",
        )
    if y_all[test].sum() == 0:
        raise ValidationError(
            f"no positives in the test window {start.date()} … {end.date()}",
            message_zh=f"测试窗口 {start.date()} … {end.date()} 内没有阳性检查",
        )
    keep = train | test
    rows = ins[keep].reset_index(drop=True)
    rows["as_of"] = rows["date"]
    rows["history_cutoff"] = history_cutoffs(
        rows["date"], start, block_days or int((end - start).days + 1)
    )
    config = config or FeatureConfig(categorical=CATEGORICAL)
    X = build_features(
        ins[train], rows.drop(columns=[c for c in OUTCOMES if c in rows]), enterprises, config
    )
    is_train = (rows["date"] < start).to_numpy()
    vocabulary = learn_vocabulary(X[is_train], [c for c in config.categorical if c in X])
    X = encode_categoricals(X, vocabulary)
    X = X.drop(columns=[c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])])
    X = X.astype(float)
    y = y_all[keep]
    return WindowFrames(
        X_train=X[is_train].reset_index(drop=True),
        y_train=y[is_train],
        X_test=X[~is_train].reset_index(drop=True),
        y_test=y[~is_train],
        test_dates=rows.loc[~is_train, "date"].to_numpy().astype("datetime64[D]"),
        vocabulary=vocabulary,
    )


def measure(frames: WindowFrames, risk: np.ndarray) -> Evaluation:
    """The protocol's figures for test-row risks (same functions as ``scoring.evaluate``)."""
    positive = frames.y_test.astype(bool)
    actual = np.argsort(frames.test_dates, kind="stable")
    return Evaluation(
        auc=round(float(roc_auc_score(positive, risk)), 4),
        days_earlier=round(days_earlier(frames.test_dates, risk, positive), 2),
        first_half_capture=round(first_half_capture(np.argsort(-risk, kind="stable"), positive), 4),
        baseline_first_half_capture=round(first_half_capture(actual, positive), 4),
        n_test=int(len(positive)),
        positives=int(positive.sum()),
    )


def ensemble_model(columns: Sequence[str], random_state: int = 0, **params: Any) -> Any:
    """The ensemble with the open layout's categorical columns and the inspector effect."""
    from scoring.ensemble import EnsembleRiskModel

    return EnsembleRiskModel(
        categorical_features=[c for c in columns if c in CATEGORICAL],
        effect_features=["inspector"] if "inspector" in columns else None,
        random_state=random_state,
        **params,
    )


def evaluate_ensemble(
    enterprises: pd.DataFrame,
    inspections: pd.DataFrame,
    test_from: Any,
    test_to: Any,
    *,
    random_state: int = 0,
    **params: Any,
) -> dict[str, Evaluation]:
    """Fit the ensemble once; figures for ``enterprise_only`` (net of the inspector) and,
    when the log names inspectors, ``with_inspector``."""
    frames = window_frames(enterprises, inspections, test_from, test_to)
    model = ensemble_model(list(frames.X_train.columns), random_state, **params)
    model.fit(frames.X_train, frames.y_train)
    out = {"enterprise_only": measure(frames, model.predict_net_proba(frames.X_test)[:, 1])}
    if "inspector" in frames.X_test.columns:
        out["with_inspector"] = measure(frames, model.predict_proba(frames.X_test)[:, 1])
    return out


def published_design(X: pd.DataFrame, *, with_inspector: bool) -> pd.DataFrame:
    """The published Chicago glmnet features, from our columns.

    Serious / critical at the last inspection (capped at 1), business age > 4 years,
    consumption on premises, tobacco, temperature, capped crime / complaint densities, years
    since the last inspection (2 when none), and optionally inspector dummies.
    """

    def col(name: str) -> pd.Series:
        return X[name] if name in X else pd.Series(np.nan, index=X.index)

    out = pd.DataFrame(
        {
            "past_serious": col("last_serious").fillna(0).clip(upper=1),
            "past_critical": col("last_critical").fillna(0).clip(upper=1),
            "age_over_4": (col("business_age_years") > 4).astype(float),
            "consumption": col("consumption_on_premises"),
            "tobacco": col("tobacco"),
            "temperature": col("temperature_max"),
            "heat_burglary": col("heat_burglary").clip(upper=70),
            "heat_sanitation": col("heat_sanitation").clip(upper=70),
            "heat_garbage": col("heat_garbage").clip(upper=50),
            "years_since_last": (col("days_since_last") / 365.0).fillna(2.0),
        }
    )
    if with_inspector and "inspector" in X:
        codes = X["inspector"].astype("Int64")
        out = pd.concat([out, pd.get_dummies(codes, prefix="insp", dtype=float)], axis=1)
    return out


def evaluate_published_baseline(
    enterprises: pd.DataFrame,
    inspections: pd.DataFrame,
    test_from: Any,
    test_to: Any,
    *,
    with_inspector: bool = False,
) -> Evaluation:
    """Logistic regression on the published features (history fresh per training row,
    frozen at ``test_from`` for test rows; incomplete training rows dropped, as there)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frames = window_frames(enterprises, inspections, test_from, test_to, block_days=1)
    train = published_design(frames.X_train, with_inspector=with_inspector)
    test = published_design(frames.X_test, with_inspector=with_inspector)
    test = test.reindex(columns=train.columns, fill_value=0.0)
    complete = train.notna().all(axis=1).to_numpy()
    if not complete.any():
        raise ValidationError(
            "no training row has all the published features",
            message_zh="没有训练行具备全部公开特征",
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(train[complete], frames.y_train[complete])
    risk = model.predict_proba(test.fillna(train[complete].median()))[:, 1]
    return measure(frames, risk)


def rolling_validation(
    enterprises: pd.DataFrame,
    inspections: pd.DataFrame,
    windows: Iterable[tuple[str, str]],
    **params: Any,
) -> pd.DataFrame:
    """The ensemble on each (start, end) window, fitted only on data before its start."""
    records = []
    for start, end in windows:
        for mode, result in evaluate_ensemble(
            enterprises, inspections, start, end, **params
        ).items():
            records.append({"window": f"{start} … {end}", "mode": mode, **result.as_dict()})
    return pd.DataFrame.from_records(records)
