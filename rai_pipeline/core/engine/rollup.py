"""The one aggregation of the rows and everything rolled up from it.

The rows are grouped once by every sensitive feature, the label, the decision and the score
bin, with a count and fixed-point sums of the score and its square; every slice group is a
union of those finest cells, so the slices are rolled up from that small result in SQL
(``GROUPING SETS``) and the confusion cells, Brier numerators, histograms and binned AUC follow
from it in Python, in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.engine.binning import binning_sql, histogram_edges
from rai_pipeline.core.engine.plan import SlicePlan, finish_rows
from rai_pipeline.core.engine.slices import HISTOGRAM_COLUMNS, SliceSpecError
from rai_pipeline.core.stats.score_bootstrap import twice_u

MIN_SUM_SCALE_BITS = 40
MSG_SCORE_MAGNITUDE = (
    "scores up to {largest!r} over {rows} rows are too large for exact histogram sums: "
    "need rows * max(1, |score|)^2 < 2^85"
)
BIGINT_SUM_MIN_BITS = 36  # below this, per-row fixed-point values are HUGEINT
CELLS = {"tp": (1, 1), "fp": (0, 1), "tn": (0, 0), "fn": (1, 0)}  # (label, decision)


def fixed_point_scale(n_rows: int, largest: float) -> tuple[float, str]:
    """Scale :math:`2^k` and integer type for exact sums of ``s`` and ``s^2`` over ``n_rows``.

    BIGINT per row when :math:`n \\cdot \\max(1, |s|)^2 \\cdot 2^k < 2^{62}` leaves at least
    :data:`BIGINT_SUM_MIN_BITS` bits (a sum within :math:`n \\cdot 2^{-37}` of the real one:
    10^7 rows on [0, 1] get :math:`k = 38`), else HUGEINT with :math:`2^{125}`; BIGINT values
    aggregate about a third faster.
    """
    magnitude = int(np.ceil(np.log2(max(1.0, largest) ** 2)))
    rows = int(np.ceil(np.log2(n_rows + 1)))
    k = 62 - rows - magnitude
    if k >= BIGINT_SUM_MIN_BITS:
        return float(2.0**k), "BIGINT"
    k = 125 - rows - magnitude
    if k < MIN_SUM_SCALE_BITS:
        raise SliceSpecError(MSG_SCORE_MAGNITUDE.format(largest=largest, rows=n_rows))
    return float(2.0**k), "HUGEINT"


def finest_sql(plan: SlicePlan, integer_type: str) -> str:
    """Aggregate the rows by raw feature values, label, decision and bin; label the (few)
    resulting rows' features as groups (two raw values can share a label: NULL and
    ``unknown``, or 1 and '1'), then roll the slices up from them."""
    finest_keys = ", ".join([*plan.aliases, "y", "d", "bin"])
    labeled = ", ".join(f"{plan.group_value(alias)} AS {alias}" for alias in plan.aliases)
    return f"""
WITH frame AS NOT MATERIALIZED ({plan.frame_sql(raw_features=True)}),
{binning_sql()},
finest AS (
    SELECT {finest_keys}, count(*) AS n,
        sum(CAST(s * $sum_scale AS {integer_type})) AS s1,
        sum(CAST(s * s * $sum_scale AS {integer_type})) AS s2
    FROM binned
    GROUP BY {finest_keys}
),
labeled AS (
    SELECT {labeled}{", " if labeled else ""}y, d, bin, n, s1, s2 FROM finest
)
SELECT {plan.slice_columns()}, y AS label, d AS decision, bin, sum(n) AS n,
    CAST(sum(s1) AS DOUBLE) / $sum_scale AS sum_score,
    CAST(sum(s2) AS DOUBLE) / $sum_scale AS sum_sq_score
FROM labeled
GROUP BY {plan.grouping_sets("y", "d", "bin")}
"""


@dataclass(frozen=True)
class Cube:
    """The rolled-up rows as arrays indexed [group, label, decision, bin]; groups sorted by
    slice and label. Every sum below runs over arrays in this fixed order, so the results do
    not depend on the order in which the warehouse returned the rows."""

    slice_index: npt.NDArray[np.int64]
    grp: npt.NDArray[np.object_]
    n: npt.NDArray[np.int64]
    sum_score: npt.NDArray[np.float64]
    sum_sq_score: npt.NDArray[np.float64]

    @classmethod
    def from_rows(cls, rows: pd.DataFrame, *, bins: int) -> Cube:
        codes, labels = pd.factorize(rows["grp"].astype(str), sort=True)
        slice_index = rows["slice_index"].to_numpy(dtype=np.int64)
        key = slice_index * len(labels) + codes
        keys, group = np.unique(key, return_inverse=True)
        index = (
            group,
            rows["label"].to_numpy(dtype=np.int64),
            rows["decision"].to_numpy(dtype=np.int64),
            rows["bin"].to_numpy(dtype=np.int64),
        )
        shape = (len(keys), 2, 2, bins)
        n = np.zeros(shape, dtype=np.int64)
        n[index] = rows["n"].to_numpy(dtype=np.int64)
        sums = []
        for column in ("sum_score", "sum_sq_score"):
            values = np.zeros(shape, dtype=np.float64)
            values[index] = rows[column].to_numpy(dtype=np.float64)
            sums.append(values)
        return cls(
            slice_index=keys // len(labels),
            grp=np.asarray(labels, dtype=object)[keys % len(labels)],
            n=n,
            sum_score=sums[0],
            sum_sq_score=sums[1],
        )

    def cells(self) -> pd.DataFrame:
        """Counts, confusion cells and the Brier numerator per group."""
        per_cell = self.n.sum(axis=3)  # [group, label, decision]
        positives = per_cell[:, 1].sum(axis=1)
        sum_sq = self.sum_sq_score.sum(axis=(1, 2, 3))
        positive_score = self.sum_score[:, 1].sum(axis=(1, 2))
        return pd.DataFrame(
            {
                "slice_index": self.slice_index,
                "grp": self.grp,
                "n": per_cell.sum(axis=(1, 2)),
                "n_pos": positives,
                "n_neg": per_cell[:, 0].sum(axis=1),
                **{cell: per_cell[:, y, d] for cell, (y, d) in CELLS.items()},
                "sum_sq_error": np.maximum(sum_sq - 2.0 * positive_score + positives, 0.0),
            }
        )

    def histograms(self, plan: SlicePlan, *, score_range: tuple[float, float]) -> pd.DataFrame:
        """:data:`~rai_pipeline.core.engine.slices.HISTOGRAM_COLUMNS`, dense."""
        groups, _, _, bins = self.n.shape
        edges = histogram_edges(score_range, bins)
        repeat = 2 * bins
        frame = pd.DataFrame(
            {
                "slice_index": np.repeat(self.slice_index, repeat),
                "grp": np.repeat(self.grp, repeat),
                "label": np.tile(np.repeat(np.array([0, 1], dtype=np.int64), bins), groups),
                "bin": np.tile(np.arange(bins, dtype=np.int64), 2 * groups),
                "n": self.n.sum(axis=2).ravel(),
                "sum_score": self.sum_score.sum(axis=2).ravel(),
                "sum_sq_score": self.sum_sq_score.sum(axis=2).ravel(),
                "bin_lower": np.tile(edges[:-1], 2 * groups),
                "bin_upper": np.tile(edges[1:], 2 * groups),
            }
        )
        return finish_rows(frame, plan, HISTOGRAM_COLUMNS, ["grp", "label", "bin"], presorted=True)

    def binned_auc(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The Mann–Whitney :math:`2U` of the bin indices and the error bound, per group."""
        counts = self.n.sum(axis=2)
        neg, pos = counts[:, 0, :], counts[:, 1, :]
        ties = np.sum(pos * neg, axis=1)
        pairs = 2.0 * pos.sum(axis=1).astype(np.float64) * neg.sum(axis=1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return twice_u(pos, neg), ties / pairs
