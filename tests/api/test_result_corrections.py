"""Recording a result and correcting it through the JSON API: paging, deadlines, recusal
and a correction racing another."""

from __future__ import annotations

import datetime as dt
import functools

import pytest

from inspect_core.results import service
from tests import factories
from tests.api.test_spot_checks import _committed_draw
from tests.concurrency import linger, meet, together
from tests.factories import create_plan, food_payload

BODY = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"}
FIX = {**BODY, "payload": food_payload("0.25"), "conclusion_code": "corrected",
       "reason": "实验室复核后更正检测值"}  # fmt: skip


def _recorded(client, identity, n: int) -> tuple[dict, list[dict], list[dict]]:
    """A drawn plan, ``n`` of its tasks each with a result; regulator, tasks, results."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 3}, headers=regulator)
    assert drawn.status_code == 201, drawn.json
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit={n}", headers=regulator).json["items"]
    results = []
    for i, task in enumerate(tasks):
        me = identity("inspector", badge=task["inspectors"][0])
        response = client.post(
            f"/api/v1/tasks/{task['id']}/results", json=BODY,
            headers={**me, "Idempotency-Key": f"r-{i}"},
        )  # fmt: skip
        assert response.status_code == 201, response.json
        results.append(response.json)
    return regulator, tasks, results


def test_a_result_corrected_while_results_are_paged_is_listed_once(client, identity, district):
    """``GET /results`` was paged by the current version's id: a result corrected while an
    inspector or a regulator paged took a new, higher id, jumped ahead of the cursor and was
    never listed.  Paged by the result's first version, it is listed once, corrected."""
    regulator, _, results = _recorded(client, identity, 4)
    plan_id = results[0]["plan_id"]
    ids = [r["id"] for r in results]
    query = f"/api/v1/results?plan={plan_id}&limit=2"
    first = client.get(query, headers=regulator).json
    assert [i["id"] for i in first["items"]] == ids[:1:-1]
    correction = client.post(f"/api/v1/results/{ids[0]}/corrections", json=FIX, headers=regulator)
    assert correction.status_code == 201, correction.json
    second = client.get(f"{query}&cursor={first['next_cursor']}", headers=regulator).json
    assert [i["id"] for i in second["items"]] == [ids[1], correction.json["id"]]
    assert second["next_cursor"] is None


def test_a_correction_keeps_the_disclosure_deadline(client, identity, district, monkeypatch):
    """A correction counted the 20 working days (一公开) again from its own day: a result
    overdue for disclosure left ``/disclosures/overdue`` once corrected, and its new
    deadline hid how late it was.  A correction keeps the result's deadline."""
    regulator, _, (result,) = _recorded(client, identity, 1)
    due = dt.date.fromisoformat(result["disclosure_due"])
    late = due + dt.timedelta(days=3)
    overdue = f"/api/v1/disclosures/overdue?as_of={late}"
    assert result["id"] in {
        i["result_id"] for i in client.get(overdue, headers=regulator).json["items"]
    }
    monkeypatch.setattr(service, "today_in_china", lambda: due + dt.timedelta(days=1))
    correction = client.post(f"/api/v1/results/{result['id']}/corrections", json=FIX,
                             headers=regulator)  # fmt: skip
    assert correction.status_code == 201, correction.json
    assert correction.json["disclosure_due"] == result["disclosure_due"]
    assert correction.json["disclosure_basis"] == result["disclosure_basis"]
    items = client.get(overdue, headers=regulator).json["items"]
    assert [i["result_id"] for i in items] == [correction.json["id"]]


def test_a_correction_without_a_date_keeps_the_inspection_day(
    client, identity, district, monkeypatch
):
    """A correction restates what one inspection found: sent without ``inspected_on``, it
    keeps the result's day (it had no test made on another day than the result, where a
    default of today moved a December result into the next year's KPIs)."""
    regulator, _, (result,) = _recorded(client, identity, 1)
    later = dt.date.fromisoformat(result["inspected_on"]) + dt.timedelta(days=40)
    monkeypatch.setattr(service, "today_in_china", lambda: later)
    assert "inspected_on" not in FIX
    correction = client.post(f"/api/v1/results/{result['id']}/corrections", json=FIX,
                             headers=regulator)  # fmt: skip
    assert correction.status_code == 201, correction.json
    assert correction.json["inspected_on"] == result["inspected_on"]


def test_a_result_of_a_closed_plan_is_not_corrected(client, identity, district):
    """A closed plan takes no more results, corrections included: only the recording of a
    new result on a closed plan had a test, so a correction let through went unseen."""
    regulator, _, (result,) = _recorded(client, identity, 1)
    plan = f"/api/v1/plans/{result['plan_id']}"
    for status in ("published", "closed"):
        changed = client.patch(plan, json={"status": status}, headers=regulator)
        assert changed.status_code == 200, changed.json
    refused = client.post(f"/api/v1/results/{result['id']}/corrections", json=FIX,
                          headers=regulator)  # fmt: skip
    assert refused.status_code == 409, refused.json
    assert refused.json["errors"] == {"plan": ["closed"]}
    assert refused.json["message_zh"] == "抽查计划已关闭"
    chain = client.get(f"/api/v1/results/{result['id']}", headers=regulator).json
    assert [v["id"] for v in chain["versions"]] == [result["id"]]


def test_a_recused_inspector_does_not_read_the_tasks_results(client, identity, district):
    """An inspector released from a task (回避: a relative runs the enterprise) no longer
    sees the task, but still read, and listed, every result the new team recorded on it.
    Results are read as the task is: by the inspectors now on it."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 3}, headers=regulator)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=regulator).json["items"][0]
    leaving = task["inspectors"][0]
    moved = client.post(
        f"/api/v1/tasks/{task['id']}/reassign",
        json={"badge": leaving, "reason": "检查人员申请回避：与企业负责人系亲属"},
        headers=regulator,
    )
    assert moved.status_code == 200, moved.json
    staying = identity("inspector", badge=moved.json["inspectors"][0])
    recorded = client.post(f"/api/v1/tasks/{task['id']}/results", json=BODY,
                           headers={**staying, "Idempotency-Key": "after"})  # fmt: skip
    assert recorded.status_code == 201, recorded.json
    me = identity("inspector", badge=leaving)
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=me).status_code == 404
    assert client.get(f"/api/v1/results/{recorded.json['id']}", headers=me).status_code == 404
    assert client.get("/api/v1/results", headers=me).json["items"] == []


@pytest.mark.parametrize("same_key", [False, True])
def test_two_corrections_of_one_version_at_once_on_postgresql(committed_app, monkeypatch, same_key):
    """Two corrections of one version at once (a double click, or two inspectors) both
    found it current; the second insert broke the unique version and answered 500.  Now
    the second waits for the first, then gets the 409, or with the same key its replay."""
    app, _ = committed_app
    client = app.test_client()
    admin, plan_id = _committed_draw(app, client, inspectors=4)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"][0]
    me = factories.committed_user(app, "inspector-1", "inspector", task["inspectors"][0])
    recorded = client.post(f"/api/v1/tasks/{task['id']}/results", json=BODY,
                           headers={**me, "Idempotency-Key": "c-1"})  # fmt: skip
    assert recorded.status_code == 201, recorded.json

    meet(monkeypatch, service, "_readable")  # both requests reach the check together
    linger(monkeypatch, service)  # the first one in holds its insert a while
    answers: list[tuple[int, dict, bool]] = []

    def correct(n: int) -> None:
        key = "fix" if same_key else f"fix-{n}"
        response = app.test_client().post(
            f"/api/v1/results/{recorded.json['id']}/corrections", json=FIX,
            headers={**me, "Idempotency-Key": key},
        )  # fmt: skip
        answers.append((response.status_code, response.json,
                        response.headers.get("Idempotent-Replayed") == "true"))  # fmt: skip

    together(functools.partial(correct, 0), functools.partial(correct, 1))
    monkeypatch.undo()
    statuses = sorted(status for status, _, _ in answers)
    if same_key:
        assert statuses == [201, 201], answers
        assert answers[0][1] == answers[1][1]
        assert sorted(replayed for _, _, replayed in answers) == [False, True]
    else:
        assert statuses == [201, 409], answers
    chain = client.get(f"/api/v1/results/{recorded.json['id']}", headers=admin).json
    assert [v["version"] for v in chain["versions"]] == [1, 2]
