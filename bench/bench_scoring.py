"""Rescoring a district and paging its risk-ranked list, each beside a naive baseline.

Run:  .venv/bin/python bench/bench_scoring.py [--enterprises 1000000] [--results 10000000]
      [--baseline 2000] [--requests 200] [--teams]
      [--pg postgresql+psycopg://postgres@127.0.0.1:5432/inspect_scorebench]
Quick check:  .venv/bin/python bench/bench_scoring.py --enterprises 20000 --results 200000

One fresh, migrated PostgreSQL database holds a simulated district (``simulate``), one
closed historical plan per sector with a task per enterprise, ``--results`` results over
the three years before today (generated server-side with ``INSERT … SELECT`` from
``generate_series``: each enterprise has a hidden risk propensity, so history predicts
outcomes), about 1 % of them corrected, and credit events for about 3 % of enterprises;
with ``--teams``, two inspectors on every task (on 1 % of them one recused halfway through,
replaced by a third), so the model is trained net of the inspector and rescoring weighs
each result's findings by its team's strictness (the baseline too, with a query per
result that found something).  The database is then
vacuumed and analysed (autovacuum is off on the development server; in production it
would have done so).  A model is trained (``score train`` with a window holding ~300,000
inspections), then:

1. **Rescoring**: the path ``inspect-core score run`` takes (``credit.jobs.run``: the
   records read in bulk, then features, scorecard + ML model and a COPY of the ratings,
   chunk by chunk), timed end to end.  Baseline: per enterprise, its own queries for its
   results, attributes and credit
   events, features computed in Python, the same model, and one INSERT of its rating —
   timed on ``--baseline`` enterprises (rolled back), its 1,000,000-enterprise time
   extrapolated and labelled so.  The baseline's scores are checked against the run's.
2. **Risk-ranked page**: ``GET /api/v1/enterprises?order=risk`` at ``--requests`` random
   depths through the Flask test client with a regulator's token (keyset cursor), beside
   the same query with ``OFFSET`` at the same depths; the bare keyset query is timed too.

Targets (issue #5): rescoring 1,000,000 enterprises with 10,000,000 results in < 60 s;
the ranked page p95 < 20 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import Connection, Engine, insert, select, text  # noqa: E402

from bench.bench_registry_load import fresh_pg  # noqa: E402
from inspect_core.app import create_app  # noqa: E402
from inspect_core.auth.service import create_user  # noqa: E402
from inspect_core.credit import jobs  # noqa: E402
from inspect_core.credit.models import CREDIT_EVENT_TYPES, CreditRating, ScoringRun  # noqa: E402
from inspect_core.db import db  # noqa: E402
from inspect_core.simulate import simulate  # noqa: E402

HISTORY_DAYS = 3 * 365
N_INSPECTORS = 2000
#: training inspections aimed at: enough for a stable model, few enough to fit in minutes
TRAIN_ROWS = 300_000

# --- the district's history ------------------------------------------------------------

PLANS_SQL = """
INSERT INTO plans (title, issuing_unit, sector, check_items, scope_regions, scope_statuses,
                   ratios, inspectors_per_task, due_date, status, created_by, created_at,
                   updated_at, published_at, closed_at)
SELECT '历史抽查记录（模拟数据，基准测试）' || s.sector, '重庆市九龙坡区市场监督管理局', s.sector,
       '[{"code": "HIST", "name_zh": "综合检查", "name_en": "General check", "key": true}]',
       '[]', '["active"]', '{"A": "0.1", "B": "0.2", "C": "0.4", "D": "1"}', 2,
       CAST(:as_of AS date), 'closed', 'bench', now(), now(), now(), now()
FROM (SELECT DISTINCT sector FROM enterprise_sectors) s ORDER BY s.sector
"""

SNAPSHOTS_SQL = """
INSERT INTO pool_snapshots (plan_id, seq, pool_hash, algorithm_version, snapshot, enterprises,
                            inspectors, frozen_at, frozen_by)
SELECT id, 1, repeat('0', 64), 'bench', ''::bytea, 0, 0, now(), 'bench' FROM plans
"""

DRAWS_SQL = """
INSERT INTO draws (plan_id, snapshot_id, seq, seed, seed_kind, algorithm_version, pool_hash,
                   params, tiers, workload_cap, reason, drawn_by, drawn_at)
SELECT s.plan_id, s.id, 1, '0', 'explicit', 'bench', s.pool_hash, '{}', '[]', 0,
       'simulated history for bench_scoring', 'bench', now()
FROM pool_snapshots s
"""

#: one task per enterprise (task id = enterprise id) in the plan of its main sector
TASKS_SQL = """
INSERT INTO tasks (id, plan_id, draw_id, enterprise_id, due_date, status, created_at)
SELECT m.enterprise_id, p.id, d.id, m.enterprise_id, CAST(:as_of AS date), 'done', now()
FROM (SELECT enterprise_id, MIN(sector) AS sector FROM enterprise_sectors
      GROUP BY enterprise_id) m
JOIN plans p ON p.sector = m.sector JOIN draws d ON d.plan_id = p.id
"""

#: ``:n`` results.  Enterprise ids are skewed (low ids inspected more often, the top 5 %
#: never: they keep the no-history override); each enterprise has a fixed propensity ``h``
#: (a hash of its id): 15 % are risky (a quarter of their checks find critical or major
#: problems, against 1 % for the rest, a little more in food, chemicals and special
#: equipment); minor findings grow with ``h``; dates spread over three years.
RESULTS_SQL = """
INSERT INTO results (id, chain, version, supersedes_id, task_id, plan_id, enterprise_id,
                     sector, inspected_on, payload, judgement, passed, findings,
                     worst_severity, critical_count, major_count, minor_count, conclusion_code,
                     plugin, plugin_version, recorded_by, recorded_at, correction_reason,
                     disclosure_due, disclosure_basis, facts)
SELECT c.i, gen_random_uuid()::text, 1, NULL, c.task_id, c.plan_id, c.enterprise_id, c.sector,
       c.day,
       json_build_object('simulated', true, 'sample_no', 'SIM-' || c.i,
                         'checklist', 'HIST', 'items', json_build_array(
                           json_build_object('item', 'general', 'value', c.minor_count))),
       json_build_object('overall', CASE WHEN c.unreached THEN NULL
                                         WHEN c.critical_count + c.major_count = 0 THEN 'pass'
                                         ELSE 'fail' END, 'rule_set', 'bench'),
       CASE WHEN c.unreached THEN NULL ELSE c.critical_count + c.major_count = 0 END,
       CAST('[' || rtrim(repeat('{"severity":"critical","code":"SIM-C"},', c.critical_count)
                         || repeat('{"severity":"major","code":"SIM-M"},', c.major_count)
                         || repeat('{"severity":"minor","code":"SIM-N"},', c.minor_count), ',')
            || ']' AS json),
       CASE WHEN c.critical_count > 0 THEN 'critical' WHEN c.major_count > 0 THEN 'major'
            WHEN c.minor_count > 0 THEN 'minor' END,
       c.critical_count, c.major_count, c.minor_count,
       CASE WHEN c.unreached THEN (CASE WHEN c.u_c < 0.5 THEN 'unreachable' ELSE 'closed' END)
            WHEN c.critical_count > 0 THEN 'follow_up'
            WHEN c.major_count + c.minor_count > 0 THEN 'corrected'
            ELSE 'no_problem' END,
       'bench-simulated', '1', 'JLP-' || lpad(c.inspector::text, 5, '0'),
       (c.day + time '10:00') AT TIME ZONE 'Asia/Shanghai', NULL, c.day + 28, 'calendar',
       -- a plugin's facts (Judgement.facts) on most results with a critical or major finding
       CASE WHEN c.unreached THEN NULL
            WHEN c.critical_count > 0 AND c.u_m < 0.6
              THEN json_build_object('food_banned_hits', c.critical_count)
            WHEN c.major_count > 0 AND c.u_m < 0.6
              THEN json_build_object('food_limit_exceedances', c.major_count) END
FROM (
  SELECT b.*, b.u_r < 0.02 AS unreached,
         CASE WHEN b.u_r >= 0.02 AND b.u_f < b.p_bad AND b.u_c < 0.2
              THEN 1 + (b.u_c < 0.03)::int ELSE 0 END AS critical_count,
         CASE WHEN b.u_r >= 0.02 AND b.u_f < b.p_bad AND b.u_c >= 0.2
              THEN 1 + (b.u_m < 0.3)::int ELSE 0 END AS major_count,
         CASE WHEN b.u_r >= 0.02
              THEN floor((3 + 4 * b.h) * b.u_m * b.u_m)::int ELSE 0 END AS minor_count
  FROM (
    SELECT a.*, t.id AS task_id, t.plan_id, p.sector,
           ((a.enterprise_id::bigint * 2654435761) % 1000003) / 1000003.0 AS h,
           CASE WHEN ((a.enterprise_id::bigint * 2654435761) % 1000003) < 150000
                THEN 0.25 ELSE 0.01 END
             + CASE p.sector WHEN 'food' THEN 0.01 WHEN 'hazardous_chemicals' THEN 0.02
                             WHEN 'special_equipment' THEN 0.01 ELSE 0.0 END AS p_bad
    FROM (
      SELECT g.i, 1 + floor(:span * power(random(), 1.4))::int AS enterprise_id,
             CAST(:as_of AS date) - 1 - floor(random() * :days)::int AS day,
             1 + floor(random() * :inspectors)::int AS inspector,
             random() AS u_r, random() AS u_f, random() AS u_c, random() AS u_m
      FROM generate_series(1, :n) AS g(i)
    ) a
    JOIN tasks t ON t.id = a.enterprise_id
    JOIN plans p ON p.id = t.plan_id
  ) b
) c
"""

#: with ``--teams``: two inspectors on every task, assigned before its first result (the
#: bench's tasks hold an enterprise's whole history), so a model rates every inspector and
#: is trained net of them, and rescoring weighs each result's findings by its team
#: (``credit.data.finding_weights``): the cost a district with drawn teams pays
TEAMS_SQL = """
INSERT INTO task_assignments (task_id, inspector_id, assigned_at, how)
SELECT t.id, 1 + ((t.id::bigint * 7919 + v.k * 104729) % :inspectors),
       CAST(:as_of AS timestamp) - make_interval(days => :days + 1), 'draw'
FROM tasks t CROSS JOIN (VALUES (0), (1)) AS v(k)
"""
#: and on 1 % of tasks the first inspector recused halfway through the history, a third
#: replacing them: results recorded before count the drawn pair, those after the new one
RECUSALS_SQL = (
    """
UPDATE task_assignments
SET released_at = CAST(:as_of AS timestamp) - make_interval(days => :days / 2),
    release_reason = 'bench: recusal'
WHERE task_id % 100 = 0 AND inspector_id = 1 + ((task_id::bigint * 7919) % :inspectors)
""",
    """
INSERT INTO task_assignments (task_id, inspector_id, assigned_at, how)
SELECT t.id, 1 + ((t.id::bigint * 7919 + 2 * 104729) % :inspectors),
       CAST(:as_of AS timestamp) - make_interval(days => :days / 2), 'reassign'
FROM tasks t WHERE t.id % 100 = 0
""",
)

#: corrections: a new version superseding ~1 % of results (lab re-tests that found the
#: first judgement too harsh), so scoring must skip the superseded versions
CORRECTIONS_SQL = """
INSERT INTO results (id, chain, version, supersedes_id, task_id, plan_id, enterprise_id,
                     sector, inspected_on, payload, judgement, passed, findings,
                     worst_severity, critical_count, major_count, minor_count, conclusion_code,
                     plugin, plugin_version, recorded_by, recorded_at, correction_reason,
                     disclosure_due, disclosure_basis, facts)
SELECT :n + row_number() OVER (ORDER BY r.id), r.chain, 2, r.id, r.task_id, r.plan_id,
       r.enterprise_id, r.sector, r.inspected_on, r.payload, r.judgement,
       CASE WHEN r.passed IS NULL THEN NULL ELSE r.critical_count = 0 END,
       r.findings, CASE WHEN r.critical_count > 0 THEN 'critical' END,
       r.critical_count, 0, r.minor_count,
       CASE WHEN r.passed IS NULL THEN r.conclusion_code
            WHEN r.critical_count > 0 THEN 'follow_up' ELSE 'corrected' END,
       r.plugin, r.plugin_version, r.recorded_by, r.recorded_at + interval '7 days',
       '复检结论更正（模拟数据）', r.disclosure_due, r.disclosure_basis,
       CASE WHEN r.critical_count > 0 THEN r.facts END
FROM results r WHERE r.id <= :n AND r.id % 100 = 37
"""

CREDIT_EVENTS_SQL = """
INSERT INTO credit_events (enterprise_id, type, occurred_on, severity, source, description,
                           expires_on, recorded_by, recorded_at)
SELECT x.enterprise_id, x.type, x.occurred_on, x.severity, '模拟数据（基准测试）', '',
       x.occurred_on + x.days, 'bench', now()
FROM (
  SELECT 1 + floor(g.u_e * :enterprises)::int AS enterprise_id, t.type, t.severity, t.days,
         CAST(:as_of AS date) - 1 - floor(g.u_d * :days)::int AS occurred_on
  FROM (SELECT i, random() AS u_e, random() AS u_d, random() AS u_t
        FROM generate_series(1, :n) AS s(i)) g
  CROSS JOIN LATERAL (
    SELECT * FROM (VALUES {types}) v(type, severity, days, upto) WHERE v.upto > g.u_t
    ORDER BY v.upto LIMIT 1) t
) x
"""

REPAIRS_SQL = """
INSERT INTO credit_repairs (event_id, effective_on, reason, recorded_by, recorded_at)
SELECT id, occurred_on + 90 + (id % 200), '信用修复（模拟数据）', 'bench', now()
FROM credit_events WHERE id % 10 = 3 AND type <> 'serious_dishonesty'
"""

#: type → (severity, cumulative share) of the simulated credit events
CREDIT_MIX: tuple[tuple[str, str, float], ...] = (
    ("penalty", "major", 0.30),
    ("complaint", "minor", 0.55),
    ("abnormal_operations", "major", 0.65),
    ("recall", "major", 0.70),
    ("incident", "critical", 0.73),
    ("serious_dishonesty", "critical", 0.75),
    ("certification", "positive", 0.95),
    ("quality_award", "positive", 1.01),
)


def _simulated_days(term: int | str | None) -> int | None:
    """A type's default term (days, or calendar ``P<n>Y``) as the whole days the simulated
    events count: 365 a year, as before terms were calendar years, so the loaded history
    and the figures measured on it stay comparable across runs."""
    if isinstance(term, str):
        return int(term[1:-1]) * (365 if term.endswith("Y") else 30)
    return term


def _without_results_checks(conn: Connection) -> list[str]:
    """Drop the foreign keys, unique constraints and secondary indexes of ``results`` and
    return the DDL that re-creates them as they were (each checked in one pass)."""
    restore: list[str] = []
    constraints = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'results'::regclass AND contype IN ('f', 'u')"
        )
    ).all()
    names = {name for name, _ in constraints}
    indexes = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'results'")
    ).all()
    for name, definition in constraints:
        conn.execute(text(f'ALTER TABLE results DROP CONSTRAINT "{name}"'))
        restore.append(f'ALTER TABLE results ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        if name in names or name.startswith("pk_"):
            continue
        conn.execute(text(f'DROP INDEX "{name}"'))
        restore.insert(0, definition)  # indexes first: the FK checks then use them
    return restore


def load_history(
    engine: Engine, n_enterprises: int, n_results: int, as_of: dt.date, teams: bool = False
) -> float:
    """Plans, tasks (with ``teams``, two inspectors each), results, corrections and credit
    events in one transaction; seconds."""
    started = time.perf_counter()
    n_corrections = n_results // 100
    n_main = n_results - n_corrections
    params = {"as_of": as_of, "days": HISTORY_DAYS}
    types = ", ".join(
        f"('{t}', '{severity}', {_simulated_days(CREDIT_EVENT_TYPES[t][3]) or 'NULL::int'}, {upto})"
        for t, severity, upto in CREDIT_MIX
    )
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(text("SELECT setseed(0.2026)"))
        conn.execute(text(PLANS_SQL), params)
        conn.execute(text(SNAPSHOTS_SQL))
        conn.execute(text(DRAWS_SQL))
        conn.execute(text(TASKS_SQL), params)
        if teams:
            for sql in (TEAMS_SQL, *RECUSALS_SQL):
                conn.execute(text(sql), {**params, "inspectors": N_INSPECTORS})
        restore = _without_results_checks(conn)
        span = max(1, int(n_enterprises * 0.95))
        conn.execute(
            text(RESULTS_SQL),
            {**params, "n": n_main, "span": span, "inspectors": N_INSPECTORS},
        )
        conn.execute(text(CORRECTIONS_SQL), {"n": n_main})
        for statement in restore:
            conn.execute(text(statement))
        conn.execute(
            text(CREDIT_EVENTS_SQL.replace("{types}", types)),
            {**params, "n": max(1, n_enterprises * 3 // 100), "enterprises": n_enterprises},
        )
        conn.execute(text(REPAIRS_SQL))
        for table in ("tasks", "task_assignments", "results", "credit_events", "credit_repairs"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
    # in production autovacuum would have vacuumed and analysed the new rows (hint bits,
    # visibility map, planner statistics); it is off on this server, so do it here
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    return time.perf_counter() - started


# --- baseline: one enterprise at a time ------------------------------------------------

ONE_RESULTS_SQL = """
SELECT r.inspected_on, r.critical_count, r.major_count, r.minor_count, r.passed, r.id
FROM results r
WHERE r.enterprise_id = %s AND r.passed IS NOT NULL AND r.inspected_on < %s
  AND NOT EXISTS (SELECT 1 FROM results n WHERE n.supersedes_id = r.id)
ORDER BY r.id
"""
ONE_FACTS_SQL = """
SELECT r.inspected_on, f.key, CAST(f.value AS double precision)
FROM results r CROSS JOIN LATERAL json_each_text(r.facts) AS f(key, value)
WHERE r.enterprise_id = %s AND r.facts IS NOT NULL AND r.passed IS NOT NULL
  AND r.inspected_on < %s
  AND NOT EXISTS (SELECT 1 FROM results n WHERE n.supersedes_id = r.id)
"""
#: the team on a result's task when it was recorded (``credit.data.TEAMS_SQL``)
ONE_TEAM_SQL = """
SELECT i.badge FROM results r
JOIN task_assignments a ON a.task_id = r.task_id JOIN inspectors i ON i.id = a.inspector_id
WHERE r.id = %s AND a.assigned_at <= r.recorded_at
  AND (a.released_at IS NULL OR a.released_at > r.recorded_at)
"""
ONE_ENTERPRISE_SQL = """
SELECT e.region, e.status, e.established_on,
       (SELECT MIN(s.sector) FROM enterprise_sectors s WHERE s.enterprise_id = e.id)
FROM enterprises e WHERE e.id = %s
"""
ONE_CREDIT_SQL = """
SELECT c.type, c.occurred_on, c.expires_on, p.effective_on
FROM credit_events c LEFT JOIN credit_repairs p ON p.event_id = c.id
WHERE c.enterprise_id = %s
  AND NOT EXISTS (SELECT 1 FROM credit_withdrawals w WHERE w.event_id = c.id)
"""


def naive_features(
    cursor: Any,
    enterprise_id: int,
    as_of: dt.date,
    config: Any,
    strictness: dict[str, float] | None = None,
) -> dict:
    """One enterprise's features from its own four queries (and, for a net-of-inspector
    model, one per result with findings for its team), in plain Python: the same
    definitions as ``scoring.features.build_features`` and ``credit.data.credit_features``."""
    cursor.execute(ONE_RESULTS_SQL, (enterprise_id, as_of))
    events = []
    for day, critical, major, minor, passed, result_id in cursor.fetchall():
        if strictness and critical + major + minor > 0:
            cursor.execute(ONE_TEAM_SQL, (result_id,))
            team = [strictness.get(badge, 1.0) for (badge,) in cursor.fetchall()]
            if team:
                weight = len(team) / sum(team)
                critical, major, minor = critical * weight, major * weight, minor * weight
        events.append((day, critical, major, minor, passed))
    f: dict[str, Any] = {"n_prior": float(len(events)), "has_history": float(bool(events))}
    f["days_since_last"] = float((as_of - max(e[0] for e in events)).days) if events else math.nan
    for h in config.half_lives_days:
        tag = f"{h:g}d"
        sums = dict.fromkeys(("critical", "serious", "minor", "failed", "inspections"), 0.0)
        for day, critical, major, minor, passed in events:
            w = 2.0 ** (-(as_of - day).days / h)
            sums["critical"] += critical * w
            sums["serious"] += major * w
            sums["minor"] += minor * w
            sums["failed"] += (0.0 if passed else 1.0) * w
            sums["inspections"] += w
        for name, value in sums.items():
            f[f"decay_{name}_{tag}"] = value
    if events:  # the latest date; ties: the larger critical, then major count, then last
        last = max(enumerate(events), key=lambda p: (p[1][0], p[1][1], p[1][2], p[0]))[1]
        f["last_critical"], f["last_serious"], f["last_minor"] = map(float, last[1:4])
        f["last_failed"] = 0.0 if last[4] else 1.0
        f["last_result"] = "Pass" if last[4] else "Fail"
    else:
        for name in ("last_critical", "last_serious", "last_minor", "last_failed"):
            f[name] = math.nan
        f["last_result"] = None
    cursor.execute(ONE_FACTS_SQL, (enterprise_id, as_of))
    facts = cursor.fetchall()
    for name in config.facts:
        for h in config.half_lives_days:
            f[f"{name}_{h:g}d"] = sum(
                value * 2.0 ** (-(as_of - day).days / h) for day, key, value in facts if key == name
            )
    cursor.execute(ONE_ENTERPRISE_SQL, (enterprise_id,))
    region, status, established, sector = cursor.fetchone()
    f.update(region=region, status=status, sector=sector)
    f["business_age_years"] = (
        (as_of - established).days / 365.25 if established is not None else math.nan
    )
    for name, values in config.vocabulary.items():
        if name in f:
            codes = {v: float(i) for i, v in enumerate(values)}
            f[name] = codes.get(str(f[name]), math.nan) if f[name] is not None else math.nan
    cursor.execute(ONE_CREDIT_SQL, (enterprise_id,))
    counts = dict.fromkeys(CREDIT_EVENT_TYPES, 0.0)
    for kind, occurred, expires, repaired in cursor.fetchall():
        ends = [d for d in (expires, repaired) if d is not None]
        if occurred < as_of and (not ends or as_of < min(ends)):
            counts[kind] += 1.0
    for kind, n in counts.items():
        f[f"credit_{kind}"] = n
    f["credit_negative"] = sum(n for k, n in counts.items() if CREDIT_EVENT_TYPES[k][2] > 0)
    f["credit_positive"] = sum(n for k, n in counts.items() if CREDIT_EVENT_TYPES[k][2] < 0)
    f["serious_dishonesty"] = float(counts["serious_dishonesty"] > 0)
    return f


@dataclass
class Naive:
    rate: float  # enterprises/s
    read_ms: float  # per enterprise: its four queries and its features in Python
    scores: dict[int, float]


def naive_rescore(app: Flask, sample: list[int], as_of: dt.date) -> Naive:
    """Score ``sample`` one enterprise at a time (queries, features, model, INSERT of its
    rating), the writes rolled back; the rate, the share spent reading, the scores."""
    from scoring.features import FeatureConfig
    from scoring.persistence import loads
    from scoring.tiers import REASONS, assign

    scores: dict[int, float] = {}
    with app.app_context(), db.new_session() as session:
        model = jobs.latest_model(session)
        bundle = loads(model.blob)
        config = FeatureConfig.from_dict(bundle.feature_config)
        strictness = bundle.feature_config.get("team_strictness") or None
        scorecard, ml = bundle.estimator["scorecard"], bundle.estimator["ml"]
        # the cut-offs `score run` uses: TIER_CUTOFFS when set (None by default), else
        # the model's own
        cutoffs = jobs._cutoffs(app.config.get("TIER_CUTOFFS"), model)
        fact_texts = jobs.fact_labels()
        run = ScoringRun(model_id=model.id, as_of=as_of, started_by="naive", cutoffs=cutoffs)
        session.add(run)
        session.flush()
        cursor = session.connection().connection.driver_connection.cursor()
        started = time.perf_counter()
        reading = 0.0
        for enterprise_id in sample:
            read_started = time.perf_counter()
            f = naive_features(cursor, enterprise_id, as_of, config, strictness)
            reading += time.perf_counter() - read_started
            X = pd.DataFrame([[f.get(c, math.nan) for c in bundle.features]],
                             columns=bundle.features, dtype=float)  # fmt: skip
            score = float(scorecard.points(X)[0])
            probability = float(ml.predict_proba(X)[0, 1])
            tiers, overrides = assign(
                np.array([score]), cutoffs, np.array([f["serious_dishonesty"]]),
                np.array([f["has_history"]]),
            )  # fmt: skip
            reasons = []
            if overrides[0]:
                zh, en = REASONS[overrides[0]]
                reasons.append({"code": overrides[0], "feature": overrides[0], "points": None,
                                "text_zh": zh, "text_en": en})  # fmt: skip
            for r in scorecard.reason_codes(X, n=3)[0]:
                zh, en = jobs.label(r["feature"], fact_texts, X.iloc[0][r["feature"]])
                reasons.append({"code": r["feature"], "feature": r["feature"],
                                "points": round(-r["points_lost"], 2), "text_zh": zh,
                                "text_en": en})  # fmt: skip
            session.execute(
                insert(CreditRating),
                {"run_id": run.id, "enterprise_id": enterprise_id, "score": round(score, 4),
                 "probability": round(probability, 6), "tier": str(tiers[0]),
                 "reasons": reasons[:3]},
            )  # fmt: skip
            scores[enterprise_id] = round(score, 4)
        rate = len(sample) / (time.perf_counter() - started)
        cursor.close()
        session.rollback()
    return Naive(rate, reading / len(sample) * 1000, scores)


# --- the risk-ranked list --------------------------------------------------------------

RANKED_SQL = """
SELECT r.id, r.run_id, r.enterprise_id, r.score, r.probability, r.tier, r.reasons,
       e.id, e.uscc, e.name, e.region, e.address, e.status, e.established_on, e.licences,
       e.created_at, e.updated_at
FROM credit_ratings r JOIN enterprises e ON e.id = r.enterprise_id
WHERE r.run_id = %s
"""
#: riskiest first: tier D, C, B, A, then the lowest score (credit.ratings.ranked_page)
TIER_RANK = "CASE r.tier WHEN 'D' THEN 0 WHEN 'C' THEN 1 WHEN 'B' THEN 2 ELSE 3 END"
#: one tier's range from a key on, as the API reads it (the next tiers from their start
#: while the page is not full)
KEYSET_SQL = (
    RANKED_SQL
    + " AND r.tier = %s AND (r.score, r.enterprise_id) > (%s, %s) "
    + ("ORDER BY r.score, r.enterprise_id LIMIT %s")
)
OFFSET_SQL = RANKED_SQL + f" ORDER BY {TIER_RANK}, r.score, r.enterprise_id OFFSET %s LIMIT %s"


@dataclass
class Timings:
    label: str
    ms: list[float]

    def pct(self, q: float) -> float:
        return float(np.percentile(self.ms, q))


def regulator_headers(app: Flask, username: str) -> dict[str, str]:
    """A new regulator account's bearer token, as request headers."""
    with app.app_context():
        create_user(db.session, username, "bench password", "regulator")
        db.session.commit()
    response = app.test_client().post(
        "/api/v1/auth/token", json={"username": username, "password": "bench password"}
    )
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def ranked_pages(app: Flask, run_id: int, depths: list[int], page: int) -> list[Timings]:
    """Time one page at each depth: HTTP keyset, bare keyset SQL, and OFFSET SQL."""
    from inspect_core.credit.ratings import CURSOR_KIND, _filters_digest
    from inspect_core.pagination import encode_cursor

    client = app.test_client()
    headers = regulator_headers(app, "bench-regulator")
    with app.app_context():
        order = pd.read_sql_query(
            text(
                "SELECT r.tier, r.score, r.enterprise_id FROM credit_ratings r "
                f"WHERE r.run_id = :run ORDER BY {TIER_RANK}, r.score, r.enterprise_id"
            ),
            db.engine,
            params={"run": run_id},
        )
        tiers = order["tier"].to_numpy()
        scores = order["score"].to_numpy()
        ids = order["enterprise_id"].to_numpy()
        cursors = [
            encode_cursor(
                CURSOR_KIND,
                [
                    run_id,
                    _filters_digest({}),
                    str(tiers[d - 1]),
                    float(scores[d - 1]),
                    int(ids[d - 1]),
                ],
            )  # fmt: skip
            if d
            else None
            for d in depths
        ]
    http: list[float] = []
    warm = 5
    for k, (depth, cursor) in enumerate(zip(depths[:warm] + depths, cursors[:warm] + cursors,
                                            strict=True)):  # fmt: skip
        url = f"/api/v1/enterprises?order=risk&limit={page}"
        if cursor:
            url += f"&cursor={cursor}"
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"ranked page failed: {response.status_code} {response.json}")
        items = response.json["items"]
        expected = min(page, len(ids) - depth)
        if len(items) != expected or (items and items[0]["score"] != float(scores[depth])):
            raise SystemExit(f"ranked page at depth {depth} is not the expected page")
        if k >= warm:
            http.append(elapsed)
    keyset: list[float] = []
    offset: list[float] = []
    pages: dict[int, list[Any]] = {}
    # each kind in a loop of its own: an OFFSET query between two keyset queries (it sorts
    # the whole run) left the next keyset query reading cold pages, 5 ms instead of 0.7
    with app.app_context(), db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            for k, depth in enumerate(depths[:warm] + depths):
                tier, key = (("D", (-math.inf, 0)) if depth == 0 else
                             (str(tiers[depth - 1]), (float(scores[depth - 1]),
                                                      int(ids[depth - 1]))))  # fmt: skip
                started = time.perf_counter()
                rows = []
                for t in "DCBA"["DCBA".index(tier) :]:
                    cur.execute(KEYSET_SQL, (run_id, t, *key, page + 1 - len(rows)))
                    rows += cur.fetchall()
                    if len(rows) > page:
                        break
                    key = (-math.inf, 0)
                if k >= warm:
                    keyset.append((time.perf_counter() - started) * 1000)
                pages[depth] = [r[0] for r in rows]
            for k, depth in enumerate(depths[:warm] + depths):
                started = time.perf_counter()
                cur.execute(OFFSET_SQL, (run_id, depth, page + 1))
                base = cur.fetchall()
                if k >= warm:
                    offset.append((time.perf_counter() - started) * 1000)
                if pages[depth] != [r[0] for r in base]:
                    raise SystemExit(f"keyset and OFFSET pages differ at depth {depth}")
        raw.rollback()
    return [
        Timings("GET ?order=risk (keyset, HTTP)", http),
        Timings("keyset query alone (SQL)", keyset),
        Timings("OFFSET query baseline (SQL)", offset),
    ]


# --- main ------------------------------------------------------------------------------


def train_window(n_results: int) -> int:
    """Days of history holding about ``TRAIN_ROWS`` inspections (results are uniform in
    time), at least 30 and at most the whole history."""
    return int(min(HISTORY_DAYS, max(30, HISTORY_DAYS * TRAIN_ROWS / max(n_results, 1))))


def build_district(
    url: str, n_enterprises: int, n_results: int, teams: bool = False
) -> tuple[Flask, Engine, dt.date]:
    """A fresh database with the district, its history and a trained model (not timed)."""
    from inspect_core.results.service import today_in_china

    as_of = today_in_china()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    setup = time.perf_counter()
    fresh_pg(url).dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 8,
            # the bench times pages, not the account's quota of them (--requests may pass it)
            "RATELIMIT_RANKING_PER_USER": "1000000/hour",
        }
    )
    engine = db.engine_for(app)
    stats = simulate(engine, n_enterprises, N_INSPECTORS, seed=5, progress=False)
    history_seconds = load_history(engine, n_enterprises, n_results, as_of, teams)
    with engine.connect() as conn:
        total = conn.scalar(text("SELECT count(*) FROM results"))
        judged = conn.scalar(text("SELECT count(*) FROM results WHERE passed IS NOT NULL"))
        heap = conn.scalar(text("SELECT pg_size_pretty(pg_table_size('results'))"))
        inspected = conn.scalar(text("SELECT count(DISTINCT enterprise_id) FROM results"))
        n_events = conn.scalar(text("SELECT count(*) FROM credit_events"))
    print(
        f"setup: {stats.enterprises:,} enterprises in {stats.seconds:.1f} s; {total:,} "
        f"results ({judged:,} judged, {inspected:,} enterprises inspected, table {heap}) and "
        f"{n_events:,} credit events in {history_seconds:.1f} s"
    )
    window = train_window(n_results)
    train_started = time.perf_counter()
    with app.app_context(), db.new_session() as session:
        model = jobs.train(session, "bench", as_of, window_days=window)
        metrics = model.metrics
    print(
        f"model {model.version}: trained on {metrics['rows']:,} inspections ({window}-day "
        f"window) in {time.perf_counter() - train_started:.1f} s; holdout AUC scorecard "
        f"{metrics.get('auc_scorecard')}, ML {metrics.get('auc_ml')}; net of the inspector: "
        f"{metrics.get('net_of_inspector')} ({len(metrics.get('inspectors', []))} rated)"
    )
    print(f"setup total {time.perf_counter() - setup:.0f} s; load average now "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    return app, engine, as_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument("--results", type=int, default=10_000_000)
    parser.add_argument("--baseline", type=int, default=2_000, help="enterprises, naive path")
    parser.add_argument("--requests", type=int, default=200, help="ranked pages timed")
    parser.add_argument("--page", type=int, default=50, help="ranked page size")
    parser.add_argument(
        "--teams",
        action="store_true",
        help="two inspectors on every task: a net-of-inspector model, findings weighed",
    )
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/inspect_scorebench"
    )
    args = parser.parse_args()

    app, engine, as_of = build_district(args.pg, args.enterprises, args.results, args.teams)

    # 1. rescoring: the real path (its phases timed by wrappers), then the naive baseline
    phases: dict[str, float] = {}
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with app.app_context(), db.new_session() as session, _phase_timer(phases):
        scoring_run = jobs.run(session, "bench", as_of)
        run_id, scored = scoring_run.id, scoring_run.enterprises
    seconds = time.perf_counter() - started
    rate = scored / seconds
    sample = random.Random(11).sample(
        range(1, args.enterprises + 1), min(args.baseline, args.enterprises)
    )
    naive = naive_rescore(app, sample, as_of)
    with engine.connect() as conn:
        real = dict(
            conn.execute(
                select(CreditRating.enterprise_id, CreditRating.score).where(
                    CreditRating.run_id == run_id, CreditRating.enterprise_id.in_(sample)
                )
            ).all()
        )
        tiers = dict(
            conn.execute(
                text("SELECT tier, count(*) FROM credit_ratings WHERE run_id = :r GROUP BY tier"),
                {"r": run_id},
            ).all()
        )
        n_results = conn.scalar(text("SELECT count(*) FROM results"))
    diffs = np.array([abs(real[i] - naive.scores[i]) for i in sample])
    agree = int((diffs <= 1e-3).sum())

    # 2. the risk-ranked list, with the statistics autovacuum would have gathered by then
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE credit_ratings"))
    rng = np.random.default_rng(13)
    depths = rng.integers(0, scored, size=args.requests).tolist()
    load_pages = os.getloadavg()[0]
    timings = ranked_pages(app, run_id, depths, args.page)
    db.engine_for(app).dispose()

    print()
    print(f"rescoring ({scored:,} enterprises, {n_results:,} results, as of {as_of}; "
          f"load average {load_before:.2f} at the start)")  # fmt: skip
    print(f"  real path (credit.jobs.run, as `inspect-core score run`): {seconds:8.2f} s "
          f"{rate:>10,.0f} enterprises/s")  # fmt: skip
    print(f"    reading the records {phases.get('read', 0):.1f} s (of which the events "
          f"{phases.get('events', 0):.1f} s, weighing findings by team "
          f"{phases.get('weights', 0):.1f} s); features, models and COPY "
          f"chunk by chunk {phases.get('chunks', 0):.1f} s; the last chunk's COPY "
          f"{phases.get('last copy', 0):.1f} s")  # fmt: skip
    print(f"  naive per-enterprise baseline ({len(sample):,} enterprises measured): "
          f"{naive.rate:,.1f} enterprises/s ({naive.read_ms:.1f} ms of {1000 / naive.rate:.1f} "
          f"ms per enterprise in its queries and features); extrapolated to {scored:,}: "
          f"{scored / naive.rate:,.0f} s (extrapolated, not measured)")  # fmt: skip
    print(f"  speed-up {rate / naive.rate:,.0f}x; baseline score = run score on {agree:,} of "
          f"{len(sample):,} enterprises (max |diff| {diffs.max():.2g}); tiers {tiers}")  # fmt: skip
    print(f"risk-ranked page ({args.page} rows) at {len(depths)} random depths of {scored:,} "
          f"(load average {load_pages:.2f} at the start)")  # fmt: skip
    for t in timings:
        print(f"  {t.label:<32} p50 {t.pct(50):8.2f} ms   p95 {t.pct(95):8.2f} ms   "
              f"max {max(t.ms):8.2f} ms")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    target_n = "1,000,000 enterprises / 10,000,000 results"
    full = args.enterprises >= 1_000_000 and args.results >= 10_000_000
    note = "" if full else f" [at {args.enterprises:,} / {args.results:,}, not {target_n}]"
    verdict = "meets" if seconds < 60 else "MISSES"
    print(f"rescoring target < 60 s: {verdict} ({seconds:.1f} s){note}")
    p95 = timings[0].pct(95)
    verdict = "meets" if p95 < 20 else "MISSES"
    print(f"ranked page target p95 < 20 ms: {verdict} ({p95:.2f} ms){note}")


@contextmanager
def _phase_timer(phases: dict[str, float]) -> Iterator[None]:
    """Time the real path's phases by wrapping its functions (behaviour unchanged): reading
    every record (the events and the weighing within it), then the chunk loop up to the
    wait for the last COPY."""
    marks: dict[str, float] = {}
    leave = jobs._RatingsWriter.__exit__

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                marks[name] = time.perf_counter()
                phases[name] = marks[name] - started

        return wrapper

    def timed_leave(self: Any, *args: Any) -> None:
        started = time.perf_counter()
        phases["chunks"] = started - marks.get("read", started)
        try:
            leave(self, *args)
        finally:
            phases["last copy"] = time.perf_counter() - started

    wrapped = [
        (jobs, "scoring_inputs", "read"),
        (jobs.data, "events_frame", "events"),
        (jobs.data, "finding_weights", "weights"),
    ]
    originals = [getattr(owner, attribute) for owner, attribute, _ in wrapped]
    for (owner, attribute, name), function in zip(wrapped, originals, strict=True):
        setattr(owner, attribute, timed(name, function))
    jobs._RatingsWriter.__exit__ = timed_leave  # type: ignore[method-assign]
    try:
        yield
    finally:
        for (owner, attribute, _), function in zip(wrapped, originals, strict=True):
            setattr(owner, attribute, function)
        jobs._RatingsWriter.__exit__ = leave  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
