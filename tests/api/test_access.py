"""Who may call what (role × endpoint), default deny, region scoping in the query, and
what each role is shown (OWASP API1, API3, API5; RELIABILITY.md §1.1, §1.10).

``MATRIX`` lists every (method, rule) of ``app.url_map`` with the status each role gets
(object routes once per object: the inspector's own, another inspector's, one outside
the scoped regulator's region); a test fails when a route has no row or a row names no
route, and another checks each cell against ``ROLE_PERMISSIONS``.  The world (plans,
draws, tasks, results, uploads, credit events, a scoring run) is built once for the
module; every cell runs in a SAVEPOINT rolled back after it, so a draw, a disclosure or
a repair meets the same world for each role.  The keys of every 2xx JSON answer are
compared, per row and role, with ``tests/api/snapshots/response_keys.json``
(``INSPECT_UPDATE_SNAPSHOTS=1`` rewrites it), and no answer may carry a secret.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import insert, select

from inspect_core.app import create_app
from inspect_core.auth.access import (
    AUTHENTICATED,
    BUILTIN_PUBLIC_ENDPOINTS,
    PUBLIC,
    ROLE_PERMISSIONS,
    unmarked_endpoints,
    view_access,
)
from inspect_core.db import db
from inspect_core.results.service import today_in_china
from inspect_core.simulate import make_uscc
from inspect_core.testing import untranslated_reasons
from tests import factories
from tests.conftest import TEST_CONFIG, identities
from tests.factories import ENTERPRISE_HEADER, FOOD_HEADER

MINE, THEIRS = factories.REGIONS  # the scoped regulator's region, and one outside it


def test_every_route_declares_its_access(app):
    assert list(unmarked_endpoints(app)) == []


# --- the matrix ------------------------------------------------------------------------

#: the columns of MATRIX; ``scoped`` is a regulator scoped to MINE, ``inspector`` has
#: the badge ``{badge}`` (``{other_badge}`` is another inspector of MINE)
ROLES = ("anonymous", "admin", "regulator", "inspector", "sector_admin", "scoped")

Body = Callable[[dict[str, Any]], dict[str, Any]]


class Row(NamedTuple):
    method: str
    path: str  # placeholders name objects of the world (see ``build_world``)
    expected: dict[str, int]
    body: Body | None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def row(method: str, path: str, *statuses: int, body: Body | None = None) -> Row:
    assert len(statuses) == len(ROLES), (method, path)
    return Row(method, path, dict(zip(ROLES, statuses, strict=True)), body)


def _json(make: Callable[[dict[str, Any]], Any]) -> Body:
    return lambda w: {"json": make(w)}


def _csv(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def _upload(make_rows: Callable[[dict[str, Any]], list[list[Any]]], **form: str) -> Body:
    def body(w: dict[str, Any]) -> dict[str, Any]:
        data = {"file": (io.BytesIO(_csv(make_rows(w))), "upload.csv"), **form}
        return {"data": data, "content_type": "multipart/form-data"}

    return body


INSPECTOR_HEADER = ["执法证号", "姓名", "所属单位", "所属街镇", "执法资格", "在岗"]


def _food_row(task_id: Any) -> list[Any]:
    return [task_id, "no_problem", "S-1", "大米", "cereal.rice.milled", "2026-11-20",
            "circulation", "Cd", "0.1", "mg/kg"]  # fmt: skip


def _result(w: dict[str, Any]) -> dict[str, Any]:
    return {"sector": "food", "payload": factories.food_payload("0.1"),
            "conclusion_code": "no_problem"}  # fmt: skip


LOGIN = _json(lambda w: {"username": w["login"], "password": "correct horse"})
CALENDAR = _json(lambda w: {"holidays": [f"{w['year']}-10-01"], "workdays": []})
REPAIR = _json(lambda w: {"reason": "已履行处罚并完成整改"})
WITHDRAW = _json(lambda w: {"reason": "录入错误：决定书载明为轻微违法"})
NEW_ENTERPRISE = _json(lambda w: factories.enterprise(region=MINE))
ADDRESS = _json(lambda w: {"address": "重庆市九龙坡区华岩路2号"})
PENALTY = _json(lambda w: {"type": "penalty", "severity": "major", "source": "九龙市监处罚〔2026〕7号",
                           "occurred_on": str(today_in_china() - dt.timedelta(days=20))})  # fmt: skip
#: the world's events: old enough to be repaired (a major penalty: after 365 days)
OLD_PENALTY = _json(lambda w: {"type": "penalty", "severity": "major", "source": "九龙市监处罚〔2025〕3号",
                               "occurred_on": str(today_in_china() - dt.timedelta(days=400))})  # fmt: skip
ENTERPRISE_FILE = _upload(lambda w: [ENTERPRISE_HEADER,
                                     [factories.uscc(), "重庆导入食品有限公司", "food", MINE, "", "", ""]])  # fmt: skip
NEW_INSPECTOR = _json(lambda w: factories.inspector(region=MINE))
INSPECTOR_FILE = _upload(lambda w: [INSPECTOR_HEADER,
                                    [factories.inspector()["badge"], "李娜", "华岩所", MINE, "食品", "是"]])  # fmt: skip
UNIT = _json(lambda w: {"unit": "九龙坡区市场监督管理局华岩市场监督管理所"})
CONFLICT = _json(lambda w: {"uscc": w["conflict_uscc"], "reason": "配偶任该企业财务负责人"})
THEIR_CONFLICT = _json(
    lambda w: {"uscc": w["their_conflict_uscc"], "reason": "曾参与该企业案件办理"}
)
NEW_PLAN = _json(lambda w: factories.plan_body(scope_regions=[MINE]))
TITLE = _json(lambda w: {"title": "2026年第四季度大米镉专项抽查（修订）"})
PUBLISH = _json(lambda w: {"status": "published"})
SEED = _json(lambda w: {"seed": 17})
CORRECTION = _json(lambda w: {**_result(w), "reason": "实验室复核后更正样品信息"})
RESULT_FILE = _upload(lambda w: [FOOD_HEADER, _food_row(w["open_task"])], sector="food")
REASSIGN = _json(
    lambda w: {"badge": w["leaving"], "reason": "检查人员申请回避：与企业负责人系亲属"}
)
THEIR_REASSIGN = _json(
    lambda w: {"badge": w["their_leaving"], "reason": "检查人员申请回避：曾在该企业任职"}
)


_keys = iter(range(1_000_000))


def _keyed_result(w: dict[str, Any]) -> dict[str, Any]:
    return {"json": _result(w), "headers": {"Idempotency-Key": f"matrix-{next(_keys)}"}}


RESULT = _keyed_result

# fmt: off
MATRIX: list[Row] = [
    #   method   path                                                     anon admin  reg insp sect scoped
    # -- public: the spec, login, disclosure --------------------------------------------------------
    row("GET",   "/api/docs",                                              200, 200, 200, 200, 200, 200),
    row("GET",   "/api/openapi.json",                                      200, 200, 200, 200, 200, 200),
    row("POST",  "/api/v1/auth/token",                                     200, 200, 200, 200, 200, 200, body=LOGIN),
    row("GET",   "/api/v1/public/plans",                                   200, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/public/results",                                 200, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/public/snapshots/{snapshot}",                    200, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/public/snapshots/{their_snapshot}",              404, 404, 404, 404, 404, 404),
    # a published plan's draw is public; an unpublished one needs plans:read (and scope)
    row("GET",   "/api/v1/draws/{draw}",                                   200, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/draws/{their_draw}",                             404, 200, 200, 404, 200, 404),
    row("GET",   "/api/v1/draws/{draw}/verify",                            200, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/draws/{their_draw}/verify",                      404, 200, 200, 404, 200, 404),
    # -- any token ---------------------------------------------------------------------------------
    row("GET",   "/api/v1/auth/me",                                        401, 200, 200, 200, 200, 200),
    row("POST",  "/api/v1/auth/revoke",                                    401, 204, 204, 204, 204, 204),
    # -- audit:read --------------------------------------------------------------------------------
    row("GET",   "/api/v1/audit/head",                                     401, 200, 200, 403, 403, 200),
    row("GET",   "/api/v1/audit/verify",                                   401, 200, 200, 403, 403, 200),
    # -- calendar:write (district-wide: a scoped user may not load it) -----------------------------
    row("PUT",   "/api/v1/calendar/{year}",                                401, 200, 200, 403, 403, 403, body=CALENDAR),
    # -- enterprises:read / enterprises:write; order=risk needs rankings:read ----------------------
    row("GET",   "/api/v1/enterprises",                                    401, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/enterprises?order=risk",                         401, 200, 200, 403, 403, 200),
    row("POST",  "/api/v1/enterprises",                                    401, 201, 201, 403, 403, 201, body=NEW_ENTERPRISE),
    row("POST",  "/api/v1/enterprises/import",                             401, 201, 201, 403, 403, 201, body=ENTERPRISE_FILE),
    row("GET",   "/api/v1/enterprises/{uscc}",                             401, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/enterprises/{their_uscc}",                       401, 200, 200, 200, 200, 404),
    row("PATCH", "/api/v1/enterprises/{uscc}",                             401, 200, 200, 403, 403, 200, body=ADDRESS),
    row("PATCH", "/api/v1/enterprises/{their_uscc}",                       401, 200, 200, 403, 403, 404, body=ADDRESS),
    # -- credit:read / credit:write ----------------------------------------------------------------
    row("GET",   "/api/v1/enterprises/{uscc}/credit",                      401, 200, 200, 403, 200, 200),
    row("GET",   "/api/v1/enterprises/{their_uscc}/credit",                401, 200, 200, 403, 200, 404),
    row("GET",   "/api/v1/enterprises/{uscc}/credit-events",               401, 200, 200, 403, 200, 200),
    row("GET",   "/api/v1/enterprises/{their_uscc}/credit-events",         401, 200, 200, 403, 200, 404),
    row("POST",  "/api/v1/enterprises/{uscc}/credit-events",               401, 201, 201, 403, 403, 201, body=PENALTY),
    row("POST",  "/api/v1/enterprises/{their_uscc}/credit-events",         401, 201, 201, 403, 403, 404, body=PENALTY),
    row("GET",   "/api/v1/credit-events/{event}",                          401, 200, 200, 403, 200, 200),
    row("GET",   "/api/v1/credit-events/{their_event}",                    401, 200, 200, 403, 200, 404),
    row("POST",  "/api/v1/credit-events/{event}/repair",                   401, 201, 201, 403, 403, 201, body=REPAIR),
    row("POST",  "/api/v1/credit-events/{their_event}/repair",             401, 201, 201, 403, 403, 404, body=REPAIR),
    row("POST",  "/api/v1/credit-events/{event}/withdrawal",               401, 201, 201, 403, 403, 201, body=WITHDRAW),
    row("POST",  "/api/v1/credit-events/{their_event}/withdrawal",         401, 201, 201, 403, 403, 404, body=WITHDRAW),
    # -- rankings:read (not the sector admin's) ----------------------------------------------------
    row("GET",   "/api/v1/rankings/export",                                401, 200, 200, 403, 403, 200),
    row("GET",   "/api/v1/scoring/inspector-effects",                      401, 200, 200, 403, 403, 200),
    row("GET",   "/api/v1/scoring/points",                                 401, 200, 200, 403, 403, 200),
    row("GET",   "/api/v1/scoring/runs",                                   401, 200, 200, 403, 403, 200),
    row("GET",   "/api/v1/scoring/runs/{run}",                             401, 200, 200, 403, 403, 200),
    # -- kpis:read ---------------------------------------------------------------------------------
    row("GET",   "/api/v1/kpis?year={year}",                               401, 200, 200, 403, 200, 200),
    # -- inspectors: inspectors:read(:own), inspectors:write, conflicts:read/write(:own) -----------
    row("GET",   "/api/v1/inspectors",                                     401, 200, 200, 403, 403, 200),
    row("POST",  "/api/v1/inspectors",                                     401, 201, 201, 403, 403, 201, body=NEW_INSPECTOR),
    row("POST",  "/api/v1/inspectors/import",                              401, 201, 201, 403, 403, 201, body=INSPECTOR_FILE),
    row("GET",   "/api/v1/inspectors/{badge}",                             401, 200, 200, 200, 403, 200),
    row("GET",   "/api/v1/inspectors/{other_badge}",                       401, 200, 200, 403, 403, 200),
    row("GET",   "/api/v1/inspectors/{their_badge}",                       401, 200, 200, 403, 403, 404),
    row("PATCH", "/api/v1/inspectors/{badge}",                             401, 200, 200, 403, 403, 200, body=UNIT),
    row("PATCH", "/api/v1/inspectors/{their_badge}",                       401, 200, 200, 403, 403, 404, body=UNIT),
    row("GET",   "/api/v1/inspectors/{badge}/conflicts",                   401, 200, 200, 200, 403, 200),
    row("GET",   "/api/v1/inspectors/{other_badge}/conflicts",             401, 200, 200, 403, 403, 200),
    row("GET",   "/api/v1/inspectors/{their_badge}/conflicts",             401, 200, 200, 403, 403, 404),
    row("POST",  "/api/v1/inspectors/{badge}/conflicts",                   401, 201, 201, 201, 403, 201, body=CONFLICT),
    row("POST",  "/api/v1/inspectors/{other_badge}/conflicts",             401, 201, 201, 403, 403, 201, body=CONFLICT),
    row("POST",  "/api/v1/inspectors/{their_badge}/conflicts",             401, 201, 201, 403, 403, 404, body=THEIR_CONFLICT),
    # -- plans:read / plans:write; a scoped user sees plans inside its regions ---------------------
    row("GET",   "/api/v1/plans",                                          401, 200, 200, 403, 200, 200),
    row("POST",  "/api/v1/plans",                                          401, 201, 201, 403, 403, 201, body=NEW_PLAN),
    row("GET",   "/api/v1/plans/{plan}",                                   401, 200, 200, 403, 200, 200),
    row("GET",   "/api/v1/plans/{their_plan}",                             401, 200, 200, 403, 200, 404),
    row("PATCH", "/api/v1/plans/{draft}",                                  401, 200, 200, 403, 403, 200, body=TITLE),
    row("PATCH", "/api/v1/plans/{their_plan}",                             401, 200, 200, 403, 403, 404, body=PUBLISH),
    row("GET",   "/api/v1/plans/{plan}/pool",                              401, 200, 200, 403, 200, 200),
    row("GET",   "/api/v1/plans/{their_plan}/pool",                        401, 200, 200, 403, 200, 404),
    row("POST",  "/api/v1/plans/{draft}/pool",                             401, 201, 201, 403, 403, 201),
    row("POST",  "/api/v1/plans/{their_draft}/pool",                       401, 201, 201, 403, 403, 404),
    row("POST",  "/api/v1/plans/{draft}/draw",                             401, 201, 201, 403, 403, 201, body=SEED),
    row("POST",  "/api/v1/plans/{their_draft}/draw",                       401, 201, 201, 403, 403, 404, body=SEED),
    # -- disclosure:write --------------------------------------------------------------------------
    row("POST",  "/api/v1/plans/{plan}/disclose",                          401, 200, 200, 403, 403, 200),
    # their plan is drawn, not published: its results wait for it (409), unseen by the scoped (404)
    row("POST",  "/api/v1/plans/{their_plan}/disclose",                    401, 409, 409, 403, 403, 404),
    row("POST",  "/api/v1/results/{result}/disclose",                      401, 201, 201, 403, 403, 201),
    row("POST",  "/api/v1/results/{their_result}/disclose",                401, 409, 409, 403, 403, 404),
    row("GET",   "/api/v1/disclosures/overdue",                            401, 200, 200, 403, 403, 200),
    # -- tasks:read(:own), tasks:reassign, results:write:own ---------------------------------------
    row("GET",   "/api/v1/tasks",                                          401, 200, 200, 200, 403, 200),
    row("GET",   "/api/v1/tasks/{task}",                                   401, 200, 200, 200, 403, 200),
    row("GET",   "/api/v1/tasks/{other_task}",                             401, 200, 200, 404, 403, 200),
    row("GET",   "/api/v1/tasks/{their_task}",                             401, 200, 200, 404, 403, 404),
    row("POST",  "/api/v1/tasks/{open_task}/reassign",                     401, 200, 200, 403, 403, 200, body=REASSIGN),
    row("POST",  "/api/v1/tasks/{their_task}/reassign",                    401, 200, 200, 403, 403, 404, body=THEIR_REASSIGN),
    row("POST",  "/api/v1/tasks/{open_task}/results",                      401, 403, 403, 201, 403, 403, body=RESULT),
    row("POST",  "/api/v1/tasks/{other_open_task}/results",                401, 403, 403, 404, 403, 403, body=RESULT),
    # -- results:read(:own), results:correct / results:write:own, results:import -------------------
    row("GET",   "/api/v1/results",                                        401, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/results/{result}",                               401, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/results/{other_result}",                         401, 200, 200, 404, 200, 200),
    row("GET",   "/api/v1/results/{their_result}",                         401, 200, 200, 404, 200, 404),
    row("POST",  "/api/v1/results/{result}/corrections",                   401, 201, 201, 201, 403, 201, body=CORRECTION),
    row("POST",  "/api/v1/results/{other_result}/corrections",             401, 201, 201, 404, 403, 201, body=CORRECTION),
    row("POST",  "/api/v1/results/{their_result}/corrections",             401, 201, 201, 404, 403, 404, body=CORRECTION),
    row("GET",   "/api/v1/results/export?sector=food",                     401, 200, 200, 403, 200, 200),
    row("POST",  "/api/v1/results/import",                                 401, 201, 201, 201, 403, 201, body=RESULT_FILE),
    # -- imports:read / imports:read:own (the uploader; a scoped reader: uploads of its scope) ------
    row("GET",   "/api/v1/imports/{import}",                               401, 200, 200, 200, 403, 404),
    row("GET",   "/api/v1/imports/{other_import}",                         401, 200, 200, 404, 403, 404),
    row("GET",   "/api/v1/imports/{scoped_import}",                        401, 200, 200, 404, 403, 200),
    row("GET",   "/api/v1/imports/{import}/errors.xlsx",                   401, 200, 200, 200, 403, 404),
    row("GET",   "/api/v1/imports/{other_import}/errors.xlsx",             401, 200, 200, 404, 403, 404),
    row("GET",   "/api/v1/imports/{scoped_import}/errors.xlsx",            401, 200, 200, 404, 403, 200),
    # -- sectors:read ------------------------------------------------------------------------------
    row("GET",   "/api/v1/sectors",                                        401, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/sectors/{sector}",                               401, 200, 200, 200, 200, 200),
    row("GET",   "/api/v1/sectors/{sector}/template.xlsx",                 401, 200, 200, 200, 200, 200),
]
# fmt: on


def _route_of(app: Flask, method: str, path: str) -> str | None:
    """The url_map rule a concrete path reaches (None: none)."""
    from werkzeug.exceptions import HTTPException

    try:
        rule, _ = app.url_map.bind("localhost").match(
            urlsplit(path).path, method=method, return_rule=True
        )
    except HTTPException:
        return None
    return rule.rule


class _Any(dict):
    def __missing__(self, key: str) -> str:
        # a USCC route takes only a segment of a USCC's length (18 characters)
        return "9" * 18 if "uscc" in key else "1"


def test_matrix_lists_every_route_and_method_and_no_other(matrix_app):
    """A new endpoint without a matrix row breaks CI, and so does a row whose route is gone."""
    app, _ = matrix_app
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = {}
    for r in MATRIX:
        listed.setdefault((r.method, _route_of(app, r.method, r.path.format_map(_Any()))), r.key)
    without_row = sorted(served - set(listed))
    without_route = sorted(key for route, key in listed.items() if route not in served)
    assert {"routes without a MATRIX row": without_row,
            "MATRIX rows naming no route": without_route} == {
        "routes without a MATRIX row": [], "MATRIX rows naming no route": []}  # fmt: skip
    assert len({r.key for r in MATRIX}) == len(MATRIX), "a row listed twice"


#: cells where a role holding the route's permission is refused by a documented rule
DOCUMENTED_REFUSALS = {
    ("PUT /api/v1/calendar/{year}", "scoped"): "the calendar is district-wide",
}
#: rows whose view asks for a permission beyond its marker (in the view's code)
IN_VIEW_PERMISSIONS = {"GET /api/v1/enterprises?order=risk": ("rankings:read",)}


def test_matrix_agrees_with_the_permission_table(matrix_app):
    """Each cell's 401/403 follows from the route's marker and ROLE_PERMISSIONS: anonymous
    gets 401 off public routes, a role with none of the permissions 403, a role with a
    district permission never 401/403 (unless a documented rule says so); a role with
    only an ``:own`` permission gets 200, 403 or 404 as the service narrows it."""
    app, _ = matrix_app
    role_of = {"scoped": "regulator"}
    problems = []
    for r in MATRIX:
        path = urlsplit(r.path.format_map(_Any())).path
        adapter = app.url_map.bind("localhost")
        endpoint, _ = adapter.match(path, method=r.method)
        marker = IN_VIEW_PERMISSIONS.get(r.key) or (
            (PUBLIC,)
            if endpoint in BUILTIN_PUBLIC_ENDPOINTS
            else view_access(app, endpoint, r.method)
        )
        for role, status in r.expected.items():
            held = set() if role == "anonymous" else ROLE_PERMISSIONS[role_of.get(role, role)]
            if PUBLIC in marker:
                ok = status not in (401, 403)
            elif role == "anonymous":
                ok = status == 401
            elif AUTHENTICATED in marker:
                ok = status not in (401, 403)
            elif not held & set(marker):
                ok = status == 403
            elif any(p in held for p in marker if not p.endswith(":own")):
                ok = status not in (401, 403) or (r.key, role) in DOCUMENTED_REFUSALS
            else:  # only an :own permission
                ok = status != 401
            if not ok:
                problems.append((r.key, role, status, marker))
    assert problems == []


# --- the world -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix_app(engine, database_url) -> Iterator[tuple[Flask, Any]]:
    """One app for the module, bound to one connection in an outer transaction that is
    rolled back at the end (as ``app_factory`` does per test): the world is built once."""
    connection = engine.connect()
    outer = connection.begin()
    application = create_app({**TEST_CONFIG, "DATABASE_URL": database_url})
    db.bind_to(application, connection)
    yield application, connection
    outer.rollback()
    connection.close()
    db.engine_for(application).dispose()


@pytest.fixture
def app(matrix_app) -> Iterator[Flask]:
    """This module's tests share the module's app and connection (on SQLite a second
    connection could not write while the module's holds its transaction open); each
    test runs in a SAVEPOINT rolled back after it."""
    application, connection = matrix_app
    savepoint = connection.begin_nested()
    yield application
    savepoint.rollback()


@pytest.fixture
def client(app) -> Any:
    return app.test_client()


@pytest.fixture
def identity(app, client) -> Callable[..., dict[str, str]]:
    return identities(app, client, prefix="t-")


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


ALL = {"A": "1", "B": "1", "C": "1", "D": "1"}


def build_world(app: Flask, client: Any) -> dict[str, Any]:
    """Enterprises and inspectors in MINE and THEIRS; two years of judged history, a
    trained model and a scoring run; plan ``plan`` (MINE, drawn, published) with the
    inspector's task and result and another inspector's; ``their_plan`` (THEIRS, drawn,
    unpublished) with its task and result; two drafts; credit events, conflicts and
    uploads; and the headers of each role."""
    from inspect_core.credit import jobs
    from inspect_core.plans.models import Task
    from inspect_core.results.models import Result

    identity = identities(app, client, prefix="matrix-")
    admin = identity("admin")
    w: dict[str, Any] = {"year": today_in_china().year, "sector": "food"}

    # fixed codes and badges (not the factories' counters): the draws, the history and
    # the model, and so the keys answers show, are the same whatever ran before
    usccs: dict[str, list[str]] = {MINE: [], THEIRS: []}
    badges: dict[str, list[str]] = {MINE: [], THEIRS: []}
    for n, region in enumerate((MINE, THEIRS)):
        for i in range(12):
            body = factories.enterprise(uscc=make_uscc(7_000_000 + 100 * n + i), region=region,
                                        name=f"{region}食品有限公司")  # fmt: skip
            _ok(client.post("/api/v1/enterprises", json=body, headers=admin))
            usccs[region].append(body["uscc"])
        for i in range(6):
            body = factories.inspector(badge=f"MATRIX-{n}{i}", region=region)
            _ok(client.post("/api/v1/inspectors", json=body, headers=admin))
            badges[region].append(body["badge"])

    # history for scoring: every enterprise drawn once, eight judged results each
    history = factories.create_plan(client, admin, ratios=ALL)
    _ok(client.post(f"/api/v1/plans/{history}/draw", json={"seed": 1}, headers=admin))
    rng = np.random.default_rng(7)
    today = today_in_china()
    with app.app_context():
        tasks = db.session.scalars(select(Task).where(Task.plan_id == history)).all()
        rows = [
            factories.history_result(
                task, today - dt.timedelta(days=40 + k * 80 + int(rng.integers(0, 30))),
                int(rng.random() < (0.7 if n % 3 == 0 else 0.1)),
            )
            for n, task in enumerate(tasks)
            for k in range(8)
        ]  # fmt: skip
        db.session.execute(insert(Result), rows)
        db.session.commit()
        jobs.train(db.session, "matrix", today, window_days=900)
        w["run"] = jobs.run(db.session, "matrix", today).id
        disclosed = db.session.scalar(select(Result.id).where(Result.plan_id == history).limit(1))
    _ok(client.patch(f"/api/v1/plans/{history}", json={"status": "published"}, headers=admin), 200)
    _ok(client.post(f"/api/v1/results/{disclosed}/disclose", headers=admin))

    def drawn(region: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        plan = factories.create_plan(client, admin, scope_regions=[region], ratios=ALL)
        draw = _ok(client.post(f"/api/v1/plans/{plan}/draw", json={"seed": 3}, headers=admin))
        tasks = _ok(client.get(f"/api/v1/tasks?plan={plan}&limit=100", headers=admin), 200)
        return plan, draw, tasks["items"]

    # MINE: the inspector's tasks and another inspector's
    w["plan"], draw, tasks = drawn(MINE)
    w["draw"], w["snapshot"] = draw["id"], draw["snapshot_id"]
    me = tasks[0]["inspectors"][0]
    mine = [t for t in tasks if me in t["inspectors"]]
    others = [t for t in tasks if me not in t["inspectors"]]
    assert len(mine) >= 2 and len(others) >= 2, tasks
    other = others[0]["inspectors"][0]
    w["badge"], w["other_badge"] = me, other
    w["task"], w["open_task"] = mine[0]["id"], mine[1]["id"]
    w["leaving"] = me
    w["other_task"], w["other_open_task"] = others[0]["id"], others[1]["id"]
    inspector = identity("inspector", badge=me)
    other_inspector = identity("inspector", badge=other)
    post_result = {"json": _result(w)}
    w["result"] = _ok(client.post(f"/api/v1/tasks/{w['task']}/results", **post_result,
                                  headers={**inspector, "Idempotency-Key": "w-1"}))["id"]  # fmt: skip
    w["other_result"] = _ok(client.post(f"/api/v1/tasks/{w['other_task']}/results", **post_result,
                                        headers={**other_inspector, "Idempotency-Key": "w-2"}))["id"]  # fmt: skip
    _ok(client.patch(f"/api/v1/plans/{w['plan']}", json={"status": "published"}, headers=admin),
        200)  # fmt: skip

    # THEIRS: drawn, not published
    w["their_plan"], draw, tasks = drawn(THEIRS)
    w["their_draw"], w["their_snapshot"] = draw["id"], draw["snapshot_id"]
    w["their_task"], w["their_leaving"] = tasks[0]["id"], tasks[0]["inspectors"][0]
    theirs = identity("inspector", badge=tasks[1]["inspectors"][0])
    w["their_result"] = _ok(client.post(f"/api/v1/tasks/{tasks[1]['id']}/results", **post_result,
                                        headers={**theirs, "Idempotency-Key": "w-3"}))["id"]  # fmt: skip
    w["their_badge"] = badges[THEIRS][0]
    w["draft"] = factories.create_plan(client, admin, scope_regions=[MINE])
    w["their_draft"] = factories.create_plan(client, admin, scope_regions=[THEIRS])

    # enterprises (rated with reasons: their keys show), credit events, conflicts
    ranked = _ok(client.get("/api/v1/enterprises?order=risk&limit=100", headers=admin), 200)
    reasoned = [e for e in ranked["items"] if e["reasons"]]
    w["uscc"] = next(e["uscc"] for e in reasoned if e["region"] == MINE)
    w["their_uscc"] = next(e["uscc"] for e in reasoned if e["region"] == THEIRS)
    w["their_usccs"] = usccs[THEIRS]
    w["conflict_uscc"] = next(u for u in usccs[MINE] if u != w["uscc"])
    w["their_conflict_uscc"] = next(u for u in usccs[THEIRS] if u != w["their_uscc"])
    for key, uscc in (("event", w["uscc"]), ("their_event", w["their_uscc"])):
        w[key] = _ok(client.post(f"/api/v1/enterprises/{uscc}/credit-events",
                                 **OLD_PENALTY(w), headers=admin))["id"]  # fmt: skip
    for badge, uscc in ((me, w["uscc"]), (other, w["uscc"]), (w["their_badge"], w["their_uscc"])):
        _ok(client.post(f"/api/v1/inspectors/{badge}/conflicts",
                        json={"uscc": uscc, "reason": "亲属在该企业任职"}, headers=admin))  # fmt: skip

    # uploads refused row by row (their reports and errors.xlsx have rows to show)
    scoped_peer = identity("regulator", regions=(MINE,))
    for key, headers, body in (
        ("import", inspector, RESULT_FILE({"open_task": 999_999})),
        ("other_import", other_inspector, RESULT_FILE({"open_task": 999_998})),
        ("scoped_import", scoped_peer, _upload(lambda _: [ENTERPRISE_HEADER,
                                                           ["not-a-uscc", "x", "food", MINE, "", "", ""]])(w)),
    ):  # fmt: skip
        path = "/api/v1/enterprises/import" if key == "scoped_import" else "/api/v1/results/import"
        w[key] = _ok(client.post(path, headers=headers, **body), 422)["import_id"]

    with app.app_context():
        from inspect_core.auth import service

        w["login"] = "matrix-login"
        service.create_user(db.session, w["login"], "correct horse", "regulator")
        db.session.commit()

    w["headers"] = {
        "anonymous": {},
        "admin": admin,
        "regulator": identity("regulator"),
        "inspector": inspector,
        "sector_admin": identity("sector_admin"),
        "scoped": identity("regulator", regions=(MINE,)),
    }
    return w


class Cell(NamedTuple):
    row: Row
    role: str
    status: int
    content_type: str
    body: Any  # parsed JSON, or None
    text: str
    located: bool
    asked: str  # the path and JSON body sent


@pytest.fixture(scope="module")
def observed(matrix_app) -> dict[str, Any]:
    """Every cell of MATRIX, each request in a SAVEPOINT rolled back after it."""
    app, connection = matrix_app
    client = app.test_client()
    world = build_world(app, client)
    cells: list[Cell] = []
    with untranslated_reasons() as missing:
        for r in MATRIX:
            path = r.path.format_map(world)
            for role in ROLES:
                kwargs = r.body(world) if r.body else {}
                headers = {**world["headers"][role], **kwargs.pop("headers", {})}
                savepoint = connection.begin_nested()
                try:
                    response = client.open(path, method=r.method, headers=headers, **kwargs)
                finally:
                    savepoint.rollback()
                asked = path + json.dumps(kwargs.get("json"), ensure_ascii=False)
                is_json = response.mimetype == "application/json" and bool(response.data)
                cells.append(Cell(r, role, response.status_code, response.mimetype,
                                  response.get_json() if is_json else None,
                                  response.get_data(as_text=True) if is_json or
                                  response.mimetype.startswith("text/") else "",
                                  "Location" in response.headers, asked))  # fmt: skip
    return {"world": world, "cells": cells, "untranslated": list(missing)}


def test_role_endpoint_matrix(observed):
    """Every cell answers its expected status; the 201s name what they made (Location)
    and every reason shown has a zh-CN entry (the conftest's autouse checks do not see
    requests made by a module fixture)."""
    failures = []
    for cell in observed["cells"]:
        expected = cell.row.expected[cell.role]
        if cell.status == expected:
            continue
        failures.append(f"{cell.row.key} as {cell.role}: expected {expected}, got "
                        f"{cell.status} {cell.body if cell.body is not None else cell.text[:200]}")  # fmt: skip
    assert not failures, "\n".join(failures)
    assert observed["untranslated"] == []
    assert [
        (c.row.key, c.role) for c in observed["cells"] if c.status == 201 and not c.located
    ] == []


# --- what each role is shown (API3) ----------------------------------------------------

SNAPSHOT = Path(__file__).parent / "snapshots" / "response_keys.json"
UPDATE_ENV = "INSPECT_UPDATE_SNAPSHOTS"

#: a field name as the API spells them; any other key of a JSON object (a tier letter,
#: a year, an id, a date, a USCC, a region name) is data, shown as ``*``
FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
#: objects whose keys are data although they look like field names (e.g. a map keyed by
#: sector code): none today; add the normalised path here
DATA_KEYED: frozenset[str] = frozenset()
#: documents shown whole, not records: the plugin's JSON Schema of its payload (its keys
#: are JSON Schema's vocabulary and the plugin's field names; ``GET /sectors`` documents
#: it).  Recorded as the key alone; the denylist still reads inside it
OPAQUE: frozenset[str] = frozenset({"items[].payload_schema", "payload_schema"})
#: the OpenAPI document is the spec itself (diffed against docs/openapi.json in
#: test_smoke): it names request fields such as ``password`` and is not snapshotted
NOT_SNAPSHOTTED = {"GET /api/openapi.json"}


def key_paths(node: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value: ``items[].uscc`` (list elements merged), ``ratios.*``
    (data keys collapsed), opaque documents not descended into."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            name = key if FIELD_NAME.match(key) and prefix not in DATA_KEYED else "*"
            path = f"{prefix}.{name}" if prefix else name
            out.add(path)
            if path not in OPAQUE:
                out |= key_paths(value, path)
    elif isinstance(node, list):
        for value in node:
            out |= key_paths(value, f"{prefix}[]")
    return out


def raw_keys(node: Any) -> Iterator[str]:
    """Every key name anywhere in a JSON value, as sent."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from raw_keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from raw_keys(value)


def observed_keys(cells: list[Cell]) -> dict[str, dict[str, list[str]]]:
    """``{"METHOD path": {role: sorted key paths}}`` of every 2xx JSON answer."""
    out: dict[str, dict[str, list[str]]] = {}
    for cell in cells:
        if (
            200 <= cell.status < 300
            and cell.body is not None
            and cell.row.key not in NOT_SNAPSHOTTED
        ):
            out.setdefault(cell.row.key, {})[cell.role] = sorted(key_paths(cell.body))
    return out


def grouped(keys: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    """The snapshot file's shape: per row, roles shown the same keys share one entry
    (``"admin regulator scoped": [...]``), so a role shown more or less stands out."""
    out: dict[str, dict[str, list[str]]] = {}
    for row_key in sorted(keys):
        groups: dict[tuple[str, ...], list[str]] = {}
        for role in ROLES:
            if role in keys[row_key]:
                groups.setdefault(tuple(keys[row_key][role]), []).append(role)
        out[row_key] = {" ".join(roles): list(paths) for paths, roles in groups.items()}
    return out


def ungrouped(snapshot: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    return {
        row_key: {role: paths for roles, paths in entry.items() for role in roles.split()}
        for row_key, entry in snapshot.items()
    }


def test_response_keys_match_the_snapshot(observed):
    """API3: a key no snapshot lists (a leaked ``password_hash``, an internal id) fails, as
    does a key gone missing; per row and role."""
    now = observed_keys(observed["cells"])
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        text = json.dumps(grouped(now), ensure_ascii=False, indent=2, sort_keys=False)
        SNAPSHOT.write_text(text + "\n", encoding="utf-8")
    assert SNAPSHOT.exists(), f"no {SNAPSHOT.name}: run with {UPDATE_ENV}=1 to write it"
    before = ungrouped(json.loads(SNAPSHOT.read_text(encoding="utf-8")))
    problems = []
    for row_key in sorted(set(now) | set(before)):
        for role in ROLES:
            got, had = now.get(row_key, {}).get(role), before.get(row_key, {}).get(role)
            if got is None and had is None:
                continue
            if had is None:
                problems.append(f"{row_key} as {role}: a 2xx JSON answer the snapshot lacks")
            elif got is None:
                problems.append(f"{row_key} as {role}: in the snapshot, no 2xx JSON answer now")
            else:
                if new := sorted(set(got) - set(had)):
                    problems.append(f"{row_key} as {role}: keys not in the snapshot {new}")
                if gone := sorted(set(had) - set(got)):
                    problems.append(f"{row_key} as {role}: keys gone missing {gone}")
    assert not problems, (
        "response keys differ from tests/api/snapshots/response_keys.json:\n  "
        + "\n  ".join(problems)
        + f"\nif the change is intended, rewrite the snapshot with {UPDATE_ENV}=1 and "
        "review its diff"
    )


#: key names no answer may carry, whatever the snapshot says: credentials and the internal
#: ids of objects the API names by a natural key (USCC, badge, username).  Chain hashes
#: are public on purpose (a draw's ``pool_hash``; the audit head's ``hash``, to be
#: signed and published outside the database, RELIABILITY.md §1.4), so not listed.
DENIED_KEYS = re.compile(
    r"password|secret|salt|private_key|api_key|token_hash|token_sha256|"
    r"^(user_id|enterprise_id|inspector_id|raw|idempotency_key|request_sha256|response_body)$",
    re.IGNORECASE,
)


def test_no_answer_carries_a_secret_or_an_internal_id(observed):
    found = {
        (cell.row.key, cell.role, key)
        for cell in observed["cells"]
        if cell.row.key not in NOT_SNAPSHOTTED
        for key in raw_keys(cell.body)
        if DENIED_KEYS.search(key)
    }
    assert sorted(found) == []
    hashes = [(c.row.key, c.role) for c in observed["cells"] if "$argon2" in c.text]
    assert hashes == [], "a password hash in an answer"


def test_a_scoped_user_is_never_shown_an_enterprise_of_another_region(observed):
    """API1 beyond the status: no answer to the regulator scoped to MINE (JSON, CSV or
    text, 2xx or error; public routes aside) names an enterprise of THEIRS, other than
    one the request itself named (a 404 may say which USCC it did not find)."""
    theirs = observed["world"]["their_usccs"]
    shown = [
        (cell.row.key, cell.status, uscc)
        for cell in observed["cells"]
        if cell.role == "scoped" and cell.row.expected["anonymous"] != 200
        for uscc in theirs
        if uscc in cell.text and uscc not in cell.asked
    ]
    assert shown == []


def test_roles_are_shown_different_fields_where_the_service_says_so(observed):
    """The public reads a published draw without the staff account that drew it."""
    keys = observed_keys(observed["cells"])["GET /api/v1/draws/{draw}"]
    assert "drawn_by" in keys["admin"] and "drawn_by" in keys["sector_admin"]
    assert "drawn_by" not in keys["anonymous"] and "drawn_by" not in keys["inspector"]
    assert set(keys["anonymous"]) < set(keys["admin"])


# --- region scope, one case each ----------------------------------------------------


def test_scoped_user_sees_only_their_regions(client, identity):
    admin = identity("admin")
    mine = factories.enterprise(region="华岩镇")
    theirs = factories.enterprise(region="走马镇")
    for body in (mine, theirs):
        assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    scoped = identity("regulator", regions=("华岩镇",))

    listed = client.get("/api/v1/enterprises?limit=500", headers=scoped).json["items"]
    assert {e["region"] for e in listed} == {"华岩镇"}
    assert mine["uscc"] in {e["uscc"] for e in listed}

    assert client.get(f"/api/v1/enterprises/{mine['uscc']}", headers=scoped).status_code == 200
    other = client.get(f"/api/v1/enterprises/{theirs['uscc']}", headers=scoped)
    assert other.status_code == 404  # not 403: existence is not disclosed
    patch = client.patch(
        f"/api/v1/enterprises/{theirs['uscc']}", json={"address": "x路1号"}, headers=scoped
    )
    assert patch.status_code == 404

    outside = client.post(
        "/api/v1/enterprises", json=factories.enterprise(region="走马镇"), headers=scoped
    )
    assert outside.status_code == 403
    assert "region" in outside.json["errors"]
    move = client.patch(
        f"/api/v1/enterprises/{mine['uscc']}", json={"region": "走马镇"}, headers=scoped
    )
    assert move.status_code == 403


def test_a_user_scoped_to_several_regions_sees_each_of_them(client, identity):
    """The token, the account and all its regions are read in one joined query; every
    region must survive it (a joined collection gives one row per region)."""
    admin = identity("admin")
    regions = ("华岩镇", "走马镇", "西彭镇")
    bodies = [factories.enterprise(region=r) for r in (*regions, "含谷镇")]
    for body in bodies:
        assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    scoped = identity("regulator", regions=regions)
    listed = client.get("/api/v1/enterprises?limit=500", headers=scoped).json["items"]
    assert {e["region"] for e in listed} == set(regions)
    me = client.get("/api/v1/auth/me", headers=scoped)
    assert me.status_code == 200 and me.json["regions"] == sorted(regions)


def test_scoped_user_sees_only_inspectors_of_their_regions(client, identity):
    admin = identity("admin")
    here = factories.inspector(region="华岩镇")
    there = factories.inspector(region="走马镇")
    for body in (here, there):
        assert client.post("/api/v1/inspectors", json=body, headers=admin).status_code == 201
    scoped = identity("regulator", regions=("华岩镇",))
    listed = client.get("/api/v1/inspectors?limit=500", headers=scoped).json["items"]
    assert {i["region"] for i in listed} == {"华岩镇"}
    assert client.get(f"/api/v1/inspectors/{there['badge']}", headers=scoped).status_code == 404


def test_scoped_user_cannot_put_an_inspector_outside_their_regions(client, identity):
    """A scoped regulator registers or moves inspectors only within their regions: one
    placed elsewhere would staff another region's draws and drop out of their own view."""
    admin = identity("admin")
    here = factories.inspector(region="华岩镇")
    assert client.post("/api/v1/inspectors", json=here, headers=admin).status_code == 201
    scoped = identity("regulator", regions=("华岩镇",))

    elsewhere = factories.inspector(region="走马镇")
    outside = client.post("/api/v1/inspectors", json=elsewhere, headers=scoped)
    assert outside.status_code == 403, outside.json
    assert "region" in outside.json["errors"]
    assert client.get(f"/api/v1/inspectors/{elsewhere['badge']}", headers=admin).status_code == 404

    move = client.patch(
        f"/api/v1/inspectors/{here['badge']}", json={"region": "走马镇"}, headers=scoped
    )
    assert move.status_code == 403, move.json
    assert "region" in move.json["errors"]
    kept = client.get(f"/api/v1/inspectors/{here['badge']}", headers=admin).json
    assert kept["region"] == "华岩镇"


def test_scope_filter_is_in_the_sql(app, identity):
    """The region clause is part of the statement, not a filter after loading."""
    from sqlalchemy import select

    from inspect_core.enterprises.models import Enterprise
    from inspect_core.scope import region_clause

    class Scoped:
        regions = ["华岩镇"]

    sql = str(select(Enterprise).where(region_clause(Scoped(), Enterprise.region)))
    assert "enterprises.region IN" in sql
