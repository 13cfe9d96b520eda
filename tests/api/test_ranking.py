"""Scoring over the records: training, a rescoring run, the risk-ranked list, credit pages,
export, overrides, and the draw using the current tiers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from inspect_core.credit import current_tiers, data, jobs
from inspect_core.credit.models import CreditRating, ScoringModel, ScoringRun
from inspect_core.db import db
from inspect_core.enterprises.models import Enterprise
from inspect_core.results.models import Result
from inspect_core.results.service import today_in_china
from inspect_core.sectors import catalogue
from scoring.persistence import loads
from tests import factories
from tests.factories import create_plan


def test_ranked_list_is_riskiest_first_with_reasons_and_pages_without_repeats(
    client, identity, scored
):
    regulator = identity("regulator")
    seen, cursor, keys = [], None, []
    while True:
        url = "/api/v1/enterprises?order=risk&limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=regulator)
        assert page.status_code == 200, page.json
        for item in page.json["items"]:
            seen.append(item["uscc"])
            keys.append(("DCBA".index(item["tier"]), item["score"]))
            assert item["tier"] in "ABCD" and item["run_id"] == scored["run"]
            assert 0 <= item["probability"] <= 1
            assert all(r["text_zh"] and r["text_en"] for r in item["reasons"])
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 26
    assert keys == sorted(keys)  # tier D first, then C, B, A; lowest score first within
    scored_by_model = [u for u in seen if u not in (scored["fresh"], scored["listed"])]
    assert len(scored_by_model) == 24


def test_ranked_page_sends_what_its_schema_documents(client, identity, scored):
    """The ranked page skips ``Schema.dump`` for speed (responses.py): its body must be
    exactly what the documented schema would send, sectors included (read in the page's
    own query, sorted as ``Enterprise.sectors``)."""
    from inspect_core.enterprises.schemas import EnterprisePageSchema

    regulator = identity("regulator")
    first = client.get("/api/v1/enterprises?order=risk&limit=1", headers=regulator).json
    uscc = first["items"][0]["uscc"]
    changed = client.patch(f"/api/v1/enterprises/{uscc}", json={"sectors": ["special_equipment", "food", "drugs"]},
                           headers=scored["admin"])  # fmt: skip
    assert changed.status_code == 200, changed.json
    page = client.get("/api/v1/enterprises?order=risk&limit=30", headers=regulator)
    assert page.status_code == 200 and page.mimetype == "application/json"
    body = page.json
    assert EnterprisePageSchema().dump(body) == body
    assert set(body["items"][0]) == {"uscc", "name", "region", "address", "status", "sectors",
                                     "score", "probability", "tier", "reasons", "run_id"}  # fmt: skip
    for item in body["items"]:
        one = client.get(f"/api/v1/enterprises/{item['uscc']}", headers=scored["admin"]).json
        assert item["sectors"] == one["sectors"] and item["name"] == one["name"]
    assert body["items"][0]["sectors"] == ["drugs", "food", "special_equipment"]


def test_overrides_are_tiers_with_recorded_reasons(client, identity, scored):
    regulator = identity("regulator")
    listed = client.get(f"/api/v1/enterprises/{scored['listed']}/credit", headers=regulator).json
    assert listed["current"]["tier"] == "D"
    assert listed["current"]["reasons"][0]["code"] == "serious_dishonesty"
    assert listed["events"][0]["type"] == "serious_dishonesty" and listed["events"][0]["active"]
    fresh = client.get(f"/api/v1/enterprises/{scored['fresh']}/credit", headers=regulator).json
    assert fresh["current"]["tier"] == "B"
    assert fresh["current"]["reasons"][0]["code"] == "no_history"
    d_only = client.get("/api/v1/enterprises?order=risk&tier=D&limit=100", headers=regulator).json[
        "items"
    ]
    assert scored["listed"] in {i["uscc"] for i in d_only} and {i["tier"] for i in d_only} == {"D"}


def test_an_override_to_d_ranks_with_the_d_tier_whatever_its_score(app, client, identity, scored):
    """An enterprise put on the serious-dishonesty list is tier D by rule, while the model
    scores it as before; "riskiest first" must show it with the D tier, not after the
    worse-scored C, B and A enterprises, on every page size and in the export."""
    regulator = identity("regulator")
    with app.app_context():
        scores = sorted(db.session.scalars(select(CreditRating.score)).all())
    # cut-offs that spread this district over all four tiers (its scores are all under
    # the default C cut-off)
    q = [scores[len(scores) * k // 4] for k in (3, 2, 1)]
    app.config["TIER_CUTOFFS"] = {"A": q[0], "B": q[1], "C": q[2]}
    with app.app_context():
        jobs.run(db.session, "test", today_in_china())
    before = client.get("/api/v1/enterprises?order=risk&limit=100", headers=regulator).json
    assert {i["tier"] for i in before["items"]} == set("ABCD")
    best = max(before["items"], key=lambda i: i["score"])
    assert best["tier"] == "A"
    response = client.post(
        f"/api/v1/enterprises/{best['uscc']}/credit-events",
        json={"type": "serious_dishonesty", "severity": "critical",
              "occurred_on": str(today_in_china() - dt.timedelta(days=1)),
              "source": "渝市监失信〔2026〕9号"},
        headers=scored["admin"],
    )  # fmt: skip
    assert response.status_code == 201, response.json
    with app.app_context():
        jobs.run(db.session, "test", today_in_china())
    items = client.get("/api/v1/enterprises?order=risk&limit=100", headers=regulator).json["items"]
    listed = next(i for i in items if i["uscc"] == best["uscc"])
    assert listed["tier"] == "D" and listed["score"] == pytest.approx(best["score"])
    # by score alone it would come after every enterprise of the other tiers
    assert all(i["score"] <= listed["score"] for i in items if i["tier"] != "D")
    tiers = [i["tier"] for i in items]
    assert tiers == sorted(tiers, key="DCBA".index)
    assert best["uscc"] in [i["uscc"] for i in items[: tiers.count("D")]]
    for limit in (1, 2, 3, 7):
        cursor, paged = None, []
        while True:
            url = f"/api/v1/enterprises?order=risk&limit={limit}" + (
                f"&cursor={cursor}" if cursor else ""
            )
            page = client.get(url, headers=regulator).json
            paged += [i["uscc"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert paged == [i["uscc"] for i in items], limit
    exported = client.get("/api/v1/rankings/export?format=csv", headers=regulator)
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))[1:]
    assert len(rows) == len(items)
    assert any(best["uscc"] in row for row in rows[: tiers.count("D")])


def test_a_cursor_of_another_tier_filter_or_the_old_order_is_refused(client, identity, scored):
    from inspect_core.pagination import encode_cursor

    regulator = identity("regulator")
    page = client.get("/api/v1/enterprises?order=risk&limit=1", headers=regulator).json
    first_tier = page["items"][0]["tier"]
    other = next(t for t in "ABCD" if t != first_tier)
    r = client.get(
        f"/api/v1/enterprises?order=risk&tier={other}&cursor={page['next_cursor']}",
        headers=regulator,
    )
    assert r.status_code == 400 and "cursor" in r.json["errors"], r.json
    with client.application.test_request_context():
        old = encode_cursor("ranked", [scored["run"], 0.0, 1])  # the score-only order's
    r = client.get(f"/api/v1/enterprises?order=risk&cursor={old}", headers=regulator)
    assert r.status_code == 400 and "cursor" in r.json["errors"], r.json


def test_a_rescore_does_not_reshuffle_a_list_being_read(app, client, identity, scored):
    regulator = identity("regulator")
    first = client.get("/api/v1/enterprises?order=risk&limit=10", headers=regulator).json
    with app.app_context():
        second_run = jobs.run(db.session, "test", today_in_china())
    rest = client.get(
        f"/api/v1/enterprises?order=risk&limit=100&cursor={first['next_cursor']}", headers=regulator
    ).json
    assert {i["run_id"] for i in rest["items"]} == {scored["run"]}
    assert len(first["items"]) + len(rest["items"]) == 26
    fresh = client.get("/api/v1/enterprises?order=risk&limit=1", headers=regulator).json
    assert fresh["items"][0]["run_id"] == second_run.id
    history = client.get(f"/api/v1/enterprises/{scored['listed']}/credit", headers=regulator).json[
        "history"
    ]
    assert [h["run_id"] for h in history] == [second_run.id, scored["run"]]


def test_a_backdated_run_does_not_replace_the_current_tiers(app, client, identity, scored):
    """`score run --as-of <past date>` (a retrospective run) finishes last but must not
    become the ratings the draw, the ranked list and the credit page treat as current:
    current is the finished run with the newest as_of."""
    regulator = identity("regulator")
    with app.app_context():
        old = jobs.run(db.session, "test", today_in_china() - dt.timedelta(days=400))
        listed_id = db.session.scalar(
            select(Enterprise.id).where(Enterprise.uscc == scored["listed"])
        )
        assert current_tiers(db.session, [listed_id], "B") == {listed_id: "D"}
    page = client.get("/api/v1/enterprises?order=risk&limit=1", headers=regulator).json
    listed = client.get(f"/api/v1/enterprises/{scored['listed']}/credit", headers=regulator).json
    assert page["items"][0]["run_id"] == scored["run"]
    assert listed["current"]["tier"] == "D" and listed["current"]["run_id"] == scored["run"]
    assert [h["run_id"] for h in listed["history"]] == [scored["run"], old.id]
    # the old run stays readable by its id
    past = client.get(f"/api/v1/enterprises?order=risk&limit=1&run={old.id}", headers=regulator)
    assert past.status_code == 200 and past.json["items"][0]["run_id"] == old.id


def test_a_run_as_of_a_later_day_is_refused_and_never_current(app, client, identity, scored):
    """`score run --as-of <a later day>` stored a run that, having the newest as_of, was
    current for the draw, the ranked list and credit pages until that day: every rescore
    of today was ignored.  It is refused before anything is scored, and a future-dated run
    already stored is not current."""
    from inspect_core.errors import Unprocessable

    regulator = identity("regulator")
    later = today_in_china() + dt.timedelta(days=365)
    with app.app_context():
        runs = db.session.scalar(select(func.count()).select_from(ScoringRun))
        with pytest.raises(Unprocessable) as refused:
            jobs.run(db.session, "test", later)
        assert "as_of" in refused.value.errors and refused.value.message_zh
    result = app.test_cli_runner().invoke(args=["score", "run", "--quiet", "--as-of", str(later)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "as_of" in result.output and "评分基准日不得晚于今天" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoringRun)) == runs
        # one stored before the refusal: every enterprise A, a year ahead
        ahead = ScoringRun(as_of=later, started_by="test", cutoffs={}, status="finished",
                           finished_at=jobs.utcnow())  # fmt: skip
        db.session.add(ahead)
        db.session.flush()
        ids = db.session.scalars(select(Enterprise.id)).all()
        db.session.add_all(
            CreditRating(run_id=ahead.id, enterprise_id=i, score=700.0, tier="A", reasons=[])
            for i in ids
        )
        db.session.commit()
        listed_id = db.session.scalar(
            select(Enterprise.id).where(Enterprise.uscc == scored["listed"])
        )
        assert current_tiers(db.session, [listed_id], "B") == {listed_id: "D"}
    page = client.get("/api/v1/enterprises?order=risk&limit=1", headers=regulator).json
    assert page["items"][0]["run_id"] == scored["run"]


@pytest.mark.parametrize("run", ["99999999999999999999", str(2**31), "0", "-1"])
def test_an_out_of_range_run_is_a_422_naming_run(client, identity, run):
    """A run id no row can have (beyond 32 bits, or below 1) is refused by the schema:
    it overflowed SQLite's driver (a 500), and run=0 silently meant the current run (no
    scored district needed: without a run, that was a 404, not the 422 asked for here)."""
    regulator = identity("regulator")
    for url in (f"/api/v1/enterprises?order=risk&run={run}", f"/api/v1/rankings/export?run={run}"):
        response = client.get(url, headers=regulator)
        assert response.status_code == 422, (url, response.status_code)
        assert "run" in response.json["errors"], response.json


def test_an_unknown_scoring_run_is_404_not_an_empty_list(client, identity, scored):
    regulator = identity("regulator")
    for url in ("/api/v1/enterprises?order=risk&run=987654", "/api/v1/rankings/export?run=987654"):
        response = client.get(url, headers=regulator)
        assert response.status_code == 404, (url, response.status_code)
        assert "run" in response.json["errors"] and response.json["message_zh"]
    known = client.get(f"/api/v1/enterprises?order=risk&run={scored['run']}", headers=regulator)
    assert known.status_code == 200 and len(known.json["items"]) == 26


def test_risk_list_and_export_apply_q_and_status_like_the_plain_list(client, identity, scored):
    """``q`` (name or USCC) and ``status`` were accepted with order=risk and ignored."""
    regulator, admin = identity("regulator"), scored["admin"]
    by_name = client.get("/api/v1/enterprises?order=risk&q=失信&limit=100", headers=regulator)
    assert [i["uscc"] for i in by_name.json["items"]] == [scored["listed"]]
    by_uscc = client.get(
        f"/api/v1/enterprises?order=risk&q={scored['fresh'][:12]}&limit=100", headers=regulator
    )
    assert [i["uscc"] for i in by_uscc.json["items"]] == [scored["fresh"]]
    closed = client.patch(
        f"/api/v1/enterprises/{scored['fresh']}", json={"status": "revoked"}, headers=admin
    )
    assert closed.status_code == 200, closed.json
    for status in ("active", "revoked"):
        plain = client.get(f"/api/v1/enterprises?status={status}&limit=100", headers=regulator)
        ranked = client.get(
            f"/api/v1/enterprises?order=risk&status={status}&limit=100", headers=regulator
        )
        assert {i["uscc"] for i in ranked.json["items"]} == {i["uscc"] for i in plain.json["items"]}
        assert {i["status"] for i in ranked.json["items"]} == {status}
    export = client.get("/api/v1/rankings/export?status=revoked&q=新开业", headers=regulator)
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == [scored["fresh"]]
    bad = client.get("/api/v1/enterprises?order=risk&status=gone", headers=regulator)
    assert bad.status_code == 422 and "status" in bad.json["errors"]


def test_export_csv_and_xlsx_in_rank_order(client, identity, scored):
    regulator = identity("regulator")
    ranked = client.get("/api/v1/enterprises?order=risk&limit=100", headers=regulator).json["items"]
    csv_body = client.get("/api/v1/rankings/export?format=csv", headers=regulator)
    assert csv_body.status_code == 200
    rows = list(csv.reader(io.StringIO(csv_body.data.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == [i["uscc"] for i in ranked]
    xlsx = client.get("/api/v1/rankings/export?format=xlsx&tier=D", headers=regulator)
    values = list(load_workbook(io.BytesIO(xlsx.data)).worksheets[0].values)
    assert {v[7] for v in values[1:]} == {"D"}


def test_an_xlsx_export_past_a_sheets_rows_is_a_422_not_a_damaged_file(
    client, identity, scored, monkeypatch
):
    """openpyxl writes rows past Excel's 1,048,576 without a word; the file then opens as
    damaged with those rows dropped.  Such an export is refused, naming ``format`` (CSV
    has no limit).  Here a sheet of 11 rows stands in for Excel's."""
    from inspect_core import workbook

    regulator = identity("regulator")
    monkeypatch.setattr(workbook, "XLSX_MAX_ROWS", 11)
    ranked = client.get("/api/v1/enterprises?order=risk&limit=100", headers=regulator).json
    assert len(ranked["items"]) > 10
    refused = client.get("/api/v1/rankings/export?format=xlsx", headers=regulator)
    assert refused.status_code == 422, refused.status_code
    assert "format" in refused.json["errors"]
    assert client.get("/api/v1/rankings/export?format=csv", headers=regulator).status_code == 200
    monkeypatch.setattr(workbook, "XLSX_MAX_ROWS", len(ranked["items"]) + 1)  # header + all
    whole = client.get("/api/v1/rankings/export?format=xlsx", headers=regulator)
    assert whole.status_code == 200
    assert (
        len(list(load_workbook(io.BytesIO(whole.data)).worksheets[0].values))
        == len(ranked["items"]) + 1
    )


def test_ranked_list_and_export_are_for_regulators(client, identity, scored, district):
    inspector = identity("inspector", badge=district["inspectors"][0])
    assert client.get("/api/v1/enterprises?order=risk", headers=inspector).status_code == 403
    assert client.get("/api/v1/rankings/export", headers=inspector).status_code == 403
    assert client.get("/api/v1/enterprises?limit=5", headers=inspector).status_code == 200


def test_the_draw_uses_the_current_tiers(client, identity, scored, session):
    regulator = identity("regulator")
    tiers = {
        i["uscc"]: i["tier"]
        for i in client.get("/api/v1/enterprises?order=risk&limit=100", headers=regulator).json[
            "items"
        ]
    }
    plan_id = create_plan(
        client, regulator, ratios={"A": "0", "B": "0", "C": "0", "D": "1"}, scope_regions=[]
    )
    draw = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 3}, headers=regulator)
    assert draw.status_code == 201, draw.json
    drawn = {
        t["uscc"]
        for t in client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=regulator).json[
            "items"
        ]
    }
    food_d = {u for u, t in tiers.items() if t == "D"} & {
        e.uscc
        for e in session.scalars(select(Enterprise))
        if "food" in e.sectors and e.status == "active"
    }
    assert drawn == food_d
    by_tier = {t["tier"]: t for t in draw.json["tiers"]}
    assert by_tier["D"]["selected"] == by_tier["D"]["eligible"] == len(food_d)


def test_score_commands(app, scored):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["score", "run", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "26 enterprises scored" in result.output
    # how many in each tier, and the cut-offs that put them there
    with app.app_context():
        last = db.session.scalar(select(ScoringRun).order_by(ScoringRun.id.desc()).limit(1))
        counts = dict(db.session.execute(
            select(CreditRating.tier, func.count())
            .where(CreditRating.run_id == last.id).group_by(CreditRating.tier)
        ).all())  # fmt: skip
    shown = ", ".join(f"{t} {counts.get(t, 0)}" for t in "ABCD")
    assert f"tiers: {shown} (cut-offs: A ≥ {last.cutoffs['A']:.1f}" in result.output
    trained = runner.invoke(args=["score", "train", "--window-days", "900"])
    assert trained.exit_code == 0, trained.output
    teams = _team_visits(app)
    assert "auc_ml" in trained.output and f"inspectors rated: {len(teams)}" in trained.output
    assert not any(badge in trained.output for badge in teams)  # the table is the API's
    with app.app_context():
        ml = loads(db.session.scalar(
            select(ScoringModel.blob).order_by(ScoringModel.id.desc()).limit(1)
        )).estimator["ml"]  # fmt: skip
    # one calibrated model: a rescore walks one set of trees, not three
    assert ml.ensemble is False and len(ml.calibrated_.calibrated_classifiers_) == 1


def test_two_trainings_in_one_second_get_two_versions(app, scored, monkeypatch):
    """The version holds the training time to the second; a second training within it
    failed on the unique version (a traceback from `score train`) after all the fitting."""
    moment = dt.datetime(2026, 11, 26, 10, 0, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(jobs, "utcnow", lambda: moment)
    with app.app_context():
        today = today_in_china()
        versions = [jobs.train(db.session, "test", today, window_days=900).version
                    for _ in range(3)]  # fmt: skip
    stem = f"credit-{today.isoformat()}-20261126100000"
    assert versions == [stem, f"{stem}-2", f"{stem}-3"]


def test_a_version_another_process_took_meanwhile_is_skipped(app, scored, monkeypatch):
    """A training in another process, committed after this one looked for taken versions,
    made the insert fail with an IntegrityError; the next version is tried instead, and
    the other's model is left as it was."""
    from inspect_core.credit.models import ScoringModel
    from scoring import persistence

    moment = dt.datetime(2026, 11, 26, 11, 0, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(jobs, "utcnow", lambda: moment)
    real_dumps = persistence.dumps
    other: list[str] = []

    def dumps_while_another_commits(bundle):
        if not other:  # the other process's row appears after the versions were read
            other.append(bundle.version)
            with db.session.begin_nested():
                db.session.add(ScoringModel(version=bundle.version, kind="other", blob=b"x",
                                            features=[], metrics={}))  # fmt: skip
        return real_dumps(bundle)

    monkeypatch.setattr(persistence, "dumps", dumps_while_another_commits)
    with app.app_context():
        today = today_in_china()
        row = jobs.train(db.session, "test", today, window_days=900)
        stem = f"credit-{today.isoformat()}-20261126110000"
        assert other == [stem] and row.version == f"{stem}-2"
        kinds = dict(db.session.execute(
            select(ScoringModel.version, ScoringModel.kind)
            .where(ScoringModel.version.startswith(stem))
        ).all())  # fmt: skip
        db.session.execute(delete(ScoringModel).where(ScoringModel.version == stem))
        db.session.commit()  # the module's later tests read real models only
    assert kinds == {stem: "other", f"{stem}-2": "scorecard+ml"}


def test_training_uses_the_configured_significance_level(app, scored, monkeypatch):
    """SCORECARD_ALPHA reaches the scorecard `score train` fits: the default drops
    variables whose bins differ by chance; null keeps every variable it can."""
    from scoring.persistence import loads

    with app.app_context():
        today = today_in_china()
        default = loads(jobs.train(db.session, "test", today, window_days=900).blob)
        monkeypatch.setitem(app.config, "SCORECARD_ALPHA", None)
        off = loads(jobs.train(db.session, "test", today, window_days=900).blob)
    card, kept = default.estimator["scorecard"], off.estimator["scorecard"]
    assert card.alpha == 0.01 and "not_significant" in card.drop_reasons_.values()
    assert kept.alpha is None and "not_significant" not in kept.drop_reasons_.values()


def test_score_run_with_out_of_order_cutoffs_is_a_clear_cli_error(app, scored):
    """Cut-offs changed after the app started (or checked nowhere) must stop `score run`
    before it scores anything, with a usage error in English and zh-CN, not a traceback."""
    app.config["TIER_CUTOFFS"] = {"A": 560.0, "B": 590.0, "C": 620.0}
    with app.app_context():
        runs = db.session.scalar(select(func.count()).select_from(ScoringRun))
    result = app.test_cli_runner().invoke(args=["score", "run", "--quiet"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a traceback
    assert "A > B > C" in result.output and "TIER_CUTOFFS" in result.output
    assert "分级下限" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoringRun)) == runs


def test_score_train_without_results_is_a_clear_cli_error_in_both_languages(app):
    """Nothing to learn from: a usage error naming the window, in English and zh-CN (the
    command printed the English message only, and this error had no zh-CN text)."""
    result = app.test_cli_runner().invoke(args=["score", "train"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a traceback
    assert "no judged results in the training window" in result.output
    assert "训练期内没有已判定的检查结果" in result.output and '"window"' in result.output


@pytest.mark.db
@pytest.mark.parametrize("days", ["0", "-5"])
def test_score_train_with_a_window_of_no_days_is_a_usage_error(app, scored, days):
    """A window of 0 or fewer days said "no judged results from <after> to <before>", as if
    the record were empty, with results in it."""
    result = app.test_cli_runner().invoke(args=["score", "train", "--window-days", days])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "--window-days" in result.output and "at least 1 day" in result.output
    assert "训练窗口至少为1天" in result.output


@pytest.mark.parametrize("days", ["36526", "1000000", "99999999999999999999"])
def test_score_train_with_a_window_past_a_century_is_a_usage_error(app, days):
    """A window of a million days reached back before year 1: an OverflowError traceback."""
    result = app.test_cli_runner().invoke(args=["score", "train", "--window-days", days])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "at most 36525 days" in result.output and "训练窗口至多为36525天" in result.output


def test_score_run_with_a_malformed_date_is_a_usage_error(app):
    result = app.test_cli_runner().invoke(args=["score", "run", "--quiet", "--as-of", "2026-13-01"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "YYYY-MM-DD" in result.output


def test_psi_no_alarm_when_scoring_the_training_data_on_the_training_day(app, scored):
    """Nothing changed between training and this run: the reference is every enterprise
    as of the training cut-off (as a run scores them), not the training rows, whose
    inspections at their own dates gave max PSI ≈ 7 and an alarm on every run."""
    with app.app_context():
        run = db.session.get(ScoringRun, scored["run"])
        model = jobs.latest_model(db.session)
        assert run.alarm is False and run.psi["max"] < 0.01, run.psi
        assert model.metrics["monitoring_reference"] == f"all 26 enterprises as of {run.as_of}"


def test_psi_alarms_on_a_genuinely_shifted_population(app, client, scored):
    """Twice as many enterprises, the new half with no history at all: an alarm."""
    for k in range(30):
        body = factories.enterprise(region="华岩镇", name=f"重庆新设第{k}有限公司")
        assert (
            client.post("/api/v1/enterprises", json=body, headers=scored["admin"]).status_code
            == 201
        )
    with app.app_context():
        shifted = jobs.run(db.session, "test", today_in_china())
        assert shifted.alarm is True and shifted.psi["psi"]["has_history"] > 0.25, shifted.psi
        shifted_id, psi = shifted.id, dict(shifted.psi["psi"])
    # the alarm was printed by `score run` and audited, and nowhere a regulator reads:
    # /scoring/runs shows each run's check, the current run first, with what shifted
    admin = scored["admin"]
    runs = client.get("/api/v1/scoring/runs", headers=admin).json
    assert [(r["id"], r["current"], r["alarm"]) for r in runs["items"]] == [
        (shifted_id, True, True), (scored["run"], False, False)
    ]  # fmt: skip
    over = {name: value for name, value in psi.items() if value > 0.25}
    newest = runs["items"][0]
    assert [x["variable"] for x in newest["shifted"]] == sorted(over, key=lambda n: (-over[n], n))
    assert newest["psi_threshold"] == 0.25 and newest["psi_max"] == max(psi.values())
    assert newest["model_version"] and newest["enterprises"] == 56
    one = client.get(f"/api/v1/scoring/runs/{shifted_id}", headers=admin).json
    assert one["psi"] == psi and one["shifted"] == newest["shifted"]
    page = client.get("/api/v1/scoring/runs?limit=1", headers=admin).json
    rest = client.get(f"/api/v1/scoring/runs?cursor={page['next_cursor']}", headers=admin).json
    assert [r["id"] for r in page["items"] + rest["items"]] == [shifted_id, scored["run"]]
    assert client.get("/api/v1/scoring/runs/999999", headers=admin).status_code == 404
    printed = app.test_cli_runner().invoke(args=["score", "run", "--quiet"])
    assert printed.exit_code == 0 and f"PSI ALARM: {newest['shifted'][0]['variable']}" in (
        printed.output
    ), printed.output


def test_a_model_saved_with_training_row_reference_still_scores(app, scored):
    """Models stored before the reference changed keep loading and scoring: the bundle
    format is the same, only what its ``monitoring`` describes differs."""
    from scoring import monitoring
    from scoring.persistence import dumps, loads

    with app.app_context():
        model = jobs.latest_model(db.session)
        bundle = loads(model.blob)
        old = {"score": {"edges": [500.0, 600.0], "shares": [0.2, 0.3, 0.5, 0.0]}}
        bundle.monitoring = old
        model.blob = dumps(bundle)
        db.session.commit()
        run = jobs.run(db.session, "test", today_in_china())
        assert run.status == "finished" and set(run.psi["psi"]) == {"score"}
        assert run.psi["threshold"] == monitoring.ALARM


def test_the_trained_models_treat_category_codes_as_categories(app, scored):
    """Region, sector, status and last result reach the models as codes in the order of
    their vocabulary (alphabetical): the scorecard gives each category a bin of its own and
    the trees split them as sets, so no region shares points with its alphabetical
    neighbours."""
    from scoring.persistence import loads

    with app.app_context():
        bundle = loads(jobs.latest_model(db.session).blob)
    card, ml = bundle.estimator["scorecard"], bundle.estimator["ml"]
    wanted = set(jobs.feature_config().categorical)
    categorical = [name for name in bundle.features if name in wanted]
    assert "region" in categorical, bundle.features  # the fixture's towns differ
    assert [n for n, c in zip(card.feature_names_, card.is_categorical_, strict=True) if c] == (
        categorical
    )
    assert list(ml.categorical_features) == categorical
    table = card.points_table()
    regions = bundle.feature_config["vocabulary"]["region"]
    bins = table.loc[table["variable"] == "region", "bin"].tolist()
    assert bins[-2:] == ["other", "missing"]
    assert all(b.startswith("= ") and int(b[2:]) < len(regions) for b in bins[:-2]), bins
    # population stability per region, not per decile of region codes
    edges = bundle.monitoring["region"]["edges"]
    assert edges and all(e % 1 == 0.5 for e in edges), edges


def test_the_points_table_is_how_every_score_and_reason_was_made(
    client, identity, scored, district
):
    """Regulators read the scorecard itself: each variable's bins with the text a reason
    for a row in it reads, its training rows and points.  Every stored reason is one of
    those texts, losing exactly its bin's points against the variable's best bin, and
    every stored score lies between the worst and the best the table allows."""
    regulator = identity("regulator")
    card = client.get("/api/v1/scoring/points", headers=regulator)
    assert card.status_code == 200, card.json
    card = card.json
    assert card["model"] == scored["model"] and card["scaling"]["pdo"] == 20
    by_variable: dict[str, list[dict]] = {}
    for item in card["items"]:
        by_variable.setdefault(item["variable"], []).append(item)
    best = {v: max(i["points"] for i in items) for v, items in by_variable.items()}
    worst = sum(min(i["points"] for i in items) for items in by_variable.values())
    assert card["best_score"] == pytest.approx(sum(best.values()), abs=0.001)
    for items in by_variable.values():
        assert sum(i["rows"] for i in items) == card["rows"]
        assert items[-1]["bin"] == "missing"
    regions = {i["text_en"] for i in by_variable["region"]}
    assert "Street or town: 走马镇" in regions, regions
    # why a variable was left out, in both languages; a kept one has none
    for items in by_variable.values():
        first = items[0]
        assert all((i["p_value"], i["drop_reason"]) == (first["p_value"], first["drop_reason"])
                   for i in items)  # fmt: skip
        assert 0 <= first["p_value"] <= 1
        if first["dropped"]:
            assert first["drop_reason"] in {"not_significant", "negative_coefficient"}
            assert first["drop_reason_zh"] and first["drop_reason_en"]
            assert (first["drop_reason"] == "not_significant") == (first["p_value"] > 0.01)
        else:
            assert first["drop_reason"] is first["drop_reason_en"] is None
            assert first["p_value"] <= 0.01
            # a kept variable scores its bins differently
            assert len({i["points"] for i in items if i["rows"]}) > 1
    assert any(items[0]["drop_reason"] == "not_significant" for items in by_variable.values())
    assert any(not items[0]["dropped"] for items in by_variable.values())
    listed = client.get("/api/v1/enterprises?order=risk&limit=100", headers=regulator).json
    checked = 0
    for enterprise in listed["items"]:
        assert worst - 0.001 <= enterprise["score"] <= card["best_score"] + 0.001
        for reason in enterprise["reasons"]:
            if reason["points"] is None:  # a tier override
                continue
            (item,) = [i for i in by_variable[reason["feature"]]
                       if i["text_zh"] == reason["text_zh"] and i["text_en"] == reason["text_en"]]  # fmt: skip
            assert reason["points"] == pytest.approx(item["points"] - best[item["variable"]],
                                                     abs=0.006)  # fmt: skip
            checked += 1
    assert checked > 20
    one_run = client.get(f"/api/v1/scoring/points?run={scored['run']}", headers=regulator)
    # the same table; the cut-offs are the run's own, which the next run would use too
    assert one_run.json == {**card, "tier_cutoffs_source": "run"}
    assert card["tier_cutoffs_source"] == "model"
    missing = client.get("/api/v1/scoring/points?run=999999", headers=regulator)
    assert missing.status_code == 404 and "run" in missing.json["errors"]
    inspector = identity("inspector", badge=district["inspectors"][0])
    assert client.get("/api/v1/scoring/points", headers=inspector).status_code == 403


def test_the_points_table_gives_p_values_to_significant_digits(app, scored):
    """A p-value just above alpha read 0.01 at six decimals, beside "not significant:
    p above 0.01"; a tiny one read 0."""
    from types import SimpleNamespace

    from scoring.persistence import dumps, loads

    with app.app_context():
        model = jobs.latest_model(db.session)
        bundle = loads(model.blob)
        card = bundle.estimator["scorecard"]
        weak = card.feature_names_.index(card.dropped_[0])
        strong = next(j for j, n in enumerate(card.feature_names_) if n not in card.dropped_)
        card.p_values_[weak], card.p_values_[strong] = 0.0100004, 3.2e-30
        edited = SimpleNamespace(**{c: getattr(model, c) for c in (
            "version", "trained_at", "window_start", "window_end", "metrics")}, blob=dumps(bundle))  # fmt: skip
        items = jobs.points_card(edited)["items"]
    shown = {i["variable"]: i["p_value"] for i in items}
    assert shown[card.feature_names_[weak]] == 0.0100004 > 0.01
    assert shown[card.feature_names_[strong]] == 3.2e-30


def test_the_points_table_gives_no_reason_text_to_a_bin_no_reason_comes_from(
    client, identity, scored
):
    """A reason is given only where its text is true of the row: an adverse variable
    where the row has some (> 0) and sits above the best bin, never for a missing value
    whose text needs one.  The table read "Failed the last check" beside the bin of the
    enterprises whose last check passed, and beside those never checked."""
    card = client.get("/api/v1/scoring/points", headers=identity("regulator")).json
    text = {(i["variable"], i["bin"]): i["text_en"] for i in card["items"]}
    assert text[("last_failed", "[-inf, 1)")] is None, text[("last_failed", "[-inf, 1)")]
    assert text[("last_failed", "missing")] is None
    assert text[("last_failed", "[1, inf)")] == "Failed the last check"
    assert text[("n_prior", "missing")] is None  # "Past checks: —"
    assert text[("n_prior", "[-inf, 1)")] == "Past checks: 0"
    assert text[("region", "= 1")] == "Street or town: 走马镇"


def test_the_points_table_of_a_run_is_that_runs_model_not_the_newest(app, client, identity, scored):
    """``?run=`` reads the model the run scored with; with one model only, ignoring
    ``run`` passed the test above."""
    from inspect_core.credit.models import ScoringModel

    with app.app_context():
        first = db.session.scalars(select(ScoringModel)).one()
        db.session.add(ScoringModel(version=first.version + "-next", kind=first.kind,
                                    blob=first.blob, features=first.features, metrics={}))  # fmt: skip
        db.session.commit()
    regulator = identity("regulator")
    newest = client.get("/api/v1/scoring/points", headers=regulator).json
    of_run = client.get(f"/api/v1/scoring/points?run={scored['run']}", headers=regulator).json
    assert newest["model"] == scored["model"] + "-next" and of_run["model"] == scored["model"]


def test_a_regulator_scoped_to_a_region_sees_no_other_regions_bins(client, identity, scored):
    """Another region's bin holds that region's record (its training rows, and in the WoE
    its outcomes), which the ranked list and the KPIs keep from a scoped regulator."""
    everyone = client.get("/api/v1/scoring/points", headers=identity("regulator")).json
    scoped = client.get(
        "/api/v1/scoring/points", headers=identity("regulator", regions=["华岩镇"])
    ).json
    named = {i["category"] for i in everyone["items"] if i["variable"] == "region"}
    assert {"华岩镇", "走马镇"} <= named  # the test bites: both towns have bins
    regions = [i for i in scoped["items"] if i["variable"] == "region"]
    assert {i["category"] for i in regions} == {"华岩镇", None}
    assert [i["bin"] for i in regions][-2:] == ["other", "missing"]
    rest = [i for i in everyone["items"] if i["variable"] != "region"]
    assert [i for i in scoped["items"] if i["variable"] != "region"] == rest


def test_the_points_table_before_any_model_is_a_409(client, identity):
    response = client.get("/api/v1/scoring/points", headers=identity("regulator"))
    assert response.status_code == 409 and "model" in response.json["errors"]


def test_scoring_before_any_model_says_so_in_both_languages(app, client, identity):
    """An empty database: `score run` is a usage error and the scoring endpoints a 409
    or an empty list, never a 500; the missing model is named in zh-CN too (the CLI
    printed English only, the API's zh-CN was the generic 409 text)."""
    result = app.test_cli_runner().invoke(args=["score", "run", "--quiet"])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "score train" in result.output and "尚未训练模型" in result.output
    regulator = identity("regulator")
    for url in ("/api/v1/scoring/points", "/api/v1/scoring/inspector-effects"):
        response = client.get(url, headers=regulator)
        assert response.status_code == 409, (url, response.status_code)
        assert "尚未训练模型" in response.json["message_zh"]
    for url in ("/api/v1/enterprises?order=risk", "/api/v1/rankings/export"):
        assert client.get(url, headers=regulator).status_code == 200, url


def _team_visits(app, regions=None) -> dict[str, int]:
    """Per badge: the fixture's results on tasks the inspector is on (in ``regions``)."""
    from inspect_core.inspectors.models import Inspector
    from inspect_core.plans.models import TaskAssignment

    with app.app_context():
        stmt = (
            select(Inspector.badge, func.count(Result.id))
            .join(TaskAssignment, TaskAssignment.inspector_id == Inspector.id)
            .join(Result, Result.task_id == TaskAssignment.task_id)
            .join(Enterprise, Enterprise.id == Result.enterprise_id)
            .group_by(Inspector.badge)
        )
        if regions:
            stmt = stmt.where(Enterprise.region.in_(regions))
        return dict(db.session.execute(stmt).all())


def test_inspector_effects_credit_each_member_of_the_drawn_team(app, client, identity, scored):
    """Inspectors are drawn at random for each task, two to a team: every member is
    credited with the team's results, whoever's account recorded them (here one account,
    "seed", recorded all)."""
    response = client.get("/api/v1/scoring/inspector-effects", headers=identity("regulator"))
    assert response.status_code == 200
    assert response.json["model"] == scored["model"] and response.json["regions"] is None
    items = {i["inspector"]: i for i in response.json["items"]}
    expected = _team_visits(app)
    assert len(expected) > 2 and {b: i["visits"] for b, i in items.items()} == expected
    with app.app_context():
        results = db.session.scalar(select(func.count()).select_from(Result))
    assert sum(expected.values()) == 2 * results  # two inspectors a task
    assert all(i["strictness"] > 0 and i["name"] for i in items.values())
    assert "seed" not in items and "regions" not in next(iter(items.values()))


def test_teams_are_read_for_the_training_window_only(app, scored):
    """Ten million results are twenty million team rows: training reads the teams of its
    window's results only."""
    with app.app_context():
        today = today_in_china()
        start = today - dt.timedelta(days=200)
        teams = data.teams_frame(db.session, start, today)
        inside = db.session.scalars(
            select(Result.id).where(Result.inspected_on >= start, Result.inspected_on < today)
        ).all()
        everything = db.session.scalar(select(func.count()).select_from(Result))
    assert 0 < len(inside) < everything  # the test bites: some results are older
    assert sorted(set(teams["inspection_id"])) == sorted(inside)
    assert len(teams) == 2 * len(inside) and teams["badge"].map(type).eq(str).all()


def test_a_scoped_regulator_sees_inspector_effects_of_their_regions_only(
    app, client, identity, scored
):
    """What an inspector found in another region is that region's record: a regulator
    scoped to one town sees only who visited it, with those visits' counts."""
    path = "/api/v1/scoring/inspector-effects"
    everyone = {
        i["inspector"]: i for i in client.get(path, headers=identity("regulator")).json["items"]
    }
    for town in factories.REGIONS:
        scoped = client.get(path, headers=identity("regulator", regions=[town])).json
        assert scoped["regions"] == [town]
        items = {i["inspector"]: i for i in scoped["items"]}
        expected = _team_visits(app, [town])
        assert expected and {b: i["visits"] for b, i in items.items()} == expected
        assert all(i["strictness"] == everyone[b]["strictness"] for b, i in items.items())
    # the test bites: some inspector's visits were split between the towns
    assert any(everyone[b]["visits"] > v for b, v in _team_visits(app, ["走马镇"]).items())


def _ratings(session, run_id: int) -> dict[int, tuple]:
    rows = session.execute(
        select(
            CreditRating.enterprise_id, CreditRating.score, CreditRating.probability,
            CreditRating.tier, CreditRating.reasons,
        ).where(CreditRating.run_id == run_id)
    )  # fmt: skip
    return {r.enterprise_id: (r.score, r.probability, r.tier, r.reasons) for r in rows}


def test_rescoring_chunk_by_chunk_gives_the_ratings_of_one_pass(app, scored, monkeypatch):
    """Every chunk is featured, scored and written on its own (a COPY each on
    PostgreSQL); seven rows at a time must store exactly what one pass stores."""
    monkeypatch.setattr(jobs, "WRITE_CHUNK", 7)
    with app.app_context():
        session = db.session
        small = jobs.run(session, "test", today_in_china())
        assert small.enterprises == 26
        once = _ratings(session, scored["run"])
        chunked = _ratings(session, small.id)
        first = session.get(ScoringRun, scored["run"])
        assert chunked == once and len(once) == 26
        assert small.psi == first.psi


def test_packed_event_read_equals_the_copy_read(app, scored, monkeypatch):
    """Rescoring reads events packed server-side on PostgreSQL; the frame must be the
    one COPY gives (each enterprise's events in the same order)."""
    with app.app_context():
        session = db.session
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("packing is PostgreSQL's")
        monkeypatch.setattr(data, "_packs", lambda *_: True)
        packed = data.events_frame(session, sector=False)
        monkeypatch.setattr(data, "_packs", lambda *_: False)
        copied = data.events_frame(session, sector=False)
        full = data.events_frame(session).drop(columns=["sector"])
    assert len(packed) == 24 * 8  # the seeded results, all judged and current
    for frame in (copied, full):
        pd.testing.assert_frame_equal(
            packed.sort_values("enterprise_id", kind="stable").reset_index(drop=True),
            frame.sort_values("enterprise_id", kind="stable").reset_index(drop=True),
        )


def test_a_failed_ratings_write_raises_and_leaves_nothing(app, scored):
    """A rating that breaks a constraint (an enterprise that does not exist) fails the
    run, whether the row went by INSERT or by the COPY thread, and stores nothing."""
    with app.app_context():
        session = db.session
        run = ScoringRun(as_of=today_in_china(), started_by="test", cutoffs={})
        session.add(run)
        session.flush()
        with (
            pytest.raises(Exception, match="(?i)foreign key"),
            jobs._RatingsWriter(session, run.id) as writer,
        ):
            writer.write([10**9], [600.0], [0.1], ["A"], [[]])
            writer.write([10**9 + 1], [600.0], [0.1], ["A"], [[]])
        session.rollback()
        assert session.scalar(select(func.count()).where(CreditRating.run_id == run.id)) == 0


def _open_run(session):
    """An unfinished scoring run, and an enterprise to rate in it."""
    run = ScoringRun(as_of=today_in_china(), started_by="test", cutoffs={})
    session.add(run)
    session.flush()
    (enterprise_id,) = session.execute(select(Enterprise.id).limit(1)).one()
    return run, enterprise_id


def test_an_error_while_scoring_stops_the_ratings_writer(app, scored):
    """An exception in the scoring thread propagates unchanged; the COPY thread stops."""
    with app.app_context():
        session = db.session
        run, enterprise_id = _open_run(session)
        with (
            pytest.raises(RuntimeError, match="scoring failed"),
            jobs._RatingsWriter(session, run.id) as writer,
        ):
            writer.write([enterprise_id], [600.0], [0.1], ["A"], [[]])
            raise RuntimeError("scoring failed")
        session.rollback()


def test_a_rating_with_a_tier_the_list_does_not_read_is_refused(app, scored):
    """The ranked list reads tiers D, C, B and A; a rating with any other tier would be
    stored but never listed, so the writer refuses it."""
    with app.app_context():
        session = db.session
        run, enterprise_id = _open_run(session)
        # checked before either way of writing (COPY on PostgreSQL, INSERT on SQLite)
        with (
            pytest.raises(ValueError, match="unknown tiers"),
            jobs._RatingsWriter(session, run.id) as writer,
        ):
            writer.write([enterprise_id], [600.0], [0.1], ["E"], [[]])
        stored = session.scalar(
            select(func.count()).select_from(CreditRating).where(CreditRating.run_id == run.id)
        )
        assert stored == 0
        session.rollback()


def test_json_columns_read_what_the_old_serializer_wrote():
    """Columns are decoded by orjson, which refuses the ``NaN`` that ``json.dumps`` wrote;
    such old values must still read."""
    import math

    from inspect_core.db import json_loads

    assert json_loads('{"a": [1, "二", null]}') == {"a": [1, "二", None]}
    assert math.isnan(json_loads('{"v": NaN}')["v"])
    with pytest.raises(ValueError):
        json_loads("{not json")


def test_the_split_packed_read_is_one_snapshot_of_the_whole_table(committed_app, monkeypatch):
    """Large rescoring reads pack the events in page ranges on parallel connections: the
    parts together give every row once, and a result committed while they run is in
    none of them (they share the snapshot the session exported)."""
    import threading

    from sqlalchemy import text

    from inspect_core.demo import seed_history
    from inspect_core.simulate import simulate

    app, admin = committed_app
    with app.app_context():
        simulate(db.engine, 400, 30, seed=5, progress=False)
        seed_history(seed=3)
        db.session.commit()
        session = db.session
        whole = data.read_packed_integers(session, data.EVENT_INTEGERS, data.CURRENT_JUDGED)
        pages = session.scalar(text("SELECT pg_relation_size('results') / 8192"))
        assert len(whole) > 300 and pages >= 6  # every part has pages to read
        real = data._packed_part
        added = []
        engine = db.engine  # the parts run in threads, outside the app context
        lock = threading.Lock()

        def meanwhile(raw, sql):  # another client commits a result after the export
            with lock:
                if added:
                    return real(raw, sql)
                with engine.begin() as conn:
                    conn.execute(text(
                        "INSERT INTO results (chain, version, task_id, plan_id, enterprise_id, "
                        "sector, inspected_on, payload, judgement, passed, findings, "
                        "critical_count, major_count, minor_count, conclusion_code, recorded_by, "
                        "recorded_at, disclosure_due, disclosure_basis) "
                        "SELECT 'late-' || (SELECT count(*) FROM results) || '-' || id, 1, "
                        "task_id, plan_id, enterprise_id, sector, "
                        "inspected_on, payload, judgement, passed, findings, critical_count, "
                        "major_count, minor_count, conclusion_code, recorded_by, recorded_at, "
                        "disclosure_due, disclosure_basis FROM results WHERE passed IS NOT NULL "
                        "ORDER BY id LIMIT 1"
                    ))  # fmt: skip
                added.append(True)
            return real(raw, sql)

        monkeypatch.setattr(data, "_packed_part", meanwhile)
        for parts in (2, 3):
            added.clear()
            split = data.read_packed_integers(
                session, data.EVENT_INTEGERS, data.CURRENT_JUDGED, parts
            )
            assert added  # a result was committed while the parts ran
            pd.testing.assert_frame_equal(
                whole.sort_values("inspection_id").reset_index(drop=True),
                split.sort_values("inspection_id").reset_index(drop=True),
            )
            session.rollback()
            after = data.read_packed_integers(session, data.EVENT_INTEGERS, data.CURRENT_JUDGED)
            assert len(after) == len(whole) + 1  # a new snapshot sees it
            whole = after


def test_equal_rows_groups_as_a_sort_of_the_rows_does():
    """``_equal_rows`` hashes column by column; its groups must be np.unique(axis=0)'s,
    NaN equal to NaN, with each group's first row, also when every column has thousands
    of values, and when a code kept across columns without renumbering would overflow:
    after two distinct rows, 64 constant columns double their codes' difference to 2**64,
    which wraps to 0 in int64 (random rows almost never collide when a code wraps)."""
    rng = np.random.default_rng(3)
    n = 60_000
    few = rng.integers(0, 3, (n, 4)).astype(float)
    few[rng.random((n, 4)) < 0.1] = np.nan
    many = rng.integers(0, 5_000, (n, 6)).astype(float)
    wraps = np.column_stack([[0.0, 1.0], np.ones((2, 64))])
    small = (np.zeros((0, 3)), np.zeros((5, 0)), np.array([[1.0, -2.0]]), few[:, :1])
    for keys in (few, np.column_stack([few, many]), wraps, *small):
        first, group = jobs._equal_rows(keys)
        _, expected_first, expected = np.unique(
            np.nan_to_num(keys, nan=-7.0), axis=0, return_index=True, return_inverse=True
        )
        expected = expected.reshape(-1)
        assert len(first) == len(expected_first) and len(group) == len(keys)
        # the same partition: a group's rows are one np.unique group, and vice versa
        pairs = set(zip(group.tolist(), expected.tolist(), strict=True))
        assert len(pairs) == len(first)
        np.testing.assert_array_equal(np.sort(first), np.sort(expected_first))
        assert (group[first] == np.arange(len(first))).all()
    assert len(jobs._equal_rows(few)[0]) == 4**4  # 0, 1, 2 or NaN in each: rows repeat


def test_reason_lists_equal_one_built_per_row_and_equal_rows_share_one(app):
    """``_reason_lists`` groups equal rows (``_equal_rows``); each row must still get what a
    plain per-row construction gives (its texts stating its own values), and equal rows
    the same list object (the COPY writer serialises each shared list once)."""
    from scoring.tiers import REASONS

    rng = np.random.default_rng(5)
    names = ["decay_serious_180d", "last_failed", "food_banned_hits_730d", "sector", "n_prior"]
    edges = [np.array([0.0, 0.35, 1.2]), np.array([0.0, 1.0]), np.array([0.0, 2.5]),
             np.array([1.0, 2.0]), np.array([2.0, 5.0, 9.0])]  # fmt: skip
    n = 2000
    order = np.argsort(-rng.integers(0, 4, (n, len(names))), axis=1)[:, :3]
    lost = np.round(rng.choice([0.0, 0.0, 3.5, 12.25, 40.0], (n, len(names))), 2)
    bins = np.column_stack([rng.integers(0, len(e) + 2, n) for e in edges])
    overrides = [rng.choice([None, None, None, *REASONS]) for _ in range(n)]
    with app.app_context():
        got = jobs._reason_lists(names, order, lost, overrides, bins, edges)
        facts = jobs.fact_labels()
    assert len(got) == n
    for i in range(n):
        expected = [] if not overrides[i] else [
            {"code": overrides[i], "feature": overrides[i], "points": None,
             "text_zh": REASONS[overrides[i]][0], "text_en": REASONS[overrides[i]][1]}
        ]  # fmt: skip
        for j in order[i]:
            if lost[i, j] > 1e-9:
                shown = jobs.bin_text(names[j], edges[j], bins[i, j])
                zh, en = jobs.label(names[j], facts, shown, jobs.bin_low(edges[j], bins[i, j]))
                expected.append({"code": names[j], "feature": names[j],
                                 "points": round(-float(lost[i, j]), 2),
                                 "text_zh": zh, "text_en": en})  # fmt: skip
        assert got[i] == expected[:3], i
    shared = {}
    for i in range(n):
        key = (overrides[i], *order[i].tolist(), *lost[i, order[i]].tolist(),
               *bins[i, order[i]].tolist())  # fmt: skip
        assert got[i] is shared.setdefault(key, got[i])
    assert any(r["code"] == "food_banned_hits_730d" and r["text_en"] != r["code"]
               for listed in got for r in listed)  # fmt: skip
    texts = {r["text_en"] for listed in got for r in listed}
    assert (
        "Major findings, weighted by recency (weight halves every 180 days, so one about 270 days"
        " ago counts as 0.35): 0.35–1.2"
    ) in texts
    assert {"Past checks: 0–1", "Past checks: 5–8", "Past checks: ≥9"} <= texts


def _states(text: str, value: float) -> bool:
    """Whether a reason text "…: a–b" / "…: ≥a" / "…: a" holds for ``value``."""
    shown = text.rsplit(": ", 1)[1]
    if shown.startswith("≥"):
        return value >= float(shown[1:])
    lo, _, hi = shown.partition("–")
    return float(lo) <= value <= float(hi or lo)


def test_reason_texts_state_facts_that_are_true_and_distinct(app, client, identity, scored):
    """A reason reading "上次检查发现一般问题 / Minor findings at the last check" was given
    to enterprises whose last check found no minor problem (the scorecard's bins are not
    monotonic), "Long time since the last check" to the shortest bin, and the 180- and
    730-day decayed counts read the same.  Now an adverse count is a reason only where the
    row has some of it, every text states the row's value, and no row repeats a text."""
    regulator = identity("regulator")
    items = client.get("/api/v1/enterprises?order=risk&limit=100", headers=regulator).json["items"]
    false_claims, repeated = [], []
    with app.app_context():
        s = db.session
        for item in items:
            texts = [r["text_en"] for r in item["reasons"]]
            if len(texts) != len(set(texts)) or len({r["text_zh"] for r in item["reasons"]}) != len(
                texts
            ):
                repeated.append((item["uscc"], texts))
            eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == item["uscc"]))
            last = s.scalars(select(Result).where(Result.enterprise_id == eid)
                             .order_by(Result.inspected_on.desc(), Result.id.desc())).first()  # fmt: skip
            for r in item["reasons"]:
                minor = last.minor_count if last else 0
                if r["code"] == "last_minor" and (minor == 0 or not _states(r["text_en"], minor)):
                    false_claims.append((item["uscc"], r["text_en"], minor))
                if r["code"] == "days_since_last":
                    days = (today_in_china() - last.inspected_on).days
                    if not _states(r["text_en"], days):
                        false_claims.append((item["uscc"], r["text_en"], days))
    assert false_claims == [], false_claims[:3]
    assert repeated == [], repeated[:2]
    assert any(item["reasons"] for item in items)
    # one reason per thing measured: failed_180d and failed_730d are one count
    families = [jobs.reason_families([r["code"] for r in item["reasons"]]) for item in items]
    assert all(len(f) == len(set(f)) for f in families), families
    assert any(len(item["reasons"]) == 3 for item in items)


def test_a_fact_named_as_a_core_variable_is_not_in_its_family():
    """A plugin may name a fact as a core variable is named (``[a-z][a-z0-9_]{0,39}``):
    its decayed counts ``n_prior_180d``, ``n_prior_730d`` were put in the family
    ``n_prior`` with the past checks, and a row losing more points on the fact lost its
    past-checks reason.  A count's family is its stem with ``*`` for the half-life."""
    from scoring.scorecard import _one_per_family

    names = ["n_prior", "n_prior_180d", "n_prior_730d", "last_failed", "last_failed_730d",
             "decay_failed_180d", "decay_failed_730d", "last_180d", "last_730d"]  # fmt: skip
    families = jobs.reason_families(names)
    assert families[1] == families[2] != families[0]
    assert families[4] != families[3]
    assert families[5] == families[6] and families[7] == families[8] != families[5]
    lost = np.array([[5.0, 8.0, 2.0, 4.0, 6.0, 1.0, 3.0, 0.0, 2.5]])
    kept = _one_per_family(lost, families)
    np.testing.assert_array_equal(kept[0], [5.0, 8.0, 0.0, 4.0, 6.0, 0.0, 3.0, 0.0, 2.5])


def test_a_credit_total_and_its_parts_are_one_family():
    """``credit_negative`` counts the penalties, complaints and listings again, and
    ``credit_positive`` the certifications and awards: one event gave two reasons.  The
    adverse record (its serious-dishonesty flag too) is one family, the positive record
    another; a plugin fact named as a credit variable keeps a family of its own."""
    from scoring.scorecard import _one_per_family

    names = ["credit_negative", "credit_penalty", "credit_complaint", "serious_dishonesty",
             "credit_serious_dishonesty", "credit_positive", "credit_certification",
             "credit_quality_award", "credit_penalty_180d", "last_failed"]  # fmt: skip
    families = jobs.reason_families(names)
    assert len(set(families[:5])) == 1 and len(set(families[5:8])) == 1
    assert families[0] != families[5]
    assert families[8] not in families[:8] and families[9] not in families[:9]
    lost = np.array([[3.0, 5.0, 1.0, 0.0, 0.0, 2.0, 2.5, 0.0, 4.0, 1.0]])
    kept = _one_per_family(lost, families)
    np.testing.assert_array_equal(kept[0], [0, 5.0, 0, 0, 0, 0, 2.5, 0, 4.0, 1.0])


def test_a_category_reason_names_the_category_in_both_languages(app):
    """A region, sector or status reason said only "所在街镇 / Street or town": which one
    cost the points was not said.  With a bin per category, the text names the row's
    category (a sector as the catalogue names it); rare ones read "other" (one first seen
    after training has no code: it is a missing value, never a reason).  A model saved
    before binned the codes by range, which names no category: "—"."""
    from scoring.scorecard import Scorecard

    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame({"region": rng.integers(0, 3, n).astype(float),
                      "status": rng.integers(0, 2, n).astype(float),
                      "sector": np.zeros(n)})  # fmt: skip
    X.loc[:9, "region"] = 3.0  # 0.5 % of rows: "other"
    y = (rng.random(n) < np.where(X["region"] == 1, 0.4, 0.1)).astype(int)
    vocabulary = {"region": ["华岩镇", "走马镇", "谢家湾街道", "西彭镇"],
                  "status": ["active", "suspended"], "sector": ["food"]}  # fmt: skip
    card = Scorecard(categorical_features=["region", "status", "sector"]).fit(X, y)
    with app.app_context():
        texts = jobs.category_texts(card, vocabulary)
        food = catalogue()["food"]
        assert texts[0] == [("华岩镇", "华岩镇"), ("走马镇", "走马镇"), ("谢家湾街道", "谢家湾街道"),
                            ("其他", "other"), "—"]  # fmt: skip
        assert jobs.label("region", None, texts[0][1]) == (
            "所在街镇：走马镇",
            "Street or town: 走马镇",
        )
        assert jobs.label("status", None, texts[1][1]) == (
            "经营状态：停业",
            "Registration status: suspended",
        )
        assert texts[2][0] == (food.name_zh, food.name_en) != ("food", "food")
        # stored reasons use them: a row in 走马镇 that lost points for it
        bins = card.bins(X)
        row = int(np.flatnonzero(X["region"] == 1)[0])
        order, lost = np.array([[0, 1, 2]]), np.array([[5.0, 0.0, 0.0]])
        (listed,) = jobs._reason_lists(card.feature_names_, order, lost, [None], bins[[row]],
                                       card.edges_, texts)  # fmt: skip
        assert [r["text_zh"] for r in listed] == ["所在街镇：走马镇"]
        del card.is_categorical_  # as an older blob holds it
        old = pickle.loads(pickle.dumps(card))
        assert set(jobs.category_texts(old, vocabulary)[0]) == {"—"}


def test_an_adverse_count_is_a_reason_only_above_its_best_bin_and_above_zero(app):
    """Bins need not be monotonic: with "1 minor finding" the best bin, a row with none
    (below it) or one (in it) is not told about minor findings; a row with three is.
    A neutral variable's text states the value, so it may be given whatever the bin, but
    not when the value is missing."""
    names = ["last_minor", "days_since_last"]
    values = np.array([[0.0, 46.0], [1.0, np.nan], [3.0, 900.0]])
    bins = np.array([[0, 0], [1, 3], [2, 2]])
    best = np.array([1, 2])
    with app.app_context():
        eligible = jobs.reason_eligible(names, values, bins, best)
        assert jobs.label("last_minor", None, 3.0) == (
            "上次检查发现一般问题3项",
            "Minor findings at the last check: 3",
        )
        assert jobs.label("decay_serious_730d", None, 0.8)[1] == (
            "Major findings, weighted by recency (weight halves every 730 days, so one about 240 days"
            " ago counts as 0.8): 0.8"
        )
        days = jobs.bin_text("days_since_last", np.array([30.0, 120.0]), 1)
        assert jobs.label("days_since_last", None, days) == (
            "距上次检查30–119天",
            "Days since the last check: 30–119",
        )
    assert eligible.tolist() == [[False, True], [False, False], [True, True]]


@pytest.mark.parametrize("half_life", [30.0, 180.0, 730.0])
def test_a_decayed_count_reason_says_in_days_what_its_lower_bound_means(half_life):
    """ "≥0.07 with a 180-day half-life" tells a regulator nothing; the text adds that one
    failure about 690 days old counts as 0.07.  The gloss is true of the features: one
    failed check that many days before the date scored has the count the text shows
    (within the days' rounding).  A bound shown as one or more, zero or below 0.01 has no
    gloss."""
    from scoring.features import FeatureConfig, build_features

    as_of = pd.Timestamp("2026-06-30")
    tag = f"{half_life:g}d"
    config = FeatureConfig(categorical=(), half_lives_days=(half_life,))
    for low in (0.0063, 0.0712, 0.35, 0.5, 0.93, 0.98):
        zh, en = jobs.bin_label(f"decay_failed_{tag}", 0, 1, [np.array([low, 2.0])], None, None)
        found = re.search(r", so one about (\d+) (day|days) ago counts as ([\d.]+)\): ", en)
        assert found, en
        days, shown = int(found[1]), float(found[3])
        assert (found[2] == "day") == (days == 1)
        assert shown == pytest.approx(low, abs=0.005)
        assert f"，约{days}天前的1次计为{shown:g}次）" in zh and f"每{half_life:g}天权重减半" in zh
        assert "; " not in en + zh  # the export and the CLI join a row's reasons with "; "
        events = pd.DataFrame(
            {"enterprise_id": [0], "date": [as_of - pd.Timedelta(days=days)], "failed": [1]}
        )
        rows = pd.DataFrame({"enterprise_id": [0], "as_of": [as_of]})
        weight = build_features(events, rows, None, config).loc[0, f"decay_failed_{tag}"]
        rounding = 5 if days >= 100 else 0.5  # days are shown to 10 above 100, else to 1
        assert low * 2 ** (-rounding / half_life) <= weight <= low * 2 ** (rounding / half_life)
    for low in (0.0, 0.004, 0.996, 1.0, 2.5):
        zh, en = jobs.bin_label(f"decay_failed_{tag}", 0, 1, [np.array([low, 9.0])], None, None)
        assert " ago " not in en and "天前" not in zh
        assert en.endswith(f"{round(low, 2):g}–9" if low >= 0.005 else "–9"), en
    # a row's own value (the naive path): missing has no gloss, and no error
    assert jobs.label(f"decay_failed_{tag}", None, float("nan"))[1].endswith(" days): —")


def test_a_name_ending_in_d_is_no_half_life_and_a_fact_needs_one():
    """``last_failed`` and ``credit_quality_award`` end in "d" but are not decayed counts:
    a plugin's fact named like their stem (any ``[a-z][a-z0-9_]*`` is allowed) neither
    relabels them nor gives them a gloss in "days" of a half-life such as "faile" (which
    raised, and failed the run); the fact's own decayed counts keep their gloss."""
    facts = {"last": ("最近事项", "Recent items"), "credit_quality": ("质量", "Quality")}
    assert jobs.label("last_failed", facts, 1.0) == ("上次检查不合格", "Failed the last check")
    failed_bin = jobs.bin_label("last_failed", 0, 1, [np.array([0.5])], None, facts)
    assert failed_bin == ("上次检查不合格", "Failed the last check")
    assert jobs.label("credit_quality_award", facts, 2.0) == (
        "有效质量奖2项",
        "Quality awards in force: 2",
    )
    for name in ("decay_failed_old", "decay_minor_bad"):  # no half-life tag: no gloss
        assert " ago " not in jobs.label(name, None, 0.5)[1]
    zh, en = jobs.label("last_182.5d", facts, 0.5)
    assert en == (
        "Recent items, weighted by recency (weight halves every 182.5 days, so one about 180 days"
        " ago counts as 0.5): 0.5"
    )
    assert zh == "最近事项0.5次（按时间远近加权：每182.5天权重减半，约180天前的1次计为0.5次）"


def test_tiers_follow_the_models_shares_of_the_scored_district(app, client, identity, scored):
    """By default a run's cut-offs are its model's, set when it was trained so that
    TIER_SHARES of the enterprises its score tiers (a record, no override) fall in each
    tier.  With the fixed 620/590/560 every such enterprise of this district was D (its
    scores all lie below 560); the points table says which cut-offs a run used and why."""
    from inspect_core.credit.models import ScoringModel
    from scoring.tiers import LEGACY_CUTOFFS, cutoffs_for_shares

    with app.app_context():
        run = db.session.get(ScoringRun, scored["run"])
        model = db.session.get(ScoringModel, run.model_id)
        metrics = model.metrics
        rows = db.session.execute(
            select(CreditRating.score, CreditRating.tier, CreditRating.reasons)
            .where(CreditRating.run_id == run.id)
        ).all()  # fmt: skip
    assert metrics["tier_shares"] == {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}
    assert run.cutoffs == pytest.approx(metrics["tier_cutoffs"])
    by_score = [r for r in rows if not (r.reasons and r.reasons[0]["points"] is None)]
    assert metrics["tier_population"] == len(by_score) >= 20
    assert max(r.score for r in by_score) < LEGACY_CUTOFFS["C"]  # the old default: all D
    # the cut-offs are those that put the shares of these scores in each tier as nearly
    # as their ties allow (tests/scoring: cutoffs_for_shares), so the tiers spread
    wanted = cutoffs_for_shares(np.array([r.score for r in by_score]), metrics["tier_shares"])
    assert run.cutoffs == pytest.approx(wanted, abs=0.001)
    assert len({r.tier for r in by_score}) >= 3, {r.tier for r in by_score}
    for r in by_score:  # each tier is the scores between its cut-offs
        cut = run.cutoffs
        expected = ("A" if r.score >= cut["A"] else "B" if r.score >= cut["B"]
                    else "C" if r.score >= cut["C"] else "D")  # fmt: skip
        assert r.tier == expected
    regulator = identity("regulator")
    card = client.get("/api/v1/scoring/points", headers=regulator).json
    assert card["tier_cutoffs_source"] == "model" and card["tier_shares"]["D"] == 0.1
    assert card["tier_cutoffs"] == pytest.approx(run.cutoffs)
    of_run = client.get(f"/api/v1/scoring/points?run={run.id}", headers=regulator).json
    assert of_run["tier_cutoffs_source"] == "run" and of_run["tier_cutoffs"] == run.cutoffs
    # a district's own cut-offs win, for the next run
    app.config["TIER_CUTOFFS"] = {"A": 700.0, "B": 650.0, "C": 600.0}
    card = client.get("/api/v1/scoring/points", headers=regulator).json
    assert card["tier_cutoffs_source"] == "configured" and card["tier_cutoffs"]["A"] == 700
    with app.app_context():
        again = jobs.run(db.session, "test", today_in_china())
        assert again.cutoffs == {"A": 700.0, "B": 650.0, "C": 600.0}
        tiers = set(db.session.scalars(
            select(CreditRating.tier).where(CreditRating.run_id == again.id)
        ))  # fmt: skip
    assert tiers <= {"B", "D"}  # all below 600: D, and the override B of no history


def test_a_model_trained_before_tier_shares_keeps_the_fixed_cut_offs():
    """A stored model without cut-offs of its own is tiered at 620/590/560, as it was."""
    from types import SimpleNamespace

    from inspect_core.credit.jobs import tier_cutoffs

    old = SimpleNamespace(metrics={"rows": 10})
    assert tier_cutoffs(None, old) == ({"A": 620.0, "B": 590.0, "C": 560.0}, "legacy")
    new = SimpleNamespace(metrics={"tier_cutoffs": {"A": 530.0, "B": 520.0, "C": 510.0}})
    assert tier_cutoffs(None, new)[1] == "model"
    assert tier_cutoffs({"A": 3, "B": 2, "C": 1}, new) == ({"A": 3, "B": 2, "C": 1}, "configured")


def test_a_models_cut_offs_between_close_scores_stay_in_order(app, scored, monkeypatch):
    """The model's cut-offs were stored rounded to 4 decimals: between distinct scores
    closer than that (here 500.00003, 500.00001 and 499.99999) the cut-offs of A
    (500.00002) and B (500.0) were stored as one, 500.0, and every `score run` then
    failed, blaming a TIER_CUTOFFS nobody had set.  Stored cut-offs keep A > B > C and
    still fall between the scores they were set between."""
    from scoring.scorecard import Scorecard
    from scoring.tiers import assign, check_cutoffs

    pattern = 500.0 + np.array([3, 3, 3, 1, 1, 1, -1, -1, -1, -1]) * 1e-5

    def close_scores(self, X):  # the scores the model's cut-offs are set from
        return pattern[np.arange(len(X)) % len(pattern)]

    with app.app_context():
        monkeypatch.setattr(Scorecard, "points", close_scores)
        model = jobs.train(db.session, "test", today_in_china(), window_days=900)
        monkeypatch.undo()
        cut = model.metrics["tier_cutoffs"]
        check_cutoffs(cut)  # A=500.0, B=500.0: out of order
        tiers, _ = assign(np.array([500.00003, 500.00001, 499.99999]), cut)
        assert list(tiers) == ["A", "B", "C"], cut
        scoring_run = jobs.run(db.session, "test", today_in_china())  # was a 422
        assert scoring_run.cutoffs == cut
