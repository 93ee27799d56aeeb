"""Version comparison: deltas equal fairlearn on both versions' rows; paired intervals."""

import duckdb
import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score

from rai_pipeline.core.engine.paired import paired_cells
from rai_pipeline.core.engine.slices import build_slices
from rai_pipeline.core.metrics.comparison import compare_versions


def two_versions(n: int = 6000, seed: int = 4, flip_share: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.4, 0.1]).astype(object)
    group[rng.random(n) < 0.02] = None
    sex = rng.choice(["F", "M"], size=n)
    label = rng.binomial(1, 0.3, size=n)
    previous = np.where(rng.random(n) < 0.8, label, 1 - label)
    current = previous.copy()
    # the current version misses some positives of group b: a planted TPR regression
    flip = (group == "b") & (label == 1) & (rng.random(n) < flip_share)
    current[flip] = 0
    frames = []
    for version, decision in (("1", previous), ("2", current)):
        frames.append(
            pd.DataFrame(
                {
                    "model_version": version,
                    "example_id": np.arange(n),
                    "label": label,
                    "decision": decision,
                    "grp": group,
                    "sex": sex,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run(frame: pd.DataFrame, **options) -> pd.DataFrame:
    conn = duckdb.connect()
    conn.register("frame", frame)
    cells = paired_cells(
        conn,
        relation="frame",
        slices=build_slices(["grp", "sex"]),
        previous={"model_version": "1"},
        current={"model_version": "2"},
    )
    return compare_versions(cells, **options)


def test_previous_and_current_equal_fairlearn_per_group():
    frame = two_versions(flip_share=0.3)
    result = run(frame)
    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "accuracy_score": accuracy_score,
    }
    for version, column in (("1", "previous"), ("2", "current")):
        rows = frame[frame["model_version"] == version]
        oracle = MetricFrame(
            metrics=metrics,
            y_true=rows["label"],
            y_pred=rows["decision"],
            sensitive_features=rows["grp"].fillna("unknown"),
        ).by_group
        ours = result[result["dimension"] == "grp"].pivot(
            index="group", columns="metric", values=column
        )
        for metric in metrics:
            np.testing.assert_allclose(ours.loc[oracle.index, metric], oracle[metric], atol=1e-12)


def test_identical_versions_show_no_change():
    frame = two_versions(flip_share=0.0)
    result = run(frame)
    assert (result["delta"] == 0).all()
    assert set(result["change"]) <= {"no_significant_change", "insufficient_sample"}


def test_a_planted_tpr_drop_is_flagged_as_a_regression_only_where_planted():
    result = run(two_versions(flip_share=0.4), min_group_size=200).set_index(
        ["dimension", "group", "metric"]
    )
    assert result.loc[("grp", "b", "true_positive_rate"), "change"] == "regression"
    assert result.loc[("grp", "a", "true_positive_rate"), "change"] == "no_significant_change"
    assert result.loc[("grp", "unknown", "true_positive_rate"), "change"] == "insufficient_sample"
    assert result.loc[("grp", "b", "true_positive_rate"), "ci_upper"] < 0


def test_paired_interval_is_narrower_than_an_unpaired_one():
    result = run(two_versions(n=20000, flip_share=0.1)).set_index(["dimension", "group", "metric"])
    row = result.loc[("overall", "all", "accuracy_score")]
    n = row["n"]
    unpaired_se = np.sqrt(
        row["previous"] * (1 - row["previous"]) / n + row["current"] * (1 - row["current"]) / n
    )
    assert (row["ci_upper"] - row["ci_lower"]) < 2 * 1.96 * unpaired_se / 2


def test_results_are_reproducible():
    frame = two_versions(flip_share=0.2)
    pd.testing.assert_frame_equal(run(frame), run(frame))


def test_selection_rate_has_no_good_direction():
    result = run(two_versions(flip_share=0.5), min_group_size=100)
    row = result[(result["group"] == "b") & (result["metric"] == "selection_rate")].iloc[0]
    assert row["change"] == "changed"


def test_identical_versions_get_intervals_of_non_zero_width():
    result = run(two_versions(flip_share=0.0))
    tested = result[result["change"] != "insufficient_sample"]
    assert (tested["ci_upper"] - tested["ci_lower"] > 0).all()
    assert ((tested["ci_lower"] < 0) & (tested["ci_upper"] > 0)).all()


def test_the_comparison_is_adjusted_by_benjamini_hochberg_by_default():
    frame = two_versions(flip_share=0.4)
    auto, none = (
        run(frame, min_group_size=200),
        run(frame, min_group_size=200, multiple_testing="none"),
    )
    tested = auto["change"] != "insufficient_sample"
    assert set(auto["adjustment"]) == {"bh"} and set(none["adjustment"]) == {"none"}
    assert set(auto.loc[tested, "family_size"]) == {int(tested.sum())}
    assert (auto.loc[tested, "confidence_level"] >= 0.95).all()
    assert (auto["ci_lower"] <= none["ci_lower"] + 1e-12).all()
    assert (auto["ci_upper"] >= none["ci_upper"] - 1e-12).all()
    flagged = auto["change"].isin(["regression", "improvement", "changed"])
    assert (auto.loc[flagged, "change"] == none.loc[flagged, "change"]).all()
    pd.testing.assert_series_equal(auto["delta"], none["delta"])
