"""Plugin facts (``Judgement.facts``): stored with each result by every write path, checked
like any plugin output, and turned into credit-model features with the plugin's labels."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from sqlalchemy import func, insert, select, text

from inspect_core.credit import jobs
from inspect_core.credit.models import CreditRating
from inspect_core.db import db
from inspect_core.plans.models import Task
from inspect_core.plugin_api import Fact, Judgement, Sector, hookimpl
from inspect_core.results.models import Result
from inspect_core.results.service import today_in_china
from tests import factories
from tests.api.test_imports import FOOD_HEADER, csv_bytes, upload
from tests.factories import create_plan, food_payload


def drawn_tasks(client, identity, district):
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 11}, headers=regulator)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=regulator).json["items"]
    badge = tasks[0]["inspectors"][0]
    return [t for t in tasks if badge in t["inspectors"]], identity("inspector", badge=badge)


def stored_facts(session, task_id: int):
    session.rollback()
    return session.execute(
        select(Result.facts, Result.passed, text("facts IS NULL")).where(Result.task_id == task_id)
    ).one()


def test_the_api_stores_a_samples_facts_and_null_when_it_has_none(
    client, identity, district, session
):
    mine, me = drawn_tasks(client, identity, district)
    over = {"sector": "food", "payload": food_payload("0.25"), "conclusion_code": "corrected"}
    fine = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"}
    for task, body, key in ((mine[0], over, "f-1"), (mine[1], fine, "f-2")):
        response = client.post(f"/api/v1/tasks/{task['id']}/results", json=body,
                               headers={**me, "Idempotency-Key": key})  # fmt: skip
        assert response.status_code == 201, response.json
    assert stored_facts(session, mine[0]["id"]) == ({"food_limit_exceedances": 1.0}, False, False)
    # no facts: SQL NULL (not JSON null), so the partial index leaves the row out
    assert stored_facts(session, mine[1]["id"]) == (None, True, True)


def test_a_bulk_upload_stores_the_same_facts(client, identity, district, session):
    mine, me = drawn_tasks(client, identity, district)
    day = today_in_china().isoformat()
    rows = [FOOD_HEADER]
    for task, value, conclusion in ((mine[0], "0.3", "corrected"), (mine[1], "0.1", "no_problem")):
        rows.append([task["id"], conclusion, f"S-{task['id']}", "大米", "cereal.rice.milled", day,
                     "circulation", "Cd", value, "mg/kg"])  # fmt: skip
    response = upload(client, "/api/v1/results/import", me, csv_bytes(rows), "r.csv",
                      sector="food", key="facts-csv")  # fmt: skip
    assert response.status_code == 201, response.json
    assert response.json["accepted"] == 2
    assert stored_facts(session, mine[0]["id"]) == ({"food_limit_exceedances": 1.0}, False, False)
    assert stored_facts(session, mine[1]["id"]) == (None, True, True)


class FactPlugin:
    """Owns sector ``lab`` and declares one fact; its judgement carries ``facts``."""

    __name__ = "fact_lab"
    __version__ = "0.1"

    def __init__(self, facts) -> None:
        self.facts = facts

    @hookimpl
    def inspect_sectors(self):
        return [Sector("lab", "实验室", "Laboratory", "0.1",
                       facts=(Fact("lab_hits", "检出次数", "Hits"),))]  # fmt: skip

    @hookimpl
    def inspect_judge(self, sector, payload, context):
        if sector != "lab":
            return None
        return Judgement(False, "fail", "不合格", "fails", facts=self.facts)


@pytest.mark.parametrize(
    ("facts", "fragment"),
    [
        ((("lab_misses", 1.0),), "not declared"),
        ((("Lab Hits", 1.0),), "is not of the form"),
        ((("l" * 41, 1.0),), "is not of the form"),  # a column and a feature name
        ((("lab_hits", math.nan),), "not a finite number"),
        # stored as given, past 64 bits the JSON column refused it (a 500); float() of
        # one past 1e308 raised
        ((("lab_hits", 2**64),), "an integer past 64 bits"),
        ((("lab_hits", 10**400),), "an integer past 64 bits"),
        ((("lab_hits", 2**63 - 1),), None),
        ((("lab_hits", "3"),), "not a number"),
        ((("lab_hits", 1.0), ("lab_hits", 2.0)), "given twice"),
        (("lab_hits",), "not a (name, value) pair"),
        # unpacking three into a pair raised ValueError (a 500)
        ((("lab_hits", 1.0, "x"),), "not a (name, value) pair"),
        ((("lab_hits", True),), "not a number"),
        ((("lab_hits", 2.0),), None),
    ],
)
def test_facts_are_checked_like_any_plugin_output(app_factory, facts, fragment):
    from tests.api.test_plugin_containment import staffed_task
    from tests.conftest import identities

    app = app_factory(plugins=(FactPlugin(facts),))
    client = app.test_client()
    identity = identities(app, client, "fact-")

    task, me = staffed_task(app, identity)
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "lab", "payload": {"checks": [{"item": "x", "passed": False}]},
              "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "lab-facts"},
    )  # fmt: skip
    with app.app_context():
        stored = db.session.scalars(select(Result.facts)).all()
    if fragment is None:
        assert response.status_code == 201, response.json
        assert stored == [{name: float(value) for name, value in facts}]
    else:
        assert response.status_code == 502, response.json
        assert fragment in response.json["message"]
        assert response.json["errors"]["plugin"] == ["fact_lab"]
        assert stored == []


def test_facts_become_features_with_the_plugins_labels(app, client, identity, district):
    """Enterprises whose samples keep showing banned substances fail more often; the
    model gets the fact as a feature and its reasons use the food plugin's labels."""
    admin = district["admin"]
    plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=admin)
    rng = np.random.default_rng(3)
    today = today_in_china()
    with app.app_context():
        s = db.session
        tasks = s.scalars(select(Task).where(Task.plan_id == plan_id).order_by(Task.id)).all()
        rows = []
        for n, task in enumerate(tasks):
            flagged = n % 2 == 0
            for k in range(10):
                major = int(rng.random() < (0.6 if flagged else 0.1))
                hits = float(flagged and rng.random() < 0.7)
                day = today - dt.timedelta(days=int(20 + k * 60 + rng.integers(0, 20)))
                facts = {"food_banned_hits": hits} if hits else None
                rows.append(factories.history_result(task, day, major, facts=facts))
        s.execute(insert(Result), rows)
        s.commit()
        with_facts = s.scalar(select(func.count()).where(Result.facts.is_not(None)))
        assert 0 < with_facts < len(rows)
        model = jobs.train(s, "test", today, window_days=700)
        assert {"food_banned_hits_180d", "food_banned_hits_730d"} <= set(
            model.metrics and model.features
        )
        run = jobs.run(s, "test", today)
        ratings = s.scalars(select(CreditRating.reasons).where(CreditRating.run_id == run.id)).all()
    codes = {(r["code"], r["text_zh"], r["text_en"]) for listed in ratings for r in listed}
    fact_reasons = {c for c in codes if c[0].startswith("food_banned_hits")}
    assert fact_reasons, codes
    # the plugin's label, with the half-life and the row's range: one text per half-life
    for code, zh, en in fact_reasons:
        half_life = code.rsplit("_", 1)[1][:-1]
        assert zh.startswith("禁用物质及致病菌检出次数") and f"每{half_life}天权重减半" in zh
        assert en.startswith(
            f"Banned substances or pathogens detected, weighted by recency (weight halves every "
            f"{half_life} days"
        )
