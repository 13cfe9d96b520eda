"""The risk-ranked export of a whole district, streamed (CSV) or written page by page
(Excel), beside building it in memory.

Run:  .venv/bin/python bench/bench_export.py [--enterprises 1000000] [--results 10000000]
      [--format csv] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/inspect_exportbench]
Quick check:  .venv/bin/python bench/bench_export.py --enterprises 20000 --results 200000
Excel:  --format xlsx (or csv,xlsx) --enterprises 200000 --results 2000000: openpyxl writes
      about 3,500 rows a second, and several times slower under ``tracemalloc``, so at a
      million rows the traced pass took over 20 minutes (2026-11-28, a slow host).

The district is ``bench_scoring``'s (a fresh PostgreSQL database, a trained model), rescored
once (``credit.jobs.run``).  Then ``GET /api/v1/rankings/export?format=…`` of that run,
through the Flask test client with a regulator's token, read chunk by chunk as a client
would: time to the first byte, time to the last, and the peak of Python's allocations
(``tracemalloc``, in a second pass: tracing slows allocation, so it is not timed).
Baseline: the same rows built as one list of every row, then written whole, as the export
was before (CSV: ``csv.writer`` into a ``StringIO``; Excel: ``workbook.rows_workbook``
into memory).  The CSV files are compared byte for byte; the Excel files member by member
of the zip, but for ``docProps/core.xml``, which holds the moment it was written.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.bench_scoring import build_district, regulator_headers  # noqa: E402
from inspect_core.auth.models import User  # noqa: E402
from inspect_core.credit import jobs, ratings  # noqa: E402
from inspect_core.db import db  # noqa: E402
from inspect_core.workbook import csv_cell, rows_workbook  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument("--results", type=int, default=10_000_000)
    parser.add_argument("--format", default="csv", help="csv, xlsx or csv,xlsx")
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/inspect_exportbench"
    )
    args = parser.parse_args()
    formats = args.format.split(",")
    if not set(formats) <= {"csv", "xlsx"}:
        parser.error(f"--format: csv, xlsx or both, not {args.format}")
    app, _engine, as_of = build_district(args.pg, args.enterprises, args.results, False)
    with app.app_context(), db.new_session() as session:
        run_id = jobs.run(session, "bench", as_of).id
    client = app.test_client()
    headers = regulator_headers(app, "bench-exporter")

    def all_rows() -> list[list]:
        """Every row of the run's list, as the export gathered them before it streamed."""
        with app.test_request_context():
            user = db.session.scalar(select(User).where(User.username == "bench-exporter"))
            rows: list[list] = []
            cursor = None
            while True:
                page, cursor = ratings.export_page(db.session, user, {"run": run_id}, cursor,
                                                   len(rows))  # fmt: skip
                rows.extend(page)
                if not cursor:
                    return rows

    def csv_in_memory(out: BinaryIO) -> float:
        started = time.perf_counter()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(ratings.EXPORT_HEADERS)
        writer.writerows([csv_cell(v) for v in row] for row in all_rows())
        data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        first = time.perf_counter() - started  # nothing can be sent before the whole file
        out.write(data)
        return first

    def xlsx_in_memory(out: BinaryIO) -> float:
        started = time.perf_counter()
        data = rows_workbook("风险排序 Ranking", ratings.EXPORT_HEADERS, all_rows())
        first = time.perf_counter() - started
        out.write(data)
        return first

    for fmt in formats:
        print(f"{fmt.upper()} export of run {run_id} ({args.enterprises:,} enterprises)")
        url = f"/api/v1/rankings/export?format={fmt}&run={run_id}"
        got = measure("streamed (GET …/rankings/export)", streamed(client, url, headers))
        baseline = csv_in_memory if fmt == "csv" else xlsx_in_memory
        want = measure("baseline: built in memory", baseline)
        print(f"  same {'bytes' if fmt == 'csv' else 'workbook'}: {got == want}")


def streamed(client: Any, url: str, headers: dict[str, str]) -> Callable[[BinaryIO], float]:
    """An export that GETs ``url`` and writes the body to a file chunk by chunk, as a
    client reads it; it returns the time to the first chunk."""

    def export(out: BinaryIO) -> float:
        started = time.perf_counter()
        response = client.get(url, headers=headers, buffered=False)
        assert response.status_code == 200, response.status_code
        first = None
        for chunk in response.response:
            if first is None:
                first = time.perf_counter() - started
            out.write(chunk)
        response.close()
        return first or 0.0

    return export


def measure(name: str, export: Callable[[BinaryIO], float]) -> str:
    """Time one export into a file, then trace the allocations of a second; the
    file's digest (CSV) or its workbook's (Excel) says whether two exports agree."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        first = export(out)
        seconds = time.perf_counter() - started
        size = out.tell()
        out.seek(0)
        digest = _workbook_digest(out) if zipfile.is_zipfile(out) else _digest(out)
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        export(out)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"  {name:<34} first byte {first:7.2f} s   whole file {seconds:7.2f} s   "
          f"{size / 1e6:8.1f} MB   peak Python allocations {peak / 1e6:8.1f} MB")  # fmt: skip
    return digest


def _digest(out: BinaryIO) -> str:
    out.seek(0)
    return hashlib.file_digest(out, "sha256").hexdigest()


def _workbook_digest(out: BinaryIO) -> str:
    """A digest of a workbook's zip members but ``docProps/core.xml`` (its write time)."""
    digest = hashlib.sha256()
    out.seek(0)
    with zipfile.ZipFile(out) as archive:
        for name in sorted(archive.namelist()):
            if name != "docProps/core.xml":
                digest.update(name.encode() + b"\0" + archive.read(name))
    return digest.hexdigest()


if __name__ == "__main__":
    main()
