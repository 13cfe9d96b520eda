"""The append-only tables refuse TRUNCATE as well as UPDATE and DELETE (PostgreSQL: a
row trigger does not fire on TRUNCATE, so each table needs a statement trigger too)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

CREDIT_TABLES = ("credit_events", "credit_repairs", "credit_ratings", "credit_withdrawals")


@pytest.fixture
def pg_session(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (runs in CI's PostgreSQL pass): SQLite has no TRUNCATE")
    return session


@pytest.mark.parametrize("table", CREDIT_TABLES)
def test_credit_tables_refuse_truncate(pg_session, table):
    """Migration 0011: even ``TRUNCATE … CASCADE`` (past the foreign keys) is refused."""
    nested = pg_session.begin_nested()
    with pytest.raises(DBAPIError, match=f"table {table} is append-only: TRUNCATE refused"):
        pg_session.execute(text(f"TRUNCATE {table} CASCADE"))
    nested.rollback()


def test_every_table_refusing_update_and_delete_also_refuses_truncate(pg_session):
    """A table a later migration makes append-only gets its TRUNCATE trigger too."""
    rows = pg_session.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"
        )
    ).all()
    append_only = {table for table, name in rows if name == f"{table}_append_only"}
    no_truncate = {table for table, name in rows if name == f"{table}_no_truncate"}
    assert set(CREDIT_TABLES) | {"audit_events", "results"} <= append_only
    assert append_only - no_truncate == set()
