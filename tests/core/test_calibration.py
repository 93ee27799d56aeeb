"""The ECE's interval and perfectly calibrated reference, against simulations on the raw rows."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rai_pipeline.core.engine.slices import build_slices
from rai_pipeline.core.engine.statistics import compute_score_histograms
from rai_pipeline.core.metrics.calibration import calibration_curves, sum_of_binomials_pmf

BINS = 10


def frame(n, seed, *, shift=0.0):
    """Scores from Beta(2, 3); labels from Bernoulli(score - shift): calibrated when 0."""
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 3, n)
    label = (rng.random(n) < np.clip(score - shift, 0, 1)).astype(int)
    return pd.DataFrame({"label": label, "score": score, "g": rng.choice(["a", "b"], n)})


def histograms(rows):
    conn = duckdb.connect()
    conn.register("ev", rows)
    return compute_score_histograms(
        conn, relation="ev", slices=build_slices(["g"]), label="label", score="score", bins=1000
    )


def ece(label, score):
    b = np.minimum((score * BINS).astype(int), BINS - 1)
    gaps = np.bincount(b, weights=label, minlength=BINS) - np.bincount(
        b, weights=score, minlength=BINS
    )
    return np.abs(gaps).sum() / len(label)


def overall(result):
    errors = result.errors
    return errors[errors["dimension"] == "overall"].iloc[0]


@pytest.mark.parametrize("n", [60, 2000])
def test_the_calibrated_reference_equals_relabelling_the_raw_rows(n):
    rows = frame(n, seed=n)
    got = overall(calibration_curves(histograms(rows), bins=BINS, n_bootstrap=2000, seed=1))
    rng = np.random.default_rng(7)
    s = rows["score"].to_numpy()
    draws = [ece((rng.random(n) < s).astype(int), s) for _ in range(4000)]
    margin = 3 * np.std(draws) / np.sqrt(2000) + 3 * np.std(draws) / np.sqrt(4000)
    assert got["ece_if_calibrated"] == pytest.approx(np.mean(draws), abs=margin + 0.002)
    assert got["expected_calibration_error"] == pytest.approx(
        ece(rows["label"].to_numpy(), s), abs=1e-9
    )


def test_the_interval_has_the_spread_of_a_row_bootstrap():
    rows = frame(3000, seed=4, shift=0.1)
    got = overall(calibration_curves(histograms(rows), bins=BINS, n_bootstrap=2000, seed=2))
    rng = np.random.default_rng(8)
    y, s = rows["label"].to_numpy(), rows["score"].to_numpy()
    draws = []
    for _ in range(2000):
        pick = rng.integers(0, len(y), len(y))
        draws.append(ece(y[pick], s[pick]))
    low, high = np.quantile(draws, [0.025, 0.975])
    assert got["ece_ci_upper"] - got["ece_ci_lower"] == pytest.approx(high - low, rel=0.15)
    assert got["ece_ci_lower"] == pytest.approx(low, abs=0.25 * (high - low))


def test_the_p_value_separates_calibrated_from_shifted_scores():
    calibrated = overall(
        calibration_curves(histograms(frame(3000, seed=5)), bins=BINS, n_bootstrap=500)
    )
    shifted = overall(
        calibration_curves(histograms(frame(3000, seed=5, shift=0.1)), bins=BINS, n_bootstrap=500)
    )
    assert shifted["calibration_p_value"] == pytest.approx(1 / 501)
    assert shifted["expected_calibration_error"] > 3 * shifted["ece_if_calibrated"]
    assert calibrated["calibration_p_value"] > 0.01


def test_groups_below_the_minimum_get_no_calibration_numbers():
    result = calibration_curves(
        histograms(frame(500, seed=6)),
        bins=BINS,
        eligible={("overall", "all"), ("g", "a")},
        n_bootstrap=200,
    )
    errors = result.errors.set_index(["dimension", "group"])
    small = errors.loc[("g", "b")]
    assert small["status"] == "insufficient_sample"
    numbers = [
        "expected_calibration_error",
        "ece_ci_lower",
        "ece_if_calibrated",
        "calibration_p_value",
    ]
    assert small[numbers].isna().all()
    assert errors.loc[("g", "a"), "status"] == "ok"
    assert errors.loc[("g", "a"), numbers].notna().all()


def test_without_resamples_the_reference_columns_are_empty_and_the_rest_unchanged():
    hist = histograms(frame(500, seed=9))
    plain = calibration_curves(hist, bins=BINS).errors
    full = calibration_curves(hist, bins=BINS, n_bootstrap=100).errors
    assert plain[["ece_ci_lower", "ece_ci_upper", "ece_if_calibrated"]].isna().all().all()
    pd.testing.assert_series_equal(
        plain["expected_calibration_error"], full["expected_calibration_error"]
    )
    again = calibration_curves(hist, bins=BINS, n_bootstrap=100).errors
    pd.testing.assert_frame_equal(full, again)  # seeded


@pytest.mark.parametrize(
    ("trials", "probabilities"),
    [
        ([1, 1, 1], [0.5, 0.5, 0.5]),
        ([3, 1, 7, 2], [0.0, 1.0, 0.3, 0.97]),
        ([1] * 80, list(np.linspace(0.01, 0.99, 80))),
        ([5000, 20_000], [0.0004, 0.00002]),  # many trials, tiny variance: a window of them
        ([400, 2], [1.0, 0.5]),  # the mass far from zero
    ],
)
def test_the_sum_of_binomials_is_the_convolution_of_their_distributions(trials, probabilities):
    """scipy's binomial distributions convolved one by one are the oracle."""
    exact = np.array([1.0])
    for n, p in zip(trials, probabilities, strict=True):
        exact = np.convolve(exact, stats.binom.pmf(np.arange(n + 1), n, p))
    lowest, pmf = sum_of_binomials_pmf(np.array(trials), np.array(probabilities))
    assert lowest >= 0 and lowest + pmf.size <= exact.size
    np.testing.assert_allclose(pmf, exact[lowest : lowest + pmf.size], atol=1e-13)
    assert exact[:lowest].sum() + exact[lowest + pmf.size :].sum() < 1e-13
