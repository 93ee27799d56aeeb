"""Version comparisons where nothing changed: how often a regression is flagged anyway.

Two versions of one model are drawn with the same true rates but different decisions on some
rows (a retrained model that moves ``disagreement`` of the rows each way): the true change of
every metric is 0, so every flagged regression, improvement or change is a false one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rai_pipeline.core.engine.paired import CELL_COLUMNS, CELLS
from rai_pipeline.core.metrics.comparison import compare_versions

PREVALENCE, TPR, FPR = 0.4, 0.7, 0.2
FLAGS = ("regression", "improvement", "changed")


def _cell_probabilities(disagreement: float) -> list[float]:
    """P(label y, previous decision p, current decision c) with equal marginals per label."""
    out = []
    for y, p, c in CELLS:
        label = PREVALENCE if y else 1 - PREVALENCE
        rate = TPR if y else FPR
        joint = {(1, 1): rate - disagreement, (0, 0): 1 - rate - disagreement}
        out.append(label * joint.get((p, c), disagreement))
    return out


def no_change_cells(
    *, groups: int, n: int, replicates: int, disagreement: float, rng: np.random.Generator
) -> list[pd.DataFrame]:
    """Paired cells of ``replicates`` comparisons, each of ``groups`` groups of ``n`` rows
    (dimension ``g``) and their overall row, as ``paired_cells`` returns them."""
    draws = rng.multinomial(n, _cell_probabilities(disagreement), size=(replicates, groups))
    out = []
    for block in draws:
        frame = pd.DataFrame(np.vstack([block.sum(axis=0), block]), columns=CELL_COLUMNS)
        frame.insert(0, "group", ["all", *(f"g{k:02d}" for k in range(groups))])
        frame.insert(0, "dimension", ["overall", *["g"] * groups])
        frame.insert(2, "n", frame[CELL_COLUMNS].sum(axis=1))
        out.append(frame)
    return out


@dataclass(frozen=True)
class ComparisonStudy:
    groups: int
    n: int
    replicates: int
    comparisons: int  # claims per comparison (groups x metrics)
    any_regression: dict[str, float]  # method -> share of comparisons flagging any regression
    any_flag: dict[str, float]  # method -> share flagging any change at all
    coverage: float  # nominal Tango intervals holding the true change 0


def run_comparison_study(
    *, groups: int, n: int, replicates: int, seed: int, disagreement: float = 0.05
) -> ComparisonStudy:
    """Compare ``replicates`` pairs of versions with no true change, adjusted and not."""
    rng = np.random.default_rng([seed, groups, n])
    blocks = no_change_cells(
        groups=groups, n=n, replicates=replicates, disagreement=disagreement, rng=rng
    )
    regression, flagged, coverage, size = {}, {}, float("nan"), 0
    for method in ("none", "auto"):
        results = [
            compare_versions(block, min_group_size=0, multiple_testing=method) for block in blocks
        ]
        regression[method] = float(np.mean([(r["change"] == "regression").any() for r in results]))
        flagged[method] = float(np.mean([r["change"].isin(FLAGS).any() for r in results]))
        size = len(results[0])
        if method == "none":
            everything = pd.concat(results, ignore_index=True)
            held = (everything["ci_lower"] <= 0) & (everything["ci_upper"] >= 0)
            coverage = float(held.mean())
    return ComparisonStudy(
        groups=groups,
        n=n,
        replicates=replicates,
        comparisons=size,
        any_regression=regression,
        any_flag=flagged,
        coverage=coverage,
    )
