"""results.supersedes_id: unique only where it is set

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 03:00:00

Why: nearly every result is a first version, with ``supersedes_id`` NULL.  NULLs never
conflict in a unique index, yet every one of them was an entry in it.  A partial unique
index (``WHERE supersedes_id IS NOT NULL``) enforces the same rule — a version is
superseded at most once — holds only the corrections, and still serves
``supersedes_id = x``.  Measured with a server-side ``COPY`` of 30,000 food results into a
copy of the table (five runs each): the full index added about 50 ms, the partial one
about 15.

On SQLite the table-level UNIQUE constraint can only go with a rebuild of the table (see
0007), which gets its append-only triggers back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SET = sa.text("supersedes_id IS NOT NULL")


def _sqlite_results_triggers() -> None:
    for op_name in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS results_no_{op_name.lower()}")
        op.execute(
            f"CREATE TRIGGER results_no_{op_name.lower()} BEFORE {op_name} ON results "
            f"BEGIN SELECT RAISE(ABORT, 'table results is append-only: {op_name} refused');"
            " END"
        )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("results", schema=None, recreate="always" if sqlite else "auto") as b:
        b.drop_constraint("uq_results_supersedes_id", type_="unique")
        b.create_index(
            "uq_results_supersedes_id",
            ["supersedes_id"],
            unique=True,
            postgresql_where=_SET,
            sqlite_where=_SET,
        )
    if sqlite:
        _sqlite_results_triggers()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("results", schema=None, recreate="always" if sqlite else "auto") as b:
        b.drop_index("uq_results_supersedes_id")
        b.create_unique_constraint("uq_results_supersedes_id", ["supersedes_id"])
    if sqlite:
        _sqlite_results_triggers()
