"""Threshold sensitivity per slice group, and the dense histograms it and calibration read.

Input is the dense label-by-score histogram of
:func:`rai_pipeline.core.engine.statistics.compute_score_histograms` (computed in the warehouse);
nothing
here reads rows. Bin :math:`b` holds the scores :math:`e_b \\le s < e_{b+1}` (the last bin also
:math:`s = e_B`), with the edges of :func:`~rai_pipeline.core.engine.binning.histogram_edges`.
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

import numpy as np
import pandas as pd

from rai_pipeline.core.metrics.histograms import dense_histograms
from rai_pipeline.core.metrics.slice_metrics import rate_terms
from rai_pipeline.core.stats.rates import ratio_of

# The rates of each threshold, as the slice metrics define them.
CURVE_RATES = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision_score")
THRESHOLD_CURVE_COLUMNS = (
    "dimension",
    "group",
    "threshold",
    "n",
    "tp",
    "fp",
    "tn",
    "fn",
    *CURVE_RATES,
)

MSG_THRESHOLDS = (
    "thresholds {values} are not lower bin edges of the histograms (bin_lower values, from "
    "{first} to {last}): a threshold between edges cannot be evaluated exactly"
)


def threshold_curves(
    histograms: pd.DataFrame, *, thresholds: Sequence[float] | None = None
) -> pd.DataFrame:
    """Confusion cells and rates of the decision ``score >= threshold`` over a threshold grid.

    Parameters
    ----------
    histograms : pandas.DataFrame
        Dense histograms from :func:`~rai_pipeline.core.engine.statistics.compute_score_histograms`
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
    cells = {
        name: a.astype(np.float64)
        for name, a in {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": n}.items()
    }
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
            **{rate: ratio_of(*rate_terms(cells, rate)).ravel() for rate in CURVE_RATES},
        }
    )
