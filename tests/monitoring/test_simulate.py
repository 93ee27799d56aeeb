"""The simulated production logs: the planted drift starts on its day and touches only what
it says; labels arrive with the stated delay."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rai_pipeline.core.monitoring.simulate import PlantedDrift, simulate_logs

START = dt.date(2026, 11, 1)


def _reference(n=3000):
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "x": rng.normal(40, 10, n).round(),
            "y": rng.normal(0, 1, n),
            "sex": rng.choice(["F", "M"], n),
            "outcome": rng.integers(0, 2, n),
        }
    )


def _scorer(frame: pd.DataFrame) -> np.ndarray:
    return 1 / (1 + np.exp(-(frame["x"].to_numpy() - 40) / 10))


DRIFT = PlantedDrift(
    onset_day=10, feature="x", feature_shift=8.0, group_dimension="sex", group="F", score_shift=0.1
)


@pytest.fixture(scope="module")
def logs():
    return simulate_logs(
        _reference(),
        scorer=_scorer,
        model_name="m",
        model_version="2",
        features=["x", "y"],
        label="outcome",
        threshold=0.5,
        start=START,
        days=20,
        rows_per_day=400,
        drift=DRIFT,
        label_delay_days=3,
        seed=1,
    )


def test_the_feature_moves_from_the_onset_day_and_the_other_feature_never(logs):
    requests = logs.requests
    requests["index"] = (pd.to_datetime(requests["day"]) - pd.Timestamp(START)).dt.days
    before, after = requests[requests["index"] < 10], requests[requests["index"] >= 10]
    assert after["x"].mean() - before["x"].mean() == pytest.approx(8.0, abs=1.0)
    assert stats.ks_2samp(before["y"], after["y"]).pvalue > 0.01
    reference = _reference()
    assert stats.ks_2samp(before["x"], reference["x"]).pvalue > 0.01


def test_the_groups_scores_are_shifted_after_scoring(logs):
    requests = logs.requests
    after = requests[pd.to_datetime(requests["day"]) >= pd.Timestamp(START + dt.timedelta(10))]
    model = _scorer(after)
    shift = np.where(after["sex"] == "F", np.clip(model + 0.1, 0, 1), model)
    np.testing.assert_allclose(after["score"], shift)
    assert (after["decision"] == (after["score"] >= 0.5)).all()


def test_labels_arrive_with_the_delay_and_not_after_the_last_day(logs):
    merged = logs.labels.merge(logs.requests[["request_id", "day"]], on="request_id")
    delay = (pd.to_datetime(merged["label_day"]) - pd.to_datetime(merged["day"])).dt.days
    assert delay.between(3, 5).all()
    assert pd.to_datetime(merged["label_day"]).max() <= pd.Timestamp(START + dt.timedelta(19))
    # every request old enough has its label; the last three days' have none yet
    old = logs.requests[
        pd.to_datetime(logs.requests["day"]) <= pd.Timestamp(START + dt.timedelta(14))
    ]
    assert set(old["request_id"]) <= set(logs.labels["request_id"])
    assert "outcome" not in logs.requests.columns
    assert set(logs.requests["model_version"]) == {"2"}


def test_a_drift_that_names_nothing_real_is_refused():
    with pytest.raises(ValueError, match="'z' is not a numeric column"):
        simulate_logs(
            _reference(),
            scorer=_scorer,
            model_name="m",
            model_version="2",
            features=["x"],
            label="outcome",
            threshold=0.5,
            start=START,
            days=5,
            rows_per_day=10,
            drift=PlantedDrift(1, "z", 1.0, "sex", "F", 0.1),
            label_delay_days=1,
        )
