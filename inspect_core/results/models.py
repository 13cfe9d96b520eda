"""Results (抽检/检查结果): append-only versions, attachments, idempotency records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from inspect_core.db import Base, utcnow
from inspect_core.enterprises.models import Enterprise
from inspect_core.plans.models import Plan, Task

#: national result codes for double-random checks (公示系统 抽查检查结果), zh-CN and English
RESULT_CODES: dict[str, tuple[str, str]] = {
    "no_problem": ("未发现问题", "No problems found"),
    "corrected": ("发现问题已责令改正", "Problems found; correction ordered"),
    "follow_up": ("发现问题待后续处理", "Problems found; follow-up pending"),
    "unreachable": ("通过登记的住所（经营场所）无法联系",
                    "Cannot be reached at the registered address"),
    "uncooperative": ("不配合检查情节严重", "Seriously uncooperative with the check"),
    "no_activity": ("未发现开展本次抽查涉及的经营活动",
                    "No activity covered by this check was found"),
    "closed": ("已关闭停业或正在组织清算", "Closed down or in liquidation"),
}  # fmt: skip


class Result(Base):
    """One version of a result.  Never updated or deleted (database triggers refuse it);
    a correction is a new row with ``supersedes_id`` and a reason.  ``chain`` names the
    versions of one result; the current version is the one nothing supersedes."""

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("chain", "version"),
        # the task, and through it the plan and the enterprise: one check per stored row,
        # and a result cannot name another plan's or enterprise's task (migration 0007)
        ForeignKeyConstraint(
            ["task_id", "plan_id", "enterprise_id"],
            ["tasks.id", "tasks.plan_id", "tasks.enterprise_id"],
            name="fk_results_task_id_tasks",
        ),
        Index("ix_results_recorded_at", "recorded_at"),
        # scoring reads the judged results that carry facts, a few per cent of the rows,
        # scattered through the table: on PostgreSQL the index holds what it reads, so
        # the read need not visit the table (index-only scan)
        Index(
            "ix_results_facts",
            "id",
            postgresql_include=["enterprise_id", "inspected_on", "facts"],
            postgresql_where=text("facts IS NOT NULL AND passed IS NOT NULL"),
            sqlite_where=text("facts IS NOT NULL AND passed IS NOT NULL"),
        ),
        # a version is superseded at most once; first versions (nearly all) stay out of
        # the index (migration 0008)
        Index(
            "uq_results_supersedes_id",
            "supersedes_id",
            unique=True,
            postgresql_where=text("supersedes_id IS NOT NULL"),
            sqlite_where=text("supersedes_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(36))  # uq (chain, version) indexes it
    version: Mapped[int]
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"))
    task_id: Mapped[int] = mapped_column(index=True)
    plan_id: Mapped[int] = mapped_column(index=True)
    enterprise_id: Mapped[int] = mapped_column(index=True)
    sector: Mapped[str] = mapped_column(String(40), index=True)
    inspected_on: Mapped[dt.date]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    judgement: Mapped[dict[str, Any]] = mapped_column(JSON)
    passed: Mapped[bool | None]  # None: not inspected (unreachable, closed, ...)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    worst_severity: Mapped[str | None] = mapped_column(String(10))
    #: finding counts by severity, kept as columns so scoring reads them without JSON
    critical_count: Mapped[int] = mapped_column(default=0)
    major_count: Mapped[int] = mapped_column(default=0)
    minor_count: Mapped[int] = mapped_column(default=0)
    conclusion_code: Mapped[str] = mapped_column(String(20))
    #: the plugin's facts about this result (``Judgement.facts``, zeros left out), which
    #: scoring turns into features; SQL NULL when there are none
    facts: Mapped[dict[str, float] | None] = mapped_column(JSON(none_as_null=True))
    plugin: Mapped[str | None] = mapped_column(String(80))
    plugin_version: Mapped[str | None] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    disclosure_due: Mapped[dt.date]
    #: "calendar" (official holidays), "loaded" (a regulator's file) or "weekdays" (a fallback)
    disclosure_basis: Mapped[str] = mapped_column(String(12))
    #: the bulk upload that stored this row (NULL: the JSON API, or the demo's history);
    #: its ``import.results`` audit event holds the digest of the import's rows.  No
    #: foreign key, no index: see migration 0012
    import_id: Mapped[int | None]

    # read-only: the columns are set, and the key checks them against the task
    task: Mapped[Task] = relationship(
        primaryjoin=lambda: foreign(Result.task_id) == Task.id, lazy="select", viewonly=True
    )
    plan: Mapped[Plan] = relationship(
        primaryjoin=lambda: foreign(Result.plan_id) == Plan.id, lazy="joined", viewonly=True
    )
    enterprise: Mapped[Enterprise] = relationship(
        primaryjoin=lambda: foreign(Result.enterprise_id) == Enterprise.id,
        lazy="joined",
        viewonly=True,
    )
    attachments: Mapped[list[Attachment]] = relationship(lazy="selectin", order_by="Attachment.id")


class Attachment(Base):
    """A photo or lab report, stored with its SHA-256 so tampering is visible."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class IdempotencyRecord(Base):
    """The first response to a keyed request, replayed for a retry (Stripe's model)."""

    __tablename__ = "idempotency_records"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(120))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Disclosure(Base):
    """A result chain made public (一公开); the public sees its current version."""

    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(36), unique=True)
    disclosed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    disclosed_by: Mapped[str] = mapped_column(String(64))


class CalendarDay(Base):
    """A regulator-loaded working-day override for years the calendar package does not know."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    workday: Mapped[bool]
    note: Mapped[str] = mapped_column(String(100), default="")
