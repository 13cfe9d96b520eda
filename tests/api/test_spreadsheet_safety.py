"""Files the API hands out are safe to open: no formula runs, no download fails on a
character that XML cannot hold."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from inspect_core.credit import jobs
from inspect_core.db import db
from inspect_core.results.service import today_in_china
from inspect_core.workbook import csv_cell, rows_workbook
from tests import factories
from tests.api.test_imports import ENTERPRISE_HEADER, csv_bytes, upload
from tests.api.test_ranking import scored  # noqa: F401 - fixture

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


def _evil_enterprise_scored(app, client, scored):  # noqa: F811 - the fixture's value
    evil = factories.enterprise(region="华岩镇", name=EVIL)
    assert client.post("/api/v1/enterprises", json=evil, headers=scored["admin"]).status_code == 201
    with app.app_context():
        jobs.run(db.session, "test", today_in_china())
    return evil["uscc"]


def test_rankings_csv_export_does_not_hand_out_a_formula(app, client, identity, scored):  # noqa: F811
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
    scored,  # noqa: F811
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
