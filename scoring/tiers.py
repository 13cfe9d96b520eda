"""Score cut-offs → A/B/C/D, with the overrides the rules require, each a recorded reason.

A is the lowest risk.  ``cutoffs`` are the minimum scores of A, B and C (higher score =
better credit); anything below C's is D.  Overrides win over the score: an enterprise on
the serious-dishonesty list is D; one with no inspection history is B (DOMAIN.md §2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

TIERS = ("A", "B", "C", "D")
REASONS = {
    "serious_dishonesty": (
        "列入严重违法失信名单，直接评为D级",
        "On the serious-dishonesty list: tier D",
    ),
    "no_history": ("无检查记录，按一般风险（B级）管理", "No inspection history: tier B by rule"),
}


def check_cutoffs(cutoffs: Mapping[str, float]) -> tuple[float, float, float]:
    """``{"A": a, "B": b, "C": c}`` with a > b > c, finite, else a ValueError saying why.

    An infinite cut-off passed (A = Infinity left tier A empty) and was stored with the
    run as null; a ``D`` or other key was ignored without a word."""
    try:
        a, b, c = (float(cutoffs[t]) for t in ("A", "B", "C"))
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "tier cut-offs need numeric minimum scores for A, B and C / 需为A、B、C给出数值下限"
        ) from None
    if set(cutoffs) - {"A", "B", "C"}:
        unknown = ", ".join(sorted(map(str, set(cutoffs) - {"A", "B", "C"})))
        raise ValueError(
            f"tier cut-offs name only A, B and C (below C is D), got also: {unknown} / "
            f"分级下限只需给出A、B、C（低于C即为D），多出：{unknown}"
        )
    if any(isinstance(cutoffs[t], bool) for t in ("A", "B", "C")) or not all(
        math.isfinite(v) for v in (a, b, c)
    ):
        raise ValueError(
            f"tier cut-offs must be finite numbers, got A={cutoffs['A']!r}, "
            f"B={cutoffs['B']!r}, C={cutoffs['C']!r} / 分级下限须为有限数值"
        )
    if not a > b > c:
        raise ValueError(
            f"tier cut-offs must be in order A > B > C, got A={a}, B={b}, C={c} / "
            "分级下限须满足 A > B > C"
        )
    return a, b, c


def assign(
    scores: np.ndarray,
    cutoffs: Mapping[str, float],
    serious_dishonesty: np.ndarray | None = None,
    has_history: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str | None]]:
    """Tier per score, and per row the override applied (None when the score decided)."""
    a, b, c = check_cutoffs(cutoffs)
    scores = np.asarray(scores, dtype=float)
    tiers = np.where(scores >= a, "A", np.where(scores >= b, "B", np.where(scores >= c, "C", "D")))
    overrides: list[str | None] = [None] * len(scores)
    if has_history is not None:
        for i in np.flatnonzero(np.asarray(has_history) == 0):
            tiers[i], overrides[i] = "B", "no_history"
    if serious_dishonesty is not None:
        for i in np.flatnonzero(np.asarray(serious_dishonesty) > 0):
            tiers[i], overrides[i] = "D", "serious_dishonesty"
    return tiers.astype(object), overrides


#: cut-offs of a model that carries none (trained before cut-offs came from shares) when
#: none are configured: 600 points at odds 50:1 against a finding, 20 points to double
#: them, so A, B and C begin at about 1.0 %, 2.8 % and 7.4 % risk of a finding — below the
#: share of checks that find one in most districts, where every checked enterprise was D
LEGACY_CUTOFFS = {"A": 620.0, "B": 590.0, "C": 560.0}


def check_shares(shares: Mapping[str, float]) -> dict[str, float]:
    """``{"A": a, "B": b, "C": c, "D": d}``, each share in [0, 1] and summing to 1, else a
    ValueError saying why."""
    try:
        out = {t: float(shares[t]) for t in TIERS}
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "tier shares need a number for each of A, B, C and D / 需为A、B、C、D各给出占比"
        ) from None
    if isinstance(shares, Mapping) and set(shares) - set(TIERS):
        unknown = ", ".join(sorted(map(str, set(shares) - set(TIERS))))
        raise ValueError(f"tier shares name unknown tiers: {unknown} / 未知等级：{unknown}")
    if any(isinstance(shares[t], bool) or not 0.0 <= out[t] <= 1.0 for t in TIERS):
        raise ValueError(
            f"each tier share lies between 0 and 1, got {out} / 各等级占比须在0到1之间"
        )
    if abs(sum(out.values()) - 1.0) > 1e-6:
        raise ValueError(
            f"tier shares must sum to 1, got {sum(out.values()):.6g} / 各等级占比之和须为1"
        )
    return out


def cutoffs_for_shares(scores: np.ndarray, shares: Mapping[str, float]) -> dict[str, float] | None:
    """Cut-offs that put ``shares`` of ``scores`` in A, B, C and D as nearly as ties allow.

    Scorecard scores are sums of a few bins' points, so many enterprises share one score
    and a tier boundary can only fall between two distinct scores: each cut-off is the
    midpoint of the two (exact scores read clearly on either side), chosen for the share
    at or above it nearest the target, and strictly below the tier above's.  A tier that
    gets no score (a share of 0, or ties that leave it no room) is empty: its cut-off lies
    in the same gap as the tier above's, halfway down to the next score (one point below
    the tier above's under the lowest score, one point above the highest for A).  Each
    cut-off is given to 4 decimals, as scores are stored, where that keeps it strictly
    between the same scores and below the tier above's; else exactly.  Shares are of the
    scores that are not NaN.  None when there are no finite scores."""
    shares = check_shares(shares)
    scores = np.asarray(scores, dtype=float)
    # a NaN score is tiered D (:func:`assign`), not counted among the shares; it sorted
    # last, so it counted as above every cut-off
    ordered = np.sort(scores[~np.isnan(scores)])
    values = np.unique(ordered)[::-1]  # distinct, best first
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    m = len(values)
    # gap j lies between values[j-1] and values[j] (above all at 0, below all at m); its
    # cut-off, and the share of scores at or above it
    cuts = np.concatenate([[values[0] + 1.0], (values[:-1] + values[1:]) / 2.0,
                           [values[-1] - 1.0]])  # fmt: skip
    above = (len(ordered) - np.searchsorted(ordered, cuts)) / len(ordered)

    out: dict[str, float] = {}
    target, gap, previous = 0.0, -1, math.inf
    for tier in ("A", "B", "C"):
        target += shares[tier]
        # the gap of the tier above's cut-off (this tier then empty) or one further down,
        # the nearest share (the first such gap on a tie)
        above_gap, start = gap, max(gap, 0)
        gap = start + int(np.argmin(np.abs(above[start:] - target)))
        below = float(values[gap]) if gap < m else -math.inf  # the next score down
        if gap == above_gap:  # empty: between the tier above's cut-off and that score
            exact = (previous + below) / 2.0 if gap < m else previous - 1.0
        else:
            exact = float(cuts[gap])
        shown = round(exact, 4)
        upper = min(previous, float(values[gap - 1]) if gap > 0 else math.inf)
        out[tier] = previous = shown if below < shown < upper else exact
    return out
