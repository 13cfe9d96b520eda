"""The third-party template plugin (examples/inspect-plugin-template), installed into the
test environment by ``make test``, enabled by configuration, judging a result via the API."""

from __future__ import annotations

import importlib.metadata

import pytest

from inspect_core.plugin_manager import available_entry_points
from tests import factories

DEFAULT = ["food", "drugs", "special_equipment", "construction"]


def test_template_plugin_is_installed_as_a_distribution():
    assert "metrology" in available_entry_points(), "run `make test` (it installs the example)"
    assert importlib.metadata.version("inspect-plugin-metrology")


def test_installed_template_plugin_is_not_enabled_by_default(client, identity):
    codes = {
        s["code"] for s in client.get("/api/v1/sectors", headers=identity("admin")).json["items"]
    }
    assert "metrology" not in codes


@pytest.fixture
def metrology_app(app_factory):
    return app_factory(PLUGINS=[*DEFAULT, "metrology"])


def test_enabled_template_plugin_judges_a_result_through_the_api(metrology_app):
    from inspect_core.auth import service
    from inspect_core.db import db

    app = metrology_app
    client = app.test_client()
    counter = iter(range(100))

    def identity(role, badge=None):
        name = f"{role}-m-{next(counter)}"
        with app.app_context():
            service.create_user(db.session, name, "correct horse", role, badge)
            db.session.commit()
        token = client.post(
            "/api/v1/auth/token", json={"username": name, "password": "correct horse"}
        )
        return {"Authorization": f"Bearer {token.json['access_token']}"}

    admin = identity("admin")
    sector = client.get("/api/v1/sectors/metrology", headers=admin)
    assert sector.status_code == 200
    assert sector.json["plugin"] == "metrology" and sector.json["name_zh"] == "计量器具"
    ent = factories.enterprise(sectors=["metrology"], region="石桥铺街道")
    assert client.post("/api/v1/enterprises", json=ent, headers=admin).status_code == 201
    badges = []
    for _ in range(2):
        insp = factories.inspector(qualifications=["metrology"], region="石桥铺街道")
        assert client.post("/api/v1/inspectors", json=insp, headers=admin).status_code == 201
        badges.append(insp["badge"])
    plan = factories.create_plan(
        client, admin, sector="metrology", scope_regions=["石桥铺街道"],
        ratios={"A": "1", "B": "1", "C": "1", "D": "1"},
    )  # fmt: skip
    assert (
        client.post(f"/api/v1/plans/{plan}/draw", json={"seed": 2}, headers=admin).status_code
        == 201
    )
    task = client.get(f"/api/v1/tasks?plan={plan}", headers=admin).json["items"][0]
    me = identity("inspector", badge=task["inspectors"][0])
    payload = {
        "instruments": [
            {"kind": "retail_scale", "serial_no": "SC-001", "verified_on": None},
            {"kind": "fuel_dispenser", "serial_no": "FD-9", "verified_on": "2026-09-01",
             "verification_certificate_no": "JD-2026-1", "error_pct": "0.1"},
        ]
    }  # fmt: skip
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "metrology", "payload": payload, "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "m-1"},
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["plugin"] == "metrology"
    assert body["plugin_version"] == importlib.metadata.version("inspect-plugin-metrology")
    assert body["passed"] is False
    assert any(f["severity"] == "major" and f["source"] == "plugin" for f in body["findings"])
