"""Evaluation on any inspection history in the open layout (benchmarks/chicago/README.md).

Fit only on inspections dated before ``test_from``; score the inspections of the test
window from what was known at its start (history cut at ``test_from``: the ranking is made
before the window, so no test-window outcome is used); then:

* **days earlier** — order the test inspections by descending risk, give them the original
  sequence of dates in that order, and average ``actual date − simulated date`` over the
  positives;
* **first-half capture** — share of all positives found in the first half of the
  inspections, model order vs the actual order;
* AUC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from scoring.errors import ScoringDataError
from scoring.features import (
    UNSEEN,
    FeatureConfig,
    build_features,
    learn_vocabulary,
    parse_dates,
)

ENTERPRISE_COLUMNS = ("enterprise_id",)
INSPECTION_COLUMNS = ("inspection_id", "enterprise_id", "date", "critical_count")
#: enterprise column whose past inspections give the neighbourhood's critical share
AREA = "zip"
#: calibration folds of the ml model: ten models on 90 % of the rows each, averaged, ranked
#: better than three on 67 % on the four Chicago validation windows before 2014-04-17
#: (bench/bench_chicago.py --validate); chosen there, never on the test window
ML_FOLDS = 10


@dataclass(frozen=True)
class Evaluation:
    auc: float
    days_earlier: float
    first_half_capture: float
    baseline_first_half_capture: float
    n_test: int
    positives: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoringDataError(
            f"{what} is missing column(s): {', '.join(missing)}",
            message_zh=f"{what} 缺少列: {', '.join(missing)}",
        )


def window_day(
    value: Any, option: str, error: type[ScoringDataError] = ScoringDataError
) -> pd.Timestamp:
    """A window bound as a day: an unreadable one is an ``error`` naming the option (an
    empty one was NaT, which matched no row, and read "no inspections in the test window")."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise error(
            f"{option} is not a date: {value!r}", message_zh=f"{option} 不是有效日期: {value!r}"
        )
    # the day, as the inspections' dates are: 2014-09-02 12:00 sent that day's to training
    return stamp.tz_localize(None).normalize() if stamp.tz else stamp.normalize()


def _check_outcomes(events: pd.DataFrame) -> None:
    """Refuse duplicate inspection ids (each counted twice, in history and metrics) and
    ``critical_count`` values that are not numbers (each was taken as no finding)."""
    duplicated = events["inspection_id"].duplicated(keep=False) & events["inspection_id"].notna()
    if duplicated.any():
        examples = events.loc[duplicated, "inspection_id"].astype(str).unique()[:3].tolist()
        raise ScoringDataError(
            f"column 'inspection_id' has duplicate ids, e.g. {examples}",
            message_zh=f"列 'inspection_id' 含重复编号，例如 {examples}",
        )
    counts = events["critical_count"]
    bad = pd.to_numeric(counts, errors="coerce").isna() & counts.notna()
    if bad.any():
        examples = counts[bad].astype(str).head(3).tolist()
        raise ScoringDataError(
            f"column 'critical_count' has values that are not numbers, e.g. {examples}",
            message_zh=f"列 'critical_count' 含非数值，例如 {examples}",
        )


def _require_inspector(events: pd.DataFrame, train: np.ndarray) -> None:
    """``--with-inspector`` needs inspectors named in training: without an ``inspector``
    column, or with one blank before the test window, the model had no inspector to learn
    and the figures printed as "with the inspector" were the enterprise-only ones."""
    if "inspector" not in events.columns:
        raise ScoringDataError(
            "--with-inspector needs an 'inspector' column in the inspections",
            message_zh="使用 --with-inspector 时，检查记录须有 'inspector' 列",
        )
    if not events.loc[train, "inspector"].notna().any():
        raise ScoringDataError(
            "--with-inspector: column 'inspector' names no inspector before the test window",
            message_zh="使用 --with-inspector 时，测试期之前的检查记录 'inspector' 列均为空",
        )


def days_earlier(dates: np.ndarray, risk: np.ndarray, positive: np.ndarray) -> float:
    """Mean (actual − simulated) days over positives when inspections follow the risk order."""
    order = np.argsort(-risk, kind="stable")
    simulated = np.empty_like(dates)
    simulated[order] = np.sort(dates)
    gain = (dates - simulated).astype("timedelta64[D]").astype(float)
    return float(gain[positive].mean())


def first_half_capture(order: np.ndarray, positive: np.ndarray) -> float:
    half = len(order) // 2
    return float(positive[order[:half]].sum() / max(positive.sum(), 1))


@dataclass(frozen=True)
class Scored:
    """The test window's inspections as the model ranked them: what the metrics (and a
    bootstrap of them) are computed from."""

    dates: np.ndarray
    risk: np.ndarray
    positive: np.ndarray

    def metrics(self) -> Evaluation:
        dates, risk, positive = self.dates, self.risk, self.positive
        actual = np.argsort(dates, kind="stable")
        order = np.argsort(-risk, kind="stable")
        return Evaluation(
            auc=round(float(roc_auc_score(positive, risk)), 4),
            days_earlier=round(days_earlier(dates, risk, positive), 2),
            first_half_capture=round(first_half_capture(order, positive), 4),
            baseline_first_half_capture=round(first_half_capture(actual, positive), 4),
            n_test=int(len(risk)),
            positives=int(positive.sum()),
        )


def evaluate(
    enterprises: pd.DataFrame,
    inspections: pd.DataFrame,
    test_from: str,
    test_to: str,
    model: str = "ml",
    with_inspector: bool = False,
) -> Evaluation:
    """Fit before ``test_from``, score [test_from, test_to], return the metrics."""
    return score_window(
        enterprises, inspections, test_from, test_to, model, with_inspector
    ).metrics()


def score_window(
    enterprises: pd.DataFrame,
    inspections: pd.DataFrame,
    test_from: str,
    test_to: str,
    model: str = "ml",
    with_inspector: bool = False,
) -> Scored:
    """:func:`evaluate`'s fit and ranking, without the metrics."""
    from scoring.model import RiskModel
    from scoring.scorecard import Scorecard

    _require(enterprises, ENTERPRISE_COLUMNS, "enterprises")
    _require(inspections, INSPECTION_COLUMNS, "inspections")
    _check_outcomes(inspections)
    events = inspections.copy()
    events["date"] = parse_dates(events["date"], "date")
    start, end = window_day(test_from, "--test-from"), window_day(test_to, "--test-to")
    if start > end:
        raise ScoringDataError("test window starts after it ends", message_zh="测试期起点晚于终点")
    train_mask = events["date"] < start
    test_mask = (events["date"] >= start) & (events["date"] <= end)
    if not test_mask.any():
        raise ScoringDataError("no inspections in the test window", message_zh="测试期内无检查记录")
    y_all = (pd.to_numeric(events["critical_count"], errors="coerce").fillna(0) > 0).to_numpy(int)
    if y_all[train_mask.to_numpy()].sum() == 0:
        raise ScoringDataError("no positives in training", message_zh="训练期内无阳性样本")
    if y_all[train_mask.to_numpy()].min() == 1:
        raise ScoringDataError("no negatives in training", message_zh="训练期内无阴性样本")
    # AUC, days earlier and capture need both: one class alone printed NaN, and --json
    # printed NaN, which is not JSON
    if len(np.unique(y_all[test_mask.to_numpy()])) < 2:
        raise ScoringDataError(
            "the test window needs positives and negatives to measure a ranking",
            message_zh="测试期内须同时有阳性与阴性检查，才能评估排序",
        )
    context = [
        c
        for c in events.columns
        if c
        not in {
            "inspection_id",
            "critical_count",
            "serious_count",
            "minor_count",
            "result",
            "split",
            "date",
        }
    ]
    if with_inspector:
        _require_inspector(events, train_mask.to_numpy())
    else:
        context = [c for c in context if c != "inspector"]
    rows = events[context].copy()
    rows["as_of"] = events["date"]
    rows.loc[test_mask, "history_cutoff"] = start
    rows["history_cutoff"] = rows["history_cutoff"].fillna(rows["as_of"])
    categorical = ["facility_type", "risk_category", "last_result"] + (
        ["inspector"] if with_inspector else []
    )
    config = FeatureConfig(
        categorical=tuple(
            c
            for c in categorical
            if c in rows.columns or c in enterprises.columns or c == "last_result"
        ),
        area=AREA if AREA in enterprises.columns else None,
    )
    raw = build_features(events, rows, enterprises, config)
    vocabulary = learn_vocabulary(raw[train_mask.to_numpy()], config.categorical)
    # the ml model takes only the inspector as a category: to its trees the other codes
    # are numbers, where an unseen code (-1) would sort with code 0 rather than go the
    # missing-value way it went before unseen codes existed; the scorecard puts it in
    # its "other" bin
    unseen = UNSEEN if model == "scorecard" else np.nan
    config = replace(config, vocabulary=vocabulary, unseen=unseen)
    X = build_features(events, rows, enterprises, config)
    X = X.apply(pd.to_numeric, errors="coerce").astype(float)
    infinite = [str(c) for c in X.columns if np.isinf(X[c].to_numpy()).any()]
    if infinite:  # the estimators refused them with a message naming no column
        raise ScoringDataError(
            f"column(s) with infinite values: {', '.join(infinite)}",
            message_zh=f"以下列含无穷大值: {', '.join(infinite)}",
        )
    X = X.loc[:, X[train_mask.to_numpy()].notna().any()]
    est = (
        Scorecard(categorical_features=[c for c in config.categorical if c in X], random_state=0)
        if model == "scorecard"
        else RiskModel(cv=ML_FOLDS, categorical_features=("inspector",), random_state=0)
    )
    est.fit(X[train_mask.to_numpy()], y_all[train_mask.to_numpy()])
    test = test_mask.to_numpy()
    return Scored(
        dates=events.loc[test_mask, "date"].to_numpy().astype("datetime64[D]"),
        risk=est.predict_proba(X[test])[:, 1],
        positive=y_all[test].astype(bool),
    )
