"""The double-random loop through the API: plan → frozen pool → draw → tasks → results →
corrections → disclosure, with idempotency, immutability and the audit chain."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
import threading
import zlib
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text, update

from inspect_core.audit.models import AuditEvent
from inspect_core.plans.models import Draw, Plan, PoolSnapshot, Task, TaskAssignment
from inspect_core.results.models import Attachment, Disclosure, Result
from inspect_core.results.service import CHINA
from tests import factories
from tests.concurrency import linger, meet, together
from tests.factories import REGIONS, create_plan, food_payload


def freeze_and_draw(client, headers, plan_id: int) -> dict:
    frozen = client.post(f"/api/v1/plans/{plan_id}/pool", headers=headers)
    assert frozen.status_code == 201, frozen.json
    drawn_at = dt.datetime.fromisoformat(frozen.json["frozen_at"]) + dt.timedelta(seconds=1)
    response = client.post(
        f"/api/v1/plans/{plan_id}/draw",
        json={
            "public_value": "527",
            "public_source": "中国福利彩票3D 第2026318期开奖号码",
            "public_drawn_at": drawn_at.isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.json
    return {"snapshot": frozen.json, "draw": response.json}


def inspector_headers(identity, badge):
    return identity("inspector", badge=badge)


def test_whole_loop(client, identity, district, session):
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    drawn = freeze_and_draw(client, regulator, plan_id)
    draw = drawn["draw"]

    # the seed comes from the frozen pool's hash and the public value, nothing else
    from inspect_core.plans.draw import derive_seed

    assert draw["seed"] == str(derive_seed(drawn["snapshot"]["pool_hash"], "527"))
    assert draw["seed_kind"] == "public"
    assert draw["pool_hash"] == drawn["snapshot"]["pool_hash"]
    assert draw["tasks"] == math.ceil(0.5 * 24)
    assert client.get(f"/api/v1/plans/{plan_id}", headers=regulator).json["status"] == "drawn"

    verify = client.get(f"/api/v1/draws/{draw['id']}/verify", headers=regulator)
    assert verify.status_code == 200
    assert verify.json["identical"] is True

    # every task has 2 distinct active food inspectors; the inactive one never appears
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=regulator).json["items"]
    assert len(tasks) == draw["tasks"]
    inactive = district["inspectors"][7]
    for task in tasks:
        assert len(set(task["inspectors"])) == 2
        assert inactive not in task["inspectors"]
        assert set(task["inspectors"]) <= set(district["inspectors"][:7])

    # an inspector sees only their own tasks
    task = tasks[0]
    badge = task["inspectors"][0]
    me = inspector_headers(identity, badge)
    mine = client.get("/api/v1/tasks?limit=100", headers=me).json["items"]
    assert mine and all(badge in t["inspectors"] for t in mine)

    # record a result with an idempotency key; a retry replays, a different body is refused
    body = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"}
    path = f"/api/v1/tasks/{task['id']}/results"
    first = client.post(path, json=body, headers={**me, "Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.json
    assert first.json["passed"] is True
    assert first.json["plugin"] == "food"
    assert first.json["plugin_version"]
    assert first.json["judgement"]["items"][0]["standard"].startswith("GB 2762")
    again = client.post(path, json=body, headers={**me, "Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = client.post(
        path,
        json={**body, "conclusion_code": "corrected"},
        headers={**me, "Idempotency-Key": "k-1"},
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json["errors"]
    count = session.scalar(
        select(func.count()).select_from(Result).where(Result.task_id == task["id"])
    )
    assert count == 1

    # a failing sample with a "no problem" conclusion contradicts the judgement
    bad = client.post(
        path,
        json={**body, "payload": food_payload("0.25")},
        headers={**me, "Idempotency-Key": "k-2"},
    )
    assert bad.status_code == 422
    assert "conclusion_code" in bad.json["errors"]

    # a correction is a new version; the result shows the current one and the chain
    correction = client.post(
        f"/api/v1/results/{first.json['id']}/corrections",
        json={**body, "payload": food_payload("0.25"), "conclusion_code": "corrected",
              "reason": "实验室复核后更正检测值"},
        headers=me,
    )  # fmt: skip
    assert correction.status_code == 201, correction.json
    assert correction.json["passed"] is False
    assert correction.json["version"] == 2
    chain = client.get(f"/api/v1/results/{first.json['id']}", headers=regulator).json
    assert chain["id"] == correction.json["id"]
    assert [v["version"] for v in chain["versions"]] == [1, 2]
    assert chain["versions"][1]["correction_reason"] == "实验室复核后更正检测值"
    stale = client.post(
        f"/api/v1/results/{first.json['id']}/corrections",
        json={**body, "reason": "再次更正"},
        headers=me,
    )
    assert stale.status_code == 409
    assert stale.json["message_zh"].endswith("已被 {} 更正取代，请更正当前版本".format(
        correction.json["id"]))  # fmt: skip

    # publish, disclose, and the public sees only public fields of the current version
    assert (
        client.patch(
            f"/api/v1/plans/{plan_id}", json={"status": "published"}, headers=regulator
        ).status_code
        == 200
    )
    disclosed = client.post(f"/api/v1/plans/{plan_id}/disclose", headers=regulator)
    assert disclosed.json == {"disclosed": 1}
    public = client.get("/api/v1/public/results")
    assert public.status_code == 200
    (item,) = [i for i in public.json["items"] if i["plan_id"] == plan_id]
    assert item["conclusion_code"] == "corrected" and item["corrected"] is True
    assert item["conclusion_zh"] == "发现问题已责令改正"
    assert "payload" not in item and "recorded_by" not in item and "findings" not in item
    plans = client.get("/api/v1/public/plans").json["items"]
    (published,) = [p for p in plans if p["id"] == plan_id]
    assert published["draws"][0]["pool_hash"] == draw["pool_hash"]
    # the plan names its sector as its results do, in zh-CN and English
    assert (published["sector_zh"], published["sector_en"]) == (item["sector_zh"], "Food")
    assert item["sector_zh"] == "食品"
    snap = client.get(f"/api/v1/public/snapshots/{draw['snapshot_id']}")
    import hashlib

    assert hashlib.sha256(snap.data).hexdigest() == draw["pool_hash"]

    # closed plans take no more results
    assert (
        client.patch(
            f"/api/v1/plans/{plan_id}", json={"status": "closed"}, headers=regulator
        ).status_code
        == 200
    )
    other_task = next(t for t in mine if t["id"] != task["id"]) if len(mine) > 1 else None
    target = other_task or task
    closed = client.post(
        f"/api/v1/tasks/{target['id']}/results", json=body, headers={**me, "Idempotency-Key": "k-3"}
    )
    assert closed.status_code == 409
    assert "plan" in closed.json["errors"]

    # the audit chain holds
    audit = client.get("/api/v1/audit/verify", headers=regulator)
    assert audit.json["ok"] is True and audit.json["events"] > 30


def test_a_due_date_past_or_years_ahead_is_a_422_and_no_plan_is_stored(
    app, client, identity, district, session
):
    """A plan due yesterday made every task overdue, and every disclosure late, at once;
    one due in 2062 kept its tasks open that long.  Create and PATCH (of a draft) name
    ``due_date``; today and today + PLAN_MAX_DAYS_AHEAD are taken."""
    from inspect_core.results.service import today_in_china
    from tests.factories import plan_body

    regulator = identity("regulator")
    today = today_in_china()
    ahead = int(app.config["PLAN_MAX_DAYS_AHEAD"])
    before = session.scalar(select(func.count()).select_from(Plan))
    for day, why in ((today - dt.timedelta(days=1), f"before today ({today})"),
                     (today + dt.timedelta(days=ahead + 1), "after ")):  # fmt: skip
        response = client.post(
            "/api/v1/plans", json=plan_body(due_date=str(day)), headers=regulator
        )
        assert response.status_code == 422, (day, response.json)
        assert list(response.json["errors"]) == ["due_date"]
        assert response.json["errors"]["due_date"][0].startswith(why)
    assert session.scalar(select(func.count()).select_from(Plan)) == before
    plan_id = create_plan(client, regulator, due_date=str(today))
    patched = client.patch(
        f"/api/v1/plans/{plan_id}",
        json={"due_date": str(today - dt.timedelta(days=30))},
        headers=regulator,
    )
    assert patched.status_code == 422 and "due_date" in patched.json["errors"], patched.json
    furthest = str(today + dt.timedelta(days=ahead))
    patched = client.patch(
        f"/api/v1/plans/{plan_id}", json={"due_date": furthest}, headers=regulator
    )
    assert patched.status_code == 200 and patched.json["due_date"] == furthest, patched.json


def test_check_items_over_the_limit_or_with_a_repeated_code_are_a_422_on_create_and_patch(
    client, identity, session
):
    """A PATCH of a draft skipped create's limits on check items: 5,000 items, or two with
    code C-1, were stored and, once the plan was published, published.  Create and PATCH
    refuse both naming ``check_items``, in both languages, and store nothing; 200 items
    are taken."""
    from tests.factories import plan_body

    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    path = f"/api/v1/plans/{plan_id}"
    stored = client.get(path, headers=regulator).json["check_items"]
    plans = session.scalar(select(func.count()).select_from(Plan))

    def items(*codes: str) -> list[dict]:
        return [{"code": c, "name_zh": "重金属污染物", "name_en": "Heavy metals"} for c in codes]

    for check_items, why, why_zh in (
        (items(*(f"C-{n}" for n in range(201))), "Length must be between 1 and 200.",
         "长度必须在 1 到 200 之间"),
        (items("C-1", "C-2", "C-1"), "check item codes repeat", "检查事项代码重复"),
        # a trailing newline passed the pattern's $: a second C-1 that prints as the first
        (items("C-1", "C-1\n"), {"1": {"code": ["String does not match expected pattern."]}},
         {"1": {"code": ["格式不符合要求"]}}),
    ):  # fmt: skip
        created = client.post(
            "/api/v1/plans", json=plan_body(check_items=check_items), headers=regulator
        )
        patched = client.patch(path, json={"check_items": check_items}, headers=regulator)
        for response in (created, patched):
            assert response.status_code == 422, response.json
            expected = why if isinstance(why, dict) else [why]
            expected_zh = why_zh if isinstance(why_zh, dict) else [why_zh]
            assert response.json["errors"] == {"check_items": expected}
            assert response.json["errors_zh"] == {"check_items": expected_zh}
    assert session.scalar(select(func.count()).select_from(Plan)) == plans
    assert client.get(path, headers=regulator).json["check_items"] == stored
    most = items(*(f"C-{n}" for n in range(200)))
    patched = client.patch(path, json={"check_items": most}, headers=regulator)
    assert patched.status_code == 200, patched.json
    assert [i["code"] for i in patched.json["check_items"]] == [i["code"] for i in most]


def test_a_draft_past_its_due_date_takes_its_own_date_back_and_moves_on(
    client, identity, district, monkeypatch
):
    """A draft whose due date has passed: a PATCH sending that stored date back unchanged
    (a form sends every field) was refused as "before today", so nothing of it could be
    edited that way; moving the date to another past one is still refused, and a drawn
    plan past its due date moves drawn → published → closed."""
    from inspect_core.results import service as results_service

    regulator = identity("regulator")
    today = results_service.today_in_china()
    draft = create_plan(client, regulator, due_date=str(today))
    drawn = create_plan(client, regulator, due_date=str(today))
    freeze_and_draw(client, regulator, drawn)
    later = today + dt.timedelta(days=10)
    monkeypatch.setattr(results_service, "today_in_china", lambda: later)
    kept = client.patch(
        f"/api/v1/plans/{draft}",
        json={"title": "2026年大米镉专项抽查（改）", "due_date": str(today)},
        headers=regulator,
    )
    assert kept.status_code == 200 and kept.json["due_date"] == str(today), kept.json
    moved = client.patch(
        f"/api/v1/plans/{draft}",
        json={"due_date": str(today + dt.timedelta(days=1))},
        headers=regulator,
    )
    assert moved.status_code == 422, moved.json
    assert moved.json["errors"] == {"due_date": [f"before today ({later})"]}
    for status in ("published", "closed"):
        response = client.patch(
            f"/api/v1/plans/{drawn}", json={"status": status}, headers=regulator
        )
        assert response.status_code == 200 and response.json["status"] == status, response.json


def test_a_draft_past_its_due_date_is_drawn_only_once_its_date_moves(
    client, identity, district, session, monkeypatch
):
    """Drawing a draft whose due date has passed made every task overdue, and every
    disclosure late, the moment it was drawn: a 409 naming ``due_date``, no draw stored;
    once the date moves on, the draw goes ahead."""
    from inspect_core.results import service as results_service

    regulator = identity("regulator")
    today = results_service.today_in_china()
    plan_id = create_plan(client, regulator, due_date=str(today))
    later = today + dt.timedelta(days=3)
    monkeypatch.setattr(results_service, "today_in_china", lambda: later)
    refused = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 3}, headers=regulator)
    assert refused.status_code == 409, refused.json
    assert list(refused.json["errors"]) == ["due_date"] and refused.json["message_zh"]
    drawn = select(func.count()).select_from(Draw).where(Draw.plan_id == plan_id)
    assert session.scalar(drawn) == 0
    moved = client.patch(
        f"/api/v1/plans/{plan_id}", json={"due_date": str(later)}, headers=regulator
    )
    assert moved.status_code == 200, moved.json
    ok = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 3}, headers=regulator)
    assert ok.status_code == 201, ok.json
    assert session.scalar(drawn) == 1


def test_draw_protocol_refusals(client, identity, district, session):
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    public = {"public_value": "1", "public_source": "体彩排列3 第1期",
              "public_drawn_at": "2026-01-01T00:00:00+08:00"}  # fmt: skip
    no_pool = client.post(f"/api/v1/plans/{plan_id}/draw", json=public, headers=regulator)
    assert no_pool.status_code == 409
    assert "pool" in no_pool.json["errors"]
    client.post(f"/api/v1/plans/{plan_id}/pool", headers=regulator)
    early = client.post(f"/api/v1/plans/{plan_id}/draw", json=public, headers=regulator)
    assert early.status_code == 422
    assert "public_drawn_at" in early.json["errors"]
    missing = client.post(
        f"/api/v1/plans/{plan_id}/draw", json={"public_value": "1"}, headers=regulator
    )
    assert missing.status_code == 422
    assert {"public_source", "public_drawn_at"} <= set(missing.json["errors"])
    assert (
        session.scalar(select(func.count()).select_from(Draw).where(Draw.plan_id == plan_id)) == 0
    )


def test_a_task_superseded_by_a_redraw_takes_no_result(client, identity, district, session):
    """Only the race of a result with a re-draw had a test (PostgreSQL alone): a result
    sent afterwards for a task the re-draw superseded is a 409 naming ``task``, and
    nothing is stored."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    first = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 7}, headers=regulator)
    assert first.status_code == 201, first.json
    old = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=regulator).json["items"][0]
    redraw = client.post(f"/api/v1/plans/{plan_id}/draw", headers=regulator,
                         json={"seed": 8, "reason": "两名检查人员调离"})  # fmt: skip
    assert redraw.status_code == 201, redraw.json
    me = inspector_headers(identity, old["inspectors"][0])
    body = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"}
    refused = client.post(f"/api/v1/tasks/{old['id']}/results", json=body,
                          headers={**me, "Idempotency-Key": "late"})  # fmt: skip
    assert refused.status_code == 409, refused.json
    assert refused.json["errors"] == {"task": ["superseded"]}
    count = select(func.count()).select_from(Result).where(Result.task_id == old["id"])
    assert session.scalar(count) == 0


def test_redraw_needs_reason_and_keeps_the_earlier_draw(client, identity, district, session):
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    first = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 7}, headers=regulator)
    assert first.status_code == 201
    assert first.json["seed_kind"] == "explicit"
    again = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 8}, headers=regulator)
    assert again.status_code == 422
    assert "reason" in again.json["errors"]
    redraw = client.post(
        f"/api/v1/plans/{plan_id}/draw",
        json={"seed": 8, "reason": "两名检查人员调离"},
        headers=regulator,
    )
    assert redraw.status_code == 201
    assert redraw.json["seq"] == 2
    draws = session.scalars(select(Draw).where(Draw.plan_id == plan_id).order_by(Draw.seq)).all()
    assert [d.seq for d in draws] == [1, 2]
    old_tasks = session.scalars(select(Task.status).where(Task.draw_id == draws[0].id)).all()
    assert set(old_tasks) == {"superseded"}
    assert (
        client.patch(
            f"/api/v1/plans/{plan_id}", json={"status": "published"}, headers=regulator
        ).status_code
        == 200
    )
    public = [p for p in client.get("/api/v1/public/plans").json["items"] if p["id"] == plan_id]
    assert [d["reason"] for d in public[0]["draws"]] == [None, "两名检查人员调离"]


def test_infeasible_draw_names_enterprises_and_stores_nothing(client, identity, district, session):
    regulator = identity("regulator")
    # ratio 1 with k=8: only 7 active food inspectors exist
    plan_id = create_plan(client, regulator, inspectors_per_task=8)
    response = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=regulator)
    assert response.status_code == 422, response.json
    problems = response.json["errors"]["draw"]
    assert problems and all("code" in p for p in problems)
    assert (
        session.scalar(select(func.count()).select_from(Draw).where(Draw.plan_id == plan_id)) == 0
    )
    assert (
        session.scalar(
            select(func.count()).select_from(PoolSnapshot).where(PoolSnapshot.plan_id == plan_id)
        )
        == 0
    )
    assert (
        session.scalar(select(func.count()).select_from(Task).where(Task.plan_id == plan_id)) == 0
    )
    empty = create_plan(client, regulator, scope_regions=["西彭镇"])
    nothing = client.post(f"/api/v1/plans/{empty}/draw", json={"seed": 1}, headers=regulator)
    assert nothing.status_code == 422


def test_a_region_with_a_comma_is_a_422_not_a_pool_that_cannot_be_frozen(
    client, identity, district
):
    """A region is a field of the published pool snapshot, whose lists are comma-joined:
    one inspector registered in "华岩镇,走马镇" made every freeze of every plan a 500."""
    admin, regulator = district["admin"], identity("regulator")
    commas = "华岩镇,走马镇"
    inspector = factories.inspector(region=commas)
    enterprise = factories.enterprise(region=commas)
    refused = {
        "inspector": client.post("/api/v1/inspectors", json=inspector, headers=admin),
        "enterprise": client.post("/api/v1/enterprises", json=enterprise, headers=admin),
        "inspector patch": client.patch(
            f"/api/v1/inspectors/{district['inspectors'][0]}",
            json={"region": commas},
            headers=admin,
        ),
        "enterprise patch": client.patch(
            f"/api/v1/enterprises/{district['enterprises'][0]}",
            json={"region": commas},
            headers=admin,
        ),
        "plan": client.post(
            "/api/v1/plans", json=factories.plan_body(scope_regions=[commas]), headers=regulator
        ),
    }
    for what, response in refused.items():
        assert response.status_code == 422, (what, response.json)
        assert "逗号" in str(response.json["errors_zh"]), (what, response.json)
    assert client.get(f"/api/v1/inspectors/{inspector['badge']}", headers=admin).status_code == 404
    plan_id = create_plan(client, regulator, scope_regions=[])
    frozen = client.post(f"/api/v1/plans/{plan_id}/pool", headers=regulator)
    assert frozen.status_code == 201, frozen.json


def _drawn_task(client, identity, district):
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 3}, headers=regulator)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=regulator).json["items"][0]
    return regulator, plan_id, task


def _made_on(session, plan_id: int, when: dt.datetime, drawn: dt.datetime | None = None) -> None:
    """Date a plan back to ``when`` and its tasks to ``drawn`` (default the same)."""
    session.execute(update(Plan).where(Plan.id == plan_id).values(created_at=when))
    session.execute(update(Task).where(Task.plan_id == plan_id).values(created_at=drawn or when))
    session.commit()


def test_a_result_dated_before_its_task_was_drawn_or_its_enterprise_existed_is_refused(
    client, identity, district, session
):
    """The only lower bound on ``inspected_on`` was the plan's creation: a result could be
    dated before the draw made its task, and before the enterprise was established (the
    date drives the KPI year and the scoring windows).  Both are 422s naming the date."""
    regulator, plan_id, task = _drawn_task(client, identity, district)
    today = dt.datetime.now(dt.UTC)
    _made_on(session, plan_id, today - dt.timedelta(days=30), today - dt.timedelta(days=10))
    drawn = (today - dt.timedelta(days=10)).astimezone(CHINA).date()
    me = inspector_headers(identity, task["inspectors"][0])
    path = f"/api/v1/tasks/{task['id']}/results"

    def post(day: dt.date, key: str):
        body = {"sector": "food", "payload": food_payload(), "conclusion_code": "no_problem",
                "inspected_on": str(day)}  # fmt: skip
        return client.post(path, json=body, headers={**me, "Idempotency-Key": key})

    early = post(drawn - dt.timedelta(days=1), "a")
    assert early.status_code == 422, early.json
    assert early.json["errors"] == {"inspected_on": [f"before the task was drawn ({drawn})"]}
    assert early.json["errors_zh"] == {"inspected_on": [f"早于任务抽取日期（{drawn}）"]}
    founded = drawn + dt.timedelta(days=3)
    patched = client.patch(f"/api/v1/enterprises/{task['uscc']}",
                           json={"established_on": str(founded)}, headers=regulator)  # fmt: skip
    assert patched.status_code == 200, patched.json
    unborn = post(founded - dt.timedelta(days=1), "b")
    assert unborn.status_code == 422, unborn.json
    assert unborn.json["errors"] == {
        "inspected_on": [f"before the enterprise was established ({founded})"]
    }
    count = select(func.count()).select_from(Result).where(Result.task_id == task["id"])
    assert session.scalar(count) == 0
    assert post(founded, "c").status_code == 201


def test_a_food_sample_dated_after_its_inspection_or_before_the_food_safety_law_is_refused(
    client, identity, district, session
):
    """A sample dated 2999-01-01 or 1900-01-01 was judged and stored: a sample is taken on
    or before the inspection its result records, and not before 2009-06-01, when the
    Food Safety Law the limits are set under took effect.  422s naming the field."""
    regulator, plan_id, task = _drawn_task(client, identity, district)
    today = dt.datetime.now(CHINA).date()
    me = inspector_headers(identity, task["inspectors"][0])
    path = f"/api/v1/tasks/{task['id']}/results"

    def post(day: str, key: str):
        body = {"sector": "food", "payload": {**food_payload(), "sampling_date": day},
                "conclusion_code": "no_problem", "inspected_on": str(today)}  # fmt: skip
        return client.post(path, json=body, headers={**me, "Idempotency-Key": key})

    for key, day, reason, reason_zh in (
        ("a", "2999-01-01", f"after the inspection date ({today})",
         f"晚于检查日期（{today}）：样品应在检查之日或之前抽取"),
        ("b", str(today + dt.timedelta(days=1)), f"after the inspection date ({today})",
         f"晚于检查日期（{today}）：样品应在检查之日或之前抽取"),
        ("c", "1900-01-01", "before 2009-06-01",
         "早于 2009-06-01：《食品安全法》当时尚未施行，本插件的限量规则不适用"),
    ):  # fmt: skip
        refused = post(day, key)
        assert refused.status_code == 422, refused.json
        (message,) = refused.json["errors"]["payload.sampling_date"]
        assert message.startswith(reason), message
        assert refused.json["errors_zh"]["payload.sampling_date"] == [reason_zh]
    count = select(func.count()).select_from(Result).where(Result.task_id == task["id"])
    assert session.scalar(count) == 0
    assert post(str(today), "d").status_code == 201


def test_bad_results_are_refused_and_nothing_is_stored(client, identity, district, session):
    regulator, plan_id, task = _drawn_task(client, identity, district)
    me = inspector_headers(identity, task["inspectors"][0])
    outsider_badge = next(b for b in district["inspectors"][:7] if b not in task["inspectors"])
    outsider = inspector_headers(identity, outsider_badge)
    path = f"/api/v1/tasks/{task['id']}/results"
    good = {"sector": "food", "payload": food_payload(), "conclusion_code": "no_problem"}
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 100).decode()

    def post(body, headers, key):
        return client.post(path, json=body, headers={**headers, "Idempotency-Key": key})

    # another inspector's task is absent to an inspector, as a task that does not exist
    absent = post(good, outsider, "a")
    missing = client.post(
        "/api/v1/tasks/999999999/results", json=good, headers={**outsider, "Idempotency-Key": "a2"}
    )
    assert absent.status_code == missing.status_code == 404, absent.json
    assert absent.json["message"] == f"no task {task['id']}"
    assert {**absent.json, "message": ""} == {**missing.json, "message": ""}
    cases = [
        (client.post(path, json=good, headers=me), 400, "Idempotency-Key"),
        (post({**good, "conclusion_code": "fine"}, me, "b"), 422, "conclusion_code"),
        (post({**good, "sector": "drugs"}, me, "c"), 422, "sector"),
        (post({**good, "payload": {**food_payload(), "items": [{"item": "Cd", "value": "-1", "unit": "mg/kg"}]}}, me, "d"), 422, "payload.items"),
        (post({**good, "payload": {**food_payload(), "items": [{"item": "Cd", "value": "0.1", "unit": "furlong"}]}}, me, "e"), 422, "payload.items.0.unit"),
        (post({**good, "attachments": [{"filename": "a.exe", "content_type": "application/x-msdownload", "content_base64": png}]}, me, "f"), 422, "attachments.0.content_type"),
        (post({**good, "attachments": [{"filename": "a.png", "content_type": "image/jpeg", "content_base64": png}]}, me, "g"), 422, "attachments.0.content_type"),
        (post({**good, "inspected_on": "2099-01-01"}, me, "h"), 422, "inspected_on"),
    ]  # fmt: skip
    for response, status, field in cases:
        assert response.status_code == status, (field, response.json)
        assert any(key.startswith(field) for key in response.json["errors"]), (field, response.json)
    assert (
        session.scalar(select(func.count()).select_from(Result).where(Result.task_id == task["id"]))
        == 0
    )

    ok = post({**good, "attachments": [{"filename": "现场.png", "content_type": "image/png", "content_base64": png}]}, me, "z")  # fmt: skip
    assert ok.status_code == 201, ok.json
    (att,) = ok.json["attachments"]
    import hashlib

    assert att["sha256"] == hashlib.sha256(base64.b64decode(png)).hexdigest()
    rid = ok.json["id"]
    assert (
        client.patch(
            f"/api/v1/results/{rid}", json={"conclusion_code": "corrected"}, headers=regulator
        ).status_code
        == 405
    )
    assert client.delete(f"/api/v1/results/{rid}", headers=regulator).status_code == 405
    no_reason = client.post(f"/api/v1/results/{rid}/corrections", json=good, headers=me)
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json["errors"]


def test_an_inspectors_major_finding_contradicts_no_problem_and_is_counted(
    client, identity, district, session
):
    """The inspector's own findings had no test on a recorded result: "no problem" beside a
    major finding is refused like one beside a failing sample, and the stored counts by
    severity (the scoring's features) are those of the findings given."""
    _, _, task = _drawn_task(client, identity, district)
    me = inspector_headers(identity, task["inspectors"][0])
    path = f"/api/v1/tasks/{task['id']}/results"
    findings = [{"severity": s, "description": "记录不全"} for s in ("major", "minor", "minor")]
    body = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem",
            "findings": findings}  # fmt: skip
    refused = client.post(path, json=body, headers={**me, "Idempotency-Key": "np"})
    assert refused.status_code == 422, refused.json
    assert list(refused.json["errors"]) == ["conclusion_code"]
    recorded = client.post(path, json={**body, "conclusion_code": "corrected"},
                           headers={**me, "Idempotency-Key": "fixed"})  # fmt: skip
    assert recorded.status_code == 201, recorded.json
    assert recorded.json["worst_severity"] == "major"
    row = session.get(Result, recorded.json["id"])
    assert (row.critical_count, row.major_count, row.minor_count) == (0, 1, 2)


def test_an_attachment_over_the_size_limit_is_a_413_naming_it(
    app, client, identity, district, session
):
    """``ATTACHMENT_MAX_BYTES`` had no test: an attachment one byte over it is a 413 naming
    the attachment, with nothing stored; one of exactly the limit is kept."""
    _, _, task = _drawn_task(client, identity, district)
    me = inspector_headers(identity, task["inspectors"][0])
    path = f"/api/v1/tasks/{task['id']}/results"
    content = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    attachment = {"filename": "现场.png", "content_type": "image/png",
                  "content_base64": base64.b64encode(content).decode()}  # fmt: skip
    body = {"sector": "food", "payload": food_payload(), "conclusion_code": "no_problem",
            "attachments": [attachment]}  # fmt: skip
    app.config["ATTACHMENT_MAX_BYTES"] = len(content) - 1
    refused = client.post(path, json=body, headers={**me, "Idempotency-Key": "big"})
    assert refused.status_code == 413, refused.json
    assert list(refused.json["errors"]) == ["attachments.0.content_base64"], refused.json
    count = select(func.count()).select_from(Result).where(Result.task_id == task["id"])
    assert session.scalar(count) == 0
    app.config["ATTACHMENT_MAX_BYTES"] = len(content)
    kept = client.post(path, json=body, headers={**me, "Idempotency-Key": "fits"})
    assert kept.status_code == 201, kept.json
    assert [a["size"] for a in kept.json["attachments"]] == [len(content)]


@pytest.mark.parametrize("code", ["unreachable", "no_activity", "closed", "uncooperative"])
def test_a_not_inspected_conclusion_with_a_sample_is_refused_not_counted_a_pass(
    client, identity, district, session, code
):
    """A "closed" result carrying a passing sample was stored ``passed: true``: it counted
    in the food KPI's pass rate and was disclosed as a pass beside "已关闭停业".  Now it
    is a 422 naming ``conclusion_code`` in both languages, and nothing is stored; the
    same conclusion without a payload is still recorded as not inspected."""
    _, _, task = _drawn_task(client, identity, district)
    me = inspector_headers(identity, task["inspectors"][0])
    path = f"/api/v1/tasks/{task['id']}/results"
    body = {"sector": "food", "payload": food_payload(), "conclusion_code": code}
    refused = client.post(path, json=body, headers={**me, "Idempotency-Key": "a"})
    assert refused.status_code == 422, refused.json
    assert list(refused.json["errors"]) == ["conclusion_code"]
    assert f"'{code}' says nothing was inspected" in refused.json["errors"]["conclusion_code"][0]
    assert f"结论“{code}”表示未实施检查" in refused.json["errors_zh"]["conclusion_code"][0]
    count = select(func.count()).select_from(Result).where(Result.task_id == task["id"])
    assert session.scalar(count) == 0
    bare = {"sector": "food", "conclusion_code": code}
    stored = client.post(path, json=bare, headers={**me, "Idempotency-Key": "b"})
    assert stored.status_code == 201, stored.json
    assert (stored.json["passed"], stored.json["payload"]) == (None, None)


def test_oversized_attachment_is_413(app, client, identity, district, session):
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    regulator, plan_id, task = _drawn_task(client, identity, district)
    me = inspector_headers(identity, task["inspectors"][0])
    big = base64.b64encode(b"%PDF-" + b"x" * 2000).decode()
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "food", "payload": food_payload(), "conclusion_code": "no_problem",
              "attachments": [{"filename": "报告.pdf", "content_type": "application/pdf", "content_base64": big}]},
        headers={**me, "Idempotency-Key": "big"},
    )  # fmt: skip
    assert response.status_code == 413
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_database_refuses_update_and_delete_of_results(app, client, identity, district, session):
    regulator, plan_id, task = _drawn_task(client, identity, district)
    me = inspector_headers(identity, task["inspectors"][0])
    ok = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "food", "payload": food_payload(), "conclusion_code": "no_problem"},
        headers={**me, "Idempotency-Key": "x"},
    )
    rid = ok.json["id"]
    from sqlalchemy.exc import DBAPIError

    for statement in (
        update(Result).where(Result.id == rid).values(conclusion_code="corrected"),
        Result.__table__.delete().where(Result.id == rid),
        update(AuditEvent).where(AuditEvent.id == 1).values(actor="mallory"),
    ):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
        nested.rollback()


def _stored_row(client, identity, district, session, key: str):
    """A result recorded through the API, as its table row; and the regulator."""
    regulator, _, task = _drawn_task(client, identity, district)
    me = inspector_headers(identity, task["inspectors"][0])
    ok = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "food", "payload": food_payload(), "conclusion_code": "no_problem"},
        headers={**me, "Idempotency-Key": key},
    )
    assert ok.status_code == 201, ok.json
    query = select(Result.__table__).where(Result.id == ok.json["id"])
    return session.execute(query).mappings().one(), regulator


def _refused(session, values: dict) -> None:
    from sqlalchemy.exc import IntegrityError

    nested = session.begin_nested()
    with pytest.raises(IntegrityError):
        session.execute(Result.__table__.insert().values(values))
    nested.rollback()


def test_database_refuses_a_result_that_names_another_plan_or_enterprise(
    app, client, identity, district, session
):
    """One foreign key (task, plan, enterprise) → the task: a stored result's plan and
    enterprise are its task's, whatever path wrote it (migration 0007).  Both the other
    plan and the other enterprise exist, so only that key can refuse them."""
    row, regulator = _stored_row(client, identity, district, session, "fk")
    other_plan = create_plan(client, regulator)
    other_task = session.scalar(
        select(Task).where(Task.plan_id == row["plan_id"], Task.id != row["task_id"]).limit(1)
    )
    base = {k: v for k, v in row.items() if k != "id"} | {"version": 1, "supersedes_id": None}
    _refused(session, {**base, "chain": "fk-plan", "plan_id": other_plan})
    _refused(session, {**base, "chain": "fk-ent", "enterprise_id": other_task.enterprise_id})
    # the same row naming its own task's plan and enterprise is stored
    session.execute(Result.__table__.insert().values({**base, "chain": "fk-ok"}))
    assert session.scalar(select(func.count()).where(Result.chain == "fk-ok")) == 1


def test_database_lets_a_version_be_superseded_only_once(app, client, identity, district, session):
    """The unique index on supersedes_id holds only corrections (migration 0008); it still
    refuses a second version that supersedes the same one."""
    row, _ = _stored_row(client, identity, district, session, "once")
    base = {k: v for k, v in row.items() if k not in ("id", "version")}
    table = Result.__table__
    session.execute(table.insert().values({**base, "version": 2, "supersedes_id": row["id"]}))
    _refused(session, {**base, "version": 3, "supersedes_id": row["id"]})
    # first versions (supersedes_id NULL) never conflict with each other
    for n in range(2):
        session.execute(table.insert().values({**base, "chain": f"first-{n}", "version": 1}))
    assert session.scalar(select(func.count()).where(Result.chain.like("first-%"))) == 2


def _tamper(session, sql: str, table: str, params: dict | None = None) -> None:
    """Alter a row as a superuser would, bypassing the append-only triggers."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        session.execute(text(sql), params or {})
        session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    else:
        session.execute(text(f"DROP TRIGGER {table}_no_update"))
        session.execute(text(sql), params or {})


def test_audit_chain_detects_a_row_altered_in_the_database(client, identity, district, session):
    regulator = identity("regulator")
    ok = client.get("/api/v1/audit/verify", headers=regulator).json
    assert ok["ok"] is True
    victim = ok["events"] // 2
    _tamper(
        session, f"UPDATE audit_events SET actor = 'mallory' WHERE id = {victim}", "audit_events"
    )
    session.commit()
    report = client.get("/api/v1/audit/verify", headers=regulator).json
    assert report["ok"] is False
    assert report["first_broken"] == victim
    assert "altered" in report["problem"]


def test_verify_notices_a_tampered_assignment(client, identity, district, session):
    regulator, plan_id, task = _drawn_task(client, identity, district)
    draw_id = task["draw_id"]
    assert (
        client.get(f"/api/v1/draws/{draw_id}/verify", headers=regulator).json["identical"] is True
    )
    spare = session.scalar(
        select(TaskAssignment.id).join(Task).where(Task.id == task["id"]).limit(1)
    )
    from inspect_core.inspectors.models import Inspector

    other = session.scalar(
        select(Inspector.id).where(Inspector.badge.not_in(task["inspectors"])).limit(1)
    )
    session.execute(
        update(TaskAssignment).where(TaskAssignment.id == spare).values(inspector_id=other)
    )
    session.commit()
    report = client.get(f"/api/v1/draws/{draw_id}/verify", headers=regulator).json
    assert report["identical"] is False
    assert task["uscc"] in report["changed"]


def _problems(report: dict) -> list[str]:
    return [p["code"] for p in report["problems"]]


def test_verify_refuses_a_public_draw_whose_seed_is_not_the_published_values(
    client, identity, district, session
):
    """A public draw's seed is SHA-256 of the published pool hash and the public value: a
    seed swapped for another (one whose tasks suited someone) replayed to its own tasks and
    "verified".  Here a draw under seed 3 claims the lottery's 527."""
    regulator, plan_id, task = _drawn_task(client, identity, district)
    draw_id = task["draw_id"]
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _tamper(
        session,
        "UPDATE draws SET seed_kind = 'public', public_value = '527', public_drawn_at = :at"
        f" WHERE id = {draw_id}",
        "draws",
        {"at": at},
    )
    session.commit()
    report = client.get(f"/api/v1/draws/{draw_id}/verify", headers=regulator).json
    assert report["identical"] is False
    assert _problems(report) == ["seed_not_derived"]
    assert not (report["missing"] or report["unexpected"] or report["changed"])
    assert "527" in report["problems"][0]["message"] and report["problems"][0]["message_zh"]


def test_verify_checks_the_snapshot_against_its_published_hash(client, identity, district, session):
    """The snapshot row's pool_hash is the one published before the seed; the draw's own
    copy of it and the blob could be swapped together and the replay still agreed."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    drawn = freeze_and_draw(client, regulator, plan_id)
    draw_id = drawn["draw"]["id"]
    ok = client.get(f"/api/v1/draws/{draw_id}/verify", headers=regulator).json
    assert ok["identical"] is True
    snapshot_id = drawn["draw"]["snapshot_id"]
    _tamper(
        session,
        f"UPDATE pool_snapshots SET pool_hash = '{'0' * 64}' WHERE id = {snapshot_id}",
        "pool_snapshots",
    )
    session.commit()
    report = client.get(f"/api/v1/draws/{draw_id}/verify", headers=regulator).json
    assert report["identical"] is False
    assert report["pool_hash_matches"] is False
    # the seed was derived from the hash published then, not the one stored now
    assert _problems(report) == ["snapshot_hash", "seed_not_derived"]
    assert ok["problems"] == []


@pytest.mark.parametrize("corrupt", ["not zlib", "empty", "ratio not a number"])
def test_verify_answers_a_corrupt_snapshot_with_identical_false_not_a_500(
    client, identity, district, session, corrupt
):
    """Bytes that do not decompress, or decompress to no snapshot, were a 500 from the API
    and a traceback from the CLI."""
    regulator, plan_id, task = _drawn_task(client, identity, district)
    draw_id = task["draw_id"]
    snapshot_id = session.get(Draw, draw_id).snapshot_id
    canonical = zlib.decompress(session.get(PoolSnapshot, snapshot_id).snapshot)
    blob = {
        "not zlib": b"\x00not zlib",
        "empty": zlib.compress(b""),
        "ratio not a number": zlib.compress(canonical.replace(b"\nA\t", b"\nA\tx", 1)),
    }[corrupt]
    _tamper(
        session,
        f"UPDATE pool_snapshots SET snapshot = :blob WHERE id = {snapshot_id}",
        "pool_snapshots",
        {"blob": blob},
    )
    session.commit()
    response = client.get(f"/api/v1/draws/{draw_id}/verify", headers=regulator)
    assert response.status_code == 200, response.json
    assert response.json["identical"] is False
    assert _problems(response.json) == ["snapshot_unreadable"]
    assert response.json["error"] == response.json["problems"][0]["message"]
    assert response.json["tasks"] == 12


@pytest.mark.parametrize("seed", ["-3", "three"])
def test_verify_answers_a_corrupt_seed_with_identical_false_not_a_500(
    client, identity, district, session, seed
):
    regulator, plan_id, task = _drawn_task(client, identity, district)
    draw_id = task["draw_id"]
    _tamper(session, f"UPDATE draws SET seed = '{seed}' WHERE id = {draw_id}", "draws")
    session.commit()
    response = client.get(f"/api/v1/draws/{draw_id}/verify", headers=regulator)
    assert response.status_code == 200, response.json
    assert response.json["identical"] is False
    assert _problems(response.json) == ["snapshot_unreadable"]


def test_reassign_after_late_recusal(client, identity, district, session):
    regulator, plan_id, task = _drawn_task(client, identity, district)
    leaving = task["inspectors"][0]
    response = client.post(
        f"/api/v1/tasks/{task['id']}/reassign",
        json={"badge": leaving, "reason": "检查人员申请回避：与企业负责人系亲属"},
        headers=regulator,
    )
    assert response.status_code == 200, response.json
    now = response.json["inspectors"]
    assert leaving not in now and len(set(now)) == 2
    assert set(now) <= set(district["inspectors"][:7])
    released = [h for h in response.json["history"] if h["badge"] == leaving]
    assert released[0]["release_reason"].startswith("检查人员申请回避")
    assert any(h["how"] == "reassign" for h in response.json["history"])
    wrong = client.post(
        f"/api/v1/tasks/{task['id']}/reassign", json={"badge": leaving, "reason": "再次回避"},
        headers=regulator,
    )  # fmt: skip
    assert wrong.status_code == 422
    # the reason is the leaving inspector's own (here: a relative runs the enterprise):
    # the team sees that and when a member left, not why (regulators see it, above)
    for badge in now:
        mine = client.get(f"/api/v1/tasks/{task['id']}", headers=inspector_headers(identity, badge))
        assert mine.status_code == 200, mine.json
        gone = next(h for h in mine.json["history"] if h["badge"] == leaving)
        assert gone["released_at"] and gone["release_reason"] is None


def test_a_replacement_keeps_to_the_previous_plan_its_draw_was_frozen_with(client, identity):
    """A draw keeps off each enterprise the inspectors who checked it in the sector's
    previous plan; a re-assignment read "previous" afresh, so once a later plan of the
    sector was drawn it kept to that one instead, and drew onto the task an inspector the
    draw itself had kept off it.  It now reads the pairs as they stood at the freeze."""
    admin = identity("admin")
    body = factories.enterprise(region=REGIONS[0], sectors=["food"])
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    badges = set()
    for i in range(5):
        inspector = factories.inspector(region=REGIONS[i % 2], qualifications=["food"])
        assert client.post("/api/v1/inspectors", json=inspector, headers=admin).status_code == 201
        badges.add(inspector["badge"])
    crews = []
    for seed in (1, 2, 4):  # three plans of the sector, each over the one enterprise
        plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
        drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": seed}, headers=admin)
        assert drawn.status_code == 201, drawn.json
        (task,) = client.get(f"/api/v1/tasks?plan={plan_id}", headers=admin).json["items"]
        crews.append(task)
    first, second, third = (set(t["inspectors"]) for t in crews)
    assert not first & second  # the second plan's draw kept the first plan's crew off
    (spare,) = badges - first - second
    assert spare in third  # the third plan took the spare: its pairs hide the first plan's
    response = client.post(
        f"/api/v1/tasks/{crews[1]['id']}/reassign",
        json={"badge": crews[1]["inspectors"][0], "reason": "检查人员申请回避：与企业负责人系亲属"},
        headers=admin,
    )
    assert response.status_code == 200, response.json
    (joining,) = set(response.json["inspectors"]) - second
    assert joining not in first
    assert joining == spare


def test_a_street_plan_keeps_off_the_crew_of_its_own_previous_round(client, identity, district):
    """No consecutive checks of the same enterprise by the same inspector (DOMAIN.md §1):
    with a plan per street, the sector's latest other plan was the other street's, which
    shares no enterprise, and the street's previous crews were drawn onto them again."""
    admin = district["admin"]
    ones = {"A": "1", "B": "1", "C": "1", "D": "1"}
    crews = []
    for seed, region in ((1, REGIONS[0]), (2, REGIONS[1]), (3, REGIONS[0])):
        plan_id = create_plan(client, admin, ratios=ones, scope_regions=[region])
        drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": seed}, headers=admin)
        assert drawn.status_code == 201, drawn.json
        tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=admin).json
        crews.append({t["uscc"]: set(t["inspectors"]) for t in tasks["items"]})
    first, _, third = crews
    assert first.keys() == third.keys() and len(first) == 12
    assert {uscc: first[uscc] & third[uscc] for uscc in first if first[uscc] & third[uscc]} == {}


def test_disclosure_deadline_across_national_day(
    app, client, identity, district, session, monkeypatch
):
    """Recorded on Tue 2026-09-29: 30 Sep is day 1; 1–7 Oct are holidays; Sat 10 Oct is a
    working day (调休); the 20th working day is Mon 2 Nov (weekdays alone would give 27 Oct)."""
    from inspect_core.results import service as results_service

    monkeypatch.setattr(results_service, "today_in_china", lambda: dt.date(2026, 9, 29))
    regulator, plan_id, task = _drawn_task(client, identity, district)
    _made_on(session, plan_id, dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    me = inspector_headers(identity, task["inspectors"][0])
    response = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "food", "payload": {**food_payload(), "sampling_date": "2026-09-28"},
              "conclusion_code": "no_problem", "inspected_on": "2026-09-28"},
        headers={**me, "Idempotency-Key": "nd"},
    )  # fmt: skip
    assert response.status_code == 201, response.json
    assert response.json["disclosure_due"] == "2026-11-02"
    assert response.json["disclosure_basis"] == "calendar"

    overdue = client.get("/api/v1/disclosures/overdue?as_of=2026-11-03", headers=regulator).json
    assert [i["result_id"] for i in overdue["items"]] == [response.json["id"]]
    assert (
        client.get("/api/v1/disclosures/overdue?as_of=2026-11-02", headers=regulator).json["items"]
        == []
    )


def test_deadline_in_an_unknown_year_falls_back_then_uses_a_loaded_calendar(
    client, identity, district, session, monkeypatch
):
    from inspect_core.results import service as results_service

    monkeypatch.setattr(results_service, "today_in_china", lambda: dt.date(2027, 9, 28))
    regulator, plan_id, task = _drawn_task(client, identity, district)
    session.execute(
        update(Plan)
        .where(Plan.id == plan_id)
        .values(created_at=dt.datetime(2027, 9, 1, tzinfo=dt.UTC))
    )
    session.commit()
    me = inspector_headers(identity, task["inspectors"][0])
    body = {"sector": "food", "payload": food_payload(), "conclusion_code": "no_problem"}
    guessed = client.post(
        f"/api/v1/tasks/{task['id']}/results", json=body, headers={**me, "Idempotency-Key": "y1"}
    )
    assert guessed.json["disclosure_basis"] == "weekdays"
    assert guessed.json["disclosure_due"] == "2027-10-26"
    holidays = [f"2027-10-0{d}" for d in range(1, 8)]
    loaded = client.put(
        "/api/v1/calendar/2027",
        json={"holidays": holidays, "workdays": ["2027-10-09"]},
        headers=regulator,
    )
    assert loaded.status_code == 200, loaded.json
    known = client.post(
        f"/api/v1/tasks/{task['id']}/results", json=body, headers={**me, "Idempotency-Key": "y2"}
    )
    assert known.json["disclosure_basis"] == "loaded"
    # 29,30 Sep; 8,9(Sat, worked) Oct; then 16 weekdays from 11 Oct → 1 Nov
    assert known.json["disclosure_due"] == "2027-11-01"


def test_a_calendar_day_outside_the_year_is_named_under_its_own_list(client, identity):
    """An adjusted working day of another year was reported under ``holidays``, a list
    that held no such day."""
    regulator = identity("regulator")
    body = {"holidays": ["2031-10-01"], "workdays": ["2032-10-09"]}
    refused = client.put("/api/v1/calendar/2031", json=body, headers=regulator)
    assert refused.status_code == 422
    assert refused.json["errors"] == {"workdays": ["2032-10-09 is not in the year 2031"]}
    assert refused.json["errors_zh"] == {"workdays": ["2032-10-09 不在 2031 年内"]}


def test_a_years_calendar_loaded_again_replaces_the_first(client, identity, session):
    """``PUT /calendar/{year}`` replaces the year's notice (a revised one drops a holiday);
    every test loaded a year once, so a load that only added to the first was not seen."""
    from inspect_core.results.models import CalendarDay

    regulator = identity("regulator")
    first = {"holidays": [f"2031-10-0{d}" for d in range(1, 8)], "workdays": ["2031-10-11"]}
    revised = {"holidays": ["2031-10-01", "2031-10-02"], "workdays": []}
    for body in (first, revised):
        loaded = client.put("/api/v1/calendar/2031", json=body, headers=regulator)
        assert loaded.status_code == 200, loaded.json
    assert loaded.json == {"year": 2031, "days": 2}
    stored = session.execute(
        select(CalendarDay.day, CalendarDay.workday)
        .where(CalendarDay.day.between(dt.date(2031, 1, 1), dt.date(2031, 12, 31)))
        .order_by(CalendarDay.day)
    ).all()
    assert [(d.isoformat(), w) for d, w in stored] == [("2031-10-01", False), ("2031-10-02", False)]


def test_bulk_upload_task_loading_matches_the_orm(client, identity, district, session):
    """Bulk uploads read their tasks with Core queries; what they build must be what the
    JSON API builds from the ORM, after a re-assignment and under a region scope."""
    from inspect_core.auth.models import User
    from inspect_core.imports.service import _load_tasks
    from inspect_core.plans.models import Task
    from inspect_core.results.service import TaskInfo
    from tests import factories

    regulator, plan_id, task = _drawn_task(client, identity, district)
    client.post(
        f"/api/v1/tasks/{task['id']}/reassign",
        json={"badge": task["inspectors"][0], "reason": "检查人员申请回避：亲属关系"},
        headers=regulator,
    )
    session.rollback()
    tasks = session.scalars(select(Task).where(Task.plan_id == plan_id)).all()
    assert len(tasks) > 3
    admin = session.scalar(select(User).where(User.role == "admin"))
    loaded = _load_tasks(session, admin, {t.id for t in tasks} | {10**9})
    assert loaded == {t.id: TaskInfo.of(t) for t in tasks}
    moved = loaded[task["id"]]
    assert len(moved.badges) == 2 and task["inspectors"][0] not in moved.badges

    identity("regulator", regions=(factories.REGIONS[0],))
    session.rollback()
    scoped = session.scalar(select(User).order_by(User.id.desc()).limit(1))
    assert scoped.regions == [factories.REGIONS[0]]
    in_scope = {t.id for t in tasks if t.enterprise.region == factories.REGIONS[0]}
    assert 0 < len(in_scope) < len(tasks)
    assert set(_load_tasks(session, scoped, {t.id for t in tasks})) == in_scope


def _recorded_on_a_drawn_plan(client, identity) -> tuple[dict, int, dict]:
    """A drawn (not yet published) plan and one result recorded on it."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    freeze_and_draw(client, regulator, plan_id)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=regulator).json["items"][0]
    me = inspector_headers(identity, task["inspectors"][0])
    body = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"}
    recorded = client.post(
        f"/api/v1/tasks/{task['id']}/results", json=body, headers={**me, "Idempotency-Key": "d-1"}
    )
    assert recorded.status_code == 201, recorded.json
    return regulator, plan_id, recorded.json


def _publish(client, regulator, plan_id: int) -> None:
    published = client.patch(
        f"/api/v1/plans/{plan_id}", json={"status": "published"}, headers=regulator
    )
    assert published.status_code == 200, published.json


def _public_ids(client) -> set[int]:
    return {i["id"] for i in client.get("/api/v1/public/results?limit=200").json["items"]}


def test_one_result_is_disclosed_once_and_its_answer_names_it(client, identity, district):
    """``POST /results/{id}/disclose`` (one result, rather than a plan's) had no test and
    answered 201 without ``Location``: it now names the result, which is public from then
    on, and a second disclosure of it is a 409."""
    regulator, plan_id, recorded = _recorded_on_a_drawn_plan(client, identity)
    result_id = recorded["id"]
    _publish(client, regulator, plan_id)
    assert result_id not in _public_ids(client)
    disclosed = client.post(f"/api/v1/results/{result_id}/disclose", headers=regulator)
    assert disclosed.status_code == 201, disclosed.json
    assert disclosed.headers["Location"] == f"/api/v1/results/{result_id}"
    assert client.get(disclosed.headers["Location"], headers=regulator).json["id"] == result_id
    public = client.get("/api/v1/public/results").json["items"]
    assert [i["plan_id"] for i in public if i["id"] == result_id] == [plan_id]
    again = client.post(f"/api/v1/results/{result_id}/disclose", headers=regulator)
    assert again.status_code == 409 and "result" in again.json["errors"]


def test_results_of_a_plan_not_yet_published_are_not_disclosed(client, identity, district):
    """A result disclosed under a drawn plan showed the public that plan's title and issuing
    unit in ``/public/results`` while ``/public/plans`` and its draw still hid the plan.
    Disclosing one result, or a plan's, is now a 409 naming ``plan`` (in zh-CN too) until
    the plan is published, and the overdue list says which plans wait to be published."""
    regulator, plan_id, recorded = _recorded_on_a_drawn_plan(client, identity)
    result_id = recorded["id"]
    one = client.post(f"/api/v1/results/{result_id}/disclose", headers=regulator)
    assert one.status_code == 409, one.json
    assert one.json["errors"]["plan"] == [
        "not published: publish the plan before disclosing its results"
    ]
    assert one.json["errors_zh"]["plan"] == ["抽查计划尚未公示：请先公示计划，再公示其结果"]
    assert "尚未公示" in one.json["message_zh"]
    whole = client.post(f"/api/v1/plans/{plan_id}/disclose", headers=regulator)
    assert whole.status_code == 409 and "plan" in whole.json["errors"], whole.json
    assert result_id not in _public_ids(client)

    late = (dt.date.fromisoformat(recorded["disclosure_due"]) + dt.timedelta(days=1)).isoformat()
    overdue = client.get(f"/api/v1/disclosures/overdue?as_of={late}", headers=regulator).json
    assert [i["plan_status"] for i in overdue["items"] if i["result_id"] == result_id] == ["drawn"]

    _publish(client, regulator, plan_id)
    assert client.post(f"/api/v1/plans/{plan_id}/disclose", headers=regulator).json == {
        "disclosed": 1
    }
    assert result_id in _public_ids(client)
    overdue = client.get(f"/api/v1/disclosures/overdue?as_of={late}", headers=regulator).json
    assert result_id not in {i["result_id"] for i in overdue["items"]}


def _listed(client, url: str, headers=None, **query) -> set[int]:
    page = client.get(url, query_string={**query, "limit": 200}, headers=headers or {})
    assert page.status_code == 200, (query, page.json)
    return {i["id"] for i in page.json["items"]}


def test_public_results_filters_narrow_the_list(client, identity, district):
    """``/public/results`` filters by plan, enterprise, sector and inspection date had no
    test with data on both sides: with any of them dropped from the query, every disclosed
    result matched every filter and the suite still passed."""
    regulator, plan_id, recorded = _recorded_on_a_drawn_plan(client, identity)
    result_id = recorded["id"]
    _publish(client, regulator, plan_id)
    disclosed = client.post(f"/api/v1/results/{result_id}/disclose", headers=regulator)
    assert disclosed.status_code == 201, disclosed.json
    url = "/api/v1/public/results"
    (item,) = [i for i in client.get(url).json["items"] if i["id"] == result_id]
    other = next(u for u in district["enterprises"] if u != item["uscc"])
    day = dt.date.fromisoformat(item["inspected_on"])
    before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    assert result_id in _listed(client, url, plan=plan_id)
    assert result_id not in _listed(client, url, plan=plan_id + 1)
    assert result_id in _listed(client, url, uscc=item["uscc"])
    assert result_id not in _listed(client, url, uscc=other)
    assert result_id in _listed(client, url, sector="food")
    assert result_id not in _listed(client, url, sector="drugs")
    assert result_id in _listed(client, url, **{"from": day.isoformat(), "to": day.isoformat()})
    assert result_id not in _listed(client, url, **{"from": after.isoformat()})
    assert result_id not in _listed(client, url, to=before.isoformat())


def test_results_list_filters_narrow_the_list(client, identity, district):
    """``/results`` filters had no test with data on both sides (``?sector=`` was asked
    only where nothing was stored): dropped from the query, a regulator asking for the
    failed results of one enterprise got every result."""
    regulator, plan_id, recorded = _recorded_on_a_drawn_plan(client, identity)
    result_id, url = recorded["id"], "/api/v1/results"
    assert recorded["passed"] is True
    uscc = client.get(f"{url}/{result_id}", headers=regulator).json["uscc"]
    other = next(u for u in district["enterprises"] if u != uscc)
    assert result_id in _listed(client, url, regulator, uscc=uscc)
    assert result_id not in _listed(client, url, regulator, uscc=other)
    assert result_id in _listed(client, url, regulator, passed="true")
    assert result_id not in _listed(client, url, regulator, passed="false")
    assert result_id in _listed(client, url, regulator, plan=plan_id)
    assert result_id not in _listed(client, url, regulator, plan=plan_id + 1)
    assert result_id in _listed(client, url, regulator, sector="food")
    assert result_id not in _listed(client, url, regulator, sector="drugs")


def test_a_streets_regulator_sees_only_their_streets_overdue_results(client, identity, district):
    """``/disclosures/overdue`` had no test with overdue results in two streets: without its
    region clause a street's regulator was shown every street's (names and USCCs)."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    freeze_and_draw(client, regulator, plan_id)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=regulator).json["items"]
    region_of = {u: REGIONS[i % 2] for i, u in enumerate(district["enterprises"])}
    body = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"}
    recorded = {}
    for region in REGIONS[:2]:
        task = next(t for t in tasks if region_of[t["uscc"]] == region)
        me = inspector_headers(identity, task["inspectors"][0])
        response = client.post(
            f"/api/v1/tasks/{task['id']}/results", json=body,
            headers={**me, "Idempotency-Key": f"od-{region}"},
        )  # fmt: skip
        assert response.status_code == 201, response.json
        recorded[region] = response.json
    due = max(dt.date.fromisoformat(r["disclosure_due"]) for r in recorded.values())
    url = f"/api/v1/disclosures/overdue?as_of={due + dt.timedelta(days=1)}"
    everyone = client.get(url, headers=regulator).json["items"]
    assert {i["result_id"] for i in everyone} == {r["id"] for r in recorded.values()}
    for region in REGIONS[:2]:
        scoped = identity("regulator", regions=(region,))
        listed = client.get(url, headers=scoped).json["items"]
        assert [i["result_id"] for i in listed] == [recorded[region]["id"]], region


def test_a_result_disclosed_under_a_drawn_plan_earlier_waits_for_the_plan(
    client, identity, district, session
):
    """A disclosure stored before the plan had to be published first stays out of the public
    list until its plan is published, and shows from then on without being made again."""
    regulator, plan_id, recorded = _recorded_on_a_drawn_plan(client, identity)
    session.add(Disclosure(chain=recorded["chain"], disclosed_by="before-the-check"))
    session.commit()
    assert recorded["id"] not in _public_ids(client)
    _publish(client, regulator, plan_id)
    assert recorded["id"] in _public_ids(client)


def test_a_draft_edited_after_its_pool_was_frozen_is_not_drawn_from_that_pool(
    client, identity, district
):
    """The draw follows the parameters hashed into the frozen pool; ``/public/plans`` shows
    the plan's own.  A draft edited after its pool was frozen (ratio 1 for every tier, one
    street, three inspectors) was drawn at its earlier ratios, over both streets, with two
    inspectors a task, and published so.  A public draw from that pool is now a 409 naming
    ``pool``; frozen again, the draw follows the plan the public reads."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    frozen = client.post(f"/api/v1/plans/{plan_id}/pool", headers=regulator)
    assert frozen.status_code == 201, frozen.json
    edited = client.patch(
        f"/api/v1/plans/{plan_id}",
        json={"ratios": {"A": "1", "B": "1", "C": "1", "D": "1"},
              "scope_regions": [REGIONS[0]], "inspectors_per_task": 3},
        headers=regulator,
    )  # fmt: skip
    assert edited.status_code == 200, edited.json
    drawn_at = dt.datetime.fromisoformat(frozen.json["frozen_at"]) + dt.timedelta(seconds=1)
    public = {"public_value": "527", "public_source": "中国福利彩票3D 第2026318期开奖号码",
              "public_drawn_at": drawn_at.isoformat()}  # fmt: skip
    stale = client.post(f"/api/v1/plans/{plan_id}/draw", json=public, headers=regulator)
    assert stale.status_code == 409, stale.json
    assert list(stale.json["errors"]) == ["pool"]
    assert "重新冻结" in stale.json["message_zh"]
    assert client.get(f"/api/v1/plans/{plan_id}", headers=regulator).json["status"] == "draft"

    drawn = freeze_and_draw(client, regulator, plan_id)["draw"]
    _publish(client, regulator, plan_id)
    (plan,) = [p for p in client.get("/api/v1/public/plans").json["items"] if p["id"] == plan_id]
    assert drawn["params"]["ratios"] == plan["ratios"]
    assert drawn["params"]["regions"] == plan["scope_regions"] == [REGIONS[0]]
    assert drawn["params"]["inspectors_per_task"] == plan["inspectors_per_task"] == 3


def test_a_draft_whose_statuses_changed_after_its_pool_was_frozen_is_not_drawn_from_it(
    client, identity, district
):
    """``scope_statuses`` shapes the pool but is not a hashed parameter: a draft moved from
    active to suspended enterprises after its freeze was drawn over the 22 active ones
    frozen before, and published as a check of suspended ones.  A draft edited after its
    freeze is now a 409 naming ``pool``; frozen again, the draw takes the two suspended."""
    regulator = identity("regulator")
    suspended = district["enterprises"][:2]
    for uscc in suspended:
        response = client.patch(
            f"/api/v1/enterprises/{uscc}", json={"status": "suspended"}, headers=district["admin"]
        )
        assert response.status_code == 200, response.json
    plan_id = create_plan(client, regulator, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    frozen = client.post(f"/api/v1/plans/{plan_id}/pool", headers=regulator)
    assert frozen.json["enterprises"] == 22
    edited = client.patch(
        f"/api/v1/plans/{plan_id}", json={"scope_statuses": ["suspended"]}, headers=regulator
    )
    assert edited.status_code == 200, edited.json
    drawn_at = dt.datetime.fromisoformat(frozen.json["frozen_at"]) + dt.timedelta(seconds=1)
    public = {"public_value": "527", "public_source": "中国福利彩票3D 第2026318期开奖号码",
              "public_drawn_at": drawn_at.isoformat()}  # fmt: skip
    stale = client.post(f"/api/v1/plans/{plan_id}/draw", json=public, headers=regulator)
    assert stale.status_code == 409, stale.json
    assert stale.json["errors"] == {"pool": ["frozen before the draft was last edited"]}
    assert client.get(f"/api/v1/plans/{plan_id}", headers=regulator).json["status"] == "draft"

    drawn = freeze_and_draw(client, regulator, plan_id)
    assert drawn["snapshot"]["enterprises"] == 2
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}", headers=regulator).json["items"]
    assert sorted(t["uscc"] for t in tasks) == sorted(suspended)


def test_a_scoped_user_pages_through_their_plans_behind_other_streets_plans(
    client, identity, district
):
    """A street's regulator sees the plans inside their street, filtered after the query;
    the query read limit·4 + 1 rows, so behind five newer plans of another street a page of
    one came back empty and without a cursor, and the street's own plan was never listed."""
    admin = identity("admin")
    mine = [create_plan(client, admin, scope_regions=[REGIONS[0]]) for _ in range(2)]
    for _ in range(6):
        create_plan(client, admin, scope_regions=[REGIONS[1]])
    scoped = identity("regulator", regions=(REGIONS[0],))
    seen, cursor = [], None
    for _ in range(4):
        page = client.get(
            "/api/v1/plans?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=scoped
        ).json
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == mine[::-1]


def test_a_result_corrected_while_the_public_pages_is_listed_once(client, identity, district):
    """``/public/results`` was paged by the current version's id: a disclosed result corrected
    while a reader paged took a new, higher id, jumped ahead of the cursor and was never
    listed (one corrected after its page was listed twice).  Paged by the result's first
    version, every disclosed result is listed once, in its current version."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    freeze_and_draw(client, regulator, plan_id)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=4", headers=regulator).json["items"]
    body = {"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"}
    recorded = []
    for i, task in enumerate(tasks):
        me = inspector_headers(identity, task["inspectors"][0])
        response = client.post(
            f"/api/v1/tasks/{task['id']}/results", json=body,
            headers={**me, "Idempotency-Key": f"pg-{i}"},
        )  # fmt: skip
        assert response.status_code == 201, response.json
        recorded.append(response.json["id"])
    _publish(client, regulator, plan_id)
    assert client.post(f"/api/v1/plans/{plan_id}/disclose", headers=regulator).json == {
        "disclosed": 4
    }
    query = f"/api/v1/public/results?plan={plan_id}&limit=2"
    first = client.get(query).json
    assert [i["id"] for i in first["items"]] == recorded[:1:-1]
    # the oldest result, on the next page, is corrected between the two pages
    correction = client.post(
        f"/api/v1/results/{recorded[0]}/corrections",
        json={**body, "payload": food_payload("0.25"), "conclusion_code": "corrected",
              "reason": "实验室复核后更正检测值"},
        headers=regulator,
    )  # fmt: skip
    assert correction.status_code == 201, correction.json
    second = client.get(f"{query}&cursor={first['next_cursor']}").json
    assert second["next_cursor"] is None
    assert [i["id"] for i in second["items"]] == [recorded[1], correction.json["id"]]
    assert second["items"][1]["conclusion_code"] == "corrected"
    assert second["items"][1]["corrected"] is True


def test_one_result_disclosed_twice_at_once_is_a_409_on_postgresql(committed_app, monkeypatch):
    """A double click on 公示 (or a plan's disclosure beside one result's): both requests
    found the chain undisclosed, and the second insert broke the unique chain, a 500.  Each
    disclosure now locks the plan's row first: the second waits, then sees the first and
    gets the 409.  The first lingers after its insert, so the two overlap on every run."""
    from inspect_core.disclosure import service as disclosure

    app, _ = committed_app
    client = app.test_client()
    admin, plan_id = _committed_draw(app, client, inspectors=4)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"][0]
    me = factories.committed_user(app, "inspector-1", "inspector", task["inspectors"][0])
    recorded = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "food", "payload": food_payload("0.1"), "conclusion_code": "no_problem"},
        headers={**me, "Idempotency-Key": "c-1"},
    )
    assert recorded.status_code == 201, recorded.json
    _publish(client, admin, plan_id)

    meet(monkeypatch, disclosure, "_readable")  # both requests reach the check together
    linger(monkeypatch, disclosure)  # the first one in holds its insert a while
    statuses: list[int] = []

    def disclose() -> None:
        response = app.test_client().post(
            f"/api/v1/results/{recorded.json['id']}/disclose", headers=admin
        )
        statuses.append(response.status_code)

    together(disclose, disclose)
    assert sorted(statuses) == [201, 409]
    monkeypatch.undo()
    public = client.get(f"/api/v1/public/results?plan={plan_id}").json["items"]
    assert [i["id"] for i in public] == [recorded.json["id"]]


def _committed_draw(app, client, inspectors: int = 6) -> tuple[dict[str, str], int]:
    """A committed admin, 4 food enterprises, ``inspectors`` food inspectors, a drawn plan."""
    admin = factories.committed_user(app, "clerk", "admin")
    for i in range(4):
        body = factories.enterprise(region=REGIONS[i % 2])
        assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    for i in range(inspectors):
        body = factories.inspector(region=REGIONS[i % 2])
        assert client.post("/api/v1/inspectors", json=body, headers=admin).status_code == 201
    plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=admin)
    assert drawn.status_code == 201, drawn.json
    return admin, plan_id


def test_both_inspectors_of_a_task_recused_at_once_leave_two_on_it_on_postgresql(
    committed_app, monkeypatch
):
    """Both members of a team declared a recusal at once: each request read the same team,
    drew the same replacement, and the task was left with one inspector standing on it
    twice.  The task's row is now locked first: the second waits, then sees the first's
    replacement and draws another."""
    from inspect_core.plans import service

    app, _ = committed_app
    client = app.test_client()
    admin, plan_id = _committed_draw(app, client)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"][0]
    meet(monkeypatch, service, "get_task")  # both requests load the task together
    linger(monkeypatch, service)  # the first one in holds its choice a while
    statuses: list[int] = []

    def reassign(badge: str) -> None:
        response = app.test_client().post(
            f"/api/v1/tasks/{task['id']}/reassign",
            json={"badge": badge, "reason": "检查人员申请回避：与企业负责人系亲属"},
            headers=admin,
        )
        statuses.append(response.status_code)

    together(*(functools.partial(reassign, badge) for badge in task["inspectors"]))
    monkeypatch.undo()
    assert statuses == [200, 200]
    now = client.get(f"/api/v1/tasks/{task['id']}", headers=admin).json["inspectors"]
    assert len(now) == len(set(now)) == 2
    assert not set(now) & set(task["inspectors"])


def _redraw_once(
    app, admin: dict, plan_id: int, inside: threading.Event, statuses: dict[str, int]
) -> Callable[[], None]:
    """A re-draw of the plan, sent once ``inside`` is set (the other request's writes made,
    not committed); its status goes in ``statuses["redraw"]``."""

    def redraw() -> None:
        inside.wait(timeout=10)
        response = app.test_client().post(
            f"/api/v1/plans/{plan_id}/draw",
            json={"seed": 2, "reason": "两名检查人员调离"},
            headers=admin,
        )
        statuses["redraw"] = response.status_code

    return redraw


def test_a_result_recorded_while_the_plan_is_redrawn_is_not_lost_on_postgresql(
    committed_app, monkeypatch
):
    """A re-draw counted no results on the current draw while one was being recorded, and
    superseded its tasks; the result's ``done`` then overwrote ``superseded`` (or the
    reverse), and the result stood on a draw no longer current while the new draw gave its
    enterprise a fresh task.  Recording a result now takes the plan's row FOR SHARE: the
    re-draw waits for it, then sees the result and is refused."""
    from inspect_core.results import service as results

    app, _ = committed_app
    client = app.test_client()
    admin, plan_id = _committed_draw(app, client)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"][0]
    me = factories.committed_user(app, "inspector-1", "inspector", task["inspectors"][0])
    # the result built and its task marked done, not yet committed
    inside = linger(monkeypatch, results)
    statuses: dict[str, int] = {}

    def record() -> None:
        response = app.test_client().post(
            f"/api/v1/tasks/{task['id']}/results",
            json={"sector": "food", "payload": food_payload("0.1"),
                  "conclusion_code": "no_problem"},
            headers={**me, "Idempotency-Key": "race-1"},
        )  # fmt: skip
        statuses["record"] = response.status_code

    together(record, _redraw_once(app, admin, plan_id, inside, statuses))
    monkeypatch.undo()
    assert statuses == {"record": 201, "redraw": 409}
    after = client.get(f"/api/v1/tasks/{task['id']}", headers=admin).json
    assert after["status"] == "done"
    draws = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=admin).json["items"]
    assert {t["draw_id"] for t in draws} == {task["draw_id"]}


def test_an_upload_stored_while_the_plan_is_redrawn_is_not_lost_on_postgresql(
    committed_app, monkeypatch
):
    """The bulk upload had the single result's race with a re-draw: it read its tasks open,
    stored rows and marked them done while the re-draw superseded them, and both answered
    201.  The upload now takes its tasks' plans FOR SHARE first: the re-draw waits for it,
    then sees its results and is refused."""
    from inspect_core.imports import service as imports
    from tests.api.test_imports import _food_rows, csv_bytes, upload

    app, _ = committed_app
    app.config.update(IMPORT_WORKERS=1)
    client = app.test_client()
    admin, plan_id = _committed_draw(app, client)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=2", headers=admin).json["items"]
    # the rows stored and their tasks marked done, not yet committed
    inside = linger(monkeypatch, imports, when=lambda *args, **kwargs: args[2] == "import.results")
    statuses: dict[str, int] = {}

    def store() -> None:
        response = upload(
            app.test_client(), "/api/v1/results/import", admin,
            csv_bytes(_food_rows(tasks, 2)), "results.csv", sector="food", mode="partial",
        )  # fmt: skip
        statuses["upload"] = response.status_code

    together(store, _redraw_once(app, admin, plan_id, inside, statuses))
    monkeypatch.undo()
    assert statuses == {"upload": 201, "redraw": 409}
    listed = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=admin).json["items"]
    assert {t["draw_id"] for t in listed} == {tasks[0]["draw_id"]}
    assert {t["status"] for t in listed if t["id"] in {tasks[0]["id"], tasks[1]["id"]}} == {"done"}
