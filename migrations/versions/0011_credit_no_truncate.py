"""credit tables refuse TRUNCATE, like the append-only tables of 0002

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 09:00:00

Why: revisions 0004 and 0010 made the credit history append-only with row-level
BEFORE UPDATE OR DELETE triggers, but a row trigger does not fire on TRUNCATE, so on
PostgreSQL one ``TRUNCATE credit_events CASCADE`` emptied the history the triggers were
there to keep.  0002 gave its tables a statement-level BEFORE TRUNCATE trigger as well;
this gives the credit tables the same.  SQLite has no TRUNCATE (a ``DELETE`` without a
``WHERE`` still fires the row triggers), so there is nothing to do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the append-only tables of 0004 and 0010 (inspect_refuse_change() comes from 0002)
APPEND_ONLY = ("credit_events", "credit_repairs", "credit_ratings", "credit_withdrawals")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION inspect_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
