r"""Calibration per slice group from score histograms: reliability curves, calibration errors,
and what those errors would be for a perfectly calibrated model of the same size.

Reliability curve
    Per non-empty bin: count, positives, mean score :math:`\bar s_b = \sum s / n_b` and observed
    positive rate :math:`\bar y_b = pos_b / n_b`; what
    :func:`sklearn.metrics.calibration_curve` returns with ``strategy="uniform"``, except that a
    score exactly on an inner edge falls in the upper bin here (in scikit-learn, the lower).

Calibration errors
    :math:`ECE = \sum_b \frac{n_b}{n} |\bar y_b - \bar s_b| = \frac1n \sum_b |pos_b - S_b|`
    (:math:`S_b` the bin's sum of scores) and :math:`MCE = \max_b |\bar y_b - \bar s_b|`, over
    non-empty bins (so both depend on the binning). Calibration is defined for probability
    scores only: histograms whose range is not inside [0, 1] give status ``skipped`` with a
    reason and empty frames, never an error.

The ECE is biased upward: even a perfectly calibrated model shows a positive ECE, the more so
the fewer rows (about 0.18 at 30 rows with 10 bins). With ``n_bootstrap > 0`` each group that
meets the minimum sizes also gets

``ece_ci_lower``, ``ece_ci_upper``
    a percentile bootstrap interval of its ECE: each replicate draws the (label, coarse bin)
    counts from Multinomial(:math:`n`, observed shares) and each cell's sum of scores from a
    normal with the cell's exact within-cell mean and variance (from the fine bins' sums of
    :math:`s` and :math:`s^2`). It describes the sampling spread of the ECE at this size, not
    the distance from perfect calibration;
``ece_if_calibrated``
    the mean ECE of the same scores with labels drawn as a perfectly calibrated model would
    produce them: a bin's positives are then a sum of Bernoulli(:math:`s_i`), with mean
    :math:`\sum s` and variance :math:`\sum s(1 - s)` known exactly from the fine bins' sums;
    it is drawn as a normal when that variance is at least :data:`NORMAL_VARIANCE`, else from
    the exact distribution of the sum of each fine bin's Binomial(:math:`n_f`,
    :math:`\bar s_f`) (:func:`sum_of_binomials_pmf`). This is the value to read the observed
    ECE against;
``calibration_p_value``
    the share of those perfectly calibrated draws whose ECE is at least the observed one
    (:math:`(1 + \#\{ECE^0 \ge ECE\}) / (1 + R)`): small values mean the group's scores are not
    calibrated.

Groups below the minimum sizes get status ``insufficient_sample`` and no calibration numbers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.metrics.histograms import (
    DenseHistograms,
    coarsen_histograms,
    dense_histograms,
)
from rai_pipeline.core.metrics.slice_metrics import STATUS_INSUFFICIENT, STATUS_OK
from rai_pipeline.core.stats.bootstrap import bootstrap_rng, percentile_interval
from rai_pipeline.core.stats.intervals import check_confidence_level
from rai_pipeline.core.stats.rates import ratio_of

CALIBRATION_CURVE_COLUMNS = (
    "dimension",
    "group",
    "bin",
    "bin_lower",
    "bin_upper",
    "n",
    "n_pos",
    "mean_score",
    "fraction_of_positives",
)
CALIBRATION_ERROR_COLUMNS = (
    "dimension",
    "group",
    "n",
    "bins_used",
    "expected_calibration_error",
    "maximum_calibration_error",
    "status",
    "ece_ci_lower",
    "ece_ci_upper",
    "ece_if_calibrated",
    "calibration_p_value",
)
CALIBRATION_OK = "ok"
CALIBRATION_SKIPPED = "skipped"
ECE_STREAM = "expected_calibration_error"
NORMAL_VARIANCE = 25.0  # a bin's positives under calibration: normal from this variance up

MSG_CALIBRATION_RANGE = (
    "calibration needs probability scores in [0, 1]; these histograms cover [{lower!r}, {upper!r}]"
)

_Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CalibrationResult:
    """Reliability curves and calibration errors per group, or why there are none.

    Attributes
    ----------
    status : str
        :data:`CALIBRATION_OK` or :data:`CALIBRATION_SKIPPED`.
    reason : str
        Empty when ``ok``; why calibration was skipped otherwise.
    curve : pandas.DataFrame
        Columns :data:`CALIBRATION_CURVE_COLUMNS`, one row per non-empty bin and group.
    errors : pandas.DataFrame
        Columns :data:`CALIBRATION_ERROR_COLUMNS`, one row per group.
    """

    status: str
    reason: str
    curve: pd.DataFrame
    errors: pd.DataFrame


# the exact sum of binomials is computed on a window of this many standard deviations (plus
# TAIL_SLACK) around its mean: by Bernstein's inequality the mass outside is below 1e-25
TAIL_SDS, TAIL_SLACK = 12.0, 40.0


def sum_of_binomials_pmf(
    trials: npt.NDArray[np.int64], probabilities: _Array
) -> tuple[int, _Array]:
    """The distribution of a sum of independent Binomial(``trials[f]``,
    ``probabilities[f]``): ``(lowest, pmf)`` with ``pmf[i] = P(sum = lowest + i)``.

    Computed exactly, up to rounding, from the sum's characteristic function at the roots of
    unity of the window's length (one discrete Fourier transform), on the window of
    :data:`TAIL_SDS` standard deviations plus :data:`TAIL_SLACK` around the mean, clipped to
    ``[0, sum(trials)]``. Cost: number of binomials x window length, whatever the trials.

    Examples
    --------
    >>> lowest, pmf = sum_of_binomials_pmf(np.array([1, 1]), np.array([0.5, 0.5]))
    >>> lowest, pmf.round(12).tolist()
    (0, [0.25, 0.5, 0.25])
    """
    trials = np.asarray(trials, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    mean = float((trials * p).sum())
    spread = TAIL_SDS * float(np.sqrt((trials * p * (1 - p)).sum())) + TAIL_SLACK
    lowest = max(0, int(np.floor(mean - spread)))
    highest = min(int(trials.sum()), int(np.ceil(mean + spread)))
    length = highest - lowest + 1
    roots = np.exp(-2j * np.pi * np.arange(length) / length)
    factors = (1 - p)[:, None] + p[:, None] * roots[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        transform = np.prod(factors ** trials[:, None], axis=0)
    aliased = np.fft.ifft(transform).real  # P(sum = x) at x mod length
    pmf = np.clip(aliased[(lowest + np.arange(length)) % length], 0.0, None)
    return lowest, pmf / pmf.sum()


def _ece(positives: _Array, score_sums: _Array, n: float) -> _Array:
    """ECE over the last axis from per-bin positives and sums of scores."""
    return np.abs(positives - score_sums).sum(axis=-1) / n


def _ece_resamples(
    fine: DenseHistograms,
    g: int,
    factor: int,
    *,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> tuple[_Array, _Array]:
    """Bootstrap replicates of group ``g``'s ECE and its ECE under perfect calibration."""
    counts = fine.counts[g].astype(np.float64)  # (2, B) fine
    sums = fine.sums[g]
    squares = fine.sums_sq[g] if fine.sums_sq is not None else sums**2 / np.maximum(counts, 1)
    coarse = counts.shape[1] // factor
    cell_n = counts.reshape(2, coarse, factor).sum(axis=2).ravel()  # (2 * bins,)
    cell_s = sums.reshape(2, coarse, factor).sum(axis=2).ravel()
    cell_s2 = squares.reshape(2, coarse, factor).sum(axis=2).ravel()
    n = float(cell_n.sum())
    mean = ratio_of(cell_s, cell_n)
    variance = np.maximum(ratio_of(cell_s2, cell_n) - mean**2, 0.0)
    mean, variance = np.nan_to_num(mean), np.nan_to_num(variance)
    drawn = rng.multinomial(int(n), cell_n / n, size=n_bootstrap).astype(np.float64)
    score_sums = drawn * mean + np.sqrt(drawn * variance) * rng.standard_normal(drawn.shape)
    per_bin = score_sums.reshape(n_bootstrap, 2, coarse).sum(axis=1)
    replicates = _ece(drawn.reshape(n_bootstrap, 2, coarse)[:, 1, :], per_bin, n)
    # Under perfect calibration a bin's positives are a sum of Bernoulli(s_i): mean S = sum s,
    # variance V = sum s (1 - s), both exact from the fine bins. Bins with V >= NORMAL_VARIANCE
    # draw it as a normal; the others draw from the exact distribution of the sum of the fine
    # bins' Binomial(n_f, mean score).
    rows, fine_sums, fine_squares = counts.sum(axis=0), sums.sum(axis=0), squares.sum(axis=0)
    coarse_sums = fine_sums.reshape(coarse, factor).sum(axis=1)
    variance_calibrated = np.maximum(
        coarse_sums - fine_squares.reshape(coarse, factor).sum(axis=1), 0
    )
    normal = variance_calibrated >= NORMAL_VARIANCE
    positives = np.zeros((n_bootstrap, coarse))
    positives[:, normal] = coarse_sums[normal] + np.sqrt(
        variance_calibrated[normal]
    ) * rng.standard_normal((n_bootstrap, int(normal.sum())))
    rows_of, sums_of = rows.reshape(coarse, factor), fine_sums.reshape(coarse, factor)
    for c in np.flatnonzero(~normal & (rows_of.sum(axis=1) > 0)):
        present = rows_of[c] > 0
        trials = rows_of[c][present]
        lowest, pmf = sum_of_binomials_pmf(
            trials.astype(np.int64), np.clip(sums_of[c][present] / trials, 0.0, 1.0)
        )
        drawn_at = np.searchsorted(np.cumsum(pmf), rng.random(n_bootstrap), side="right")
        positives[:, c] = lowest + np.minimum(drawn_at, pmf.size - 1)
    calibrated = _ece(positives, coarse_sums, n)
    return replicates, calibrated


def calibration_curves(
    histograms: pd.DataFrame,
    *,
    bins: int | None = None,
    eligible: Collection[tuple[str, str]] | None = None,
    n_bootstrap: int = 0,
    seed: int = 0,
    confidence_level: float = 0.95,
) -> CalibrationResult:
    """Reliability curve, calibration errors and their reference values per group (module
    docstring).

    Parameters
    ----------
    histograms : pandas.DataFrame
        Dense histograms from :func:`~rai_pipeline.core.engine.statistics.compute_score_histograms`.
    bins : int, optional
        Coarsen to this many bins first
        (:func:`~rai_pipeline.core.metrics.histograms.coarsen_histograms`),
        e.g. 10 or 20 from the 1000 fine bins of the bootstrap; by default the histograms' own
        bins.
    eligible : collection of (dimension, group), optional
        The groups that meet the minimum sizes; the others get status
        ``insufficient_sample`` and NaN calibration numbers. By default every group.
    n_bootstrap : int, default 0
        Replicates for the ECE interval and the perfectly calibrated reference; 0 leaves those
        columns NaN.
    seed : int, default 0
        Seed; each (dimension, group) draws from its own stream.
    confidence_level : float, default 0.95
        Coverage of the ECE interval.

    Returns
    -------
    CalibrationResult
        ``status`` ``skipped`` with a reason (:data:`MSG_CALIBRATION_RANGE`) and empty frames
        when the histograms' range is not inside [0, 1].

    Raises
    ------
    ValueError
        Histograms as for :func:`~rai_pipeline.core.metrics.thresholds.threshold_curves`, or bad
        ``bins``.

    Examples
    --------
    >>> hist = pd.DataFrame({"dimension": "overall", "group": "all", "label": [0, 0, 1, 1],
    ...     "bin": [0, 1, 0, 1], "bin_lower": [0.0, 0.5, 0.0, 0.5],
    ...     "bin_upper": [0.5, 1.0, 0.5, 1.0], "n": [3, 1, 1, 3],
    ...     "sum_score": [0.6, 0.7, 0.4, 2.4]})
    >>> result = calibration_curves(hist)
    >>> result.curve[["mean_score", "fraction_of_positives"]].values.round(3).tolist()
    [[0.25, 0.25], [0.775, 0.75]]
    >>> round(float(result.errors["expected_calibration_error"].iloc[0]), 4)
    0.0125
    """
    level = check_confidence_level(confidence_level)
    fine = dense_histograms(histograms)
    dense = fine if bins is None else dense_histograms(coarsen_histograms(histograms, bins=bins))
    lower, upper = float(dense.edges[0]), float(dense.edges[-1])
    if lower < 0.0 or upper > 1.0:
        return CalibrationResult(
            status=CALIBRATION_SKIPPED,
            reason=MSG_CALIBRATION_RANGE.format(lower=lower, upper=upper),
            curve=pd.DataFrame({c: [] for c in CALIBRATION_CURVE_COLUMNS}),
            errors=pd.DataFrame({c: [] for c in CALIBRATION_ERROR_COLUMNS}),
        )
    n = dense.counts.sum(axis=1)  # (G, B)
    n_pos = dense.counts[:, 1, :]
    mean_score = ratio_of(dense.sums.sum(axis=1), n)
    fraction = ratio_of(n_pos, n)
    gap = np.abs(fraction - mean_score)
    used = n > 0
    totals = n.sum(axis=1)
    ece = ratio_of(np.where(used, gap * n, 0.0).sum(axis=1), totals)
    mce = np.where(used.any(axis=1), np.where(used, gap, -np.inf).max(axis=1), np.nan)
    keys = dense.keys
    ok = np.array([eligible is None or key in eligible for key in keys], dtype=bool)
    extra = {name: np.full(len(keys), np.nan) for name in CALIBRATION_ERROR_COLUMNS[7:]}
    if n_bootstrap > 0:
        factor = (fine.edges.size - 1) // (dense.edges.size - 1)
        for g in np.flatnonzero(ok & (totals > 0)):
            rng = bootstrap_rng(seed, ECE_STREAM, *keys[g])
            replicates, calibrated = _ece_resamples(
                fine, int(g), factor, n_bootstrap=n_bootstrap, rng=rng
            )
            low, high = percentile_interval(replicates, level)
            extra["ece_ci_lower"][g], extra["ece_ci_upper"][g] = low, high
            extra["ece_if_calibrated"][g] = calibrated.mean()
            at_least = int((calibrated >= ece[g] - 1e-12).sum())
            extra["calibration_p_value"][g] = (1 + at_least) / (1 + n_bootstrap)
    g_index, b_index = np.nonzero(used)
    curve = pd.DataFrame(
        {
            "dimension": np.array([keys[g][0] for g in g_index], dtype=object),
            "group": np.array([keys[g][1] for g in g_index], dtype=object),
            "bin": b_index.astype(np.int64),
            "bin_lower": dense.edges[b_index],
            "bin_upper": dense.edges[b_index + 1],
            "n": n[g_index, b_index].astype(np.int64),
            "n_pos": n_pos[g_index, b_index].astype(np.int64),
            "mean_score": mean_score[g_index, b_index],
            "fraction_of_positives": fraction[g_index, b_index],
        }
    )
    errors = pd.DataFrame(
        {
            "dimension": np.array([key[0] for key in keys], dtype=object),
            "group": np.array([key[1] for key in keys], dtype=object),
            "n": totals.astype(np.int64),
            "bins_used": used.sum(axis=1).astype(np.int64),
            "expected_calibration_error": np.where(ok, ece, np.nan),
            "maximum_calibration_error": np.where(ok, mce, np.nan),
            "status": np.where(ok, STATUS_OK, STATUS_INSUFFICIENT).astype(object),
            **extra,
        }
    )
    return CalibrationResult(status=CALIBRATION_OK, reason="", curve=curve, errors=errors)
