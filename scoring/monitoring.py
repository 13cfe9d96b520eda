"""Population stability: PSI of scores and features against the training population."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

ALARM = 0.25  # PSI above this: the population has shifted; retrain or investigate


def bin_edges(reference: np.ndarray, bins: int = 10, categorical: bool = False) -> list[float]:
    """Decile edges of the reference (training) values, stored with the model.

    ``categorical``: the values are category codes (a region's, a sector's), whose order
    means nothing: an edge half a code below and above each code seen, so each category is
    a bin, and a code the reference did not hold (below, between or above those seen) falls
    in a bin of its own rather than its neighbour's.  Decile bins of codes held several
    alphabetical neighbours each, and enterprises moving from one to another within a bin
    changed no share."""
    values = np.asarray(reference, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    if categorical:
        codes = np.unique(values)
        return [float(x) for x in np.unique(np.concatenate([codes - 0.5, codes + 0.5]))]
    return [float(x) for x in np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))]


def distribution(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    """Share of values per bin (a last bin holds missing values)."""
    values = np.asarray(values, dtype=float)
    codes = np.searchsorted(np.asarray(edges), values, side="right")
    codes[~np.isfinite(values)] = len(edges) + 1
    counts = np.bincount(codes, minlength=len(edges) + 2).astype(float)
    return list(counts / max(counts.sum(), 1.0))


def psi(expected: Sequence[float], actual: Sequence[float], floor: float = 1e-4) -> float:
    """Σ (a − e) · ln(a / e) over bins, shares floored so empty bins stay finite."""
    e = np.maximum(np.asarray(expected, dtype=float), floor)
    a = np.maximum(np.asarray(actual, dtype=float), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def report(
    reference: Mapping[str, dict[str, list[float]]], current: Mapping[str, np.ndarray]
) -> dict[str, object]:
    """PSI per stored variable (``{"edges", "shares"}`` from training) and the alarm flag."""
    values = {
        name: round(psi(ref["shares"], distribution(current[name], ref["edges"])), 4)
        for name, ref in reference.items()
        if name in current
    }
    worst = max(values.values(), default=0.0)
    return {"psi": values, "max": worst, "alarm": worst > ALARM, "threshold": ALARM}
