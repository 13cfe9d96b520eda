"""A body the API would not read is refused, never taken as "no body" (no silent loss),
and the OpenAPI document describes the bodies and answers as they are."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest

from inspect_core.results.service import today_in_china
from tests import factories
from tests.conftest import identities


def _multipart(client, url: str, headers: dict, data: dict):
    return client.post(url, data=data, content_type="multipart/form-data", headers=headers)


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
    as_text = _multipart(client, url, admin, {"file": "统一社会信用代码,企业名称"})
    assert as_text.status_code == 422
    assert "file" in as_text.json["errors"]
    unknown = _multipart(
        client, url, admin, {"file": (io.BytesIO(b"a,b\n"), "e.csv"), "owner": "x"}
    )
    assert unknown.status_code == 422
    assert "owner" in unknown.json["errors"]


def test_an_upload_mode_given_twice_differently_is_refused(client, identity):
    """The form field used to win silently over ``?mode=``."""
    admin = identity("admin")
    rows = "统一社会信用代码,企业名称\n".encode()
    response = _multipart(
        client,
        "/api/v1/enterprises/import?mode=all_or_nothing",
        admin,
        {"file": (io.BytesIO(rows), "e.csv"), "mode": "partial"},
    )
    assert response.status_code == 422
    assert "mode" in response.json["errors"]


def test_a_filter_naming_no_row_is_refused_not_ignored(client, identity):
    """``?plan=0`` used to be dropped, answering with every plan's results."""
    admin = identity("admin")
    for url in ("/api/v1/results", "/api/v1/public/results"):
        response = client.get(url, query_string={"plan": 0}, headers=admin)
        assert response.status_code == 422, url
        assert "plan" in response.json["errors"]


def test_the_document_says_which_routes_need_no_token(app, client):
    from inspect_core.auth.access import NO_TOKEN, PUBLIC, TOKEN_OPTIONAL, view_access

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
            assert (operation.get("security") in (NO_TOKEN, TOKEN_OPTIONAL)) is marked, (
                method,
                path,
            )
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
    enterprise = document["components"]["schemas"]["EnterpriseCreate"]["properties"]
    assert enterprise["name"]["minLength"] == 1  # blank is refused
    assert enterprise["uscc"]["minLength"] == 18
    ratio = document["components"]["schemas"]["Ratios"]["properties"]["A"]
    assert (ratio["minimum"], ratio["maximum"]) == (0, 1)


@pytest.mark.parametrize(
    ("path", "required"),
    [
        ("/api/v1/tasks/{task_id}/results", True),
        ("/api/v1/results/{result_id}/corrections", False),
        ("/api/v1/results/import", False),
        ("/api/v1/enterprises/import", False),
        ("/api/v1/inspectors/import", False),
    ],
)
def test_every_route_honouring_an_idempotency_key_documents_it(client, path, required):
    """A correction honours ``Idempotency-Key`` but its operation did not list the
    header: a client generated from the document did not offer it, and a retried
    correction after a lost answer was a 409 (the version already superseded)."""
    operation = client.get("/api/openapi.json").json["paths"][path]["post"]
    (header,) = [p for p in operation.get("parameters", []) if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is required
    assert header["schema"] == {"type": "string", "maxLength": 255}


def test_a_draw_documents_its_token_as_optional_since_a_token_shows_more(
    client, identity, district
):
    """``/draws/{id}`` is public once the plan is published, but a regulator's token reads
    a draft plan's draw (and who drew it): ``security: []`` would have a generated client
    drop the token, and get a 404."""
    regulator = identity("regulator")
    plan_id = factories.create_plan(client, regulator)
    drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=regulator)
    assert drawn.status_code == 201, drawn.json
    url = f"/api/v1/draws/{drawn.json['id']}"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=regulator).json["drawn_by"]
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/v1/draws/{draw_id}", "/api/v1/draws/{draw_id}/verify"):
        assert paths[path]["get"]["security"] == [{}, {"bearerAuth": []}], path
    assert paths["/api/v1/public/results"]["get"]["security"] == []


def _limited(app_factory, identity):
    """A JSON limit of 64 bytes; an enterprise, and a change to it longer than that."""
    admin = identity("admin")
    body = _enterprise(app_factory().test_client(), admin)
    change = json.dumps({"name": "重庆新名有限公司", "address": "重庆市九龙坡区杨家坪步行街2号"})
    assert len(change.encode()) > 64
    small = app_factory(MAX_JSON_BYTES=64).test_client()
    return small, admin, f"/api/v1/enterprises/{body['uscc']}", change


def test_a_json_body_is_held_to_the_json_limit_whatever_its_json_type(app_factory, identity):
    """``MAX_JSON_BYTES`` (OWASP API4) held only ``application/json``: a body the parser
    reads as JSON all the same (``application/merge-patch+json``) got the upload limit."""
    small, admin, url, change = _limited(app_factory, identity)
    typed = small.patch(
        url, data=change, content_type="application/merge-patch+json", headers=admin
    )
    assert typed.status_code == 413, typed.json
    assert "body" in typed.json["errors"]
    assert small.get(url, headers=admin).json["name"] == "重庆原名有限公司"


def test_a_chunked_json_body_is_held_to_the_json_limit(app_factory, identity):
    """A chunked body has no Content-Length to check up front: it was read up to the upload
    limit and applied.  It is measured as read, to one byte past the limit."""
    small, admin, url, change = _limited(app_factory, identity)

    def send(data: str):
        return small.patch(
            url,
            input_stream=io.BytesIO(data.encode()),
            content_type="application/json",
            headers={**admin, "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},  # as gunicorn and werkzeug say
        )

    chunked = send(change)
    assert chunked.status_code == 413, chunked.json
    assert "body" in chunked.json["errors"] and "64 bytes" in chunked.json["message"]
    assert small.get(url, headers=admin).json["name"] == "重庆原名有限公司"
    at_the_limit = json.dumps({"name": "重庆新名有限公司"}).ljust(64)
    assert len(at_the_limit.encode()) == 64
    assert send(at_the_limit).status_code == 200
    assert small.get(url, headers=admin).json["name"] == "重庆新名有限公司"


def test_a_nul_byte_anywhere_in_the_input_is_a_4xx_naming_where(client, identity, district):
    """PostgreSQL's text holds no NUL: a NUL in a string filter, a path id or a login was
    a driver error (a 500) there, on the public results too.  Nothing typed holds one."""
    admin = district["admin"]
    for url, query in (
        ("/api/v1/enterprises", {"q": "重庆\x00"}),
        ("/api/v1/enterprises", {"order": "risk", "region": "\x00"}),
        ("/api/v1/results", {"sector": "fo\x00od"}),
        ("/api/v1/public/results", {"sector": "\x00"}),
        ("/api/v1/tasks", {"badge": "\x00"}),
        ("/api/v1/rankings/export", {"sector": "\x00"}),
    ):
        response = client.get(url, query_string=query, headers=admin)
        assert response.status_code == 422, (url, query, response.status_code)
        (name,) = [k for k in query if "\x00" in query[k]]
        assert response.json["errors"] == {name: ["must not contain a NUL byte (0x00)"]}
    hidden_key = client.get("/api/v1/enterprises", query_string={"a\x00b": "1"}, headers=admin)
    assert hidden_key.json["errors"] == {"a\\x00b": ["must not contain a NUL byte (0x00)"]}
    for path in ("/api/v1/enterprises/9111%00", "/api/v1/inspectors/AB%00"):
        assert client.get(path, headers=admin).status_code == 404
    login = client.post("/api/v1/auth/token", json={"username": "ad\x00min", "password": "x"})
    assert login.status_code == 422
    assert login.json["errors"] == {"username": ["must not contain a NUL byte (0x00)"]}
    uscc = district["enterprises"][0]
    nested = client.post(
        f"/api/v1/enterprises/{uscc}/credit-events",
        json={"type": "recall", "occurred_on": "2026-01-05", "severity": "major",
              "source": "渝市监", "extra": [{"k": "v\x00"}]},
        headers=admin,
    )  # fmt: skip
    assert nested.status_code == 422
    assert nested.json["errors"] == {"extra": {"0": {"k": ["must not contain a NUL byte (0x00)"]}}}
    form = _multipart(
        client,
        "/api/v1/enterprises/import",
        admin,
        {"file": (io.BytesIO(b"a\n"), "e.csv"), "mode": "partial\x00"},
    )
    assert form.status_code == 422
    assert form.json["errors"] == {"mode": ["must not contain a NUL byte (0x00)"]}


def test_a_query_parameter_given_twice_is_a_422_naming_it(client, identity, district):
    """webargs read the first of a repeated parameter and dropped the rest: ``tier=A&
    tier=D`` listed tier A alone, ``format=csv&format=xlsx`` sent CSV, ``year=2026&
    year=1999`` answered for 2026."""
    admin = district["admin"]
    for url, name in (
        ("/api/v1/enterprises?order=risk&tier=A&tier=D", "tier"),
        ("/api/v1/rankings/export?format=csv&format=xlsx", "format"),
        ("/api/v1/kpis?year=2026&year=1999", "year"),
        ("/api/v1/kpis?year=2026&year=2026", "year"),
        ("/api/v1/results?sector=food&sector=drugs", "sector"),
    ):
        response = client.get(url, headers=admin)
        assert response.status_code == 422, (url, response.status_code)
        assert response.json["errors"] == {
            name: ["given more than once; this parameter takes one value"]
        }, url


def test_a_query_parameter_the_operation_does_not_know_is_a_422_naming_it(
    client, identity, district
):
    """A typo such as ``teir=D`` was dropped: the list, and the export, of the whole
    district went out where tier D was asked for.  The error lists what the operation
    takes, and names at most 20 unknown parameters."""
    admin = district["admin"]
    for url, name in (
        ("/api/v1/enterprises?order=risk&teir=D", "teir"),
        ("/api/v1/rankings/export?format=csv&teir=D", "teir"),
        ("/api/v1/kpis?year=2026&x=1&x=2", "x"),
        ("/api/v1/public/results?_=1700000000", "_"),
        ("/api/v1/rankings/export?format=csv&limit=5", "limit"),  # the export takes no page
    ):
        response = client.get(url, headers=admin)
        assert response.status_code == 422, (url, response.status_code)
        assert list(response.json["errors"]) == [name], url
        assert response.json["errors"][name][0].startswith(
            "unknown parameter; this operation takes: "
        ), url
    listed = client.get("/api/v1/enterprises?teir=D", headers=admin).json["errors"]["teir"][0]
    assert {"tier", "sector", "region", "cursor", "limit"} <= set(
        listed.split(": ", 1)[1].split(", ")
    )
    # a long query string is not echoed whole
    many = "&".join(f"p{i}=1" for i in range(100))
    response = client.get(f"/api/v1/kpis?year=2026&{many}", headers=admin)
    assert response.status_code == 422 and len(response.json["errors"]) == 20
    assert client.get("/api/v1/kpis?year=2026", headers=admin).status_code == 200


def test_an_operation_without_query_parameters_refuses_any(client, identity, district):
    """An operation with no query schema dropped its query string whatever it held:
    ``/enterprises/{uscc}/credit?run=5`` answered the latest rating as if it were run 5's,
    ``/sectors/food?version=0.9`` the current rulebook.  Only after the token: without
    one it is still a 401."""
    admin = district["admin"]
    uscc = district["enterprises"][0]
    for url, name in (
        (f"/api/v1/enterprises/{uscc}/credit?run=5", "run"),
        ("/api/v1/sectors/food?version=0.9", "version"),
        ("/api/v1/auth/me?verbose=1", "verbose"),  # any token, whatever the role
    ):
        response = client.get(url, headers=admin)
        assert response.status_code == 422, (url, response.status_code)
        assert response.json["errors"] == {
            name: ["unknown parameter; this operation takes: none"]
        }, url
        assert response.json["errors_zh"][name] == ["未知参数；此操作接受：none"]
        assert client.get(url.split("?")[0], headers=admin).status_code in (200, 404), url
        assert client.get(url).status_code == 401, url
    assert client.get("/api/v1/sectors/food?x=a%00b", headers=admin).json["errors"] == {
        "x": ["must not contain a NUL byte (0x00)"]
    }


def test_an_upload_takes_the_query_parameters_it_documents(client, identity):
    """The uploads read ``mode`` from the query string by hand (documented): it is
    taken, once; anything else is refused, naming what is taken."""
    admin = identity("admin")
    header = "统一社会信用代码,企业名称,监管行业,所属街镇\n"

    def post(query: str, uscc: str):
        data = f"{header}{uscc},重庆查询参数有限公司,food,华岩镇\n".encode()
        return client.post(
            f"/api/v1/enterprises/import{query}",
            data={"file": (io.BytesIO(data), "e.csv")},
            headers=admin,
            content_type="multipart/form-data",
        )

    taken = post("?mode=partial", factories.uscc())
    assert taken.status_code == 201 and taken.json["mode"] == "partial", taken.json
    wrong = post("?mood=partial", factories.uscc())
    assert wrong.status_code == 422
    assert wrong.json["errors"] == {"mood": ["unknown parameter; this operation takes: mode"]}
    twice = post("?mode=partial&mode=partial", factories.uscc())
    assert twice.json["errors"] == {
        "mode": ["given more than once; this parameter takes one value"]
    }


def test_an_operation_takes_the_query_parameters_documented_above_its_access_rule(
    app_factory,
):
    """The check read the documentation of ``require``'s own wrapper, which holds only the
    decorators beneath it: a query schema or ``@blp.doc`` placed above ``require`` was not
    seen, and the parameter the document names was refused ("takes: none")."""
    from marshmallow import Schema, fields

    from inspect_core.auth.access import require
    from inspect_core.blueprint import Blueprint
    from tests.conftest import identities

    class YearArgs(Schema):
        year = fields.Integer()

    app = app_factory()
    blp = Blueprint("order_probe", __name__, url_prefix="/api/v1/order-probe")
    year_doc = {"in": "query", "name": "year", "required": False, "schema": {"type": "integer"}}

    @blp.route("/schema")
    @blp.arguments(YearArgs, location="query")
    @require("kpis:read")
    def schema_above(args):
        return {"year": args.get("year")}

    @blp.route("/doc")
    @blp.doc(parameters=[year_doc])
    @require("kpis:read")
    def doc_above():
        return {}

    app.extensions["inspect_api"].register_blueprint(blp)
    client = app.test_client()
    admin = identities(app, client)("admin")
    for path in ("schema", "doc"):
        url = f"/api/v1/order-probe/{path}"
        documented = client.get("/api/openapi.json").json["paths"][url]["get"]["parameters"]
        assert [p["name"] for p in documented if p["in"] == "query"] == ["year"]
        response = client.get(f"{url}?year=2026", headers=admin)
        assert response.status_code == 200, (url, response.json)
        assert client.head(f"{url}?year=2026", headers=admin).status_code == 200, url
    refused = client.get("/api/v1/order-probe/doc?yaer=2026", headers=admin)
    assert refused.json["errors"] == {"yaer": ["unknown parameter; this operation takes: year"]}
    assert client.get("/api/v1/order-probe/doc?yaer=2026").status_code == 401


@pytest.mark.parametrize(
    "url", ["/api/v1/results", "/api/v1/public/results", "/api/v1/plans", "/api/v1/enterprises"]
)
def test_every_sector_filter_refuses_an_unknown_code(client, identity, url):
    """``?sector=fod`` (a typo) on the results, the public results and the plans answered
    an empty list, as if there were none, while the enterprise list and the exports
    refused it (the README says every sector filter does)."""
    admin = identity("admin")
    for given, reason in (("fod", "unknown sector code: fod"),
                          ("y" * 5000, "unknown sector code: " + "y" * 40 + "…")):  # fmt: skip
        response = client.get(url, query_string={"sector": given}, headers=admin)
        assert response.status_code == 422, (url, given[:9], response.status_code)
        assert response.json["errors"]["sector"][-1].startswith(reason), response.json
        assert len(response.get_data()) < 1000  # a long code is not echoed whole
    for given in ("food", ""):  # empty: no filter, as a form sends an unset one
        response = client.get(url, query_string={"sector": given}, headers=admin)
        assert response.status_code == 200, response.json


def test_a_query_string_that_is_not_utf8_is_a_400_naming_it(client, identity):
    """Raw bytes in the query string (``?\\xff=1``, not percent-encoded): werkzeug
    decodes it strictly, and the parser's look at it raised, a 500; so did an upload's
    ``mode`` read from the query."""
    admin = identity("admin")
    raw = "\xff\xfe=1"  # WSGI: the bytes as latin-1
    for url, headers in (("/api/v1/enterprises", admin), ("/api/v1/public/results", {}),
                         ("/api/v1/kpis", admin)):  # fmt: skip
        response = client.get(url, headers=headers, environ_overrides={"QUERY_STRING": raw})
        assert response.status_code == 400, (url, response.status_code)
        assert list(response.json["errors"]) == ["query"], url
        assert response.json["message_zh"]
    rows = "统一社会信用代码,企业名称\n".encode()
    upload = client.post(
        "/api/v1/enterprises/import",
        data={"file": (io.BytesIO(rows), "e.csv")},
        content_type="multipart/form-data",
        headers=admin,
        environ_overrides={"QUERY_STRING": "mode=\xff"},
    )
    assert upload.status_code == 400 and list(upload.json["errors"]) == ["query"]


def test_a_nul_byte_is_checked_after_the_token(client):
    """No token, no detail: the 401 comes first."""
    response = client.get("/api/v1/enterprises", query_string={"q": "\x00"})
    assert response.status_code == 401


def test_json_nested_past_the_limit_is_a_400_not_a_recursion_error(client, identity):
    """Past ~990 levels Python's decoder raised RecursionError (a 500)."""
    from inspect_core.blueprint import MAX_JSON_DEPTH

    admin = identity("admin")
    body = _enterprise(client, admin)
    url = f"/api/v1/enterprises/{body['uscc']}"

    def nested(depth: int):
        data = '{"name": ' + "[" * depth + "]" * depth + "}"
        return client.patch(url, data=data, content_type="application/json", headers=admin)

    within = nested(MAX_JSON_DEPTH - 1)
    assert within.status_code == 422  # reaches the field: a list is not a name
    assert within.json["errors"] == {"name": ["Not a valid string."]}
    for depth in (MAX_JSON_DEPTH + 1, 5_000, 200_000):
        response = nested(depth)
        assert response.status_code == 400, depth
        assert response.json["errors"] == {"body": [f"nested deeper than {MAX_JSON_DEPTH} levels"]}


SURROGATE = "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)"


def test_a_lone_surrogate_in_json_is_a_422_naming_it(client, identity):
    """``"\\ud800"`` decodes to a lone surrogate, which no UTF-8 text holds: SQLite's driver
    and psycopg raised encoding it (a 500), on a login too.  A pair is one character."""
    admin = identity("admin")
    url = f"/api/v1/enterprises/{_enterprise(client, admin)['uscc']}"

    def patch(text: str):
        return client.patch(url, data=text, content_type="application/json", headers=admin)

    for text, errors in (
        ('{"name": "\\ud800"}', {"name": [SURROGATE]}),
        ('{"address": "重庆\\udfff"}', {"address": [SURROGATE]}),
        ('{"na\\ud800me": "x"}', {"na\\ud800me": [SURROGATE]}),
    ):
        response = patch(text)
        assert response.status_code == 422, (text, response.status_code)
        assert response.json["errors"] == errors, text
    login = client.post(
        "/api/v1/auth/token",
        data='{"username": "ad\\ud800min", "password": "x"}',
        content_type="application/json",
    )
    assert login.status_code == 422
    assert login.json["errors"] == {"username": [SURROGATE]}
    pair = patch('{"name": "重庆\\ud83d\\ude00有限公司"}')  # an escaped pair: one emoji
    assert pair.status_code == 200, pair.json
    assert pair.json["name"] == "重庆😀有限公司"


def test_a_json_integer_too_long_to_read_is_a_400_naming_the_body(client, identity):
    """Past 4,300 digits Python's decoder raised ValueError, not a JSONDecodeError: a 500."""
    admin = identity("admin")
    url = f"/api/v1/enterprises/{_enterprise(client, admin)['uscc']}"
    for text in ('{"name": 1' + "0" * 5000 + "}", '{"name": [' + "9" * 4301 + "]}"):
        response = client.patch(url, data=text, content_type="application/json", headers=admin)
        assert response.status_code == 400, response.status_code
        assert response.json["errors"] == {"body": ["a number longer than 4300 digits"]}
    fits = client.patch(url, json={"name": 10**4299}, headers=admin)
    assert fits.status_code == 422  # read, then refused by the field
    assert fits.json["errors"] == {"name": ["Not a valid string."]}


def test_a_nul_in_an_uploaded_files_name_or_type_is_a_422(client, identity, session):
    """The file name and the part's Content-Type are stored with the upload: a NUL in
    either reached PostgreSQL (a 500) where SQLite stored it."""
    from sqlalchemy import func, select

    from inspect_core.imports.models import Import

    admin = identity("admin")
    header = "统一社会信用代码,企业名称,监管行业,所属街镇\n"
    rows = f"{header}{factories.uscc()},重庆某某有限公司,food,华岩镇\n".encode()

    def post(disposition: bytes, content_type: bytes):
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; ' + disposition
            + b"\r\nContent-Type: " + content_type + b"\r\n\r\n" + rows + b"\r\n--XyZ--\r\n"
        )  # fmt: skip
        return client.post(
            "/api/v1/enterprises/import",
            data=body,
            content_type="multipart/form-data; boundary=XyZ",
            headers=admin,
        )

    for disposition, content_type in (
        (b'filename="e\x00.csv"', b"text/csv"),
        (b"filename*=UTF-8''e%00.csv", b"text/csv"),
        (b'filename="e.csv"', b"text/csv\x00"),
    ):
        response = post(disposition, content_type)
        assert response.status_code == 422, (disposition, content_type, response.status_code)
        assert response.json["errors"] == {
            "file": ["the file's name and Content-Type must not contain a NUL byte (0x00)"]
        }
    assert session.scalar(select(func.count()).select_from(Import)) == 0
    assert post(b'filename="e.csv"', b"text/csv").status_code == 201


def test_a_path_holding_a_nul_matches_no_route(client, district):
    """As any path no route matches: a 404, token or not (on PostgreSQL the lookup was a
    500).  Whether an inspector or enterprise exists is not told either way."""
    for path in ("/api/v1/inspectors/AB%00", "/api/v1/enterprises/9111%00/credit"):
        assert client.get(path).status_code == 404
        assert client.get(path, headers=district["admin"]).status_code == 404
    badge = district["inspectors"][0]
    assert (
        client.get(f"/api/v1/inspectors/{badge}%00", headers=district["admin"]).status_code == 404
    )
    assert client.get(f"/api/v1/inspectors/{badge}", headers=district["admin"]).status_code == 200


def test_a_post_only_route_answers_another_method_with_405_and_allow(app, client, district):
    """``GET /enterprises/import`` was read as the enterprise whose USCC is "import" (a
    404), where the other uploads answer 405 with ``Allow``.  A segment that is no USCC's
    length names no enterprise; USCCs as written (lower case, full-width) still do."""
    admin, uscc = district["admin"], district["enterprises"][0]
    static = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "<" not in rule.rule and "GET" not in rule.methods and "POST" in rule.methods
    ]
    assert {"/api/v1/enterprises/import", "/api/v1/results/import"} <= set(static)
    for path in static:
        if path == "/api/v1/inspectors/import":
            continue  # "import" is a well-formed badge: GET reads that inspector, if any
        response = client.get(path, headers=admin)
        assert response.status_code == 405, (path, response.status_code)
        assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert client.get("/api/v1/enterprises/import/credit", headers=admin).status_code == 404
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in uscc.lower())
    for form in (uscc, uscc.lower(), full_width, f"{uscc[:6]}-{uscc[6:]}"):
        found = client.get(f"/api/v1/enterprises/{form}", headers=admin)
        assert found.status_code == 200 and found.json["uscc"] == uscc, form
    missing = client.get(f"/api/v1/enterprises/{factories.uscc()}", headers=admin)
    assert missing.status_code == 404 and missing.json["message"].startswith("no enterprise")


def test_a_path_with_an_empty_segment_matches_no_route(client, district):
    """werkzeug merged repeated slashes and answered a 308 in HTML: an undocumented status
    and media type, and a redirect to another resource -- a USCC ending in ``/`` (sent as
    ``%2F``) led a credit event's POST to that of the USCC without it.  It is a 404, as
    any path no route matches, token or not."""
    admin, uscc = district["admin"], district["enterprises"][0]
    body = {
        "type": "complaint",
        "occurred_on": "2026-01-02",
        "severity": "minor",
        "source": "12315",
    }
    for method, path, kwargs in (
        ("get", "/api//v1/enterprises", {}),
        ("get", f"/api/v1/enterprises/{uscc}%2F/credit", {}),
        ("post", f"/api/v1/enterprises/{uscc}%2F/credit-events", {"json": body}),
    ):
        for headers in ({}, admin):
            response = getattr(client, method)(path, headers=headers, **kwargs)
            assert response.status_code == 404, (path, response.status_code)
            assert response.mimetype == "application/json"
    listed = client.get(f"/api/v1/enterprises/{uscc}/credit-events", headers=admin)
    assert listed.json["items"] == []


def _task_of(client, identity, sector: str):
    """A drawn task of ``sector`` and the headers of its first inspector."""
    admin = identity("admin")
    for region in factories.REGIONS * 2:
        body = factories.enterprise(region=region, sectors=[sector])
        assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
        body = factories.inspector(region=region, qualifications=[sector])
        assert client.post("/api/v1/inspectors", json=body, headers=admin).status_code == 201
    ratios = {"A": "1", "B": "1", "C": "1", "D": "1"}
    plan_id = factories.create_plan(client, admin, sector=sector, ratios=ratios)
    drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=admin)
    assert drawn.status_code == 201, drawn.json
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"][0]
    return task, identity("inspector", badge=task["inspectors"][0])


def test_a_payload_number_the_store_cannot_hold_is_a_422_naming_it(client, identity):
    """A count past 64 bits passed the construction schema (``Range(min=1)``) and failed
    as orjson encoded the result (a 500).  The deepest tree GB 50300 allows (unit →
    division → sub-division → sub-item → lot → items) is well inside the JSON depth."""
    from tests.plugins.test_construction import division, lot, subitem, unit

    task, me = _task_of(client, identity, "construction")
    url = f"/api/v1/tasks/{task['id']}/results"

    def post(tree, key: str):
        payload = {"project_name": "九龙坡区某住宅", "project_no": "P-1", "acceptance_tree": tree}
        body = {"sector": "construction", "payload": payload, "conclusion_code": "no_problem"}
        return client.post(url, json=body, headers={**me, "Idempotency-Key": key})

    huge = post(unit(division("d", subitem("s", lot(general=((10**30, 10**30),))))), "huge")
    assert huge.status_code == 422, huge.json
    tree_errors = huge.json["errors"]["payload.acceptance_tree"]
    general = tree_errors["children"]["0"]["children"]["0"]["children"]["0"]["general_items"]
    assert general == {
        "0": {
            name: ["out of range: an integer of at most 64 bits is expected"]
            for name in ("sampled", "compliant")
        }
    }
    subdivision = {
        "level": "subdivision",
        "name": "混凝土结构",
        "documents_complete": True,
        "safety_function_tests_passed": True,
        "appearance_accepted": True,
        "children": [subitem("钢筋", lot("1层钢筋", general=((2**63 - 1, 2**63 - 1),)))],
    }
    deepest = post(unit(division("主体结构", subdivision)), "deepest")
    assert deepest.status_code == 201, deepest.json
    assert deepest.json["passed"] is True


def test_a_payload_decimal_past_its_range_is_a_422_not_a_billion_digits(client, identity):
    """A "1E+1000000000" passed the food schema (non-negative) and the rules wrote it out
    digit by digit: one request took all the memory there was.  Within 10^±1000 a
    number is judged, unless the food rules find it more than the whole sample."""
    task, me = _task_of(client, identity, "food")
    url = f"/api/v1/tasks/{task['id']}/results"

    def post(value: str):
        body = {"sector": "food", "payload": factories.food_payload(value),
                "conclusion_code": "corrected"}  # fmt: skip
        return client.post(url, json=body, headers={**me, "Idempotency-Key": value[:40]})

    reason = "out of range: a number within 10^±1000 is expected"
    for value in ("1E+100000", "1e-1001", "0E-5000", "1" + "0" * 1001):
        response = post(value)
        assert response.status_code == 422, (value, response.status_code)
        assert response.json["errors"] == {"payload.items": {"0": {"value": [reason]}}}
    assert post("1E-1000").status_code == 201
    huge = post("1E+1000")  # in range, but more cadmium than rice: the food rules refuse it
    assert huge.status_code == 422, huge.json
    assert huge.json["errors"] == {
        "payload.items.0.value": ["1E+1000 mg/kg is more than the whole sample (1000000 mg/kg)"]
    }
    assert huge.json["errors_zh"] == {
        "payload.items.0.value": [
            "1E+1000 mg/kg 超过样品本身的质量（1000000 mg/kg），请核对数值与单位"
        ]
    }


def _absurd_payloads(dissolution_unit: str, strength: str):
    dissolution = {"kind": "dissolution", "q": "80", "units": [dissolution_unit, *["90"] * 5]}
    sample = {"stage": "circulation", "product_name": "某某片", "dosage_form": "tablet",
              "test_items": [dissolution]}  # fmt: skip
    batch = {"batch_no": "KJ-01", "grade": "C30", "values": [strength] * 10}
    return (
        ("drugs", {"inspection_type": "sampling", "sample": sample}),
        ("construction", {"project_name": "九龙坡区某住宅", "project_no": "P-1",
                          "concrete_batches": [batch]}),
    )  # fmt: skip


def test_an_absurd_drug_or_concrete_value_is_a_422_naming_it_and_nothing_is_stored(
    client, identity
):
    """A dissolution unit of 1e29 % of label claim was judged to conform, and a cube
    strength of 1e1000 N/mm² judged an accepted batch; now each is refused with the field
    and the ceiling in English and zh-CN (the plugins' ``label_claim_max_pct`` and
    ``concrete.plausible_max_strength``), and the task keeps no result."""
    expected = {
        "drugs": (
            "payload.sample.test_items.0.units.0",
            "1E+29% of label claim is above the plausible maximum (1000%); check the value",
            "1E+29%（按标示量计）超过合理上限（1000%），请核对数值",
        ),
        "construction": (
            "payload.concrete_batches.0.values.0",
            "1E+1000 N/mm² is above the plausible maximum (300 N/mm²); check the value",
            "1E+1000 N/mm² 超过合理上限（300 N/mm²），请核对数值",
        ),
    }
    for sector, payload in _absurd_payloads("1e29", "1e1000"):
        task, me = _task_of(client, identity, sector)
        body = {"sector": sector, "payload": payload, "conclusion_code": "no_problem"}
        url = f"/api/v1/tasks/{task['id']}/results"
        response = client.post(url, json=body, headers={**me, "Idempotency-Key": "k"})
        assert response.status_code == 422, (sector, response.json)
        field, en, zh = expected[sector]
        assert response.json["errors"] == {field: [en]}
        assert response.json["errors_zh"] == {field: [zh]}
        stored = client.get(f"/api/v1/results?sector={sector}", headers=identity("admin"))
        assert stored.status_code == 200 and stored.json["items"] == [], stored.json


def test_a_payload_decimal_in_range_is_judged_by_every_plugin_not_a_502(app_factory):
    """A district may raise the plausibility ceilings, and then any number within
    10^±1000 is judged: the drugs rules took a dissolution mean to 0.1 and the
    construction rules a concrete mean to 0.1 in a context of 28 and 50 digits, so a unit
    of "1e29" or a strength of "1e1000" raised InvalidOperation (a 502 blaming the
    plugin, nothing stored)."""
    app = app_factory(
        PLUGIN_CONFIG={
            "drugs": {"label_claim_max_pct": "1e30"},
            "construction": {"concrete": {"plausible_max_strength": "1e1001"}},
        }
    )
    client = app.test_client()
    identity = identities(app, client)
    for sector, payload in _absurd_payloads("1e29", "1e1000"):
        task, me = _task_of(client, identity, sector)
        body = {"sector": sector, "payload": payload, "conclusion_code": "no_problem"}
        response = client.post(
            f"/api/v1/tasks/{task['id']}/results", json=body, headers={**me, "Idempotency-Key": "k"}
        )
        assert response.status_code == 201, (sector, response.json)
        assert response.json["passed"] is True


def test_a_register_dated_apart_from_its_result_is_a_422_and_nothing_is_stored(client, identity):
    """A special-equipment payload's own ``inspected_on`` was what the register was judged
    on, whatever the result's date: a crane overdue today passed as inspected in 2020, and
    the stored result still said today.  It may repeat the result's date, not move it."""
    task, me = _task_of(client, identity, "special_equipment")
    url = f"/api/v1/tasks/{task['id']}/results"
    crane = {"registration_code": "QZ-1", "category": "4000", "sub_type": "tower_crane",
             "commissioning_date": "2020-01-01", "registered": True,
             "registration_date": "2020-01-10"}  # fmt: skip
    today = str(today_in_china())

    def post(payload_day: str | None, key: str):
        payload = {"equipment": [crane]} | ({"inspected_on": payload_day} if payload_day else {})
        body = {"sector": "special_equipment", "payload": payload, "inspected_on": today,
                "conclusion_code": "no_problem"}  # fmt: skip
        return client.post(url, json=body, headers={**me, "Idempotency-Key": key})

    refused = post("2020-06-01", "a")
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == {
        "payload.inspected_on": [
            f"2020-06-01 differs from the result's inspection date ({today}): give the date "
            "once, on the result"
        ]
    }
    assert refused.json["errors_zh"] == {
        "payload.inspected_on": [
            f"2020-06-01 与结果的检查日期（{today}）不一致：检查日期只需在结果中填写一次"
        ]
    }
    stored = client.get("/api/v1/results?sector=special_equipment", headers=identity("admin"))
    assert stored.json["items"] == []
    # judged on the result's day, the crane is overdue: "no_problem" contradicts it
    for day, key in ((today, "b"), (None, "c")):
        judged = post(day, key)
        assert judged.status_code == 422, judged.json
        assert list(judged.json["errors"]) == ["conclusion_code"]


def test_a_completion_dated_past_the_inspection_or_in_year_one_is_a_422_not_a_502(client, identity):
    """An acceptance on 9999-12-31 or 0001-01-05 overflowed the construction rules' date
    arithmetic: a 502 blaming the plugin, with no zh-CN text.  Both are now a 422 naming
    the date, and one in 2099 no longer escapes the late-filing rule as "not yet due"."""
    task, me = _task_of(client, identity, "construction")
    url = f"/api/v1/tasks/{task['id']}/results"
    conditions = {c: True for c in ("design_contract_complete", "technical_records_complete",
                                    "material_test_reports", "party_quality_documents",
                                    "warranty_signed")}  # fmt: skip
    today = str(today_in_china())
    cases = (
        ("9999-12-31", f"after the inspection date ({today}): what has not happened yet "
                       "cannot be judged"),
        ("2099-06-18", f"after the inspection date ({today}): what has not happened yet "
                       "cannot be judged"),
        ("0001-01-05", "before 2000-01-30, when the completion rules judged here took effect"),
    )  # fmt: skip
    for n, (day, reason) in enumerate(cases):
        completion = {"acceptance_date": day, "notice_date": "0001-01-01",
                      "conditions": conditions}  # fmt: skip
        payload = {"project_no": "JS-1", "project_name": "滨江花园", "completion": completion}
        body = {"sector": "construction", "payload": payload, "conclusion_code": "no_problem"}
        response = client.post(url, json=body, headers={**me, "Idempotency-Key": str(n)})
        assert response.status_code == 422, (day, response.json)
        assert response.json["errors"] == {"payload.completion.acceptance_date": [reason]}
        assert response.json["errors_zh"]["payload.completion.acceptance_date"][0] != reason


def test_errors_raised_outside_our_code_carry_a_zh_cn_message(client, identity):
    """A schema's 422, werkzeug's 404 and 405, and our own errors raised without one carried
    English only; each now has ``message_zh`` beside the field-level ``errors``."""
    admin = identity("admin")
    cases = (
        ("post", "/api/v1/enterprises", {"json": {"name": 1}, "headers": admin}, 422, "校验"),
        ("get", "/api/v1/no-such-route", {"headers": admin}, 404, "未找到"),
        ("delete", "/api/v1/kpis", {"headers": admin}, 405, "请求方法"),
        ("get", "/api/v1/kpis?year=2026", {}, 401, "令牌"),
    )
    for method, url, kwargs, status, fragment in cases:
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == status, (url, response.status_code)
        assert fragment in response.json["message_zh"], (url, response.json)
        assert response.json["message"]  # the English message stays
    invalid = client.post("/api/v1/enterprises", json={"name": 1}, headers=admin).json
    assert "name" in invalid["errors"]
    # our own error raised without a message_zh of its own gets its status's
    body = factories.enterprise()
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    future = client.post(
        f"/api/v1/enterprises/{body['uscc']}/credit-events",
        json={"type": "complaint", "occurred_on": "2999-01-01", "severity": "minor",
              "source": "12315"},
        headers=identity("regulator"),
    )  # fmt: skip
    assert future.status_code == 422 and list(future.json["errors"]) == ["occurred_on"]
    assert future.json["message_zh"] == "请求字段未通过校验，详见 errors"


REPEATED = "given more than once in the same object; send each key once"


def test_a_json_key_given_twice_is_a_400_naming_it_at_its_path(client, identity):
    """Python's decoder keeps a repeated key's last value and drops the first without a
    word: a credit event sent with "severity" critical, then minor, was stored as minor.
    Nothing is stored; a key met again in another object (each licence's "kind") is no
    repeat."""
    admin = identity("admin")
    body = _enterprise(client, admin)
    events = f"/api/v1/enterprises/{body['uscc']}/credit-events"
    day = today_in_china() - dt.timedelta(days=30)
    raw = (
        '{"type": "penalty", "severity": "critical", "source": "九龙市监处罚〔2026〕41号", '
        f'"occurred_on": "{day}", "severity": "minor"}}'
    )
    response = client.post(events, data=raw, content_type="application/json", headers=admin)
    assert response.status_code == 400, response.json
    assert response.json["errors"] == {"severity": [REPEATED]}
    assert response.json["errors_zh"] == {"severity": ["在同一对象中重复出现；每个键只能给出一次"]}
    assert response.json["message"] == "malformed JSON body: a key given more than once (severity)"
    assert response.json["message_zh"] == "JSON 请求体格式错误：键重复出现（severity）"
    assert client.get(events, headers=admin).json["items"] == []
    url = f"/api/v1/enterprises/{body['uscc']}"
    nested = (
        '{"licences": [{"kind": "食品经营许可证", "number": "JY1"}, '
        '{"kind": "排污许可证", "number": "P1", "kind": "取水许可证", "number": "P2"}]}'
    )
    response = client.patch(url, data=nested, content_type="application/json", headers=admin)
    assert response.status_code == 400, response.json
    assert response.json["errors"] == {
        "licences": {"1": {"kind": [REPEATED], "number": [REPEATED]}}
    }
    assert "(licences.1.kind, licences.1.number)" in response.json["message"]
    assert client.get(url, headers=admin).json["licences"] == []
    apart = '{"licences": [{"kind": "食品经营许可证", "number": "JY1"}, {"kind": "排污许可证", "number": "P1"}]}'
    response = client.patch(url, data=apart, content_type="application/json", headers=admin)
    assert response.status_code == 200, response.json


def test_a_control_character_in_a_finding_code_or_a_checklist_is_a_422(client, identity):
    """A finding's code, a generic checklist's item and notes were plain strings: a BEL or
    an ESC was stored (201) where the finding's description refused it, and came out of
    an .xlsx export as U+FFFD."""
    task, me = _task_of(client, identity, "food")
    url = f"/api/v1/tasks/{task['id']}/results"
    finding = {"severity": "minor", "description": "进货记录不全", "code": "FS\x07\x1b1"}
    body = {"sector": "food", "payload": factories.food_payload("0.05"),
            "conclusion_code": "no_problem", "findings": [finding]}  # fmt: skip
    response = client.post(url, json=body, headers={**me, "Idempotency-Key": "code-1"})
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {
        "findings": {"0": {"code": ["must not contain control characters"]}}
    }
    task, me = _task_of(client, identity, "hazardous_chemicals")
    url = f"/api/v1/tasks/{task['id']}/results"
    for key, payload in (
        ("item", {"checks": [{"item": "灭火器\x07", "passed": True}]}),
        ("note", {"checks": [{"item": "灭火器", "passed": True, "note": "过期\x1b"}]}),
        ("notes", {"checks": [{"item": "灭火器", "passed": True}], "notes": "\x08"}),
    ):
        body = {"sector": "hazardous_chemicals", "payload": payload,
                "conclusion_code": "no_problem"}  # fmt: skip
        response = client.post(url, json=body, headers={**me, "Idempotency-Key": key})
        assert response.status_code == 422, (key, response.json)
        assert "must not contain control characters" in str(response.json["errors"]), key
    clean = {"checks": [{"item": " 灭火器 ", "passed": True}]}
    body = {"sector": "hazardous_chemicals", "payload": clean, "conclusion_code": "no_problem"}
    response = client.post(url, json=body, headers={**me, "Idempotency-Key": "clean"})
    assert response.status_code == 201, response.json


@pytest.mark.parametrize(
    "text, reason",
    [
        ("大米\u202e米大", "bidi"),  # RIGHT-TO-LEFT OVERRIDE: shows 大米大米
        ("大\u2066米", "bidi"),  # LEFT-TO-RIGHT ISOLATE
        ("大米\x07", "control"),  # BEL
        ("大米\x1b[31m", "control"),  # an ANSI colour, for a terminal reading the log
        ("大米\x85", "control"),  # C1 NEXT LINE
    ],
)
def test_payload_text_with_a_control_or_bidi_character_is_a_422_naming_it(
    client, identity, session, text, reason
):
    """A plugin declares its text fields as plain strings, so a food name with a bidi
    override (a public page shows other text than is stored) or a control character
    was stored; the core refuses it in any plugin's payload, naming the field, and
    stores nothing."""
    from sqlalchemy import func, select

    from inspect_core.results.models import Result
    from inspect_core.validators import BIDI_REASON, CONTROL_REASON

    why = BIDI_REASON if reason == "bidi" else CONTROL_REASON
    task, me = _task_of(client, identity, "food")
    url = f"/api/v1/tasks/{task['id']}/results"

    def post(payload, key):
        body = {"sector": "food", "payload": payload, "conclusion_code": "no_problem"}
        return client.post(url, json=body, headers={**me, "Idempotency-Key": key})

    named = post({**factories.food_payload(), "food_name": text}, "name")
    assert named.status_code == 422, named.json
    assert named.json["errors"] == {"payload.food_name": [why]}
    assert named.json["errors_zh"]["payload.food_name"] != [why]  # translated
    nested = factories.food_payload()
    nested["items"][0]["method"] = f"GB 5009.15-2014{text}"
    deep = post(nested, "deep")
    assert deep.status_code == 422, deep.json
    assert deep.json["errors"] == {"payload.items": {"0": {"method": [why]}}}
    stored = select(func.count()).select_from(Result).where(Result.task_id == task["id"])
    assert session.scalar(stored) == 0
    # tab and line breaks are text: a standard's note may run over two lines
    lines = factories.food_payload()
    lines["items"][0]["standard"] = "GB 2762-2022\r\n（表1\t谷物）"
    assert post(lines, "lines").status_code == 201


def test_a_ratio_past_six_decimal_places_is_a_422_naming_its_tier_not_a_huge_snapshot(
    client, identity, district
):
    """A ratio of "1E-5000" was taken and written out digit by digit in the frozen pool
    (5000 digits; "1E-999999999" would be a gigabyte): a share has at most six decimal
    places, refused on create and on PATCH in English and zh-CN, never rounded."""
    regulator = identity("regulator")
    ratios = {"A": "0.05", "B": "0.5", "C": "0.6", "D": "1"}
    for value in ("1E-5000", "1E-999999999", "0.1234567", 1e-07):
        refused = client.post(
            "/api/v1/plans",
            json=factories.plan_body(ratios={**ratios, "C": value}),
            headers=regulator,
        )
        assert refused.status_code == 422, (value, refused.json)
        assert refused.json["errors"] == {"ratios": {"C": ["at most 6 decimal places"]}}
        assert refused.json["errors_zh"] == {"ratios": {"C": ["最多 6 位小数"]}}
    for value in ("1E+999999999", "-1E-5000"):  # the range's reason alone
        refused = client.post(
            "/api/v1/plans",
            json=factories.plan_body(ratios={**ratios, "C": value}),
            headers=regulator,
        )
        assert refused.status_code == 422, (value, refused.json)
        assert refused.json["errors"] == {
            "ratios": {"C": ["Must be greater than or equal to 0 and less than or equal to 1."]}
        }
    plan_id = factories.create_plan(
        client, regulator, ratios={**ratios, "A": "0.000001", "B": "0.5000000000", "C": 0.25}
    )
    stored = client.get(f"/api/v1/plans/{plan_id}", headers=regulator).json["ratios"]
    assert stored == {"A": "0.000001", "B": "0.5000000000", "C": "0.25", "D": "1"}
    patched = client.patch(
        f"/api/v1/plans/{plan_id}", json={"ratios": {**ratios, "D": "1E-5000"}}, headers=regulator
    )
    assert patched.status_code == 422, patched.json
    assert patched.json["errors"] == {"ratios": {"D": ["at most 6 decimal places"]}}
    assert client.get(f"/api/v1/plans/{plan_id}", headers=regulator).json["ratios"] == stored
    frozen = client.post(f"/api/v1/plans/{plan_id}/pool", headers=regulator)
    assert frozen.status_code == 201, frozen.json
