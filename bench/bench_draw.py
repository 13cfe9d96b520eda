"""Benchmark of the double-random draw against a naive pure-Python baseline, same run.

    .venv/bin/python bench/bench_draw.py [--enterprises 1000000] [--inspectors 2000]

Synthetic pool: enterprises in shuffled order, tiers A/B/C/D in equal shares, all in sector
``food`` (a third also in ``drugs``), 20 regions; inspectors 95 % active, 90 % qualified for food;
20,000 declared conflicts; the "previous plan" is the assignments of a first draw with another
seed, as it would be in production.  Plan: ratios A 0.03, B 0.1, C 0.3, D 0.8, k = 2, all
regions.  Target: a draw (hash included) over 1,000,000 enterprises and 2,000 inspectors < 5 s.

The baseline is the straightforward implementation: one JSON line per record into SHA-256, a
per-enterprise filter loop, ``random.sample`` per tier, then for each task a scan of every
inspector for conflicts and workload and ``random.sample`` of k.  Its per-enterprise phase runs
on the full pool; its per-task phase costs O(inspectors) per task, so it runs on the first
``--naive-tasks`` tasks and is extrapolated linearly to all tasks (stated in the output).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspect_core.plans.draw import (  # noqa: E402
    DrawParams,
    EnterpriseColumns,
    Pool,
    PoolInspector,
    draw,
    pool_hash,
    verify,
)

TARGET_SECONDS = 5.0
RATIOS = {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.8}


def build_rows(n_ent: int, n_ins: int, seed: int = 7):
    """Synthetic registry rows, as plain Python lists (what a service query would return)."""
    rng = random.Random(seed)
    ids = list(range(n_ent))
    rng.shuffle(ids)
    uscc = [f"9111{i:013d}X" for i in ids]
    tier = [("A", "B", "C", "D")[rng.randrange(4)] for _ in ids]
    food, both = ("food",), ("drugs", "food")
    sectors = [both if rng.random() < 1 / 3 else food for _ in ids]
    regions = [f"街道{r:02d}" for r in range(20)]
    region = [regions[rng.randrange(20)] for _ in ids]
    inspectors = [
        PoolInspector(
            badge=f"JD{b:05d}",
            qualifications=("food", "drugs") if rng.random() < 0.9 else ("drugs",),
            region=regions[rng.randrange(20)],
            active=rng.random() < 0.95,
        )
        for b in range(n_ins)
    ]
    conflicts = [
        (inspectors[rng.randrange(n_ins)].badge, uscc[rng.randrange(n_ent)]) for _ in range(20_000)
    ]
    return (uscc, tier, sectors, region), inspectors, conflicts


def naive(rows, inspectors, conflicts, previous, params, seed, naive_tasks):
    """Straightforward pure-Python draw; returns (per-enterprise seconds, per-task seconds)."""
    uscc, tier, sectors, region = rows
    t0 = time.perf_counter()
    records = sorted(zip(uscc, tier, sectors, region, strict=True))
    digest = hashlib.sha256()
    for rec in records:
        digest.update(json.dumps(rec, ensure_ascii=False).encode() + b"\n")
    for ins in sorted(inspectors, key=lambda i: i.badge):
        digest.update(json.dumps([ins.badge, ins.qualifications, ins.region, ins.active]).encode())
    for pair in sorted(set(conflicts)) + sorted(set(previous)):
        digest.update(json.dumps(pair).encode())
    rng = random.Random(seed)
    by_tier: dict[str, list[str]] = {}
    for u, t, s, r in records:
        if params.sector in s and (not params.regions or r in params.regions):
            by_tier.setdefault(t, []).append(u)
    selected = []
    for t in sorted(by_tier):
        members = by_tier[t]
        selected += rng.sample(members, math.ceil(float(params.ratios[t]) * len(members)))
    t1 = time.perf_counter()

    eligible = [
        i.badge for i in inspectors if i.active and params.qualification in i.qualifications
    ]
    excluded = set(conflicts) | set(previous)
    cap = math.ceil(len(selected) * params.inspectors_per_task / len(eligible)) + 1
    load = dict.fromkeys(eligible, 0)
    part = selected[:naive_tasks]
    t2 = time.perf_counter()
    for u in part:
        cands = [b for b in eligible if load[b] < cap and (b, u) not in excluded]
        for b in rng.sample(cands, params.inspectors_per_task):
            load[b] += 1
    t3 = time.perf_counter()
    return t1 - t0, (t3 - t2) * len(selected) / max(1, len(part)), len(selected)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--enterprises", type=int, default=1_000_000)
    ap.add_argument("--inspectors", type=int, default=2_000)
    ap.add_argument("--naive-tasks", type=int, default=5_000)
    args = ap.parse_args()

    t = time.perf_counter()
    rows, inspectors, conflicts = build_rows(args.enterprises, args.inspectors)
    print(f"synthetic rows built in {time.perf_counter() - t:.2f} s (not part of any figure)")
    params = DrawParams(sector="food", ratios=RATIOS, inspectors_per_task=2)
    columns = EnterpriseColumns(*rows)

    t = time.perf_counter()
    first_pool = Pool(columns, inspectors, conflicts)
    first = draw(first_pool, params, seed=1)
    previous = [(b, task.uscc) for task in first.tasks for b in task.inspectors]
    prep = time.perf_counter() - t
    print(f"previous plan: {len(first.tasks):,} tasks, {len(previous):,} pairs ({prep:.2f} s)")

    t = time.perf_counter()
    pool = Pool(columns, inspectors, conflicts, previous)
    t_pool = time.perf_counter() - t
    t = time.perf_counter()
    digest = pool_hash(pool, params)
    t_hash = time.perf_counter() - t
    t = time.perf_counter()
    outcome = draw(pool, params, seed=2, expected_pool_hash=digest)
    t_draw = time.perf_counter() - t
    t = time.perf_counter()
    check = verify(pool, params, 2, outcome.tasks, stored_pool_hash=digest)
    t_verify = time.perf_counter() - t

    prev = set(previous) | set(conflicts)
    assert check.identical
    assert outcome.max_workload <= outcome.workload_cap
    assert all(len(set(x.inspectors)) == 2 for x in outcome.tasks)
    assert not any((b, x.uscc) in prev for x in outcome.tasks for b in x.inspectors)

    naive_ent, naive_task, naive_t = naive(
        rows, inspectors, conflicts, previous, params, 2, args.naive_tasks
    )
    naive_total = naive_ent + naive_task

    n_ent, n_ins = args.enterprises, args.inspectors
    print(
        f"\npool: {n_ent:,} enterprises, {n_ins:,} inspectors "
        f"({outcome.eligible_inspectors:,} eligible), {len(conflicts):,} conflicts, "
        f"{len(previous):,} previous-plan pairs"
    )
    for tc in outcome.tiers:
        print(
            f"  tier {tc.tier}: ratio {tc.ratio}, eligible {tc.eligible:,}, "
            f"selected {tc.selected:,}"
        )
    print(
        f"tasks {len(outcome.tasks):,}; workload cap {outcome.workload_cap}, "
        f"max {outcome.max_workload}"
    )
    print(f"\n{'step':<46}{'seconds':>10}")
    print(f"{'Pool(...) from columns (validate, sort, index)':<46}{t_pool:>10.2f}")
    print(f"{'pool_hash':<46}{t_hash:>10.2f}")
    print(f"{'draw (includes pool_hash)':<46}{t_draw:>10.2f}")
    print(f"{'verify (replay + compare)':<46}{t_verify:>10.2f}")
    print(f"{'naive: hash + filter + select (measured)':<46}{naive_ent:>10.2f}")
    print(
        f"{'naive: assign (extrapolated from first tasks)':<46}{naive_task:>10.2f}"
        f"   ({min(args.naive_tasks, naive_t):,} of {naive_t:,} tasks run)"
    )
    print(f"{'naive total':<46}{naive_total:>10.2f}")
    verdict = "met" if t_draw < TARGET_SECONDS else "MISSED"
    print(
        f"\ntarget: draw < {TARGET_SECONDS:.0f} s over 1,000,000 enterprises / 2,000 "
        f"inspectors: {verdict} ({t_draw:.2f} s); speed-up over naive ×{naive_total / t_draw:.0f}"
    )


if __name__ == "__main__":
    main()
