"""Score cut-offs → A/B/C/D, with the overrides the rules require, each a recorded reason.

A is the lowest risk.  ``cutoffs`` are the minimum scores of A, B and C (higher score =
better credit); anything below C's is D.  Overrides win over the score: an enterprise on
the serious-dishonesty list is D; one with no inspection history is B (DOMAIN.md §2).
"""

from __future__ import annotations

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
    """``{"A": a, "B": b, "C": c}`` with a > b > c, else a ValueError saying why."""
    try:
        a, b, c = (float(cutoffs[t]) for t in ("A", "B", "C"))
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "tier cut-offs need numeric minimum scores for A, B and C / 需为A、B、C给出数值下限"
        ) from None
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
