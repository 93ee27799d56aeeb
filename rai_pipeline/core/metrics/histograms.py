"""Label-by-score histograms as dense arrays: the one check of their shape, and exact coarsening.

Input is the dense histogram of
:func:`~rai_pipeline.core.engine.statistics.compute_score_histograms`
(computed in the warehouse): for every (dimension, group) both labels and the same bins
``0..B-1`` with the same edges. Bin :math:`b` holds the scores :math:`e_b \\le s < e_{b+1}`
(the last bin also :math:`s = e_B`), with the edges of
:func:`~rai_pipeline.core.engine.binning.histogram_edges`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.engine.slices import HISTOGRAM_COLUMNS

# What a histogram must hold; ``sum_sq_score`` only where a within-bin spread is needed.
REQUIRED_COLUMNS = tuple(c for c in HISTOGRAM_COLUMNS if c != "sum_sq_score")
MSG_COLUMNS = "histograms is missing required columns {missing}; expected {required}"
MSG_EMPTY = "histograms has no rows: there is nothing to draw"
MSG_SHAPE = (
    "histograms must be dense: for every (dimension, group) both labels 0 and 1 and bins "
    "0..B-1 with the same edges, and non-negative integer counts"
)
MSG_COARSE_BINS = "bins must be an int >= 1 that divides the histograms' {bins} bins, got {value!r}"


@dataclass(frozen=True)
class DenseHistograms:
    """Histograms as arrays: groups in input order, (group, label, bin)."""

    keys: list[tuple[str, str]]
    counts: npt.NDArray[np.int64]  # (G, 2, B)
    sums: npt.NDArray[np.float64]  # (G, 2, B)
    sums_sq: npt.NDArray[np.float64] | None  # (G, 2, B) when sum_sq_score is present
    edges: npt.NDArray[np.float64]  # (B + 1,)


def dense_histograms(histograms: pd.DataFrame) -> DenseHistograms:
    missing = [c for c in REQUIRED_COLUMNS if c not in histograms.columns]
    if missing:
        raise ValueError(MSG_COLUMNS.format(missing=missing, required=list(REQUIRED_COLUMNS)))
    if histograms.empty:
        raise ValueError(MSG_EMPTY)
    dimension_codes, dimensions = pd.factorize(histograms["dimension"].astype(str), sort=False)
    group_codes, groups = pd.factorize(histograms["group"].astype(str), sort=False)
    pair = dimension_codes.astype(np.int64) * len(groups) + group_codes
    codes, uniques = pd.factorize(pair, sort=False)  # groups in order of first appearance
    keys = [(str(dimensions[u // len(groups)]), str(groups[u % len(groups)])) for u in uniques]
    labels, bins = histograms["label"].to_numpy(), histograms["bin"].to_numpy()
    # rows by (group, label, bin), ties in input order (lexsort is stable; last key first)
    try:
        order = np.lexsort((bins, labels, codes))
    except TypeError as error:  # labels or bins that do not compare (text beside numbers)
        raise ValueError(MSG_SHAPE) from error

    def column(name: str, dtype: type | None = None) -> npt.NDArray[Any]:
        return histograms[name].to_numpy(dtype=dtype)[order]

    n_groups, n_rows = len(keys), len(histograms)
    n_bins = n_rows // (2 * n_groups)
    counts = column("n", np.float64)
    expected_bins = np.tile(np.arange(n_bins), 2 * n_groups)
    expected_labels = np.tile(np.repeat([0, 1], n_bins), n_groups)
    if (
        n_bins == 0
        or n_rows != 2 * n_groups * n_bins
        or not np.array_equal(bins[order], expected_bins)
        or not np.array_equal(labels[order], expected_labels)
        or np.isnan(counts).any()
        or (counts < 0).any()
        or (counts != np.round(counts)).any()
    ):
        raise ValueError(MSG_SHAPE)
    lower = column("bin_lower", np.float64).reshape(-1, n_bins)
    upper = column("bin_upper", np.float64).reshape(-1, n_bins)
    if not ((lower == lower[0]).all() and (upper == upper[0]).all()):
        raise ValueError(MSG_SHAPE)
    shape = (n_groups, 2, n_bins)
    sums_sq = (
        column("sum_sq_score", np.float64).reshape(shape)
        if "sum_sq_score" in histograms.columns
        else None
    )
    return DenseHistograms(
        keys=keys,
        counts=counts.astype(np.int64).reshape(shape),
        sums=column("sum_score", np.float64).reshape(shape),
        sums_sq=sums_sq,
        edges=np.append(lower[0], upper[0][-1]),
    )


def coarsen_histograms(histograms: pd.DataFrame, *, bins: int) -> pd.DataFrame:
    """Merge consecutive bins: ``B`` fine bins into ``bins`` coarse ones (``bins`` divides ``B``).

    Counts and sums add up; a coarse bin's edges are its first fine bin's lower edge and its
    last fine bin's upper edge, so it holds exactly the rows of its fine bins. On [0, 1] the
    coarse edges equal those of a direct query with ``bins`` bins.

    Parameters
    ----------
    histograms : pandas.DataFrame
        Dense histograms (:data:`REQUIRED_COLUMNS`, plus ``sum_sq_score`` if present).
    bins : int
        Number of coarse bins.

    Returns
    -------
    pandas.DataFrame
        The same columns as the input's :data:`~rai_pipeline.core.engine.slices.HISTOGRAM_COLUMNS`
        subset, dense, in the same group order.

    Raises
    ------
    ValueError
        Histograms as for :func:`threshold_curves`, or ``bins`` that does not divide the
        number of fine bins (:data:`MSG_COARSE_BINS`).
    """
    dense = dense_histograms(histograms)
    fine = dense.edges.size - 1
    if (
        isinstance(bins, bool)
        or not isinstance(bins, int | np.integer)
        or bins < 1
        or fine % bins != 0
    ):
        raise ValueError(MSG_COARSE_BINS.format(bins=fine, value=bins))
    bins = int(bins)
    factor = fine // bins
    shape = (len(dense.keys), 2, bins, factor)
    edges = dense.edges[::factor]
    n_groups = len(dense.keys)
    columns: dict[str, object] = {
        "dimension": np.repeat([key[0] for key in dense.keys], 2 * bins).astype(object),
        "group": np.repeat([key[1] for key in dense.keys], 2 * bins).astype(object),
        "label": np.tile(np.repeat(np.array([0, 1], dtype=np.int64), bins), n_groups),
        "bin": np.tile(np.arange(bins, dtype=np.int64), 2 * n_groups),
        "bin_lower": np.tile(edges[:-1], 2 * n_groups),
        "bin_upper": np.tile(edges[1:], 2 * n_groups),
        "n": dense.counts.reshape(shape).sum(axis=3).ravel(),
        "sum_score": dense.sums.reshape(shape).sum(axis=3).ravel(),
    }
    if dense.sums_sq is not None:
        columns["sum_sq_score"] = dense.sums_sq.reshape(shape).sum(axis=3).ravel()
    return pd.DataFrame(columns)
