"""Enterprise registry: create, read, patch, filters, and every kind of bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select

from inspect_core.audit.models import AuditEvent
from inspect_core.enterprises.models import Enterprise
from inspect_core.plans.models import Task
from inspect_core.results.models import Result
from inspect_core.uscc import with_check_character
from tests import factories


@pytest.fixture
def regulator(identity):
    return identity("regulator")


def count_enterprises(session) -> int:
    return session.scalar(select(func.count()).select_from(Enterprise))


def test_create_read_patch_round_trip(client, regulator):
    body = factories.enterprise(sectors=["food", "special_equipment"])
    created = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert created.headers["Location"].endswith(f"/api/v1/enterprises/{body['uscc']}")
    assert created.json["sectors"] == ["food", "special_equipment"]

    got = client.get(f"/api/v1/enterprises/{body['uscc']}", headers=regulator)
    assert got.status_code == 200
    assert got.json["name"] == body["name"]

    patched = client.patch(
        f"/api/v1/enterprises/{body['uscc']}",
        json={"status": "suspended", "sectors": ["food"]},
        headers=regulator,
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["status"] == "suspended"
    assert patched.json["sectors"] == ["food"]


def test_a_licence_with_an_expiry_reads_back(client, regulator):
    """A licence's expiry is stored as ISO text in the JSON column; the Date field that
    dumps it took only dates, so the create answered a 500 after committing the row, and
    every read and patch of the enterprise, the list included, was a 500 from then on."""
    licence = {"kind": "食品经营许可证", "number": "JY15001070001234", "expires_on": "2027-01-01"}
    body = factories.enterprise(licences=[licence])
    created = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert created.json["licences"] == [licence]
    url = f"/api/v1/enterprises/{body['uscc']}"
    assert client.get(url, headers=regulator).json["licences"] == [licence]
    listed = client.get(f"/api/v1/enterprises?q={body['uscc']}", headers=regulator)
    assert listed.json["items"][0]["licences"] == [licence]
    renewed = {**licence, "expires_on": "2032-01-01"}
    patched = client.patch(url, json={"licences": [renewed, {**licence, "number": "JY2"}]},
                           headers=regulator)  # fmt: skip
    assert patched.status_code == 200, patched.json
    assert patched.json["licences"] == [renewed, {**licence, "number": "JY2"}]


def test_uscc_is_normalised_full_width_and_lower_case(client, regulator):
    code = factories.uscc()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())
    response = client.post(
        "/api/v1/enterprises", json=factories.enterprise(uscc=full_width), headers=regulator
    )
    assert response.status_code == 201, response.json
    assert response.json["uscc"] == code


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"uscc": "91110000600037341M"}, "uscc", "check character"),
        ({"uscc": "9111000060003734"}, "uscc", "18 characters"),
        ({"uscc": "91110000600O37341L"}, "uscc", "invalid USCC"),
        # an Arabic-Indic digit: the check character's alphabet lacks it (was a 500)
        ({"uscc": "9\u0661110000600037341L"}, "uscc", "must be a digit"),
        ({"uscc": with_check_character("01110000600037341")}, "uscc", "registering authority"),
        ({"uscc": with_check_character("94110000600037341")}, "uscc", "entity type"),
        ({"sectors": ["fireworks"]}, "sectors", "unknown sector"),
        ({"sectors": []}, "sectors", "at least one"),
        ({"name": 42}, "name", "Not a valid string"),
        ({"name": "   "}, "name", "blank"),
        ({"status": "zombie"}, "status", "Must be one of"),
        ({"established_on": "2026-13-40"}, "established_on", "date"),
        ({"established_on": "0202-05-01"}, "established_on", "before 1900-01-01"),
        ({"established_on": "2999-01-01"}, "established_on", "after today"),
        ({"risk_score": 1}, "risk_score", "Unknown field"),
        ({"name": "x" * 201}, "name", "Longer than maximum"),
    ],
)
def test_bad_fields_get_422_naming_the_field_and_store_nothing(
    client, regulator, session, change, field, fragment
):
    before = count_enterprises(session)
    response = client.post(
        "/api/v1/enterprises", json=factories.enterprise(**change), headers=regulator
    )
    assert response.status_code == 422, response.json
    assert response.json["code"] == 422
    assert field in response.json["errors"], response.json
    assert fragment.lower() in " ".join(map(str, response.json["errors"][field])).lower()
    assert count_enterprises(session) == before


def test_an_establishment_date_out_of_range_is_refused_on_patch_and_in_an_upload(
    client, regulator, session
):
    """A typo such as 0202-05-01 made the enterprise some 1,800 years old to the scoring
    (its age is a feature); a date after today is no establishment yet.  The PATCH and the
    upload name the field; the upload's row is rejected and nothing is stored."""
    from tests.api.test_imports import ENTERPRISE_HEADER, csv_bytes, upload

    body = factories.enterprise(established_on="2015-06-01")
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}"
    for day, why in (("1899-12-31", "before 1900-01-01"), ("2999-01-01", "after today")):
        patched = client.patch(path, json={"established_on": day}, headers=regulator)
        assert patched.status_code == 422, patched.json
        assert patched.json["errors"]["established_on"][0].startswith(why)
    assert client.get(path, headers=regulator).json["established_on"] == "2015-06-01"
    assert (
        client.patch(path, json={"established_on": "1900-01-01"}, headers=regulator).json[
            "established_on"
        ]
        == "1900-01-01"
    )
    before = count_enterprises(session)
    rows = [
        ENTERPRISE_HEADER,
        [factories.uscc(), "重庆远古有限公司", "food", "华岩镇", "", "", "0202-05-01"],
    ]
    response = upload(client, "/api/v1/enterprises/import", regulator, csv_bytes(rows), "e.csv")
    assert response.status_code == 422, response.json
    assert [(e["row"], e["field"]) for e in response.json["errors"]] == [(2, "established_on")]
    assert "before 1900-01-01" in response.json["errors"][0]["message"]
    assert count_enterprises(session) == before


def updates_of(session, uscc: str) -> int:
    """The audited updates of an enterprise (a refused PATCH writes none)."""
    return session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "enterprise.update", AuditEvent.entity_id == uscc)
    )


def test_an_establishment_date_after_a_credit_event_is_refused_on_patch(client, regulator, session):
    """A credit event dated before ``established_on`` is refused, but a PATCH moving
    ``established_on`` past an existing event was taken: the event then stood dated before
    the enterprise existed, and scoring read the enterprise's age from the date.  A 422
    naming the field and the earlier record, in both languages, and nothing changes; the
    event's own day, the stored date sent back and an unknown date are taken."""
    body = factories.enterprise(established_on="2015-06-01")
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}"
    for occurred in ("2023-04-02", "2020-03-15"):
        event = client.post(
            f"{path}/credit-events",
            json={"type": "complaint", "occurred_on": occurred, "severity": "minor",
                  "source": "12315投诉〔2020〕88号"},
            headers=regulator,
        )  # fmt: skip
        assert event.status_code == 201, event.json
    updates = updates_of(session, body["uscc"])
    for day in ("2020-03-16", "2025-01-01"):
        refused = client.patch(path, json={"established_on": day}, headers=regulator)
        assert refused.status_code == 422, refused.json
        assert refused.json["errors"] == {
            "established_on": [
                "later than the earliest record of this enterprise (credit event on 2020-03-15)"
            ]
        }
        assert refused.json["errors_zh"] == {
            "established_on": ["晚于该企业最早的记录（2020-03-15 的信用事件）"]
        }
        assert "2020-03-15" in refused.json["message_zh"]
    assert client.get(path, headers=regulator).json["established_on"] == "2015-06-01"
    assert updates_of(session, body["uscc"]) == updates
    for day in ("2015-06-01", "2020-03-15", None):
        taken = client.patch(path, json={"established_on": day}, headers=regulator)
        assert taken.status_code == 200, taken.json
        assert taken.json["established_on"] == day


def test_an_establishment_date_after_any_stored_result_version_is_refused_on_patch(
    client, identity, district, session
):
    """Results count too, every stored version: a correction is a new row and the version
    it supersedes stays in the enterprise's history, so an establishment date after the
    first version's ``inspected_on`` is refused even when the current version is later.
    The earliest record is named, result or credit event."""
    admin = identity("admin")
    plan_id = factories.create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=admin)
    assert drawn.status_code == 201, drawn.json
    (listed,) = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"]
    task = session.get(Task, listed["id"])
    first = factories.history_result(task, dt.date(2021, 5, 10), 1)
    first_id = session.scalar(insert(Result).returning(Result.id), first)
    session.execute(
        insert(Result),
        {**first, "version": 2, "supersedes_id": first_id, "inspected_on": dt.date(2022, 5, 10),
         "correction_reason": "更正检查日期"},
    )  # fmt: skip
    session.commit()
    path = f"/api/v1/enterprises/{listed['uscc']}"

    def refused(day: str) -> list[str]:
        response = client.patch(path, json={"established_on": day}, headers=admin)
        assert response.status_code == 422, response.json
        assert client.get(path, headers=admin).json["established_on"] is None
        return response.json["errors"]["established_on"]

    assert refused("2021-05-11") == [
        "later than the earliest record of this enterprise (inspection result on 2021-05-10)"
    ]
    event = client.post(
        f"{path}/credit-events",
        json={"type": "complaint", "occurred_on": "2019-08-01", "severity": "minor",
              "source": "12315投诉〔2019〕5号"},
        headers=admin,
    )  # fmt: skip
    assert event.status_code == 201, event.json
    assert refused("2020-01-01") == [
        "later than the earliest record of this enterprise (credit event on 2019-08-01)"
    ]
    taken = client.patch(path, json={"established_on": "2019-08-01"}, headers=admin)
    assert taken.status_code == 200 and taken.json["established_on"] == "2019-08-01", taken.json


def test_missing_required_fields_are_each_named(client, regulator):
    response = client.post("/api/v1/enterprises", json={}, headers=regulator)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"uscc", "name", "sectors", "region"}


def test_duplicate_uscc_is_409(client, regulator, session):
    body = factories.enterprise()
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    again = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert again.status_code == 409
    assert "uscc" in again.json["errors"]
    assert session.scalar(select(func.count()).where(Enterprise.uscc == body["uscc"])) == 1


def test_malformed_json_is_400(client, regulator):
    response = client.post(
        "/api/v1/enterprises",
        data='{"uscc": "9111',
        headers={**regulator, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["code"] == 400


def test_oversized_body_is_413(app, client, regulator, session):
    before = count_enterprises(session)
    big = factories.enterprise(address="x" * (app.config["MAX_JSON_BYTES"] + 10))
    response = client.post("/api/v1/enterprises", json=big, headers=regulator)
    assert response.status_code == 413
    assert "body" in response.json["errors"]
    assert count_enterprises(session) == before


def test_patch_cannot_change_the_uscc(client, regulator):
    body = factories.enterprise()
    client.post("/api/v1/enterprises", json=body, headers=regulator)
    response = client.patch(
        f"/api/v1/enterprises/{body['uscc']}", json={"uscc": factories.uscc()}, headers=regulator
    )
    assert response.status_code == 422
    assert "uscc" in response.json["errors"]


def test_filters_sector_region_and_q(client, regulator):
    food = factories.enterprise(name="重庆甲乙食品有限公司", region="华岩镇", sectors=["food"])
    drugs = factories.enterprise(name="重庆丙丁大药房", region="华岩镇", sectors=["drugs"])
    other = factories.enterprise(name="重庆戊己建材有限公司", region="走马镇", sectors=["food"])
    for body in (food, drugs, other):
        assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201

    def usccs(query: str) -> set[str]:
        response = client.get(f"/api/v1/enterprises?{query}", headers=regulator)
        assert response.status_code == 200, response.json
        return {item["uscc"] for item in response.json["items"]}

    assert usccs("region=华岩镇&sector=food") == {food["uscc"]}
    assert usccs("q=大药房") == {drugs["uscc"]}
    assert usccs(f"q={other['uscc'][:12]}") == {other["uscc"]}
    assert usccs("q=100%25") == set()  # a literal '%' is not a wildcard


def test_a_renamed_enterprise_is_found_by_its_new_name_only(client, regulator):
    """The name ``q`` searches is kept with the name: a PATCH of the name moves it, a
    PATCH of anything else leaves it."""
    body = factories.enterprise(name="重庆ＡＢＣ餐饮（渝中店）")
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    url = f"/api/v1/enterprises/{body['uscc']}"

    def found(q: str) -> bool:
        response = client.get(f"/api/v1/enterprises?q={q}", headers=regulator)
        assert response.status_code == 200, response.json
        return [i["uscc"] for i in response.json["items"]] == [body["uscc"]]

    assert found("abc餐饮(渝中")
    r = client.patch(url, json={"status": "suspended"}, headers=regulator)
    assert r.status_code == 200 and found("abc餐饮(渝中")
    r = client.patch(url, json={"name": "重庆ＸＹ火锅（南坪店）"}, headers=regulator)
    assert r.status_code == 200 and r.json["name"] == "重庆ＸＹ火锅（南坪店）"
    assert not found("abc餐饮") and found("xy火锅(南坪店)")


def test_unknown_cursor_is_400(client, regulator):
    response = client.get("/api/v1/enterprises?cursor=not-a-cursor", headers=regulator)
    assert response.status_code == 400
    assert "cursor" in response.json["errors"]


def test_limit_is_clamped(app, client, regulator):
    response = client.get("/api/v1/enterprises?limit=1000000", headers=regulator)
    assert response.status_code == 200
    assert len(response.json["items"]) <= app.config["PAGE_SIZE_MAX"]
    assert client.get("/api/v1/enterprises?limit=0", headers=regulator).status_code == 422


@pytest.mark.parametrize("via", ["json", "upload"])
@pytest.mark.parametrize("first", ["patch", "result"])
def test_a_result_and_a_patch_of_established_on_at_once_cannot_both_land_on_postgresql(
    committed_app, monkeypatch, first, via
):
    """A result inspected 10 days ago and a PATCH moving ``established_on`` to 5 days ago
    each pass their own check alone; at once, without a lock between them, both landed,
    leaving a result dated before its enterprise existed.  A result, recorded alone or in
    an upload, takes FOR SHARE on the enterprise row, which the PATCH's FOR NO KEY UPDATE
    conflicts with: whichever goes second waits for the first to commit, then sees it and
    gets a 422.  ``first`` lingers after taking its lock while the other starts, so they
    overlap on every run."""
    import io
    import threading

    from sqlalchemy import text

    from inspect_core.db import db
    from inspect_core.enterprises import service as enterprises
    from inspect_core.imports import service as imports
    from inspect_core.results import service as results
    from inspect_core.results.service import today_in_china

    app, _ = committed_app
    client = app.test_client()
    admin = factories.committed_user(app, "admin", "admin")
    body = factories.enterprise(region=factories.REGIONS[0])
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    for _ in range(2):
        inspector = factories.inspector(region=factories.REGIONS[0])
        assert client.post("/api/v1/inspectors", json=inspector, headers=admin).status_code == 201
    plan_id = factories.create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=admin)
    assert drawn.status_code == 201, drawn.json
    (task,) = client.get(f"/api/v1/tasks?plan={plan_id}", headers=admin).json["items"]
    today = today_in_china()
    inspected = today - dt.timedelta(days=10)
    with app.app_context():  # the plan and its draw three weeks ago
        for table, key in (("plans", plan_id), ("tasks", task["id"])):
            db.session.execute(
                text(f"UPDATE {table} SET created_at = created_at - interval '21 days' "
                     "WHERE id = :id"), {"id": key})  # fmt: skip
        db.session.commit()
    inspector = factories.committed_user(app, "field", "inspector", task["inspectors"][0])

    started = threading.Event()
    # where each holds its lock: the PATCH after its check, a result after its judgement,
    # an upload after reading its tasks (its rows are judged in worker processes)
    result_step = (results, "prepare_values") if via == "json" else (imports, "_load_tasks")
    steps = {"patch": (enterprises, "_check_established"), "result": result_step}

    def lingering(name: str):
        module, attribute = steps[name]
        real = getattr(module, attribute)

        def call(*args, **kwargs):
            out = real(*args, **kwargs)
            if name == first and not started.is_set():
                started.set()
                threading.Event().wait(0.5)
            return out

        monkeypatch.setattr(module, attribute, call)

    lingering("patch")
    lingering("result")
    statuses: dict[str, int] = {}

    def patch() -> None:
        response = app.test_client().patch(
            f"/api/v1/enterprises/{body['uscc']}",
            json={"established_on": str(today - dt.timedelta(days=5))}, headers=admin,
        )  # fmt: skip
        statuses["patch"] = response.status_code

    payload = {**factories.food_payload(), "sampling_date": str(inspected)}

    def record() -> None:
        headers = {**inspector, "Idempotency-Key": f"race-{first}-{via}"}
        if via == "json":
            response = app.test_client().post(
                f"/api/v1/tasks/{task['id']}/results",
                json={"sector": "food", "payload": payload, "conclusion_code": "no_problem",
                      "inspected_on": str(inspected)},
                headers=headers,
            )  # fmt: skip
        else:
            (item,) = payload["items"]
            content = (
                "任务编号,检查日期,检查结论,样品编号,食品名称,食品类别（代码）,抽样日期,抽样环节,"
                "items.0.item,items.0.value,items.0.unit\n"
                f"{task['id']},{inspected},no_problem,{payload['sample_no']},"
                f"{payload['food_name']},{payload['food_category']},{inspected},"
                f"{payload['stage']},{item['item']},{item['value']},{item['unit']}\n"
            ).encode()
            response = app.test_client().post(
                "/api/v1/results/import",
                data={"file": (io.BytesIO(content), "race.csv"), "sector": "food"},
                headers=headers,
                content_type="multipart/form-data",
            )
        statuses["result"] = response.status_code

    runs = {"patch": patch, "result": record}
    leader = threading.Thread(target=runs[first])
    leader.start()
    assert started.wait(timeout=30)
    second = "result" if first == "patch" else "patch"
    follower = threading.Thread(target=runs[second])
    follower.start()
    for thread in (leader, follower):
        thread.join(timeout=60)
    monkeypatch.undo()
    assert statuses == {first: 201 if first == "result" else 200, second: 422}, statuses


def _licence(expires_on: str | None) -> list[dict]:
    return [{"kind": "食品经营许可证", "number": "JY15001070001234", "expires_on": expires_on}]


def test_a_licence_expiry_out_of_range_is_a_422_naming_it(app, client, regulator, session):
    """An expiry in the year 1 or 9999 was stored: no office's date (a typo, or a
    placeholder for "none", which is null), first or last in any list of expiries.  A
    licence may have expired long ago or run decades yet: 1900-01-01 (as establishment
    dates) to LICENCE_MAX_DAYS_AHEAD days from today, on create and on PATCH."""
    from inspect_core.results.service import today_in_china

    latest = today_in_china() + dt.timedelta(days=app.config["LICENCE_MAX_DAYS_AHEAD"])
    before = count_enterprises(session)
    for day, why in (
        ("0001-01-01", "before 1900-01-01"),
        ("1899-12-31", "before 1900-01-01"),
        ("9999-12-31", f"after {latest} (LICENCE_MAX_DAYS_AHEAD days from today)"),
        (str(latest + dt.timedelta(days=1)), f"after {latest} (LICENCE_MAX_DAYS_AHEAD"),
    ):
        body = factories.enterprise(licences=_licence(day))
        response = client.post("/api/v1/enterprises", json=body, headers=regulator)
        assert response.status_code == 422, (day, response.status_code)
        (reason,) = response.json["errors"]["licences"]["0"]["expires_on"]
        assert reason.startswith(why), (day, reason)
        assert response.json["errors_zh"]["licences"]["0"]["expires_on"] != [reason]
    assert count_enterprises(session) == before
    body = factories.enterprise(licences=_licence(str(latest)))
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}"
    for day in ("0001-01-01", "9999-12-31"):
        patched = client.patch(path, json={"licences": _licence(day)}, headers=regulator)
        assert patched.status_code == 422, (day, patched.json)
        assert set(patched.json["errors"]) == {"licences"}
    assert client.get(path, headers=regulator).json["licences"] == _licence(str(latest))
    oldest = client.patch(path, json={"licences": _licence("1900-01-01")}, headers=regulator)
    assert oldest.status_code == 200, oldest.json


def test_a_licence_expiring_before_the_enterprise_was_established_is_a_422(
    client, regulator, session
):
    """No licence of an enterprise expired before it existed: on create against the body's
    establishment date, on PATCH against the one the enterprise will have (the stored one,
    when the body leaves it)."""
    before = count_enterprises(session)
    body = factories.enterprise(established_on="2015-06-01", licences=_licence("2015-05-31"))
    response = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {
        "licences": {"0": {"expires_on": ["before the enterprise was established (2015-06-01)"]}}
    }
    assert count_enterprises(session) == before
    body = factories.enterprise(established_on="2015-06-01", licences=_licence("2015-06-01"))
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}"
    patched = client.patch(path, json={"licences": _licence("2010-01-01")}, headers=regulator)
    assert patched.status_code == 422, patched.json
    assert patched.json["errors"]["licences"]["0"]["expires_on"] == [
        "before the enterprise was established (2015-06-01)"
    ]
    assert patched.json["message_zh"] == "许可证有效期早于企业成立日期"
    both = {"established_on": "2009-01-01", "licences": _licence("2010-01-01")}
    assert client.patch(path, json=both, headers=regulator).status_code == 200


def test_a_later_establishment_date_alone_is_checked_against_the_stored_licences(client, regulator):
    """A PATCH of ``established_on`` alone was checked against nothing: the enterprise then
    held a licence that expired before it was established."""
    body = factories.enterprise(established_on="2010-01-01", licences=_licence("2015-01-01"))
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}"
    patched = client.patch(path, json={"established_on": "2016-01-01"}, headers=regulator)
    assert patched.status_code == 422, patched.json
    assert patched.json["errors"]["licences"]["0"]["expires_on"] == [
        "before the enterprise was established (2016-01-01)"
    ]
    assert client.get(path, headers=regulator).json["established_on"] == "2010-01-01"
    for day in ("2015-01-01", "2009-01-01", "2010-01-01"):
        ok = client.patch(path, json={"established_on": day}, headers=regulator)
        assert ok.status_code == 200, (day, ok.json)


INVISIBLE_NAMES = ("\u200b", "\u202e", "\u200b\u200d\ufeff", "\u2060\u3164", " \u200b ")


@pytest.mark.parametrize("name", INVISIBLE_NAMES)
def test_a_name_of_only_invisible_characters_is_refused_as_blank(client, regulator, session, name):
    """Zero-width spaces and joiners, a BOM, a bidi control or a Hangul filler show
    nothing: such a name passed the blank check and listed an enterprise with no name."""
    before = count_enterprises(session)
    body = factories.enterprise(name=name)
    response = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert response.status_code == 422, (repr(name), response.json)
    assert response.json["errors"] == {"name": ["must not be blank"]}
    assert count_enterprises(session) == before


def test_an_invisible_only_text_where_blank_is_allowed_is_stored_blank(client, regulator):
    """An address may be blank: one of only a zero-width space is blank, stored as such."""
    body = factories.enterprise(address="\u200b\ufeff")
    created = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert created.json["address"] == ""


BIDI = "must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)"


def test_a_bidi_control_in_text_is_a_422_naming_the_field(client, regulator, identity, session):
    """An override or isolate reorders the text shown after it ("Trojan Source"): an
    enterprise name or a plan title disclosed to the public would read otherwise than it
    is stored and searched.  A joiner inside an emoji, and the marks U+200E/U+200F, which
    reorder nothing by themselves, are taken."""
    before = count_enterprises(session)
    for field, text in (
        ("name", "重庆\u202e司公限有锅火"),
        ("name", "\u2066重庆渝味火锅有限公司\u2069"),
        ("address", "杨家坪\u202a步行街1号"),
    ):
        body = factories.enterprise(**{field: text})
        response = client.post("/api/v1/enterprises", json=body, headers=regulator)
        assert response.status_code == 422, (field, repr(text), response.status_code)
        assert response.json["errors"] == {field: [BIDI]}
        assert response.json["errors_zh"][field][0].startswith("不能包含双向文本控制字符")
    assert count_enterprises(session) == before
    admin = identity("admin")
    title = factories.plan_body(title="2026年\u202e查抽项专")
    planned = client.post("/api/v1/plans", json=title, headers=admin)
    assert planned.status_code == 422, planned.json
    assert planned.json["errors"] == {"title": [BIDI]}
    body = factories.enterprise(name="重庆\u200e渝味👨\u200d👩\u200d👧火锅有限公司")
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201


def test_format_characters_at_the_ends_of_a_name_are_trimmed_like_spaces(client, regulator):
    """A zero-width space or a BOM pasted with a name showed nothing but made another name:
    it no longer matched a search for the name as it reads.  At the ends they go, as
    spaces do; a joiner inside an emoji and an emoji's variation selector stay."""
    body = factories.enterprise(
        name="\ufeff\u200b 重庆渝味火锅有限公司\u200d\u2060", address="\u200b杨家坪步行街1号 "
    )
    created = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert (created.json["name"], created.json["address"]) == (
        "重庆渝味火锅有限公司",
        "杨家坪步行街1号",
    )
    found = client.get("/api/v1/enterprises", query_string={"q": "重庆渝味火锅"}, headers=regulator)
    assert body["uscc"] in [e["uscc"] for e in found.json["items"]]
    emoji = factories.enterprise(name="爱心❤\ufe0f火锅👨\u200d👩\u200d👧店")
    kept = client.post("/api/v1/enterprises", json=emoji, headers=regulator)
    assert kept.status_code == 201, kept.json
    assert kept.json["name"] == "爱心❤\ufe0f火锅👨\u200d👩\u200d👧店"
