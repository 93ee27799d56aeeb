"""Coverage of the rate and disparity intervals, and the error rates of the verdicts.

Every simulated data set is one dimension of one call (``aggregate_family="dimension"``), which
is exactly an evaluation with that one dimension: its five aggregate rows form the gate's
family and its per-group rows the per-group family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rai_pipeline.core.metrics.aggregates import AGGREGATES
from rai_pipeline.core.metrics.fairness import fairness_metrics_from_slices
from rai_pipeline.core.metrics.group_rates import PER_GROUP_RATES
from rai_pipeline.core.metrics.pairwise import DIFFERENCE
from rai_pipeline.core.metrics.slice_metrics import slice_metrics_from_stats
from rai_pipeline.core.metrics.verdicts import (
    AGGREGATE_GROUP,
    EXCLUDED_GROUPS,
    EXCLUDED_SEPARATOR,
    VERDICT_FAIL,
    VERDICT_PASS,
)
from rai_pipeline.validation.designs import EDGE, INSIDE, OUTSIDE, POLICY, Design, position

AGGREGATE_NAMES = tuple(name for name, *_ in AGGREGATES)
KINDS = {name: kind for name, _, kind in AGGREGATES}


@dataclass(frozen=True)
class DisparityStudy:
    """What one design at one group size showed over ``replicates`` data sets."""

    design: str
    n: int
    replicates: int
    rate_coverage: dict[str, float]  # Wilson interval of each rate, pooled over groups
    comparison_coverage: dict[str, float]  # per-group rows, "<rate>_<kind>"
    aggregate_coverage: dict[str, float]
    truth: dict[str, str]  # aggregate -> inside / edge / outside (all groups compared)
    verdicts: dict[str, dict[str, float]]  # aggregate -> verdict -> share (default settings)
    any_fail: float  # share of evaluations with at least one aggregate `fail`
    any_wrong: float  # share with a verdict the truth contradicts
    excluded: float  # share of evaluations with an excluded group


def _covered(rows: pd.DataFrame, truth: np.ndarray) -> float:
    with np.errstate(invalid="ignore"):
        held = (rows["ci_lower"].to_numpy() <= truth) & (truth <= rows["ci_upper"].to_numpy())
    return float(held.mean()) if len(rows) else float("nan")


def _aggregate_truth(design: Design, rows: pd.DataFrame) -> np.ndarray:
    """The true aggregate over the groups each row compared."""
    out = np.empty(len(rows))
    for k, (metric, excluded) in enumerate(
        zip(rows["metric"], rows["groups_excluded"], strict=True)
    ):
        left_out = set(excluded.split(EXCLUDED_SEPARATOR)) if excluded else set()
        groups = [g for g in design.names if g not in left_out]
        out[k] = design.true_aggregate(metric, groups) if len(groups) >= 2 else np.nan
    return out


def run_disparity_study(design: Design, *, n: int, replicates: int, seed: int) -> DisparityStudy:
    """Draw ``replicates`` data sets of ``design`` with ``n`` rows per group and measure."""
    rng = np.random.default_rng([seed, n, len(design.groups)])
    stats = design.stats(n, replicates, rng)
    metrics = slice_metrics_from_stats(stats)
    rate_coverage = {}
    for rate in PER_GROUP_RATES:
        rows = metrics[metrics["metric"] == rate]
        truth = np.array([design.true_rate(g, rate) for g in rows["group"]])
        rate_coverage[rate] = _covered(rows, truth)
    nominal = fairness_metrics_from_slices(
        metrics, stats=stats, policy=POLICY, multiple_testing="none", aggregate_family="dimension"
    )
    default = fairness_metrics_from_slices(
        metrics, stats=stats, policy=POLICY, aggregate_family="dimension"
    )
    per_group = nominal[(nominal["group"] != AGGREGATE_GROUP) & (nominal["groups_compared"] == 2)]
    comparison_coverage = {}
    for metric, rows in per_group.groupby("metric", sort=True):
        rate, kind = str(metric).rsplit("_", 1)
        mine = np.array([design.true_rate(g, rate) for g in rows["group"]])
        theirs = np.array([design.true_rate(g, rate) for g in rows["reference_group"]])
        with np.errstate(divide="ignore", invalid="ignore"):
            truth = mine - theirs if kind == DIFFERENCE else mine / theirs
        comparison_coverage[str(metric)] = _covered(rows, truth)
    aggregate_coverage, verdicts, truth_of = {}, {}, {}
    for name in AGGREGATE_NAMES:
        rows = nominal[(nominal["metric"] == name) & (nominal["comparisons"] > 0)]
        aggregate_coverage[name] = _covered(rows, _aggregate_truth(design, rows))
        decided = default[default["metric"] == name]
        shares = decided["verdict"].value_counts(normalize=True)
        verdicts[name] = {verdict: float(shares.get(verdict, 0.0)) for verdict in shares.index}
        band = POLICY.band(KINDS[name], aggregate=True)
        truth_of[name] = position(design.true_aggregate(name, design.names), KINDS[name], band)
    aggregates = default[
        (default["group"] == AGGREGATE_GROUP) & (default["metric"] != EXCLUDED_GROUPS)
    ]
    truth = aggregates["metric"].map(truth_of)
    wrong = ((aggregates["verdict"] == VERDICT_FAIL) & truth.isin([INSIDE, EDGE])) | (
        (aggregates["verdict"] == VERDICT_PASS) & truth.isin([OUTSIDE, EDGE])
    )
    excluded = default[default["metric"] == EXCLUDED_GROUPS]
    return DisparityStudy(
        design=design.name,
        n=n,
        replicates=replicates,
        rate_coverage=rate_coverage,
        comparison_coverage=comparison_coverage,
        aggregate_coverage=aggregate_coverage,
        truth=truth_of,
        verdicts=verdicts,
        any_fail=float(
            (aggregates["verdict"] == VERDICT_FAIL).groupby(aggregates["dimension"]).any().mean()
        ),
        any_wrong=float(wrong.groupby(aggregates["dimension"]).any().mean()),
        excluded=float((excluded["value"] > 0).mean()),
    )
