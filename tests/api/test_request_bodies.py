"""A body the API would not read is refused, never taken as "no body" (no silent loss),
and the OpenAPI document describes the bodies and answers as they are."""

from __future__ import annotations

import io
import re

from tests import factories


def _enterprise(client, admin) -> dict:
    body = factories.enterprise(name="重庆原名有限公司")
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    return body


def test_a_patch_sent_as_a_form_is_a_415_and_changes_nothing(client, identity):
    admin = identity("admin")
    body = _enterprise(client, admin)
    response = client.patch(
        f"/api/v1/enterprises/{body['uscc']}",
        data="name=重庆新名有限公司",
        content_type="application/x-www-form-urlencoded",
        headers=admin,
    )
    assert response.status_code == 415
    assert "Content-Type" in response.json["errors"]
    assert "application/json" in response.json["errors"]["Content-Type"][0]
    assert response.json["message_zh"]
    now = client.get(f"/api/v1/enterprises/{body['uscc']}", headers=admin).json
    assert now["name"] == "重庆原名有限公司"


def test_json_sent_as_text_is_a_415_not_missing_fields(client, identity):
    admin = identity("admin")
    body = _enterprise(client, admin)
    response = client.post(
        f"/api/v1/enterprises/{body['uscc']}/credit-events",
        data='{"type": "recall", "occurred_on": "2026-01-05", "severity": "major", '
        '"source": "渝市监〔2026〕1号"}',
        content_type="text/plain",
        headers=admin,
    )
    assert response.status_code == 415, response.json
    assert set(response.json["errors"]) == {"Content-Type"}


def test_malformed_json_says_where(client, identity):
    admin = identity("admin")
    body = _enterprise(client, admin)
    url = f"/api/v1/enterprises/{body['uscc']}"
    broken = client.patch(
        url, data='{"name": "重庆", "region": }', content_type="application/json", headers=admin
    )
    assert broken.status_code == 400
    assert broken.json["errors"]["body"] == ["not valid JSON: Expecting value at line 1 column 26"]
    assert broken.json["message"].startswith("malformed JSON body")
    assert broken.json["message_zh"]
    not_utf8 = client.patch(
        url, data=b'{"name": "\xd6\xd8"}', content_type="application/json", headers=admin
    )
    assert not_utf8.status_code == 400
    assert "decoding" in not_utf8.json["errors"]["body"][0]  # GBK bytes: not UTF-8


def test_a_patch_without_a_body_is_a_422_and_an_empty_object_a_no_op(client, identity):
    admin = identity("admin")
    body = _enterprise(client, admin)
    url = f"/api/v1/enterprises/{body['uscc']}"
    response = client.patch(url, headers=admin)
    assert response.status_code == 422
    assert "body" in response.json["errors"]
    assert client.patch(url, json={}, headers=admin).status_code == 200


def test_json_with_a_charset_or_a_json_suffix_is_still_json(client, identity):
    admin = identity("admin")
    body = _enterprise(client, admin)
    url = f"/api/v1/enterprises/{body['uscc']}"
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.patch(
            url, data='{"name": "重庆改名有限公司"}', content_type=content_type, headers=admin
        )
        assert response.status_code == 200, (content_type, response.json)
        assert response.json["name"] == "重庆改名有限公司"


def test_an_upload_needs_a_multipart_body_with_a_file_part(client, identity):
    admin = identity("admin")
    url = "/api/v1/enterprises/import"
    as_form = client.post(
        url, data="mode=partial", content_type="application/x-www-form-urlencoded", headers=admin
    )
    assert as_form.status_code == 415
    assert "multipart/form-data" in as_form.json["errors"]["Content-Type"][0]
    as_text = client.post(
        url,
        data={"file": "统一社会信用代码,企业名称"},
        content_type="multipart/form-data",
        headers=admin,
    )
    assert as_text.status_code == 422
    assert "file" in as_text.json["errors"]
    unknown = client.post(
        url,
        data={"file": (io.BytesIO(b"a,b\n"), "e.csv"), "owner": "x"},
        content_type="multipart/form-data",
        headers=admin,
    )
    assert unknown.status_code == 422
    assert "owner" in unknown.json["errors"]


def test_a_filter_naming_no_row_is_refused_not_ignored(client, identity):
    """``?plan=0`` used to be dropped, answering with every plan's results."""
    admin = identity("admin")
    for url in ("/api/v1/results", "/api/v1/public/results"):
        response = client.get(url, query_string={"plan": 0}, headers=admin)
        assert response.status_code == 422, url
        assert "plan" in response.json["errors"]


def test_the_document_says_which_routes_need_no_token(app, client):
    from inspect_core.auth.access import PUBLIC, view_access

    document = client.get("/api/openapi.json").json
    assert document["security"] == [{"bearerAuth": []}]
    public, private = set(), set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            marked = view_access(app, rule.endpoint, method) == (PUBLIC,)
            (public if marked else private).add((method, path))
            assert (operation.get("security") == []) is marked, (method, path)
    assert ("GET", "/api/v1/public/results") in public
    assert ("POST", "/api/v1/auth/token") in public
    assert ("GET", "/api/v1/rankings/export") in private


def test_the_document_describes_uploads_exports_and_errors(client):
    document = client.get("/api/openapi.json").json
    paths = document["paths"]
    for path in ("/api/v1/results/import", "/api/v1/enterprises/import"):
        body = paths[path]["post"]["requestBody"]["content"]
        assert list(body) == ["multipart/form-data"], path
        ref = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
        form = document["components"]["schemas"][ref]
        assert form["properties"]["file"] == {
            **form["properties"]["file"],
            "type": "string",
            "format": "binary",
        }
        assert "file" in form["required"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for path in ("/api/v1/rankings/export", "/api/v1/results/export"):
        assert set(paths[path]["get"]["responses"]["200"]["content"]) == {"text/csv", xlsx}
    error = document["components"]["schemas"]["Error"]["properties"]
    assert {"code", "status", "message", "message_zh", "errors"} <= set(error)
    ratio = document["components"]["schemas"]["Ratios"]["properties"]["A"]
    assert (ratio["minimum"], ratio["maximum"]) == (0, 1)
