"""results.facts: the sector plugin's numbers about a result, for scoring

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:20:00

Why a column, not a table: every write path (one result, a correction, a bulk upload's
COPY) already writes one row per result, and results are never altered afterwards.
NULL when a result has no facts. The partial index holds the judged rows that have
some; on PostgreSQL it includes what rescoring reads, so the read is index-only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts", sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_index(
            "ix_results_facts",
            ["id"],
            unique=False,
            postgresql_include=["enterprise_id", "inspected_on", "facts"],
            postgresql_where=sa.text("facts IS NOT NULL AND passed IS NOT NULL"),
            sqlite_where=sa.text("facts IS NOT NULL AND passed IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index("ix_results_facts")
        batch_op.drop_column("facts")
