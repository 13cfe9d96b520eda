"""Inspector registry and conflicts of interest."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inspect_core.inspectors.models import ConflictOfInterest, Inspector
from tests import factories


@pytest.fixture
def regulator(identity):
    return identity("regulator")


def test_create_read_patch_and_list_by_qualification(client, regulator):
    body = factories.inspector(qualifications=["food", "special_equipment"])
    created = client.post("/api/v1/inspectors", json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert created.headers["Location"].endswith(f"/api/v1/inspectors/{body['badge']}")
    patched = client.patch(
        f"/api/v1/inspectors/{body['badge']}",
        json={"active": False, "qualifications": ["special_equipment"]},
        headers=regulator,
    )
    assert patched.status_code == 200
    assert patched.json["active"] is False
    listed = client.get(
        "/api/v1/inspectors?qualification=special_equipment&active=false&limit=500",
        headers=regulator,
    ).json["items"]
    assert body["badge"] in {i["badge"] for i in listed}
    food = client.get("/api/v1/inspectors?qualification=food&limit=500", headers=regulator)
    assert body["badge"] not in {i["badge"] for i in food.json["items"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"badge": "has space"}, "badge"),
        # a final newline passed the pattern's $: a second CQ-0001, and past String(32)
        # a 500 on PostgreSQL
        ({"badge": "CQ-0001\n"}, "badge"),
        ({"badge": "A" * 32 + "\n"}, "badge"),
        ({"qualifications": ["astrology"]}, "qualifications"),
        ({"active": "maybe"}, "active"),
        ({"salary": 1}, "salary"),
    ],
)
def test_bad_inspector_fields_are_named(client, regulator, session, change, field):
    before = session.scalar(select(func.count()).select_from(Inspector))
    response = client.post(
        "/api/v1/inspectors", json=factories.inspector(**change), headers=regulator
    )
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert session.scalar(select(func.count()).select_from(Inspector)) == before


def test_an_unknown_qualification_filter_is_a_422_not_an_empty_list(client, regulator):
    """A typo in ``?qualification=`` listed nobody, as if the district had no such
    inspector (``?sector=`` on enterprises is refused so already)."""
    response = client.get("/api/v1/inspectors?qualification=fod", headers=regulator)
    assert response.status_code == 422, response.json
    assert "qualification" in response.json["errors"], response.json
    assert client.get("/api/v1/inspectors?qualification=food", headers=regulator).status_code == 200


def test_duplicate_badge_is_409(client, regulator):
    body = factories.inspector()
    assert client.post("/api/v1/inspectors", json=body, headers=regulator).status_code == 201
    again = client.post("/api/v1/inspectors", json=body, headers=regulator)
    assert again.status_code == 409
    assert again.json["errors"] == {"badge": ["already registered"]}
    # it had the generic zh-CN text of any 409, where a USCC's says what happened
    assert again.json["message_zh"] == "该检查员编号已登记"


def test_conflicts_declared_listed_and_not_duplicated(client, regulator, session):
    ent = factories.enterprise()
    insp = factories.inspector()
    client.post("/api/v1/enterprises", json=ent, headers=regulator)
    client.post("/api/v1/inspectors", json=insp, headers=regulator)
    path = f"/api/v1/inspectors/{insp['badge']}/conflicts"
    body = {"uscc": ent["uscc"], "reason": "近亲属在该企业任职"}
    created = client.post(path, json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert created.json["uscc"] == ent["uscc"]
    assert client.post(path, json=body, headers=regulator).status_code == 409
    listed = client.get(path, headers=regulator).json["items"]
    assert [c["uscc"] for c in listed] == [ent["uscc"]]
    assert session.scalar(select(func.count()).select_from(ConflictOfInterest)) == 1


def test_conflict_with_unregistered_or_invalid_enterprise(client, regulator):
    insp = factories.inspector()
    client.post("/api/v1/inspectors", json=insp, headers=regulator)
    path = f"/api/v1/inspectors/{insp['badge']}/conflicts"
    unknown = client.post(
        path, json={"uscc": factories.uscc(), "reason": "亲属"}, headers=regulator
    )
    assert unknown.status_code == 422
    assert "uscc" in unknown.json["errors"]
    invalid = client.post(path, json={"uscc": "123", "reason": "亲属"}, headers=regulator)
    assert invalid.status_code == 422
    assert "uscc" in invalid.json["errors"]
    no_reason = client.post(path, json={"uscc": factories.uscc()}, headers=regulator)
    assert "reason" in no_reason.json["errors"]


def test_one_conflict_declared_twice_at_once_is_a_409_on_postgresql(committed_app, monkeypatch):
    """A double click on 申请回避: both requests found the pair undeclared, and the second
    insert broke the unique (inspector, enterprise) pair, a 500.  It is now the 409 a
    declaration made twice in turn gets."""
    import threading

    from inspect_core.inspectors import service

    app, _ = committed_app
    client = app.test_client()
    admin = factories.committed_user(app, "clerk", "admin")
    ent, insp = factories.enterprise(), factories.inspector()
    assert client.post("/api/v1/enterprises", json=ent, headers=admin).status_code == 201
    assert client.post("/api/v1/inspectors", json=insp, headers=admin).status_code == 201
    start = threading.Barrier(2)
    real_get, real_audit = service.get, service.audit
    inside = threading.Event()

    def get(*args, **kwargs):
        start.wait(timeout=10)  # both requests reach the check together
        return real_get(*args, **kwargs)

    def audit(*args, **kwargs):
        if not inside.is_set():  # the first one in holds its insert a while
            inside.set()
            threading.Event().wait(0.5)
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(service, "get", get)
    monkeypatch.setattr(service, "audit", audit)
    statuses: list[int] = []

    def declare() -> None:
        response = app.test_client().post(
            f"/api/v1/inspectors/{insp['badge']}/conflicts",
            json={"uscc": ent["uscc"], "reason": "近亲属在该企业任职"},
            headers=admin,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=declare) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    monkeypatch.undo()
    assert sorted(statuses) == [201, 409]
    listed = client.get(f"/api/v1/inspectors/{insp['badge']}/conflicts", headers=admin)
    assert [c["uscc"] for c in listed.json["items"]] == [ent["uscc"]]


def test_q_finds_an_inspector_name_whatever_the_case_of_its_latin_letters(client, regulator):
    """``q`` matched a name's Latin letters case-blind on SQLite (LIKE) but not on
    PostgreSQL, where LIKE is case-sensitive: ``q=li`` missed "LI Wei" in production."""
    body = factories.inspector(name="LI Wei")
    assert client.post("/api/v1/inspectors", json=body, headers=regulator).status_code == 201
    for q in ("LI", "li", "Li wei"):
        listed = client.get(f"/api/v1/inspectors?q={q}&limit=500", headers=regulator)
        assert body["badge"] in {i["badge"] for i in listed.json["items"]}, q


def test_q_finds_a_badge_typed_full_width(client, regulator):
    """Badges are ASCII; one typed with the input method in full-width mode matched
    nothing."""
    body = factories.inspector()
    assert client.post("/api/v1/inspectors", json=body, headers=regulator).status_code == 201
    wide = "".join(chr(ord(c) + 0xFEE0) for c in body["badge"])  # "T-12" → "Ｔ－１２"
    assert wide != body["badge"]
    for q in (body["badge"], wide):
        listed = client.get(f"/api/v1/inspectors?q={q}&limit=500", headers=regulator)
        assert body["badge"] in {i["badge"] for i in listed.json["items"]}, q
