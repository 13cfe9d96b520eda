"""A sector's results export (``GET /api/v1/results/export``) through its row spool,
beside building it as one list in memory.

Run:  .venv/bin/python bench/bench_results_export.py [--results 200000] [--format csv]
      [--pg postgresql+psycopg://postgres@127.0.0.1:5432/inspect_bench] [--sqlite]

A fresh database with ``bench_import``'s district and drawn food plan; ``--results`` food
sampling rows (three test items each) are uploaded through ``POST /api/v1/results/import``
in files of 100,000 rows.  Then ``GET /api/v1/results/export?sector=food&format=…``
through the Flask test client, read chunk by chunk as a client would: time to the first
byte, time to the last, and the peak of Python's allocations (``tracemalloc``, in a second
pass: tracing slows allocation, so it is not timed).  The export reads every result and
asks the food plugin for its row, then sends the rows from a temporary file.
Baseline: the export as it was before it spooled: every row a dict in one list, then the
whole file built in memory (CSV: ``to_csv``'s header and ``csv_lines``; Excel:
``rows_workbook``).  The files are compared: CSV byte for byte, Excel member by member of
the zip but for ``docProps/core.xml`` (its write time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.bench_export import measure, streamed  # noqa: E402
from bench.bench_import import make_rows, run_api, setup, to_csv  # noqa: E402
from bench.bench_registry_load import fresh_pg, fresh_sqlite  # noqa: E402
from inspect_core.auth.models import User  # noqa: E402
from inspect_core.db import db  # noqa: E402
from inspect_core.imports import service  # noqa: E402
from inspect_core.plugin_api import TemplateColumn  # noqa: E402
from inspect_core.workbook import csv_lines, rows_workbook  # noqa: E402

#: rows per uploaded file: the importer's own limits take 100,000 (bench_import's default)
UPLOAD_ROWS = 100_000


def in_memory_rows(user: Any, sector: str) -> tuple[list[TemplateColumn], list[list[Any]]]:
    """The export's columns and rows as ``export_rows`` built them before the spool:
    every row a dict in one list, widened to the final columns at the end."""
    columns = service.result_columns(sector)
    names = [c.name for c in columns]
    groups = service.group_fields(columns)
    out = []
    current = service.current_results(user, sector, None)
    for result in db.session.scalars(current).yield_per(1000):
        row = service._export_row(sector, result)
        for k in [k for k in row if k not in names and row[k] not in (None, "")]:
            names.append(k)
            header = service._group_header(groups, k) or k
            columns.append(TemplateColumn(k, header, required=False))
        out.append(row)
    return columns, [[row.get(name) for name in names] for row in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=200_000)
    parser.add_argument("--format", default="csv", help="csv, xlsx or csv,xlsx")
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/inspect_bench"
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    formats = args.format.split(",")
    if not set(formats) <= {"csv", "xlsx"}:
        parser.error(f"--format: csv, xlsx or both, not {args.format}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.sqlite:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            fresh_sqlite(Path(tmp), "bench.sqlite3").dispose()
        else:
            url = args.pg
            fresh_pg(url).dispose()
        started = time.perf_counter()
        app, headers, task_ids = setup(url)
        for k, start in enumerate(range(0, args.results, UPLOAD_ROWS)):
            rows = make_rows(min(UPLOAD_ROWS, args.results - start), task_ids, seed=10 + k)
            run_api(app, headers, to_csv(rows))
        backend = "SQLite" if args.sqlite else "PostgreSQL"
        seconds = time.perf_counter() - started
        print(f"setup ({backend}): {args.results:,} food results uploaded in {seconds:.0f} s")
        compare(app, headers, formats)
        db.engine_for(app).dispose()


def compare(app: Any, headers: dict[str, str], formats: list[str]) -> None:
    client = app.test_client()

    def in_memory(fmt: str) -> Callable[[BinaryIO], float]:
        def export(out: BinaryIO) -> float:
            started = time.perf_counter()
            with app.test_request_context():
                user = db.session.scalar(select(User).where(User.username == "bench"))
                columns, rows = in_memory_rows(user, "food")
                if fmt == "csv":
                    data = service.csv_header(columns) + csv_lines(rows)
                else:
                    data = rows_workbook("结果 Results", [c.header_zh for c in columns], rows)
            first = time.perf_counter() - started  # nothing can be sent before the whole file
            out.write(data)
            return first

        return export

    for fmt in formats:
        print(f"{fmt.upper()} export of the food results")
        url = f"/api/v1/results/export?sector=food&format={fmt}"
        got = measure("spooled (GET …/results/export)", streamed(client, url, headers))
        want = measure("baseline: one list in memory", in_memory(fmt))
        print(f"  same {'bytes' if fmt == 'csv' else 'workbook'}: {got == want}")


if __name__ == "__main__":
    main()
