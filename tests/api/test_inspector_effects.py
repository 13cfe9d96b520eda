"""Inspector effects and the category codes scoring relies on: the strictness the demo
history gave each inspector is what ``/scoring/inspector-effects`` recovers; results are
credited to the team on the task when recorded; a model keeps the code it gave categories
first seen after training."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sqlalchemy import String, func, insert, select, text

from inspect_core.app import create_app
from inspect_core.credit import data, jobs, rules
from inspect_core.credit.models import (
    CREDIT_EVENT_TYPES,
    CreditEvent,
    CreditRating,
    CreditRepair,
    CreditWithdrawal,
)
from inspect_core.db import db
from inspect_core.demo import seed_credit_record, seed_history
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.inspectors.models import Inspector
from inspect_core.migrate import upgrade
from inspect_core.plans.models import Task, TaskAssignment
from inspect_core.results.models import Result
from inspect_core.results.service import today_in_china
from inspect_core.simulate import simulate
from scoring.persistence import loads
from tests import factories
from tests.factories import create_plan


@pytest.fixture(scope="module")
def demo_district(tmp_path_factory):
    """The demo district, its simulated history and credit record, trained on and rescored
    as ``make demo`` does: (the history, the model, each tier's count, how many took the
    no-history override, the credit record as :func:`_credit_rows` reads it, and per
    enterprise with a history its rating's probability and the mean simulated strictness
    of the teams that checked it)."""
    path = tmp_path_factory.mktemp("demo") / "history.sqlite3"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True})
    with app.app_context():
        upgrade(db.engine)
        simulate(db.engine, 3000, 80, seed=2026, progress=False)  # the demo district's
        history = seed_history(seed=2026)
        record = seed_credit_record(2026, history)
        db.session.commit()
        model = jobs.train(db.session, "test", today_in_china(), window_days=3 * 365)
        scoring_run = jobs.run(db.session, "test", today_in_china())
        tiers = dict(
            db.session.execute(
                select(CreditRating.tier, func.count())
                .where(CreditRating.run_id == scoring_run.id)
                .group_by(CreditRating.tier)
            ).all()
        )
        no_history = db.session.scalar(
            select(func.count()).where(
                CreditRating.run_id == scoring_run.id,
                CreditRating.reasons.cast(String).contains("no_history"),
            )
        )
        codes = [  # a tier override's reason has no points
            [r["code"] if r["points"] is not None else f"override:{r['code']}" for r in reasons]
            for reasons in db.session.scalars(
                select(CreditRating.reasons).where(CreditRating.run_id == scoring_run.id)
            )
        ]
        # the credit rules the demo applied: the app's settings (CREDIT_REPAIR_REFUSED
        # names sectors, so a repair is checked against the enterprise's own)
        rules_config = {key: app.config[key] for key in ("CREDIT_EVENT_DAYS",
                        "CREDIT_REPAIR_MIN_DAYS", "CREDIT_REPAIR_REFUSED")}  # fmt: skip
        credit = {"record": record, "events": _credit_rows(scoring_run.id), "codes": codes,
                  "config": rules_config}  # fmt: skip
        visited = _visited(scoring_run.id, history.strictness)
        db.engine_for(app).dispose()
    return history, model, tiers, no_history, credit, visited


def _visited(run_id: int, strictness: dict[str, float]) -> dict[int, tuple[float, float]]:
    """Per enterprise with results: (its probability in the run, the mean simulated
    strictness of the teams on its results' tasks)."""
    teams: dict[int, list[float]] = {}
    for task_id, badge in db.session.execute(
        select(TaskAssignment.task_id, Inspector.badge).join(
            Inspector, Inspector.id == TaskAssignment.inspector_id
        )
    ):
        teams.setdefault(task_id, []).append(strictness.get(badge, 1.0))
    past: dict[int, list[float]] = {}
    for enterprise_id, task_id in db.session.execute(select(Result.enterprise_id, Result.task_id)):
        if task_id in teams:
            past.setdefault(enterprise_id, []).append(float(np.mean(teams[task_id])))
    probability = dict(
        db.session.execute(
            select(CreditRating.enterprise_id, CreditRating.probability).where(
                CreditRating.run_id == run_id
            )
        ).all()
    )
    return {e: (float(probability[e]), float(np.mean(s))) for e, s in past.items()}


def _credit_rows(run_id: int) -> list[dict]:
    """Each credit event with its enterprise's establishment and sectors, its repair, and
    the enterprise's rating in the run."""
    sectors: dict[int, list[str]] = {}
    for enterprise_id, sector in db.session.execute(
        select(EnterpriseSector.enterprise_id, EnterpriseSector.sector).order_by(
            EnterpriseSector.enterprise_id, EnterpriseSector.sector
        )
    ):
        sectors.setdefault(enterprise_id, []).append(sector)
    rows = db.session.execute(
        select(CreditEvent, Enterprise.established_on, CreditRepair.effective_on,
               CreditRating.tier, CreditRating.reasons, CreditWithdrawal)
        .join(Enterprise, Enterprise.id == CreditEvent.enterprise_id)
        .outerjoin(CreditRepair, CreditRepair.event_id == CreditEvent.id)
        .outerjoin(CreditWithdrawal, CreditWithdrawal.event_id == CreditEvent.id)
        .join(CreditRating, (CreditRating.enterprise_id == Enterprise.id)
              & (CreditRating.run_id == run_id))
    ).all()  # fmt: skip
    return [
        {"id": e.id, "enterprise_id": e.enterprise_id, "type": e.type, "severity": e.severity,
         "occurred_on": e.occurred_on, "expires_on": e.expires_on, "established_on": founded,
         "source": e.source, "sectors": sectors.get(e.enterprise_id, []),
         "repaired_on": repaired, "tier": tier, "reasons": reasons,
         "withdrawn": withdrawal is not None,
         "replaced_by": withdrawal.replaced_by_id if withdrawal else None}
        for e, founded, repaired, tier, reasons, withdrawal in rows
    ]  # fmt: skip


def test_the_estimated_strictness_ranks_inspectors_as_the_simulation_made_them(demo_district):
    """Four rounds of draws, a new random team of two for every check, all recorded by one
    clerk's account: crediting each result to its drawn team (not to the account that
    typed it) orders the inspectors as their simulated strictness does."""
    history, model, *_ = demo_district
    rated = {i["inspector"]: i["strictness"] for i in model.metrics["inspectors"]}
    assert set(rated) == set(history.strictness) and len(rated) >= 15
    badges = sorted(rated)
    rho = spearmanr([rated[b] for b in badges], [history.strictness[b] for b in badges])
    assert rho.statistic > 0.7, rho


def test_the_demo_rating_is_net_of_the_inspectors_who_visited(demo_district):
    """Issue #5: "report enterprise risk net of which inspector happened to visit".  The
    rating counted findings as recorded, and strict teams find more, so of the enterprises
    the simulation made equally risky those checked by strict teams were rated riskier
    (correlation of the teams' strictness with the probability 0.289 for the risky, 0.093
    for the others, with the findings counted whole).  Each finding now counts 1 / the
    strictness of its team, which the model stores; the correlation falls to 0.140 and
    0.029 (not to zero: weighing findings cannot move a clean check, which says more
    after a strict team than after a lenient one)."""
    history, model, *_, visited = demo_district
    stored = loads(model.blob).feature_config["team_strictness"]
    assert model.metrics["net_of_inspector"] is True
    assert stored == {i["inspector"]: i["strictness"] for i in model.metrics["inspectors"]}
    for risky, bound in ((True, 0.2), (False, 0.06)):
        pairs = np.array([v for e, v in visited.items() if (e in history.risky) == risky])
        assert len(pairs) > 300
        r = float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1])
        assert r < bound, (risky, r)


def test_the_demo_district_fills_every_tier_near_its_share(demo_district):
    """``make demo`` printed ``tiers: A 0``: the history's minor counts were unrelated to
    risk, so 71 % of the enterprises with a record tied on the best score and A's 30 %
    could not be cut from it.  Now every tier holds enterprises, the tiers the score sets
    within 10 points of the default shares 30/40/20/10 (ties still move a few), and the
    enterprises without history are the override's B."""
    _, _, tiers, no_history, *_ = demo_district
    assert sum(tiers.values()) == 3000 and no_history > 0
    by_score = {"A": tiers.get("A", 0), "B": tiers.get("B", 0) - no_history,
                "C": tiers.get("C", 0), "D": tiers.get("D", 0)}  # fmt: skip
    total = sum(by_score.values())
    for tier, share in {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}.items():
        assert by_score[tier] > 0 and abs(by_score[tier] / total - share) <= 0.1, (tier, by_score)


def test_the_demo_credit_record_is_what_a_district_holds_and_scoring_reads_it(demo_district):
    """``make demo`` loaded no credit event at all: the credit page, repairs, the
    serious-dishonesty list's tier D and every credit reason were out of the demo.  Its
    record now holds every event type, dated within the enterprise's life and expiring
    as the credit rules say, with repairs only where and when the rules allow; the
    risky enterprises draw most of the negative events; and every enterprise on the
    serious-dishonesty list, unrepaired, is tier D with that override as its first reason."""
    history, model, _, _, credit, _ = demo_district
    events, record = credit["events"], credit["record"]
    today = today_in_china()
    config = credit["config"]
    assert {e["type"] for e in events} == set(CREDIT_EVENT_TYPES)
    assert sum(record.events.values()) == len(events) and record.repaired > 0
    refused = 0  # events CREDIT_REPAIR_REFUSED keeps from repair (by the enterprise's sectors)
    for e in events:
        assert e["occurred_on"] <= today, e
        assert e["established_on"] is None or e["established_on"] <= e["occurred_on"], e
        assert e["expires_on"] == rules.default_expiry(
            config, e["type"], e["severity"], e["occurred_on"]
        )
        refused += rules.refusing_rule(config, e["type"], e["severity"], e["sectors"]) is not None
        if e["repaired_on"] is not None:
            earliest = rules.repairable_from(
                config, e["type"], e["severity"], e["occurred_on"], e["sectors"], e["expires_on"]
            )
            assert earliest is not None and earliest <= e["repaired_on"] <= today, e
            assert e["expires_on"] is None or e["repaired_on"] < e["expires_on"]
    negative = [e for e in events if CREDIT_EVENT_TYPES[e["type"]][2] > 0]
    risky = sum(e["enterprise_id"] in history.risky for e in negative) / len(history.risky)
    others = sum(e["enterprise_id"] not in history.risky for e in negative) / (
        3000 - len(history.risky)
    )
    assert refused > 0  # the demo holds events the sector rules keep from repair
    assert risky > 2 * others, (risky, others)
    listed = [e for e in events if e["type"] == "serious_dishonesty" and e["repaired_on"] is None
              and not e["withdrawn"]
              and (e["expires_on"] is None or e["expires_on"] > today)]  # fmt: skip
    assert listed
    for e in listed:
        first = e["reasons"][0]  # the override (no points), not the variable of that name
        assert e["tier"] == "D" and first["code"] == "serious_dishonesty", e
        assert first["points"] is None, e
    # the model reads the record: a credit variable keeps its points in the scorecard
    kept = set(model.features) - set(model.metrics["scorecard_dropped"])
    assert {name for name in kept if name.startswith("credit_")}, kept


def test_the_demo_withdraws_some_events_and_scoring_leaves_them_out(demo_district):
    """``make demo`` held no withdrawn event (更正/撤销), so its credit pages and ranked
    list never showed one.  It now withdraws some unrepaired penalties (a critical or
    major one corrected to the next lower severity, recorded in its place under the same
    decision), complaints and serious-dishonesty listings; and an enterprise whose every
    listing was annulled is not tier D by that override."""
    events, record = demo_district[4]["events"], demo_district[4]["record"]
    config = demo_district[4]["config"]
    by_id = {e["id"]: e for e in events}
    withdrawn = [e for e in events if e["withdrawn"]]
    assert len(withdrawn) == record.withdrawn > 0
    assert sum(e["replaced_by"] is not None for e in withdrawn) == record.corrected > 0
    assert {e["type"] for e in withdrawn} == {"penalty", "complaint", "serious_dishonesty"}
    lower = {"critical": "major", "major": "minor"}
    for e in withdrawn:
        assert e["repaired_on"] is None, e
        if e["replaced_by"] is None:
            assert e["type"] != "penalty" or e["severity"] == "minor", e
            continue
        new = by_id[e["replaced_by"]]
        assert (new["type"], new["severity"]) == ("penalty", lower[e["severity"]]), (e, new)
        assert (new["enterprise_id"], new["occurred_on"], new["source"]) == (
            e["enterprise_id"], e["occurred_on"], e["source"]
        )  # fmt: skip
        assert not new["withdrawn"] and new["expires_on"] == rules.default_expiry(
            config, "penalty", new["severity"], new["occurred_on"]
        )
    still = {e["enterprise_id"] for e in events
             if e["type"] == "serious_dishonesty" and not e["withdrawn"]}  # fmt: skip
    annulled = {e["enterprise_id"]: e for e in withdrawn
                if e["type"] == "serious_dishonesty" and e["enterprise_id"] not in still}  # fmt: skip
    assert annulled
    for e in annulled.values():
        assert all(r["code"] != "serious_dishonesty" for r in e["reasons"]), e


def test_the_demo_reasons_give_the_credit_record_one_adverse_and_one_positive_reason(
    demo_district,
):
    """With the credit record in the demo, enterprises with a penalty read "adverse credit
    records ≥1" beside "administrative penalties ≥1" (one event, twice; 110 rows), 2,519
    of 3,000 spent two of their three reasons on having no certification ("quality-system
    certifications 0", "positive credit records 0"), and an enterprise on the
    serious-dishonesty list read that, then "adverse credit records ≥1".  A total and its
    parts are one family, stated once: by the override where there is one."""
    codes = demo_district[4]["codes"]
    negative = {f"credit_{k}" for k, v in CREDIT_EVENT_TYPES.items() if v[2] > 0}
    negative |= {"credit_negative", "serious_dishonesty"}
    positive = {f"credit_{k}" for k, v in CREDIT_EVENT_TYPES.items() if v[2] < 0}
    positive |= {"credit_positive"}
    assert len(codes) == 3000
    twice = [c for c in codes if len(negative & set(c)) > 1 or len(positive & set(c)) > 1]
    assert twice == [], twice[:3]
    listed = [c for c in codes if "override:serious_dishonesty" in c]
    assert listed and all(not negative & set(c) for c in listed), listed
    # the credit record still gives reasons
    assert sum(bool(negative & set(c)) for c in codes) > 50


def test_a_model_trained_before_unseen_codes_keeps_its_psi(
    app, client, identity, scored, monkeypatch
):
    """A model stored before bd784cc put a category the training rows never held (here a
    town whose only enterprise has no history) in its PSI reference's missing-value bin.
    Rescored after the upgrade, the same enterprise is coded -1, a bin the reference holds
    no share of: the shares move between two bins and the run raises a PSI alarm
    although the population did not change at all."""
    import scoring.features as features
    from scoring.persistence import dumps, loads

    body = factories.enterprise(region="西彭镇", sectors=["food"])
    assert client.post("/api/v1/enterprises", json=body, headers=scored["admin"]).status_code == 201
    real = features._codes

    def before_bd784cc(column, mapping, *args, **kwargs):  # unseen → NaN, as it was
        codes = real(column, mapping, *args, **kwargs)
        return np.where(codes == -1.0, np.nan, codes)

    today = today_in_china()
    with app.app_context(), monkeypatch.context() as old:
        old.setattr(features, "_codes", before_bd784cc)
        model = jobs.train(db.session, "test", today, window_days=900)
        bundle = loads(model.blob)  # as a model of that time was stored
        bundle.feature_config.pop("unseen", None)
        model.blob = dumps(bundle)
        db.session.commit()
        then = jobs.run(db.session, "test", today).psi
    assert "region" in then["psi"] and not then["alarm"]
    with app.app_context():
        now = jobs.run(db.session, "test", today).psi
    assert now["psi"]["region"] == then["psi"]["region"], (then, now)
    assert not now["alarm"], now


def test_a_result_recorded_after_a_recusal_is_credited_to_the_replacement(
    app, client, identity, district
):
    """TEAMS_SQL: the team on the task when the result was recorded, not the drawn one."""
    admin = identity("admin")
    plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    assert client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1},
                       headers=admin).status_code == 201  # fmt: skip
    task = client.get(f"/api/v1/tasks?plan={plan_id}&limit=1", headers=admin).json["items"][0]
    leaving, staying = task["inspectors"]
    moved = client.post(f"/api/v1/tasks/{task['id']}/reassign",
                        json={"badge": leaving, "reason": "检查人员申请回避"}, headers=admin)  # fmt: skip
    assert moved.status_code == 200, moved.json
    (joining,) = set(moved.json["inspectors"]) - {staying}
    today = today_in_china()
    with app.app_context():
        s = db.session
        t = s.get(Task, task["id"])
        s.execute(insert(Result), [factories.history_result(t, today - dt.timedelta(days=3), 1)])
        s.commit()
        # every writer stores SQLite datetimes as one text form, so they compare as text
        if s.get_bind().dialect.name == "sqlite":
            stamps = s.execute(text(
                "SELECT a.assigned_at, a.released_at, r.recorded_at FROM task_assignments a "
                "JOIN results r ON r.task_id = a.task_id WHERE a.task_id = :t"
            ), {"t": task["id"]}).all()  # fmt: skip
            for row in stamps:
                for stamp in row:
                    assert stamp is None or (len(stamp) == 26 and stamp[10] == " "), stamp
        teams = data.teams_frame(s, today - dt.timedelta(days=30), today)
        # rescoring's weights find the same team: the one who left does not count
        events = data.events_frame(s, sector=False, teams=True)
        weights = data.finding_weights(s, {staying: 1.0, joining: 3.0, leaving: 99.0},
                                       events, today)  # fmt: skip
    assert sorted(teams["badge"]) == sorted([staying, joining])
    assert weights.tolist() == [pytest.approx(2 / 4)]


def test_a_model_trained_now_stores_its_unseen_code(app, client, scored):
    """The model stores the code it gave unseen categories: its run codes the new town as
    its PSI reference did (no alarm), and an old config reads as NaN."""
    from scoring.features import UNSEEN, FeatureConfig
    from scoring.persistence import loads

    body = factories.enterprise(region="西彭镇", sectors=["food"])
    assert client.post("/api/v1/enterprises", json=body, headers=scored["admin"]).status_code == 201
    today = today_in_china()
    with app.app_context():
        model = jobs.train(db.session, "test", today, window_days=900)
        stored = loads(model.blob).feature_config
        report = jobs.run(db.session, "test", today).psi
    assert stored["unseen"] == UNSEEN and FeatureConfig.from_dict(stored).unseen == UNSEEN
    assert report["psi"]["region"] == 0.0 and not report["alarm"]
    old = {k: v for k, v in stored.items() if k != "unseen"}
    assert np.isnan(FeatureConfig.from_dict(old).unseen)


def test_a_model_without_per_region_counts_shows_a_scoped_user_nobody(
    app, client, identity, scored
):
    """A model trained before the counts were kept per region: a scoped regulator sees no
    inspector (not the whole district's counts); a district-wide one sees them all."""
    from inspect_core.credit.models import ScoringModel

    with app.app_context():
        model = db.session.scalar(
            select(ScoringModel).where(ScoringModel.version == scored["model"])
        )
        model.metrics = {
            **model.metrics,
            "inspectors": [
                {k: v for k, v in i.items() if k != "regions"} for i in model.metrics["inspectors"]
            ],
        }
        db.session.commit()
    path = "/api/v1/scoring/inspector-effects"
    assert client.get(path, headers=identity("regulator")).json["items"]
    scoped = client.get(path, headers=identity("regulator", regions=[factories.REGIONS[0]]))
    assert scoped.status_code == 200 and scoped.json["items"] == []


def test_text_columns_are_read_as_written(app):
    """A badge "NA", "null" or "007" is valid; read with pandas' defaults (PostgreSQL's
    COPY path) the first two became missing and the last the number 7, and the inspector
    fell out of the effects."""
    with app.app_context():
        frame = data.read_frame(
            db.session,
            "SELECT 'NA' AS badge, 'null' AS name, 1 AS n UNION ALL SELECT '007', 'None', NULL",
            texts=("badge", "name"),
        )
    assert frame["badge"].tolist() == ["NA", "007"]
    assert frame["name"].tolist() == ["null", "None"]
    assert frame["n"].iloc[0] == 1 and np.isnan(frame["n"].iloc[1])


def test_findings_weigh_by_the_strictness_of_the_team_that_made_them(
    app, client, identity, district
):
    """Issue #5: a result's findings count 1 / the mean strictness of the team on its task
    (an inspector the model did not rate counts as 1); a clean result and one on or after
    the day scored carry none; the history features a run builds scale the finding counts,
    not the check or whether it failed."""
    admin = identity("admin")
    plan_id = create_plan(client, admin, ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    assert client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1},
                       headers=admin).status_code == 201  # fmt: skip
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=3", headers=admin).json["items"]
    strict = tasks[0]["inspectors"][0]
    today = today_in_china()
    day = today - dt.timedelta(days=10)
    with app.app_context():
        s = db.session
        found, clean, later = (s.get(Task, t["id"]) for t in tasks)
        s.execute(insert(Result), [
            factories.history_result(found, day, 1, minor_count=2),
            factories.history_result(clean, day, 0),
            factories.history_result(later, today, 1),
        ])  # fmt: skip
        s.commit()
        ids = dict(s.execute(select(Result.task_id, Result.id)).all())
        events = data.events_frame(s, sector=False, teams=True)
        weights = data.finding_weights(s, {strict: 2.0, "nobody": 5.0}, events, today)
        assert weights.to_dict() == {ids[found.id]: pytest.approx(1 / 1.5)}
        # a table that rates nobody who checked weighs their findings 1; one whose every
        # strictness is unusable (a hand-edited model) is no table
        unrated = data.finding_weights(s, {"nobody": 5.0}, events, today)
        assert unrated.to_dict() == {ids[found.id]: 1.0}
        assert data.finding_weights(s, {strict: float("nan"), "x": -1.0}, events, today).empty
        config = jobs.feature_config()
        net, whole = (
            jobs.chunk_features(s, inputs, 0, len(inputs.rows), config)
            .set_index(inputs.rows["enterprise_id"])
            .loc[found.enterprise_id]
            for inputs in (
                jobs.scoring_inputs(s, today, {strict: 2.0}),
                jobs.scoring_inputs(s, today),
            )
        )
    assert whole["last_serious"] == 1 and whole["last_minor"] == 2 and whole["last_failed"] == 1
    assert net["last_serious"] == pytest.approx(1 / 1.5)
    assert net["last_minor"] == pytest.approx(2 / 1.5)
    for name in ("decay_serious_180d", "decay_minor_730d"):
        assert net[name] == pytest.approx(whole[name] / 1.5), name
    for name in (
        "decay_inspections_180d",
        "decay_failed_180d",
        "last_failed",
        "n_prior",
        "days_since_last",
    ):
        assert net[name] == whole[name], name
    assert net["last_result"] == whole["last_result"] == "Fail"


def test_a_net_model_says_so_in_its_reasons_and_points(app, app_factory, client, scored):
    """A model trained net of the inspector tells the regulator so: ``/scoring/points``
    has ``net_of_inspector`` and each finding variable's text says its findings were
    weighed by the team's strictness, as the stored reasons do; with
    ``SCORING_NET_OF_INSPECTOR`` false a model counts them whole and says nothing."""
    points = client.get("/api/v1/scoring/points", headers=scored["admin"]).json
    assert points["net_of_inspector"] is True
    texts = {i["variable"]: i["text_en"] for i in points["items"] if i["text_en"]}
    noted = {v for v, t in texts.items() if t.endswith(jobs.NET_NOTE[1])}
    assert noted and all(v.startswith(jobs.NET_FEATURES) for v in noted), noted
    assert {v for v in texts if v.startswith(jobs.NET_FEATURES)} == noted
    with app.app_context():
        reasons = [r for rs in db.session.scalars(
            select(CreditRating.reasons).where(CreditRating.run_id == scored["run"])
        ) for r in rs if r["points"] is not None]  # fmt: skip
    finding = [r for r in reasons if r["code"].startswith(jobs.NET_FEATURES)]
    assert finding and all(r["text_zh"].endswith(jobs.NET_NOTE[0]) for r in finding)
    assert all(not r["text_en"].endswith(jobs.NET_NOTE[1]) for r in reasons if r not in finding)

    # a weighed count is not a whole number: one minor finding of a lenient team (1.33)
    # was shown as "≥2", two bins as "1" (make demo's points table)
    edges = np.array([0.6549, 0.8816, 1.291])
    assert jobs.bin_text("last_minor", edges, 3, net=True) == "≥1.29"
    assert jobs.bin_text("last_minor", edges, 1, net=True) == "0.65–0.88"
    assert jobs.bin_text("last_minor", edges, 3) == "≥2"  # whole counts, as recorded
    assert jobs.bin_text("last_failed", np.array([0.5]), 1, net=True) == "≥1"

    whole = app_factory(SCORING_NET_OF_INSPECTOR=False)
    with whole.app_context():
        model = jobs.train(db.session, "test", today_in_china(), window_days=900)
        card = jobs.points_card(model)
    assert model.metrics["net_of_inspector"] is False and model.metrics["inspectors"]
    assert loads(model.blob).feature_config["team_strictness"] == {}
    assert card["net_of_inspector"] is False
    assert not any((i["text_en"] or "").endswith(jobs.NET_NOTE[1]) for i in card["items"])


@pytest.mark.parametrize("parallel", [False, True])
def test_packed_team_read_weighs_as_the_teams_do(app, scored, monkeypatch, parallel):
    """Rescoring reads events and assignments packed server-side on PostgreSQL (the
    events in two parts above PARALLEL_MIN_ROWS results) and matches them in NumPy; the
    weights are those of the teams :func:`data.teams_frame` reads, on any database, and
    whichever way the events were read."""
    today = today_in_china()
    with app.app_context():
        session = db.session
        teams = data.teams_frame(session, dt.date(2000, 1, 1), today)
        strictness = {b: 0.5 + k / 10 for k, b in enumerate(sorted(set(teams["badge"])))}
        found = set(session.scalars(select(Result.id).where(
            Result.critical_count + Result.major_count + Result.minor_count > 0
        )))  # fmt: skip
        teams = teams[teams["inspection_id"].isin(found)]
        expected = 1 / teams["badge"].map(strictness).groupby(teams["inspection_id"]).mean()
        reads = [data.events_frame(session, teams=True)]  # as training reads them
        if session.get_bind().dialect.name == "postgresql":
            monkeypatch.setattr(data, "_packs", lambda *_: True)
            if parallel:
                monkeypatch.setattr(data, "PARALLEL_MIN_ROWS", 0)
            reads.append(data.events_frame(session, sector=False, teams=True))
            assert set(reads[1].columns) >= set(data.EVENT_TEAMS)
            packed, copied = (r.set_index("inspection_id").sort_index() for r in reads)
            assert (packed["recorded_at"] == copied["recorded_at"]).all()
            assert (packed["task_id"] == copied["task_id"]).all()
        elif parallel:
            pytest.skip("packing is PostgreSQL's")
        weights = [data.finding_weights(session, strictness, e, today) for e in reads]
    assert len(expected) > 50
    for got in weights:
        pd.testing.assert_series_equal(got, expected, check_names=False, check_index_type=False)


def test_team_weights_follow_each_assignment_in_time():
    """:func:`data.team_weights` applies TEAMS_SQL's rule: an inspector counts from the
    moment assigned (inclusive) until released (exclusive); a task keeping its drawn team
    takes its mean at once, one with a recusal member by member."""
    never = data.NEVER
    # task 1: A (strictness 2) and B (1), never released; task 2: C (4) released at 100,
    # D (1) assigned at 100, E (0.5) from the start; task 3: F (2) assigned at 50 only
    a_task = np.array([2, 1, 2, 3, 1, 2])
    strict = np.array([4.0, 2.0, 1.0, 2.0, 1.0, 0.5])
    start = np.array([0, 0, 100, 50, 0, 0])
    end = np.array([100, never, never, never, never, never])
    task = np.array([1, 2, 2, 2, 3, 3, 3, 9])
    recorded = np.array([5, 99, 100, 101, 49, 50, 51, 5])
    got = data.team_weights(task, recorded, a_task, strict, start, end)
    want = [2 / 3, 2 / 4.5, 2 / 1.5, 2 / 1.5, np.nan, 1 / 2, 1 / 2, np.nan]
    np.testing.assert_allclose(got, want)
    empty = data.team_weights(task, recorded, a_task[:0], strict[:0], start[:0], end[:0])
    assert np.isnan(empty).all()
