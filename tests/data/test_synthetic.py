"""The synthetic frame carries exactly the disparities its docstring plants.

fairlearn's MetricFrame on the raw rows is the oracle; each estimate must lie within four
standard errors of the planted expectation (the seed is fixed, so this is deterministic).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from rai_pipeline.demo import synthetic
from rai_pipeline.demo.synthetic import SyntheticSpec, expected_rates, make_synthetic_frame

N = 20_000
SEED = 20_240_601
METRICS = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
}
# Which rows each rate is a proportion of (for its standard error).
DENOMINATOR = {
    "selection_rate": None,
    "true_positive_rate": 1,
    "false_positive_rate": 0,
    "false_negative_rate": 1,
}
UNKNOWN = "unknown"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_synthetic_frame(N, seed=SEED)


@pytest.fixture(scope="module")
def observed(frame) -> pd.DataFrame:
    """fairlearn's per-group rates, long format, with each rate's denominator size."""
    rows = []
    for dimension in synthetic.ATTRIBUTES:
        groups = frame[dimension].astype(object).where(frame[dimension].notna(), UNKNOWN)
        by_group = MetricFrame(
            metrics=METRICS,
            y_true=frame["label"],
            y_pred=frame["decision"],
            sensitive_features=groups.rename(dimension),
        ).by_group
        for group, values in by_group.iterrows():
            members = frame[groups == group]
            for metric, value in values.items():
                label = DENOMINATOR[metric]
                n = len(members) if label is None else int((members["label"] == label).sum())
                rows.append(
                    {
                        "dimension": dimension,
                        "group": None if group == UNKNOWN else group,
                        "metric": metric,
                        "observed": value,
                        "n": n,
                    }
                )
    return pd.DataFrame(rows)


def compare(observed: pd.DataFrame, spec: SyntheticSpec | None = None) -> pd.DataFrame:
    truth = expected_rates(spec)
    merged = observed.merge(truth, on=["dimension", "group", "metric"], how="outer")
    merged["se"] = np.sqrt(merged["value"] * (1 - merged["value"]) / merged["n"])
    return merged


def test_every_group_rate_matches_the_planted_expectation(observed):
    merged = compare(observed)
    assert merged["observed"].notna().all() and merged["value"].notna().all()
    off = merged[(merged["observed"] - merged["value"]).abs() > 4 * merged["se"]]
    assert off.empty, off


def test_group_a_level_a2_has_the_planted_fpr_and_selection_rate_excess(observed):
    rates = observed.set_index(["dimension", "group", "metric"])["observed"]
    n = observed.set_index(["dimension", "group", "metric"])["n"]
    fpr_gap = (
        rates["group_a", "a2", "false_positive_rate"]
        - rates["group_a", "a0", "false_positive_rate"]
    )
    sr_gap = rates["group_a", "a2", "selection_rate"] - rates["group_a", "a0", "selection_rate"]
    se_fpr = np.sqrt(
        0.2 * 0.8 / n["group_a", "a2", "false_positive_rate"]
        + 0.1 * 0.9 / n["group_a", "a0", "false_positive_rate"]
    )
    assert abs(fpr_gap - 0.10) < 4 * se_fpr
    assert fpr_gap > 4 * se_fpr  # clearly not zero
    assert abs(sr_gap - 0.07) < 0.03
    tpr_gap = (
        rates["group_a", "a2", "true_positive_rate"] - rates["group_a", "a0", "true_positive_rate"]
    )
    assert abs(tpr_gap) < 0.04  # nothing planted on TPR for group_a


def test_group_b_is_a_control_with_no_disparity(observed):
    b = observed[observed["dimension"] == "group_b"].pivot(
        index="metric", columns="group", values=["observed", "n"]
    )
    for metric in METRICS:
        p0, p1 = b.loc[metric, ("observed", "b0")], b.loc[metric, ("observed", "b1")]
        pooled = (p0 + p1) / 2
        se = np.sqrt(
            pooled
            * (1 - pooled)
            * (1 / b.loc[metric, ("n", "b0")] + 1 / b.loc[metric, ("n", "b1")])
        )
        assert abs(p0 - p1) < 4 * se, metric


def test_group_c_has_a_small_group_with_a_planted_fnr_and_a_null_group(frame, observed):
    shares = frame["group_c"].value_counts(normalize=True, dropna=False)
    assert 0.003 < shares["c3"] < 0.008
    assert 0.015 < shares[np.nan] < 0.025
    c3 = observed[(observed["group"] == "c3") & (observed["metric"] == "false_negative_rate")]
    assert c3["observed"].item() > 0.35  # planted 0.50, majority 0.20
    null = observed[(observed["dimension"] == "group_c") & observed["group"].isna()]
    assert set(null["metric"]) == set(METRICS)


def test_decision_is_score_at_or_above_threshold_and_scores_rank(frame):
    assert frame["score"].between(0, 1).all()
    assert (frame["decision"] == (frame["score"] >= 0.5).astype(np.int32)).all()
    assert frame.groupby("label")["score"].mean().is_monotonic_increasing
    assert frame["example_id"].tolist() == list(range(N))
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "example_id": "int64",
        "label": "int32",
        "score": "float64",
        "decision": "int32",
        "group_a": "category",
        "group_b": "category",
        "group_c": "category",
    }


def test_same_seed_same_frame_other_seed_other_frame():
    a = make_synthetic_frame(1_000, seed=1)
    pd.testing.assert_frame_equal(a, make_synthetic_frame(1_000, seed=1))
    assert not a["score"].equals(make_synthetic_frame(1_000, seed=2)["score"])


def test_a_custom_threshold_keeps_decisions_consistent():
    frame = make_synthetic_frame(5_000, seed=3, spec=SyntheticSpec(threshold=0.8))
    assert (frame["decision"] == (frame["score"] >= 0.8)).all()


def test_zero_rows_give_an_empty_frame_with_the_same_columns():
    empty = make_synthetic_frame(0, seed=0)
    assert empty.empty
    assert list(empty.columns) == list(make_synthetic_frame(3, seed=0).columns)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_synthetic_frame(-1, seed=0), "n must be a non-negative integer"),
        (lambda: make_synthetic_frame(10, seed=1.5), "seed must be an integer"),  # type: ignore[arg-type]
        (
            lambda: make_synthetic_frame(10, seed=0, spec=SyntheticSpec(threshold=1.0)),
            "strictly between 0 and 1",
        ),
        (
            lambda: make_synthetic_frame(10, seed=0, spec=SyntheticSpec(group_b_shares=(0.5, 0.6))),
            "group_b shares must be",
        ),
        (
            lambda: make_synthetic_frame(10, seed=0, spec=SyntheticSpec(tpr_shift=-0.9)),
            "tpr + tpr_shift must lie in",
        ),
    ],
)
def test_invalid_arguments_raise_with_the_documented_message(call, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        call()
