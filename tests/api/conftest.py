"""Fixtures shared by the API tests of scoring."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from inspect_core.audit.records import store_loaded
from inspect_core.credit import jobs
from inspect_core.db import db
from inspect_core.plans.models import Task
from inspect_core.results.service import today_in_china
from tests import factories
from tests.factories import create_plan


@pytest.fixture
def scored(app, client, identity, district):
    """Two years of results for the district (a third of it risky), a serious-dishonesty
    entry, an enterprise with no history, a trained model and one scoring run."""
    admin = identity("admin")
    plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=admin)
    fresh = factories.enterprise(region="华岩镇", name="重庆新开业有限公司")
    client.post("/api/v1/enterprises", json=fresh, headers=admin)
    listed = factories.enterprise(region="走马镇", name="重庆失信有限公司")
    client.post("/api/v1/enterprises", json=listed, headers=admin)
    rng = np.random.default_rng(7)
    today = today_in_china()
    with app.app_context():
        s = db.session
        tasks = s.scalars(select(Task).where(Task.plan_id == plan_id).order_by(Task.id)).all()
        rows = []
        for n, task in enumerate(tasks):
            risky = n % 3 == 0
            for k in range(8):
                major = int(rng.random() < (0.7 if risky else 0.1))
                day = today - dt.timedelta(days=int(40 + k * 80 + rng.integers(0, 30)))
                minor = int(rng.integers(0, 3))
                rows.append(factories.history_result(task, day, major, minor_count=minor))
        store_loaded(s, "history-import", rows)  # as the demo loads its history
        s.commit()
    response = client.post(
        f"/api/v1/enterprises/{listed['uscc']}/credit-events",
        json={"type": "serious_dishonesty", "occurred_on": str(today - dt.timedelta(days=10)),
              "severity": "critical", "source": "渝市监失信〔2026〕3号"},
        headers=admin,
    )  # fmt: skip
    assert response.status_code == 201, response.json
    with app.app_context():
        model = jobs.train(db.session, "test", today, window_days=900)
        run = jobs.run(db.session, "test", today)
        ids = {"model": model.version, "run": run.id}
    return {
        "admin": admin,
        "fresh": fresh["uscc"],
        "listed": listed["uscc"],
        "plan": plan_id,
        **ids,
    }
