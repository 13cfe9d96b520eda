"""`audit verify --records` over a large results table, against a row-at-a-time verifier.

Run:  .venv/bin/python bench/bench_verify_records.py [--results 1000000]
      [--enterprises 100000] [--baseline 2000]
      [--pg postgresql+psycopg://postgres@127.0.0.1:5432/inspect_verifybench]

Builds a fresh PostgreSQL database with ``bench_scoring``'s simulated district and
history (``--results`` rows, 1 % of them corrections), then attests the rows as
``audit baseline-records`` does (one ``result.load`` event with their id ranges and
digest; not timed).  Timed:
:func:`inspect_core.audit.records.verify_records`, one pass in id order in batches, and
a naive verifier that loads each row as an ORM object by id and digests it, on
``--baseline`` rows spread over the table.  It also times one ``row_digest`` call on a
read row, the part of the pass that is the digest itself.  No target is set for this
(a nightly job); the figures say how long a nightly run takes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.bench_registry_load import fresh_pg  # noqa: E402
from bench.bench_scoring import N_INSPECTORS, load_history  # noqa: E402
from inspect_core.app import create_app  # noqa: E402
from inspect_core.audit.records import baseline, stored_columns, verify_records  # noqa: E402
from inspect_core.db import db  # noqa: E402
from inspect_core.results.digest import (  # noqa: E402
    DIGESTED,
    python_row_digest,
    row_digest,
)
from inspect_core.results.models import Result  # noqa: E402
from inspect_core.simulate import simulate  # noqa: E402


def naive(session, sample: list[int]) -> float:  # type: ignore[no-untyped-def]
    """Rows/s when each row is one ORM load by id, then digested."""
    started = time.perf_counter()
    for rid in sample:
        row = session.get(Result, rid)
        python_row_digest({name: getattr(row, name) for name in DIGESTED})
        session.expunge(row)
    return len(sample) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/inspect_verifybench"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    fresh_pg(args.pg).dispose()
    app = create_app({"DATABASE_URL": args.pg, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8})
    engine = db.engine_for(app)
    simulate(engine, args.enterprises, N_INSPECTORS, seed=5, progress=False)
    load_history(engine, args.enterprises, args.results, dt.date(2026, 11, 27))
    with app.app_context(), db.new_session() as session:
        started = time.perf_counter()
        n, _ = baseline(session, "bench")  # no event covers them: recorded as found
        session.commit()
        print(f"setup: {n:,} result rows attested in {time.perf_counter() - started:.1f} s")

    with app.app_context(), db.new_session() as session:
        started = time.perf_counter()
        report = verify_records(session)
        seconds = time.perf_counter() - started
    assert report.ok and report.verified == n, report.problems
    with app.app_context(), db.new_session() as session:
        step = max(1, n // args.baseline)
        sample = list(range(1, n + 1, step))[: args.baseline]
        slow = naive(session, sample)
        row = session.execute(select(*stored_columns()).where(Result.id == 1)).one()
        per_row = timeit.timeit(lambda: row_digest(row._mapping), number=20_000) / 20_000
    fast = n / seconds
    print(f"verify --records over {n:,} rows: {seconds:.1f} s, {fast:,.0f} rows/s "
          f"(row_digest alone {per_row * 1e6:.2f} µs a row)")  # fmt: skip
    print(f"naive, one ORM load per row ({len(sample):,} rows): {slow:,.0f} rows/s; "
          f"speed-up {fast / slow:.1f}x; 10,000,000 rows would take "
          f"{1e7 / fast / 60:.1f} min against {1e7 / slow / 60:.1f} min")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
