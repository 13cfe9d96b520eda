"""Paging the risk-ranked list over runs made to order: ties across tiers, an empty tier,
a tier that fills a page exactly, filters, scopes and cursors."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import insert, select

from inspect_core.credit.models import CreditRating, ScoringRun
from inspect_core.db import db, utcnow
from inspect_core.enterprises.models import Enterprise


def make_run(app, tiers_scores, as_of=None):
    """A finished run rating the district's enterprises with (tier, score) in order of id."""
    with app.app_context():
        s = db.session
        ids = s.scalars(select(Enterprise.id).order_by(Enterprise.id)).all()
        run = ScoringRun(
            as_of=as_of or dt.date.today(),
            status="finished",
            started_by="t",
            finished_at=utcnow(),
            enterprises=len(tiers_scores),
        )
        s.add(run)
        s.flush()
        rows = [
            {
                "run_id": run.id,
                "enterprise_id": eid,
                "score": sc,
                "probability": 0.5,
                "tier": t,
                "reasons": [],
            }
            for eid, (t, sc) in zip(ids, tiers_scores, strict=False)
        ]
        s.execute(insert(CreditRating), rows)
        s.commit()
        usccs = dict(s.execute(select(Enterprise.id, Enterprise.uscc)).all())
        expected = sorted(
            rows,
            key=lambda r: (
                "DCBA".index(r["tier"]) if r["tier"] in "DCBA" else 9,
                r["score"],
                r["enterprise_id"],
            ),
        )
        return run.id, [usccs[r["enterprise_id"]] for r in expected]


def walk(client, headers, limit, extra=""):
    cursor, out, pages = None, [], 0
    while True:
        url = f"/api/v1/enterprises?order=risk&limit={limit}{extra}" + (
            f"&cursor={cursor}" if cursor else ""
        )
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.json
        out += [i["uscc"] for i in r.json["items"]]
        pages += 1
        cursor = r.json["next_cursor"]
        if not cursor:
            return out, pages, r.json


# ties across tiers (same score in D and C and A), an empty tier (B), D of exactly 6 rows
TS = (
    [("D", 10.0)] * 2
    + [("D", 55.5)] * 2
    + [("D", 0.1 + 0.2)] * 2  # 6 D rows
    + [("C", 10.0)] * 3
    + [("C", 55.5)] * 3  # 6 C rows, same scores
    + [("A", 10.0)] * 2
    + [("A", 900.123456789)] * 4
)  # 6 A, no B


def test_every_limit_lists_everything_once_in_tier_then_score_order(
    app, client, identity, district
):
    run_id, expected = make_run(app, TS)
    reg = identity("regulator")
    for limit in range(1, 21):
        got, pages, last = walk(client, reg, limit)
        assert got == expected, limit
        assert pages == max(1, -(-len(expected) // limit)), limit  # no empty trailing page


def test_tier_filter_with_cursor(app, client, identity, district):
    run_id, expected = make_run(app, TS)
    reg = identity("regulator")
    for tier in "ABCD":
        want = [
            u
            for u, (t, _) in zip(
                expected, sorted(TS, key=lambda x: ("DCBA".index(x[0]), x[1])), strict=True
            )
            if t == tier
        ]
        for limit in (1, 2, 5, 6, 7):
            got, _, _ = walk(client, reg, limit, f"&tier={tier}")
            assert len(got) == len(want), (tier, limit)
            assert got == want, (tier, limit)


def test_export_same_order(app, client, identity, district):
    run_id, expected = make_run(app, TS)
    reg = identity("regulator")
    r = client.get("/api/v1/rankings/export?format=csv", headers=reg)
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))[1:]
    assert [row[1] for row in rows] == expected


def test_the_csv_export_streams_page_by_page_from_one_run(
    app, client, identity, district, monkeypatch
):
    """The CSV export is sent as it is read, a page of the ranked list at a time (a
    district's million rows are never held whole): ranks run on across pages, and a
    rescore while the file is being read does not change it (the cursor names the run),
    and no transaction stays open while the client reads.  An unknown run is still a 404 with a body saying so, not a cut-off file."""
    from inspect_core.credit import ratings

    run_id, expected = make_run(app, TS)
    monkeypatch.setattr(ratings, "EXPORT_PAGE", 2)
    read = ratings.ranked_page
    pages_read = []

    def counted(*args, **kwargs):
        pages_read.append(db.session.in_transaction())
        return read(*args, **kwargs)

    monkeypatch.setattr(ratings, "ranked_page", counted)
    reg = identity("regulator")
    r = client.get("/api/v1/rankings/export?format=csv", headers=reg, buffered=False)
    assert r.status_code == 200
    chunks = iter(r.response)
    head = next(chunks) + next(chunks)  # the header, then the first page
    assert len(pages_read) == 1  # nothing further read yet: not held whole
    # a rescore (every tier reversed) lands while the export is being read
    make_run(app, [("DCBA"["ABCD".index(t)], -sc) for t, sc in TS])
    body = (head + b"".join(chunks)).decode("utf-8-sig")
    r.close()
    rows = list(csv.reader(io.StringIO(body)))[1:]
    assert [row[1] for row in rows] == expected
    assert [int(row[0]) for row in rows] == list(range(1, len(expected) + 1))
    assert {int(row[-1]) for row in rows} == {run_id}
    assert len(pages_read) == -(-len(expected) // 2) and len(expected) > 4
    # between pages no transaction was left open while the client read
    assert not any(pages_read[1:]), pages_read
    # a user scoped to a region keeps that scope on every page of the stream
    from tests import factories

    region = factories.REGIONS[0]
    scoped = identity("regulator", regions=[region])
    with app.app_context():
        in_region = set(
            db.session.scalars(select(Enterprise.uscc).where(Enterprise.region == region))
        )
    body = client.get(f"/api/v1/rankings/export?run={run_id}", headers=scoped).data
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    want = [u for u in expected if u in in_region]
    assert [row[1] for row in rows] == want and len(want) > 2, (len(want), len(expected))

    missing = client.get("/api/v1/rankings/export?format=csv&run=999999", headers=reg)
    assert missing.status_code == 404 and missing.json["errors"]["run"], missing.data[:200]


def test_the_xlsx_export_is_written_page_by_page_into_a_file(
    app, client, identity, district, monkeypatch
):
    """The Excel export is written into a temporary file a page of the ranked list at a
    time, each page read only once the rows before it are in the sheet (a district's
    million rows are never held as Python rows), then sent from that file, which is
    closed when the response is.  A list longer than a sheet is refused by a count after
    the first page, before another is read; and should more rows arrive than the count
    said, the sheet's limit still refuses the file, leaving no temporary file behind."""
    import tempfile

    from openpyxl import load_workbook
    from openpyxl.worksheet._writer import ALL_TEMP_FILES

    from inspect_core import responses, workbook
    from inspect_core.credit import ratings

    run_id, expected = make_run(app, TS)
    monkeypatch.setattr(ratings, "EXPORT_PAGE", 2)
    monkeypatch.setattr(responses, "XLSX_SPOOL", 1)  # the file path, not the in-memory one
    written, reads_after, spools = [0], [], []
    write = workbook.write_rows_workbook

    def counting(target, sheet, headers, rows):
        def each():
            for row in rows:
                yield row
                written[0] += 1

        return write(target, sheet, headers, each())

    read = ratings.ranked_page

    def recorded(*args, **kwargs):
        reads_after.append(written[0])
        return read(*args, **kwargs)

    spooled = tempfile.SpooledTemporaryFile

    def spool(*args, **kwargs):
        spools.append(spooled(*args, **kwargs))
        return spools[-1]

    monkeypatch.setattr(workbook, "write_rows_workbook", counting)
    monkeypatch.setattr(ratings, "ranked_page", recorded)
    monkeypatch.setattr(responses.tempfile, "SpooledTemporaryFile", spool)
    reg = identity("regulator")
    r = client.get("/api/v1/rankings/export?format=xlsx", headers=reg)
    assert r.status_code == 200 and r.mimetype == workbook.XLSX_MIMETYPE
    data = r.data
    assert r.content_length == len(data)
    # page k was read once the 2k rows before it were written, and not before
    assert reads_after == list(range(0, len(expected), 2)), reads_after
    assert len(expected) > 4
    assert spools[-1]._rolled and not spools[-1].closed  # sent from a file ...
    r.close()
    assert spools[-1].closed  # ... closed (and so deleted) with the response
    values = list(load_workbook(io.BytesIO(data)).worksheets[0].values)
    assert values[0] == tuple(ratings.EXPORT_HEADERS)
    assert [v[1] for v in values[1:]] == expected
    assert [v[0] for v in values[1:]] == list(range(1, len(expected) + 1))
    assert {v[-1] for v in values[1:]} == {run_id}

    # longer than a sheet: refused after one page and the count
    monkeypatch.setattr(workbook, "XLSX_MAX_ROWS", len(expected))  # one row short
    reads_after.clear()
    written[0] = 0
    refused = client.get("/api/v1/rankings/export?format=xlsx", headers=reg)
    assert refused.status_code == 422 and "format" in refused.json["errors"]
    assert reads_after == [0]
    # the count said it fits, then more rows came: the sheet's limit refuses it all the same
    monkeypatch.setattr(ratings, "export_count", lambda *args: 0)
    temporary, written[0] = list(ALL_TEMP_FILES), 0
    refused = client.get("/api/v1/rankings/export?format=xlsx", headers=reg)
    assert refused.status_code == 422 and "format" in refused.json["errors"]
    assert written[0] == len(expected) - 1  # every row the sheet holds, not one more
    assert spools[-1].closed and temporary == ALL_TEMP_FILES
    # a list that fits the sheet exactly is whole
    monkeypatch.setattr(workbook, "XLSX_MAX_ROWS", len(expected) + 1)
    whole = client.get("/api/v1/rankings/export?format=xlsx", headers=reg)
    assert whole.status_code == 200
    assert len(list(load_workbook(io.BytesIO(whole.data)).worksheets[0].values)) == (
        len(expected) + 1
    )
    whole.close()


def test_scoped_regulator_and_filters_walk(app, client, identity, district):
    run_id, expected = make_run(app, TS)
    from tests import factories

    region = factories.REGIONS[0]
    scoped = identity("regulator", regions=[region])
    with app.app_context():
        in_region = set(
            db.session.scalars(select(Enterprise.uscc).where(Enterprise.region == region))
        )
    want = [u for u in expected if u in in_region]
    for limit in (1, 2, 3, 4, 7):
        got, _, _ = walk(client, scoped, limit)
        assert got == want, limit
        got, _, _ = walk(client, scoped, limit, "&sector=food&status=active")
        assert got == want, limit


def test_last_row_cursor_is_an_empty_page_not_an_error(app, client, identity, district):
    from inspect_core.pagination import encode_cursor

    run_id, expected = make_run(app, TS)
    reg = identity("regulator")
    from inspect_core.credit.ratings import CURSOR_KIND, _filters_digest

    with app.test_request_context():
        c = encode_cursor(CURSOR_KIND, [run_id, _filters_digest({}), "A", 1e308, 2**31 - 1])
    r = client.get(f"/api/v1/enterprises?order=risk&cursor={c}", headers=reg)
    assert r.status_code == 200 and r.json == {"items": [], "next_cursor": None}


def test_a_cursor_of_a_tier_filter_is_refused_without_that_filter(app, client, identity, district):
    """A cursor made by the tier=B list, sent without the filter, would start the list in
    B and skip every D and C enterprise: it is a 400."""
    run_id, expected = make_run(
        app, [("D", 1.0)] * 4 + [("C", 2.0)] * 4 + [("B", 3.0)] * 4 + [("A", 4.0)] * 4
    )
    reg = identity("regulator")
    first = client.get("/api/v1/enterprises?order=risk&tier=B&limit=1", headers=reg).json
    r = client.get(
        f"/api/v1/enterprises?order=risk&limit=100&cursor={first['next_cursor']}", headers=reg
    )
    assert r.status_code == 400, [i["tier"] for i in r.json["items"]]


def test_an_unfiltered_cursor_is_refused_with_a_tier_filter(app, client, identity, district):
    """...and the other way round: an unfiltered list's cursor that ended in C would start
    the tier=C list in the middle of C."""
    run_id, expected = make_run(app, [("D", 1.0)] * 1 + [("C", 2.0)] * 4 + [("A", 4.0)] * 4)
    reg = identity("regulator")
    first = client.get("/api/v1/enterprises?order=risk&limit=3", headers=reg).json
    assert [i["tier"] for i in first["items"]] == ["D", "C", "C"]
    r = client.get(
        f"/api/v1/enterprises?order=risk&tier=C&cursor={first['next_cursor']}", headers=reg
    )
    assert r.status_code == 400, [i["tier"] for i in r.json["items"]]


@pytest.mark.parametrize(
    "bad",
    [
        "x",
        "!!!!",
        "%C3%A9%C3%A9%C3%A9%C3%A9",
        "a" * 500,
        "AAAA" * 10,
        "eyJrIjoicmFua2VkOnRpZXIiLCJ2IjpbMSwiRCIsMC4wLDFdfQ",
    ],
)
def test_garbage_cursors_are_400(app, client, identity, district, bad):
    make_run(app, TS)
    reg = identity("regulator")
    for url in (
        f"/api/v1/enterprises?order=risk&cursor={bad}",
        f"/api/v1/enterprises?order=risk&tier=D&cursor={bad}",
    ):
        r = client.get(url, headers=reg)
        assert r.status_code == 400, (bad, r.status_code)


def test_foreign_kind_cursor_is_400(app, client, identity, district):
    make_run(app, TS)
    reg = identity("regulator")
    plain = client.get("/api/v1/enterprises?limit=1", headers=reg).json["next_cursor"]
    r = client.get(f"/api/v1/enterprises?order=risk&cursor={plain}", headers=reg)
    assert r.status_code == 400
    ranked = client.get("/api/v1/enterprises?order=risk&limit=1", headers=reg).json["next_cursor"]
    r = client.get(f"/api/v1/enterprises?cursor={ranked}", headers=reg)
    assert r.status_code == 400


def test_a_cursor_made_under_other_filters_is_refused(app, client, identity, district):
    make_run(app, TS)
    reg = identity("regulator")
    first = client.get("/api/v1/enterprises?order=risk&limit=2&sector=food", headers=reg).json
    r = client.get(f"/api/v1/enterprises?order=risk&cursor={first['next_cursor']}", headers=reg)
    assert r.status_code == 400 and "cursor" in r.json["errors"], r.json
    r = client.get(
        f"/api/v1/enterprises?order=risk&sector=food&cursor={first['next_cursor']}", headers=reg
    )
    assert r.status_code == 200, r.json


def test_a_cursor_of_another_run_than_run_asks_for_is_refused(app, client, identity, district):
    """A cursor names its run; sent with ``run=`` naming another, the page came from the
    cursor's run while the request asked for the other one."""
    old, _ = make_run(app, TS)
    new, _ = make_run(app, TS)
    reg = identity("regulator")
    first = client.get(f"/api/v1/enterprises?order=risk&run={old}&limit=2", headers=reg).json
    assert {i["run_id"] for i in first["items"]} == {old}
    r = client.get(
        f"/api/v1/enterprises?order=risk&run={new}&limit=2&cursor={first['next_cursor']}",
        headers=reg,
    )
    assert r.status_code == 400 and "cursor" in r.json["errors"], r.json
    for same in (f"&run={old}", ""):  # the cursor's own run, named or not
        r = client.get(
            f"/api/v1/enterprises?order=risk&limit=2{same}&cursor={first['next_cursor']}",
            headers=reg,
        )
        assert r.status_code == 200 and {i["run_id"] for i in r.json["items"]} == {old}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/enterprises?order=risk&sector=fod",
        "/api/v1/enterprises?sector=fod",
        "/api/v1/rankings/export?sector=fod",
        "/api/v1/rankings/export?format=xlsx&sector=%25",
    ],
)
def test_an_unknown_sector_filter_is_a_422_not_an_empty_list(app, client, identity, district, url):
    """A sector code the catalogue does not hold (a typo) matched nothing: an empty list
    or an export of headers only, as if the district had no such enterprise."""
    make_run(app, TS)
    r = client.get(url, headers=identity("regulator"))
    assert r.status_code == 422, r.status_code
    assert "unknown sector" in r.json["errors"]["sector"][0]


def test_q_finds_a_name_whatever_the_case_of_its_latin_letters(app, client, identity, district):
    """``q`` matched "重庆ABC食品" for ``abc`` on SQLite (LIKE ignores ASCII case there)
    but not on PostgreSQL (LIKE is case-sensitive): the ranked list, its export and the
    plain list lost the enterprise on the production database."""
    from tests import factories

    body = factories.enterprise(region=factories.REGIONS[0], name="重庆ABC食品有限公司")
    assert (
        client.post("/api/v1/enterprises", json=body, headers=district["admin"]).status_code == 201
    )
    make_run(app, TS + [("B", 5.0)] * 7)
    reg = identity("regulator")
    for q in ("ABC", "abc", "aBc食品"):
        for url in (f"/api/v1/enterprises?order=risk&q={q}", f"/api/v1/enterprises?q={q}"):
            r = client.get(url, headers=reg)
            assert [i["uscc"] for i in r.json["items"]] == [body["uscc"]], (url, r.json)
        export = client.get(f"/api/v1/rankings/export?q={q}", headers=reg)
        rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))[1:]
        assert [row[1] for row in rows] == [body["uscc"]], q


def test_q_finds_a_name_whether_its_letters_and_brackets_are_full_or_half_width(
    app, client, identity, district
):
    """Registered names often hold full-width letters and brackets; a regulator types
    them in whichever mode the input method is in.  ``q`` matched only the exact width,
    so "(渝中店)" missed "（渝中店）".  Both sides are compared NFKC; the names shown
    and exported are still the registered ones."""
    from tests import factories

    full = factories.enterprise(
        region=factories.REGIONS[0], name="重庆ＡＢＣ餐饮管理有限公司（渝中店）"
    )
    half = factories.enterprise(region=factories.REGIONS[0], name="重庆XYZ食品有限公司(南坪店)")
    for body in (full, half):
        r = client.post("/api/v1/enterprises", json=body, headers=district["admin"])
        assert r.status_code == 201, r.json
    make_run(app, TS + [("B", 5.0)] * 8)  # the district beyond TS, and these two
    reg = identity("regulator")
    expected = {
        "abc餐饮": full, "ＡＢＣ": full, "(渝中店)": full, "Ａｂｃ餐饮管理有限公司（渝中": full,
        "（南坪店）": half, "ｘｙｚ食品": half, "xyz食品有限公司(南坪": half,
    }  # fmt: skip
    for q, body in expected.items():
        for url in (f"/api/v1/enterprises?order=risk&q={q}", f"/api/v1/enterprises?q={q}"):
            r = client.get(url, headers=reg)
            assert [(i["uscc"], i["name"]) for i in r.json["items"]] == [
                (body["uscc"], body["name"])
            ], (url, r.json)
        export = client.get(f"/api/v1/rankings/export?q={q}", headers=reg)
        rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))[1:]
        assert [(row[1], row[2]) for row in rows] == [(body["uscc"], body["name"])], q
