"""drop the redundant results.chain index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:50:00

Why: the unique constraint ``uq_results_chain`` on ``(chain, version)`` already serves
every lookup by ``chain`` (its leading column), so ``ix_results_chain`` only cost time on
each stored result (measured with ``psql \\copy`` of 100,000 food results: the table's
indexes were most of the difference between 2.3 s bare and 5.5 s indexed).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_chain"))


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_results_chain"), ["chain"], unique=False)
