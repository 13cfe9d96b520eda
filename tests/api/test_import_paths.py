"""Result uploads take two paths: a CSV whose lines are its records is cut into pieces of
text that the workers parse; any other file is read here and sent as rows.  With one
worker or two, on either path, the answer must be the same."""

from __future__ import annotations

import csv as csv_module
import os
import random

import pytest

from inspect_core.imports import reader
from inspect_core.results.models import Result
from tests.api.test_imports import (
    FOOD_HEADER,
    _drawn,
    _food_rows,
    _xlsx_declaring,
    count,
    csv_bytes,
    upload,
)


@pytest.mark.parametrize("quote_elsewhere", [False, True])
@pytest.mark.parametrize("cell", ["'+{id}", "'\t{id}"])
def test_an_apostrophe_protected_task_cell_reads_the_same_on_both_paths(
    app, client, identity, district, session, quote_elsewhere, cell
):
    """The importer drops the apostrophe an export puts before text that would start a
    formula ('+12 -> +12, a task number).  The task numbers of a piece of CSV text are
    found without parsing it: they must be read the same way, or the row is refused "no
    such task in your scope" (as it was) when the file has no quoted cell."""
    app.config.update(IMPORT_WORKERS=1)
    regulator, _, tasks = _drawn(client, identity, district)
    rows = _food_rows(tasks[:1], 1)
    rows[1][0] = cell.format(id=tasks[0]["id"])
    rows[1][2] = f"S-apos-{quote_elsewhere}-{len(cell)}"
    if quote_elsewhere:
        rows[1][3] = "大米, 散装"  # a comma: csv quotes the cell -> rows path
    before = count(session, Result)
    r = upload(client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows),
               f"apos{quote_elsewhere}.csv", sector="food")  # fmt: skip
    assert r.status_code == 201, r.json
    assert (r.json["received"], r.json["accepted"]) == (1, 1), r.json["errors"]
    assert count(session, Result) == before + 1


def test_the_same_file_gives_the_same_answer_with_one_or_two_workers(
    app, client, identity, district, session
):
    """Pieces are cut by the number of workers; a task named as "'+T" on row 262 and
    plainly only on row 12 falls in the first piece with one worker and in the second
    with two: the answer must not depend on it."""
    regulator, _, tasks = _drawn(client, identity, district)
    t, others = tasks[0]["id"], tasks[1:]
    lines = ["任务编号,检查结论"] + [f"{others[i % len(others)]['id']},closed" for i in range(9000)]
    lines[11] = f"{t},closed"  # sheet row 12
    lines[261] = f"'+{t},closed"  # sheet row 262
    answers = {}
    for workers in (1, 2):
        app.config.update(IMPORT_WORKERS=workers, IMPORT_PARALLEL_MIN_ROWS=1)
        content = ("\n".join(lines) + "\n" * workers).encode()  # a different file each time
        r = upload(client, "/api/v1/results/import?mode=partial", regulator, content,
                   f"w{workers}.csv", sector="food")  # fmt: skip
        assert r.status_code == 201, r.json
        answers[workers] = (
            r.json["accepted"],
            [(e["row"], e["message"]) for e in r.json["errors"]],
        )
    assert answers[1] == answers[2]


@pytest.fixture
def force_rows(monkeypatch):
    """A switch: while ``on``, every CSV takes the rows path (parsed in the importing
    process), as a file with a quoted cell does."""
    real = reader.open_csv
    switch = {"on": False}

    def open_csv(content, limits):
        stream = real(content, limits)
        if switch["on"]:
            stream.body = None
        return stream

    monkeypatch.setattr(reader, "open_csv", open_csv)
    return switch


def _content(rng, tasks, exotic_task_cells):
    today = "2026-11-26"
    perm = list(range(len(FOOD_HEADER)))
    rng.shuffle(perm)
    delim = rng.choice([",", "\t"])
    eol = rng.choice(["\n", "\r\n"])
    lines = [delim.join(FOOD_HEADER[i] for i in perm)]
    for i in range(rng.randint(0, 30)):
        kind = rng.random()
        if kind < 0.1:
            lines.append("")
            continue
        if kind < 0.15:
            lines.append(delim * rng.randint(1, 12))
            continue
        tid = rng.choice(tasks)["id"]
        cells = [str(tid), "no_problem", f"S{i}", "大米", "cereal.rice.milled", today,
                 "circulation", "Cd", rng.choice(["0.1", "-1", "x"]), "mg/kg"]  # fmt: skip
        forms = [str(tid), f" {tid} ", "".join(chr(ord(c) + 0xFEE0) for c in str(tid)),
                 f"\u3000{tid}", "abc", "", "0", str(tid) + ".0"]  # fmt: skip
        if exotic_task_cells:
            forms += [f"'+{tid}"]
        cells[0] = rng.choice(forms)
        lines.append(delim.join(cells[j] for j in perm))
    text = eol.join(lines) + (eol if rng.random() < 0.7 else "")
    enc = rng.choice(["utf-8", "utf-8-sig", "gb18030"])
    return text, enc, eol


def _summary(r):
    body = r.json
    if r.status_code >= 400 and "received" not in body:
        return r.status_code, body.get("errors")
    return (r.status_code, body["received"], body["accepted"], body["rejected"],
            [(e["row"], e["field"], e["message"]) for e in body["errors"]])  # fmt: skip


@pytest.mark.parametrize("exotic", [False, True])
def test_lines_path_equals_rows_path(app, client, identity, district, session, force_rows,
                                     exotic):  # fmt: skip
    regulator, _, tasks = _drawn(client, identity, district)
    rng = random.Random(7)
    bad = []
    for it in range(int(os.environ.get("PATHS_ITERATIONS", "25"))):
        text, enc, eol = _content(rng, tasks, exotic)
        results = []
        for k, (workers, rows_path) in enumerate([(1, False), (1, True), (2, False)]):
            app.config.update(IMPORT_WORKERS=workers, IMPORT_PARALLEL_MIN_ROWS=1)
            force_rows["on"] = rows_path
            # a different file each time (duplicate check): trailing blank lines
            variant = text + ("" if text.endswith(eol) or not text else eol) + eol * (k + it * 3)
            r = upload(client, "/api/v1/results/import?mode=partial", regulator,
                       variant.encode(enc), f"f{it}-{k}.csv", sector="food")  # fmt: skip
            assert r.status_code < 500, r.json
            results.append(_summary(r))
        if not (results[0] == results[1] == results[2]):
            bad.append((it, text, results))
    assert not bad, bad[:2]


def test_large_file_lines_path_equals_rows_path(app, client, identity, district, session,
                                                force_rows):  # fmt: skip
    regulator, _, tasks = _drawn(client, identity, district)
    rng = random.Random(3)
    perm = list(range(len(FOOD_HEADER)))
    rng.shuffle(perm)
    lines = [",".join(FOOD_HEADER[i] for i in perm)]
    for i in range(3200):
        if rng.random() < 0.05:
            lines.append(rng.choice(["", ",,,", "  "]))
            continue
        tid = rng.choice(tasks)["id"]
        cells = [rng.choice([str(tid), "abc", f" {tid}"]), "no_problem", f"S{i}", "大米",
                 "cereal.rice.milled", "2026-11-26", "circulation", "Cd",
                 rng.choice(["0.1"] * 20 + ["-1"]), "mg/kg"]  # fmt: skip
        lines.append(",".join(cells[j] for j in perm))
    text = "\r\n".join(lines)
    results = []
    for k, (workers, rows_path) in enumerate([(1, False), (1, True), (2, False), (2, True)]):
        app.config.update(IMPORT_WORKERS=workers, IMPORT_PARALLEL_MIN_ROWS=1)
        force_rows["on"] = rows_path
        r = upload(client, "/api/v1/results/import?mode=partial", regulator,
                   (text + "\r\n" * (k + 1)).encode(), f"big{k}.csv", sector="food")  # fmt: skip
        results.append(_summary(r))
    assert results[0][0] == 201 and results[0][1] > 3000, results[0][:4]
    assert results[0] == results[1] == results[2] == results[3]


def test_refusals_with_chunks_in_flight_leave_a_usable_pool(app, client, identity, district,
                                                             session):  # fmt: skip
    app.config.update(IMPORT_WORKERS=2, IMPORT_PARALLEL_MIN_ROWS=1, IMPORT_MAX_ROWS=2500)
    regulator, _, tasks = _drawn(client, identity, district)
    before = count(session, Result)
    content = _xlsx_declaring(_food_rows(tasks, 2600), "A1:J2")
    r = upload(client, "/api/v1/results/import", regulator, content, "long.xlsx", sector="food")
    assert r.status_code == 413, r.json
    rows = _food_rows(tasks, 2400)
    rows[300][3] = "x" * (csv_module.field_size_limit() + 1)
    r = upload(client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows),
               "bad.csv", sector="food")  # fmt: skip
    assert r.status_code == 422 and r.json["errors"]["file"][0].startswith("line 301:"), r.json
    assert count(session, Result) == before
    r = upload(client, "/api/v1/results/import?mode=partial", regulator,
               csv_bytes(_food_rows(tasks, 2400)), "good.csv", sector="food")  # fmt: skip
    assert r.status_code == 201 and r.json["accepted"] == 2400, r.json
    assert count(session, Result) == before + 2400
