"""Performance before labels: the point estimate against expected confusion counts by hand,
the interval against the exact distribution of the realized accuracy (a Poisson-binomial,
by convolution), and the interval's coverage: near its level when the calibration
assumption holds, far below it when the score stops meaning what it meant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, recall_score

from rai_pipeline.core.monitoring.performance import (
    compare_with_realized,
    estimate_coverage,
    estimate_performance,
    fit_calibration,
)


def _exact_quantiles(p: np.ndarray, levels: list[float]) -> list[float]:
    """Quantiles of (number of successes) / n for independent Bernoulli(p_i), exactly."""
    pmf = np.array([1.0])
    for q in p:
        pmf = np.convolve(pmf, [1 - q, q])
    cdf = np.cumsum(pmf)
    return [float(np.searchsorted(cdf, level - 1e-12) / len(p)) for level in levels]


def test_point_estimates_are_ratios_of_expected_confusion_counts():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 300)
    decision = (rng.uniform(0, 1, 300) < p).astype(int)
    rows = pd.DataFrame({"day": "d", "decision": decision, "g": rng.choice(["a", "b"], 300)})
    out = estimate_performance(rows, p, ["g"], draws=200).set_index(
        ["dimension", "group", "metric"]
    )
    d = decision == 1
    tp, fp, fn, tn = p[d].sum(), (1 - p[d]).sum(), p[~d].sum(), (1 - p[~d]).sum()
    expected = {
        "accuracy_score": (tp + tn) / 300,
        "true_positive_rate": tp / (tp + fn),
        "false_positive_rate": fp / (fp + tn),
        "precision_score": tp / (tp + fp),
    }
    for metric, value in expected.items():
        assert out.loc[("overall", "all", metric), "estimate"] == pytest.approx(value)
    a = (rows["g"] == "a").to_numpy()
    right = np.where(d[a], p[a], 1 - p[a]).mean()
    assert out.loc[("g", "a", "accuracy_score"), "estimate"] == pytest.approx(right)
    assert out.loc[("g", "a", "accuracy_score"), "n"] == a.sum()


def test_the_accuracy_interval_matches_the_exact_poisson_binomial():
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 1, 200)
    decision = (p > 0.5).astype(int)
    rows = pd.DataFrame({"day": "d", "decision": decision})
    out = estimate_performance(rows, p, [], draws=20_000, confidence_level=0.9)
    row = out[out["metric"] == "accuracy_score"].iloc[0]
    correct = np.where(decision == 1, p, 1 - p)  # P(the decision is right)
    low, high = _exact_quantiles(correct, [0.05, 0.95])
    assert row["ci_lower"] == pytest.approx(low, abs=1.5 / 200)
    assert row["ci_upper"] == pytest.approx(high, abs=1.5 / 200)


def _days(n_days, rng, shift=0.0):
    """Requests of n_days days; labels drawn from the calibrated probability minus shift."""
    frames, realized = [], []
    reference = rng.uniform(0, 1, 5000)
    calibration = fit_calibration(reference, rng.uniform(0, 1, 5000) < reference)
    for k in range(n_days):
        score = rng.uniform(0, 1, 400)
        decision = (score >= 0.5).astype(int)
        label = rng.uniform(0, 1, 400) < np.clip(score - shift, 0, 1)
        day = f"2026-01-{k + 1:02d}"
        frames.append(pd.DataFrame({"day": day, "score": score, "decision": decision}))
        for metric, value in (
            ("accuracy_score", accuracy_score(label, decision)),
            ("true_positive_rate", recall_score(label, decision)),
        ):
            realized.append(
                {
                    "day": day,
                    "dimension": "overall",
                    "group": "all",
                    "metric": metric,
                    "value": value,
                    "labelled": 400,
                    "requests": 400,
                }
            )
    rows = pd.concat(frames, ignore_index=True)
    estimates = estimate_performance(rows, calibration.predict(rows["score"]), [], draws=2000)
    return estimates, pd.DataFrame(realized)


def test_the_interval_covers_the_realized_rate_at_its_level_when_calibration_holds():
    estimates, realized = _days(120, np.random.default_rng(11))
    coverage = estimate_coverage(compare_with_realized(estimates, realized))
    pooled = coverage[coverage["dimension"] == "all"].set_index("metric").loc["all"]
    assert pooled["compared"] == 240
    assert 0.89 <= pooled["coverage"] <= 0.99  # nominal 0.95, with 240 days of noise


def test_the_coverage_falls_when_the_score_stops_meaning_what_it_meant():
    estimates, realized = _days(60, np.random.default_rng(12), shift=0.15)
    coverage = estimate_coverage(compare_with_realized(estimates, realized))
    pooled = coverage[coverage["dimension"] == "all"].set_index("metric")
    assert pooled.loc["true_positive_rate", "coverage"] < 0.3  # far below 0.95


def test_only_days_whose_every_label_arrived_are_compared():
    estimates, realized = _days(4, np.random.default_rng(13))
    realized.loc[realized["day"] == "2026-01-04", "labelled"] = 399
    compared = compare_with_realized(estimates, realized)
    assert set(compared["day"]) == {"2026-01-01", "2026-01-02", "2026-01-03"}
    manual = (compared["ci_lower"] <= compared["realized"]) & (
        compared["realized"] <= compared["ci_upper"]
    )
    assert (compared["covered"] == manual).all()
