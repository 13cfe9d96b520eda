"""results.import_id: the bulk upload that stored a result row

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 15:00:00

Why: the audit chain now holds a digest of the rows each write stored, so that a result
row edited, deleted or added behind the application's back is caught by
``inspect-core audit verify --records`` (RELIABILITY.md §1.4).  An upload's event holds
the digest of its rows in id order; the rows must say which upload they came from, since
two uploads at once interleave their ids.  It also tells a regulator where a result came
from.  NULL for results recorded one at a time and for rows stored before this revision.

No foreign key and no index, on purpose: a key to ``imports`` costs PostgreSQL a
referential check per uploaded row, and with the key and a partial index a 100,000-row
upload (``bench/bench_import.py``) ran at 13,476-15,490 rows/s against 15,394-17,668
before, in alternating runs.  The verifier reads the table in id order and checks each
row's ``import_id`` against the upload's audit event, which a key would not do anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN on both backends (no table rebuild, which on SQLite would drop
    # the append-only triggers)
    op.add_column("results", sa.Column("import_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("results", "import_id")
