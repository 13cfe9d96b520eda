"""The spec and docs are served; errors have one shape."""

from __future__ import annotations

import re

import pytest

from inspect_core.app import create_app


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
    # the page loads one pinned version of Swagger UI, never the CDN's moving latest
    scripts = re.findall(rb'src="([^"]+)"', response.data)
    assert scripts and all(b"swagger-ui-dist@5.18.2/" in src for src in scripts), scripts


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


def test_the_served_spec_is_the_one_kept_in_the_repository(client):
    """OWASP API9: the spec is generated from the code and diffed in CI, so a change to
    what the API takes or answers shows in review as a change to ``docs/openapi.json``,
    never unnoticed.  After a deliberate change: ``inspect-core openapi print >
    docs/openapi.json``."""
    import json
    from pathlib import Path

    kept = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text("utf-8"))
    served = client.get("/api/openapi.json").json
    changed = sorted(
        {f"path {p}" for p in set(kept["paths"]) ^ set(served["paths"])}
        | {f"path {p}" for p in set(kept["paths"]) & set(served["paths"])
           if kept["paths"][p] != served["paths"][p]}
        | {f"schema {n}" for n in set(kept["components"]["schemas"])
           | set(served["components"]["schemas"])
           if kept["components"]["schemas"].get(n) != served["components"]["schemas"].get(n)}
    )  # fmt: skip
    assert served == kept, f"the API changed ({changed[:10]}); review, then regenerate it"


def test_security_headers_on_every_answer_and_no_cors_for_a_hostile_origin(app, client):
    """OWASP API8: the headers are set on a success, a refusal, a missing route and a
    500 alike, and an ``Origin`` of another site is never echoed back: the API grants no
    cross-site reads (it serves no CORS headers at all)."""

    @app.route("/api/v1/boom-headers")
    def boom():  # pragma: no cover - the body is the point
        raise RuntimeError("boom")

    boom._inspect_access = ("public",)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    hostile = {"Origin": "https://evil.example"}
    answers = [
        client.get("/api/v1/public/results", headers=hostile),
        client.get("/api/v1/enterprises", headers=hostile),  # no token: 401
        client.get("/api/v1/nothing-here", headers=hostile),
        client.get("/api/v1/boom-headers", headers=hostile),
        client.options("/api/v1/enterprises", headers={
            **hostile, "Access-Control-Request-Method": "DELETE"}),
    ]  # fmt: skip
    assert [a.status_code for a in answers[:4]] == [200, 401, 404, 500]
    for answer in answers:
        headers = answer.headers
        assert headers["X-Content-Type-Options"] == "nosniff", answer.status_code
        assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert not any(k.lower().startswith("access-control-") for k, _ in headers.items())


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


@pytest.mark.parametrize(
    "cutoffs",
    [
        {"A": 560.0, "B": 590.0, "C": 620.0},  # reversed
        {"A": 620.0, "B": 620.0, "C": 560.0},  # A not above B
        {"A": 620.0, "B": 590.0},  # C missing
        "620,590,560",
    ],
)
def test_bad_tier_cutoffs_are_refused_when_the_app_starts(cutoffs):
    """Out-of-order cut-offs were accepted and only broke `score run`, after all its work."""
    with pytest.raises(ValueError, match=r"TIER_CUTOFFS .*A, B and C|TIER_CUTOFFS .*A > B > C"):
        create_app({"TIER_CUTOFFS": cutoffs, "DATABASE_URL": "sqlite://"})


@pytest.mark.parametrize(
    ("cutoffs", "message"),
    [
        ({"A": float("inf"), "B": 590.0, "C": 560.0}, "must be finite numbers"),
        ({"A": 620.0, "B": 590.0, "C": float("-inf")}, "must be finite numbers"),
        ({"A": True, "B": 0.5, "C": 0.0}, "must be finite numbers"),
        ({"A": 620.0, "B": 590.0, "C": 560.0, "D": 530.0}, "name only A, B and C .* D"),
    ],
)
def test_infinite_or_extra_tier_cutoffs_are_refused_when_the_app_starts(cutoffs, message):
    """A = Infinity was accepted: tier A stayed empty, the run stored the cut-off as null
    and ``/scoring/points`` answered ``Infinity``, which is not JSON; a ``D`` cut-off was
    ignored without a word."""
    with pytest.raises(ValueError, match=f"TIER_CUTOFFS .*{message}"):
        create_app({"TIER_CUTOFFS": cutoffs, "DATABASE_URL": "sqlite://"})


def test_tier_cutoffs_from_the_environment_are_checked_too(monkeypatch):
    monkeypatch.setenv("INSPECT_TIER_CUTOFFS", '{"A": 560, "B": 590, "C": 620}')
    with pytest.raises(ValueError, match="INSPECT_TIER_CUTOFFS.*A > B > C"):
        create_app({"DATABASE_URL": "sqlite://"})
    monkeypatch.setenv("INSPECT_TIER_CUTOFFS", '{"A": 650, "B": 600, "C": 550}')
    assert create_app({"DATABASE_URL": "sqlite://"}).config["TIER_CUTOFFS"]["A"] == 650


@pytest.mark.parametrize(
    "shares", [{"A": 0.5, "B": 0.5, "C": 0.5, "D": 0.0}, {"A": 1.0}, "0.3,0.4,0.2,0.1", None]
)
def test_bad_tier_shares_are_refused_when_the_app_starts(shares):
    with pytest.raises(ValueError, match="TIER_SHARES .*share"):
        create_app({"TIER_SHARES": shares, "DATABASE_URL": "sqlite://"})


def test_tier_cut_offs_are_the_models_unless_set():
    """Unset, a run uses its model's cut-offs (set from TIER_SHARES at training)."""
    config = create_app({"DATABASE_URL": "sqlite://"}).config
    assert config["TIER_CUTOFFS"] is None
    assert sum(config["TIER_SHARES"].values()) == pytest.approx(1)


@pytest.mark.parametrize("alpha", [0, 1.5, -0.01, "0.05", True])
def test_a_bad_scorecard_significance_level_is_refused_when_the_app_starts(alpha):
    """Refused in English and zh-CN, as the tier settings beside it are."""
    with pytest.raises(ValueError, match="SCORECARD_ALPHA") as refused:
        create_app({"SCORECARD_ALPHA": alpha, "DATABASE_URL": "sqlite://"})
    assert "above 0" in str(refused.value) and "显著性水平" in str(refused.value)


@pytest.mark.parametrize("ahead", [-1, 36_501, "731", 1.5, True])
def test_a_bad_plan_horizon_is_refused_when_the_app_starts(ahead, monkeypatch):
    """PLAN_MAX_DAYS_AHEAD bounds every plan's due date: a negative one would refuse every
    plan, and one that is not a whole number ("1.5") would fail each create with a 500."""
    with pytest.raises(ValueError, match="PLAN_MAX_DAYS_AHEAD") as refused:
        create_app({"PLAN_MAX_DAYS_AHEAD": ahead, "DATABASE_URL": "sqlite://"})
    assert "0 to 36500" in str(refused.value) and "截止日" in str(refused.value)
    monkeypatch.setenv("INSPECT_PLAN_MAX_DAYS_AHEAD", "365")
    assert create_app({"DATABASE_URL": "sqlite://"}).config["PLAN_MAX_DAYS_AHEAD"] == 365


@pytest.mark.parametrize("ahead", [-1, 36_501, "731", 1.5, True])
def test_a_bad_licence_horizon_is_refused_when_the_app_starts(ahead, monkeypatch):
    """LICENCE_MAX_DAYS_AHEAD bounds every licence's expiry, as PLAN_MAX_DAYS_AHEAD does a
    plan's due date: one that is not a whole number would fail each create with a 500."""
    with pytest.raises(ValueError, match="LICENCE_MAX_DAYS_AHEAD") as refused:
        create_app({"LICENCE_MAX_DAYS_AHEAD": ahead, "DATABASE_URL": "sqlite://"})
    assert "0 to 36500" in str(refused.value) and "许可证" in str(refused.value)
    monkeypatch.setenv("INSPECT_LICENCE_MAX_DAYS_AHEAD", "3653")
    assert create_app({"DATABASE_URL": "sqlite://"}).config["LICENCE_MAX_DAYS_AHEAD"] == 3653


@pytest.mark.parametrize(
    ("name", "value", "bounds"),
    [
        ("IMPORT_MAX_BYTES", "40MB", "1 to"),
        ("IMPORT_MAX_BYTES", 0, "1 to"),
        ("IMPORT_MAX_ROWS", -1, "1 to"),
        ("IMPORT_MAX_CELL_CHARS", 2.5, "1 to"),
        ("IMPORT_MAX_XLSX_RATIO", True, "1 to"),
        ("IMPORT_WORKERS", "two", "0 to 1024"),
        ("IMPORT_PARALLEL_MIN_ROWS", -5, "0 to"),
    ],
)
def test_a_bad_upload_setting_is_refused_when_the_app_starts(name, value, bounds, monkeypatch):
    """The upload limits are read at each upload: INSPECT_IMPORT_MAX_BYTES=40MB started an
    app whose every upload was a 500, and IMPORT_MAX_ROWS=-1 one that refused every file
    as "more than -1 rows"."""
    with pytest.raises(ValueError, match=name) as refused:
        create_app({name: value, "DATABASE_URL": "sqlite://"})
    assert bounds in str(refused.value) and "须为" in str(refused.value)
    monkeypatch.setenv(f"INSPECT_{name}", "7")
    assert create_app({"DATABASE_URL": "sqlite://"}).config[name] == 7


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_net_of_inspector_setting_that_is_not_true_or_false_is_refused(value, monkeypatch):
    """INSPECT_SCORING_NET_OF_INSPECTOR=yes would be read as text, which is truthy: a
    district meaning "no" would get the opposite."""
    with pytest.raises(ValueError, match="SCORING_NET_OF_INSPECTOR") as refused:
        create_app({"SCORING_NET_OF_INSPECTOR": value, "DATABASE_URL": "sqlite://"})
    assert "true or false" in str(refused.value) and "须为" in str(refused.value)
    assert create_app({"DATABASE_URL": "sqlite://"}).config["SCORING_NET_OF_INSPECTOR"] is True
    monkeypatch.setenv("INSPECT_SCORING_NET_OF_INSPECTOR", "false")
    assert create_app({"DATABASE_URL": "sqlite://"}).config["SCORING_NET_OF_INSPECTOR"] is False


def test_the_scorecard_significance_level_may_be_switched_off(monkeypatch):
    monkeypatch.setenv("INSPECT_SCORECARD_ALPHA", "null")
    assert create_app({"DATABASE_URL": "sqlite://"}).config["SCORECARD_ALPHA"] is None
    monkeypatch.setenv("INSPECT_SCORECARD_ALPHA", "0.05")
    assert create_app({"DATABASE_URL": "sqlite://"}).config["SCORECARD_ALPHA"] == 0.05


@pytest.mark.parametrize(
    "waits", [{"fireworks": 365}, {"serious_dishonesty": -1}, {"penalty": "1y"}, "365"]
)
def test_bad_credit_repair_waits_are_refused_when_the_app_starts(waits):
    with pytest.raises(ValueError, match="CREDIT_REPAIR_MIN_DAYS"):
        create_app({"CREDIT_REPAIR_MIN_DAYS": waits, "DATABASE_URL": "sqlite://"})


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("CREDIT_REPAIR_MIN_DAYS", {"penalty": {"severe": 365}}, "penalty.severe: not a severity"),
        ("CREDIT_REPAIR_MIN_DAYS", {"penalty": {"major": True}}, "penalty.major"),
        ("CREDIT_EVENT_DAYS", {"penalty": {"minor": 0}}, "penalty.minor: 0"),
        ("CREDIT_EVENT_DAYS", {"recall": "2y"}, "recall"),
        ("CREDIT_EVENT_DAYS", [90], "[90]"),
        ("CREDIT_REPAIR_REFUSED", {"type": "penalty"}, "not a list"),
        ("CREDIT_REPAIR_REFUSED", [{"type": "penalty", "sectors": ["fireworks"]}], "fireworks"),
        ("CREDIT_REPAIR_REFUSED", [{"type": "penalty", "severity": "critical"}], "[0].severity"),
        ("CREDIT_REPAIR_REFUSED", [{"type": "penalty", "severity": []}], "non-empty"),
        ("CREDIT_REPAIR_REFUSED", [{"type": "fine"}], "[0].type"),
        ("CREDIT_REPAIR_REFUSED", [{"type": "penalty", "sector": ["food"]}], "unknown keys"),
        # a list or an object where a name belongs: unhashable, a TypeError before
        ("CREDIT_REPAIR_REFUSED", [{"type": ["penalty"]}], "[0].type"),
        ("CREDIT_REPAIR_REFUSED", [{"type": {"penalty": 1}}], "[0].type"),
        (
            "CREDIT_REPAIR_REFUSED",
            [{"type": "penalty", "severity": [["critical"]]}],
            "[0].severity",
        ),
        # past what a date can hold: every event listing of the type was a 500
        ("CREDIT_EVENT_DAYS", {"penalty": 5_000_000}, "penalty: 5000000"),
        ("CREDIT_REPAIR_MIN_DAYS", {"penalty": {"major": 5_000_000}}, "penalty.major"),
        ("CREDIT_EXPIRY_MAX_DAYS", 0, "0 — a whole number of days from 1 to 36600"),
        ("CREDIT_EXPIRY_MAX_DAYS", "10y", "'10y'"),
        ("CREDIT_EXPIRY_MAX_DAYS", True, "True"),
        # shorter than a default term: every penalty recorded without a date would
        # count longer than the bound its own request may give
        ("CREDIT_EXPIRY_MAX_DAYS", 365, "penalty.major: 1096"),  # P3Y: at most 1096 days
        ("CREDIT_EVENT_DAYS", {"recall": "P101Y"}, "recall: 'P101Y'"),  # past MAX_DAYS
        ("CREDIT_EVENT_DAYS", {"recall": "P9999Y"}, "recall: 'P9999Y'"),  # past year 9999
        ("CREDIT_REPAIR_MIN_DAYS", {"penalty": "P0Y"}, "penalty: 'P0Y'"),
    ],
)
def test_bad_credit_rules_are_refused_when_the_app_starts(name, value, named):
    """Each names the setting, its environment variable and the entry at fault, in both
    languages."""
    with pytest.raises(ValueError) as refused:
        create_app({name: value, "DATABASE_URL": "sqlite://"})
    message = str(refused.value)
    assert f"{name} (INSPECT_{name})" in message and named in message, message
    assert "设置有误" in message


def test_credit_rules_by_severity_load_from_the_environment(monkeypatch):
    monkeypatch.setenv(
        "INSPECT_CREDIT_REPAIR_MIN_DAYS", '{"penalty": {"critical": 730}, "recall": 30}'
    )
    monkeypatch.setenv("INSPECT_CREDIT_EVENT_DAYS", '{"abnormal_operations": 1095}')
    monkeypatch.setenv("INSPECT_CREDIT_REPAIR_REFUSED", "[]")
    config = create_app({"DATABASE_URL": "sqlite://"}).config
    assert config["CREDIT_REPAIR_MIN_DAYS"] == {"penalty": {"critical": 730}, "recall": 30}
    assert config["CREDIT_EVENT_DAYS"] == {"abnormal_operations": 1095}
    assert config["CREDIT_REPAIR_REFUSED"] == []


def test_a_repair_rule_may_name_a_sector_only_a_plugin_declares():
    """The sector catalogue is the configured sectors and every enabled plugin's: a
    district whose SECTORS leaves food, drugs and special equipment to their plugins
    could not start with the default CREDIT_REPAIR_REFUSED."""
    own = {"hazardous_chemicals": {"zh": "危险化学品", "en": "Hazardous chemicals"}}
    app = create_app({"SECTORS": own, "DATABASE_URL": "sqlite://"})
    assert app.config["CREDIT_REPAIR_REFUSED"][0]["sectors"] == [
        "food", "drugs", "special_equipment"
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"unknown sectors \['food', 'special_equipment'\]"):
        create_app({"SECTORS": own, "PLUGINS": ["drugs"], "DATABASE_URL": "sqlite://"})


def test_a_nested_environment_setting_changes_only_its_own_app(monkeypatch):
    """Flask reads ``INSPECT_A__B`` into the dict of A: it changed the class default, so
    every app built afterwards in the process (each test's) had it too."""
    monkeypatch.setenv("INSPECT_CREDIT_REPAIR_MIN_DAYS__penalty__critical", "730")
    changed = create_app({"DATABASE_URL": "sqlite://"}).config["CREDIT_REPAIR_MIN_DAYS"]
    assert changed["penalty"] == {"major": "P1Y", "critical": 730}
    monkeypatch.delenv("INSPECT_CREDIT_REPAIR_MIN_DAYS__penalty__critical")
    again = create_app({"DATABASE_URL": "sqlite://"}).config["CREDIT_REPAIR_MIN_DAYS"]
    assert again["penalty"] == {"major": "P1Y", "critical": "P1Y"}


def test_a_runaway_statement_in_a_request_is_a_503_and_jobs_are_not_bounded(committed_app):
    """OWASP API4: one statement of a request may run for ``STATEMENT_TIMEOUT_MS`` on
    PostgreSQL, then the request is a 503 in the error shape (before, nothing bounded it:
    a filter no index serves held a connection and a CPU for as long as it ran).  The
    CLI's jobs, outside any request, are not bounded: a rescore may run long."""
    import time

    from sqlalchemy import text

    from inspect_core.db import db

    app, _ = committed_app

    @app.route("/api/v1/slow-test")
    def slow():  # pragma: no cover - the body is the point
        db.session.execute(text("SELECT pg_sleep(2)"))
        return {"slept": True}

    slow._inspect_access = ("public",)
    app.config.update(STATEMENT_TIMEOUT_MS=200, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    started = time.monotonic()
    response = client.get("/api/v1/slow-test")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503, response.json
    assert response.json["errors"] == {
        "request": ["the database took longer than 200 ms (STATEMENT_TIMEOUT_MS)"]
    }
    assert "200 毫秒" in response.json["message_zh"]
    assert client.get("/api/v1/public/results").status_code == 200  # the pool's connection
    with app.app_context():  # as a CLI job: no bound
        assert db.session.execute(text("SELECT pg_sleep(0.4), 1")).one()[1] == 1


@pytest.mark.parametrize("limit", [-1, 3_600_001, "60000", 1.5, True])
def test_a_bad_statement_timeout_is_refused_when_the_app_starts(limit):
    with pytest.raises(ValueError, match="STATEMENT_TIMEOUT_MS") as refused:
        create_app({"STATEMENT_TIMEOUT_MS": limit, "DATABASE_URL": "sqlite://"})
    assert "0 to 3600000" in str(refused.value) and "SQL" in str(refused.value)
