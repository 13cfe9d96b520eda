"""The credit page shows each sector plugin's risk factors (``inspect_risk_factors``),
computed from the enterprise's current stored results before today; a plugin that raises
or answers in the wrong shape costs its own section an error, never the page."""

from __future__ import annotations

import datetime as dt

import pytest

from inspect_core.plugin_api import RiskFactor, Sector, hookimpl
from inspect_core.results import service as results_service
from tests import factories
from tests.factories import create_plan, food_payload


def record_failed_food_result(client, identity, district) -> str:
    """Draw a food plan and record one sample over the Cd limit; the enterprise's USCC."""
    admin = district["admin"]
    plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    assert client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1},
                       headers=admin).status_code == 201  # fmt: skip
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"][0]
    me = identity("inspector", badge=task["inspectors"][0])
    body = {"sector": "food", "payload": food_payload("0.25"), "conclusion_code": "corrected"}
    response = client.post(f"/api/v1/tasks/{task['id']}/results", json=body,
                           headers={**me, "Idempotency-Key": "factor-1"})  # fmt: skip
    assert response.status_code == 201, response.json
    assert response.json["passed"] is False
    return task["uscc"]


def food_section(page: dict) -> dict:
    (food,) = [s for s in page["sector_factors"] if s["sector"] == "food"]
    return food


def test_credit_page_shows_the_food_plugins_factors_from_results_before_today(
    client, identity, district, monkeypatch
):
    uscc = record_failed_food_result(client, identity, district)
    regulator = identity("regulator")

    today = client.get(f"/api/v1/enterprises/{uscc}/credit", headers=regulator)
    assert today.status_code == 200, today.json
    food = food_section(today.json)
    assert food["plugin"] == "food" and food["error"] is None
    values = {f["name"]: f["value"] for f in food["factors"]}
    # recorded today: not yet before as_of (today), so not counted
    assert values["food_limit_exceedances"] == 0 and values["food_failed_sample_rate"] == 0

    tomorrow = results_service.today_in_china() + dt.timedelta(days=1)
    monkeypatch.setattr(results_service, "today_in_china", lambda: tomorrow)
    page = client.get(f"/api/v1/enterprises/{uscc}/credit", headers=regulator).json
    food = food_section(page)
    values = {f["name"]: f["value"] for f in food["factors"]}
    assert values["food_limit_exceedances"] == 1.0
    assert values["food_failed_sample_rate"] == 1.0
    assert all(f["text_zh"] and f["text_en"] and f["text_zh"] != f["text_en"]
               for f in food["factors"])  # fmt: skip


class Broken:
    """Owns sector ``lab``; its risk factors answer with ``answer`` (or raise it)."""

    __name__ = "broken_lab"
    __version__ = "0.1"

    def __init__(self, answer) -> None:
        self.answer = answer

    @hookimpl
    def inspect_sectors(self):
        return [Sector("lab", "实验室", "Laboratory", "0.1")]

    @hookimpl
    def inspect_risk_factors(self, sector, results, as_of):
        if sector != "lab":
            return None
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (ZeroDivisionError("bug in the plugin"), "ZeroDivisionError"),
        ({"lab_rate": 1.0}, "not a list of RiskFactor"),
        ([RiskFactor("lab_rate", float("nan"), "比率", "Rate")], "not a finite number"),
        (["lab_rate"], "not a RiskFactor"),
        ([RiskFactor("lab_rate", 2.0, "比率", "Rate")], None),
    ],
)
def test_a_misbehaving_plugin_costs_its_own_section_only(app_factory, answer, fragment):
    from tests.conftest import identities

    app = app_factory(plugins=(Broken(answer),))
    client = app.test_client()
    admin = identities(app, client, "broken-")("admin")
    body = factories.enterprise(sectors=["food", "lab"])
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201

    page = client.get(f"/api/v1/enterprises/{body['uscc']}/credit", headers=admin)
    assert page.status_code == 200, page.json
    sections = {s["sector"]: s for s in page.json["sector_factors"]}
    assert sections["food"]["error"] is None and sections["food"]["factors"]
    lab = sections["lab"]
    assert lab["plugin"] == "broken_lab"
    if fragment is None:
        assert lab["error"] is None
        assert lab["factors"] == [{"name": "lab_rate", "value": 2.0, "text_zh": "比率",
                                   "text_en": "Rate"}]  # fmt: skip
    else:
        assert lab["factors"] == []
        assert fragment in lab["error"] and "broken_lab" in lab["error"]
        assert "broken_lab" in lab["error_zh"]
