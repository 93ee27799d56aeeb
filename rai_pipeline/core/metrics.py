"""Per-slice metrics with Wilson intervals, from the slice engine's sufficient statistics.

Input is the frame returned by :func:`rai_pipeline.core.slices.compute_slice_stats` (one row per
dimension and group with confusion cells, squared-error sum and AUC); output is the long
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
``roc_auc_score``           Mann–Whitney AUC       none (NaN)
``brier_score_loss``        :math:`\\sum(s-y)^2/n`  none (NaN)
``prevalence``              :math:`P/n`            Wilson
==========================  =====================  ===========================

where :math:`P = tp + fn` and :math:`N = fp + tn`.

Status of each row: ``undefined`` when the metric's denominator is zero (value NaN; the
scikit-learn functions would return 0 or warn), else ``insufficient_sample`` when a group
(not the overall row) has fewer than ``min_group_size`` rows, ``min_positives`` positives or
``min_negatives`` negatives (values still reported), else ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.slices import OVERALL_DIMENSION

SLICE_METRIC_COLUMNS = (
    "dimension",
    "group",
    "n",
    "metric",
    "value",
    "ci_lower",
    "ci_upper",
    "status",
)
REQUIRED_STATS_COLUMNS = ("dimension", "group", "n", "tp", "fp", "tn", "fn", "sum_sq_error", "auc")

STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_sample"
STATUS_UNDEFINED = "undefined"

MSG_CONFIDENCE_LEVEL = "confidence_level must be a number strictly between 0 and 1, got {value!r}"
MSG_WILSON_COUNTS = (
    "wilson_interval needs 0 <= successes <= trials for every element "
    "(NaN allowed only where trials is 0)"
)
MSG_STATS_COLUMNS = "stats is missing required columns {missing}; expected {required}"
MSG_STATS_COUNTS = (
    "stats counts must be non-negative integers with n = tp + fp + tn + fn in every row"
)
MSG_MINIMUM = "{name} must be an int >= 0, got {value!r}"

_Counts = dict[str, npt.NDArray[np.float64]]


def check_confidence_level(confidence_level: float) -> float:
    """Return ``confidence_level`` as a float, or raise if it is not in (0, 1)."""
    valid = isinstance(confidence_level, int | float) and not isinstance(confidence_level, bool)
    if not valid or not 0 < confidence_level < 1:
        raise ValueError(MSG_CONFIDENCE_LEVEL.format(value=confidence_level))
    return float(confidence_level)


def wilson_interval(
    successes: npt.ArrayLike,
    trials: npt.ArrayLike,
    *,
    confidence_level: float = 0.95,
) -> tuple[np.ndarray | float, np.ndarray | float]:
    r"""Wilson score interval for a binomial proportion, element-wise.

    With :math:`\hat p = x / n` and :math:`z = \Phi^{-1}(1 - \alpha / 2)` for
    :math:`\alpha = 1 - \text{confidence\_level}`:

    .. math::

        \frac{\hat p + \frac{z^2}{2n}}{1 + \frac{z^2}{n}}
        \pm \frac{z}{1 + \frac{z^2}{n}} \sqrt{\frac{\hat p (1 - \hat p)}{n} + \frac{z^2}{4n^2}}

    It stays inside :math:`[0, 1]` and keeps close to nominal coverage for small :math:`n`
    and for :math:`\hat p` near 0 or 1, where the normal (Wald) interval fails.

    Parameters
    ----------
    successes : array_like
        Counts :math:`x`, with :math:`0 \le x \le n`.
    trials : array_like
        Counts :math:`n \ge 0`, broadcastable against ``successes``.
    confidence_level : float, default 0.95
        Two-sided coverage, strictly between 0 and 1.

    Returns
    -------
    lower, upper : numpy.ndarray or float
        Bounds, NaN where ``trials == 0``; floats when both inputs are scalars.

    Raises
    ------
    ValueError
        ``confidence_level`` outside (0, 1) (:data:`MSG_CONFIDENCE_LEVEL`), or counts that
        break :math:`0 \le x \le n` (:data:`MSG_WILSON_COUNTS`).

    Examples
    --------
    >>> lower, upper = wilson_interval(8, 10)
    >>> round(lower, 4), round(upper, 4)
    (0.4902, 0.9433)
    """
    level = check_confidence_level(confidence_level)
    x, n = np.broadcast_arrays(
        np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    )
    empty = n == 0
    if (
        np.any(np.isnan(n))
        or np.any(n < 0)
        or np.any(np.isnan(x) & ~empty)
        or np.any((x < 0) | (x > n))
    ):
        raise ValueError(MSG_WILSON_COUNTS)
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        z2_n = z * z / n
        center = (p + z2_n / 2) / (1 + z2_n)
        half = z / (1 + z2_n) * np.sqrt(p * (1 - p) / n + z2_n / (4 * n))
    # Exact at the edges (x = 0 gives lower 0, x = n gives upper 1), which rounding can miss.
    lower = np.where(empty, np.nan, np.where(x == 0, 0.0, np.clip(center - half, 0.0, 1.0)))
    upper = np.where(empty, np.nan, np.where(x == n, 1.0, np.clip(center + half, 0.0, 1.0)))
    if lower.ndim == 0:
        return float(lower), float(upper)
    return lower, upper


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
)
METRIC_NAMES = tuple(name for name, *_ in _METRICS)
_RATIO_METRICS = frozenset(METRIC_NAMES) - {"count", "roc_auc_score"}


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
) -> pd.DataFrame:
    """The long ``slice_metrics`` table: every metric for every slice group, with intervals.

    Parameters
    ----------
    stats : pandas.DataFrame
        Output of :func:`~rai_pipeline.core.slices.compute_slice_stats` (at least the columns
        :data:`REQUIRED_STATS_COLUMNS`; extra columns are ignored).
    confidence_level : float, default 0.95
        Coverage of the Wilson intervals.
    min_group_size, min_positives, min_negatives : int, default 30, 0, 0
        A group (not the overall row) below any of these is ``insufficient_sample``; its
        values are still reported.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SLICE_METRIC_COLUMNS`; for each row of ``stats`` in order, one row per
        metric of :data:`METRIC_NAMES` in that order. ``ci_lower``/``ci_upper`` are NaN for
        ``count``, ``roc_auc_score`` and ``brier_score_loss`` and for undefined values.

    Raises
    ------
    ValueError
        Missing columns (:data:`MSG_STATS_COLUMNS`), inconsistent counts
        (:data:`MSG_STATS_COUNTS`), a bad minimum (:data:`MSG_MINIMUM`) or confidence level
        (:data:`MSG_CONFIDENCE_LEVEL`).

    Examples
    --------
    >>> stats = pd.DataFrame({"dimension": ["overall"], "group": ["all"], "n": [10],
    ...     "n_pos": [5], "n_neg": [5], "tp": [4], "fp": [1], "tn": [4], "fn": [1],
    ...     "sum_sq_error": [1.5], "auc": [0.9]})
    >>> m = slice_metrics_from_stats(stats).set_index("metric")
    >>> float(m.loc["true_positive_rate", "value"]), m.loc["true_positive_rate", "status"]
    (0.8, 'ok')
    """
    level = check_confidence_level(confidence_level)
    minimums = {
        "min_group_size": _check_minimum("min_group_size", min_group_size),
        "min_positives": _check_minimum("min_positives", min_positives),
        "min_negatives": _check_minimum("min_negatives", min_negatives),
    }
    counts = _counts(stats)
    positives, negatives = counts["tp"] + counts["fn"], counts["fp"] + counts["tn"]
    overall = (stats["dimension"] == OVERALL_DIMENSION).to_numpy()
    small = ~overall & (
        (counts["n"] < minimums["min_group_size"])
        | (positives < minimums["min_positives"])
        | (negatives < minimums["min_negatives"])
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
        }
    )
