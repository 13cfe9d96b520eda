"""Registry load: ``inspect-core simulate`` vs a one-row-per-insert ORM baseline.

Run:  .venv/bin/python bench/bench_registry_load.py [--enterprises 1000000] [--baseline 5000]
      [--pg postgresql+psycopg://postgres@127.0.0.1:5432/inspect_bench] [--no-sqlite]

Each backend gets a fresh, migrated database.  The baseline builds the same rows with the
ORM and flushes one enterprise (and its sector rows) at a time, as a naive importer
would; it runs on fewer rows and its rate is reported as measured on those rows.
Target (issue #2): >= 50,000 enterprises/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from inspect_core.db import make_engine
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.migrate import upgrade
from inspect_core.simulate import _ENT_COLS, _enterprise_rows, simulate


def fresh_pg(url: str):  # type: ignore[no-untyped-def]
    """Drop and recreate the benchmark database, then migrate it."""
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    return engine


def fresh_sqlite(folder: Path, name: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    return engine


def orm_baseline(engine, n: int) -> float:  # type: ignore[no-untyped-def]
    """Rows/s when each enterprise is one ORM add + flush (one INSERT round trip each)."""
    rows = _enterprise_rows(10_000_000, n, np.random.default_rng(99), "unused")
    started = time.perf_counter()
    with Session(engine) as session:
        for values, sectors in rows:
            row = dict(zip(_ENT_COLS, values, strict=True))
            session.add(
                Enterprise(
                    uscc=row["uscc"], name=row["name"], region=row["region"],
                    address=row["address"], status=row["status"],
                    established_on=np.datetime64(row["established_on"]).astype(object),
                    licences=[], sector_rows=[EnterpriseSector(sector=s) for s in sectors],
                )
            )  # fmt: skip
            session.flush()
        session.commit()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=5_000)
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/inspect_bench"
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = []
        if not args.no_pg:
            backends.append(("postgresql", lambda: fresh_pg(args.pg)))
        if not args.no_sqlite:
            backends.append(("sqlite", lambda: fresh_sqlite(Path(tmp), "bench.sqlite3")))
        for name, factory in backends:
            engine = factory()
            stats = simulate(engine, args.enterprises, 2000, seed=1, progress=False)
            engine.dispose()
            base_engine = factory()  # a fresh database for the baseline too
            base_rate = orm_baseline(base_engine, args.baseline)
            base_engine.dispose()
            rate = stats.enterprises / stats.seconds
            results.append((name, stats, rate, base_rate))

    print(f"registry load: {args.enterprises:,} enterprises + 2,000 inspectors per backend")
    print(f"{'backend':<11} {'method':<12} {'seconds':>8} {'ent/s':>10} | "
          f"{'ORM 1-row baseline ent/s':>25} {'speed-up':>9}")  # fmt: skip
    for name, stats, rate, base_rate in results:
        print(
            f"{name:<11} {stats.method:<12} {stats.seconds:>8.2f} {rate:>10,.0f} | "
            f"{base_rate:>25,.0f} {rate / base_rate:>8.1f}x"
        )
    pg = [r for r in results if r[0] == "postgresql"]
    if pg:
        verdict = "meets" if pg[0][2] >= 50_000 else "MISSES"
        print(f"PostgreSQL target >= 50,000 enterprises/s: {verdict} ({pg[0][2]:,.0f})")


if __name__ == "__main__":
    main()
