"""PostgreSQL uploads: workers send accepted rows back as COPY text (``imports.pgcopy``),
and the worker pool is kept and shared across uploads (``imports.workers``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from inspect_core.audit.records import verify_records
from inspect_core.db import json_bytes
from inspect_core.imports import pgcopy, workers
from inspect_core.imports import service as imports
from inspect_core.results.models import Result
from tests.api.test_imports import _drawn, csv_bytes, upload
from tests.api.test_imports import _food_rows as food_rows

#: values that need every rule of the text format: escapes, NULL, unicode, types
AWKWARD = [
    (1, "plain", True, dt.date(2026, 11, 25), None),
    (2, "back\\slash \\N and \\.", False, dt.date(2000, 1, 1), "\\"),
    (3, "tab\there\nnew line\r\nCRLF", None, dt.date(2026, 2, 28), "\t"),
    (4, "汉字 ＡＢＣ 😀 \"quoted\" 'single'", True, dt.date(1999, 12, 31), ""),
    (5, '{"a":"x\\"y","b":"\\u0001"}', False, dt.date(2026, 11, 25), "\\.\n"),
]
#: the same in GBK's repertoire, with characters whose second GBK byte is a backslash
AWKWARD_GBK = [
    *(r if r[0] != 4 else (4, '乗俓僜 汉字 "quoted"', True, r[3], "刓\\") for r in AWKWARD),
]


def test_fields_follow_the_text_format():
    assert pgcopy.field(None) == b"\\N"
    assert pgcopy.field(True) == b"t" and pgcopy.field(False) == b"f"
    assert pgcopy.field(-12) == b"-12"
    assert pgcopy.field("a\\b\tc\nd\re") == b"a\\\\b\\tc\\nd\\re"
    assert pgcopy.field(b'{"k":"\\u0001"}') == b'{"k":"\\\\u0001"}'
    stamp = dt.datetime(2026, 11, 25, 8, 30, 1, 5, tzinfo=dt.UTC)
    assert pgcopy.field(stamp) == b"2026-11-25T08:30:01.000005+00:00"
    # equal datetimes written as themselves: the same instant in two zones, and the
    # repeated hour when clocks go back (fold)
    shanghai, new_york = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")
    assert pgcopy.field(stamp.astimezone(shanghai)) == b"2026-11-25T16:30:01.000005+08:00"
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=new_york)
    assert pgcopy.field(first) == b"2026-11-01T01:30:00-04:00"
    assert pgcopy.field(first.replace(fold=1)) == b"2026-11-01T01:30:00-05:00"
    assert pgcopy.copy_text([]) == b""
    assert pgcopy.copy_text([(1, None), ("x", b"y")]) == b"1\t\\N\nx\ty\n"
    # GBK: the second byte of 乗 is a backslash, which is part of the character
    assert pgcopy.field("乗\\", "gbk") == "乗\\\\".encode("gbk")
    assert pgcopy.copy_text([("乗", b"\xe4\xb9\x97")], "gbk") == "乗\t乗\n".encode("gbk")
    with pytest.raises(ValueError, match="storable"):
        pgcopy.field(float("nan"))
    with pytest.raises(TypeError, match="Decimal"):
        pgcopy.field(__import__("decimal").Decimal("1"))


@pytest.mark.parametrize("client_encoding", ["UTF8", "GBK"])
def test_copy_text_stores_what_psycopg_write_row_stores(session, client_encoding):
    """Rows stored through our text equal the values, and (UTF-8) what psycopg's
    ``write_row`` stores.  In GBK, whose characters can end in a backslash byte, psycopg
    3.3's ``write_row`` escapes after encoding: such text is stored altered ('乗' comes
    back as '乗\\n'), or the COPY fails where the damage reaches a typed column.  Ours
    escapes before encoding, so the server reads the characters back whole."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    session.execute(
        text(
            "CREATE TEMP TABLE copy_check (n int, t text, b boolean, d date, x text, "
            "j json, s timestamptz, way text)"
        )
    )
    session.execute(text(f"SET LOCAL client_encoding TO '{client_encoding}'"))
    stamp = dt.datetime(2026, 11, 25, 8, 30, 1, 123456, tzinfo=dt.UTC)
    values = AWKWARD if client_encoding == "UTF8" else AWKWARD_GBK
    rows = [(*r, json_bytes({"t": r[1], "x": r[4]}).decode(), stamp) for r in values]
    raw = session.connection().connection.driver_connection
    assert raw.info.encoding == ("utf-8" if client_encoding == "UTF8" else "gbk")
    columns = "COPY copy_check (n, t, b, d, x, j, s, way) FROM STDIN"
    if client_encoding == "UTF8":
        with raw.cursor() as cursor, cursor.copy(columns) as copy:
            for row in rows:
                copy.write_row([*row, "psycopg"])
    ours = [(*r[:5], json_bytes({"t": r[1], "x": r[4]}), stamp, "ours") for r in values]
    with raw.cursor() as cursor, cursor.copy(columns) as copy:
        copy.write(pgcopy.copy_text(ours, raw.info.encoding))
    stored = session.execute(
        text("SELECT way, n, t, b, d, x, j::text, s FROM copy_check ORDER BY way, n")
    ).all()
    assert [tuple(r[1:]) for r in stored if r[0] == "ours"] == rows
    if client_encoding == "UTF8":
        assert [tuple(r[1:]) for r in stored if r[0] == "psycopg"] == rows


def _food_rows(tasks, n):
    """Rows whose food name holds a tab, which COPY text must escape."""
    return food_rows(tasks, n, prefix="C", name="大米\t（散装）")


def test_worker_pool_is_kept_and_shared_across_uploads(app, client, identity, district, session):
    regulator, _, tasks = _drawn(client, identity, district)
    app.config.update(IMPORT_WORKERS=2, IMPORT_PARALLEL_MIN_ROWS=1)
    executors = set()
    real_pool = workers.pool

    def spy(*args, **kwargs):
        executor = real_pool(*args, **kwargs)
        executors.add(id(executor))
        return executor

    for n in (1, 2):
        rows = _food_rows(tasks, 30)
        rows[1][2] = f"upload-{n}"  # a different file each time
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(workers, "pool", spy)
            r = upload(client, "/api/v1/results/import", regulator, csv_bytes(rows), "p.csv",
                       sector="food")  # fmt: skip
        assert r.status_code == 201, r.json
        assert (r.json["received"], r.json["accepted"]) == (30, 30)
    assert len(executors) == 1
    # the tab in a food name went through COPY text (on PostgreSQL) and came back intact
    session.rollback()
    payloads = session.scalars(select(Result.payload).where(Result.task_id == tasks[1]["id"]))
    assert {p["food_name"] for p in payloads} == {"大米\t（散装）"}  # text kept as written


def test_a_dead_pool_costs_only_speed(app, client, identity, district, session):
    """Workers killed between uploads (out of memory, by an operator) leave a broken
    pool: the next upload is validated in the importing process and gives the same
    answer."""
    regulator, _, tasks = _drawn(client, identity, district)
    app.config.update(IMPORT_WORKERS=2, IMPORT_PARALLEL_MIN_ROWS=1)
    executor = workers.pool(2, tuple(app.config["PLUGINS"]), imports._init_worker)
    executor.submit(workers._ready).result()
    for process in list(executor._processes.values()):
        # the first kill breaks the pool: its manager may reap the others before we do
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.join(10)
    rows = _food_rows(tasks, 2500)
    rows[1200][8] = "-1"  # one bad row, in the third chunk (250, 500, 1,000, 500, 250)
    r = upload(client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows),
               "dead.csv", sector="food")  # fmt: skip
    assert r.status_code == 201, r.json
    assert (r.json["received"], r.json["accepted"], r.json["rejected"]) == (2500, 2499, 1)
    assert [e["row"] for e in r.json["errors"]] == [1201]
    session.rollback()
    report = verify_records(session)
    assert report.ok and report.verified == report.rows >= 2499, report.problems
    again = workers.pool(2, tuple(app.config["PLUGINS"]), imports._init_worker)
    assert again is not executor  # the broken pool was dropped; the next upload gets workers


def test_chain_ids_are_distinct_increasing_version_7_uuids():
    import uuid

    ids = imports.chain_ids(5000)
    assert len(set(ids)) == 5000 and imports.chain_ids(0) == []
    assert ids == sorted(ids)  # right-edge inserts into the (chain, version) index
    for text_id in ids:
        parsed = uuid.UUID(text_id)
        assert str(parsed) == text_id
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)


def test_warm_starts_the_shared_pool(app):
    app.config.update(IMPORT_WORKERS=2)
    imports.warm_workers(app, wait=True)
    executor = workers.pool(2, tuple(app.config["PLUGINS"]), imports._init_worker)
    assert len(executor._processes) == 2
    assert all(p.is_alive() for p in executor._processes.values())


@pytest.mark.parametrize(("total", "size"), [(0, 1000), (1, 1000), (2499, 1000), (2600, 1000),
                                             (100_000, 6250), (7001, 1000)])  # fmt: skip
def test_chunks_cover_the_file_once_with_small_ones_at_the_ends(total, size):
    bounds = imports.chunk_bounds(total, size)
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    lengths = [b - a for a, b in bounds]
    assert max(lengths) <= size
    if total >= 2 * (size // 4 + size // 2) + size:
        assert lengths[0] == lengths[-1] == size // 4 and lengths[1] == lengths[-2] == size // 2


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("mode", ["partial", "all_or_nothing"])
def test_a_worker_dying_mid_upload_costs_only_speed(
    app, client, identity, district, session, monkeypatch, mode, quoted
):
    """A worker dies on a chunk in the middle of an upload: the chunks already stored stay,
    the rest are validated in the importing process, and every row is stored once."""
    from inspect_core.imports.reader import TextChunk
    from tests.api import worker_killer

    regulator, _, tasks = _drawn(client, identity, district)
    app.config.update(IMPORT_WORKERS=2, IMPORT_PARALLEL_MIN_ROWS=1)
    monkeypatch.setattr(imports, "_worker_chunk", worker_killer.chunk)
    in_process = []
    real = imports._validate_chunk

    def validate_here(ctx, rows, pm):
        # lines of CSV text, or (for a file with quoted cells) rows read in this process
        in_process.append(rows.first_row if isinstance(rows, TextChunk) else rows[0][0])
        return real(ctx, rows, pm)

    monkeypatch.setattr(imports, "_validate_chunk", validate_here)
    # 4,500 rows: chunks of 250, 500, 1,000, 1,000, 1,000, 500 and 250 (and under the
    # test client's 500 KB limit for a body kept in memory)
    rows = _food_rows(tasks, 4500)
    rows[3001][2] = "KILL"  # sheet row 3,002, in the fifth chunk
    if quoted:  # a comma: a quoted cell, so the rows are read here, not by the workers
        rows[5][3] = "大米, 散装"
    session.rollback()
    before = session.scalar(select(func.count()).select_from(Result))
    r = upload(client, f"/api/v1/results/import?mode={mode}", regulator, csv_bytes(rows),
               "kill.csv", sector="food")  # fmt: skip
    assert r.status_code == 201, r.json
    assert (r.json["received"], r.json["accepted"], r.json["rejected"]) == (4500, 4500, 0)
    # sheet row 2 is the first data row: workers stored the first chunks, this process
    # validated the rest from the killed chunk (or one before it) on
    assert in_process and 2 < min(in_process) <= 3002, in_process
    session.rollback()
    stored = session.scalars(select(Result.payload["sample_no"].as_string())).all()
    assert len(stored) - before == 4500
    expected = {f"C{i}" for i in range(4500)} - {"C3000"} | {"KILL"}
    assert sorted(n for n in stored if n in expected) == sorted(expected)  # each once
    # chunks digested in workers and here, written in file order: the upload's digest,
    # over its rows in id order, matches them (audit verify --records)
    report = verify_records(session)
    assert report.ok and report.verified == report.rows >= 4500, report.problems


def test_text_the_connection_encoding_cannot_hold_is_a_row_error(
    app, client, identity, district, session
):
    """With a GBK client encoding, an emoji cannot be sent: that row is rejected with a
    reason, the others are stored, and GBK characters ending in a backslash byte come
    back whole."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    regulator, _, tasks = _drawn(client, identity, district)
    session.execute(text("SET client_encoding TO 'GBK'"))  # undone by the test's rollback
    rows = _food_rows(tasks, 30)
    rows[3][3] = "大米😀"
    rows[4][3] = "乗俓大米"
    r = upload(client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows),
               "gbk.csv", sector="food")  # fmt: skip
    assert r.status_code == 201, r.json
    assert (r.json["received"], r.json["accepted"], r.json["rejected"]) == (30, 29, 1)
    [error] = r.json["errors"]
    assert error["row"] == 4 and "😀" in error["message"] and "gbk" in error["message"]
    names = session.scalars(
        select(Result.payload["food_name"].as_string()).where(
            Result.payload["sample_no"].as_string() == "C3"
        )
    ).all()
    assert names == ["乗俓大米"]


def test_workers_end_with_the_process_that_started_them():
    """A server killed outright (SIGKILL; no exit handlers run) leaves no workers behind:
    a pool's worker would otherwise wait for ever on a queue it holds open itself."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("reads process states from /proc")
    script = (
        "import os, signal\n"
        "from inspect_core.imports import service, workers\n"
        "executor = workers.pool(2, ('food',), service._init_worker)\n"
        "for f in [executor.submit(workers._ready) for _ in range(2)]:\n"
        "    f.result()\n"
        "print(' '.join(str(p) for p in executor._processes), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert server.stdout is not None
    pids = [int(p) for p in server.stdout.readline().split()]
    server.stdout.close()
    server.wait(30)
    assert len(pids) == 2

    def running(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        return state not in ("Z", "X")

    deadline = time.monotonic() + 15
    try:
        while any(map(running, pids)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(running, pids))
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_workers_that_cannot_start_leave_uploads_working(caplog):
    """warm() never fails its caller: a pool whose workers cannot start is dropped with a
    warning, and the next upload makes a new one (or validates in its own process)."""
    from tests.api import worker_killer

    plugins = ("food", "warm-failure-test")  # a pool of its own
    workers.warm(2, plugins, worker_killer.failing_start, wait=True)
    assert (2, plugins) not in workers._pools
    assert "could not start" in caplog.text
