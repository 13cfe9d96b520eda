"""Who may call what (role × endpoint), default deny, and region scoping in the query."""

from __future__ import annotations

import pytest

from inspect_core.auth.access import unmarked_endpoints
from tests import factories


def test_every_route_declares_its_access(app):
    assert list(unmarked_endpoints(app)) == []


@pytest.fixture
def world(app, client, identity):
    """An admin-made enterprise and inspector, and a header set per role."""
    admin = identity("admin")
    ent = factories.enterprise()
    assert client.post("/api/v1/enterprises", json=ent, headers=admin).status_code == 201
    insp = factories.inspector()
    assert client.post("/api/v1/inspectors", json=insp, headers=admin).status_code == 201
    other = factories.inspector()
    assert client.post("/api/v1/inspectors", json=other, headers=admin).status_code == 201
    return {
        "enterprise": ent,
        "badge": insp["badge"],
        "other_badge": other["badge"],
        "headers": {
            "anonymous": {},
            "admin": admin,
            "regulator": identity("regulator"),
            "inspector": identity("inspector", badge=insp["badge"]),
            "sector_admin": identity("sector_admin"),
        },
    }


# (method, path template, body factory, expected status per role)
MATRIX = [
    ("GET", "/api/v1/enterprises", None,
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 200, "sector_admin": 200}),
    ("POST", "/api/v1/enterprises", lambda w: factories.enterprise(),
     {"anonymous": 401, "admin": 201, "regulator": 201, "inspector": 403, "sector_admin": 403}),
    ("GET", "/api/v1/enterprises/{uscc}", None,
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 200, "sector_admin": 200}),
    ("PATCH", "/api/v1/enterprises/{uscc}", lambda w: {"address": "新地址1号"},
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 403, "sector_admin": 403}),
    ("GET", "/api/v1/inspectors", None,
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 403, "sector_admin": 403}),
    ("POST", "/api/v1/inspectors", lambda w: factories.inspector(),
     {"anonymous": 401, "admin": 201, "regulator": 201, "inspector": 403, "sector_admin": 403}),
    ("GET", "/api/v1/inspectors/{badge}", None,
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 200, "sector_admin": 403}),
    ("GET", "/api/v1/inspectors/{other_badge}", None,
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 403, "sector_admin": 403}),
    ("PATCH", "/api/v1/inspectors/{badge}", lambda w: {"unit": "新单位"},
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 403, "sector_admin": 403}),
    ("GET", "/api/v1/inspectors/{badge}/conflicts", None,
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 200, "sector_admin": 403}),
    ("POST", "/api/v1/inspectors/{badge}/conflicts",
     lambda w: {"uscc": w["enterprise"]["uscc"], "reason": "配偶任该企业财务负责人"},
     {"anonymous": 401, "admin": 201, "regulator": 201, "inspector": 201, "sector_admin": 403}),
    ("POST", "/api/v1/inspectors/{other_badge}/conflicts",
     lambda w: {"uscc": w["enterprise"]["uscc"], "reason": "曾参与该企业案件办理"},
     {"anonymous": 401, "admin": 201, "regulator": 201, "inspector": 403, "sector_admin": 403}),
    ("GET", "/api/v1/sectors", None,
     {"anonymous": 401, "admin": 200, "regulator": 200, "inspector": 200, "sector_admin": 200}),
]  # fmt: skip


@pytest.mark.parametrize("role", ["anonymous", "admin", "regulator", "inspector", "sector_admin"])
def test_role_endpoint_matrix(app, client, world, role):
    from sqlalchemy import delete

    from inspect_core.db import db
    from inspect_core.inspectors.models import ConflictOfInterest

    failures = []
    for method, template, body, expected in MATRIX:
        path = template.format(
            uscc=world["enterprise"]["uscc"], badge=world["badge"], other_badge=world["other_badge"]
        )
        with app.app_context():  # a conflict may be declared once; each row starts clean
            db.session.execute(delete(ConflictOfInterest))
            db.session.commit()
        response = client.open(
            path, method=method, json=body(world) if body else None, headers=world["headers"][role]
        )
        if response.status_code != expected[role]:
            failures.append((method, path, expected[role], response.status_code, response.json))
    assert failures == []


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


def test_scope_filter_is_in_the_sql(app, identity):
    """The region clause is part of the statement, not a filter after loading."""
    from sqlalchemy import select

    from inspect_core.enterprises.models import Enterprise
    from inspect_core.scope import region_clause

    class Scoped:
        regions = ["华岩镇"]

    sql = str(select(Enterprise).where(region_clause(Scoped(), Enterprise.region)))
    assert "enterprises.region IN" in sql
