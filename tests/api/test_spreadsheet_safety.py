"""Files the API hands out are safe to open: no formula runs, no download fails on a
character that XML cannot hold."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from inspect_core.credit import jobs
from inspect_core.db import db
from inspect_core.results.models import Result
from inspect_core.results.service import today_in_china
from inspect_core.workbook import csv_cell, rows_workbook
from tests import factories
from tests.api.test_imports import (
    ENTERPRISE_HEADER,
    _drawn,
    _record,
    _reimported_findings,
    csv_bytes,
    upload,
)

EVIL = '=HYPERLINK("http://evil.example/x","点击查看")'


def test_csv_cells_that_would_start_a_formula_get_an_apostrophe_numbers_do_not():
    assert [csv_cell(v) for v in (EVIL, "+86 23 6868", "@SUM(A1)", "-", "\tx", "重庆")] == [
        "'" + EVIL, "'+86 23 6868", "'@SUM(A1)", "'-", "'\tx", "重庆",
    ]  # fmt: skip
    assert [csv_cell(v) for v in ("-0.5", "+3", "-1e-3", 7, None)] == [
        "-0.5",
        "+3",
        "-1e-3",
        7,
        None,
    ]


def test_workbook_text_is_text_and_control_characters_do_not_fail_the_download():
    data = rows_workbook("x", ["名称", "=header"], [[EVIL, "大米\x0b(散装)"], [-0.5, None]])
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.data_type for c in cells if c.value is not None] == ["s", "s", "s", "s", "n"]
    assert [c.value for c in cells] == ["名称", "=header", EVIL, "大米\ufffd(散装)", -0.5, None]


def _evil_enterprise_scored(app, client, scored):
    evil = factories.enterprise(region="华岩镇", name=EVIL)
    assert client.post("/api/v1/enterprises", json=evil, headers=scored["admin"]).status_code == 201
    with app.app_context():
        jobs.run(db.session, "test", today_in_china())
    return evil["uscc"]


def test_rankings_csv_export_does_not_hand_out_a_formula(app, client, identity, scored):
    code = _evil_enterprise_scored(app, client, scored)
    body = client.get("/api/v1/rankings/export?format=csv", headers=identity("regulator"))
    assert body.status_code == 200
    rows = list(csv.reader(io.StringIO(body.data.decode("utf-8-sig"))))
    evil_rows = [r for r in rows if code in r]
    assert evil_rows and "'" + EVIL in evil_rows[0]
    assert not [cell for r in rows for cell in r if cell.startswith("=")]


def test_rankings_xlsx_export_holds_the_name_as_text_not_a_live_formula(
    app,
    client,
    identity,
    scored,
):
    _evil_enterprise_scored(app, client, scored)
    xlsx = client.get("/api/v1/rankings/export?format=xlsx", headers=identity("regulator"))
    sheet = load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.value for c in cells if c.data_type == "f"] == []
    assert [c.data_type for c in cells if c.value == EVIL] == ["s"]


def test_errors_workbook_of_a_row_rejected_for_a_control_character_downloads(
    client, identity, session
):
    admin = identity("admin")
    rows = [
        ENTERPRISE_HEADER,
        [factories.uscc(), "重庆\x0b控制符有限公司", "food", "华岩镇", "", "", ""],
    ]
    first = upload(
        client, "/api/v1/enterprises/import?mode=partial", admin, csv_bytes(rows), "c.csv"
    )
    assert first.status_code == 201 and first.json["rejected"] == 1, first.json
    sheet = client.get(f"/api/v1/imports/{first.json['import_id']}/errors.xlsx", headers=admin)
    assert sheet.status_code == 200
    values = [c.value for row in load_workbook(io.BytesIO(sheet.data)).worksheets[0].iter_rows()
              for c in row]  # fmt: skip
    assert "重庆\ufffd控制符有限公司" in values


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_results_export_with_formula_like_text_reimports_as_it_was_stored(
    client, identity, district, session, fmt
):
    """The CSV's protective apostrophe is dropped again on import; the xlsx needs none."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    payload = factories.food_payload("0.05") | {"food_name": "=1+1 散装", "batch": "-"}
    _record(client, identity, tasks[0], [{"severity": "minor", "description": "@现场"}],
            payload=payload)  # fmt: skip
    exported = client.get(
        f"/api/v1/results/export?sector=food&plan={plan_id}&format={fmt}", headers=regulator
    )
    if fmt == "csv":
        assert "'=1+1 散装" in exported.data.decode("utf-8-sig")
    assert _reimported_findings(client, session, regulator, plan_id, fmt) == [
        ("minor", None, "@现场")
    ]
    stored = session.scalars(
        select(Result).where(Result.plan_id == plan_id).order_by(Result.id.desc())
    ).first()
    assert (stored.payload["food_name"], stored.payload["batch"]) == ("=1+1 散装", "-")


@pytest.mark.parametrize("text", ["=1+1", "'=1+1", "''-", "-", "'普通", "it's", "-0.5", "'-0.5"])
def test_any_text_survives_csv_cell_and_the_csv_reader(text):
    """What the export writes (csv_cell), the importer reads back as it was: one
    apostrophe is added before formula text, and one dropped."""
    from inspect_core.imports.reader import Limits, read_csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows([["名称"], [csv_cell(text)]])
    table = read_csv(buffer.getvalue().encode(), Limits(10**6, 10, 100, 10**6, 100))
    assert [row for _, row in table.rows] == [[text]]
