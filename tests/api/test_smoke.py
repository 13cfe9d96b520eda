"""The spec and docs are served; errors have one shape."""

from __future__ import annotations


def test_openapi_json_lists_the_registry_paths(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json["paths"]
    for path in (
        "/api/v1/enterprises",
        "/api/v1/enterprises/{uscc}",
        "/api/v1/inspectors",
        "/api/v1/inspectors/{badge}",
        "/api/v1/inspectors/{badge}/conflicts",
        "/api/v1/auth/token",
    ):
        assert path in paths, path


def test_docs_ui_is_served(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()


def test_unknown_route_uses_error_shape(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert set(response.json) >= {"code", "status", "message", "errors"}
    assert response.json["code"] == 404
