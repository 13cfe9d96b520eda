"""Migrations: one head, empty → head → base → head, and the models match the schema."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from inspect_core.db import make_engine
from inspect_core.migrate import alembic_config, downgrade, pending_diff, upgrade
from inspect_core.models import metadata


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.fixture
def empty_engine(database_url, tmp_path: Path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL schema."""
    if database_url.startswith("sqlite"):
        eng = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield eng
        eng.dispose()
        return
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng = create_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.mark.db
def test_upgrade_from_empty_matches_models_and_round_trips(empty_engine):
    assert inspect(empty_engine).get_table_names() == []
    upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)
    assert pending_diff(empty_engine) == []
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert pending_diff(empty_engine) == []


@pytest.mark.db
def test_check_notices_a_model_the_migrations_lack(empty_engine):
    """The check is not vacuous: a table missing from the schema is reported."""
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("DROP TABLE user_regions"))
    assert any("user_regions" in str(item) for item in pending_diff(empty_engine))
