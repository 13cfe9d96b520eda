"""Tests of the pure double-random draw (``inspect_core.plans.draw``): no Flask, no database.

Invariants are checked against the raw records with independent code (eligibility, sample
sizes, workload bound), feasibility against scipy's max-flow, and randomness with stated
significance on fixed seeds (deterministic, so never flaky).
"""

from __future__ import annotations

import hashlib
import math
import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse, stats
from scipy.sparse.csgraph import maximum_flow

from inspect_core.plans import draw as dr
from inspect_core.plans.draw import (
    ALGORITHM_VERSION,
    Assignment,
    DrawInfeasible,
    DrawParams,
    EnterpriseColumns,
    Pool,
    PoolEnterprise,
    PoolInspector,
    canonical_pool,
    derive_seed,
    draw,
    parse_canonical_pool,
    pool_hash,
    splitmix64,
    verify,
)

TIERS = ("A", "B", "C", "D")
SECTORS = ("food", "drugs")
REGIONS = ("r1", "r2", "r3")
SIGNIFICANCE = 0.001  # per statistical family; seeds are fixed, so the outcome is deterministic

# ---------------------------------------------------------------------------------------------
# Helpers and strategies
# ---------------------------------------------------------------------------------------------


def ent(uscc: str, tier: str = "B", sectors=("food",), region: str = "r1") -> PoolEnterprise:
    return PoolEnterprise(uscc, tier, tuple(sectors), region)


def insp(badge: str, quals=("food",), region: str = "r1", active: bool = True) -> PoolInspector:
    return PoolInspector(badge, tuple(quals), region, active)


SECTOR_SETS = (("food",), ("food",), ("drugs", "food"), ("drugs",), ())
QUALIFICATIONS = (("food",), ("food",), ("drugs", "food"), ("drugs",))


@st.composite
def scenarios(data, all_selected: bool = False):
    """A small random pool, plan and seed, weighted so most draws are feasible but tight.

    ``all_selected`` sets every ratio to 1, so the tasks are known in advance.
    """
    n_ent = data(st.integers(0, 30))
    enterprises = [
        PoolEnterprise(
            f"E{i:03d}",
            data(st.sampled_from(TIERS)),
            data(st.sampled_from(SECTOR_SETS)),
            data(st.sampled_from(REGIONS)),
        )
        for i in range(n_ent)
    ]
    n_ins = data(st.integers(1, 10))
    inspectors = [
        PoolInspector(
            f"B{i:02d}",
            data(st.sampled_from(QUALIFICATIONS)),
            data(st.sampled_from(REGIONS)),
            data(st.sampled_from((True, True, True, False))),
        )
        for i in range(n_ins)
    ]
    pairs = st.lists(
        st.tuples(
            st.sampled_from([i.badge for i in inspectors] or ["B00"]),
            st.sampled_from([e.uscc for e in enterprises] or ["E000"]),
        ),
        max_size=40,
    )
    conflicts = data(pairs) if inspectors and enterprises else []
    previous = data(pairs) if inspectors and enterprises else []
    ratio = st.just(1) if all_selected else st.sampled_from([0, 0.1, 0.25, 0.5, 0.8, 1])
    params = DrawParams(
        sector="food",
        ratios={t: data(ratio) for t in TIERS},
        inspectors_per_task=data(st.sampled_from((2, 2, 3))),
        regions=data(st.sampled_from(((), (), ("r1", "r2"), ("r1",)))),
    )
    seed = data(st.integers(0, 2**128 - 1))
    return enterprises, inspectors, conflicts, previous, params, seed


def eligible_enterprises(enterprises, params):
    return [
        e
        for e in enterprises
        if params.sector in e.sectors and (not params.regions or e.region in params.regions)
    ]


def eligible_badges(inspectors, params):
    return [
        i.badge
        for i in inspectors
        if i.active
        and params.qualification in i.qualifications
        and (not params.regions or i.region in params.regions)
    ]


def check_outcome(enterprises, inspectors, conflicts, previous, params, outcome) -> None:
    """Every rule of the issue, checked against the raw records."""
    scope = {e.uscc: e for e in eligible_enterprises(enterprises, params)}
    badges = set(eligible_badges(inspectors, params))
    forbidden = set(conflicts) | set(previous)
    usccs = [t.uscc for t in outcome.tasks]
    assert len(usccs) == len(set(usccs)), "an enterprise was drawn twice"
    assert usccs == sorted(usccs)
    for task in outcome.tasks:
        assert task.uscc in scope, "an ineligible enterprise was drawn"
        assert len(task.inspectors) == params.inspectors_per_task
        assert len(set(task.inspectors)) == params.inspectors_per_task
        for badge in task.inspectors:
            assert badge in badges, "inactive, unqualified or out-of-region inspector"
            assert (badge, task.uscc) not in forbidden, "conflicted or previous-plan pair"
    for tier in TIERS:
        members = [e for e in scope.values() if e.tier == tier]
        expected = math.ceil(Fraction(str(params.ratios[tier])) * len(members))
        assert sum(scope[u].tier == tier for u in usccs) == expected
    if outcome.tasks:
        cap = math.ceil(len(outcome.tasks) * params.inspectors_per_task / len(badges)) + 1
        assert outcome.workload_cap == cap
        assert max(outcome.workloads().values()) <= cap
        assert outcome.max_workload == max(outcome.workloads().values())


def max_flow_feasible(scope, badges, forbidden, k) -> bool:
    """Independent feasibility oracle: source → task (k) → inspector (1) → sink (cap)."""
    tasks, n = len(scope), len(badges)
    cap = math.ceil(tasks * k / n) + 1
    size = tasks + n + 2
    sink = size - 1
    rows, cols, caps = [], [], []
    for t, uscc in enumerate(scope):
        rows.append(0), cols.append(1 + t), caps.append(k)
        for j, badge in enumerate(badges):
            if (badge, uscc) not in forbidden:
                rows.append(1 + t), cols.append(1 + tasks + j), caps.append(1)
    for j in range(n):
        rows.append(1 + tasks + j), cols.append(sink), caps.append(cap)
    graph = sparse.csr_matrix((np.array(caps, np.int32), (rows, cols)), shape=(size, size))
    return maximum_flow(graph, 0, sink).flow_value == tasks * k


def small_pool(conflicts=(), previous=(), n_ent=12, n_ins=6):
    ents = [ent(f"E{i:03d}", TIERS[i % 4]) for i in range(n_ent)]
    return Pool(ents, [insp(f"B{i:02d}") for i in range(n_ins)], conflicts, previous)


ALL = DrawParams("food", dict.fromkeys(TIERS, 1))


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_draw_respects_every_rule_or_fails_naming_enterprises(scenario):
    enterprises, inspectors, conflicts, previous, params, seed = scenario
    pool = Pool(enterprises, inspectors, conflicts, previous)
    try:
        outcome = draw(pool, params, seed)
    except DrawInfeasible as exc:
        assert exc.problems
        scope = {e.uscc for e in eligible_enterprises(enterprises, params)}
        for problem in exc.problems:
            assert problem.message_en and problem.message_zh
            assert problem.uscc is None or problem.uscc in scope
        return
    check_outcome(enterprises, inspectors, conflicts, previous, params, outcome)
    assert outcome.pool_hash == pool_hash(pool, params)
    assert outcome.algorithm_version == ALGORITHM_VERSION


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_same_inputs_same_draw_whatever_the_input_order(scenario, rnd):
    enterprises, inspectors, conflicts, previous, params, seed = scenario
    pool = Pool(enterprises, inspectors, conflicts, previous)
    shuffled = [list(x) for x in (enterprises, inspectors, conflicts, previous)]
    for x in shuffled:
        rnd.shuffle(x)
    other = Pool(*shuffled)
    assert pool_hash(other, params) == pool_hash(pool, params)
    try:
        first = draw(pool, params, seed)
    except DrawInfeasible as exc:
        with pytest.raises(DrawInfeasible) as again:
            draw(other, params, seed)
        assert again.value.problems == exc.problems
        return
    assert draw(other, params, seed) == first
    check = verify(other, params, seed, reversed(first.tasks), stored_pool_hash=first.pool_hash)
    assert check.identical and check.pool_hash_matches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(all_selected=True))
def test_draw_fails_exactly_when_max_flow_says_infeasible(scenario):
    """With every ratio 1 the tasks are known; the repair must find a staffing iff one exists."""
    enterprises, inspectors, conflicts, previous, params, seed = scenario
    scope = [e.uscc for e in eligible_enterprises(enterprises, params)]
    badges = eligible_badges(inspectors, params)
    k = params.inspectors_per_task
    pool = Pool(enterprises, inspectors, conflicts, previous)
    forbidden = set(conflicts) | set(previous)
    feasible = bool(scope) and len(badges) >= k
    feasible = feasible and max_flow_feasible(scope, badges, forbidden, k)
    try:
        outcome = draw(pool, params, seed)
    except DrawInfeasible as exc:
        assert not feasible, exc.problems
        for p in exc.problems:
            if p.code == dr.INSUFFICIENT_CANDIDATES:
                allowed = [b for b in badges if (b, p.uscc) not in forbidden]
                assert len(allowed) < k
        return
    assert feasible
    check_outcome(enterprises, inspectors, conflicts, previous, params, outcome)


def test_repair_moves_inspectors_when_every_candidate_is_at_the_cap(monkeypatch):
    """Tight case: 4 tasks may only use JD1/JD2, cap 5: success needs the augmenting path."""
    ents = [ent(f"E{i}") for i in range(6)]
    inspectors = [insp("JD1"), insp("JD2"), insp("JD3")]
    conflicts = [("JD3", f"E{i}") for i in range(4)]
    pool = Pool(ents, inspectors, conflicts)
    calls = []
    original = dr._Assigner._augment

    def spy(self, t0, j0):
        calls.append(t0)
        return original(self, t0, j0)

    monkeypatch.setattr(dr._Assigner, "_augment", spy)
    for seed in range(60):
        outcome = draw(pool, ALL, seed)
        check_outcome(ents, inspectors, conflicts, [], ALL, outcome)
        assert outcome.workload_cap == 5
    assert calls, "no seed exercised the augmenting path"


# ---------------------------------------------------------------------------------------------
# Sample sizes, seeds, randomness
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "eligible", "expected"),
    [
        (0.1, 30, 3),  # float 0.1 × 30 = 3.0000000000000004 would ceil to 4
        (0.03, 10, 1),  # ceil: a non-zero ratio draws at least one
        ("0.5", 3, 2),
        (Decimal("0.8"), 7, 6),
        (0, 9, 0),
        (1, 9, 9),
        ("0.333", 1000, 333),
    ],
)
def test_sample_size_is_ceil_of_exact_decimal_ratio(ratio, eligible, expected):
    pool = Pool([ent(f"E{i:04d}", "C") for i in range(eligible)], [insp("X1"), insp("X2")])
    params = DrawParams("food", {"C": ratio})
    if expected == 0:
        with pytest.raises(DrawInfeasible) as exc:
            draw(pool, params, 1)
        assert [p.code for p in exc.value.problems] == [dr.NOTHING_SELECTED]
        return
    outcome = draw(pool, params, 1)
    assert len(outcome.tasks) == expected
    assert outcome.tiers == (dr.TierCount("C", Decimal(str(ratio)), eligible, expected),)


def test_different_seeds_give_different_draws():
    pool = Pool([ent(f"E{i:03d}") for i in range(100)], [insp(f"B{i}") for i in range(10)])
    params = DrawParams("food", {"B": 0.5})
    draws = {draw(pool, params, seed).tasks for seed in range(20)}
    assert len(draws) == 20
    selections = {tuple(t.uscc for t in tasks) for tasks in draws}
    assert len(selections) == 20  # C(100, 50) subsets: a repeat would mean a broken stream


def _uniformity_pvalue(counts: np.ndarray, draws: int, p: float) -> float:
    """Chi-square for counts of an equal-probability sample without replacement.

    Per draw the inclusion indicators have covariance p(1−p)·N/(N−1)·(I − J/N), so
    (N−1)/N · Σ(O−E)²/(D·p·(1−p)) is asymptotically χ² with N−1 degrees of freedom.
    """
    n = counts.size
    expected = draws * p
    statistic = (n - 1) / n * float(((counts - expected) ** 2).sum()) / (draws * p * (1 - p))
    return float(stats.chi2.sf(statistic, n - 1))


def test_selection_and_assignment_frequencies_match_the_ratios():
    """2,000 fixed seeds; tier ratios 0.1/0.25/0.5/0.8 on 12 firms each, α = 0.001 per family."""
    ratios = {"A": 0.1, "B": 0.25, "C": 0.5, "D": 0.8, "E": 1}
    members = {t: [f"{t}{i:02d}" for i in range(12)] for t in "ABCD"}
    members["E"] = ["E00"]  # always drawn: its inspectors are tested for uniformity
    ents = [ent(u, t) for t, us in members.items() for u in us]
    badges = [f"JD{i}" for i in range(8)]
    pool = Pool(ents, [insp(b) for b in badges])
    params = DrawParams("food", ratios)
    draws = 2000
    picked = {u: 0 for us in members.values() for u in us}
    crew = dict.fromkeys(badges, 0)
    for seed in range(draws):
        outcome = draw(pool, params, seed)
        for task in outcome.tasks:
            picked[task.uscc] += 1
            if task.uscc == "E00":
                for b in task.inspectors:
                    crew[b] += 1
    tests = 0
    for tier in "ABCD":
        p = math.ceil(Fraction(str(ratios[tier])) * 12) / 12
        counts = np.array([picked[u] for u in members[tier]])
        assert counts.sum() == draws * round(p * 12)
        assert _uniformity_pvalue(counts, draws, p) > SIGNIFICANCE, (tier, counts)
        for c in counts:  # each firm on its own, Bonferroni over the 48 firms
            assert stats.binomtest(int(c), draws, p).pvalue > SIGNIFICANCE / 48, (tier, c)
        tests += 1
    assert picked["E00"] == draws
    counts = np.array(list(crew.values()))
    assert _uniformity_pvalue(counts, draws, 2 / 8) > SIGNIFICANCE, counts
    assert tests == 4


def test_uniformity_statistic_rejects_a_biased_selector():
    """The statistic used above has power: a 10 % tilt towards the first firm is caught."""
    rng = random.Random(0)
    counts = np.zeros(12)
    for _ in range(2000):
        weights = [1.3] + [1.0] * 11
        chosen = set()
        while len(chosen) < 3:
            chosen.add(rng.choices(range(12), weights)[0])
        for c in chosen:
            counts[c] += 1
    assert _uniformity_pvalue(counts, 2000, 0.25) < SIGNIFICANCE


def test_splitmix64_matches_the_published_reference():
    """Rosetta Code 'Pseudo-random numbers/Splitmix64', seed 1234567: first five outputs."""
    assert splitmix64(1234567, 5).tolist() == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    assert splitmix64(1234567, 2, start=3).tolist() == splitmix64(1234567, 5).tolist()[3:]


def test_derive_seed_is_deterministic_and_depends_on_both_inputs():
    h1, h2 = "a" * 64, "b" * 64
    s = derive_seed(h1, "体彩大乐透 25001: 03 11 19 27 33 + 05 09")
    assert s == derive_seed(h1, "体彩大乐透 25001: 03 11 19 27 33 + 05 09")
    assert s != derive_seed(h2, "体彩大乐透 25001: 03 11 19 27 33 + 05 09")
    assert s != derive_seed(h1, "体彩大乐透 25001: 03 11 19 27 33 + 05 10")
    digest = hashlib.sha256(f"{h1}|体彩大乐透 25001: 03 11 19 27 33 + 05 09".encode()).digest()
    assert s == int.from_bytes(digest[:16], "big") and 0 <= s < 2**128
    for bad_hash, value in (("A" * 64, "x"), ("a" * 63, "x"), (h1, ""), (h1, "   ")):
        with pytest.raises(ValueError):
            derive_seed(bad_hash, value)


# ---------------------------------------------------------------------------------------------
# Snapshot hash
# ---------------------------------------------------------------------------------------------


def test_pool_hash_changes_when_anything_drawn_upon_changes():
    ents = [ent("E1", "A"), ent("E2", "B"), ent("E3", "C")]
    inspectors = [insp("B1"), insp("B2"), insp("B3")]
    base = pool_hash(Pool(ents, inspectors, [("B1", "E1")], [("B2", "E2")]), ALL)
    variants = {
        "tier": Pool([ent("E1", "D"), *ents[1:]], inspectors, [("B1", "E1")], [("B2", "E2")]),
        "sector": Pool(
            [ent("E1", "A", ("food", "drugs")), *ents[1:]],
            inspectors,
            [("B1", "E1")],
            [("B2", "E2")],
        ),
        "region": Pool(
            [ent("E1", "A", region="r2"), *ents[1:]], inspectors, [("B1", "E1")], [("B2", "E2")]
        ),
        "enterprise": Pool(ents[:2], inspectors, [("B1", "E1")], [("B2", "E2")]),
        "inspector": Pool(ents, inspectors[:2], [("B1", "E1")], [("B2", "E2")]),
        "active": Pool(
            ents, [insp("B1", active=False), *inspectors[1:]], [("B1", "E1")], [("B2", "E2")]
        ),
        "qualification": Pool(
            ents, [insp("B1", ("drugs",)), *inspectors[1:]], [("B1", "E1")], [("B2", "E2")]
        ),
        "conflict": Pool(ents, inspectors, [("B1", "E1"), ("B3", "E3")], [("B2", "E2")]),
        "no conflict": Pool(ents, inspectors, [], [("B2", "E2")]),
        "previous": Pool(ents, inspectors, [("B1", "E1")], [("B2", "E3")]),
    }
    hashes = {name: pool_hash(p, ALL) for name, p in variants.items()}
    assert base not in hashes.values()
    assert len(set(hashes.values())) == len(hashes)
    pool = Pool(ents, inspectors, [("B1", "E1")], [("B2", "E2")])
    for params in (
        DrawParams("food", {**ALL.ratios, "A": "0.5"}),
        DrawParams("food", ALL.ratios, inspectors_per_task=3),
        DrawParams("food", ALL.ratios, regions=("r1",)),
        DrawParams("food", ALL.ratios, qualification="food-lab"),
        DrawParams("drugs", ALL.ratios),
    ):
        assert pool_hash(pool, params) != base


def test_equal_ratios_spelled_differently_hash_the_same():
    pool = small_pool()
    a = DrawParams("food", {"A": 0.1, "B": "0.50", "C": Decimal("1.0"), "D": 0})
    b = DrawParams("food", {"D": "0.000", "C": 1, "B": 0.5, "A": "0.1"})
    assert a == b and hash(a) == hash(b)
    assert pool_hash(pool, a) == pool_hash(pool, b)


def test_snapshot_round_trips_and_replays_anywhere():
    ents = [ent("91110000600037341L", "A", ("food", "drugs"), "朝阳区"), ent("E2", "D")]
    inspectors = [insp("JD1", region="朝阳区"), insp("JD2", ("food", "drugs")), insp("JD3")]
    inspectors += [insp("JD4", region="朝阳区"), insp("JD5", ("food",), "r2")]
    pool = Pool(ents, inspectors, [("JD1", "E2")], [("JD2", "E2"), ("ghost", "E2")])
    params = DrawParams("food", {"A": 1, "D": 1}, regions=("r1", "朝阳区"))
    blob = canonical_pool(pool, params)
    assert hashlib.sha256(blob).hexdigest() == pool_hash(pool, params)
    assert pool.dropped_pairs == 1 and b"ghost" not in blob
    rebuilt, rebuilt_params = parse_canonical_pool(blob)
    assert rebuilt_params == params
    assert canonical_pool(rebuilt, rebuilt_params) == blob
    assert draw(rebuilt, rebuilt_params, 99) == draw(pool, params, 99)
    lines = blob.split(b"\n")
    swapped = b"\n".join([*lines[:12], lines[13], lines[12], *lines[14:]])
    with pytest.raises(ValueError):
        parse_canonical_pool(swapped)
    with pytest.raises(ValueError):
        parse_canonical_pool(blob.replace(b"draw-v1", b"draw-v0"))
    with pytest.raises(ValueError):
        parse_canonical_pool(blob[:-1])


def test_golden_draw_pins_algorithm_v1():
    """Frozen expected output: any change of it is a new algorithm version, not a fix."""
    ents = [
        ent("91110000600037341L", "A", ("food",), "朝阳"),
        ent("91310000MA1K3XXXX1", "B", ("food", "drugs"), "朝阳"),
        ent("92440300MA5F00000Y", "C", ("food",), "海淀"),
        ent("93110105MA01ABCDE2", "D", ("food",), "海淀"),
        ent("91110108MA00000001", "D", ("drugs",), "海淀"),
    ]
    inspectors = [
        insp("JD001", ("food",), "朝阳"),
        insp("JD002", ("food", "drugs"), "海淀"),
        insp("JD003", ("food",), "海淀"),
        insp("JD004", ("food",), "朝阳", active=False),
        insp("JD005", ("drugs",), "朝阳"),
    ]
    pool = Pool(
        ents,
        inspectors,
        conflicts=[("JD001", "93110105MA01ABCDE2")],
        previous=[("JD002", "92440300MA5F00000Y")],
    )
    params = DrawParams("food", {"A": "0.5", "B": 0.5, "C": 1, "D": "1.0"})
    digest = pool_hash(pool, params)
    assert digest == "825a3a35d43598cae7c3820203abda6dad1460fecea489c95bbf758e39e2c4e5"
    seed = derive_seed(digest, "福彩3D 2025001 开奖号码 1 2 3")
    assert seed == 142122008465066089118654696614164132662
    assert draw(pool, params, seed).tasks == (
        Assignment("91110000600037341L", ("JD001", "JD002")),
        Assignment("91310000MA1K3XXXX1", ("JD001", "JD003")),
        Assignment("92440300MA5F00000Y", ("JD001", "JD003")),
        Assignment("93110105MA01ABCDE2", ("JD002", "JD003")),
    )


def test_golden_draw_pins_the_repair_to_the_least_loaded_candidate():
    """Frozen output of a draw whose repair has candidates of unequal workload: the freed
    slot of E02 goes to the least loaded (JD1), not to any candidate below the cap (the
    property tests pass either way; a replay by a third party would not)."""
    ents = [ent(f"E{i:02d}") for i in range(6)]
    conflicts = [("JD0", "E02"), ("JD3", "E02"), ("JD3", "E03"), ("JD4", "E03")]
    pool = Pool(ents, [insp(f"JD{i}") for i in range(5)], conflicts)
    outcome = draw(pool, DrawParams("food", {"B": 1}), 1)
    assert outcome.tasks == (
        Assignment("E00", ("JD1", "JD2")),
        Assignment("E01", ("JD0", "JD3")),
        Assignment("E02", ("JD1", "JD4")),
        Assignment("E03", ("JD0", "JD2")),
        Assignment("E04", ("JD1", "JD4")),
        Assignment("E05", ("JD0", "JD2")),
    )


# ---------------------------------------------------------------------------------------------
# Infeasible draws
# ---------------------------------------------------------------------------------------------


def _codes(exc: pytest.ExceptionInfo) -> list[tuple[str | None, str]]:
    return [(p.uscc, p.code) for p in exc.value.problems]


def test_empty_scope_and_too_few_inspectors_are_both_reported():
    pool = Pool([ent("E1", sectors=("drugs",))], [insp("B1"), insp("B2", active=False)])
    with pytest.raises(DrawInfeasible) as exc:
        draw(pool, ALL, 1)
    assert _codes(exc) == [(None, dr.EMPTY_SCOPE), (None, dr.TOO_FEW_INSPECTORS)]
    assert "食品" not in exc.value.problems[0].message_zh  # codes are shown as given
    assert "“food”" in exc.value.problems[0].message_zh


def test_out_of_region_inspectors_do_not_count():
    pool = Pool([ent("E1")], [insp("B1"), insp("B2", region="r2")])
    params = DrawParams("food", ALL.ratios, regions=("r1",))
    with pytest.raises(DrawInfeasible) as exc:
        draw(pool, params, 1)
    assert _codes(exc) == [(None, dr.TOO_FEW_INSPECTORS)]


def test_tier_without_ratio_is_refused_not_silently_skipped():
    pool = small_pool()
    with pytest.raises(DrawInfeasible) as exc:
        draw(pool, DrawParams("food", {"A": 1, "B": 1, "C": 1}), 1)
    assert _codes(exc) == [(None, dr.TIER_WITHOUT_RATIO)]
    assert "'D'" in exc.value.problems[0].message_en


def test_enterprise_whose_candidates_are_all_conflicted_is_named():
    conflicts = [(f"B{i:02d}", "E005") for i in range(5)]  # 1 of 6 left, k = 2
    previous = [("B00", "E007"), ("B01", "E007"), ("B02", "E007"), ("B03", "E007")]
    pool = small_pool(conflicts, previous + [("B04", "E007")])
    with pytest.raises(DrawInfeasible) as exc:
        draw(pool, ALL, 3)
    assert _codes(exc) == [
        ("E005", dr.INSUFFICIENT_CANDIDATES),
        ("E007", dr.INSUFFICIENT_CANDIDATES),
    ]
    assert exc.value.usccs == ("E005", "E007")
    e5, e7 = exc.value.problems
    assert "5 recused" in e5.message_en and "0 checked it" in e5.message_en
    assert "5 checked it in the previous plan" in e7.message_en
    assert "E005" in e5.message_zh and "回避" in e5.message_zh


def test_workload_cap_failure_names_the_unstaffable_enterprise():
    """4 tasks may only use B1/B2 (cap ⌈8/4⌉+1 = 3): 2 of the 8 slots cannot be filled."""
    ents = [ent(f"E{i}") for i in range(4)]
    conflicts = [(b, f"E{i}") for i in range(4) for b in ("B3", "B4")]
    pool = Pool(ents, [insp(f"B{i}") for i in range(1, 5)], conflicts)
    for seed in range(10):
        with pytest.raises(DrawInfeasible) as exc:
            draw(pool, ALL, seed)
        problems = exc.value.problems
        assert 1 <= len(problems) <= 2  # one task left bare, or two left with one inspector
        for problem in problems:
            assert problem.code == dr.WORKLOAD_CAP and problem.uscc in {"E0", "E1", "E2", "E3"}
            assert "cap of 3 tasks" in problem.message_en and "工作量上限" in problem.message_zh


def test_changed_pool_is_refused_against_the_published_hash():
    pool = small_pool()
    published = pool_hash(pool, ALL)
    assert draw(pool, ALL, 5, expected_pool_hash=published).pool_hash == published
    changed = small_pool(conflicts=[("B00", "E000")])
    with pytest.raises(DrawInfeasible) as exc:
        draw(changed, ALL, 5, expected_pool_hash=published)
    assert _codes(exc) == [(None, dr.POOL_CHANGED)]


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------


def test_verify_reports_every_kind_of_difference():
    pool = small_pool()
    outcome = draw(pool, ALL, 11)
    tasks = list(outcome.tasks)
    ok = verify(pool, ALL, 11, tasks, stored_pool_hash=outcome.pool_hash)
    assert ok.identical and ok.pool_hash == outcome.pool_hash

    first, second = tasks[0], tasks[1]
    other = next(b for b in ("B00", "B01", "B02", "B03") if b not in first.inspectors)
    tampered = [Assignment(first.uscc, (first.inspectors[0], other)), *tasks[2:]]
    tampered.append(("E999", ("B00", "B01")))
    check = verify(pool, ALL, 11, tampered)
    assert not check.identical and check.pool_hash_matches is None
    assert check.changed == (first.uscc,)
    assert check.missing == (second.uscc,)
    assert check.unexpected == ("E999",)

    assert not verify(pool, ALL, 12, tasks).identical
    wrong_hash = verify(pool, ALL, 11, tasks, stored_pool_hash="0" * 64)
    assert not wrong_hash.identical and wrong_hash.pool_hash_matches is False
    old = verify(pool, ALL, 11, tasks, stored_algorithm_version="draw-v0")
    assert not old.identical and not old.algorithm_matches and "draw-v0" in old.error
    twice = verify(pool, ALL, 11, [*tasks, tasks[0]])
    assert not twice.identical and twice.changed == (first.uscc,)


def test_verify_of_an_infeasible_replay_is_not_identical():
    pool = Pool([ent("E1")], [insp("B1")])
    check = verify(pool, ALL, 1, [("E1", ("B1", "B2"))])
    assert not check.identical and "each task needs 2" in check.error


# ---------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------


def test_columns_and_records_build_the_same_pool():
    records = [ent("E2", "A", ("food", "drugs"), "r2"), ent("E1", "C")]
    cols = EnterpriseColumns(
        uscc=["E2", "E1"],
        tier=["A", "C"],
        sectors=[["drugs", "food", "food"], ("food",)],
        region=np.array(["r2", "r1"]),
    )
    a, b = Pool(records, [insp("B1")]), Pool(cols, [insp("B1")])
    assert canonical_pool(a, ALL) == canonical_pool(b, ALL)
    assert list(b.enterprises()) == sorted(records, key=lambda e: e.uscc)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: PoolEnterprise("E1", "A", "food", "r1"), TypeError),
        (lambda: PoolEnterprise("E,1", "A", ("food",), "r1"), ValueError),
        (lambda: PoolEnterprise("E1", "", ("food",), "r1"), ValueError),
        (lambda: PoolInspector("B1", ("food",), "r1", 1), TypeError),
        (lambda: PoolInspector("B\t1", ("food",), "r1", True), ValueError),
        (lambda: Pool([ent("E1"), ent("E1")], []), ValueError),
        (lambda: Pool([ent("E1")], [insp("B1"), insp("B1")]), ValueError),
        (lambda: Pool([ent("E1")], [insp("B1")], ["B1E1"]), TypeError),
        (lambda: Pool([ent("E1")], [insp("B1")], [("B1", 7)]), TypeError),
        (
            lambda: Pool(EnterpriseColumns(["E1", 2], ["A", "A"], [(), ()], ["r", "r"]), []),
            TypeError,
        ),
        (
            lambda: Pool(EnterpriseColumns(["E1", ""], ["A", "A"], [(), ()], ["r", "r"]), []),
            ValueError,
        ),
        (lambda: Pool(EnterpriseColumns(["E1"], ["A", "A"], [()], ["r"]), []), ValueError),
        (lambda: DrawParams("food", {"A": 1}, inspectors_per_task=1), ValueError),
        (lambda: DrawParams("food", {"A": 1.5}), ValueError),
        (lambda: DrawParams("food", {"A": "abc"}), ValueError),
        (lambda: DrawParams("food", {"A": True}), TypeError),
        (lambda: DrawParams("food", {"A": 1}, regions="r1"), TypeError),
        (lambda: draw(small_pool(), ALL, -1), ValueError),
        (lambda: draw(small_pool(), ALL, True), TypeError),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_error(build, error):
    with pytest.raises(error):
        build()
