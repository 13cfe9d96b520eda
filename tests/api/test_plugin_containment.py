"""A plugin that raises or returns malformed data is contained: a clear error naming the
plugin, nothing stored.  A plugin set that cannot load refuses to start."""

from __future__ import annotations

import types

import pytest
from sqlalchemy import func, select

from inspect_core.plugin_api import (
    Finding,
    Judgement,
    Message,
    RuleInputError,
    Schema,
    Sector,
    fields,
    hookimpl,
)
from inspect_core.plugin_manager import PluginConfigError
from inspect_core.results.models import Result
from tests import factories


class LabSchema(Schema):
    reading = fields.Decimal(required=True, as_string=True)


def make_plugin(name: str, judge) -> types.SimpleNamespace:
    """A tiny plugin owning sector ``lab``, whose judge is ``judge``."""

    class Plugin:
        __name__ = name
        __version__ = "9.9.9"

        @hookimpl
        def inspect_sectors(self):
            return [Sector("lab", "实验室", "Laboratory", "9.9.9")]

        @hookimpl
        def inspect_payload_schema(self, sector):
            return LabSchema if sector == "lab" else None

        @hookimpl
        def inspect_judge(self, sector, payload, context):
            return judge(payload) if sector == "lab" else None

        @hookimpl
        def inspect_messages(self):
            return [Message("outside the instrument's range", "超出仪器量程")]

    return Plugin()


def raises(payload):
    raise ZeroDivisionError("bug in the plugin")


def not_a_judgement(payload):
    return {"passed": True}


def bad_severity(payload):
    return Judgement(
        passed=False, conclusion="fail", conclusion_zh="不合格", conclusion_en="fail",
        findings=(Finding("x", "catastrophic", "坏", "bad"),),
    )  # fmt: skip


def rule_input_error(payload):
    raise RuleInputError("reading", "outside the instrument's range")


def good(payload):
    return Judgement(passed=True, conclusion="pass", conclusion_zh="合格", conclusion_en="pass")


def staffed_task(app, identity) -> tuple[dict, dict]:
    """A drawn lab task and its inspector's headers."""
    client = app.test_client()
    admin = identity("admin")
    for _ in range(2):
        ent = factories.enterprise(sectors=["lab"], region="含谷镇")
        assert client.post("/api/v1/enterprises", json=ent, headers=admin).status_code == 201
    badges = []
    for _ in range(2):
        insp = factories.inspector(qualifications=["lab"], region="含谷镇")
        assert client.post("/api/v1/inspectors", json=insp, headers=admin).status_code == 201
        badges.append(insp["badge"])
    plan = client.post(
        "/api/v1/plans",
        json={"title": "实验室比对", "issuing_unit": "区局", "sector": "lab",
              "check_items": [{"code": "L1", "name_zh": "读数", "name_en": "Reading"}],
              "scope_regions": ["含谷镇"], "ratios": {"A": "1", "B": "1", "C": "1", "D": "1"},
              "due_date": factories.plan_body()["due_date"]},
        headers=admin,
    )  # fmt: skip
    assert plan.status_code == 201, plan.json
    assert (
        client.post(
            f"/api/v1/plans/{plan.json['id']}/draw", json={"seed": 1}, headers=admin
        ).status_code
        == 201
    )
    task = client.get("/api/v1/tasks?limit=1", headers=admin).json["items"][0]
    return task, identity("inspector", badge=task["inspectors"][0])


@pytest.mark.parametrize(
    ("judge", "status", "fragment"),
    [
        (raises, 502, "ZeroDivisionError"),
        (not_a_judgement, 502, "not a Judgement"),
        (bad_severity, 502, "malformed finding"),
        (rule_input_error, 422, "outside the instrument's range"),
    ],
)
def test_misbehaving_plugin_is_contained(app_factory, judge, status, fragment):
    app = app_factory(plugins=(make_plugin("lab_plugin", judge),))
    client = app.test_client()

    from inspect_core.db import db
    from tests.conftest import identities

    identity = identities(app, client, "lab-")

    task, me = staffed_task(app, identity)
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "lab", "payload": {"reading": "1.5"}, "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "lab-1"},
    )
    assert response.status_code == status, response.json
    text = response.json["message"] + str(response.json["errors"])
    assert fragment in text
    if status == 502:
        assert response.json["errors"]["plugin"] == ["lab_plugin"]
        assert "lab_plugin" in response.json["message"]
    else:
        assert "payload.reading" in response.json["errors"]
        # the plugin's own zh-CN for its reason, from its inspect_messages
        assert response.json["errors_zh"]["payload.reading"] == ["超出仪器量程"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Result)) == 0


def test_duplicate_sector_refuses_to_start(app_factory):
    plugin = make_plugin("food_again", good)
    plugin.inspect_sectors = hookimpl(lambda: [Sector("food", "食品", "Food", "0")])
    with pytest.raises(PluginConfigError, match="declared by both"):
        app_factory(plugins=(plugin,))


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ([Message("over {limit}", "超过 {maximum}")], "shows a placeholder it lacks"),
        ([Message("over {0}", "超过 {0}")], "is not a name"),
        (["over the limit"], "not a plugin_api.Message"),
    ],
)
def test_malformed_messages_refuse_to_start(app_factory, answer, fragment):
    """A bad zh-CN entry would break the first error response that met it: refused when
    the plugins load, naming the plugin."""
    plugin = make_plugin("lab_words", good)
    plugin.inspect_messages = hookimpl(lambda: answer)
    with pytest.raises(PluginConfigError, match=f"'lab_words' inspect_messages: .*{fragment}"):
        app_factory(plugins=(plugin,))


def test_enabled_but_not_installed_refuses_to_start(app_factory):
    with pytest.raises(PluginConfigError, match="not installed"):
        app_factory(PLUGINS=["food", "no_such_plugin"])


def test_installed_but_not_enabled_is_not_loaded(app_factory):
    from inspect_core.plugin_manager import get_pm

    app = app_factory(PLUGINS=["food"])
    names = {name for name, _ in get_pm(app).list_name_plugin()}
    assert "food" in names and "drugs" not in names
