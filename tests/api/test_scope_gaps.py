"""Region scoping and public fields (OWASP API1, API3, API5): gaps found by a
review, one test each.

Regions: ``华岩镇`` is "mine" (the scoped regulator's), ``走马镇`` is "theirs".
"""

from __future__ import annotations

import datetime as dt

from inspect_core.results.service import today_in_china
from tests import factories
from tests.api.test_spot_checks import freeze_and_draw

MINE, THEIRS = factories.REGIONS


def _enterprise(client, admin, region):
    body = factories.enterprise(region=region, name=f"{region}秘密食品有限公司")
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    return body


# --- credit event repair: load-then-check echoes the other region's USCC -------------------


def test_repair_of_another_regions_credit_event_discloses_nothing(client, identity):
    """API1: a scoped regulator probing ``/credit-events/{id}/repair`` over ids must get a
    bare 404, not one naming the enterprise (of another region) the event belongs to."""
    admin = identity("admin")
    theirs = _enterprise(client, admin, THEIRS)
    event = client.post(
        f"/api/v1/enterprises/{theirs['uscc']}/credit-events",
        json={"type": "penalty", "severity": "major", "source": "九龙市监处罚〔2026〕99号",
              "occurred_on": str(today_in_china() - dt.timedelta(days=30))},
        headers=admin,
    )  # fmt: skip
    assert event.status_code == 201, event.json
    scoped = identity("regulator", regions=(MINE,))

    response = client.post(
        f"/api/v1/credit-events/{event.json['id']}/repair",
        json={"reason": "探测其他街镇的信用事件"},
        headers=scoped,
    )
    assert response.status_code == 404
    assert theirs["uscc"] not in response.get_data(as_text=True)
    # and an id that exists answers exactly like one that does not
    missing = client.post(
        "/api/v1/credit-events/987654/repair", json={"reason": "不存在的事件"}, headers=scoped
    )
    assert response.json["message"].replace(str(event.json["id"]), "N") == missing.json[
        "message"
    ].replace("987654", "N")


# --- conflicts of interest: the enterprise is looked up outside the user's scope -----------


def test_scoped_regulator_cannot_declare_a_conflict_with_another_regions_enterprise(
    client, identity
):
    """API1 (read + write): declaring a conflict names the enterprise by USCC; a scoped
    regulator must not reach an enterprise outside their regions (the 201 echoed its
    name and wrote a row about it)."""
    admin = identity("admin")
    theirs = _enterprise(client, admin, THEIRS)
    inspector = factories.inspector(region=MINE)
    assert client.post("/api/v1/inspectors", json=inspector, headers=admin).status_code == 201
    scoped = identity("regulator", regions=(MINE,))

    # in-scope sanity: the enterprise is invisible to them
    assert client.get(f"/api/v1/enterprises/{theirs['uscc']}", headers=scoped).status_code == 404
    response = client.post(
        f"/api/v1/inspectors/{inspector['badge']}/conflicts",
        json={"uscc": theirs["uscc"], "reason": "探测其他街镇企业名称"},
        headers=scoped,
    )
    assert response.status_code in (404, 422), response.json
    assert theirs["name"] not in response.get_data(as_text=True)


def test_scoped_regulator_lists_only_conflicts_with_enterprises_in_scope(client, identity):
    """API1 (read): a district-wide admin declared a conflict of a 华岩镇 inspector with a
    走马镇 enterprise; the 华岩镇 regulator must not learn that enterprise from the list."""
    admin = identity("admin")
    theirs = _enterprise(client, admin, THEIRS)
    mine = _enterprise(client, admin, MINE)
    inspector = factories.inspector(region=MINE)
    assert client.post("/api/v1/inspectors", json=inspector, headers=admin).status_code == 201
    path = f"/api/v1/inspectors/{inspector['badge']}/conflicts"
    for ent in (theirs, mine):
        made = client.post(path, json={"uscc": ent["uscc"], "reason": "亲属在该企业任职"},
                           headers=admin)  # fmt: skip
        assert made.status_code == 201, made.json
    scoped = identity("regulator", regions=(MINE,))

    listed = client.get(path, headers=scoped)
    assert listed.status_code == 200
    assert [c["uscc"] for c in listed.json["items"]] == [mine["uscc"]]
    # the district-wide admin still sees both
    assert len(client.get(path, headers=admin).json["items"]) == 2


# --- public draw: staff account name on an anonymous endpoint ------------------------------


def test_public_draw_does_not_show_the_account_that_drew_it(client, identity, district):
    """API3: ``GET /draws/{id}`` is public once the plan is published; the public plan list
    leaves ``drawn_by`` out (as public results leave out ``recorded_by``), the draw itself
    must too.  A regulator still sees it."""
    regulator = identity("regulator")
    plan_id = factories.create_plan(client, regulator)
    draw = freeze_and_draw(client, regulator, plan_id)["draw"]
    assert draw["drawn_by"]  # the regulator's own view has it
    published = client.patch(
        f"/api/v1/plans/{plan_id}", json={"status": "published"}, headers=regulator
    )
    assert published.status_code == 200

    public = client.get(f"/api/v1/draws/{draw['id']}")
    assert public.status_code == 200
    assert public.json["pool_hash"] == draw["pool_hash"]
    assert "drawn_by" not in public.json
    assert client.get(f"/api/v1/draws/{draw['id']}", headers=regulator).json["drawn_by"]


# --- working-day calendar: a district-wide write open to a scoped regulator ----------------


def test_scoped_regulator_cannot_rewrite_the_district_calendar(client, identity):
    """API5 / cross-region write: the holiday calendar sets the disclosure deadline of every
    region's results; a regulator scoped to one town must not replace it (a scoped user
    may not make a district-wide plan either)."""
    scoped = identity("regulator", regions=(MINE,))
    body = {"holidays": ["2031-01-01"], "workdays": []}
    assert client.put("/api/v1/calendar/2031", json=body, headers=scoped).status_code == 403
    assert (
        client.put("/api/v1/calendar/2031", json=body, headers=identity("regulator")).status_code
        == 200
    )


# --- 404s that told a hidden object from a missing one --------------------------------------

MISSING = 987654


def _as_missing(hidden, missing, hidden_id: int) -> None:
    """The 404 for a hidden object is the 404 for a missing id, to the letter."""
    assert hidden.status_code == missing.status_code == 404, (hidden.json, missing.json)
    texts = ("message", "message_zh")
    shown = {k: v.replace(str(hidden_id), "N") if k in texts else v for k, v in hidden.json.items()}
    absent = {k: v.replace(str(MISSING), "N") if k in texts else v for k, v in missing.json.items()}
    assert shown == absent


def _public_plan_ids(client) -> set[int]:
    listed = client.get("/api/v1/public/plans")
    assert listed.status_code == 200, listed.json
    return {p["id"] for p in listed.json["items"]}


def test_an_unpublished_draw_and_its_pool_answer_as_missing_ones(client, identity, district):
    """API1: before its plan is published a draw and its frozen pool are hidden from the
    public, and from a regulator scoped to other regions.  The 404 said "no published
    draw" (or, to the scoped regulator, "no plan 7") where a missing id said "no draw":
    anyone could count the draws held before publication, and a scoped regulator learn
    another region's plan ids."""
    admin = identity("admin")
    plan_id = factories.create_plan(client, admin, scope_regions=[THEIRS])
    drawn = freeze_and_draw(client, admin, plan_id)
    draw_id, snapshot_id = drawn["draw"]["id"], drawn["snapshot"]["id"]
    scoped = identity("regulator", regions=(MINE,))

    for headers in ({}, scoped):
        for tail in ("", "/verify"):
            _as_missing(
                client.get(f"/api/v1/draws/{draw_id}{tail}", headers=headers),
                client.get(f"/api/v1/draws/{MISSING}{tail}", headers=headers),
                draw_id,
            )
    _as_missing(
        client.get(f"/api/v1/public/snapshots/{snapshot_id}"),
        client.get(f"/api/v1/public/snapshots/{MISSING}"),
        snapshot_id,
    )
    assert plan_id not in _public_plan_ids(client)
    # still shown where it may be: to the district-wide admin, and to all once published
    assert client.get(f"/api/v1/draws/{draw_id}", headers=admin).status_code == 200
    published = client.patch(
        f"/api/v1/plans/{plan_id}", json={"status": "published"}, headers=admin
    )
    assert published.status_code == 200, published.json
    assert client.get(f"/api/v1/draws/{draw_id}").status_code == 200
    assert client.get(f"/api/v1/public/snapshots/{snapshot_id}").status_code == 200
    assert plan_id in _public_plan_ids(client)


def test_an_inspector_cannot_tell_another_teams_result_from_a_missing_one(
    client, identity, district
):
    """API1: an inspector probing ``/results/{id}`` got a 404 for another team's result
    whose ``message_zh`` was the generic one, and "未找到该结果" for an id that does not
    exist: which result ids exist, and how many, showed through."""
    admin = identity("admin")
    plan_id = factories.create_plan(client, admin)
    freeze_and_draw(client, admin, plan_id)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}", headers=admin).json["items"]
    badge = tasks[0]["inspectors"][0]
    other = next(t for t in tasks if badge not in t["inspectors"])
    recorder = identity("inspector", badge=other["inspectors"][0])
    recorded = client.post(
        f"/api/v1/tasks/{other['id']}/results",
        json={"sector": "food", "payload": factories.food_payload("0.1"),
              "conclusion_code": "no_problem"},
        headers={**recorder, "Idempotency-Key": "another-team"},
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.json
    result_id = recorded.json["id"]
    inspector = identity("inspector", badge=badge)

    _as_missing(
        client.get(f"/api/v1/results/{result_id}", headers=inspector),
        client.get(f"/api/v1/results/{MISSING}", headers=inspector),
        result_id,
    )
    correction = {"sector": "food", "payload": factories.food_payload("0.1"),
                  "conclusion_code": "no_problem", "reason": "探测他人的检查结果"}  # fmt: skip
    _as_missing(
        client.post(f"/api/v1/results/{result_id}/corrections", json=correction,
                    headers=inspector),
        client.post(f"/api/v1/results/{MISSING}/corrections", json=correction,
                    headers=inspector),
        result_id,
    )  # fmt: skip
