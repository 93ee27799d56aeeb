"""Threshold sensitivity per slice group, and the dense histograms it and calibration read.

Input is the dense label-by-score histogram of
:func:`rai_pipeline.core.statistics.compute_score_histograms` (computed in the warehouse); nothing
here reads rows. Bin :math:`b` holds the scores :math:`e_b \\le s < e_{b+1}` (the last bin also
:math:`s = e_B`), with the edges of :func:`~rai_pipeline.core.slices.histogram_edges`.
:func:`dense_histograms` checks and reshapes them; :func:`coarsen_histograms` merges fine
bins into coarse ones exactly.

Threshold sensitivity
    For a threshold at an edge :math:`t = e_k` the decision :math:`s \\ge t` selects exactly
    bins :math:`k, \\dots, B - 1`, so with :math:`pos_b, neg_b` the bin counts

    .. math:: tp(t) = \\sum_{b \\ge k} pos_b, \\quad fp(t) = \\sum_{b \\ge k} neg_b,
              \\quad fn = P - tp, \\quad tn = N - fp

    are the exact confusion cells of that decision, and selection rate, TPR, FPR and precision
    follow. A threshold between two edges cannot be evaluated exactly from the histogram and
    is rejected: choose the histogram's bins so the thresholds of interest are edges (1000
    bins on [0, 1] give every multiple of 0.001).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.stats.rates import ratio_of

THRESHOLD_CURVE_COLUMNS = (
    "dimension",
    "group",
    "threshold",
    "n",
    "tp",
    "fp",
    "tn",
    "fn",
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision_score",
)
REQUIRED_COLUMNS = (
    "dimension",
    "group",
    "label",
    "bin",
    "bin_lower",
    "bin_upper",
    "n",
    "sum_score",
)

MSG_COLUMNS = "histograms is missing required columns {missing}; expected {required}"
MSG_EMPTY = "histograms has no rows: there is nothing to draw"
MSG_SHAPE = (
    "histograms must be dense: for every (dimension, group) both labels 0 and 1 and bins "
    "0..B-1 with the same edges, and non-negative integer counts"
)
MSG_THRESHOLDS = (
    "thresholds {values} are not lower bin edges of the histograms (bin_lower values, from "
    "{first} to {last}): a threshold between edges cannot be evaluated exactly"
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
    frame = histograms.reset_index(drop=True)
    keys = list(
        dict.fromkeys(zip(frame["dimension"].astype(str), frame["group"].astype(str), strict=True))
    )
    order = {key: i for i, key in enumerate(keys)}
    frame = frame.assign(
        _key=[
            order[key]
            for key in zip(frame["dimension"].astype(str), frame["group"].astype(str), strict=True)
        ]
    ).sort_values(["_key", "label", "bin"], kind="stable")
    n_groups, n_rows = len(keys), len(frame)
    n_bins = n_rows // (2 * n_groups)
    counts = frame["n"].to_numpy(dtype=np.float64)
    expected_bins = np.tile(np.arange(n_bins), 2 * n_groups)
    expected_labels = np.tile(np.repeat([0, 1], n_bins), n_groups)
    if (
        n_bins == 0
        or n_rows != 2 * n_groups * n_bins
        or not np.array_equal(frame["bin"].to_numpy(), expected_bins)
        or not np.array_equal(frame["label"].to_numpy(), expected_labels)
        or np.isnan(counts).any()
        or (counts < 0).any()
        or (counts != np.round(counts)).any()
    ):
        raise ValueError(MSG_SHAPE)
    lower = frame["bin_lower"].to_numpy(dtype=np.float64).reshape(-1, n_bins)
    upper = frame["bin_upper"].to_numpy(dtype=np.float64).reshape(-1, n_bins)
    if not ((lower == lower[0]).all() and (upper == upper[0]).all()):
        raise ValueError(MSG_SHAPE)
    shape = (n_groups, 2, n_bins)
    sums_sq = (
        frame["sum_sq_score"].to_numpy(dtype=np.float64).reshape(shape)
        if "sum_sq_score" in frame.columns
        else None
    )
    return DenseHistograms(
        keys=keys,
        counts=counts.astype(np.int64).reshape(shape),
        sums=frame["sum_score"].to_numpy(dtype=np.float64).reshape(shape),
        sums_sq=sums_sq,
        edges=np.append(lower[0], upper[0][-1]),
    )


def threshold_curves(
    histograms: pd.DataFrame, *, thresholds: Sequence[float] | None = None
) -> pd.DataFrame:
    """Confusion cells and rates of the decision ``score >= threshold`` over a threshold grid.

    Parameters
    ----------
    histograms : pandas.DataFrame
        Dense histograms from :func:`~rai_pipeline.core.statistics.compute_score_histograms`
        (columns :data:`REQUIRED_COLUMNS`).
    thresholds : sequence of float, optional
        Thresholds, each a lower bin edge (a ``bin_lower`` value); by default every one.
        Sorted and de-duplicated in the output.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`THRESHOLD_CURVE_COLUMNS`: groups in the histograms' order, thresholds
        ascending. Counts are int64; a rate is NaN where its denominator is 0 (precision when
        nothing is selected, TPR without positives, FPR without negatives).

    Raises
    ------
    ValueError
        Missing columns (:data:`MSG_COLUMNS`), no rows (:data:`MSG_EMPTY`), histograms that
        are not dense (:data:`MSG_SHAPE`), or thresholds that are not edges
        (:data:`MSG_THRESHOLDS`).

    Examples
    --------
    >>> hist = pd.DataFrame({"dimension": "overall", "group": "all", "label": [0, 0, 1, 1],
    ...     "bin": [0, 1, 0, 1], "bin_lower": [0.0, 0.5, 0.0, 0.5],
    ...     "bin_upper": [0.5, 1.0, 0.5, 1.0], "n": [3, 1, 1, 3],
    ...     "sum_score": [0.6, 0.7, 0.4, 2.4]})
    >>> curve = threshold_curves(hist, thresholds=[0.5])
    >>> curve[["threshold", "tp", "fp", "tn", "fn"]].values.tolist()
    [[0.5, 3.0, 1.0, 3.0, 1.0]]
    """
    dense = dense_histograms(histograms)
    lower_edges = dense.edges[:-1]
    if thresholds is None:
        chosen = np.arange(lower_edges.size)
    else:
        values = np.unique(np.asarray(list(thresholds), dtype=np.float64))
        position = np.searchsorted(lower_edges, values)
        inside = position < lower_edges.size
        exact = np.zeros(values.size, dtype=bool)
        exact[inside] = lower_edges[position[inside]] == values[inside]
        if not exact.all():
            raise ValueError(
                MSG_THRESHOLDS.format(
                    values=values[~exact].tolist(),
                    first=float(lower_edges[0]),
                    last=float(lower_edges[-1]),
                )
            )
        chosen = position
    at_or_above = np.cumsum(dense.counts[:, :, ::-1], axis=2)[:, :, ::-1]  # (G, 2, B)
    tp = at_or_above[:, 1, chosen]
    fp = at_or_above[:, 0, chosen]
    positives = np.broadcast_to(dense.counts[:, 1, :].sum(axis=1, keepdims=True), tp.shape)
    negatives = np.broadcast_to(dense.counts[:, 0, :].sum(axis=1, keepdims=True), tp.shape)
    fn, tn = positives - tp, negatives - fp
    n = positives + negatives
    as_float = {name: a.astype(np.float64) for name, a in {"tp": tp, "fp": fp, "n": n}.items()}
    selected = as_float["tp"] + as_float["fp"]
    n_groups, n_thresholds = tp.shape
    return pd.DataFrame(
        {
            "dimension": np.repeat([key[0] for key in dense.keys], n_thresholds).astype(object),
            "group": np.repeat([key[1] for key in dense.keys], n_thresholds).astype(object),
            "threshold": np.tile(lower_edges[chosen], n_groups),
            "n": n.ravel().astype(np.int64),
            "tp": tp.ravel().astype(np.int64),
            "fp": fp.ravel().astype(np.int64),
            "tn": tn.ravel().astype(np.int64),
            "fn": fn.ravel().astype(np.int64),
            "selection_rate": ratio_of(selected, as_float["n"]).ravel(),
            "true_positive_rate": ratio_of(as_float["tp"], positives.astype(np.float64)).ravel(),
            "false_positive_rate": ratio_of(as_float["fp"], negatives.astype(np.float64)).ravel(),
            "precision_score": ratio_of(as_float["tp"], selected).ravel(),
        }
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
        The same columns as the input's :data:`~rai_pipeline.core.slices.HISTOGRAM_COLUMNS`
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
