"""The OpenAPI document is a contract the API keeps (RELIABILITY.md §1.5, OWASP API9).

schemathesis reads ``/api/openapi.json`` and, for every operation, sends the document's
examples, its boundary and out-of-range values (the coverage phase) and generated
requests, valid and invalid, with an admin's token, to a demo district that has been
scored, drawn and partly disclosed.  Each answer must not be a 5xx, must have a
documented media type and match the documented schema (errors included), and an
operation that needs a token must refuse a request without one.

Left out, on purpose:
- ``positive_data_acceptance``: the document cannot state every business rule (a USCC's
  check digit, a blank name, a date before the plan); such a request is a 4xx naming
  the field, which the other API tests assert;
- ``negative_data_rejection`` and ``missing_required_header``: a PATCH of ``{}`` is a
  valid no-op, and a public route has no token to miss;
- ``status_code_conformance``: every operation documents a ``default`` error;
- the stateful phase: the API tests walk the workflows (draw → record → disclose).

The district is built once for the module, on a database of its own (rebuilding it for
each operation would take minutes).  CI's PostgreSQL pass runs the two parameter tests
again on PostgreSQL; the generated requests run in the SQLite pass only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
)
from sqlalchemy import create_engine, text

from inspect_core.app import create_app
from inspect_core.db import db, make_engine
from inspect_core.migrate import upgrade
from tests.conftest import TEST_CONFIG

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance, ignored_auth]

#: operations a generated request must not reach: revoking the token the test uses
SKIPPED_PATHS = r"^/api/v1/auth/revoke$"


pytestmark = pytest.mark.db  # CI's PostgreSQL pass runs it again, on PostgreSQL


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Any]:
    """A small demo district (300 enterprises), scored and with one spot check done, on a
    database of its own: a SQLite file, or a schema of the PostgreSQL test database (where
    a string past its column's length or an integer past INTEGER fails, as SQLite's do
    not)."""
    admin = None
    if database_url.startswith("postgresql"):
        schema_name = f"contract_{uuid.uuid4().hex[:8]}"
        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema_name}"))
        url = f"{database_url}?options=-csearch_path%3D{schema_name}"
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('contract')) / 'contract.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    args = ["demo", "load", "--enterprises", "300", "--inspectors", "24", "--seed", "7"]
    outcome = app.test_cli_runner().invoke(args=args)
    assert outcome.exit_code == 0, outcome.output
    yield app
    db.engine_for(app).dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema_name} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="module")
def contract_schema(contract_app: Any, database_url: str) -> Any:
    if database_url.startswith("postgresql"):
        # 32 s there; what fails on PostgreSQL alone (a NUL, an integer past INTEGER) is
        # sent to every parameter by the two tests below, which do run there
        pytest.skip("the generated requests run in the SQLite pass")
    return schemathesis.openapi.from_wsgi("/api/openapi.json", contract_app)


@pytest.fixture(scope="module")
def admin_token(contract_app: Any) -> str:
    client = contract_app.test_client()
    login = {"username": "admin", "password": "demo-admin-pass"}
    response = client.post("/api/v1/auth/token", json=login)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


@pytest.fixture
def admin_headers(contract_app: Any, admin_token: str) -> Iterator[dict[str, str]]:
    """The admin's bearer header, still good when the test ends: with the token revoked
    the tests below met only 401s, which their "a 4xx, never a 5xx" took as passes."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    yield headers
    me = contract_app.test_client().get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, "the admin token was refused during the test"


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 reads and rewrites ``node._nodeid`` to name each operation's
    subtest; pytest 9 keeps the id elsewhere, so give it the attribute it reads."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


# the exclusion goes on the lazy schema: schemathesis 4.32 replaces the fixture's own
# filters with these when it loads it, so an exclude() there was dropped, POST /auth/revoke
# was generated, and the module's admin token was revoked for the tests after this one
schema = schemathesis.pytest.from_fixture("contract_schema").exclude(path_regex=SKIPPED_PATHS)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_keeps_the_contract(case: Any, admin_headers: dict[str, str]) -> None:
    """No 5xx, documented media types and bodies (errors too), and no token → 401."""
    case.call_and_validate(headers=admin_headers, checks=CHECKS)


#: integers no row id can be: past PostgreSQL's INTEGER and SQLite's 64-bit INTEGER, and
#: negative; generated requests reach them only by luck, so every one is sent
OUT_OF_RANGE = (2**31, 2**63, 2**70, -(2**63), -1, 0)


def _filler(parameter: dict[str, Any]) -> str:
    """A plausible value for a required parameter that is not under test."""
    spec = parameter.get("schema", {})
    if "enum" in spec:
        return str(spec["enum"][0])
    if spec.get("type") == "integer":
        return "1"
    return "food"  # the one string a required filter names here: a sector code


def _get_requests(document: dict[str, Any], kind: str, values: tuple[Any, ...]) -> Iterator[Any]:
    """(path, parameter, url, query) for every GET parameter of ``kind``, at each value,
    with the other required parameters filled."""
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue  # a write with a bad id is refused before the body is read
        parameters = operation.get("parameters", []) + item.get("parameters", [])
        for parameter in parameters:
            if parameter.get("schema", {}).get("type") != kind or "enum" in parameter["schema"]:
                continue
            for value in values:
                url, query = path, {}
                for other in parameters:
                    given = str(value) if other is parameter else _filler(other)
                    if other["in"] == "path":
                        url = url.replace("{" + other["name"] + "}", quote(given))
                    elif other is parameter or other.get("required"):
                        query[other["name"]] = given
                yield path, parameter, value, url, query


def test_integer_parameters_out_of_range_are_a_4xx(contract_app, admin_headers) -> None:
    """Every integer in a path or query string, at values no row can have: a 4xx, never a
    5xx (SQLite's driver overflowed on them, PostgreSQL raises on them)."""
    client = contract_app.test_client()
    document = client.get("/api/openapi.json").json
    named = set()
    for _, parameter, value, url, query in _get_requests(document, "integer", OUT_OF_RANGE):
        response = client.get(url, query_string=query, headers=admin_headers)
        named.add(parameter["name"])
        assert response.status_code < 500, (url, query, response.json)
        if parameter["name"] == "limit" and value > 0:
            continue  # a page size too large is clamped (OWASP API4), not refused
        assert 400 <= response.status_code < 500, (url, query, response.status_code)
    assert {"plan", "run", "year", "draw_id"} <= named, named


#: a row id written otherwise than in ASCII digits: full-width, Arabic-Indic, with Python's
#: digit separator, with spaces; ``int()`` read each as 1 (``?year=２０２６`` as 2026)
LOOSE_INTEGERS = ("１", "\u0661", "0_1", " 1 ")


def test_integer_parameters_not_in_ascii_digits_are_a_4xx(contract_app, admin_headers) -> None:
    """Every integer in a path or query string, written in other digits: a path matches
    no route (404), a query parameter is a 422 naming it, in both languages."""
    client = contract_app.test_client()
    document = client.get("/api/openapi.json").json
    named = set()
    for _, parameter, _, url, query in _get_requests(document, "integer", LOOSE_INTEGERS):
        response = client.get(url, query_string=query, headers=admin_headers)
        named.add(parameter["name"])
        if parameter["in"] == "path":
            assert response.status_code == 404, (url, response.status_code)
            continue
        assert response.status_code == 422, (url, query, response.status_code, response.json)
        name = parameter["name"]
        assert response.json["errors"] == {name: ["Not a valid integer: ASCII digits 0-9 only."]}
        assert response.json["errors_zh"] == {name: ["不是有效的整数：须为半角数字 0-9"]}
    assert {"plan", "run", "year", "limit", "draw_id", "plan_id"} <= named, named
    # written in ASCII digits, the same numbers are read
    assert client.get("/api/v1/kpis?year=2026", headers=admin_headers).status_code == 200
    assert client.get("/api/v1/plans/1", headers=admin_headers).status_code == 200


def test_string_parameters_holding_a_nul_are_a_4xx(contract_app, admin_headers) -> None:
    """Every string in a path or query string, holding a NUL byte: a 4xx, never a 5xx
    (PostgreSQL's text cannot hold one; its driver raised, on every string filter)."""
    client = contract_app.test_client()
    document = client.get("/api/openapi.json").json
    named = set()
    for _, parameter, _, url, query in _get_requests(document, "string", ("重庆\x00",)):
        response = client.get(url, query_string=query, headers=admin_headers)
        named.add(parameter["name"])
        assert 400 <= response.status_code < 500, (url, query, response.status_code)
    assert {"q", "sector", "region", "uscc", "badge"} <= named, named
