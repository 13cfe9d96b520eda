"""Credit events with repair, and programme KPIs (pass rates against targets)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import insert, select

from inspect_core import kpis
from inspect_core.credit.models import CREDIT_EVENT_TYPES
from inspect_core.credit.rules import add_term
from inspect_core.db import db
from inspect_core.plans.models import Task
from inspect_core.results.models import Result
from inspect_core.results.service import today_in_china
from tests import factories
from tests.factories import create_plan

_DOC_NOS = itertools.count(100)


def doc_no(prefix: str) -> str:
    """A document number no other event here has: one decision is one event, and the
    same type, day and source posted again is a 409."""
    return f"{prefix}{next(_DOC_NOS)}号"


@pytest.fixture
def enterprise(client, identity):
    admin = identity("admin")
    body = factories.enterprise(region="华岩镇")
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    return body["uscc"]


def test_credit_events_default_expiry_listing_and_repair(client, identity, enterprise):
    regulator = identity("regulator")
    path = f"/api/v1/enterprises/{enterprise}/credit-events"
    today = today_in_china()
    occurred = today - dt.timedelta(days=400)
    penalty = client.post(
        path,
        json={"type": "penalty", "occurred_on": str(occurred), "severity": "major",
              "source": "九龙市监处罚〔2025〕12号", "description": "销售超过保质期的食品"},
        headers=regulator,
    )  # fmt: skip
    assert penalty.status_code == 201, penalty.json
    assert penalty.json["expires_on"] == str(add_term(occurred, "P3Y"))
    assert penalty.json["active"] is True and penalty.json["type_zh"] == "行政处罚"
    assert (penalty.json["severity_zh"], penalty.json["severity_en"]) == ("较重", "major")
    assert penalty.json["repairable_from"] == str(add_term(occurred, "P1Y"))
    listed = client.get(path, headers=identity("sector_admin")).json["items"]
    assert [e["id"] for e in listed] == [penalty.json["id"]]

    repaired = client.post(
        f"/api/v1/credit-events/{penalty.json['id']}/repair",
        json={"reason": "已履行行政处罚决定并完成整改，公示满最短期限"},
        headers=regulator,
    )
    assert repaired.status_code == 201, repaired.json
    assert repaired.json["active"] is False and repaired.json["repair_reason"].startswith("已履行")
    assert repaired.json["repairable_from"] is None
    again = client.post(
        f"/api/v1/credit-events/{penalty.json['id']}/repair",
        json={"reason": "再次修复"},
        headers=regulator,
    )
    assert again.status_code == 409


def test_a_credit_event_dated_before_the_enterprise_or_1949_is_a_422(client, identity):
    """A typo such as 0202-05-01 stood in the enterprise's history (and, with a long
    expiry, in its score): a date before its establishment, or before any market-regulation
    record (1949-10-01) where none is recorded, is refused naming ``occurred_on``, and
    nothing is stored."""
    admin, regulator = identity("admin"), identity("regulator")
    dated = {**factories.enterprise(region="华岩镇"), "established_on": "2015-06-01"}
    undated = factories.enterprise(region="华岩镇")
    for body in (dated, undated):
        assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201

    def post(uscc: str, occurred: str):
        return client.post(
            f"/api/v1/enterprises/{uscc}/credit-events",
            json={"type": "penalty", "occurred_on": occurred, "severity": "minor",
                  "source": "九龙市监处罚〔2025〕14号"},
            headers=regulator,
        )  # fmt: skip

    for uscc, occurred, why in (
        (dated["uscc"], "2015-05-31", "before the enterprise was established (2015-06-01)"),
        (dated["uscc"], "0202-05-01", "before the enterprise was established (2015-06-01)"),
        (undated["uscc"], "0001-01-01", "before 1949-10-01"),
        (undated["uscc"], "1949-09-30", "before 1949-10-01"),
    ):
        response = post(uscc, occurred)
        assert response.status_code == 422, (occurred, response.json)
        assert response.json["errors"] == {"occurred_on": [why]}
    for uscc in (dated["uscc"], undated["uscc"]):
        path = f"/api/v1/enterprises/{uscc}/credit-events"
        assert client.get(path, headers=regulator).json["items"] == []
    for uscc, occurred in ((dated["uscc"], "2015-06-01"), (undated["uscc"], "1949-10-01")):
        response = post(uscc, occurred)
        assert response.status_code == 201, (occurred, response.json)


def test_the_same_event_posted_twice_is_a_409_and_counts_once(client, identity, enterprise):
    """The same type, day and source (one decision) was stored again on every post: 25
    copies of one quality award counted 25, and repairing one copy of a serious-dishonesty
    listing left the enterprise in tier D by the other.  The second post is a 409 naming
    ``source`` in both languages; another source, type or day is another event."""
    regulator = identity("regulator")
    path = f"/api/v1/enterprises/{enterprise}/credit-events"
    day = str(today_in_china() - dt.timedelta(days=30))
    event = {"type": "complaint", "occurred_on": day, "severity": "minor",
             "source": "12315投诉〔2026〕001号"}  # fmt: skip
    first = client.post(path, json=event, headers=regulator)
    assert first.status_code == 201, first.json
    again = client.post(path, json=event, headers=regulator)
    assert again.status_code == 409, again.json
    assert again.json["errors"] == {
        "source": [f"already recorded as credit event {first.json['id']}; a second event of "
                   "this type and day needs the document number that tells it apart"]
    }  # fmt: skip
    assert f"编号 {first.json['id']}" in again.json["message_zh"]
    assert f"编号 {first.json['id']}" in again.json["errors_zh"]["source"][0]
    others = (
        {**event, "source": "12315投诉〔2026〕002号"},
        {**event, "type": "penalty", "source": event["source"]},
        {**event, "occurred_on": str(today_in_china() - dt.timedelta(days=29))},
    )
    for other in others:
        assert client.post(path, json=other, headers=regulator).status_code == 201, other
    assert len(client.get(path, headers=regulator).json["items"]) == 4


def test_an_expiry_beyond_any_credit_term_is_a_422_naming_the_latest_day(
    app, client, identity, enterprise
):
    """``expires_on`` had no upper bound: a typo such as 2062-03-01 for 2026-03-01 (or
    9999-12-31) kept an event in force, and in the score, for decades.  A date more than
    CREDIT_EXPIRY_MAX_DAYS (default 3653, ten years) after the event is refused naming
    ``expires_on`` and the latest day, in both languages, and nothing is stored; the
    bound itself is accepted, and a district may set its own."""
    regulator = identity("regulator")
    path = f"/api/v1/enterprises/{enterprise}/credit-events"
    occurred = today_in_china() - dt.timedelta(days=30)
    latest = occurred + dt.timedelta(days=3653)

    def post(expires: str):
        return client.post(path, json={"type": "penalty", "occurred_on": str(occurred),
                                       "severity": "major", "source": doc_no("九龙市监处罚〔2026〕"),
                                       "expires_on": expires}, headers=regulator)  # fmt: skip

    for expires in (str(latest + dt.timedelta(days=1)), "9999-12-31",
                    str(occurred + dt.timedelta(days=36 * 365))):  # fmt: skip
        refused = post(expires)
        assert refused.status_code == 422, (expires, refused.json)
        assert refused.json["errors"] == {
            "expires_on": [f"more than 3653 days after occurred_on (latest {latest})"]
        }
        assert refused.json["errors_zh"] == {
            "expires_on": [f"距发生日期超过3653天（最晚{latest}）"]
        }
        assert str(latest) in refused.json["message_zh"]
    assert client.get(path, headers=regulator).json["items"] == []
    accepted = post(str(latest))
    assert accepted.status_code == 201 and accepted.json["expires_on"] == str(latest)
    app.config["CREDIT_EXPIRY_MAX_DAYS"] = 5000
    assert post(str(latest + dt.timedelta(days=1))).status_code == 201


def test_an_expiry_before_a_repair_may_end_the_event_is_a_422(app, client, identity, enterprise):
    """An explicit ``expires_on`` as early as the day after the event was accepted: a
    serious-dishonesty listing given one day stopped counting at once (the enterprise
    escaped the tier-D override), though a repair, which records its reason, may end it
    only after a year.  A date before the first day a repair may take effect is refused
    naming ``expires_on``, that day and the rule, in both languages, and nothing is
    stored; that day itself is accepted, and any later day in a district without the
    wait."""
    regulator = identity("regulator")
    path = f"/api/v1/enterprises/{enterprise}/credit-events"
    occurred = today_in_china() - dt.timedelta(days=10)
    earliest = add_term(occurred, "P1Y")

    def post(expires: dt.date):
        return client.post(path, json={"type": "serious_dishonesty", "occurred_on": str(occurred),
                                       "severity": "critical", "source": doc_no("渝市监失信〔2026〕"),
                                       "expires_on": str(expires)}, headers=regulator)  # fmt: skip

    for expires in (occurred + dt.timedelta(days=1), earliest - dt.timedelta(days=1)):
        refused = post(expires)
        assert refused.status_code == 422, (expires, refused.json)
        assert refused.json["errors"] == {
            "expires_on": [
                f"before {earliest}, the first day a credit repair may end it "
                "(1 year after occurred_on)"
            ]
        }
        assert refused.json["errors_zh"] == {
            "expires_on": [f"早于 {earliest}，即最早可信用修复之日（发生日期后 1 年）"]
        }
        assert str(earliest) in refused.json["message"]
        assert "CREDIT_REPAIR_MIN_DAYS" in refused.json["message"]
        assert f"失效日期不得早于{earliest}" in refused.json["message_zh"]
        assert "信用修复" in refused.json["message_zh"]
    assert client.get(path, headers=regulator).json["items"] == []
    accepted = post(earliest)
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["expires_on"] == str(earliest) and accepted.json["active"] is True
    app.config["CREDIT_REPAIR_MIN_DAYS"] = {}  # a district without the wait
    assert post(occurred + dt.timedelta(days=1)).status_code == 201


@pytest.mark.parametrize(
    ("sectors", "refused"), [(["food"], True), (["industrial_products"], False)]
)
def test_an_expiry_before_the_full_term_is_a_422_where_no_repair_may_end_it(
    app, client, identity, sectors, refused
):
    """CREDIT_REPAIR_REFUSED keeps a critical food penalty from early repair, yet one given
    a one-day ``expires_on`` stopped counting at once.  Where no repair may end an event,
    ``expires_on`` may not be before its default expiry (its full term); elsewhere the
    year's wait of CREDIT_REPAIR_MIN_DAYS applies.  Where the full term has no end, no
    ``expires_on`` is accepted at all."""
    admin, regulator = identity("admin"), identity("regulator")
    body = factories.enterprise(region="华岩镇", sectors=sectors)
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}/credit-events"
    occurred = today_in_china() - dt.timedelta(days=10)
    after_a_year = add_term(occurred, "P1Y")
    full_term = add_term(occurred, "P3Y")

    def post(expires: dt.date | None):
        given = {} if expires is None else {"expires_on": str(expires)}
        return client.post(path, json={"type": "penalty", "occurred_on": str(occurred),
                                       "severity": "critical", "source": doc_no("九龙市监处罚〔2026〕"),
                                       **given}, headers=regulator)  # fmt: skip

    one_day = post(occurred + dt.timedelta(days=1))
    assert one_day.status_code == 422, one_day.json
    if not refused:
        assert one_day.json["errors"] == {
            "expires_on": [
                f"before {after_a_year}, the first day a credit repair may end it "
                "(1 year after occurred_on)"
            ]
        }
        assert post(after_a_year).status_code == 201
        return
    assert one_day.json["errors"] == {
        "expires_on": [
            f"before {full_term}, the end of its full term: "
            "no early repair of a critical penalty in food"
        ]
    }
    assert one_day.json["errors_zh"] == {
        "expires_on": [f"早于 {full_term}（完整有效期届满）：食品行业的严重行政处罚不可提前修复"]
    }
    assert "CREDIT_REPAIR_REFUSED" in one_day.json["message"]
    assert str(full_term) in one_day.json["message"]
    zh = one_day.json["message_zh"]
    assert "不予提前信用修复" in zh and "食品" in zh and f"不得早于{full_term}" in zh, zh
    assert post(after_a_year).status_code == 422
    assert post(full_term - dt.timedelta(days=1)).status_code == 422
    assert client.get(path, headers=regulator).json["items"] == []
    assert post(full_term).status_code == 201
    app.config["CREDIT_EVENT_DAYS"] = {"penalty": None}  # a district: until removed
    never = post(full_term)
    assert never.status_code == 422, never.json
    assert never.json["errors"] == {
        "expires_on": [
            "must be left out: no early repair of a critical penalty in food, "
            "and it counts until removed"
        ]
    }
    assert "不得指定失效日期" in never.json["message_zh"]
    assert never.json["errors_zh"] == {
        "expires_on": ["不得指定：食品行业的严重行政处罚不可提前修复，且长期有效"]
    }
    assert post(None).status_code == 201


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        ("quality_award", "positive"),
        ("certification", "positive"),
        ("complaint", "major"),
        ("abnormal_operations", "critical"),
        ("penalty", "minor"),
    ],
)
def test_an_event_no_repair_rule_holds_may_end_the_day_after(
    app, client, identity, enterprise, kind, severity
):
    """A positive event has nothing to repair, and a type or severity with no repair wait
    (CREDIT_REPAIR_MIN_DAYS) may be repaired from the day it occurs: any ``expires_on``
    after ``occurred_on`` stands, as before (a rule naming a positive type changes
    nothing: no repair ends one)."""
    if CREDIT_EVENT_TYPES[kind][2] < 0:
        app.config["CREDIT_REPAIR_REFUSED"] = [{"type": kind}]
    regulator = identity("regulator")
    occurred = today_in_china() - dt.timedelta(days=10)
    response = client.post(
        f"/api/v1/enterprises/{enterprise}/credit-events",
        json={"type": kind, "occurred_on": str(occurred), "severity": severity,
              "source": "九龙市监〔2026〕10号",
              "expires_on": str(occurred + dt.timedelta(days=1))},
        headers=regulator,
    )  # fmt: skip
    assert response.status_code == 201, response.json
    assert response.json["active"] is False


def test_an_expiry_at_the_end_of_a_default_term_shorter_than_the_wait_stands(
    app, client, identity, enterprise
):
    """A district whose default term of an event ends before a repair may: the rules let it
    stop counting at the term's end, so ``expires_on`` may be that day (the default, given
    back), not before."""
    app.config["CREDIT_EVENT_DAYS"] = {"penalty": {"major": 200}}
    regulator = identity("regulator")
    occurred = today_in_china() - dt.timedelta(days=10)
    ends = occurred + dt.timedelta(days=200)

    def post(expires: dt.date):
        return client.post(f"/api/v1/enterprises/{enterprise}/credit-events",
                           json={"type": "penalty", "occurred_on": str(occurred),
                                 "severity": "major", "source": "九龙市监处罚〔2026〕11号",
                                 "expires_on": str(expires)}, headers=regulator)  # fmt: skip

    early = post(ends - dt.timedelta(days=1))
    assert early.status_code == 422, early.json
    assert early.json["errors"] == {
        "expires_on": [
            f"before {ends}, when its default term ends: no credit repair may end it sooner "
            "(1 year after occurred_on)"
        ]
    }
    assert early.json["errors_zh"] == {
        "expires_on": [f"早于 {ends}（默认有效期届满）：发生日期后 1 年内不可信用修复"]
    }
    assert "CREDIT_EVENT_DAYS" in early.json["message"] and str(ends) in early.json["message_zh"]
    assert post(ends).status_code == 201


def test_a_repair_racing_another_for_the_same_event_is_a_409(
    app, client, identity, enterprise, monkeypatch
):
    """Two repairs of one event at once both pass the "already repaired?" check; the
    loser's insert breaks the unique ``event_id`` and was a 500 instead of the 409 a
    second repair gets, with nothing of it (its audit entry) stored.  (Here the other
    request shares the test's connection, so the loser's rollback also undoes its row.)"""
    from inspect_core.audit.models import AuditEvent
    from inspect_core.credit import rules
    from inspect_core.credit.models import CreditRepair

    regulator = identity("regulator")
    occurred = today_in_china() - dt.timedelta(days=400)
    event = client.post(
        f"/api/v1/enterprises/{enterprise}/credit-events",
        json={"type": "penalty", "occurred_on": str(occurred), "severity": "major",
              "source": "九龙市监处罚〔2025〕13号"},
        headers=regulator,
    ).json["id"]  # fmt: skip
    wait = rules.repair_wait

    def racing(*args, **kwargs):  # the other request commits after the check
        with db.new_session(app) as other:
            other.execute(insert(CreditRepair).values(
                event_id=event, effective_on=today_in_china(), reason="另一请求的修复",
                recorded_by="other"))  # fmt: skip
            other.commit()
        return wait(*args, **kwargs)

    monkeypatch.setattr(rules, "repair_wait", racing)
    response = client.post(f"/api/v1/credit-events/{event}/repair",
                           json={"reason": "已履行处罚并完成整改"}, headers=regulator)  # fmt: skip
    assert response.status_code == 409, response.json
    assert response.json["errors"] == {"event": ["already repaired"]}
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "credit_event.repair")
        ).all()
    assert audited == []


def test_early_removal_from_the_dishonesty_list_waits_a_year(app, client, identity, enterprise):
    """DOMAIN.md §2: early removal after 1 year on the list (configurable; [M])."""
    regulator = identity("regulator")
    today = today_in_china()

    def listed(days_ago: int) -> int:
        body = {"type": "serious_dishonesty", "occurred_on": str(today - dt.timedelta(days=days_ago)),
                "severity": "critical", "source": "渝市监失信〔2025〕7号"}  # fmt: skip
        r = client.post(f"/api/v1/enterprises/{enterprise}/credit-events", json=body,
                        headers=regulator)  # fmt: skip
        assert r.status_code == 201, r.json
        return r.json["id"]

    def repair(event_id: int, **body: str):
        return client.post(f"/api/v1/credit-events/{event_id}/repair",
                           json={"reason": "已履行处罚并消除不良影响", **body}, headers=regulator)  # fmt: skip

    recent, old = listed(100), listed(400)
    refused = repair(recent)
    assert refused.status_code == 422 and "effective_on" in refused.json["errors"], refused.json
    earliest = str(add_term(today - dt.timedelta(days=100), "P1Y"))
    assert earliest in refused.json["message"] and "满1年后" in refused.json["message_zh"]
    assert repair(old, effective_on=str(today - dt.timedelta(days=50))).status_code == 422
    assert repair(old, effective_on=str(today - dt.timedelta(days=35))).status_code == 201
    app.config["CREDIT_REPAIR_MIN_DAYS"] = {}  # a district without the wait
    assert repair(recent).status_code == 201


def test_a_minor_penalty_counts_three_months_and_others_three_years(
    app, client, identity, enterprise
):
    """行政处罚信息公示规定 (2021) art. 13: 通报批评 or a low fine is public for 3 months."""
    regulator = identity("regulator")
    path = f"/api/v1/enterprises/{enterprise}/credit-events"
    on = today_in_china() - dt.timedelta(days=10)

    def record(**body: str) -> dict:
        r = client.post(path, json={"type": "penalty", "occurred_on": str(on),
                                    "source": doc_no("九龙市监处罚〔2026〕"), **body}, headers=regulator)  # fmt: skip
        assert r.status_code == 201, r.json
        return r.json

    assert record(severity="minor")["expires_on"] == str(add_term(on, "P3M"))
    assert record(severity="major")["expires_on"] == str(add_term(on, "P3Y"))
    assert record(severity="critical")["expires_on"] == str(add_term(on, "P3Y"))
    given = str(on + dt.timedelta(days=40))
    assert record(severity="minor", expires_on=given)["expires_on"] == given
    # a district's own terms: a type for every severity, or one severity of a type
    app.config["CREDIT_EVENT_DAYS"] = {"penalty": 200, "complaint": {"minor": 30}}
    assert record(severity="minor")["expires_on"] == str(on + dt.timedelta(days=200))
    complaint = client.post(path, json={"type": "complaint", "occurred_on": str(on),
                                        "severity": "minor", "source": "12315"}, headers=regulator)  # fmt: skip
    assert complaint.json["expires_on"] == str(on + dt.timedelta(days=30)), complaint.json
    app.config["CREDIT_EVENT_DAYS"] = {"penalty": None}  # until repaired
    assert record(severity="major")["expires_on"] is None


def test_credit_terms_are_calendar_years_and_months_across_29_february(
    client, identity, enterprise
):
    """DOMAIN.md §2: listed 3 years, early removal after 1 year, a minor penalty public 3
    months.  Counted as 1095, 365 and 90 days, a listing of 2023-03-01 was repairable on
    2024-02-29, before a year on the list, and stopped counting on 2026-02-28; a minor
    penalty of 2026-03-01 stopped being public on 2026-05-30, two days short of 3 months."""
    regulator = identity("regulator")
    path = f"/api/v1/enterprises/{enterprise}/credit-events"

    def record(kind: str, on: str, severity: str, **extra: str):
        return client.post(path, json={"type": kind, "occurred_on": on, "severity": severity,
                                       "source": doc_no("渝市监〔2023〕"), **extra},
                           headers=regulator)  # fmt: skip

    listed = record("serious_dishonesty", "2023-03-01", "critical")
    assert listed.status_code == 201, listed.json
    assert listed.json["expires_on"] == "2026-03-01"
    assert listed.json["repairable_from"] == "2024-03-01"
    early = client.post(f"/api/v1/credit-events/{listed.json['id']}/repair",
                        json={"reason": "已履行处罚并消除不良影响", "effective_on": "2024-02-29"},
                        headers=regulator)  # fmt: skip
    assert early.status_code == 422 and "effective_on" in early.json["errors"], early.json
    assert "2024-03-01" in early.json["message"] and "满1年后" in early.json["message_zh"]
    assert early.json["errors_zh"]["effective_on"] == ["不得早于 2024-03-01（2023-03-01 后 1 年）"]
    short = record("serious_dishonesty", "2023-03-01", "critical", expires_on="2024-02-29")
    assert short.status_code == 422 and "2024-03-01" in short.json["message"], short.json
    on_time = client.post(f"/api/v1/credit-events/{listed.json['id']}/repair",
                          json={"reason": "已履行处罚并消除不良影响", "effective_on": "2024-03-01"},
                          headers=regulator)  # fmt: skip
    assert on_time.status_code == 201, on_time.json
    minor = record("penalty", "2026-03-01", "minor")
    assert minor.json["expires_on"] == "2026-06-01", minor.json
    leap = record("penalty", "2024-02-29", "major")  # no 29 Feb later: the month's last day
    assert (leap.json["expires_on"], leap.json["repairable_from"]) == ("2027-02-28", "2025-02-28")


def test_a_calendar_term_is_the_same_day_months_later_or_the_months_last_day():
    from inspect_core.credit.rules import term_days

    D = dt.date.fromisoformat
    assert add_term(D("2023-03-01"), "P1Y") == D("2024-03-01")
    assert add_term(D("2024-02-29"), "P1Y") == D("2025-02-28")
    assert add_term(D("2024-01-31"), "P1M") == D("2024-02-29")
    assert add_term(D("2025-11-30"), "P3M") == D("2026-02-28")
    assert add_term(D("2023-03-01"), 365) == D("2024-02-29")  # days stay days
    assert (term_days("P1Y"), term_days("P3M"), term_days(90)) == (366, 92, 90)


def test_a_positive_event_has_nothing_to_repair(client, identity, enterprise):
    regulator = identity("regulator")
    award = client.post(
        f"/api/v1/enterprises/{enterprise}/credit-events",
        json={"type": "quality_award", "occurred_on": str(today_in_china() - dt.timedelta(days=30)),
              "severity": "positive", "source": "区政府质量奖"},
        headers=regulator,
    )  # fmt: skip
    assert award.status_code == 201 and award.json["repairable_from"] is None, award.json
    refused = client.post(f"/api/v1/credit-events/{award.json['id']}/repair",
                          json={"reason": "撤销奖项"}, headers=regulator)  # fmt: skip
    assert refused.status_code == 422 and "event" in refused.json["errors"], refused.json
    assert "正面信用信息" in refused.json["message_zh"]
    assert refused.json["errors_zh"] == {"event": ["质量奖属正面事件，无需信用修复"]}
    listed = client.get(f"/api/v1/enterprises/{enterprise}/credit-events", headers=regulator)
    assert listed.json["items"][0]["active"] is True


@pytest.mark.parametrize(
    ("sectors", "refused"),
    [(["food"], True), (["drugs", "industrial_products"], True), (["industrial_products"], False)],
)
def test_a_serious_food_drug_or_equipment_penalty_is_not_repaired_early(
    app, client, identity, sectors, refused
):
    """DOMAIN.md §2 [M]: early stop of penalty publicity, serious food/drug/equipment cases
    excluded (CREDIT_REPAIR_REFUSED, matched on the enterprise's sectors)."""
    admin, regulator = identity("admin"), identity("regulator")
    body = factories.enterprise(region="华岩镇", sectors=sectors)
    assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}/credit-events"
    occurred = today_in_china() - dt.timedelta(days=500)
    event = client.post(path, json={"type": "penalty", "occurred_on": str(occurred),
                                    "severity": "critical", "source": doc_no("九龙市监处罚〔2025〕"),
                                    "description": "吊销食品经营许可证"}, headers=regulator)  # fmt: skip
    assert event.status_code == 201, event.json
    after_a_year = str(add_term(occurred, "P1Y"))
    assert event.json["repairable_from"] == (None if refused else after_a_year)

    def repair():
        return client.post(f"/api/v1/credit-events/{event.json['id']}/repair",
                           json={"reason": "已履行处罚并消除不良影响"}, headers=regulator)  # fmt: skip

    if not refused:
        assert repair().status_code == 201
        return
    answer = repair()
    assert answer.status_code == 422 and "event" in answer.json["errors"], answer.json
    held = sorted({"food", "drugs", "special_equipment"} & set(sectors))
    assert (
        ", ".join(held) in answer.json["message"]
        and "CREDIT_REPAIR_REFUSED" in answer.json["message"]
    )
    assert (
        "不予提前信用修复" in answer.json["message_zh"]
        and "严重行政处罚" in answer.json["message_zh"]
    )
    # the sectors by their zh-CN names, not their codes
    zh_names = {"food": "食品", "drugs": "药品", "special_equipment": "特种设备"}
    assert "、".join(zh_names[c] for c in held) in answer.json["message_zh"], answer.json
    assert not any(code in answer.json["message_zh"] for code in held), answer.json
    # and so does the field's reason
    assert answer.json["errors_zh"] == {
        "event": [f"{'、'.join(zh_names[c] for c in held)}行业的严重行政处罚不可提前修复"]
    }
    listed = client.get(path, headers=regulator).json["items"]
    assert listed[0]["active"] is True and listed[0]["repaired_on"] is None
    app.config["CREDIT_REPAIR_REFUSED"] = []  # a district whose rules allow it
    assert client.get(path, headers=regulator).json["items"][0]["repairable_from"] == after_a_year
    assert repair().status_code == 201


def test_a_penalty_is_repaired_early_only_after_a_year_unless_minor(client, identity, enterprise):
    regulator = identity("regulator")
    path = f"/api/v1/enterprises/{enterprise}/credit-events"
    on = today_in_china() - dt.timedelta(days=60)
    ids = {}
    for severity in ("major", "minor"):
        r = client.post(path, json={"type": "penalty", "occurred_on": str(on), "severity": severity,
                                    "source": doc_no("九龙市监处罚〔2026〕")}, headers=regulator)  # fmt: skip
        ids[severity] = r.json["id"]
    refused = client.post(f"/api/v1/credit-events/{ids['major']}/repair",
                          json={"reason": "已缴纳罚款并整改"}, headers=regulator)  # fmt: skip
    assert refused.status_code == 422 and "effective_on" in refused.json["errors"], refused.json
    assert str(add_term(on, "P1Y")) in refused.json["message"]
    assert "满1年后" in refused.json["message_zh"]
    minor = client.post(f"/api/v1/credit-events/{ids['minor']}/repair",
                        json={"reason": "已缴纳罚款并整改"}, headers=regulator)  # fmt: skip
    assert minor.status_code == 201, minor.json


def test_an_event_expiring_before_the_wait_is_over_has_no_early_repair(app, client, identity):
    """A repair ends an event early: one whose wait outlasts it shows no repairable_from
    and is refused, and a repair cannot take effect once the event has stopped counting
    (both were accepted, a repair of an event that no longer counted).  A request may no
    longer give an ``expires_on`` before the wait is over: such an event stops counting
    the day the wait ends, or was recorded before the district set its wait."""
    regulator = identity("regulator")
    body = factories.enterprise(region="华岩镇", sectors=["industrial_products"])
    assert (
        client.post("/api/v1/enterprises", json=body, headers=identity("admin")).status_code == 201
    )
    path = f"/api/v1/enterprises/{body['uscc']}/credit-events"
    today = today_in_china()

    def record(days_ago: int, lasts: int | None) -> dict:
        """``lasts``: days, or None for a year (the wait: 365 or 366 days)."""
        on = today - dt.timedelta(days=days_ago)
        ends = add_term(on, "P1Y") if lasts is None else on + dt.timedelta(days=lasts)
        r = client.post(path, json={"type": "penalty", "occurred_on": str(on), "severity": "major",
                                    "source": doc_no("九龙市监处罚〔2025〕"),
                                    "expires_on": str(ends)},
                        headers=regulator)  # fmt: skip
        assert r.status_code == 201, r.json
        return r.json

    def repair(event: dict, **extra: str):
        return client.post(f"/api/v1/credit-events/{event['id']}/repair",
                           json={"reason": "已履行处罚并消除不良影响", **extra}, headers=regulator)  # fmt: skip

    waits = app.config["CREDIT_REPAIR_MIN_DAYS"]
    app.config["CREDIT_REPAIR_MIN_DAYS"] = {}  # before the district set its year's wait
    assert record(100, 200)["repairable_from"] == str(today - dt.timedelta(days=100))
    app.config["CREDIT_REPAIR_MIN_DAYS"] = waits
    for days_ago in (100, 400):  # the year's wait ends on the day it stops counting
        record(days_ago, None)
    listed = client.get(path, headers=regulator).json["items"]
    assert sorted(e["expires_on"] for e in listed) == sorted(
        [str(today - dt.timedelta(days=100) + dt.timedelta(days=200))]
        + [str(add_term(today - dt.timedelta(days=ago), "P1Y")) for ago in (100, 400)]
    )
    for short in listed:
        assert short["repairable_from"] is None, short
        answer = repair(short)
        assert answer.status_code == 422 and "event" in answer.json["errors"], answer.json
        assert short["expires_on"] in answer.json["message"] and "到期" in answer.json["message_zh"]
    lapsed = record(400, 380)  # repairable from a year on, stopped counting on day 380
    on = today - dt.timedelta(days=400)
    assert lapsed["repairable_from"] == str(add_term(on, "P1Y")) and not lapsed["active"]
    late = repair(lapsed)
    assert late.status_code == 422 and "effective_on" in late.json["errors"], late.json
    assert "到期" in late.json["message_zh"]
    assert repair(lapsed, effective_on=str(on + dt.timedelta(days=370))).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "fireworks", "severity": "major"}, "type"),
        ({"type": "penalty", "severity": "positive"}, "severity"),
        ({"type": "quality_award", "severity": "major"}, "severity"),
        ({"type": "penalty", "severity": "major", "occurred_on": "2999-01-01"}, "occurred_on"),
        ({"type": "penalty", "severity": "major", "expires_on": "2000-01-01"}, "expires_on"),
        ({"type": "penalty", "severity": "major", "source": ""}, "source"),
    ],
)
def test_bad_credit_events_are_refused(client, identity, enterprise, body, field):
    regulator = identity("regulator")
    full = {"occurred_on": "2026-01-05", "source": "区局", **body}
    response = client.post(
        f"/api/v1/enterprises/{enterprise}/credit-events", json=full, headers=regulator
    )
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert (
        client.get(f"/api/v1/enterprises/{enterprise}/credit-events", headers=regulator).json[
            "items"
        ]
        == []
    )


@pytest.mark.parametrize("event_id", ["99999999999999999999", str(2**31), "987654"])
def test_repairing_an_event_no_row_can_have_is_a_404(client, identity, event_id):
    """A path id beyond 32 bits overflowed SQLite's driver (a 500): no such event."""
    response = client.post(
        f"/api/v1/credit-events/{event_id}/repair",
        json={"reason": "已履行处罚决定"},
        headers=identity("regulator"),
    )
    assert response.status_code == 404, response.json
    assert set(response.json) >= {"code", "status", "message", "errors"}


def test_a_task_list_filtered_by_an_out_of_range_plan_is_a_422(client, identity):
    response = client.get("/api/v1/tasks?plan=99999999999999999999", headers=identity("regulator"))
    assert response.status_code == 422 and "plan" in response.json["errors"], response.json


def test_inspectors_may_not_write_credit_events(client, identity, enterprise, district):
    inspector = identity("inspector", badge=district["inspectors"][0])
    response = client.post(
        f"/api/v1/enterprises/{enterprise}/credit-events",
        json={
            "type": "complaint",
            "occurred_on": "2026-01-05",
            "severity": "minor",
            "source": "12315",
        },
        headers=inspector,
    )
    assert response.status_code == 403


def test_kpis_pass_rates_against_targets(client, identity, district):
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 4}, headers=regulator)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=regulator).json["items"]
    values = ["0.1"] * 9 + ["0.3"]  # 9 of 10 pass
    for i, (task, value) in enumerate(zip(tasks, values, strict=False)):
        me = identity("inspector", badge=task["inspectors"][0])
        body = {"sector": "food", "payload": factories.food_payload(value),
                "conclusion_code": "corrected" if value == "0.3" else "no_problem"}  # fmt: skip
        r = client.post(
            f"/api/v1/tasks/{task['id']}/results",
            json=body,
            headers={**me, "Idempotency-Key": f"kpi-{i}"},
        )
        assert r.status_code == 201, r.json
    year = today_in_china().year
    response = client.get(f"/api/v1/kpis?year={year}", headers=identity("sector_admin"))
    assert response.status_code == 200
    lines = {line["key"]: line for line in response.json["items"]}
    food = lines["food"]
    assert (food["samples"], food["passed"], food["pass_rate"]) == (10, 9, 90.0)
    assert food["target"] == 98.2 and food["meets_target"] is False
    assert (
        lines["drugs_production"]["samples"] == 0 and lines["drugs_production"]["pass_rate"] is None
    )
    assert (
        client.get(f"/api/v1/kpis?year={year - 1}", headers=regulator).json["items"][1]["samples"]
        == 0
    )
    assert client.get("/api/v1/kpis", headers=regulator).status_code == 422
    assert (
        client.get(
            f"/api/v1/kpis?year={year}",
            headers=identity("inspector", badge=district["inspectors"][0]),
        ).status_code
        == 403
    )


def test_kpi_target_is_judged_on_the_exact_rate_not_the_rounded_one(
    app, client, identity, district
):
    """109 of 111 food samples passed: 98.198 %, shown as 98.2 but below the 98.2 % target."""
    admin = district["admin"]
    plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    draw = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=admin)
    assert draw.status_code == 201
    day = today_in_china()
    with app.app_context():
        s = db.session
        tasks = s.scalars(select(Task).where(Task.plan_id == plan_id).order_by(Task.id)).all()
        rows = [
            factories.history_result(tasks[i % len(tasks)], day, int(i < 2)) for i in range(111)
        ]
        s.execute(insert(Result), rows)
        s.commit()
    response = client.get(f"/api/v1/kpis?year={day.year}", headers=identity("regulator"))
    food = next(line for line in response.json["items"] if line["key"] == "food")
    assert (food["samples"], food["passed"], food["pass_rate"]) == (111, 109, 98.2)
    assert food["target"] == 98.2 and food["meets_target"] is False, food


@pytest.mark.parametrize(
    ("passed", "total", "target", "meets"),
    [
        (109, 111, 98.2, False),  # 98.198 %: rounds to 98.2, still short
        (491, 500, 98.2, True),  # exactly 98.2 %
        (490, 500, 98.2, False),
        (1, 1, 100.0, True),
        (999, 1000, 100, False),
        (0, 0, 98.2, None),  # no samples: no verdict
    ],
)
def test_meets_target_compares_the_exact_rate(passed, total, target, meets):
    assert kpis.meets_target(passed, total, target) is meets


def test_kpi_drug_lines_split_by_sampling_stage(client, identity, district):
    admin = identity("admin")
    for region in ("华岩镇", "走马镇"):
        body = factories.enterprise(region=region, sectors=["drugs"], name="重庆某大药房")
        assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
    plan_id = create_plan(
        client, admin, sector="drugs", ratios={"A": "1", "B": "1", "C": "1", "D": "1"}
    )
    assert (
        client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 9}, headers=admin).status_code
        == 201
    )
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=10", headers=admin).json["items"]
    assert len(tasks) == 2
    for task, (stage, measured) in zip(
        tasks, [("production", "99.0"), ("circulation", "80.0")], strict=True
    ):
        me = identity("inspector", badge=task["inspectors"][0])
        payload = {"inspection_type": "sampling",
                   "sample": {"stage": stage, "product_name": "某某片", "dosage_form": "tablet",
                              "test_items": [{"kind": "assay", "measured": measured}]}}  # fmt: skip
        conclusion = "no_problem" if measured == "99.0" else "corrected"
        r = client.post(f"/api/v1/tasks/{task['id']}/results",
                        json={"sector": "drugs", "payload": payload, "conclusion_code": conclusion},
                        headers={**me, "Idempotency-Key": f"d-{stage}"})  # fmt: skip
        assert r.status_code == 201, r.json
    lines = {
        x["key"]: x
        for x in client.get(f"/api/v1/kpis?year={today_in_china().year}", headers=admin).json[
            "items"
        ]
    }
    assert (lines["drugs_production"]["samples"], lines["drugs_production"]["pass_rate"]) == (
        1,
        100.0,
    )
    assert (lines["drugs_circulation"]["samples"], lines["drugs_circulation"]["pass_rate"]) == (
        1,
        0.0,
    )


def test_the_same_event_posted_twice_at_once_is_stored_once_on_postgresql(
    committed_app, monkeypatch
):
    """Two clerks (or a client's retry) post one decision at the same moment.  The check
    for an earlier copy reads before it writes, so without a lock both posts would pass it;
    ``add_event`` locks the enterprise row, and the second post waits, then sees the first
    and gets the 409.  The threads start together and the first lingers inside the check,
    so the posts overlap on every run."""
    import threading

    from inspect_core.credit import service as credit

    app, _ = committed_app
    client = app.test_client()
    headers = factories.committed_user(app, "clerk", "regulator")
    body = factories.enterprise(region="华岩镇")
    assert client.post("/api/v1/enterprises", json=body, headers=headers).status_code == 201

    start = threading.Barrier(2)
    real_get, real_check = credit.enterprises.get, credit._check_not_recorded
    inside = threading.Event()

    def get(*args, **kwargs):
        start.wait(timeout=10)  # both posts reach the lock together
        return real_get(*args, **kwargs)

    def check(*args, **kwargs):
        found = real_check(*args, **kwargs)
        if not inside.is_set():  # the first one in holds the row a while
            inside.set()
            threading.Event().wait(0.5)
        return found

    monkeypatch.setattr(credit.enterprises, "get", get)
    monkeypatch.setattr(credit, "_check_not_recorded", check)
    event = {"type": "complaint", "occurred_on": str(today_in_china()), "severity": "minor",
             "source": "12315投诉〔2026〕777号"}  # fmt: skip
    statuses: list[int] = []

    def post() -> None:
        response = app.test_client().post(
            f"/api/v1/enterprises/{body['uscc']}/credit-events", json=event, headers=headers
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [201, 409]
    monkeypatch.undo()
    listed = client.get(f"/api/v1/enterprises/{body['uscc']}/credit-events", headers=headers)
    assert len(listed.json["items"]) == 1


def test_a_correction_keeps_its_results_year_in_the_kpis(client, identity, district, session):
    """A correction that left out ``inspected_on`` was dated the day it was made: a
    December result corrected in January left that year's KPIs for the next one (and
    the regulator's December figure changed).  It keeps the corrected version's day; one
    that gives a day is dated by it."""
    from tests.api.test_spot_checks import _made_on

    regulator = identity("regulator")
    plan_id = create_plan(client, regulator, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 4}, headers=regulator)
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=regulator).json["items"][0]
    last = today_in_china().year - 1
    _made_on(session, plan_id, dt.datetime(last, 12, 1, tzinfo=dt.UTC))
    me = identity("inspector", badge=task["inspectors"][0])
    # sampled on the inspection day (a sample taken after it is refused)
    sample = {**factories.food_payload("0.1"), "sampling_date": f"{last}-12-20"}
    failing = {**factories.food_payload("0.3"), "sampling_date": f"{last}-12-20"}
    recorded = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json={"sector": "food", "payload": sample,
              "conclusion_code": "no_problem", "inspected_on": f"{last}-12-20"},
        headers={**me, "Idempotency-Key": "dec"},
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.json

    def food(year: int) -> tuple[int, int]:
        items = client.get(f"/api/v1/kpis?year={year}", headers=regulator).json["items"]
        line = next(x for x in items if x["key"] == "food")
        return line["samples"], line["passed"]

    corrected = client.post(
        f"/api/v1/results/{recorded.json['id']}/corrections",
        json={"reason": "复检结果更正为不合格", "sector": "food",
              "payload": failing, "conclusion_code": "corrected"},
        headers=regulator,
    )  # fmt: skip
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["inspected_on"] == f"{last}-12-20"
    assert (food(last), food(last + 1)) == ((1, 0), (0, 0))
    redated = client.post(
        f"/api/v1/results/{corrected.json['id']}/corrections",
        json={"reason": "检查日期录入有误", "sector": "food", "inspected_on": f"{last}-12-21",
              "payload": failing, "conclusion_code": "corrected"},
        headers=regulator,
    )  # fmt: skip
    assert redated.status_code == 201 and redated.json["inspected_on"] == f"{last}-12-21"
    assert food(last) == (1, 0)


_LINE = {"key": "x", "sector": "drugs", "target": 99.8, "name_zh": "药品", "name_en": "Drugs"}


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        ([{**_LINE, "target": "98.3%"}], "target '98.3%'"),  # was a 500 on every request
        ([{**_LINE, "target": None}], "target None"),  # a 500 once a sample was counted
        ([{**_LINE, "target": 100.5}], "target 100.5"),
        ([{k: v for k, v in _LINE.items() if k != "name_en"}], "name_en"),
        ([{**_LINE, "sector": ["drugs"]}], "sector must be"),
        # silently counted every drug result, GMP inspections too, as one stage
        ([{**_LINE, "where": {"path": ["sample", "stage"], "equal": "production"}}],
         "'where.equal'"),
        ([{**_LINE, "where": {"path": [], "equals": "production"}}], "where.path"),  # a 500
        ([{**_LINE, "where": {"path": ["completion"], "present": "yes"}}], "present: true"),
        ([{**_LINE, "traget": 98.2}], "'traget'"),
        ([_LINE, _LINE], "key 'x' is used twice"),
        ({"food": 98.2}, "a list"),
    ],
)  # fmt: skip
def test_bad_kpi_lines_are_refused_when_the_app_starts(lines, named, monkeypatch):
    """KPI_TARGETS was read only on a request: a typo answered every ``GET /kpis`` with a
    500, or gave numbers that looked right.  The app refuses to start, naming the line's
    problem in English and zh-CN; the programme's own lines, and a district's, start."""
    from inspect_core.app import create_app

    with pytest.raises(ValueError, match="KPI_TARGETS") as refused:
        create_app({"KPI_TARGETS": lines, "DATABASE_URL": "sqlite://"})
    assert named in str(refused.value) and "质量强区指标" in str(refused.value)
    monkeypatch.setenv("INSPECT_KPI_TARGETS", '[{"key": "food", "sector": "food", "target": 97,'
                       ' "name_zh": "食品抽检合格率", "name_en": "Food"}]')  # fmt: skip
    assert create_app({"DATABASE_URL": "sqlite://"}).config["KPI_TARGETS"][0]["target"] == 97


def test_kpis_count_current_versions_of_judged_results_in_the_users_regions(
    client, identity, district
):
    """Coverage the KPI tests lacked (these held already): a correction replaces its
    result (counted once, as corrected), a correction to "closed" leaves the count, and a
    user scoped to a region sees that region's results only."""
    regulator = identity("regulator")
    plan_id = create_plan(client, regulator, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 4}, headers=regulator)
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=4", headers=regulator).json["items"]
    ids = []
    for i, task in enumerate(tasks):
        me = identity("inspector", badge=task["inspectors"][0])
        r = client.post(
            f"/api/v1/tasks/{task['id']}/results",
            json={"sector": "food", "payload": factories.food_payload("0.1"),
                  "conclusion_code": "no_problem"},
            headers={**me, "Idempotency-Key": f"scope-{i}"},
        )  # fmt: skip
        assert r.status_code == 201, r.json
        ids.append(r.json["id"])
    for rid, body in (
        (ids[0], {"payload": factories.food_payload("0.3"), "conclusion_code": "corrected"}),
        (ids[1], {"conclusion_code": "closed"}),
    ):
        r = client.post(f"/api/v1/results/{rid}/corrections",
                        json={"reason": "复检更正或企业停业", "sector": "food", **body},
                        headers=regulator)  # fmt: skip
        assert r.status_code == 201, r.json

    def food(headers: dict[str, str]) -> tuple[int, int]:
        items = client.get(f"/api/v1/kpis?year={today_in_china().year}", headers=headers)
        line = next(x for x in items.json["items"] if x["key"] == "food")
        return line["samples"], line["passed"]

    assert food(regulator) == (3, 2)
    listed = client.get(f"/api/v1/results?plan={plan_id}&limit=10", headers=regulator).json
    by_region: dict[str, list[bool | None]] = {}
    for item in listed["items"]:
        uscc = item["uscc"]
        region = client.get(f"/api/v1/enterprises/{uscc}", headers=regulator).json["region"]
        by_region.setdefault(region, []).append(item["passed"])
    assert len(tasks) == 4 and set(by_region) == set(factories.REGIONS), by_region
    for region, passes in by_region.items():
        judged = [p for p in passes if p is not None]
        scoped = identity("regulator", regions=(region,))
        assert food(scoped) == (len(judged), sum(judged)), region
