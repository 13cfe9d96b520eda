"""How strict is each inspector?  Inspectors are drawn at random, so differences in what
they find, beyond what the enterprises' own risk predicts, measure the inspector.

``effects`` compares each inspector's findings with the enterprise-only model's
out-of-fold predictions and shrinks the ratio toward 1 (empirical Bayes with ``prior``
pseudo-inspections), so an inspector with three visits is not called strict on luck.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def effects(
    inspector: np.ndarray, y: np.ndarray, predicted: np.ndarray, prior: float = 20.0
) -> pd.DataFrame:
    """Per inspector: visits, found, expected, and ``strictness`` = shrunk found/expected
    (1 = as the enterprises' risk predicts; 1.3 = finds 30 % more)."""
    frame = pd.DataFrame(
        {"inspector": inspector, "y": y.astype(float), "p": predicted.astype(float)}
    )
    frame = frame[frame["inspector"].notna()]
    base = frame["p"].mean() if len(frame) else 0.0
    grouped = frame.groupby("inspector").agg(
        visits=("y", "size"), found=("y", "sum"), expected=("p", "sum")
    )
    pseudo = prior * base
    grouped["strictness"] = (grouped["found"] + pseudo) / (grouped["expected"] + pseudo)
    return grouped.sort_values("strictness", ascending=False).reset_index()


def breakdown(
    inspector: np.ndarray, group: np.ndarray, y: np.ndarray, predicted: np.ndarray
) -> pd.DataFrame:
    """Per (inspector, group): visits, found and expected, unshrunk — the counts behind
    :func:`effects` split by, say, region, so a user who may see some regions only is
    shown the visits made there (the strictness itself stays the inspector's, estimated
    from all their visits)."""
    frame = pd.DataFrame(
        {"inspector": inspector, "group": group, "y": y.astype(float),
         "p": predicted.astype(float)}
    )  # fmt: skip
    frame = frame[frame["inspector"].notna() & frame["group"].notna()]
    return (
        frame.groupby(["inspector", "group"])
        .agg(visits=("y", "size"), found=("y", "sum"), expected=("p", "sum"))
        .reset_index()
    )
