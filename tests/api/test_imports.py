"""Bulk uploads from the files offices really have, with nothing lost or duplicated."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import zipfile
from types import SimpleNamespace

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from inspect_core.auth.models import User
from inspect_core.enterprises.models import Enterprise
from inspect_core.imports.models import Import
from inspect_core.imports.service import REASON_HEADER, _inspector_checks
from inspect_core.results.models import Result
from inspect_core.results.service import today_in_china
from tests import factories
from tests.factories import ENTERPRISE_HEADER, FOOD_HEADER, create_plan


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8", bom: bool = False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def upload(client, path, headers, content, filename, key=None, **form):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(
        path,
        data={"file": (io.BytesIO(content), filename), **form},
        headers={**headers, **extra},
        content_type="multipart/form-data",
    )


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_gbk_csv_with_chinese_headers_dates_and_full_width_digits(client, identity, session):
    admin = identity("admin")
    codes = [factories.uscc() for _ in range(3)]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in codes[2])
    rows = [
        ENTERPRISE_HEADER,
        [codes[0], "重庆甲食品有限公司", "食品", "华岩镇", "华岩路1号", "存续", "2015/06/01"],
        [f"  {codes[1]} ", "重庆乙大药房", "drugs;食品", "走马镇", "", "active", "2016年7月2日"],
        [full_width, "重庆丙物业管理有限公司", "特种设备", "华岩镇", "", "停业", "2017-08-03"],
    ]
    response = upload(
        client, "/api/v1/enterprises/import", admin, csv_bytes(rows, "gbk"), "企业名录.csv"
    )
    assert response.status_code == 201, response.json
    assert (response.json["received"], response.json["accepted"], response.json["rejected"]) == (
        3,
        3,
        0,
    )
    got = client.get(f"/api/v1/enterprises/{codes[1]}", headers=admin).json
    assert got["sectors"] == ["drugs", "food"]
    assert got["established_on"] == "2016-07-02"
    third = client.get(f"/api/v1/enterprises/{codes[2]}", headers=admin).json
    assert third["status"] == "suspended" and third["sectors"] == ["special_equipment"]


def test_utf8_bom_csv_of_inspectors(client, identity, session):
    admin = identity("admin")
    rows = [["执法证号", "姓名", "所属单位", "所属街镇", "执法资格", "在岗"],
            ["CQ-0001", "李娜", "九龙坡区市场监管局华岩所", "华岩镇", "食品；特种设备", "是"],
            ["CQ-0002", "王强", "九龙坡区市场监管局走马所", "走马镇", "drugs", "否"]]  # fmt: skip
    response = upload(
        client, "/api/v1/inspectors/import", admin, csv_bytes(rows, bom=True), "inspectors.csv"
    )
    assert response.status_code == 201, response.json
    assert response.json["accepted"] == 2
    second = client.get("/api/v1/inspectors/CQ-0002", headers=admin).json
    assert second["active"] is False and second["qualifications"] == ["drugs"]
    first = client.get("/api/v1/inspectors/CQ-0001", headers=admin).json
    assert first["qualifications"] == ["food", "special_equipment"]


def test_names_keep_their_full_width_brackets(client, identity, session):
    """Registered names use full-width brackets and the JSON API stores them as given; the
    upload must not rewrite them (NFKC would make them half-width), though ``q`` finds
    them typed half-width.  Full-width commas still separate sector codes."""
    admin = identity("admin")
    code = factories.uscc()
    name = "重庆渝味（九龙坡）餐饮管理有限公司"
    rows = [ENTERPRISE_HEADER, [code, name, "食品，drugs", "华岩镇", "", "", ""]]
    r = upload(client, "/api/v1/enterprises/import", admin, csv_bytes(rows), "e.csv")
    assert r.status_code == 201, r.json
    got = client.get(f"/api/v1/enterprises/{code}", headers=admin).json
    assert (got["name"], got["sectors"]) == (name, ["drugs", "food"])
    # and the bulk insert keeps the name ``q`` searches as the single create does
    found = client.get("/api/v1/enterprises?q=渝味(九龙坡)", headers=admin).json["items"]
    assert [(i["uscc"], i["name"]) for i in found] == [(code, name)]


def mixed_rows() -> list[list[object]]:
    good1, good2, dup = factories.uscc(), factories.uscc(), factories.uscc()
    return [
        ENTERPRISE_HEADER,
        [good1, "重庆好一有限公司", "food", "华岩镇", "", "", ""],
        ["91110000600037341M", "校验码错误公司", "food", "华岩镇", "", "", ""],
        [good2, "重庆好二有限公司", "food", "华岩镇", "", "", "2020-02-30"],
        [dup, "重庆重复一公司", "烟花爆竹", "华岩镇", "", "", ""],
        [dup, "重庆重复二公司", "food", "华岩镇", "", "", ""],
    ]


def test_mixed_rows_all_or_nothing_stores_nothing(client, identity, session):
    admin = identity("admin")
    before = count(session, Enterprise)
    response = upload(
        client, "/api/v1/enterprises/import", admin, csv_bytes(mixed_rows()), "mixed.csv"
    )
    assert response.status_code == 422
    body = response.json
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    assert (body["received"], body["accepted"], body["rejected"]) == (5, 0, 5)
    by_row = {(e["row"], e["field"]) for e in body["errors"]}
    assert {(3, "uscc"), (4, "established_on"), (5, "sectors")} <= by_row
    uscc_error = next(e for e in body["errors"] if e["row"] == 3)
    assert uscc_error["column"] == "统一社会信用代码" and "check character" in uscc_error["message"]
    assert uscc_error["message_zh"] == "统一社会信用代码无效：校验码为“M”，应为“L”"
    date_error = next(e for e in body["errors"] if e["row"] == 4)
    assert date_error["message_zh"] == "不是有效的日期"
    sector_error = next(e for e in body["errors"] if e["row"] == 5)
    assert sector_error["message_zh"] == "未知的行业代码：烟花爆竹"
    assert count(session, Enterprise) == before
    status = client.get(f"/api/v1/imports/{body['import_id']}", headers=admin).json
    assert status["status"] == "rejected"


def test_a_uscc_with_another_scripts_digit_is_a_row_error(client, identity, session):
    """An Arabic-Indic digit in a USCC (NFKC keeps it) crashed the code's check with a
    ValueError: the upload failed as a whole instead of naming the row."""
    admin = identity("admin")
    good = factories.uscc()
    rows = [
        ENTERPRISE_HEADER,
        [good, "重庆甲食品有限公司", "food", "华岩镇", "", "", ""],
        ["9\u0661110000600037341L", "重庆乙食品有限公司", "food", "华岩镇", "", "", ""],
    ]
    path = "/api/v1/enterprises/import?mode=partial"
    response = upload(client, path, admin, csv_bytes(rows), "digits.csv")
    assert response.status_code == 201, response.json
    assert (response.json["accepted"], response.json["rejected"]) == (1, 1)
    (error,) = response.json["errors"]
    assert (error["row"], error["field"]) == (3, "uscc")
    assert "must be a digit" in error["message"]


def test_the_badges_of_a_file_past_65535_rows_are_looked_up_in_chunks(client, identity, session):
    """The inspectors' duplicate check sent every badge of the file in one IN: past 65,535
    rows PostgreSQL refused the statement's parameters, and the upload was a 500 (the
    enterprises' codes were already looked up 2,000 at a time)."""
    admin = identity("admin")
    body = factories.inspector()
    assert client.post("/api/v1/inspectors", json=body, headers=admin).status_code == 201
    loaded = [(n, {"badge": f"B-{n}", "region": "华岩镇"}) for n in range(2, 70_002)]
    loaded.append((70_002, {"badge": body["badge"], "region": "华岩镇"}))
    user = SimpleNamespace(regions=[])  # district-wide
    assert _inspector_checks(session, user, loaded) == {70_002: ("badge", "already registered")}


def test_a_refused_upload_answers_the_422_its_document_describes(app, client, identity):
    """An all-or-nothing upload with a bad row answers the import's report in the error
    shape: row errors as a list, the counts beside them.  The document gave its 422 the
    error schema alone (row errors an object, nothing else allowed), so no generated client
    could read it; and it had no zh-CN message, as every other error has."""
    import schemathesis

    document = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    admin = identity("admin")
    path = "/api/v1/enterprises/import"
    refused = upload(client, path, admin, csv_bytes(mixed_rows()), "mixed.csv")
    assert refused.status_code == 422
    assert refused.json["message"] == "3 row(s) invalid; nothing stored (all_or_nothing)"
    assert refused.json["message_zh"] == "3 行无效，未保存任何数据（all_or_nothing）"
    document[path]["POST"].validate_response(refused)
    unread = upload(client, f"{path}?mode=partial", admin, b"x", "e.csv", mode="all_or_nothing")
    assert unread.status_code == 422 and list(unread.json["errors"]) == ["mode"]
    document[path]["POST"].validate_response(unread)  # a form that did not validate


def test_mixed_rows_partial_stores_the_good_rows_and_reconciles(client, identity, session):
    admin = identity("admin")
    before = count(session, Enterprise)
    rows = mixed_rows()
    response = upload(
        client, "/api/v1/enterprises/import?mode=partial", admin, csv_bytes(rows), "mixed.csv"
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["received"] == body["accepted"] + body["rejected"] == 5
    assert body["accepted"] == 2  # rows 2 and 6 (the first of the duplicates had a bad sector)
    assert count(session, Enterprise) == before + 2
    rejected_rows = {e["row"] for e in body["errors"]}
    assert rejected_rows == {3, 4, 5}
    # the error workbook lists the rejected rows as uploaded, with a reason column
    sheet = client.get(f"/api/v1/imports/{body['import_id']}/errors.xlsx", headers=admin)
    assert sheet.status_code == 200
    ws = load_workbook(io.BytesIO(sheet.data)).worksheets[0]
    values = list(ws.values)
    assert values[0][-1] == "错误原因 reason"
    assert [v[0] for v in values[1:]] == [rows[2][0], rows[3][0], rows[4][0]]
    assert all(v[-1] for v in values[1:])


def _fixed_workbook(data: bytes, column: int, value: object) -> tuple[bytes, list[tuple]]:
    """errors.xlsx as a user fixes it: ``value`` into ``column`` of every row whose reason
    is not "not stored"; returns the workbook and its data rows as downloaded."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    downloaded = list(ws.values)[1:]
    for number, row in enumerate(downloaded, start=2):
        if not row[-1].startswith("not stored"):
            ws.cell(row=number, column=column, value=value)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue(), downloaded


def test_errors_workbook_fixed_and_reuploaded_stores_the_rows(client, identity, session):
    """The user downloads errors.xlsx, fixes the bad cell and uploads the workbook: the
    reason column the server itself added is ignored, not an unknown column."""
    admin = identity("admin")
    good, bad = factories.uscc(), factories.uscc()
    rows = [
        ENTERPRISE_HEADER,
        [good, "重庆好有限公司", "food", "华岩镇", "", "", ""],
        [bad, "重庆坏有限公司", "烟花爆竹", "华岩镇", "", "", ""],
    ]
    path = "/api/v1/enterprises/import?mode=partial"
    first = upload(client, path, admin, csv_bytes(rows), "e.csv")
    assert first.status_code == 201 and first.json["rejected"] == 1, first.json
    sheet = client.get(f"/api/v1/imports/{first.json['import_id']}/errors.xlsx", headers=admin)
    fixed, _ = _fixed_workbook(sheet.data, 3, "food")
    again = upload(client, "/api/v1/enterprises/import", admin, fixed, "fixed.xlsx")
    assert again.status_code == 201, again.json
    assert (again.json["received"], again.json["accepted"]) == (1, 1)
    assert client.get(f"/api/v1/enterprises/{bad}", headers=admin).json["sectors"] == ["food"]


def test_errors_workbook_of_a_reuploaded_errors_workbook_has_one_reason_column(
    client, identity, session
):
    """A fix that is still wrong: the next errors.xlsx replaces the reasons it was
    uploaded with, rather than adding a second reason column beside them."""
    admin = identity("admin")
    rows = [
        ENTERPRISE_HEADER,
        [factories.uscc(), "重庆坏有限公司", "烟花爆竹", "华岩镇", "", "", ""],
    ]
    path = "/api/v1/enterprises/import?mode=partial"
    first = upload(client, path, admin, csv_bytes(rows), "e.csv").json
    sheet = client.get(f"/api/v1/imports/{first['import_id']}/errors.xlsx", headers=admin)
    still_wrong, _ = _fixed_workbook(sheet.data, 3, "花炮")
    second = upload(client, path, admin, still_wrong, "fixed.xlsx").json
    assert (second["received"], second["rejected"]) == (1, 1), second
    again = client.get(f"/api/v1/imports/{second['import_id']}/errors.xlsx", headers=admin)
    header, row = list(load_workbook(io.BytesIO(again.data)).worksheets[0].values)
    assert [h for h in header if h == REASON_HEADER] == [REASON_HEADER]
    assert header[:-1] == tuple(ENTERPRISE_HEADER) and "花炮" in row[-1] and row[2] == "花炮"


def test_only_the_reason_header_itself_is_ignored(client, identity, session):
    admin = identity("admin")
    rows = [
        [*ENTERPRISE_HEADER, "错误原因"],
        [factories.uscc(), "重庆原因有限公司", "food", "华岩镇", "", "", "", "x"],
    ]
    r = upload(client, "/api/v1/enterprises/import", admin, csv_bytes(rows), "e.csv")
    assert r.status_code == 422 and "错误原因" in r.json["message"], r.json


def test_errors_workbook_of_a_refused_file_holds_every_row(client, identity, session):
    """all_or_nothing refused the file (3 received, 0 accepted, 3 rejected): errors.xlsx
    holds all 3 rows, the valid ones marked "not stored", so fixing the bad row and
    re-uploading the workbook stores the whole file, not only the row that was bad."""
    admin = identity("admin")
    codes = [factories.uscc() for _ in range(3)]
    rows = [
        ENTERPRISE_HEADER,
        [codes[0], "重庆甲有限公司", "food", "华岩镇", "", "", ""],
        [codes[1], "重庆乙有限公司", "烟花爆竹", "华岩镇", "", "", ""],
        [codes[2], "重庆丙有限公司", "food", "华岩镇", "", "", ""],
    ]
    body = upload(client, "/api/v1/enterprises/import", admin, csv_bytes(rows), "a.csv").json
    assert (body["received"], body["accepted"], body["rejected"]) == (3, 0, 3)
    sheet = client.get(f"/api/v1/imports/{body['import_id']}/errors.xlsx", headers=admin)
    fixed, downloaded = _fixed_workbook(sheet.data, 3, "food")
    assert [row[0] for row in downloaded] == codes
    reasons = [row[-1] for row in downloaded]
    assert reasons[0] == reasons[2] and "all_or_nothing" in reasons[0] and "未保存" in reasons[0]
    assert reasons[1].startswith("监管行业")
    again = upload(client, "/api/v1/enterprises/import", admin, fixed, "fixed.xlsx")
    assert again.status_code == 201, again.json
    assert (again.json["received"], again.json["accepted"]) == (3, 3)


def test_retry_same_key_replays_and_same_file_other_key_is_a_duplicate(client, identity, session):
    admin = identity("admin")
    rows = [ENTERPRISE_HEADER, [factories.uscc(), "重庆幂等有限公司", "food", "华岩镇", "", "", ""]]
    content = csv_bytes(rows)
    first = upload(client, "/api/v1/enterprises/import", admin, content, "a.csv", key="up-1")
    assert first.status_code == 201
    before = count(session, Enterprise)
    again = upload(client, "/api/v1/enterprises/import", admin, content, "a.csv", key="up-1")
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    other_key = upload(
        client, "/api/v1/enterprises/import", admin, content, "copy of a.csv", key="up-2"
    )
    assert other_key.status_code == 409
    assert "file" in other_key.json["errors"]
    no_key = upload(client, "/api/v1/enterprises/import", admin, content, "a.csv")
    assert no_key.status_code == 409
    assert count(session, Enterprise) == before
    changed = upload(
        client,
        "/api/v1/enterprises/import",
        admin,
        csv_bytes(rows + [[factories.uscc(), "重庆另一公司", "food", "华岩镇", "", "", ""]]),
        "b.csv",
        key="up-1",
    )
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json["errors"]


def test_a_duplicate_names_the_earlier_import_only_to_a_caller_who_may_read_it(
    client, identity, session
):
    rows = [ENTERPRISE_HEADER, [factories.uscc(), "重庆重复有限公司", "food", "华岩镇", "", "", ""]]
    content = csv_bytes(rows)
    huayan = identity("regulator", regions=("华岩镇",))
    first = upload(client, "/api/v1/enterprises/import", huayan, content, "a.csv", key="d-1")
    assert first.status_code == 201, first.json
    earlier = first.json["import_id"]
    before = (count(session, Import), count(session, Enterprise))

    def duplicate(who, key):
        response = upload(client, "/api/v1/enterprises/import", who, content, "b.csv", key=key)
        assert response.status_code == 409, response.json
        return response

    # the uploader who sent it twice, and a district-wide reader: told which import it was
    for who, key in ((huayan, "d-2"), (identity("regulator"), "d-3")):
        named = duplicate(who, key)
        assert f"import {earlier} on" in named.json["message"]
        assert named.json["errors"]["file"][0].endswith(f"to import {earlier}")
        assert named.json["errors_zh"]["file"][0].startswith(f"与导入 {earlier} 完全相同")
    # a regulator of another town cannot read that import: it is not named to them
    zouma = identity("regulator", regions=("走马镇",))
    assert client.get(f"/api/v1/imports/{earlier}", headers=zouma).status_code == 404
    hidden = duplicate(zouma, "d-4").json
    assert hidden["message"] == "this file was already imported; nothing was stored again"
    assert hidden["errors"]["file"][0].endswith("to a file already imported")
    assert hidden["errors_zh"]["file"][0].startswith("与已导入的文件完全相同")
    assert f"import {earlier}" not in str(hidden)
    assert (count(session, Import), count(session, Enterprise)) == before


def test_the_same_file_sent_twice_at_once_is_stored_once(
    client, identity, district, session, monkeypatch
):
    """A double click sends one file twice, without an Idempotency-Key.  Each request
    found no finished copy of it, so both stored its rows: every result twice.  The
    duplicate check is made again in the transaction that stores the rows (PostgreSQL: a
    lock per file), so the second is a 409 and its import is marked rejected."""
    from inspect_core.imports import service as imports

    regulator, _, tasks = _drawn(client, identity, district)
    content = csv_bytes(_food_rows(tasks, 5, prefix="TWICE"))
    before = count(session, Result)
    real_audit = imports.audit
    inner: list = []

    def audit(session, user, action, *args, **kwargs):
        # the first request found no copy of the file and is storing it: the second,
        # sent at the same moment, runs now
        if action == "import.receive" and not inner:
            inner.append(None)
            inner[0] = upload(client, "/api/v1/results/import", regulator, content,
                              "twice.csv", sector="food")  # fmt: skip
        return real_audit(session, user, action, *args, **kwargs)

    monkeypatch.setattr(imports, "audit", audit)
    outer = upload(client, "/api/v1/results/import", regulator, content, "twice.csv",
                   sector="food")  # fmt: skip
    [second] = inner
    assert second.status_code == 201, second.json
    assert outer.status_code == 409, outer.json
    assert outer.json["errors"]["file"][0].endswith(f"to import {second.json['import_id']}")
    assert outer.json["message_zh"] == "该文件已导入过，未重复导入"
    assert count(session, Result) - before == 5
    refused, stored = session.scalars(
        select(Import).where(Import.filename == "twice.csv").order_by(Import.id)
    ).all()  # the first request's import, then the second's
    assert (refused.status, refused.accepted) == ("rejected", 0)
    assert (stored.id, stored.status, stored.accepted) == (second.json["import_id"], "done", 5)
    shown = client.get(f"/api/v1/imports/{refused.id}", headers=regulator).json
    assert shown["status"] == "rejected" and shown["errors"][0]["message_zh"].startswith("与导入")


def test_oversized_file_too_many_rows_and_zip_bomb_are_refused(app, client, identity, session):
    admin = identity("admin")
    before_imports = count(session, Import)
    app.config["IMPORT_MAX_BYTES"] = 200
    big = csv_bytes(
        [ENTERPRISE_HEADER] + [[factories.uscc(), "x", "food", "华岩镇", "", "", ""]] * 10
    )
    response = upload(client, "/api/v1/enterprises/import", admin, big, "big.csv")
    assert response.status_code == 413 and "file" in response.json["errors"]
    app.config["IMPORT_MAX_BYTES"] = 10**7

    app.config["IMPORT_MAX_ROWS"] = 3
    rows = [ENTERPRISE_HEADER] + [
        [factories.uscc(), "重庆行数公司", "food", "华岩镇", "", "", ""] for _ in range(4)
    ]
    too_many = upload(client, "/api/v1/enterprises/import", admin, csv_bytes(rows), "rows.csv")
    assert too_many.status_code == 413
    assert "3" in too_many.json["message"]
    app.config["IMPORT_MAX_ROWS"] = 100_000

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<" + "a" * 50_000_000 + "/>")
    response = upload(client, "/api/v1/enterprises/import", admin, bomb.getvalue(), "bomb.xlsx")
    assert response.status_code == 413
    assert "zip bomb" in str(response.json["errors"])
    not_zip = upload(
        client, "/api/v1/enterprises/import", admin, b"PK\x03\x04garbage", "broken.xlsx"
    )
    assert not_zip.status_code == 422
    assert count(session, Enterprise) == count(session, Enterprise)  # nothing half-written
    # the size and zip-bomb refusals happen before the file is stored
    stored = session.scalars(select(Import.filename).order_by(Import.id)).all()[before_imports:]
    assert "big.csv" not in stored and "bomb.xlsx" not in stored


def test_malformed_csv_and_unknown_columns_are_refused(client, identity, session):
    admin = identity("admin")
    broken = b'\xe7\xbb\x9f\xe4\xb8\x80,"unterminated\n1,2\n'
    assert (
        upload(client, "/api/v1/enterprises/import", admin, broken, "broken.csv").status_code == 422
    )
    unknown = csv_bytes(
        [ENTERPRISE_HEADER + ["备注"], [factories.uscc(), "x", "food", "华岩镇", "", "", "", "x"]]
    )
    response = upload(client, "/api/v1/enterprises/import", admin, unknown, "u.csv")
    assert response.status_code == 422
    assert "备注" in response.json["message"]
    assert (
        upload(
            client,
            "/api/v1/enterprises/import",
            admin,
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old",
            "old.xls",
        ).status_code
        == 422
    )


def _xlsx_with_broken_sheet() -> bytes:
    """A workbook from a home-made exporter that does not escape '&' in an inline string:
    the archive and workbook.xml are sound, the sheet's XML does not parse."""
    wb = Workbook()
    wb.active.append(ENTERPRISE_HEADER[:4])
    good = io.BytesIO()
    wb.save(good)
    cells = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for i, h in enumerate(ENTERPRISE_HEADER[:4])
    )
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:D2"/><sheetData><row r="1">{cells}</row>'
        '<row r="2"><c r="B2" t="inlineStr"><is><t>重庆A&B食品有限公司</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    src = zipfile.ZipFile(good)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, sheet.encode() if info.filename.endswith("sheet1.xml") else data)
    return out.getvalue()


def test_xlsx_whose_sheet_xml_does_not_parse_is_a_422(client, identity, session):
    """Read-only openpyxl parses the sheet lazily, while rows are read: its error there is
    the file's problem (422 naming it), and the import is marked rejected."""
    admin = identity("admin")
    r = upload(client, "/api/v1/enterprises/import", admin, _xlsx_with_broken_sheet(), "amp.xlsx")
    assert r.status_code == 422, r.status_code
    assert "sheet" in r.json["message"] and r.json["errors"]["file"], r.json
    assert "xlsx" in r.json["message_zh"], r.json
    session.rollback()
    stored = session.scalars(select(Import).where(Import.filename == "amp.xlsx")).one()
    assert stored.status == "rejected"
    # the file-level error is stored one entry per reason, each shown in zh-CN too
    (error,) = client.get(f"/api/v1/imports/{stored.id}", headers=admin).json["errors"]
    assert error["message"].startswith("first sheet of the .xlsx: not well-formed"), error
    assert error["message_zh"].startswith(".xlsx 的第一个工作表：not well-formed"), error


def test_a_number_cell_past_64_bits_is_read_as_its_text(client, identity):
    """A whole-number cell became a Python int however large (1E+308: 309 digits), and a
    row error showing it could not be stored (the JSON encoder holds 64 bits): a 500, and
    the import stayed "received".  Past 64 bits the cell is read as its text."""
    admin = identity("admin")
    wb = Workbook()
    wb.active.append(ENTERPRISE_HEADER)
    for established in (1e308, 2**64, None):
        wb.active.append([factories.uscc(), "重庆某有限公司", "food", "华岩镇", None, None,
                          established])  # fmt: skip
    content = io.BytesIO()
    wb.save(content)
    r = upload(client, "/api/v1/enterprises/import?mode=partial", admin, content.getvalue(),
               "big.xlsx")  # fmt: skip
    assert r.status_code == 201, r.json
    assert (r.json["accepted"], r.json["rejected"]) == (1, 2)
    shown = [(e["field"], e["value"]) for e in r.json["errors"]]
    assert shown[0] == ("established_on", "1e+308")
    assert shown[1][0] == "established_on" and float(shown[1][1]) == pytest.approx(2**64)
    status = client.get(f"/api/v1/imports/{r.json['import_id']}", headers=admin).json
    assert status["status"] == "done" and len(status["errors"]) == 2


@pytest.mark.untranslated
def test_a_file_level_error_stored_as_a_list_is_read_reason_by_reason():
    """Imports rejected before file-level errors were stored one per reason hold the str()
    of the field's list: each reason is still shown in zh-CN."""
    from inspect_core.imports.service import _with_zh

    old = {"row": None, "column": "file", "field": "file", "value": None,
           "message": "['not a zip/xlsx archive', 'no header row']"}  # fmt: skip
    assert _with_zh(old)["message_zh"] == "不是 zip/xlsx 文件；没有表头行"
    assert _with_zh({**old, "message": "[not a list"})["message_zh"] == "[not a list"


def test_errors_workbook_of_a_stored_error_without_a_text_message():
    """errors.xlsx of an import whose stored row error has no text message (written by
    hand or an older version): its reason column, not a 500."""
    import types

    from inspect_core.imports.service import _with_zh, error_rows

    rows = [ENTERPRISE_HEADER, [factories.uscc(), "重庆甲公司", "food", "华岩镇", "", "", ""]]
    upload_ = types.SimpleNamespace(
        filename="e.csv", raw=csv_bytes(rows), mode="partial", status="finished", received=1,
        errors=[{"row": 2, "column": "成立日期", "field": "established_on", "value": None,
                 "message": None}],
    )  # fmt: skip
    headers, rejected = error_rows(upload_)
    assert headers[-1] == REASON_HEADER and rejected[0][-1] == "成立日期: None"
    assert _with_zh(upload_.errors[0])["message_zh"] is None


def test_an_unforeseen_reader_failure_rejects_the_import(client, identity, session, monkeypatch):
    """Whatever the reader raises, the answer is a 4xx naming the file and the import is
    not left "received" for ever."""
    from inspect_core.imports import reader

    def explode(*args, **kwargs):
        raise KeyError("xl/sharedStrings.xml")

    monkeypatch.setattr(reader, "open_table", explode)
    admin = identity("admin")
    rows = [ENTERPRISE_HEADER, [factories.uscc(), "重庆读错有限公司", "food", "华岩镇", "", "", ""]]
    r = upload(client, "/api/v1/enterprises/import", admin, csv_bytes(rows), "odd.csv")
    assert r.status_code == 422, r.status_code
    assert "cannot be read" in r.json["message"] and r.json["errors"]["file"], r.json
    session.rollback()
    stored = session.scalars(select(Import).where(Import.filename == "odd.csv")).one()
    assert (stored.status, stored.accepted) == ("rejected", 0)


def _food_rows(
    tasks: list[dict], n: int, prefix: str = "S", name: str = "大米"
) -> list[list[object]]:
    """A food results sheet of ``n`` valid rows over ``tasks``, sample numbers
    ``prefix`` + row index."""
    today = today_in_china().isoformat()
    return [FOOD_HEADER] + [
        [tasks[i % len(tasks)]["id"], "no_problem", f"{prefix}{i}", name, "cereal.rice.milled",
         today, "circulation", "Cd", "0.1", "mg/kg"]
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize("workers", [1, 2])
def test_a_reader_failure_after_rows_were_written_stores_nothing(
    app, client, identity, district, session, monkeypatch, workers
):
    """Result rows are validated and written chunk by chunk while the rest of the file is
    still being read.  A reader failure past the first chunks is still a 422 naming the
    file, and the rows already written are rolled back."""
    from inspect_core.imports import reader

    app.config.update(IMPORT_WORKERS=workers, IMPORT_PARALLEL_MIN_ROWS=1)
    real = reader.open_table
    read = []

    def failing(*args, **kwargs):
        stream = real(*args, **kwargs)

        def rows(inner=stream.rows):
            for row in inner:
                read.append(row[0])
                if len(read) == 2400:
                    raise KeyError("xl/sharedStrings.xml")
                yield row

        stream.rows = rows()
        stream.body = None  # rows read here, not lines parsed by the workers
        return stream

    monkeypatch.setattr(reader, "open_table", failing)
    from inspect_core.imports import service

    written = []
    for name in ("_copy_results", "_store_result_rows"):
        real_write = getattr(service, name)

        def spy(session, rows, real_write=real_write):
            written.append(read[-1])
            return real_write(session, rows)

        monkeypatch.setattr(service, name, spy)
    regulator, plan_id, tasks = _drawn(client, identity, district)
    before = count(session, Result)
    r = upload(
        client, "/api/v1/results/import?mode=partial", regulator,
        csv_bytes(_food_rows(tasks, 2600)), "late.csv", sector="food",
    )  # fmt: skip
    assert r.status_code == 422 and "cannot be read" in r.json["message"], r.json
    assert len(read) == 2400
    if workers == 1:  # rows were written before the failure (workers may still be busy)
        assert written and written[0] < read[-1]
    assert count(session, Result) == before
    stored = session.scalars(select(Import).where(Import.filename == "late.csv")).one()
    assert (stored.status, stored.accepted) == ("rejected", 0)


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_malformed_line_deep_in_a_large_csv_stores_nothing(
    app, client, identity, district, session, workers, quoted
):
    """Lines of a CSV without quoted cells are parsed by the workers, piece by piece; a
    line csv refuses (a cell past its field size limit) near the end is the same 422,
    naming the same line, as when the whole file is parsed first (a file with a quoted
    cell), and nothing is stored."""
    import csv as csv_module

    app.config.update(IMPORT_WORKERS=workers, IMPORT_PARALLEL_MIN_ROWS=1)
    regulator, plan_id, tasks = _drawn(client, identity, district)
    rows = _food_rows(tasks, 2600)
    # sheet row 2,502 (ASCII: the test client spools a body over 500 KB to a file it
    # leaves open)
    rows[2501][3] = "x" * (csv_module.field_size_limit() + 1)
    if quoted:
        rows[5][3] = "大米, 散装"  # a comma: csv.writer quotes the cell
    before = count(session, Result)
    r = upload(
        client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows),
        f"deep{workers}{quoted}.csv", sector="food",
    )  # fmt: skip
    assert r.status_code == 422, r.json
    assert r.json["errors"]["file"] == ["line 2502: field larger than field limit (131072)"]
    assert count(session, Result) == before


def _xlsx_declaring(rows: list[list[object]], dimension: str) -> bytes:
    """An .xlsx of ``rows`` whose sheet declares a dimension smaller than its data."""
    return factories.xlsx_with_sheet(rows, factories.declaring(dimension))


def test_rows_past_an_xlsx_sheets_declared_size_are_stored_or_refused(
    app, client, identity, district, session
):
    """An export tool that writes the sheet's size as "A1:J2" must not lose the rows after
    row 2 (openpyxl stops there unless told not to); and when those rows take the file
    past the row limit, it is a 413 with nothing stored, though its first rows had
    already been written."""
    app.config.update(IMPORT_WORKERS=1, IMPORT_PARALLEL_MIN_ROWS=1)
    regulator, plan_id, tasks = _drawn(client, identity, district)
    before = count(session, Result)
    content = _xlsx_declaring(_food_rows(tasks, 40), "A1:J2")
    r = upload(client, "/api/v1/results/import", regulator, content, "short.xlsx", sector="food")
    assert r.status_code == 201 and r.json["accepted"] == 40, r.json
    assert count(session, Result) == before + 40

    app.config["IMPORT_MAX_ROWS"] = 2500
    content = _xlsx_declaring(_food_rows(tasks, 2600), "A1:J2")
    r = upload(client, "/api/v1/results/import", regulator, content, "long.xlsx", sector="food")
    assert r.status_code == 413 and "2500" in r.json["message"], r.json
    assert count(session, Result) == before + 40


def test_csv_rows_of_empty_cells_are_skipped_not_rejected(client, identity, session):
    """Excel writes ",,,,,," for rows that were formatted or cleared, in the middle or at
    the end; they are not rows (as in .xlsx), so they neither refuse the file
    (all_or_nothing) nor show up as phantom rejected rows."""
    admin = identity("admin")
    code = factories.uscc()
    blank = ["", "", "", "", "", "", ""]
    rows = [ENTERPRISE_HEADER, blank, [code, "重庆空行有限公司", "food", "华岩镇", "", "", ""],
            blank, blank]  # fmt: skip
    response = upload(client, "/api/v1/enterprises/import", admin, csv_bytes(rows), "e.csv")
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["received"], body["accepted"], body["rejected"]) == (1, 1, 0)


def test_csv_errors_name_the_sheet_row_after_a_multi_line_cell(client, identity, session):
    """An address with a line break (Alt+Enter) is one sheet row (row 2, refused for its
    control character like the JSON API refuses it); the bad sector is on sheet row 3,
    in the answer and in errors.xlsx, which reads the file again."""
    admin = identity("admin")
    rows = [
        ENTERPRISE_HEADER,
        [factories.uscc(), "重庆换行有限公司", "food", "华岩镇", "华岩路1号\n2栋", "", ""],
        [factories.uscc(), "重庆坏行业有限公司", "烟花爆竹", "华岩镇", "", "", ""],
    ]
    path = "/api/v1/enterprises/import?mode=partial"
    r = upload(client, path, admin, csv_bytes(rows), "e.csv")
    assert r.status_code == 201, r.json
    assert {e["row"] for e in r.json["errors"]} == {2, 3}
    bad_sector = next(e for e in r.json["errors"] if e["field"] == "sectors")
    assert bad_sector["row"] == 3
    sheet = client.get(f"/api/v1/imports/{r.json['import_id']}/errors.xlsx", headers=admin)
    names = [row[1] for row in load_workbook(io.BytesIO(sheet.data)).worksheets[0].values][1:]
    assert names == ["重庆换行有限公司", "重庆坏行业有限公司"]


def _drawn(client, identity, district, k_results=3):
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 11}, headers=regulator)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=regulator).json["items"]
    return regulator, plan_id, tasks


def test_results_xlsx_from_the_template(client, identity, district, session):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    badge = tasks[0]["inspectors"][0]
    mine = [t for t in tasks if badge in t["inspectors"]]
    me = identity("inspector", badge=badge)
    template = client.get("/api/v1/sectors/food/template.xlsx", headers=me)
    wb = load_workbook(io.BytesIO(template.data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    example = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    ws.delete_rows(2)
    values = ["0.12", "0.3", "ND"]
    day = today_in_china()
    for task, value in zip(mine, values, strict=False):
        row = dict(example)
        row.update(
            {
                "任务编号": task["id"],
                "检查日期": f"{day.year}年{day.month}月{day.day}日",
                "样品编号": f"S-{task['id']}",
            }
        )
        row["检验项目1（代码）"] = "Cd"
        row["检验结果1"] = value
        row["计量单位1"] = "mg/kg"
        row["检查结论"] = "发现问题已责令改正" if value == "0.3" else "未发现问题"
        ws.append([row.get(h) for h in header])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = upload(
        client,
        "/api/v1/results/import",
        me,
        buffer.getvalue(),
        "结果.xlsx",
        sector="food",
        key="xl-1",
    )
    assert response.status_code == 201, response.json
    n = min(3, len(mine))
    assert (response.json["received"], response.json["accepted"]) == (n, n)
    stored = session.scalars(
        select(Result).where(Result.plan_id == plan_id).order_by(Result.id)
    ).all()
    assert [r.passed for r in stored] == [v != "0.3" for v in values[:n]]
    assert all(r.plugin == "food" and r.recorded_by.startswith("inspector") for r in stored)


def test_results_rows_for_someone_elses_task_are_rejected(client, identity, district, session):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    badge = tasks[0]["inspectors"][0]
    other = next(t for t in tasks if badge not in t["inspectors"])
    me = identity("inspector", badge=badge)
    header = FOOD_HEADER
    rows = [header,
            [tasks[0]["id"], "no_problem", "S1", "大米", "cereal.rice.milled", "2026-11-20", "circulation", "Cd", "0.1", "mg/kg"],
            [other["id"], "no_problem", "S2", "大米", "cereal.rice.milled", "2026-11-20", "circulation", "Cd", "0.1", "mg/kg"],
            [999999, "no_problem", "S3", "大米", "cereal.rice.milled", "2026-11-20", "circulation", "Cd", "0.1", "mg/kg"],
            [tasks[0]["id"], "no_problem", "S4", "大米", "cereal.rice.milled", "2026-11-20", "circulation", "Cd", "0.1", "furlong"]]  # fmt: skip
    response = upload(
        client, "/api/v1/results/import?mode=partial", me, csv_bytes(rows), "r.csv", sector="food"
    )
    assert response.status_code == 201, response.json
    assert (response.json["accepted"], response.json["rejected"]) == (1, 3)
    messages = {e["row"]: e for e in response.json["errors"]}
    # another inspector's task reads as one that does not exist (as on the JSON API): the
    # row's answer does not tell the inspector that task exists, nor its plan's state
    assert messages[3]["message"] == messages[4]["message"] == "no such task in your scope"
    assert messages[5]["field"] == "items.0.unit"
    # the inspector reads each reason in zh-CN too: the core's and the food plugin's
    assert messages[3]["message_zh"] == messages[4]["message_zh"] == "您的权限范围内没有该任务"
    assert messages[5]["message_zh"].startswith("payload.items.0.unit: 未知的计量单位 'furlong'")
    sheet = client.get(f"/api/v1/imports/{response.json['import_id']}/errors.xlsx", headers=me)
    rejected = list(load_workbook(io.BytesIO(sheet.data)).active.values)[1:]
    assert next(row[-1] for row in rejected if "furlong" in row) == (
        f"{messages[5]['column']}: {messages[5]['message']} / {messages[5]['message_zh']}"
    )


def test_upload_rows_with_control_or_bidi_text_are_row_errors(client, identity, district, session):
    """The bulk path hands cells to the plugin's fast path unchecked: a cell holding a
    bidi override or a control character sends its row the per-row way, where the core
    refuses it naming the cell; the clean row is stored."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    rows = [FOOD_HEADER] + [
        [task["id"], "no_problem", f"S{n}", name, "cereal.rice.milled", "2026-11-20", "circulation", "Cd", "0.1", "mg/kg"]
        for n, (task, name) in enumerate(zip(tasks[:3], ["大米", "大米\u202e米大", "大米\x1b[2J"], strict=True))
    ]  # fmt: skip
    response = upload(
        client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows), "r.csv",
        sector="food",
    )  # fmt: skip
    assert response.status_code == 201, response.json
    assert (response.json["accepted"], response.json["rejected"]) == (1, 2)
    errors = {e["row"]: e for e in response.json["errors"]}
    assert sorted(errors) == [3, 4]
    assert {errors[3]["column"], errors[4]["column"]} == {"食品名称"}
    assert "bidirectional control" in errors[3]["message"]
    assert "control characters" in errors[4]["message"]
    assert all(e["message_zh"] != e["message"] for e in errors.values())


def test_export_reimports_cleanly(app, client, identity, district, session):
    """Round trip: record results, export them (CSV and xlsx), import each export: every row
    is accepted and the new results carry the same payloads, conclusions and inspector
    findings as the originals.  (Results are append-only, so the imported rows sit beside
    the originals on the same tasks; nothing in the import depends on them existing.)"""
    regulator, plan_id, tasks = _drawn(client, identity, district)

    def results(ids: set[int] | None = None) -> list[tuple]:
        session.rollback()
        stmt = select(Result).where(Result.plan_id == plan_id).order_by(Result.task_id, Result.id)
        return [
            (r.task_id, r.conclusion_code, r.passed, r.inspected_on, r.payload,
             [(f["severity"], f["description"]) for f in r.findings if f["source"] == "inspector"])
            for r in session.scalars(stmt) if ids is None or r.id not in ids
        ]  # fmt: skip

    for i, task in enumerate(tasks[:4]):
        me = identity("inspector", badge=task["inspectors"][0])
        payload = factories.food_payload(["0.05", "0.3", "0.12", "0.2"][i])
        payload["items"].append(
            {"item": "Pb", "value": None, "qualifier": "ND", "lod": "0.02", "unit": "mg/kg"}
        )
        body = {"sector": "food", "payload": payload, "inspected_on": today_in_china().isoformat(),
                "conclusion_code": "corrected" if i == 1 else "no_problem",
                "findings": [{"severity": "minor", "description": "进货查验记录不全"}] if i == 2 else []}  # fmt: skip
        r = client.post(
            f"/api/v1/tasks/{task['id']}/results",
            json=body,
            headers={**me, "Idempotency-Key": f"rt-{i}"},
        )
        assert r.status_code == 201, r.json
    originals = results()
    assert len(originals) == 4
    exports = {
        fmt: client.get(
            f"/api/v1/results/export?sector=food&plan={plan_id}&format={fmt}", headers=regulator
        )
        for fmt in ("csv", "xlsx")
    }
    assert all(e.status_code == 200 for e in exports.values())
    assert exports["csv"].data.startswith(b"\xef\xbb\xbf")
    for fmt, exported in exports.items():
        session.rollback()
        before = set(session.scalars(select(Result.id).where(Result.plan_id == plan_id)))
        imported = upload(
            client,
            "/api/v1/results/import",
            regulator,
            exported.data,
            f"export.{fmt}",
            sector="food",
        )
        assert imported.status_code == 201, imported.json
        assert (imported.json["accepted"], imported.json["rejected"]) == (4, 0)
        assert results(before) == originals, fmt


def _record(client, identity, task, findings=(), key="rt", payload=None):
    """A food result recorded through the JSON API with the given inspector findings."""
    me = identity("inspector", badge=task["inspectors"][0])
    body = {
        "sector": "food",
        "payload": payload or factories.food_payload("0.05"),
        "inspected_on": today_in_china().isoformat(),
        "conclusion_code": "no_problem",
        "findings": list(findings),
    }
    r = client.post(
        f"/api/v1/tasks/{task['id']}/results", json=body, headers={**me, "Idempotency-Key": key}
    )
    assert r.status_code == 201, r.json


def _reimported_findings(client, session, regulator, plan_id, fmt="csv"):
    """Export the plan's food results, import the export, return the new result's
    inspector findings as (severity, code, description)."""
    exported = client.get(
        f"/api/v1/results/export?sector=food&plan={plan_id}&format={fmt}", headers=regulator
    )
    session.rollback()
    before = set(session.scalars(select(Result.id)))
    imported = upload(
        client, "/api/v1/results/import", regulator, exported.data, f"x.{fmt}", sector="food"
    )
    assert imported.status_code == 201, imported.json
    return _inspector_findings(session, plan_id, before)


def test_export_reimport_keeps_free_text_as_written(client, identity, district, session):
    """Full-width colon, brackets and ℃ in a finding survive export and re-import, as the
    JSON API keeps them (NFKC would give 冷藏温度:8°C(超标))."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    text = "冷藏温度：8℃（超标）"
    _record(client, identity, tasks[0], [{"severity": "minor", "description": text}])
    assert _reimported_findings(client, session, regulator, plan_id) == [("minor", None, text)]


def test_export_reimport_keeps_a_finding_with_a_chinese_semicolon(
    client, identity, district, session
):
    """ "后厨地面有积水；排水沟堵塞" is one finding, exported as "minor:后厨地面有积水；排水沟堵塞";
    the ；inside it does not split it on re-import."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    findings = [
        {"severity": "minor", "description": "后厨地面有积水；排水沟堵塞"},
        {"severity": "minor", "description": "灭蝇灯未开启; 2台"},
    ]
    _record(client, identity, tasks[0], findings)
    assert _reimported_findings(client, session, regulator, plan_id) == [
        ("minor", None, "后厨地面有积水；排水沟堵塞"),
        ("minor", None, "灭蝇灯未开启; 2台"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimport_keeps_a_finding_that_reads_like_two(
    client, identity, district, session, fmt
):
    """ "冷柜; HACCP:未建立" was exported as it is: the re-import refused 'HACCP' as a
    severity; "见附件; minor:标签不清" came back as two findings, and "记录不全;" without its ;."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    findings = [
        {"severity": "minor", "description": "冷柜; HACCP:未建立", "code": "FS-1"},
        {"severity": "minor", "description": "见附件; minor:标签不清"},
        {"severity": "minor", "description": "记录不全;"},
    ]
    _record(client, identity, tasks[0], findings)
    assert _reimported_findings(client, session, regulator, plan_id, fmt) == [
        ("minor", "FS-1", "冷柜; HACCP:未建立"),
        ("minor", None, "见附件; minor:标签不清"),
        ("minor", None, "记录不全;"),
    ]


def test_import_status_is_private_to_its_uploader(client, identity, session):
    admin = identity("admin")
    rows = [ENTERPRISE_HEADER, [factories.uscc(), "重庆隐私有限公司", "food", "华岩镇", "", "", ""]]
    body = upload(client, "/api/v1/enterprises/import", admin, csv_bytes(rows), "p.csv").json
    inspector_badge = factories.inspector()
    client.post("/api/v1/inspectors", json=inspector_badge, headers=admin)
    other = identity("inspector", badge=inspector_badge["badge"])
    assert client.get(f"/api/v1/imports/{body['import_id']}", headers=other).status_code == 404
    mine = client.get(f"/api/v1/imports/{body['import_id']}", headers=admin)
    assert mine.status_code == 200 and mine.json["progress"] == 1.0


@pytest.mark.parametrize("path", ["/api/v1/enterprises/import", "/api/v1/inspectors/import"])
def test_registry_imports_need_write_permission(client, identity, path):
    headers = identity("sector_admin")
    response = upload(client, path, headers, csv_bytes([["x"], ["y"]]), "x.csv")
    assert response.status_code == 403


def test_workbook_import_of_registry(client, identity, session):
    admin = identity("admin")
    wb = Workbook()
    ws = wb.active
    ws.append(ENTERPRISE_HEADER)
    code = factories.uscc()
    import datetime as dt

    ws.append([code, "重庆表格有限公司", "食品", "华岩镇", None, None, dt.datetime(2019, 3, 4)])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = upload(client, "/api/v1/enterprises/import", admin, buffer.getvalue(), "名录.xlsx")
    assert response.status_code == 201, response.json
    assert (
        client.get(f"/api/v1/enterprises/{code}", headers=admin).json["established_on"]
        == "2019-03-04"
    )


def test_parallel_validation_gives_the_inline_answer(app, client, identity, district, session):
    """Large uploads are validated in worker processes; the report and rows must not change."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    header = FOOD_HEADER
    rows = [header] + [
        [tasks[i % len(tasks)]["id"], "no_problem" if v != "0.3" else "corrected", f"P-{i}", "大米",
         "cereal.rice.milled", "2026-11-20", "circulation", "Cd", v, "mg/kg" if i % 7 else "furlong"]
        for i, v in enumerate(["0.1", "0.3", "0.05"] * 10)
    ]  # fmt: skip
    answers = {}
    for workers in (1, 2):
        app.config.update(IMPORT_WORKERS=workers, IMPORT_PARALLEL_MIN_ROWS=1)
        content = csv_bytes([*rows, [tasks[0]["id"], "no_problem", f"W{workers}"] + rows[1][3:]])
        r = upload(
            client,
            "/api/v1/results/import?mode=partial",
            regulator,
            content,
            f"w{workers}.csv",
            sector="food",
        )
        assert r.status_code == 201, r.json
        answers[workers] = (
            r.json["received"],
            r.json["accepted"],
            [(e["row"], e["field"]) for e in r.json["errors"]],
        )
    assert answers[1] == answers[2]
    assert (
        answers[1][1] == 31 - 6
    )  # i = 0, 7, 14, 21, 28 and the extra copy of i = 0 carry a bad unit


@pytest.mark.parametrize("mode", ["all_or_nothing", "partial"])
def test_a_bad_row_in_a_later_chunk(app, client, identity, district, session, mode):
    """Rows are written chunk by chunk while later chunks are validated: a bad row near the
    end of a large file must still leave nothing stored in all_or_nothing mode, and only
    itself out in partial mode."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    header = FOOD_HEADER
    today = today_in_china().isoformat()
    rows = [header] + [
        [tasks[i % len(tasks)]["id"], "no_problem", f"S{i}", "大米", "cereal.rice.milled",
         today, "circulation", "Cd", "0.1", "mg/kg"]
        for i in range(2600)
    ]  # fmt: skip
    rows[2501][8] = "-1"  # data row 2,501: sheet row 2,502, in the last of six chunks
    before = count(session, Result)
    response = upload(
        client, f"/api/v1/results/import?mode={mode}", regulator, csv_bytes(rows), "big.csv",
        sector="food",
    )  # fmt: skip
    body = response.json
    assert body["received"] == 2600 == body["accepted"] + body["rejected"], body
    assert [e["row"] for e in body["errors"]] == [2502]
    stored = count(session, Result) - before
    if mode == "all_or_nothing":
        assert response.status_code == 422 and body["accepted"] == 0 and stored == 0
    else:
        assert response.status_code == 201 and body["accepted"] == stored == 2599


def test_a_scoped_regulator_reads_only_uploads_made_within_its_regions(client, identity, session):
    rows = [
        ENTERPRISE_HEADER,
        [factories.uscc(), "重庆华岩某公司", "烟花爆竹", "华岩镇", "", "", ""],
    ]
    by_admin = upload(
        client,
        "/api/v1/enterprises/import?mode=partial",
        identity("admin"),
        csv_bytes(rows),
        "h.csv",
    ).json["import_id"]
    huayan = identity("regulator", regions=("华岩镇",))
    by_huayan = upload(
        client, "/api/v1/enterprises/import?mode=partial", huayan, csv_bytes(rows), "h2.csv"
    ).json["import_id"]
    zouma = identity("regulator", regions=("走马镇",))
    both = identity("regulator", regions=("华岩镇", "走马镇"))
    district_wide = identity("regulator")

    def status(who, import_id, path=""):
        return client.get(f"/api/v1/imports/{import_id}{path}", headers=who).status_code

    assert [status(zouma, by_admin), status(zouma, by_admin, "/errors.xlsx")] == [404, 404]
    assert [status(zouma, by_huayan), status(both, by_huayan), status(huayan, by_huayan)] == [
        404, 200, 200,
    ]  # fmt: skip
    assert [status(both, by_admin), status(district_wide, by_admin)] == [404, 200]
    assert status(district_wide, 2**70) == 404


# --- results where nothing was inspected ------------------------------------------------


def _not_inspected_rows(task_id: int, conclusion: str, **cells: object) -> list[list[object]]:
    """A food sheet with one row: the task, the conclusion, every sample/item cell blank."""
    row = {h: None for h in FOOD_HEADER} | {"任务编号": task_id, "检查结论": conclusion} | cells
    return [FOOD_HEADER, [row[h] for h in FOOD_HEADER]]


@pytest.mark.parametrize(
    ("conclusion", "code"),
    [
        *[(code, code) for code in ("unreachable", "no_activity", "closed", "uncooperative")],
        # the official wording has full-width brackets; typed half-width it is the same
        ("通过登记的住所（经营场所）无法联系", "unreachable"),
        ("通过登记的住所(经营场所)无法联系", "unreachable"),
    ],
)
def test_a_not_inspected_row_needs_no_sample_cells(
    client, identity, district, session, conclusion, code
):
    """The JSON API records these conclusions without a payload; so does the upload."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    content = csv_bytes(_not_inspected_rows(tasks[0]["id"], conclusion))
    r = upload(client, "/api/v1/results/import", regulator, content, "u.csv", sector="food")
    assert r.status_code == 201, r.json
    session.rollback()
    stored = session.scalars(select(Result).where(Result.plan_id == plan_id)).one()
    assert (stored.conclusion_code, stored.payload, stored.passed) == (code, None, None)
    assert stored.judgement == {"not_inspected": True} and stored.plugin is None


def test_a_not_inspected_row_with_sample_cells_is_refused_naming_the_conclusion(
    client, identity, district, session
):
    """A sample cell filled in with a "nothing inspected" conclusion is refused naming the
    conclusion, as the JSON API does: one cell of an incomplete sample, and a complete,
    passing sample, which was stored as a pass under "已关闭停业"."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    content = csv_bytes(_not_inspected_rows(tasks[0]["id"], "closed", 样品编号="S1"))
    r = upload(client, "/api/v1/results/import", regulator, content, "u.csv", sector="food")
    assert r.status_code == 422, r.json
    assert [e["field"] for e in r.json["errors"]] == ["conclusion_code"], r.json
    header, row = _food_rows(tasks[:1], 1)
    row[header.index("检查结论")] = "closed"
    r = upload(client, "/api/v1/results/import", regulator, csv_bytes([header, row]), "u.csv",
               sector="food")  # fmt: skip
    assert r.status_code == 422, r.json
    assert [e["field"] for e in r.json["errors"]] == ["conclusion_code"], r.json
    session.rollback()
    assert session.scalars(select(Result).where(Result.plan_id == plan_id)).all() == []


def test_an_inspected_row_with_blank_sample_cells_is_still_refused(
    client, identity, district, session
):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    content = csv_bytes(_not_inspected_rows(tasks[0]["id"], "no_problem"))
    r = upload(client, "/api/v1/results/import", regulator, content, "u.csv", sector="food")
    assert r.status_code == 422, r.json
    assert "sample_no" in {e["field"] for e in r.json["errors"]}


def test_a_not_inspected_special_equipment_row_with_its_date_is_recorded(client, identity, session):
    """Special equipment reads 检查日期 into its payload too, so a "closed" row giving the
    day of the visit was refused for carrying "sample or inspection data", where the JSON
    API records the same result: the date is the result's, not a register."""
    from tests.api.test_request_bodies import _task_of

    task, me = _task_of(client, identity, "special_equipment")
    today = today_in_china()
    rows = [["任务编号", "检查结论", "检查日期"],
            [task["id"], "closed", f"{today.year}年{today.month}月{today.day}日"]]  # fmt: skip
    r = upload(client, "/api/v1/results/import", me, csv_bytes(rows), "u.csv",
               sector="special_equipment")  # fmt: skip
    assert r.status_code == 201, r.json
    session.rollback()
    stored = session.scalars(select(Result).where(Result.task_id == task["id"])).one()
    assert (stored.conclusion_code, stored.inspected_on, stored.payload, stored.passed) == (
        "closed",
        today,
        None,
        None,
    )


def test_export_of_a_register_dated_on_its_result_keeps_the_date(client, identity, session):
    """A special-equipment result whose date is given once, on the result (as the plugin
    asks), was exported with 检查日期 blank (the payload's missing date over the
    result's): re-imported, it was dated, and its register judged, on the day of the
    upload.  The export carries the result's date, and the re-import keeps it."""
    import datetime as dt

    from sqlalchemy import update

    from inspect_core.plans.models import Plan, Task
    from tests.api.test_request_bodies import _task_of

    task, me = _task_of(client, identity, "special_equipment")
    month_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    for model, key in ((Plan, Plan.id), (Task, Task.plan_id)):
        session.execute(update(model).where(key == task["plan_id"]).values(created_at=month_ago))
    session.commit()
    day = today_in_china() - dt.timedelta(days=20)
    lift = {"registration_code": "E-1", "category": "3000", "registered": True,
            "commissioning_date": str(day - dt.timedelta(days=100)),
            "registration_date": str(day - dt.timedelta(days=99)),
            "maintenance_records": [str(day - dt.timedelta(days=5))]}  # fmt: skip
    body = {"sector": "special_equipment", "payload": {"equipment": [lift]},
            "inspected_on": str(day), "conclusion_code": "corrected"}  # fmt: skip
    r = client.post(f"/api/v1/tasks/{task['id']}/results", json=body,
                    headers={**me, "Idempotency-Key": "se-1"})  # fmt: skip
    assert r.status_code == 201, r.json
    regulator = identity("regulator")
    exported = client.get(
        f"/api/v1/results/export?sector=special_equipment&plan={task['plan_id']}&format=csv",
        headers=regulator,
    )
    header, row = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert row[header.index("检查日期")] == str(day)
    imported = upload(client, "/api/v1/results/import", regulator, exported.data, "x.csv",
                      sector="special_equipment")  # fmt: skip
    assert imported.status_code == 201, imported.json
    session.rollback()
    stored = session.scalars(
        select(Result).where(Result.task_id == task["id"]).order_by(Result.id)
    ).all()
    assert [(s.inspected_on, s.judgement) for s in stored[1:]] == [(day, stored[0].judgement)]


@pytest.mark.parametrize(
    ("sector", "cells", "column", "reason"),
    [
        (
            "special_equipment",
            {"registration_code": "E-1", "category": "3000", "commissioning_date": "2020-06-01",
             "registered": "是", "maintenance_records": "2020-05-01"},
            "maintenance_records",
            "before the commissioning date",
        ),
        (
            "drugs",
            {"inspection_type": "sampling", "stage": "circulation", "product_name": "某某片",
             "dosage_form": "tablet", "dissolution_q": "80",
             "dissolution_units": "1e29;90;90;90;90;90"},
            "dissolution_units",
            "1E+29% of label claim is above the plausible maximum (1000%); check the value",
        ),
        # a defect on a sampling row was dropped and the row stored as 符合规定
        (
            "drugs",
            {"inspection_type": "sampling", "stage": "流通", "product_name": "某某片",
             "identification": "符合", "defects": "GSP-1|严重"},
            "defects",
            "A sampling result has test items, not defects.",
        ),
        # a refused 合理缺项 count was named "gsp_not_applicable", no column, no value
        (
            "drugs",
            {"inspection_type": "gsp", "gsp_na_critical": "0", "gsp_na_general": "-1"},
            "gsp_na_general",
            "Must be greater than or equal to 0.",
        ),
    ],
)  # fmt: skip
def test_a_rule_error_names_the_upload_column_the_value_came_from(
    client, identity, sector, cells, column, reason
):
    """Special equipment's first unit and the drugs test items are flattened into template
    columns the payload path does not spell: a refused row named ``equipment`` or
    ``sample``, which no template has, with no value.  The error names the column the
    value was typed in (its zh-CN header), with the value, so errors.xlsx marks that cell."""
    from tests.api.test_request_bodies import _task_of

    task, me = _task_of(client, identity, sector)
    described = client.get(f"/api/v1/sectors/{sector}", headers=me).json
    header_of = {c["name"]: c["header_zh"] for c in described["template_columns"]}
    names = ["task_id", "conclusion_code", *cells]
    rows = [[header_of[n] for n in names], [task["id"], "corrected", *cells.values()]]
    r = upload(client, "/api/v1/results/import", me, csv_bytes(rows), "u.csv", sector=sector)
    assert r.status_code == 422, r.json
    (error,) = r.json["errors"]
    assert (error["field"], error["column"]) == (column, header_of[column]), error
    assert error["value"] == cells[column] and error["message"].endswith(reason), error


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_an_unreachable_result_reimports(client, identity, district, session, fmt):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    me = identity("inspector", badge=tasks[0]["inspectors"][0])
    r = client.post(
        f"/api/v1/tasks/{tasks[0]['id']}/results",
        json={"sector": "food", "conclusion_code": "unreachable"},
        headers={**me, "Idempotency-Key": "un-1"},
    )
    assert r.status_code == 201, r.json
    exported = client.get(
        f"/api/v1/results/export?sector=food&plan={plan_id}&format={fmt}", headers=regulator
    )
    imported = upload(
        client, "/api/v1/results/import", regulator, exported.data, f"x.{fmt}", sector="food"
    )
    assert imported.status_code == 201, imported.json
    session.rollback()
    payloads = session.scalars(select(Result.payload).where(Result.plan_id == plan_id)).all()
    assert payloads == [None, None]


# --- an Idempotency-Key reused after the file was refused -------------------------------


def test_key_reused_after_a_refused_file_records_the_file_really_imported(
    client, identity, session
):
    """The first file is refused (a missing column: nothing stored, no answer recorded);
    the fixed file sent again with the same key is a new import recording its own bytes,
    SHA-256 and name, and the refused one keeps its own report."""
    import hashlib

    admin = identity("admin")
    code = factories.uscc()
    broken = csv_bytes(
        [ENTERPRISE_HEADER[1:], ["重庆幂等二有限公司", "food", "华岩镇", "", "", ""]]
    )
    first = upload(client, "/api/v1/enterprises/import", admin, broken, "a.csv", key="K-1")
    assert first.status_code == 422
    good = csv_bytes(
        [ENTERPRISE_HEADER, [code, "重庆幂等二有限公司", "food", "华岩镇", "", "", ""]]
    )
    second = upload(client, "/api/v1/enterprises/import", admin, good, "a-fixed.csv", key="K-1")
    assert second.status_code == 201, second.json
    status = client.get(f"/api/v1/imports/{second.json['import_id']}", headers=admin).json
    assert status["sha256"] == hashlib.sha256(good).hexdigest()
    assert status["filename"] == "a-fixed.csv"
    session.rollback()
    refused = session.scalars(
        select(Import).where(Import.sha256 == hashlib.sha256(broken).hexdigest())
    ).one()
    assert refused.id != second.json["import_id"] and refused.status == "rejected"
    again = upload(client, "/api/v1/enterprises/import", admin, good, "a-fixed.csv", key="K-1")
    assert again.json == second.json and again.headers.get("Idempotent-Replayed") == "true"


def test_key_reused_after_a_refused_file_then_the_file_under_another_key_is_a_duplicate(
    client, identity, district, session
):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    row = [tasks[0]["id"], "no_problem", "D1", "大米", "cereal.rice.milled",
           today_in_china().isoformat(), "circulation", "Cd", "0.1", "mg/kg"]  # fmt: skip
    broken = csv_bytes([FOOD_HEADER + ["备注"], row + ["x"]])
    first = upload(
        client, "/api/v1/results/import", regulator, broken, "r.csv", key="R-1", sector="food"
    )
    assert first.status_code == 422
    good = csv_bytes([FOOD_HEADER, row])
    second = upload(
        client, "/api/v1/results/import", regulator, good, "r.csv", key="R-1", sector="food"
    )
    assert second.status_code == 201, second.json
    before = count(session, Result)
    third = upload(
        client, "/api/v1/results/import", regulator, good, "r.csv", key="R-2", sector="food"
    )
    assert third.status_code == 409, third.json
    assert count(session, Result) == before


def test_key_of_an_unfinished_upload_with_another_file_is_refused(client, identity, session):
    """An attempt under the key never finished (the server died): the same file may take
    it over, another file may not."""
    admin = identity("admin")
    rows = [ENTERPRISE_HEADER, [factories.uscc(), "重庆未完有限公司", "food", "华岩镇", "", "", ""]]
    content = csv_bytes(rows)
    first = upload(client, "/api/v1/enterprises/import", admin, content, "a.csv", key="U-1")
    assert first.status_code == 201
    session.rollback()
    unfinished = session.get(Import, first.json["import_id"])
    session.add(
        Import(
            kind="enterprises", mode="all_or_nothing", filename="b.csv", content_type="text/csv",
            size=3, sha256="0" * 64, raw=b"abc", user_id=unfinished.user_id, created_by="x",
            idempotency_key="U-2",
        )
    )  # fmt: skip
    session.commit()
    other = csv_bytes([ENTERPRISE_HEADER, [factories.uscc(), "重庆另一有限公司", "food", "华岩镇"]])
    before = count(session, Enterprise)
    r = upload(client, "/api/v1/enterprises/import", admin, other, "c.csv", key="U-2")
    assert r.status_code == 422, r.json
    assert "Idempotency-Key" in r.json["errors"] and r.json["message_zh"]
    assert count(session, Enterprise) == before


def test_key_of_an_unfinished_upload_with_another_mode_or_route_is_refused(
    client, identity, session
):
    """The same file under the key of an unfinished upload, sent ``partial`` where the
    upload was ``all_or_nothing`` (or to another route), took the upload over: its good
    row was stored and the answer reported it as all_or_nothing, 1 accepted and 1
    rejected.  Another mode or route is another request: a 422 naming the key, nothing
    stored; the request itself still takes the upload over."""
    import hashlib

    admin = identity("admin")
    username = client.get("/api/v1/auth/me", headers=admin).json["username"]
    user = session.scalar(select(User).where(User.username == username))
    good = [factories.uscc(), "重庆未完二有限公司", "food", "华岩镇", "", "", ""]
    content = csv_bytes([ENTERPRISE_HEADER, good, ["123", "重庆坏有限公司", "food", "华岩镇"]])
    session.add(
        Import(
            kind="enterprises", mode="all_or_nothing", filename="a.csv", content_type="text/csv",
            size=len(content), sha256=hashlib.sha256(content).hexdigest(), raw=content,
            user_id=user.id, created_by=user.username, idempotency_key="U-3",
        )
    )  # fmt: skip
    session.commit()
    unfinished = session.scalar(select(Import.id).where(Import.idempotency_key == "U-3"))
    before = count(session, Enterprise)
    for path, form in (
        ("/api/v1/enterprises/import", {"mode": "partial"}),
        ("/api/v1/inspectors/import", {}),
    ):
        r = upload(client, path, admin, content, "a.csv", key="U-3", **form)
        assert r.status_code == 422, r.json
        assert list(r.json["errors"]) == ["Idempotency-Key"], r.json
        assert r.json["message_zh"] == "幂等键已用于不同的请求"
        assert count(session, Enterprise) == before
    same = upload(client, "/api/v1/enterprises/import", admin, content, "a.csv", key="U-3")
    assert same.status_code == 422, same.json
    assert (same.json["import_id"], same.json["mode"]) == (unfinished, "all_or_nothing")
    assert (same.json["accepted"], same.json["rejected"]) == (0, 2)
    assert count(session, Enterprise) == before


# --- which column an error names ---------------------------------------------------------


#: three test-item groups, zh-CN headers as in the template
ITEM_GROUPS_HEADER = [
    "任务编号", "检查结论", "样品编号", "食品名称", "食品类别（代码）", "抽样日期", "抽样环节",
    "检验项目1（代码）", "检验结果1", "计量单位1",
    "检验项目2（代码）", "检验结果2", "计量单位2",
    "检验项目3（代码）", "检验结果3", "计量单位3",
]  # fmt: skip


@pytest.mark.parametrize(
    ("groups", "column", "value", "path"),
    [
        ((("Cd", "0.1", "mg/kg"), None, ("Pb", "0.05", "furlong")),
         "计量单位3", "furlong", "payload.items.2.unit"),
        ((None, ("Cd", "0.1", "furlong"), ("Pb", "0.05", "mg/kg")),
         "计量单位2", "furlong", "payload.items.1.unit"),
        ((None, None, ("Zz", "0.05", "mg/kg")), "检验项目3（代码）", "Zz", "payload.items.2.item"),
        ((("Cd", "0.1", "mg/kg"), ("Pb", "0.05", "mg/kg"), ("Zz", "1", "mg/kg")),
         "检验项目3（代码）", "Zz", "payload.items.2.item"),
    ],
)  # fmt: skip
def test_an_item_error_after_a_blank_group_names_its_own_column(
    client, identity, district, session, groups, column, value, path
):
    """Blank groups are dropped from the payload's items (as if the JSON API had been sent
    only the others); the error still names the column the bad cell is in."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    row = [tasks[0]["id"], "no_problem", "S1", "大米", "cereal.rice.milled",
           today_in_china().isoformat(), "circulation"]  # fmt: skip
    for group in groups:
        row += list(group or (None, None, None))
    r = upload(
        client, "/api/v1/results/import", regulator, csv_bytes([ITEM_GROUPS_HEADER, row]),
        "g.csv", sector="food",
    )  # fmt: skip
    errors = r.json["errors"]
    assert [(e["column"], e["value"]) for e in errors] == [(column, value)], errors
    assert errors[0]["message"].startswith(f"{path}: "), errors


# --- more test items than the template shows ----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_a_result_with_more_items_than_the_template_reimports(
    client, identity, district, session, fmt
):
    """Four analytes (the JSON API allows up to 500): the export adds a fourth group of
    columns, headed like the template's (检验项目4（代码）…), and the import reads them."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    payload = factories.food_payload("0.05")
    for analyte in ("Pb", "As_inorganic", "Hg_total"):
        payload["items"].append({"item": analyte, "value": "0.01", "unit": "mg/kg"})
    _record(client, identity, tasks[0], payload=payload)
    exported = client.get(
        f"/api/v1/results/export?sector=food&plan={plan_id}&format={fmt}", headers=regulator
    )
    header = exported.data.decode("utf-8-sig").splitlines()[0] if fmt == "csv" else ""
    assert fmt == "xlsx" or ("检验项目4（代码）" in header and "items.3" not in header)
    imported = upload(
        client, "/api/v1/results/import", regulator, exported.data, f"x.{fmt}", sector="food"
    )
    assert imported.status_code == 201, imported.json
    session.rollback()
    stored = session.scalars(select(Result).where(Result.plan_id == plan_id)).all()
    assert len(stored) == 2 and stored[0].payload == stored[1].payload
    assert [i["item"] for i in stored[1].payload["items"]][-1] == "Hg_total"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_results_export_goes_through_a_spool_padded_to_the_last_rows_columns(
    client, identity, district, session, monkeypatch, fmt
):
    """The export's rows go to a temporary file as they are made, not a list; a later
    result with a fourth item group widens every row before it; the file is closed
    with the response.  A sheet too short for the rows, or a plugin fault part-way, is
    the 4xx/502 it was, and the file is closed then too."""
    from inspect_core import workbook
    from inspect_core.imports import service

    regulator, plan_id, tasks = _drawn(client, identity, district)
    wide = factories.food_payload("0.05")
    for analyte in ("Pb", "As_inorganic", "Hg_total"):
        wide["items"].append({"item": analyte, "value": "0.01", "unit": "mg/kg"})
    for i, task in enumerate(tasks[:3]):
        _record(client, identity, task, key=f"s{i}", payload=wide if i == 2 else None)
    spools: list[workbook.RowSpool] = []
    made = workbook.RowSpool

    def spool():
        spools.append(made())
        return spools[-1]

    monkeypatch.setattr(service, "RowSpool", spool)
    monkeypatch.setattr(workbook, "ROW_SPOOL", 1)  # on disk from the first row
    url = f"/api/v1/results/export?sector=food&plan={plan_id}&format={fmt}"
    exported = client.get(url, headers=regulator)
    assert exported.status_code == 200
    assert spools[-1].count == 3 and spools[-1]._file._rolled
    if fmt == "csv":
        assert exported.is_streamed and not spools[-1].closed  # sent from the file ...
        rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
        exported.close()
        assert spools[-1].closed  # ... closed with the response
    else:
        assert spools[-1].closed
        rows = [["" if v is None else str(v) for v in r]
                for r in load_workbook(io.BytesIO(exported.data)).worksheets[0].values]  # fmt: skip
    header = rows[0]
    assert "检验项目4（代码）" in header and header[-3:] == [
        "检验项目4（代码）",
        "检验结果4",
        "计量单位4",
    ]
    assert {len(r) for r in rows} == {len(header)}
    assert [r[-3:] for r in rows[1:]] == [["", "", ""], ["", "", ""], ["Hg_total", "0.01", "mg/kg"]]

    if fmt == "xlsx":  # three rows and a header, in a sheet of three: refused, closed
        monkeypatch.setattr(workbook, "XLSX_MAX_ROWS", 3)
        refused = client.get(url, headers=regulator)
        assert refused.status_code == 422 and "format" in refused.json["errors"]
        assert spools[-1].closed
        monkeypatch.setattr(workbook, "XLSX_MAX_ROWS", 4)
        assert client.get(url, headers=regulator).status_code == 200
    row_of = service._export_row

    def fault_on_the_second(sector, result):
        if spools[-1].count == 1:
            raise service._fault(sector, "inspect_row_from_payload broke", "未能导出结果")
        return row_of(sector, result)

    monkeypatch.setattr(service, "_export_row", fault_on_the_second)
    failed = client.get(url, headers=regulator)
    assert failed.status_code == 502, failed.status_code
    assert spools[-1].count == 1 and spools[-1].closed


@pytest.mark.parametrize(
    "headers",
    [
        ("items.3.item", "items.3.value", "items.3.unit"),
        ("检验项目4（代码）", "检验结果4", "计量单位4"),
        ("检验项目4(代码)", "检验结果4", "ITEMS.3.UNIT"),
    ],
)
def test_item_groups_past_the_template_by_name_or_chinese_header(
    client, identity, district, session, headers
):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    row = [tasks[0]["id"], "no_problem", "S1", "大米", "cereal.rice.milled",
           today_in_china().isoformat(), "circulation", "Cd", "0.1", "mg/kg"]  # fmt: skip
    content = csv_bytes([FOOD_HEADER + list(headers), row + ["Pb", "0.05", "furlong"]])
    r = upload(client, "/api/v1/results/import", regulator, content, "g.csv", sector="food")
    assert r.status_code == 422, r.json
    assert [(e["column"], e["field"], e["value"]) for e in r.json["errors"]] == [
        (headers[2], "items.3.unit", "furlong")
    ]
    good = csv_bytes([FOOD_HEADER + list(headers), row + ["Pb", "0.05", "mg/kg"]])
    r = upload(client, "/api/v1/results/import", regulator, good, "g.csv", sector="food")
    assert r.status_code == 201, r.json
    session.rollback()
    stored = session.scalars(select(Result).where(Result.plan_id == plan_id)).one()
    assert [i["item"] for i in stored.payload["items"]] == ["Cd", "Pb"]


@pytest.mark.parametrize(
    "extra", [["items.3.colour"], ["检验项目0（代码）"], ["items.3.item", "检验项目4（代码）"]]
)
def test_unknown_or_repeated_item_columns_are_still_refused(
    client, identity, district, session, extra
):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    row = [tasks[0]["id"], "no_problem", "S1", "大米", "cereal.rice.milled",
           today_in_china().isoformat(), "circulation", "Cd", "0.1", "mg/kg"]  # fmt: skip
    content = csv_bytes([FOOD_HEADER + extra, row + ["Pb"] * len(extra)])
    r = upload(client, "/api/v1/results/import", regulator, content, "g.csv", sector="food")
    assert r.status_code == 422 and "columns" in r.json["errors"], r.json


@pytest.mark.parametrize(
    ("sector", "name", "header"),
    [
        ("food", "items.3.item", "检验项目4（代码）"),
        ("food", "items.11.unit", "计量单位12"),
        ("construction", "concrete_batches.5.grade", "强度等级6"),
        ("construction", "concrete_batches.5.values", "试件强度代表值6（N/mm²，分号分隔）"),
    ],
)
def test_headers_of_item_groups_past_the_template(app, sector, name, header):
    """The header of group N follows the template's groups 1 and 2, whatever the sector."""
    from inspect_core.imports.service import further_groups, result_columns

    with app.app_context():
        columns = result_columns(sector)
        for written in (name, header):
            [column] = further_groups(columns, [written])
            assert (column.name, column.header_zh, column.required) == (name, header, False)


# --- inspector findings ------------------------------------------------------------------


def _inspector_findings(session, plan_id, before=frozenset()):
    session.rollback()
    new = session.scalars(
        select(Result).where(Result.plan_id == plan_id, Result.id.not_in(before))
    ).one()
    return [
        (f["severity"], f["code"], f["description"])
        for f in new.findings
        if f["source"] == "inspector"
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimport_keeps_the_finding_code(client, identity, district, session, fmt):
    regulator, plan_id, tasks = _drawn(client, identity, district)
    findings = [
        {"severity": "minor", "description": "进货查验记录不全", "code": "FS-3"},
        {"severity": "minor", "description": "[现场] 未公示许可证"},
    ]
    _record(client, identity, tasks[0], findings)
    assert _reimported_findings(client, session, regulator, plan_id, fmt) == [
        ("minor", "FS-3", "进货查验记录不全"),
        ("minor", None, "[现场] 未公示许可证"),
    ]


def _upload_findings_cell(client, identity, district, cell):
    """One food row whose 发现问题 cell is ``cell``: (the upload's response, its plan)."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    header = [*FOOD_HEADER, "发现问题"]
    row = [tasks[0]["id"], "no_problem", "S1", "大米", "cereal.rice.milled",
           today_in_china().isoformat(), "circulation", "Cd", "0.1", "mg/kg", cell]  # fmt: skip
    r = upload(
        client, "/api/v1/results/import", regulator, csv_bytes([header, row]), "f.csv",
        sector="food",
    )  # fmt: skip
    return r, plan_id


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("minor:进货查验记录不全", [("minor", None, "进货查验记录不全")]),
        ("Minor[FS-3]:进货查验记录不全", [("minor", "FS-3", "进货查验记录不全")]),
        ("minor ［FS:3］ ：进货查验记录不全", [("minor", "FS:3", "进货查验记录不全")]),
        ("minor[]:a; minor[K-1]:b", [("minor", None, "a"), ("minor", "K-1", "b")]),
    ],
)
def test_a_finding_cell_with_or_without_its_code(
    client, identity, district, session, cell, expected
):
    r, plan_id = _upload_findings_cell(client, identity, district, cell)
    assert r.status_code == 201, r.json
    assert _inspector_findings(session, plan_id) == expected


@pytest.mark.parametrize("cell", ["进货查验记录不全", "minor[FS-3 进货查验记录不全"])
def test_a_finding_cell_without_its_severity_names_the_column(
    client, identity, district, session, cell
):
    r, _ = _upload_findings_cell(client, identity, district, cell)
    assert r.status_code == 422, r.json
    assert [(e["column"], e["field"]) for e in r.json["errors"]] == [("发现问题", "findings")]


@pytest.mark.parametrize("number", [10**20, 2**63, 2**31, -(2**63) - 1, 0, -5])
def test_a_task_number_out_of_the_databases_range_is_a_row_error(
    client, identity, district, session, number
):
    """SQLite cannot even look up an integer past 64 bits (it was a 500)."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    day = today_in_china().isoformat()
    rows = [FOOD_HEADER] + [
        [task_id, "no_problem", sample, "大米", "cereal.rice.milled", day, "circulation", "Cd",
         "0.1", "mg/kg"]
        for task_id, sample in ((tasks[0]["id"], "S1"), (number, "S2"))
    ]  # fmt: skip
    r = upload(
        client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows), "big.csv",
        sector="food",
    )  # fmt: skip
    assert r.status_code == 201, r.json
    assert [(e["row"], e["column"], e["message"]) for e in r.json["errors"]] == [
        (3, "任务编号", "not a task number")
    ]
    assert r.json["accepted"] == 1


def test_a_decimal_cell_past_its_range_is_a_row_error_not_a_billion_digits(
    client, identity, district, session
):
    """The bulk path handed "1E+1000000000" to the food plugin, whose rules wrote it out
    digit by digit (all the memory there was); such a row now takes the per-row path,
    where the schema reads it and the core names it.  The other rows keep the bulk path."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    day = today_in_china().isoformat()
    rows = [FOOD_HEADER] + [
        [tasks[i]["id"], "corrected", f"S{i}", "大米", "cereal.rice.milled", day, "circulation",
         "Cd", value, "mg/kg"]
        for i, value in enumerate(("1E+100000", "0.3", " 1e-2000 ", "2.5E+1"))
    ]  # fmt: skip
    r = upload(
        client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows), "e.csv",
        sector="food",
    )  # fmt: skip
    assert r.status_code == 201, r.json
    reason = "out of range: a number within 10^±1000 is expected"
    assert [(e["row"], e["field"], e["message"]) for e in r.json["errors"]] == [
        (2, "items.0.value", f"payload.items.0.value: {reason}"),
        (4, "items.0.value", f"payload.items.0.value: {reason}"),
    ]
    assert r.json["accepted"] == 2


def test_a_csv_row_longer_than_its_header_is_refused_not_cut(client, identity, session):
    """An address typed with an unquoted comma is one cell more than the header has: the
    text after the comma was dropped and the row stored, 201.  It is a row error naming
    the cell, in zh-CN too; errors.xlsx keeps the stray cell, so the user sees it and the
    fixed workbook stores the whole address."""
    admin = identity("admin")
    good, long = factories.uscc(), factories.uscc()
    text = (
        ",".join(ENTERPRISE_HEADER[:5]) + "\n"
        f"{good},重庆好有限公司,food,华岩镇,华岩路1号\n"
        f"{long},重庆渝味火锅有限公司,food,华岩镇,重庆市九龙坡区,杨家坪步行街1号\n"
    ).encode()
    before = count(session, Enterprise)
    refused = upload(client, "/api/v1/enterprises/import", admin, text, "e.csv")
    assert refused.status_code == 422 and count(session, Enterprise) == before, refused.json
    assert [(e["row"], e["column"], e["value"], e["message"], e["message_zh"])
            for e in refused.json["errors"]] == [
        (3, "F", "杨家坪步行街1号", "more cells than the header has columns (from F3 on)",
         "单元格数多于表头的列数（从 F3 起）"),
    ]  # fmt: skip
    path = "/api/v1/enterprises/import?mode=partial"
    partial = upload(client, path, admin, text, "e.csv", key="long-row")
    assert (partial.json["accepted"], partial.json["rejected"]) == (1, 1), partial.json
    sheet = client.get(f"/api/v1/imports/{partial.json['import_id']}/errors.xlsx", headers=admin)
    wb = load_workbook(io.BytesIO(sheet.data))
    header, row = list(wb.worksheets[0].values)
    assert header == (*ENTERPRISE_HEADER[:5], None, REASON_HEADER)
    assert row[4:6] == ("重庆市九龙坡区", "杨家坪步行街1号") and "F3" in row[6]
    wb.worksheets[0]["E2"], wb.worksheets[0]["F2"] = "重庆市九龙坡区杨家坪步行街1号", None
    buffer = io.BytesIO()
    wb.save(buffer)
    fixed = upload(client, "/api/v1/enterprises/import", admin, buffer.getvalue(), "fixed.xlsx")
    assert fixed.status_code == 201 and fixed.json["accepted"] == 1, fixed.json
    stored = client.get(f"/api/v1/enterprises/{long}", headers=admin).json
    assert stored["address"] == "重庆市九龙坡区杨家坪步行街1号"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_results_csv_row_longer_than_its_header_is_a_row_error(
    app, client, identity, district, session, workers
):
    """The same for results, whose CSV lines are parsed in worker processes."""
    app.config.update(IMPORT_WORKERS=workers, IMPORT_PARALLEL_MIN_ROWS=1)
    regulator, plan_id, tasks = _drawn(client, identity, district)
    rows = _food_rows(tasks, 2)
    rows[2] = [*rows[2], "kg"]
    r = upload(
        client, "/api/v1/results/import?mode=partial", regulator, csv_bytes(rows), "r.csv",
        sector="food",
    )  # fmt: skip
    assert r.status_code == 201 and r.json["accepted"] == 1, r.json
    assert [(e["row"], e["column"], e["message"]) for e in r.json["errors"]] == [
        (3, "K", "more cells than the header has columns (from K3 on)")
    ]


@pytest.mark.parametrize(
    ("path", "header", "row", "cell"),
    [
        (
            "/api/v1/enterprises/import",
            [*ENTERPRISE_HEADER[:4], None, "地址"],
            [None, "重庆渝味火锅有限公司", "food", "华岩镇", "重庆市九龙坡区", "杨家坪步行街1号"],
            "E2",
        ),
        (
            "/api/v1/inspectors/import",
            ["执法证号", "姓名", None, "所属单位", "所属街镇", "执法资格", "在岗"],
            ["CQ-0901", "李娜", "组长", "九龙坡区市场监管局华岩所", "华岩镇", "食品", "是"],
            "C2",
        ),
    ],
)
def test_an_xlsx_value_under_a_blank_header_is_a_row_error(
    client, identity, session, path, header, row, cell
):
    """A value in a column whose header cell is blank was dropped, the row stored: it is
    a row error naming the cell, and all_or_nothing stores nothing."""
    admin = identity("admin")
    row = [factories.uscc() if v is None else v for v in row]
    wb = Workbook()
    wb.active.append(header)
    wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    r = upload(client, path, admin, buffer.getvalue(), "blank-header.xlsx")
    assert r.status_code == 422 and r.json["accepted"] == 0, r.json
    assert [(e["row"], e["column"], e["message"], e["message_zh"]) for e in r.json["errors"]] == [
        (2, cell[0], f"{cell} holds a value but its column has no header",
         f"{cell} 有值，但所在列没有表头"),
    ]  # fmt: skip


def test_results_xlsx_cells_that_read_as_blank_are_row_errors(client, identity, district, session):
    """A formula saved without its computed value (by openpyxl, many generators) and the
    lower cell of a merged range read as blank: the rows were stored without the value
    the sheet shows (an optional column, so nothing said so).  Each is a row error naming
    the cell or the range; the merged range's first row reads its value and is stored."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    rows = [[*row, "B-1"] for row in _food_rows(tasks, 3)]
    rows[0][10] = "批号"
    rows[1][10] = '="B-"&"2"'  # K2
    rows[3][10] = None  # K4, under K3:K4
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.active.merge_cells("K3:K4")
    buffer = io.BytesIO()
    wb.save(buffer)
    r = upload(
        client, "/api/v1/results/import?mode=partial", regulator, buffer.getvalue(), "r.xlsx",
        sector="food",
    )  # fmt: skip
    assert r.status_code == 201 and r.json["accepted"] == 1, r.json
    assert [(e["row"], e["column"], e["message"], e["message_zh"]) for e in r.json["errors"]] == [
        (2, "批号",
         "K2 is a formula without a computed value: open and save the file in Excel, "
         "or paste values",
         "K2 是没有计算结果的公式：请用 Excel 打开并保存该文件，或粘贴为数值"),
        (4, "批号", "K3:K4 is merged: unmerge and fill each cell",
         "K3:K4 是合并单元格：请取消合并并逐格填写"),
    ]  # fmt: skip


def test_results_xlsx_numbers_read_as_excel_shows_them(client, identity, district, session):
    """What an inspector's Excel shows is what is judged and stored.  A value computed by
    a formula (=1.1*0.2-0.02, shown 0.2, saved 0.20000000000000004) at the rice cadmium
    limit of 0.2 was judged over it and its "no problem" row refused.  A value typed as
    0.15% is saved as 0.0015: stored as such it was a hundred times too small, so the row
    is refused naming the cell.  A TRUE in the task column was read as task 1."""
    regulator, plan_id, tasks = _drawn(client, identity, district)
    rows = _food_rows(tasks, 3)
    rows[1][8] = "=1.1*0.2-0.02"
    rows[2][8] = 0.0015  # typed 0.15% in a percentage cell
    rows[3][0] = True
    # the formula's result, as Excel saves it
    content = factories.xlsx_with_sheet(
        rows, lambda xml: xml.replace("<v />", "<v>0.20000000000000004</v>", 1), {"I3": "0.00%"}
    )
    r = upload(
        client, "/api/v1/results/import?mode=partial", regulator, content, "r.xlsx",
        sector="food",
    )  # fmt: skip
    assert r.status_code == 201, r.json
    assert [(e["row"], e["column"], e["value"], e["message_zh"]) for e in r.json["errors"]] == [
        (3, "items.0.value", "0.0015",
         "I3 为百分比格式，Excel 会将其除以 100 保存（98.6% 存为 0.986）：请去掉 %，"
         "在数值格式的单元格中填写数字"),
        (4, "任务编号", True, "不是有效的任务编号"),
    ]  # fmt: skip
    stored = session.scalars(select(Result).where(Result.plan_id == plan_id)).all()
    assert [(r.passed, r.payload["items"][0]["value"]) for r in stored] == [(True, "0.2")]
    # errors.xlsx shows the number the percentage cell holds, for the user to retype
    errors = client.get(f"/api/v1/imports/{r.json['import_id']}/errors.xlsx", headers=regulator)
    sheet = load_workbook(io.BytesIO(errors.data)).active
    assert [row[8] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["0.0015", "0.1"]


@pytest.mark.parametrize("mode", ["partial", "all_or_nothing"])
def test_the_templates_example_row_left_in_is_not_stored(
    client, identity, district, session, mode, monkeypatch
):
    """The template's example row (task 1, 大米, Cd 0.1) left in a filled template was
    stored as a real result whenever task 1 was the uploader's.  Untouched, it is a row
    error asking for it to be deleted (zh-CN too); with one cell changed it is the
    uploader's own row."""
    from inspect_core.imports import service
    from inspect_core.results.columns import RESULT_COLUMNS
    from tests.api.test_spot_checks import _made_on

    regulator, plan_id, tasks = _drawn(client, identity, district)
    _made_on(session, plan_id, dt.datetime(2026, 11, 1, tzinfo=dt.UTC))  # before the example
    first = min(tasks, key=lambda t: t["id"])  # task 1 in a new database: the example's
    example_task = dataclasses.replace(RESULT_COLUMNS[0], example=first["id"])
    # the template (sectors_api.columns_of) reads the upload's columns
    monkeypatch.setattr(service, "RESULT_COLUMNS", (example_task, *RESULT_COLUMNS[1:]))
    me = identity("inspector", badge=first["inspectors"][0])
    mine = [t for t in tasks if first["inspectors"][0] in t["inspectors"] and t != first]
    template = client.get("/api/v1/sectors/food/template.xlsx", headers=me)
    wb = load_workbook(io.BytesIO(template.data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    example = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    assert example["任务编号"] == first["id"]
    day = today_in_china().isoformat()
    ws.append([{**example, "任务编号": mine[0]["id"], "检查日期": day}.get(h) for h in header])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = upload(client, "/api/v1/results/import", me, buffer.getvalue(), "结果.xlsx",
                      sector="food", mode=mode)  # fmt: skip
    (error,) = response.json["errors"]
    assert (error["row"], error["column"], error["value"]) == (2, "任务编号", first["id"]), error
    assert error["message"] == "the template's example row: delete it before uploading"
    assert error["message_zh"] == "模板中的示例行：请删除后再上传"
    stored = session.scalars(select(Result.task_id).where(Result.plan_id == plan_id)).all()
    if mode == "partial":
        assert response.status_code == 201 and stored == [mine[0]["id"]], response.json
    else:
        assert response.status_code == 422 and stored == [], response.json

    # the date (the example's is before this plan) and the sample: the uploader's own row
    ws.cell(row=2, column=header.index("检查日期") + 1, value=day)
    ws.cell(row=2, column=header.index("样品编号") + 1, value="S-OWN-1")
    buffer = io.BytesIO()
    wb.save(buffer)
    response = upload(client, "/api/v1/results/import?mode=partial", me, buffer.getvalue(),
                      "结果2.xlsx", sector="food")  # fmt: skip
    assert response.status_code == 201 and response.json["errors"] == [], response.json
    session.rollback()
    stored = session.scalars(select(Result.task_id).where(Result.plan_id == plan_id)).all()
    assert first["id"] in stored


@pytest.mark.parametrize("key", ["k" * 256, "k\tv"], ids=["256", "tab"])
def test_a_malformed_idempotency_key_is_a_400_in_both_languages(client, identity, session, key):
    """A key past 255 characters or holding a control character: a 400 naming the header,
    nothing stored.  Its zh-CN message was the generic one for any 400."""
    admin = identity("admin")
    content = csv_bytes(
        [ENTERPRISE_HEADER, [factories.uscc(), "重庆键名有限公司", "food", "华岩镇"]]
    )
    before = count(session, Enterprise)
    r = upload(client, "/api/v1/enterprises/import", admin, content, "k.csv", key=key)
    assert r.status_code == 400, r.json
    assert list(r.json["errors"]) == ["Idempotency-Key"]
    assert r.json["message_zh"] == "幂等键无效：须为 1 至 255 个可打印字符"
    assert count(session, Enterprise) == before
