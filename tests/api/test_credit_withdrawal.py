"""更正/撤销: withdrawing a credit event recorded in error or annulled, with or without a
corrected event in its place (``POST /api/v1/credit-events/{id}/withdrawal``).

Credit events are never altered, and the same type, day and source is recorded only once
(a 409), so before this an event entered with the wrong severity, or whose penalty was
annulled on review, stayed on the record, and in the score, with no way off it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select

from inspect_core.audit.models import AuditEvent
from inspect_core.credit import jobs
from inspect_core.credit.models import CreditEvent, CreditWithdrawal
from inspect_core.db import db
from inspect_core.results.service import today_in_china
from tests import factories


@pytest.fixture
def admin(identity):
    return identity("admin")


@pytest.fixture
def enterprise(client, admin):
    body = factories.enterprise(region="华岩镇", established_on="2015-06-01")
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    return body["uscc"]


def post_event(client, headers, uscc, **overrides):
    body = {"type": "penalty", "severity": "major", "source": "九龙市监处罚〔2026〕41号",
            "occurred_on": str(today_in_china() - dt.timedelta(days=30)), **overrides}  # fmt: skip
    response = client.post(f"/api/v1/enterprises/{uscc}/credit-events", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def withdraw(client, headers, event_id, **body):
    return client.post(
        f"/api/v1/credit-events/{event_id}/withdrawal",
        json={"reason": "录入错误：决定书载明为轻微违法", **body},
        headers=headers,
    )


def events_of(client, headers, uscc):
    response = client.get(f"/api/v1/enterprises/{uscc}/credit-events", headers=headers)
    assert response.status_code == 200, response.json
    return {e["id"]: e for e in response.json["items"]}


def stored(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count(CreditEvent.id))),
            db.session.scalar(select(func.count(CreditWithdrawal.id))),
        )


def test_a_replacement_corrects_a_mistyped_severity_in_one_step(client, admin, enterprise, app):
    """The wrong severity, once posted, could not be re-posted (a 409) nor changed: the
    withdrawal voids it and records the corrected event in its place, with the same type,
    day and source; both stay in the history, linked, and only the correction counts."""
    wrong = post_event(client, admin, enterprise)
    response = withdraw(
        client, admin, wrong["id"],
        replacement={k: wrong[k] for k in ("type", "occurred_on", "source")} | {"severity": "minor"},
    )  # fmt: skip
    assert response.status_code == 201, response.json
    body = response.json
    new = body["replacement"]
    assert new["severity"] == "minor" and new["active"] is True and new["id"] != wrong["id"]
    assert body["withdrawn"]["id"] == wrong["id"]
    assert body["withdrawn"]["active"] is False
    assert body["withdrawn"]["replaced_by"] == new["id"]
    assert body["withdrawn"]["withdrawal_reason"] == "录入错误：决定书载明为轻微违法"
    assert body["withdrawn"]["withdrawn_at"] is not None
    assert body["withdrawn"]["repairable_from"] is None
    listed = events_of(client, admin, enterprise)
    assert listed[wrong["id"]]["severity"] == "major"  # stored, never altered
    assert listed[wrong["id"]]["active"] is False
    assert listed[wrong["id"]]["replaced_by"] == new["id"]
    assert listed[new["id"]]["active"] is True and listed[new["id"]]["withdrawn_at"] is None
    again = withdraw(client, admin, wrong["id"])
    assert again.status_code == 409, again.json
    assert again.json["errors"] == {"event": [f"withdrawn; credit event {new['id']} replaces it"]}
    assert again.json["errors_zh"] == {"event": [f"已撤销，由信用事件 {new['id']} 替代"]}
    # the correction now records the decision: posting it again is the duplicate it was
    again = client.post(
        f"/api/v1/enterprises/{enterprise}/credit-events",
        json={k: wrong[k] for k in ("type", "occurred_on", "source")} | {"severity": "minor"},
        headers=admin,
    )
    assert again.status_code == 409, again.json
    assert f"credit event {new['id']}" in again.json["message"]
    with app.app_context():
        (entry,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "credit_event.withdraw")
        ).all()
    assert entry.data["event"] == wrong["id"]
    assert entry.data["replacement"]["event"] == new["id"]


def test_a_withdrawal_alone_voids_the_event_and_lets_it_be_posted_anew(client, admin, enterprise):
    """An annulled penalty goes with nothing in its place; a decision recorded after its
    withdrawal is no longer a duplicate of it."""
    event = post_event(client, admin, enterprise)
    response = withdraw(
        client, admin, event["id"], reason="行政复议决定撤销原处罚（渝九复〔2026〕7号）"
    )
    assert response.status_code == 201, response.json
    assert response.json["replacement"] is None
    assert response.json["withdrawn"]["replaced_by"] is None
    assert events_of(client, admin, enterprise)[event["id"]]["active"] is False
    anew = post_event(client, admin, enterprise)
    assert anew["active"] is True and anew["id"] != event["id"]


def test_a_withdrawn_event_no_longer_counts_in_the_next_scoring_run(app, client, scored):
    """The serious-dishonesty listing made the enterprise tier D by override; withdrawn,
    it is out of the record scoring reads, as of any day, and the next run drops the
    override (the run before keeps its rating: ratings are history)."""
    admin, uscc = scored["admin"], scored["listed"]
    (listing,) = events_of(client, admin, uscc).values()
    before = client.get(f"/api/v1/enterprises/{uscc}/credit", headers=admin).json["current"]
    assert before["tier"] == "D" and before["reasons"][0]["code"] == "serious_dishonesty"
    response = withdraw(client, admin, listing["id"], reason="误将同名企业列入，经核查撤销")
    assert response.status_code == 201, response.json
    with app.app_context():
        run = jobs.run(db.session, "test", today_in_china())
    page = client.get(f"/api/v1/enterprises/{uscc}/credit", headers=admin).json
    assert page["current"]["run_id"] == run.id
    assert "serious_dishonesty" not in {r["code"] for r in page["current"]["reasons"]}
    assert page["current"]["tier"] != "D"
    assert page["events"][0]["id"] == listing["id"] and page["events"][0]["active"] is False


@pytest.mark.parametrize(
    ("replacement", "status", "errors"),
    [
        (
            {"occurred_on": "2099-01-01"},
            422,
            {"replacement": {"occurred_on": ["after today ({today})"]}},
        ),
        (
            {"occurred_on": "2014-01-01"},
            422,
            {
                "replacement": {
                    "occurred_on": ["before the enterprise was established (2015-06-01)"]
                }
            },
        ),
        ({"type": "quality_award"}, 422, {"replacement": {"severity": None}}),
        ({"source": "OTHER"}, 409, {"replacement": {"source": None}}),
    ],
)
def test_a_refused_replacement_leaves_the_event_as_it_was(
    client, admin, enterprise, app, replacement, status, errors
):
    """The withdrawal and its replacement are one transaction: a replacement the rules
    refuse (named under ``replacement``), or one that repeats another event still on
    the record, stores neither."""
    event = post_event(client, admin, enterprise)
    other = post_event(
        client, admin, enterprise, source="OTHER", type="complaint", severity="minor"
    )
    if "source" in replacement:  # the replacement would repeat ``other``
        replacement = {"type": "complaint", "severity": "minor", "source": "OTHER",
                       "occurred_on": other["occurred_on"]}  # fmt: skip
    before = stored(app)
    body = {k: event[k] for k in ("type", "occurred_on", "source", "severity")} | replacement
    response = withdraw(client, admin, event["id"], replacement=body)
    assert response.status_code == status, response.json
    today = today_in_china()
    for field, reasons in errors["replacement"].items():
        assert field in response.json["errors"]["replacement"], response.json
        if reasons is not None:
            expected = [r.format(today=today) for r in reasons]
            assert response.json["errors"]["replacement"][field] == expected
    assert "replacement" in response.json["errors_zh"]
    assert stored(app) == before
    assert events_of(client, admin, enterprise)[event["id"]]["active"] is True


def test_withdrawing_twice_or_repairing_a_withdrawn_event_is_a_409(client, admin, enterprise):
    old = post_event(client, admin, enterprise,
                     occurred_on=str(today_in_china() - dt.timedelta(days=400)))  # fmt: skip
    assert withdraw(client, admin, old["id"]).status_code == 201
    again = withdraw(client, admin, old["id"])
    assert again.status_code == 409, again.json
    assert again.json["errors"] == {"event": ["withdrawn"]}
    assert "已撤销" in again.json["message_zh"]
    repaired = client.post(f"/api/v1/credit-events/{old['id']}/repair",
                           json={"reason": "已履行处罚并完成整改"}, headers=admin)  # fmt: skip
    assert repaired.status_code == 409, repaired.json
    assert repaired.json["errors"] == {"event": ["withdrawn"]}


def test_a_repaired_event_may_be_withdrawn_and_its_repair_stays_with_it(client, admin, enterprise):
    """A repair belongs to the event it ended: the withdrawn event shows it, and the
    replacement, a new event, starts without one."""
    old = post_event(client, admin, enterprise,
                     occurred_on=str(today_in_china() - dt.timedelta(days=400)))  # fmt: skip
    repaired = client.post(f"/api/v1/credit-events/{old['id']}/repair",
                           json={"reason": "已履行处罚并完成整改"}, headers=admin)  # fmt: skip
    assert repaired.status_code == 201, repaired.json
    fixed = {k: old[k] for k in ("type", "occurred_on", "source")} | {"severity": "minor"}
    response = withdraw(client, admin, old["id"], replacement=fixed)
    assert response.status_code == 201, response.json
    assert response.json["withdrawn"]["repaired_on"] == repaired.json["repaired_on"]
    assert response.json["replacement"]["repaired_on"] is None


def test_who_may_withdraw_and_what_the_body_needs(client, identity, admin, enterprise, app):
    event = post_event(client, admin, enterprise)
    badge = factories.inspector(region="华岩镇")
    assert client.post("/api/v1/inspectors", json=badge, headers=admin).status_code == 201
    inspector = identity("inspector", badge=badge["badge"])
    assert withdraw(client, inspector, event["id"]).status_code == 403
    elsewhere = identity("regulator", regions=("走马镇",))
    hidden = withdraw(client, elsewhere, event["id"])
    assert hidden.status_code == 404 and hidden.json["message"] == f"no credit event {event['id']}"
    assert withdraw(client, admin, 10**9).status_code == 404
    for body, field in (({"reason": None}, "reason"), ({"reason": "错"}, "reason"),
                        ({"replacement": {"type": "nonsense"}}, "replacement")):  # fmt: skip
        response = client.post(f"/api/v1/credit-events/{event['id']}/withdrawal",
                               json=body, headers=admin)  # fmt: skip
        assert response.status_code == 422, response.json
        assert field in response.json["errors"], response.json
    assert stored(app)[1] == 0


def test_a_withdrawn_event_no_longer_holds_back_the_establishment_date(client, admin, enterprise):
    """An event dated before the enterprise's true establishment (both entered wrong)
    blocked correcting ``established_on``; withdrawn, it is void and no longer does."""
    path = f"/api/v1/enterprises/{enterprise}"
    event = post_event(client, admin, enterprise, occurred_on="2016-03-01", source="误录")
    assert (
        client.patch(path, json={"established_on": "2018-01-01"}, headers=admin).status_code == 422
    )
    assert withdraw(client, admin, event["id"]).status_code == 201
    taken = client.patch(path, json={"established_on": "2018-01-01"}, headers=admin)
    assert taken.status_code == 200, taken.json


def test_a_withdrawal_racing_another_of_the_same_event_is_a_409_storing_nothing(
    app, client, admin, enterprise, monkeypatch
):
    """Two withdrawals at once both pass the "already withdrawn?" check; the loser's
    insert breaks the unique ``event_id`` and gets a 409, and its replacement goes with it.
    (On PostgreSQL the enterprise row lock serialises them first.)"""
    from inspect_core.credit import service

    event = post_event(client, admin, enterprise)
    check = service._check_not_withdrawn

    def racing(session, target):
        check(session, target)
        with db.new_session(app) as other:  # the other request commits after the check
            other.execute(insert(CreditWithdrawal).values(
                event_id=target.id, reason="另一请求的撤销", recorded_by="other"))  # fmt: skip
            other.commit()

    monkeypatch.setattr(service, "_check_not_withdrawn", racing)
    fixed = {k: event[k] for k in ("type", "occurred_on", "source")} | {"severity": "minor"}
    response = withdraw(client, admin, event["id"], replacement=fixed)
    assert response.status_code == 409, response.json
    with app.app_context():
        assert (
            db.session.scalars(
                select(AuditEvent.id).where(AuditEvent.action == "credit_event.withdraw")
            ).all()
            == []
        )
        assert db.session.scalar(select(func.count(CreditEvent.id))) == 1


def test_a_replacement_is_checked_against_the_establishment_date_read_under_the_lock(
    app, client, admin, enterprise, monkeypatch
):
    """A PATCH moving ``established_on`` later commits while the withdrawal waits for the
    enterprise row lock (the withdrawal had already loaded the enterprise, unlocked, to
    scope the event): the replacement is checked against the date read under the lock,
    not the one loaded before it, and so is refused."""
    from sqlalchemy import update

    from inspect_core.enterprises import service as enterprises
    from inspect_core.enterprises.models import Enterprise

    event = post_event(client, admin, enterprise, occurred_on="2020-01-01", source="误录")
    real = enterprises.get

    def patched_while_waiting(session, user, uscc, lock=False):
        if lock:  # the PATCH holding the lock commits; then this request gets the row
            with db.new_session(app) as other:
                other.execute(update(Enterprise).where(Enterprise.uscc == uscc)
                              .values(established_on=dt.date(2019, 1, 1)))  # fmt: skip
                other.commit()
        return real(session, user, uscc, lock=lock)

    monkeypatch.setattr(enterprises, "get", patched_while_waiting)
    fixed = {k: event[k] for k in ("type", "source", "severity")} | {"occurred_on": "2016-03-01"}
    response = withdraw(client, admin, event["id"], replacement=fixed)
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {
        "replacement": {"occurred_on": ["before the enterprise was established (2019-01-01)"]}
    }


def test_a_repair_racing_a_withdrawal_waits_for_it_and_is_a_409_on_postgresql(
    committed_app, monkeypatch
):
    """A repair checked "not withdrawn" while a withdrawal of the same event was under
    way, then stored its row: a repair on a withdrawn event, answered ``active: true``.
    The repair takes the enterprise row lock the withdrawal holds, so it waits, then sees
    the withdrawal.  The withdrawal lingers inside its check while the repair starts."""
    import threading

    from inspect_core.credit import service

    app, _ = committed_app
    client = app.test_client()
    headers = factories.committed_user(app, "clerk", "regulator")
    body = factories.enterprise(region="华岩镇")
    assert client.post("/api/v1/enterprises", json=body, headers=headers).status_code == 201
    event = post_event(client, headers, body["uscc"],
                       occurred_on=str(today_in_china() - dt.timedelta(days=400)))  # fmt: skip
    started = threading.Event()
    real = service._check_not_withdrawn

    def lingering(session, target):
        real(session, target)
        if not started.is_set():  # the withdrawal, first in, holds the row a while
            started.set()
            threading.Event().wait(0.5)

    monkeypatch.setattr(service, "_check_not_withdrawn", lingering)
    statuses: dict[str, int] = {}

    def withdrawal() -> None:
        statuses["withdrawal"] = withdraw(app.test_client(), headers, event["id"]).status_code

    def repair() -> None:
        response = app.test_client().post(f"/api/v1/credit-events/{event['id']}/repair",
                                          json={"reason": "已履行处罚并完成整改"}, headers=headers)  # fmt: skip
        statuses["repair"] = response.status_code

    leader = threading.Thread(target=withdrawal)
    leader.start()
    assert started.wait(timeout=30)
    follower = threading.Thread(target=repair)
    follower.start()
    for thread in (leader, follower):
        thread.join(timeout=30)
    monkeypatch.undo()
    assert statuses == {"withdrawal": 201, "repair": 409}, statuses
    (listed,) = events_of(client, headers, body["uscc"]).values()
    assert listed["repaired_on"] is None and listed["active"] is False


def test_each_credit_event_answer_names_the_event_and_it_reads_back(
    client, admin, enterprise, identity
):
    """A 201 for an event, its repair or its withdrawal came without ``Location``, and no
    URL read one event: a client had to page the enterprise's whole list to find what it
    had just changed.  Each now names ``/credit-events/{id}``, which shows the event as
    the list does, with its enterprise's USCC; scoped to regions, as the list is."""
    posted = client.post(
        f"/api/v1/enterprises/{enterprise}/credit-events",
        json={"type": "complaint", "severity": "minor", "source": "12315平台 2026000041",
              "occurred_on": str(today_in_china() - dt.timedelta(days=200))},
        headers=admin,
    )  # fmt: skip
    assert posted.status_code == 201, posted.json
    event_id = posted.json["id"]
    assert posted.headers["Location"] == f"/api/v1/credit-events/{event_id}"
    read = client.get(posted.headers["Location"], headers=admin)
    assert read.status_code == 200, read.json
    assert read.json == {**posted.json, "uscc": enterprise}
    repaired = client.post(
        f"/api/v1/credit-events/{event_id}/repair",
        json={"reason": "已完成整改"}, headers=admin,
    )  # fmt: skip
    assert repaired.status_code == 201, repaired.json
    assert repaired.headers["Location"] == posted.headers["Location"]
    assert client.get(repaired.headers["Location"], headers=admin).json["repaired_on"]
    withdrawn = withdraw(client, admin, event_id)
    assert withdrawn.status_code == 201, withdrawn.json
    assert withdrawn.headers["Location"] == posted.headers["Location"]
    after = client.get(withdrawn.headers["Location"], headers=admin).json
    assert after["withdrawal_reason"] and after["active"] is False
    elsewhere = identity("regulator", regions=("走马镇",))
    hidden = client.get(f"/api/v1/credit-events/{event_id}", headers=elsewhere)
    assert hidden.status_code == 404 and enterprise not in str(hidden.json)
    assert client.get("/api/v1/credit-events/999999", headers=admin).status_code == 404
