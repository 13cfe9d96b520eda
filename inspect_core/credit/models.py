"""Credit events, their repair and withdrawal, scoring runs, ratings and stored models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inspect_core.db import Base, utcnow

#: event types: zh-CN, English, polarity (+1 raises risk, -1 lowers it), default effect,
#: calendar years (``P3Y``; credit.rules.add_term) or days (None: until repaired).
#: Sources: DOMAIN.md §2 (3 years on the serious-dishonesty list, penalty publicity 3 years
#: [M]); the other durations are this project's defaults.
CREDIT_EVENT_TYPES: dict[str, tuple[str, str, int, int | str | None]] = {
    "penalty": ("行政处罚", "Administrative penalty", 1, "P3Y"),
    "serious_dishonesty": ("列入严重违法失信名单", "Serious-dishonesty list", 1, "P3Y"),
    "abnormal_operations": ("列入经营异常名录", "Abnormal-operations list", 1, None),
    "complaint": ("投诉举报", "Complaint", 1, "P1Y"),
    "recall": ("产品召回", "Recall", 1, "P2Y"),
    "incident": ("质量安全事故", "Quality or safety incident", 1, "P3Y"),
    "certification": ("质量管理体系认证", "Quality-system certification", -1, "P3Y"),
    "quality_award": ("质量奖", "Quality award", -1, "P3Y"),
}
EVENT_SEVERITIES = ("critical", "major", "minor", "positive")
#: zh-CN and English names of the severities (a penalty's: minor = 通报批评 or a low fine)
SEVERITY_NAMES: dict[str, tuple[str, str]] = {
    "critical": ("严重", "critical"),
    "major": ("较重", "major"),
    "minor": ("轻微", "minor"),
    "positive": ("正面", "positive"),
}


class CreditEvent(Base):
    """Something on an enterprise's credit record besides inspections.  Never altered:
    a repair is a row of its own."""

    __tablename__ = "credit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    occurred_on: Mapped[dt.date]
    severity: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    expires_on: Mapped[dt.date | None]
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CreditRepair(Base):
    """信用修复: ends an event's effect from ``effective_on``, with the reason recorded."""

    __tablename__ = "credit_repairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("credit_events.id"), unique=True)
    effective_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CreditWithdrawal(Base):
    """更正/撤销: an event recorded in error, or whose decision was annulled (行政复议,
    诉讼), is void from the start: it never counted, unlike a repair, which ends a valid
    event's effect from a day on.  ``replaced_by_id``: the corrected event recorded in its
    place, if any.  The withdrawn event stays, unaltered, in the history."""

    __tablename__ = "credit_withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("credit_events.id"), unique=True)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("credit_events.id"))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScoringModel(Base):
    """A fitted model with everything needed to score the same way again."""

    __tablename__ = "scoring_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # scorecard | ml
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    trained_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    window_start: Mapped[dt.date | None]
    window_end: Mapped[dt.date | None]
    features: Mapped[list[str]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScoringRun(Base):
    """One rescoring of every enterprise; regulators page through one fixed run."""

    __tablename__ = "scoring_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("scoring_models.id"))
    as_of: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(12), default="running")
    enterprises: Mapped[int] = mapped_column(default=0)
    psi: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    alarm: Mapped[bool] = mapped_column(default=False)
    cutoffs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    started_by: Mapped[str] = mapped_column(String(64))


class CreditRating(Base):
    """An enterprise's rating in one run: kept as history, never overwritten."""

    __tablename__ = "credit_ratings"
    __table_args__ = (
        # the risk-ranked list: one range per tier, riskiest first (migration 0009)
        Index("ix_credit_ratings_run_tier_rank", "run_id", "tier", "score", "enterprise_id"),
        Index("ix_credit_ratings_enterprise_run", "enterprise_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scoring_runs.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    score: Mapped[float] = mapped_column(Float)
    probability: Mapped[float | None] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(2))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
