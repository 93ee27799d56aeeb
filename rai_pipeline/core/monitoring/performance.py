"""Performance before the labels arrive, and how well that estimate held once they did.

**Estimate.** A request's outcome is unknown for days. Under the *calibration assumption*
(the probability of a positive outcome given the score is the same in production as in the
reference, the deployed version's evaluation data; only the mix of inputs may change), the
outcome of a request with score s is a Bernoulli draw with probability c(s), where c is the
isotonic regression of the reference's labels on its scores (:func:`fit_calibration`). From
those probabilities and the logged decisions:

- the point estimate of a rate is the ratio of expected confusion counts (e.g. the true
  positive rate is Σ c·d / Σ c over the group's requests, d the decision);
- the interval is the central ``confidence_level`` range of the rate over ``draws`` Monte
  Carlo draws of every request's outcome: the range the *realized* rate falls in if the
  assumption holds, which is what the coverage check tests.

The assumption fails under concept drift (the same score no longer means the same outcome);
the share of days whose interval covered the realized value (:func:`estimate_coverage`) is
how the evidence shows whether it held.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"day": ["d"] * 4, "decision": [1, 1, 0, 0], "sex": list("abab")})
>>> out = estimate_performance(rows, np.array([0.9, 0.7, 0.2, 0.4]), ["sex"], draws=200)
>>> row = out[(out.dimension == "overall") & (out.metric == "accuracy_score")].iloc[0]
>>> round(float(row.estimate), 3)  # (0.9 + 0.7 + 0.8 + 0.6) / 4
0.75
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

ESTIMATED_METRICS = (
    "accuracy_score",
    "true_positive_rate",
    "false_positive_rate",
    "precision_score",
)
ESTIMATE_COLUMNS = (
    "day",
    "dimension",
    "group",
    "n",
    "metric",
    "estimate",
    "ci_lower",
    "ci_upper",
    "confidence_level",
    "status",
)
OVERALL, ALL = "overall", "all"
STATUS_OK, STATUS_SMALL = "ok", "insufficient_sample"
DEFAULT_DRAWS = 1000


def fit_calibration(scores: np.ndarray, labels: np.ndarray) -> Any:
    """The reference's calibration map: isotonic regression of label on score, clipped to
    [0, 1] and to the reference's score range."""
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    return model.fit(np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64))


def _rates(tp: Any, fp: Any, fn: Any, tn: Any) -> dict[str, Any]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "accuracy_score": (tp + tn) / (tp + fp + fn + tn),
            "true_positive_rate": tp / (tp + fn),
            "false_positive_rate": fp / (fp + tn),
            "precision_score": tp / (tp + fp),
        }


def _group_estimates(
    p: np.ndarray, decision: np.ndarray, *, draws: int, level: float, rng: np.random.Generator
) -> dict[str, tuple[float, float, float]]:
    d = decision.astype(bool)
    point = _rates(p[d].sum(), (1 - p[d]).sum(), p[~d].sum(), (1 - p[~d]).sum())
    outcomes = rng.random((draws, len(p))) < p
    simulated = _rates(
        (outcomes & d).sum(1),
        (~outcomes & d).sum(1),
        (outcomes & ~d).sum(1),
        (~outcomes & ~d).sum(1),
    )
    tail = (1 - level) / 2
    out = {}
    for metric in ESTIMATED_METRICS:
        values = simulated[metric][np.isfinite(simulated[metric])]
        low, high = np.quantile(values, [tail, 1 - tail]) if len(values) else (np.nan, np.nan)
        out[metric] = (float(point[metric]), float(low), float(high))
    return out


def estimate_performance(
    rows: pd.DataFrame,
    calibrated: np.ndarray,
    dimensions: Sequence[str],
    *,
    confidence_level: float = 0.95,
    min_group_size: int = 30,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> pd.DataFrame:
    """Estimated rates per day, overall and per group of each dimension (module docstring).
    ``rows`` holds ``day``, ``decision`` and the dimensions' group columns; ``calibrated`` the
    calibrated probability of each row."""
    frame = rows.assign(_p=np.asarray(calibrated, dtype=np.float64))
    level = float(confidence_level)
    records = []
    for day_index, (day, part) in enumerate(frame.groupby("day", sort=True)):
        groups = [(OVERALL, ALL, part)] + [
            (dim, str(group), sub) for dim in dimensions for group, sub in part.groupby(dim)
        ]
        for group_index, (dimension, group, sub) in enumerate(groups):
            rng = np.random.default_rng([seed, day_index, group_index])
            estimates = _group_estimates(
                sub["_p"].to_numpy(),
                sub["decision"].to_numpy(),
                draws=draws,
                level=confidence_level,
                rng=rng,
            )
            status = STATUS_OK if len(sub) >= min_group_size else STATUS_SMALL
            for metric, (point, low, high) in estimates.items():
                records.append(
                    (day, dimension, group, len(sub), metric, point, low, high, level, status)
                )
    return pd.DataFrame(records, columns=list(ESTIMATE_COLUMNS))


COVERAGE_COLUMNS = ("metric", "dimension", "group", "compared", "covered", "coverage")


def compare_with_realized(estimates: pd.DataFrame, realized: pd.DataFrame) -> pd.DataFrame:
    """The estimates of the days whose every request has its label, beside the realized
    value (``realized``: day, dimension, group, metric, value, labelled, requests): one row
    per (day, dimension, group, metric) with ``covered`` (the interval holds the value)."""
    keys = ["day", "dimension", "group", "metric"]
    complete = realized[realized["labelled"] == realized["requests"]]
    both = estimates.merge(complete[[*keys, "value"]], on=keys, how="inner")
    both = both[(both["status"] == STATUS_OK) & both["ci_lower"].notna() & both["value"].notna()]
    both["covered"] = (both["ci_lower"] <= both["value"]) & (both["value"] <= both["ci_upper"])
    return both.rename(columns={"value": "realized"}).reset_index(drop=True)


def estimate_coverage(compared: pd.DataFrame) -> pd.DataFrame:
    """Per metric and group: of the days compared, how many had the realized value inside
    the estimate's interval, and the share; rows with ``dimension`` = ``group`` = ``all``
    pool every group's days (group-days) per metric, and for every metric (``metric`` =
    ``all``)."""
    parts = [
        compared.assign(dimension=ALL, group=ALL, metric=ALL),
        compared.assign(dimension=ALL, group=ALL),
        compared,
    ]
    rows = pd.concat(parts, ignore_index=True)
    out = rows.groupby(["metric", "dimension", "group"], as_index=False, sort=True).agg(
        compared=("covered", "size"), covered=("covered", "sum")
    )
    out["coverage"] = out["covered"] / out["compared"]
    return out[list(COVERAGE_COLUMNS)]
