"""Empirical coverage of the nominal 95 % intervals the pipeline reports, from known truth.

Each test draws many independent datasets (as confusion cells: a multinomial draw of a group's
cells has exactly the distribution of the cells of that many i.i.d. rows) from fixed true rates,
runs the functions the pipeline runs on each, and counts how often the interval holds the true
value. Replicates are packed into one call (one group or one dimension per dataset), which
changes nothing: every group and dimension draws its bootstrap from its own seeded stream.
The numbers are quoted in docs/statistics.md.
"""

import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.fairness import fairness_metrics_from_slices
from rai_pipeline.core.metrics import slice_metrics_from_stats

# Cell probabilities (tp, fp, tn, fn) from prevalence, TPR and FPR.
PREVALENCE = 0.3


def cells(tpr, fpr, prevalence=PREVALENCE):
    return [
        prevalence * tpr,
        (1 - prevalence) * fpr,
        (1 - prevalence) * (1 - fpr),
        prevalence * (1 - tpr),
    ]


GROUP_A = {"n": 600, "tpr": 0.8, "fpr": 0.1}  # selection rate 0.31
GROUP_B = {"n": 400, "tpr": 0.7, "fpr": 0.3}  # selection rate 0.42
WILSON_TRUTH = {
    "selection_rate": 0.3 * 0.8 + 0.7 * 0.1,
    "true_positive_rate": 0.8,
    "false_positive_rate": 0.1,
    "false_negative_rate": 0.2,
    "precision_score": 0.24 / 0.31,
    "false_discovery_rate": 0.07 / 0.31,
    "false_omission_rate": 0.06 / 0.69,
    "accuracy_score": 0.24 + 0.63,
    "prevalence": 0.3,
}


def stats_frame(draws, dimensions, groups):
    """Slice statistics from (R, 4) cell draws; AUC and Brier columns are placeholders."""
    frame = pd.DataFrame(draws, columns=["tp", "fp", "tn", "fn"])
    frame.insert(0, "group", groups)
    frame.insert(0, "dimension", dimensions)
    frame["n"] = frame[["tp", "fp", "tn", "fn"]].sum(axis=1)
    frame["n_pos"] = frame["tp"] + frame["fn"]
    frame["n_neg"] = frame["fp"] + frame["tn"]
    frame["sum_sq_error"] = 0.0
    frame["auc"] = 0.5
    return frame


def coverage(rows, truth):
    return float(((rows["ci_lower"] <= truth) & (truth <= rows["ci_upper"])).mean())


def test_wilson_intervals_cover_95_percent():
    """20,000 groups of 400 rows: each Wilson rate's interval holds its true value ~95 %."""
    replicates = 20_000
    rng = np.random.default_rng(2024)
    draws = rng.multinomial(400, cells(0.8, 0.1), size=replicates)
    groups = [f"r{i:05d}" for i in range(replicates)]
    stats = stats_frame(draws, ["replicate"] * replicates, groups)
    metrics = slice_metrics_from_stats(stats, min_group_size=0)
    for metric, truth in WILSON_TRUTH.items():
        rows = metrics[metrics["metric"] == metric]
        assert rows["ci_lower"].notna().all()
        assert 0.93 <= coverage(rows, truth) <= 0.97, metric


def test_bootstrap_disparity_intervals_cover_95_percent():
    """1,500 datasets of two groups (600 and 400 rows), the default 1,000 resamples each.

    True selection rates 0.31 and 0.42: ``selection_rate_difference`` of b against the
    reference a is 0.11 and so is ``demographic_parity_difference`` (0.11 is 3.5 standard
    errors from 0, so the absolute value in max - min does not bias it).
    """
    replicates = 1_500
    rng = np.random.default_rng(7)
    dimensions = [f"d{i:04d}" for i in range(replicates)]
    draws_a = rng.multinomial(GROUP_A["n"], cells(GROUP_A["tpr"], GROUP_A["fpr"]), replicates)
    draws_b = rng.multinomial(GROUP_B["n"], cells(GROUP_B["tpr"], GROUP_B["fpr"]), replicates)
    stats = stats_frame(
        np.concatenate([draws_a, draws_b]),
        dimensions * 2,
        ["a"] * replicates + ["b"] * replicates,
    )
    metrics = slice_metrics_from_stats(stats)
    out = fairness_metrics_from_slices(metrics, stats=stats, n_bootstrap=1000, seed=11)
    selection = {
        name: PREVALENCE * group["tpr"] + (1 - PREVALENCE) * group["fpr"]
        for name, group in (("a", GROUP_A), ("b", GROUP_B))
    }
    truth = {
        "selection_rate_difference": selection["b"] - selection["a"],
        "demographic_parity_difference": selection["b"] - selection["a"],
        "true_positive_rate_difference": GROUP_B["tpr"] - GROUP_A["tpr"],
        "false_positive_rate_difference": GROUP_B["fpr"] - GROUP_A["fpr"],
    }
    for metric, value in truth.items():
        rows = out[out["metric"] == metric]
        assert len(rows) == replicates
        assert (rows["reference_group"].dropna() == "a").all()
        assert 0.93 <= coverage(rows, value) <= 0.97, metric


@pytest.mark.parametrize("metric", ["selection_rate", "false_omission_rate"])
def test_wilson_coverage_does_not_depend_on_packing(metric):
    """Packing replicates as groups is only bookkeeping: one group alone gives the same row."""
    rng = np.random.default_rng(3)
    draws = rng.multinomial(400, cells(0.8, 0.1), size=5)
    packed = slice_metrics_from_stats(stats_frame(draws, ["x"] * 5, list("abcde")))
    alone = slice_metrics_from_stats(stats_frame(draws[2:3], ["x"], ["c"]))
    row = packed[(packed["group"] == "c") & (packed["metric"] == metric)].reset_index(drop=True)
    pd.testing.assert_frame_equal(row, alone[alone["metric"] == metric].reset_index(drop=True))
