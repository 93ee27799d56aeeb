"""Bootstrap intervals of ``roc_auc_score`` and ``brier_score_loss`` per slice group, from the
label-by-score histograms of the same rows (see :mod:`~rai_pipeline.core.metrics.slice_metrics`
for the method and ``docs/statistics.md`` sections 6 and 7 for the derivation)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.metrics.histograms import MSG_COLUMNS, REQUIRED_COLUMNS, dense_histograms
from rai_pipeline.core.stats.bootstrap import bootstrap_rng, percentile_interval
from rai_pipeline.core.stats.score_bootstrap import auc_replicates, binned_auc, brier_replicates

MSG_HISTOGRAM_GROUPS = (
    "histograms and stats describe different groups: {only_histograms} only in histograms, "
    "{only_stats} only in stats"
)
MSG_HISTOGRAM_COUNTS = (
    "histogram counts of {groups} do not add up to the positives and negatives in stats: "
    "histograms and stats must describe the same rows"
)

Counts = dict[str, npt.NDArray[np.float64]]


def _group_histograms(
    stats: pd.DataFrame, histograms: pd.DataFrame
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Counts]]:
    """Per row of ``stats``: (negatives' bin counts, positives' bin counts, score sums)."""
    if "sum_sq_score" not in histograms.columns:
        required = [*REQUIRED_COLUMNS, "sum_sq_score"]
        raise ValueError(MSG_COLUMNS.format(missing=["sum_sq_score"], required=required))
    dense = dense_histograms(histograms)
    assert dense.sums_sq is not None
    keys_stats = list(zip(stats["dimension"].astype(str), stats["group"].astype(str), strict=True))
    position = {key: g for g, key in enumerate(dense.keys)}
    only_hist = sorted(set(position) - set(keys_stats))
    only_stats = sorted(set(keys_stats) - set(position))
    if only_hist or only_stats:
        raise ValueError(
            MSG_HISTOGRAM_GROUPS.format(only_histograms=only_hist, only_stats=only_stats)
        )
    out = []
    for key in keys_stats:
        g = position[key]
        sums = {
            f"{name}_{label}": values[g, label]
            for name, values in (("sum_score", dense.sums), ("sum_sq_score", dense.sums_sq))
            for label in (0, 1)
        }
        out.append((dense.counts[g, 0], dense.counts[g, 1], sums))
    return out


def score_intervals(
    stats: pd.DataFrame,
    histograms: pd.DataFrame,
    counts: Counts,
    *,
    confidence_level: float,
    n_bootstrap: int,
    seed: int,
) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """Bootstrap intervals of ``roc_auc_score`` and ``brier_score_loss`` for each stats row."""
    groups = _group_histograms(stats, histograms)
    size = len(stats)
    auc = (np.full(size, np.nan), np.full(size, np.nan))
    brier = (np.full(size, np.nan), np.full(size, np.nan))
    mismatched = []
    labels = zip(stats["dimension"].astype(str), stats["group"].astype(str), strict=True)
    for i, ((dimension, group), (neg, pos, sums)) in enumerate(zip(labels, groups, strict=True)):
        n_pos, n_neg = (
            int(counts["tp"][i] + counts["fn"][i]),
            int(counts["fp"][i] + counts["tn"][i]),
        )
        if int(pos.sum()) != n_pos or int(neg.sum()) != n_neg:
            mismatched.append((dimension, group))
            continue
        if n_pos > 0 and n_neg > 0 and not np.isnan(counts["auc"][i]):
            rng = bootstrap_rng(seed, "roc_auc_score", dimension, group)
            shift = counts["auc"][i] - binned_auc(pos, neg)
            samples = auc_replicates(pos, neg, rng=rng, n_replicates=n_bootstrap) + shift
            low, high = percentile_interval(samples, confidence_level)
            auc[0][i], auc[1][i] = max(low, 0.0), min(high, 1.0)
        n = n_pos + n_neg
        if n > 0:
            rng = bootstrap_rng(seed, "brier_score_loss", dimension, group)
            squared = (
                sums["sum_sq_score_0"],
                sums["sum_sq_score_1"] - 2 * sums["sum_score_1"] + pos,
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                errors = [
                    np.maximum(sq, 0.0) / cells
                    for sq, cells in zip(squared, (neg, pos), strict=True)
                ]
            observed = float(sum(np.maximum(sq, 0.0).sum() for sq in squared)) / n
            shift = counts["sum_sq_error"][i] / n - observed
            samples = brier_replicates(
                neg, pos, errors[0], errors[1], rng=rng, n_replicates=n_bootstrap
            )
            low, high = percentile_interval(samples + shift, confidence_level)
            brier[0][i], brier[1][i] = max(low, 0.0), high
    if mismatched:
        raise ValueError(MSG_HISTOGRAM_COUNTS.format(groups=mismatched))
    return {"roc_auc_score": auc, "brier_score_loss": brier}
