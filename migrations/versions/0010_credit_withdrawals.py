"""credit_withdrawals: a credit event recorded in error, or annulled, is withdrawn

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 08:00:00

Why: credit events are never altered, and the same type, day and source is recorded only
once, so an event entered with the wrong severity or date, or whose decision was annulled
on review, had no way off the record.  A withdrawal is a row of its own (append-only, like
a repair): the event stays in the history, void from the start, and ``replaced_by_id``
names the corrected event recorded in its place.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspect_core.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "credit_withdrawals"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", inspect_core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["credit_events.id"],
            name=op.f("fk_credit_withdrawals_event_id_credit_events"),
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"],
            ["credit_events.id"],
            name=op.f("fk_credit_withdrawals_replaced_by_id_credit_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_withdrawals")),
        sa.UniqueConstraint("event_id", name=op.f("uq_credit_withdrawals_event_id")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # inspect_refuse_change() comes from 0002
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION inspect_refuse_change()"
        )
    elif bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} BEGIN "
                f"SELECT RAISE(ABORT, 'table {TABLE} is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    elif bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb.lower()}")
    op.drop_table(TABLE)
