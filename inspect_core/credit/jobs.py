"""Training and running the credit-risk models over the database.

The estimators live in ``scoring/`` (pure: frames in, arrays out); this module gathers
frames from the records (:mod:`inspect_core.credit.data`), stores fitted models with
their version, window, features and metrics, and writes each rescoring as a run of
ratings.  Tiers come from configurable score cut-offs, with the overrides the rules
require (serious-dishonesty list → D, no history → B) recorded as reasons.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from inspect_core.audit.service import record as audit
from inspect_core.credit import data
from inspect_core.credit.models import CreditRating, ScoringModel, ScoringRun
from inspect_core.db import utcnow
from inspect_core.errors import Conflict, Unprocessable

Progress = Callable[[str, int, int], None]


@dataclass
class Frames:
    rows: pd.DataFrame  # enterprise_id, as_of
    X: pd.DataFrame
    y: np.ndarray | None
    serious_dishonesty: np.ndarray
    has_history: np.ndarray


def _features(
    session: Session, rows: pd.DataFrame, events: pd.DataFrame, config: Any
) -> pd.DataFrame:
    from scoring.features import build_features

    as_of = pd.to_datetime(rows["as_of"]).max().date()
    enterprises = data.enterprises_frame(session, as_of)
    X = build_features(events, rows, enterprises, config)
    credit = data.credit_features(session, rows.reset_index(drop=True))
    X = pd.concat([X.reset_index(drop=True), credit.reset_index(drop=True)], axis=1)
    return X


def training_frames(session: Session, until: dt.date, window_days: int, config: Any) -> Frames:
    """One row per judged inspection in the window: label = a critical or major finding."""
    events = data.events_frame(session)
    start = pd.Timestamp(until - dt.timedelta(days=window_days))
    mask = (events["date"] >= start) & (events["date"] < pd.Timestamp(until))
    inspections = events[mask].reset_index(drop=True)
    if inspections.empty:
        raise Unprocessable(
            "no judged results in the training window", {"window": [f"{start.date()} … {until}"]}
        )
    y = ((inspections["critical_count"] + inspections["serious_count"]) > 0).to_numpy(int)
    if y.sum() == 0 or y.sum() == len(y):
        raise Unprocessable(
            "the training window needs inspections with and without critical or major findings",
            {"window": [f"{int(y.sum())} positives of {len(y)}"]},
        )
    rows = pd.DataFrame(
        {"enterprise_id": inspections["enterprise_id"], "as_of": inspections["date"]}
    )
    X = _features(session, rows, events, config)
    rows["inspector"] = inspections["inspector"].to_numpy()  # after the features: not one
    return Frames(rows, X, y, X["serious_dishonesty"].to_numpy(), X["has_history"].to_numpy())


def scoring_frames(session: Session, as_of: dt.date, config: Any) -> Frames:
    """Every enterprise on ``as_of``, from everything recorded before it."""
    events = data.events_frame(session)
    ids = data.read_frame(session, "SELECT id AS enterprise_id FROM enterprises")["enterprise_id"]
    rows = pd.DataFrame({"enterprise_id": ids.to_numpy(), "as_of": pd.Timestamp(as_of)})
    X = _features(session, rows, events, config)
    return Frames(rows, X, None, X["serious_dishonesty"].to_numpy(), X["has_history"].to_numpy())


#: reason-code texts by feature name prefix (zh-CN, English)
FEATURE_LABELS: tuple[tuple[str, str, str], ...] = (
    ("decay_critical", "近期严重问题较多", "Recent critical findings"),
    ("decay_serious", "近期主要问题较多", "Recent major findings"),
    ("decay_minor", "近期一般问题较多", "Recent minor findings"),
    ("decay_failed", "近期抽检/检查不合格", "Recent failed checks"),
    ("decay_inspections", "近期检查频次", "Recent inspection frequency"),
    ("last_critical", "上次检查发现严重问题", "Critical findings at the last check"),
    ("last_serious", "上次检查发现主要问题", "Major findings at the last check"),
    ("last_minor", "上次检查发现一般问题", "Minor findings at the last check"),
    ("last_failed", "上次检查不合格", "Failed the last check"),
    ("last_result", "上次检查结论", "Outcome of the last check"),
    ("days_since_last", "距上次检查时间较长", "Long time since the last check"),
    ("n_prior", "历史检查次数", "Number of past checks"),
    ("has_history", "检查记录情况", "Inspection history"),
    ("credit_serious_dishonesty", "列入严重违法失信名单", "On the serious-dishonesty list"),
    ("credit_abnormal_operations", "列入经营异常名录", "On the abnormal-operations list"),
    ("credit_penalty", "存在行政处罚", "Administrative penalties"),
    ("credit_complaint", "存在投诉举报", "Complaints"),
    ("credit_recall", "存在产品召回", "Recalls"),
    ("credit_incident", "发生质量安全事故", "Quality or safety incidents"),
    ("credit_certification", "质量管理体系认证情况", "Quality-system certification"),
    ("credit_quality_award", "获得质量奖情况", "Quality awards"),
    ("credit_negative", "不良信用记录", "Adverse credit records"),
    ("credit_positive", "良好信用记录", "Positive credit records"),
    ("serious_dishonesty", "列入严重违法失信名单", "On the serious-dishonesty list"),
    ("business_age_years", "经营年限", "Years in business"),
    ("sector", "所属行业风险", "Sector"),
    ("region", "所在街镇", "Street or town"),
    ("status", "经营状态", "Registration status"),
)


def label(feature: str) -> tuple[str, str]:
    for prefix, zh, en in FEATURE_LABELS:
        if feature.startswith(prefix):
            return zh, en
    return feature, feature


def feature_config() -> Any:
    from scoring.features import FeatureConfig

    return FeatureConfig(categorical=("sector", "region", "status", "last_result"))


def _encode(X: pd.DataFrame, vocabulary: dict[str, Any]) -> pd.DataFrame:
    from scoring.features import encode_categoricals

    return encode_categoricals(X, vocabulary)


def train(session: Session, user: Any, until: dt.date, window_days: int = 3 * 365) -> ScoringModel:
    """Fit the scorecard and the ML model on judged results before ``until``; store them.

    AUCs are measured on the latest fifth of the window (fitted on the rest), then both
    models are refitted on the whole window.
    """
    from sklearn.metrics import roc_auc_score

    from scoring import monitoring
    from scoring.features import learn_vocabulary
    from scoring.model import RiskModel
    from scoring.persistence import ModelBundle, dumps
    from scoring.scorecard import Scorecard

    config = feature_config()
    frames = training_frames(session, until, window_days, config)
    vocabulary = learn_vocabulary(frames.X, config.categorical)
    X = _encode(frames.X, vocabulary)
    # numeric columns that vary: an all-missing or constant column carries no information
    features = [
        c
        for c in X.columns
        if pd.api.types.is_numeric_dtype(X[c])
        and X[c].notna().any()
        and (X[c].nunique(dropna=True) > 1 or X[c].isna().any())
    ]
    X = X[features].astype(float)
    y = frames.y
    order = np.argsort(frames.rows["as_of"].to_numpy(), kind="stable")
    cut = int(len(order) * 0.8)
    metrics: dict[str, Any] = {"rows": int(len(y)), "positives": int(y.sum())}
    train_idx, test_idx = order[:cut], order[cut:]
    if len(np.unique(y[train_idx])) == 2 and len(np.unique(y[test_idx])) == 2:
        sc = Scorecard(random_state=0).fit(X.iloc[train_idx], y[train_idx])
        ml = RiskModel(random_state=0).fit(X.iloc[train_idx], y[train_idx])
        metrics["holdout_rows"] = int(len(test_idx))
        metrics["auc_scorecard"] = round(
            float(roc_auc_score(y[test_idx], sc.predict_proba(X.iloc[test_idx])[:, 1])), 4
        )
        metrics["auc_ml"] = round(
            float(roc_auc_score(y[test_idx], ml.predict_proba(X.iloc[test_idx])[:, 1])), 4
        )
    scorecard = Scorecard(random_state=0).fit(X, y)
    ml = RiskModel(random_state=0).fit(X, y)
    # inspector strictness against out-of-fold enterprise-only predictions
    from sklearn.model_selection import cross_val_predict

    from scoring.inspectors import effects

    folds = max(2, min(5, int(min(y.sum(), len(y) - y.sum()))))
    oof = cross_val_predict(Scorecard(random_state=0), X, y, cv=folds, method="predict_proba")[:, 1]
    strictness = effects(frames.rows["inspector"].to_numpy(), y, oof)
    metrics["inspectors"] = [
        {"inspector": str(r.inspector), "visits": int(r.visits), "found": int(r.found),
         "expected": round(float(r.expected), 2), "strictness": round(float(r.strictness), 3)}
        for r in strictness.itertuples()
    ]  # fmt: skip
    scores = scorecard.points(X)
    reference = {"score": {"edges": monitoring.bin_edges(scores)}}
    reference["score"]["shares"] = monitoring.distribution(scores, reference["score"]["edges"])
    for name in features:
        edges = monitoring.bin_edges(X[name].to_numpy())
        reference[name] = {
            "edges": edges,
            "shares": monitoring.distribution(X[name].to_numpy(), edges),
        }
    start = until - dt.timedelta(days=window_days)
    version = f"credit-{until.isoformat()}-{utcnow():%Y%m%d%H%M%S}"
    bundle = ModelBundle(
        estimator={"scorecard": scorecard, "ml": ml},
        kind="scorecard+ml",
        version=version,
        features=features,
        feature_config={
            **config.to_dict(),
            "vocabulary": {k: list(v) for k, v in vocabulary.items()},
        },
        window=(start.isoformat(), until.isoformat()),
        metrics=metrics,
        scaling=scorecard.scaling(),
        monitoring=reference,
    )
    row = ScoringModel(
        version=version,
        kind=bundle.kind,
        blob=dumps(bundle),
        window_start=start,
        window_end=until,
        features=features,
        metrics=metrics,
    )
    session.add(row)
    session.flush()
    audit(session, user, "model.train", "model", version, {"window": bundle.window, **metrics})
    session.commit()
    return row


def latest_model(session: Session) -> ScoringModel:
    model = session.scalar(select(ScoringModel).order_by(ScoringModel.id.desc()).limit(1))
    if model is None:
        raise Conflict("no model trained yet: run `inspect-core score train`", {"model": ["none"]})
    return model


def run(
    session: Session, user: Any, as_of: dt.date | None = None, progress: Progress | None = None
) -> ScoringRun:
    """Rescore every enterprise; one run of ratings, with PSI against the training data."""
    from inspect_core.results.service import today_in_china
    from scoring import monitoring
    from scoring.features import FeatureConfig
    from scoring.persistence import loads
    from scoring.scorecard import feature_matrix
    from scoring.tiers import REASONS, assign

    as_of = as_of or today_in_china()
    cutoffs = dict(current_app.config["TIER_CUTOFFS"])
    model_row = latest_model(session)
    bundle = loads(model_row.blob)
    started = time.perf_counter()
    scoring_run = ScoringRun(
        model_id=model_row.id,
        as_of=as_of,
        started_by=getattr(user, "username", str(user)),
        cutoffs=cutoffs,
    )
    session.add(scoring_run)
    session.flush()
    config = FeatureConfig.from_dict(bundle.feature_config)
    frames = scoring_frames(session, as_of, config)
    X = feature_matrix(frames.X, bundle.features)
    if progress:
        progress("features", len(X), len(X))
    scorecard, ml = bundle.estimator["scorecard"], bundle.estimator["ml"]
    scores = scorecard.points(X)
    probability = ml.predict_proba(X)[:, 1]
    tiers, overrides = assign(scores, cutoffs, frames.serious_dishonesty, frames.has_history)
    reasons = scorecard.reason_codes(X, n=3)
    rows = []
    ids = frames.rows["enterprise_id"].to_numpy()
    for i in range(len(ids)):
        listed = []
        if overrides[i]:
            zh, en = REASONS[overrides[i]]
            listed.append(
                {
                    "code": overrides[i],
                    "feature": overrides[i],
                    "points": None,
                    "text_zh": zh,
                    "text_en": en,
                }
            )
        for r in reasons[i]:
            zh, en = label(r["feature"])
            listed.append(
                {
                    "code": r["feature"],
                    "feature": r["feature"],
                    "points": round(-r["points_lost"], 2),
                    "text_zh": zh,
                    "text_en": en,
                }
            )
        rows.append(
            {
                "run_id": scoring_run.id,
                "enterprise_id": int(ids[i]),
                "score": round(float(scores[i]), 4),
                "probability": round(float(probability[i]), 6),
                "tier": str(tiers[i]),
                "reasons": listed[:3],
            }
        )
        if progress and (i + 1) % 50_000 == 0:
            progress("score", i + 1, len(ids))
    for start in range(0, len(rows), 10_000):
        session.execute(insert(CreditRating), rows[start : start + 10_000])
    current = {"score": scores, **{name: X[name].to_numpy() for name in bundle.features}}
    report = monitoring.report(bundle.monitoring, current)
    scoring_run.psi = report
    scoring_run.alarm = bool(report["alarm"])
    scoring_run.enterprises = len(rows)
    scoring_run.status = "finished"
    scoring_run.finished_at = utcnow()
    counts = {t: int((tiers == t).sum()) for t in ("A", "B", "C", "D")}
    audit(
        session,
        user,
        "scoring.run",
        "scoring_run",
        scoring_run.id,
        {
            "model": model_row.version,
            "as_of": as_of,
            "enterprises": len(rows),
            "tiers": counts,
            "psi_max": report["max"],
            "alarm": scoring_run.alarm,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    session.commit()
    if progress:
        progress("score", len(ids), len(ids))
    return scoring_run
