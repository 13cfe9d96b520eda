"""The risk-ranked CSV export of a whole district, streamed, beside building it in memory.

Run:  .venv/bin/python bench/bench_export.py [--enterprises 1000000] [--results 10000000]
      [--pg postgresql+psycopg://postgres@127.0.0.1:5432/inspect_exportbench]
Quick check:  .venv/bin/python bench/bench_export.py --enterprises 20000 --results 200000

The district is ``bench_scoring``'s (a fresh PostgreSQL database, a trained model), rescored
once (``credit.jobs.run``).  Then ``GET /api/v1/rankings/export?format=csv`` of that run,
through the Flask test client with a regulator's token, read chunk by chunk as a client
would: time to the first byte, time to the last, and the peak of Python's allocations
(``tracemalloc``, in a second pass: tracing slows allocation, so it is not timed).
Baseline: the same rows built as one list and written into one buffer, as the export was
before it streamed (``ratings.export_rows``, then ``csv.writer`` into a ``StringIO``).
Both files are compared byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.bench_scoring import build_district, regulator_headers  # noqa: E402
from inspect_core.auth.models import User  # noqa: E402
from inspect_core.credit import jobs, ratings  # noqa: E402
from inspect_core.db import db  # noqa: E402
from inspect_core.workbook import csv_cell  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument("--results", type=int, default=10_000_000)
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/inspect_exportbench"
    )
    args = parser.parse_args()
    app, _engine, as_of = build_district(args.pg, args.enterprises, args.results, False)
    with app.app_context(), db.new_session() as session:
        run_id = jobs.run(session, "bench", as_of).id
    client = app.test_client()
    headers = regulator_headers(app, "bench-exporter")
    url = f"/api/v1/rankings/export?format=csv&run={run_id}"

    def streamed() -> tuple[str, int, float]:
        started = time.perf_counter()
        response = client.get(url, headers=headers, buffered=False)
        digest, size, first = hashlib.sha256(), 0, None
        for chunk in response.response:
            if first is None:
                first = time.perf_counter() - started
            digest.update(chunk)
            size += len(chunk)
        response.close()
        return digest.hexdigest(), size, first or 0.0

    def in_memory() -> tuple[str, int, float]:
        started = time.perf_counter()
        with app.test_request_context():
            user = db.session.scalar(select(User).where(User.username == "bench-exporter"))
            rows = ratings.export_rows(db.session, user, {"run": run_id})
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(ratings.EXPORT_HEADERS)
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        first = time.perf_counter() - started  # nothing can be sent before the whole file
        return hashlib.sha256(data).hexdigest(), len(data), first

    def measure(name: str, export: Callable[[], tuple[str, int, float]]) -> str:
        started = time.perf_counter()
        digest, size, first = export()
        seconds = time.perf_counter() - started
        tracemalloc.start()
        export()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {name:<34} first byte {first:7.2f} s   whole file {seconds:7.2f} s   "
              f"{size / 1e6:8.1f} MB   peak Python allocations {peak / 1e6:8.1f} MB")  # fmt: skip
        return digest

    print(f"CSV export of run {run_id} ({args.enterprises:,} enterprises)")
    got = measure("streamed (GET …/rankings/export)", streamed)
    want = measure("baseline: built in memory", in_memory)
    print(f"  same bytes: {got == want}")


if __name__ == "__main__":
    main()
