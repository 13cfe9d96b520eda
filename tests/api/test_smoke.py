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


def test_every_route_is_in_the_spec_and_every_spec_path_routes(app, client):
    """OWASP API9 (inventory): the published spec and the served routes are the same set."""
    import re

    spec_paths = set(client.get("/api/openapi.json").json["paths"])
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
    }
    assert routes == spec_paths


def test_a_500_leaks_no_traceback(app, client):
    @app.route("/api/v1/boom-test")
    def boom():  # pragma: no cover - the body is the point
        raise RuntimeError("secret detail")

    boom._inspect_access = ("public",)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/api/v1/boom-test")
    assert response.status_code == 500
    assert "secret detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.json["code"] == 500
