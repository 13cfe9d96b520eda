"""The bench scripts' baselines still run against the current schema.

A bench is run by hand, so a change to what it builds on broke it unseen: the registry
load's ORM baseline unpacked the simulator's rows by position and stopped working when
they gained ``search_name``.  A few rows through it are enough to notice.
"""

from __future__ import annotations

from sqlalchemy import select

from bench.bench_registry_load import fresh_sqlite, orm_baseline
from inspect_core.enterprises.models import Enterprise, search_text


def test_the_registry_load_baseline_stores_searchable_enterprises(tmp_path):
    engine = fresh_sqlite(tmp_path, "baseline.sqlite3")
    try:
        assert orm_baseline(engine, 20) > 0
        with engine.connect() as conn:
            rows = conn.execute(select(Enterprise.name, Enterprise.search_name)).all()
    finally:
        engine.dispose()
    assert len(rows) == 20
    assert all(key == search_text(name) and name for name, key in rows)
