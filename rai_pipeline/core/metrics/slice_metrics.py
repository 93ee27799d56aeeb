"""Per-slice metrics with Wilson intervals, from the slice engine's sufficient statistics.

Input is the ``stats`` frame of :func:`rai_pipeline.core.engine.statistics.compute_slice_statistics`
(one row per dimension and group with confusion cells, squared-error sum and AUC); output is the
long
``slice_metrics`` table. Nothing here reads rows: every number is a function of those counts,
and each point estimate equals the scikit-learn / fairlearn function of the same name applied
to the group's rows.

Metric names (a contract with reports and dashboards) and their definitions:

==========================  =====================  ===========================
metric                      value                  interval
==========================  =====================  ===========================
``count``                   :math:`n`              none
``selection_rate``          :math:`(tp+fp)/n`      Wilson
``true_positive_rate``      :math:`tp/P`           Wilson
``false_positive_rate``     :math:`fp/N`           Wilson
``false_negative_rate``     :math:`fn/P`           Wilson
``true_negative_rate``      :math:`tn/N`           Wilson
``accuracy_score``          :math:`(tp+tn)/n`      Wilson
``precision_score``         :math:`tp/(tp+fp)`     Wilson
``roc_auc_score``           Mann–Whitney AUC       bootstrap (with histograms)
``brier_score_loss``        :math:`\\sum(s-y)^2/n`  bootstrap (with histograms)
``prevalence``              :math:`P/n`            Wilson
``false_discovery_rate``    :math:`fp/(tp+fp)`     Wilson
``false_omission_rate``     :math:`fn/(fn+tn)`     Wilson
==========================  =====================  ===========================

where :math:`P = tp + fn` and :math:`N = fp + tn`.

Intervals for ``roc_auc_score`` and ``brier_score_loss`` need the label-by-score histograms of
the same rows (:func:`~rai_pipeline.core.engine.statistics.compute_score_histograms`, fine bins
such as
:data:`BOOTSTRAP_BINS`); without them they are NaN. Both are seeded percentile bootstraps on
those counts, which are a resample of the group's rows in distribution:

``roc_auc_score``
    Stratified by label: each replicate draws the positives' bin counts from
    Multinomial(:math:`P`, observed positive bin shares) and the negatives' from
    Multinomial(:math:`N`, negative shares) and computes the Mann–Whitney AUC of the binned
    scores (pairs in one bin count one half). Replicates are shifted by the exact AUC minus
    the binned AUC of the observed counts, so the interval is centred on the exact value;
    what binning loses is only the resampling variability of the within-bin pairs' order.
``brier_score_loss``
    Each replicate draws all (label, bin) cell counts from Multinomial(:math:`n`, observed
    cell shares), as a row resample does, and averages the cells' mean squared errors
    :math:`\\bar e_c = (\\sum s^2 - 2y\\sum s + y\\,n_c) / n_c`, which are exact. What this
    leaves out is the spread of :math:`(s - y)^2` *within* a cell: at most
    :math:`w^2 / n` of the variance for bins of width :math:`w` (:math:`10^{-6} / n` with
    1000 bins on [0, 1]).

``docs/statistics.md`` gives the derivations and measured coverage.

Status of each row: ``undefined`` when the metric's denominator is zero (value NaN; the
scikit-learn functions would return 0 or warn), else ``insufficient_sample`` when a group
(not the overall row) has fewer than ``min_group_size`` rows, ``min_positives`` positives or
``min_negatives`` negatives (values still reported), else ``ok``. ``excluded_by`` names the
rules such a group breaks (``min_positives``, or ``min_group_size, min_negatives``), empty for
the others. ``roc_auc_score`` of a group (or the overall row) with fewer positives or negatives
than the minimums carries no interval: from so few pairs a bootstrap interval would look far
more certain than the value is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.engine.slices import OVERALL_DIMENSION
from rai_pipeline.core.metrics.score_intervals import score_intervals
from rai_pipeline.core.stats.bootstrap import check_bootstrap_options
from rai_pipeline.core.stats.intervals import check_confidence_level, wilson_interval

SLICE_METRIC_COLUMNS = (
    "dimension",
    "group",
    "n",
    "metric",
    "value",
    "ci_lower",
    "ci_upper",
    "status",
    "excluded_by",
)
# The minimum-size rules, in the order ``excluded_by`` names them.
MINIMUM_RULES = ("min_group_size", "min_positives", "min_negatives")
REQUIRED_STATS_COLUMNS = ("dimension", "group", "n", "tp", "fp", "tn", "fn", "sum_sq_error", "auc")
BOOTSTRAP_BINS = 1000

STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_sample"
STATUS_UNDEFINED = "undefined"

MSG_STATS_COLUMNS = "stats is missing required columns {missing}; expected {required}"
MSG_STATS_COUNTS = (
    "stats counts must be non-negative integers with n = tp + fp + tn + fn in every row"
)
MSG_MINIMUM = "{name} must be an int >= 0, got {value!r}"

_Counts = dict[str, npt.NDArray[np.float64]]


# Metric definitions: value numerator / denominator, and whether a Wilson interval applies.
_Term = Callable[[_Counts], npt.NDArray[np.float64]]
_METRICS: tuple[tuple[str, _Term, _Term, bool], ...] = (
    ("count", lambda c: c["n"], lambda c: np.ones_like(c["n"]), False),
    ("selection_rate", lambda c: c["tp"] + c["fp"], lambda c: c["n"], True),
    ("true_positive_rate", lambda c: c["tp"], lambda c: c["tp"] + c["fn"], True),
    ("false_positive_rate", lambda c: c["fp"], lambda c: c["fp"] + c["tn"], True),
    ("false_negative_rate", lambda c: c["fn"], lambda c: c["tp"] + c["fn"], True),
    ("true_negative_rate", lambda c: c["tn"], lambda c: c["fp"] + c["tn"], True),
    ("accuracy_score", lambda c: c["tp"] + c["tn"], lambda c: c["n"], True),
    ("precision_score", lambda c: c["tp"], lambda c: c["tp"] + c["fp"], True),
    (
        "roc_auc_score",
        lambda c: c["auc"],
        lambda c: np.minimum(c["tp"] + c["fn"], c["fp"] + c["tn"]),
        False,
    ),
    ("brier_score_loss", lambda c: c["sum_sq_error"], lambda c: c["n"], False),
    ("prevalence", lambda c: c["tp"] + c["fn"], lambda c: c["n"], True),
    ("false_discovery_rate", lambda c: c["fp"], lambda c: c["tp"] + c["fp"], True),
    ("false_omission_rate", lambda c: c["fn"], lambda c: c["fn"] + c["tn"], True),
)
METRIC_NAMES = tuple(name for name, *_ in _METRICS)
_RATIO_METRICS = frozenset(METRIC_NAMES) - {"count", "roc_auc_score"}
# The binomial rates: successes / trials of the confusion cells, each with a Wilson interval.
RATE_METRICS = tuple(name for name, _, _, wilson in _METRICS if wilson)
_TERMS = {name: (numerator, denominator) for name, numerator, denominator, _ in _METRICS}


def rate_terms(
    cells: Mapping[str, npt.NDArray[np.float64]], metric: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(successes, trials)`` of one of :data:`RATE_METRICS` from confusion cells ``tp``,
    ``fp``, ``tn``, ``fn`` and ``n`` (arrays of any one shape), as the table above defines."""
    numerator, denominator = _TERMS[metric]
    return numerator(dict(cells)), denominator(dict(cells))


def _check_minimum(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(MSG_MINIMUM.format(name=name, value=value))
    return int(value)


def _counts(stats: pd.DataFrame) -> _Counts:
    missing = [column for column in REQUIRED_STATS_COLUMNS if column not in stats.columns]
    if missing:
        raise ValueError(
            MSG_STATS_COLUMNS.format(missing=missing, required=list(REQUIRED_STATS_COLUMNS))
        )
    counts = {
        column: stats[column].to_numpy(dtype=np.float64)
        for column in ("n", "tp", "fp", "tn", "fn", "sum_sq_error", "auc")
    }
    cells = np.stack([counts[column] for column in ("tp", "fp", "tn", "fn")])
    if (
        np.isnan(cells).any()
        or (cells < 0).any()
        or (cells != np.round(cells)).any()
        or (cells.sum(axis=0) != counts["n"]).any()
    ):
        raise ValueError(MSG_STATS_COUNTS)
    return counts


def slice_metrics_from_stats(
    stats: pd.DataFrame,
    *,
    confidence_level: float = 0.95,
    min_group_size: int = 30,
    min_positives: int = 0,
    min_negatives: int = 0,
    histograms: pd.DataFrame | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The long ``slice_metrics`` table: every metric for every slice group, with intervals.

    Parameters
    ----------
    stats : pandas.DataFrame
        Output of :func:`~rai_pipeline.core.engine.statistics.compute_slice_stats` (at least the
        columns
        :data:`REQUIRED_STATS_COLUMNS`; extra columns are ignored).
    confidence_level : float, default 0.95
        Coverage of the Wilson and bootstrap intervals.
    min_group_size, min_positives, min_negatives : int, default 30, 0, 0
        A group (not the overall row) below any of these is ``insufficient_sample``; its
        values are still reported.
    histograms : pandas.DataFrame, optional
        Label-by-score histograms of the same rows and slices
        (:func:`~rai_pipeline.core.engine.statistics.compute_score_histograms`, at least the columns
        :data:`REQUIRED_HISTOGRAM_COLUMNS`), preferably with fine bins
        (:data:`BOOTSTRAP_BINS`). When given, ``roc_auc_score`` and ``brier_score_loss`` get
        bootstrap intervals (module docstring); when omitted those intervals are NaN.
    n_bootstrap : int, default 1000
        Bootstrap replicates for the AUC and Brier intervals (unused without histograms).
    seed : int, default 0
        Seed of the bootstrap; each (metric, dimension, group) draws from its own stream
        (:func:`bootstrap_rng`), so the same inputs and seed give an identical frame.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SLICE_METRIC_COLUMNS`; for each row of ``stats`` in order, one row per
        metric of :data:`METRIC_NAMES` in that order. ``ci_lower``/``ci_upper`` are NaN for
        ``count``, for undefined values, and for ``roc_auc_score`` and ``brier_score_loss``
        without histograms.

    Raises
    ------
    ValueError
        Missing columns (:data:`MSG_STATS_COLUMNS`, :data:`MSG_HISTOGRAM_COLUMNS`),
        inconsistent counts (:data:`MSG_STATS_COUNTS`, :data:`MSG_HISTOGRAM_CELLS`),
        histograms of other groups or rows (:data:`MSG_HISTOGRAM_GROUPS`,
        :data:`MSG_HISTOGRAM_COUNTS`), a bad minimum (:data:`MSG_MINIMUM`), confidence level
        (:data:`MSG_CONFIDENCE_LEVEL`), ``n_bootstrap`` (:data:`MSG_N_BOOTSTRAP`) or ``seed``
        (:data:`MSG_SEED`).

    Examples
    --------
    >>> stats = pd.DataFrame({"dimension": ["overall"], "group": ["all"], "n": [10],
    ...     "n_pos": [5], "n_neg": [5], "tp": [4], "fp": [1], "tn": [4], "fn": [1],
    ...     "sum_sq_error": [1.5], "auc": [0.9]})
    >>> m = slice_metrics_from_stats(stats).set_index("metric")
    >>> float(m.loc["true_positive_rate", "value"]), m.loc["true_positive_rate", "status"]
    (0.8, 'ok')
    >>> float(m.loc["false_discovery_rate", "value"])
    0.2
    """
    level = check_confidence_level(confidence_level)
    minimums = {
        "min_group_size": _check_minimum("min_group_size", min_group_size),
        "min_positives": _check_minimum("min_positives", min_positives),
        "min_negatives": _check_minimum("min_negatives", min_negatives),
    }
    n_bootstrap, seed = check_bootstrap_options(n_bootstrap, seed)
    counts = _counts(stats)
    bootstrapped = (
        score_intervals(
            stats,
            histograms,
            counts,
            confidence_level=level,
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
        if histograms is not None
        else {}
    )
    positives, negatives = counts["tp"] + counts["fn"], counts["fp"] + counts["tn"]
    overall = (stats["dimension"] == OVERALL_DIMENSION).to_numpy()
    few_classes = (positives < minimums["min_positives"]) | (negatives < minimums["min_negatives"])
    broken = {
        "min_group_size": ~overall & (counts["n"] < minimums["min_group_size"]),
        "min_positives": ~overall & (positives < minimums["min_positives"]),
        "min_negatives": ~overall & (negatives < minimums["min_negatives"]),
    }
    small = broken["min_group_size"] | broken["min_positives"] | broken["min_negatives"]
    excluded_by = np.array(
        [", ".join(rule for rule in MINIMUM_RULES if broken[rule][i]) for i in range(len(stats))],
        dtype=object,
    )
    n_groups, n_metrics = len(stats), len(_METRICS)
    values = np.empty((n_groups, n_metrics))
    lower = np.full((n_groups, n_metrics), np.nan)
    upper = np.full((n_groups, n_metrics), np.nan)
    status = np.empty((n_groups, n_metrics), dtype=object)
    for j, (name, numerator, denominator, interval) in enumerate(_METRICS):
        num, den = numerator(counts), denominator(counts)
        undefined = den == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            value = num / den if name in _RATIO_METRICS else num
        values[:, j] = np.where(undefined, np.nan, value)
        if interval:
            low, high = wilson_interval(num, den, confidence_level=level)
            lower[:, j], upper[:, j] = low, high
        elif name in bootstrapped:
            low, high = bootstrapped[name]
            blank = undefined | (few_classes if name == "roc_auc_score" else False)
            lower[:, j] = np.where(blank, np.nan, low)
            upper[:, j] = np.where(blank, np.nan, high)
        status[:, j] = np.where(
            undefined, STATUS_UNDEFINED, np.where(small, STATUS_INSUFFICIENT, STATUS_OK)
        )
    return pd.DataFrame(
        {
            "dimension": np.repeat(stats["dimension"].to_numpy(dtype=object), n_metrics),
            "group": np.repeat(stats["group"].to_numpy(dtype=object), n_metrics),
            "n": np.repeat(counts["n"].astype(np.int64), n_metrics),
            "metric": np.tile(np.array(METRIC_NAMES, dtype=object), n_groups),
            "value": values.ravel(),
            "ci_lower": lower.ravel(),
            "ci_upper": upper.ravel(),
            "status": status.ravel(),
            "excluded_by": np.repeat(excluded_by, n_metrics),
        }
    )
