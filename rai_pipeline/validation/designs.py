"""Designs with known truth: groups of a classifier's confusion cells, and their true disparities.

A group is given by its prevalence, true positive rate and false positive rate; its cells
``(tp, fp, tn, fn)`` are then a multinomial draw whose distribution is exactly that of the
cells of that many i.i.d. rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rai_pipeline.core.metrics.aggregates import AGGREGATES
from rai_pipeline.core.metrics.pairwise import DIFFERENCE
from rai_pipeline.core.metrics.policy import FairnessPolicy

EDGE_TOLERANCE = 1e-9
INSIDE, EDGE, OUTSIDE = "inside", "edge", "outside"


@dataclass(frozen=True)
class Group:
    """True rates of one group."""

    prevalence: float
    tpr: float
    fpr: float

    def cell_probabilities(self) -> list[float]:
        """Probabilities of (tp, fp, tn, fn) for one row."""
        p, tpr, fpr = self.prevalence, self.tpr, self.fpr
        return [p * tpr, (1 - p) * fpr, (1 - p) * (1 - fpr), p * (1 - tpr)]

    def rates(self) -> dict[str, float]:
        """Every rate of ``PER_GROUP_RATES`` in the population."""
        tp, fp, tn, fn = self.cell_probabilities()
        return {
            "selection_rate": tp + fp,
            "true_positive_rate": self.tpr,
            "false_positive_rate": self.fpr,
            "false_negative_rate": 1 - self.tpr,
            "false_discovery_rate": fp / (tp + fp),
            "false_omission_rate": fn / (fn + tn),
            "precision_score": tp / (tp + fp),
            "prevalence": self.prevalence,
        }


@dataclass(frozen=True)
class Design:
    """Groups ``g0, g1, ...`` with known rates, each of ``n`` rows in every data set."""

    name: str
    description: str
    groups: tuple[Group, ...]

    @property
    def names(self) -> list[str]:
        return [f"g{k}" for k in range(len(self.groups))]

    def stats(self, n: int, replicates: int, rng: np.random.Generator) -> pd.DataFrame:
        """Slice statistics of ``replicates`` data sets, one dimension ``d00000, ...`` each."""
        frames = []
        dimensions = np.array([f"d{i:05d}" for i in range(replicates)], dtype=object)
        for name, group in zip(self.names, self.groups, strict=True):
            cells = rng.multinomial(n, group.cell_probabilities(), size=replicates)
            frame = pd.DataFrame(cells, columns=["tp", "fp", "tn", "fn"])
            frame.insert(0, "group", name)
            frame.insert(0, "dimension", dimensions)
            frames.append(frame)
        stats = pd.concat(frames, ignore_index=True)
        stats["n"] = stats[["tp", "fp", "tn", "fn"]].sum(axis=1)
        stats["n_pos"] = stats["tp"] + stats["fn"]
        stats["n_neg"] = stats["fp"] + stats["tn"]
        stats["sum_sq_error"] = 0.0
        stats["auc"] = 0.5
        return stats.sort_values(["dimension", "group"], kind="stable").reset_index(drop=True)

    def true_rate(self, group: str, rate: str) -> float:
        return self.groups[self.names.index(group)].rates()[rate]

    def true_aggregate(self, metric: str, groups: list[str]) -> float:
        """The aggregate disparity of the true rates of ``groups`` (fairlearn's semantics)."""
        rates, kind = next((r, k) for name, r, k in AGGREGATES if name == metric)
        parts = []
        for rate in rates:
            values = [self.true_rate(g, rate) for g in groups]
            high, low = max(values), min(values)
            if kind == DIFFERENCE:
                parts.append(high - low)
            else:
                parts.append(float("nan") if high == 0 else low / high)
        return max(parts) if kind == DIFFERENCE else min(parts)


def position(value: float, kind: str, band: tuple[float, float]) -> str:
    """Whether a true aggregate lies inside its band, on its edge, or outside. An aggregate
    difference is at least 0 and a ratio (min / max) at most 1, so only the band's upper edge
    (differences) or lower edge (ratios) can be crossed."""
    edge = band[1] if kind == DIFFERENCE else band[0]
    if abs(value - edge) <= EDGE_TOLERANCE:
        return EDGE
    within = value < edge if kind == DIFFERENCE else value > edge
    return INSIDE if within else OUTSIDE


BASE = Group(prevalence=0.4, tpr=0.7, fpr=0.2)
DESIGNS = {
    "identical": Design(
        "identical", "three groups drawn from one population (every disparity 0)", (BASE,) * 3
    ),
    "distinct": Design(
        "distinct",
        "three groups with TPR 0.6 / 0.7 / 0.8 and FPR 0.15 / 0.2 / 0.3",
        (Group(0.4, 0.6, 0.15), BASE, Group(0.4, 0.8, 0.3)),
    ),
    "tied_minimum": Design(
        "tied_minimum",
        "two groups tied at the lowest rates (TPR 0.6, FPR 0.15), one at TPR 0.8, FPR 0.3",
        (Group(0.4, 0.6, 0.15), Group(0.4, 0.6, 0.15), Group(0.4, 0.8, 0.3)),
    ),
    "band_edge": Design(
        "band_edge",
        "two groups with every rate 0.4 and 0.5: each disparity exactly on its band edge "
        "(difference 0.1, ratio 0.8)",
        (Group(0.5, 0.4, 0.4), Group(0.5, 0.5, 0.5)),
    ),
    "far_apart": Design(
        "far_apart",
        "two groups with selection 0.30 / 0.50, TPR 0.6 / 0.8, FPR 0.1 / 0.3: every disparity "
        "well outside its band",
        (Group(0.4, 0.6, 0.1), Group(0.4, 0.8, 0.3)),
    ),
}
POLICY = FairnessPolicy()
