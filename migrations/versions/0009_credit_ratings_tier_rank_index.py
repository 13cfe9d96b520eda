"""credit_ratings: the risk-ranked list's index leads with the tier

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 06:30:00

Why: "riskiest first" now orders by tier (D, C, B, A), then by score, so that an
override (the serious-dishonesty list → D) ranks with the D tier instead of where its
score alone would put it.  A page reads each tier as one range of an index on
``(run_id, tier, score, enterprise_id)``; the index on ``(run_id, score,
enterprise_id)`` served only the score-only order and goes, so a rescore still writes
two indexes on this table.  Plain CREATE INDEX (not CONCURRENTLY, which cannot run in a
migration's transaction): writes to credit_ratings wait while it is built.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_credit_ratings_run_tier_rank",
        "credit_ratings",
        ["run_id", "tier", "score", "enterprise_id"],
    )
    op.drop_index("ix_credit_ratings_run_rank", table_name="credit_ratings")


def downgrade() -> None:
    op.create_index(
        "ix_credit_ratings_run_rank", "credit_ratings", ["run_id", "score", "enterprise_id"]
    )
    op.drop_index("ix_credit_ratings_run_tier_rank", table_name="credit_ratings")
