"""The expected calibration error of perfectly calibrated and of miscalibrated scores.

Scores are drawn from Beta(2, 3); labels from Bernoulli(s) (calibrated) or Bernoulli(s^1.6)
(over-confident: the observed rate falls short of the score). Each data set becomes one group's
1000-bin histogram, read with 10 calibration bins as the report does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as distributions

from rai_pipeline.core.metrics.calibration import calibration_curves

FINE_BINS, COARSE_BINS = 1000, 10
SCORES = distributions.beta(2, 3)
EXPONENTS = {"calibrated": 1.0, "over-confident": 1.6}


def population_ece(exponent: float) -> float:
    """The ECE of the population, with 10 bins: :math:`\\sum_b |E[y - s; b]|` by quadrature."""
    edges = np.linspace(0, 1, COARSE_BINS + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        s = np.linspace(low, high, 20_001)
        density = SCORES.pdf(s)
        total += abs(np.trapezoid((s**exponent - s) * density, s))
    return float(total)


def histograms(n: int, replicates: int, exponent: float, rng: np.random.Generator) -> pd.DataFrame:
    """Dense 1000-bin label-by-score histograms, one group ``r00000, ...`` per data set."""
    scores = SCORES.rvs(size=(replicates, n), random_state=rng)
    labels = (rng.random((replicates, n)) < scores**exponent).astype(np.int64)
    bins = np.minimum((scores * FINE_BINS).astype(np.int64), FINE_BINS - 1)
    index = (np.arange(replicates)[:, None] * 2 + labels) * FINE_BINS + bins
    size = replicates * 2 * FINE_BINS
    counts = np.bincount(index.ravel(), minlength=size)
    sums = np.bincount(index.ravel(), weights=scores.ravel(), minlength=size)
    squares = np.bincount(index.ravel(), weights=(scores**2).ravel(), minlength=size)
    edges = np.linspace(0.0, 1.0, FINE_BINS + 1)
    return pd.DataFrame(
        {
            "dimension": "d",
            "group": np.repeat([f"r{i:05d}" for i in range(replicates)], 2 * FINE_BINS),
            "label": np.tile(np.repeat([0, 1], FINE_BINS), replicates),
            "bin": np.tile(np.arange(FINE_BINS), 2 * replicates),
            "bin_lower": np.tile(edges[:-1], 2 * replicates),
            "bin_upper": np.tile(edges[1:], 2 * replicates),
            "n": counts,
            "sum_score": sums,
            "sum_sq_score": squares,
        }
    )


@dataclass(frozen=True)
class CalibrationStudy:
    scores: str
    n: int
    replicates: int
    population_ece: float
    mean_ece: float
    mean_ece_if_calibrated: float
    flagged: float  # share with calibration_p_value <= 0.05
    coverage: float  # share of ECE intervals holding the population ECE


def run_calibration_study(
    scores: str, *, n: int, replicates: int, seed: int, n_bootstrap: int = 1000
) -> CalibrationStudy:
    rng = np.random.default_rng([seed, n, int(EXPONENTS[scores] * 10)])
    hist = histograms(n, replicates, EXPONENTS[scores], rng)
    errors = calibration_curves(hist, bins=COARSE_BINS, n_bootstrap=n_bootstrap, seed=seed).errors
    truth = population_ece(EXPONENTS[scores])
    held = (errors["ece_ci_lower"] <= truth) & (truth <= errors["ece_ci_upper"])
    return CalibrationStudy(
        scores=scores,
        n=n,
        replicates=replicates,
        population_ece=truth,
        mean_ece=float(errors["expected_calibration_error"].mean()),
        mean_ece_if_calibrated=float(errors["ece_if_calibrated"].mean()),
        flagged=float((errors["calibration_p_value"] <= 0.05).mean()),
        coverage=float(held.mean()),
    )
