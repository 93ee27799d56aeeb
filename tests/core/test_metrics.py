"""Slice metrics from sufficient statistics against fairlearn's MetricFrame on the raw rows."""

import math
from functools import partial
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from scipy.stats import rankdata

from rai_pipeline.core.engine.slices import OVERALL, build_slices
from rai_pipeline.core.engine.statistics import compute_score_histograms, compute_slice_stats
from rai_pipeline.core.metrics.histograms import MSG_COLUMNS, MSG_SHAPE, REQUIRED_COLUMNS
from rai_pipeline.core.metrics.score_intervals import MSG_HISTOGRAM_COUNTS, MSG_HISTOGRAM_GROUPS
from rai_pipeline.core.metrics.slice_metrics import (
    BOOTSTRAP_BINS,
    METRIC_NAMES,
    MSG_MINIMUM,
    MSG_STATS_COLUMNS,
    MSG_STATS_COUNTS,
    REQUIRED_STATS_COLUMNS,
    SLICE_METRIC_COLUMNS,
    slice_metrics_from_stats,
)
from rai_pipeline.core.stats.bootstrap import MSG_N_BOOTSTRAP, MSG_SEED
from rai_pipeline.core.stats.intervals import MSG_CONFIDENCE_LEVEL, wilson_interval
from tests.core.builders import FEATURES, make_frame, scenario, stats_for

SCENARIOS = [
    "basic",
    "tied_scores",
    "group_without_positives",
    "group_without_negatives",
    "group_without_selections",
    "single_group",
    "many_nulls",
    "where_filter",
]


def engine_metrics(frame, slices, where=None, **options):
    conn = duckdb.connect()
    conn.register("ev", frame)
    stats = stats_for(conn, slices, where)
    return stats, slice_metrics_from_stats(stats, **options)


def _auc_or_nan(y_true, y_score):
    return skm.roc_auc_score(y_true, y_score) if 0 < np.sum(y_true) < len(y_true) else np.nan


PREDICTION_METRICS = {
    "count": count,
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "true_negative_rate": true_negative_rate,
    "accuracy_score": skm.accuracy_score,
    "precision_score": partial(skm.precision_score, zero_division=np.nan),
    "prevalence": lambda y_true, y_pred: float(np.mean(y_true)),
    # FOR = 1 - the precision of the negative class (NPV); FDR = 1 - precision, below.
    "false_omission_rate": lambda y_true, y_pred: (
        1 - skm.precision_score(y_true, y_pred, pos_label=0, zero_division=np.nan)
    ),
}
SCORE_METRICS = {
    "roc_auc_score": _auc_or_nan,
    "brier_score_loss": partial(skm.brier_score_loss, labels=[0, 1]),
}
# Metrics whose denominator is the positives, the negatives or the selected rows.
DENOMINATORS = {
    "true_positive_rate": "positives",
    "false_negative_rate": "positives",
    "false_positive_rate": "negatives",
    "true_negative_rate": "negatives",
    "precision_score": "selected",
    "false_discovery_rate": "selected",
    "false_omission_rate": "rejected",
    "roc_auc_score": "both",
}


def oracle_metrics(frame, slices):
    """Long frame (dimension, group, metric, value, denominator_zero) from MetricFrame."""
    rows = []
    for spec in [OVERALL, *slices]:
        if spec.is_overall:
            sensitive = pd.Series("all", index=frame.index, name="overall")
            labels = sensitive
        else:
            sensitive = frame[list(spec.features)].fillna("unknown")
            labels = sensitive.agg("&".join, axis=1)
        by_prediction = MetricFrame(
            metrics=PREDICTION_METRICS,
            y_true=frame["label"],
            y_pred=frame["decision"],
            sensitive_features=sensitive,
        ).by_group
        by_score = MetricFrame(
            metrics=SCORE_METRICS,
            y_true=frame["label"],
            y_pred=frame["score"],
            sensitive_features=sensitive,
        ).by_group
        table = by_prediction.join(by_score)
        table["false_discovery_rate"] = 1 - table["precision_score"]
        for key, values in table.iterrows():
            group = "&".join(key) if isinstance(key, tuple) else str(key)
            rows_g = frame[labels == group]
            zero = {
                "positives": rows_g["label"].sum() == 0,
                "negatives": (1 - rows_g["label"]).sum() == 0,
                "selected": rows_g["decision"].sum() == 0,
                "rejected": (1 - rows_g["decision"]).sum() == 0,
            }
            zero["both"] = zero["positives"] or zero["negatives"]
            for metric in METRIC_NAMES:
                rows.append(
                    {
                        "dimension": spec.dimension,
                        "group": group,
                        "metric": metric,
                        "oracle": float(values[metric]),
                        "denominator_zero": bool(zero.get(DENOMINATORS.get(metric), False)),
                    }
                )
    return pd.DataFrame(rows)


# slice_metrics_from_stats --------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_point_estimate_equals_fairlearn_and_sklearn(name):
    frame, where, _ = scenario(name)
    slices = build_slices(FEATURES)
    _, got = engine_metrics(frame, slices, where)
    filtered = frame if where is None else frame[frame["model_name"] == where["model_name"]]
    expected = oracle_metrics(filtered, slices)
    assert list(got.columns) == list(SLICE_METRIC_COLUMNS)
    merged = got.merge(expected, on=["dimension", "group", "metric"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    undefined = merged["status"] == "undefined"
    assert (undefined == merged["denominator_zero"]).all()
    assert merged.loc[undefined, "value"].isna().all()
    defined = merged[~undefined]
    np.testing.assert_allclose(defined["value"], defined["oracle"], rtol=1e-9, atol=1e-9)
    assert got[["dimension", "group"]].drop_duplicates().shape[0] * len(METRIC_NAMES) == len(got)


def test_false_discovery_and_omission_rates_by_hand():
    """A group that selects everyone has no false omission rate; one that selects nobody has
    no false discovery rate (nor precision)."""
    stats = pd.DataFrame(
        {
            "dimension": ["overall", "g", "g", "g"],
            "group": ["all", "everyone", "nobody", "some"],
            "n": [60, 20, 20, 20],
            "tp": [14, 8, 0, 6],
            "fp": [16, 12, 0, 4],
            "tn": [24, 0, 16, 8],
            "fn": [6, 0, 4, 2],
            "sum_sq_error": [6.0, 2.0, 2.0, 2.0],
            "auc": [0.7, 0.7, 0.7, 0.7],
        }
    )
    got = slice_metrics_from_stats(stats, min_group_size=0).set_index(["group", "metric"])
    assert got.loc[("all", "false_discovery_rate"), "value"] == 16 / 30
    assert got.loc[("all", "false_omission_rate"), "value"] == 6 / 30
    assert got.loc[("everyone", "false_discovery_rate"), "value"] == 12 / 20
    assert got.loc[("everyone", "false_omission_rate"), "status"] == "undefined"
    assert np.isnan(got.loc[("everyone", "false_omission_rate"), "value"])
    for metric in ("false_discovery_rate", "precision_score"):
        assert got.loc[("nobody", metric), "status"] == "undefined"
    assert got.loc[("nobody", "false_omission_rate"), "value"] == 4 / 20
    some = got.loc["some"]
    assert some.loc["false_discovery_rate", "value"] == 1 - some.loc["precision_score", "value"]
    lower, upper = wilson_interval(2, 10)
    assert some.loc["false_omission_rate", ["ci_lower", "ci_upper"]].tolist() == [lower, upper]


def test_intervals_are_wilson_on_each_metric_numerator_and_denominator():
    stats, got = engine_metrics(make_frame(3), build_slices(FEATURES), confidence_level=0.9)
    row = stats.iloc[1]
    expected = {
        "selection_rate": (row.tp + row.fp, row.n),
        "true_positive_rate": (row.tp, row.tp + row.fn),
        "false_positive_rate": (row.fp, row.fp + row.tn),
        "false_negative_rate": (row.fn, row.tp + row.fn),
        "true_negative_rate": (row.tn, row.fp + row.tn),
        "accuracy_score": (row.tp + row.tn, row.n),
        "precision_score": (row.tp, row.tp + row.fp),
        "prevalence": (row.n_pos, row.n),
        "false_discovery_rate": (row.fp, row.tp + row.fp),
        "false_omission_rate": (row.fn, row.fn + row.tn),
    }
    part = got[(got["dimension"] == row.dimension) & (got["group"] == row.group)]
    part = part.set_index("metric")
    for metric, (successes, trials) in expected.items():
        lower, upper = wilson_interval(successes, trials, confidence_level=0.9)
        assert part.loc[metric, "ci_lower"] == pytest.approx(lower, abs=1e-15)
        assert part.loc[metric, "ci_upper"] == pytest.approx(upper, abs=1e-15)
    for metric in ("count", "roc_auc_score", "brier_score_loss"):
        assert np.isnan(part.loc[metric, ["ci_lower", "ci_upper"]].astype(float)).all()


def test_rows_follow_stats_order_then_metric_order():
    stats, got = engine_metrics(make_frame(4), build_slices(FEATURES))
    assert list(got["metric"][: len(METRIC_NAMES)]) == list(METRIC_NAMES)
    pairs = got[["dimension", "group"]].drop_duplicates().values.tolist()
    assert pairs == stats[["dimension", "group"]].values.tolist()
    assert got["n"].dtype == np.int64


def test_small_groups_are_reported_as_insufficient_sample_never_dropped():
    frame = make_frame(5)
    frame.loc[frame.index[:12], "race"] = "Pacific"
    _, got = engine_metrics(frame, build_slices(["race"]), min_group_size=30)
    pacific = got[got["group"] == "Pacific"]
    assert len(pacific) == len(METRIC_NAMES)
    assert set(pacific["status"]) <= {"insufficient_sample", "undefined"}
    assert pacific.loc[pacific["metric"] == "count", "value"].item() == 12
    assert pacific["value"].notna().sum() >= 8
    others = got[(got["dimension"] == "race") & (got["group"] != "Pacific")]
    assert (others["status"] == "ok").all()


def test_minimum_positives_and_negatives_mark_groups_but_not_overall():
    stats, _ = engine_metrics(make_frame(6), build_slices(["sex"]))
    most_pos = int(stats["n_pos"].iloc[1:].max())
    got = slice_metrics_from_stats(stats, min_group_size=1, min_positives=most_pos + 1)
    assert set(got.loc[got["dimension"] == "sex", "status"]) == {"insufficient_sample"}
    assert set(got.loc[got["dimension"] == "overall", "status"]) == {"ok"}
    most_neg = int(stats["n_neg"].iloc[1:].max())
    got = slice_metrics_from_stats(stats, min_negatives=most_neg + 1)
    assert set(got.loc[got["dimension"] == "sex", "status"]) == {"insufficient_sample"}
    tiny = slice_metrics_from_stats(stats.iloc[:1], min_group_size=10**9)
    assert set(tiny["status"]) == {"ok"}


def test_undefined_wins_over_insufficient_sample():
    frame, _, _ = scenario("group_without_positives")
    frame = frame[(frame["race"] != "Asian") | (frame.index < 300)]
    _, got = engine_metrics(frame, build_slices(["race"]), min_group_size=10**6)
    asian = got[got["group"] == "Asian"].set_index("metric")
    assert asian.loc["true_positive_rate", "status"] == "undefined"
    assert asian.loc["selection_rate", "status"] == "insufficient_sample"


def test_stats_round_tripped_through_the_warehouse_give_the_same_metrics():
    stats, got = engine_metrics(make_frame(7), build_slices(FEATURES))
    conn = duckdb.connect()
    conn.register("stats_in", stats)
    back = conn.execute("SELECT * FROM stats_in").df()
    pd.testing.assert_frame_equal(slice_metrics_from_stats(back), got)


def test_bad_stats_and_options_are_rejected_with_their_messages():
    stats, _ = engine_metrics(make_frame(8), build_slices(["sex"]))
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(stats.drop(columns=["tp", "auc"]))
    assert str(raised.value) == MSG_STATS_COLUMNS.format(
        missing=["tp", "auc"], required=list(REQUIRED_STATS_COLUMNS)
    )
    broken = stats.assign(n=stats["n"] + 1)
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(broken)
    assert str(raised.value) == MSG_STATS_COUNTS
    for name in ("min_group_size", "min_positives", "min_negatives"):
        with pytest.raises(ValueError) as raised:
            slice_metrics_from_stats(stats, **{name: -1})
        assert str(raised.value) == MSG_MINIMUM.format(name=name, value=-1)
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(stats, confidence_level=95)
    assert str(raised.value) == MSG_CONFIDENCE_LEVEL.format(value=95)


# Bootstrap intervals for roc_auc_score and brier_score_loss from histograms -------------------


def engine_with_histograms(frame, slices, *, bins=BOOTSTRAP_BINS, score_range=(0, 1), **options):
    conn = duckdb.connect()
    conn.register("ev", frame)
    stats = compute_slice_stats(
        conn, relation="ev", slices=slices, label="label", score="score", decision="decision"
    )
    hist = compute_score_histograms(
        conn,
        relation="ev",
        slices=slices,
        label="label",
        score="score",
        bins=bins,
        score_range=score_range,
    )
    return stats, hist, slice_metrics_from_stats(stats, histograms=hist, **options)


def delong_standard_error(y, s):
    """DeLong's standard error of the AUC, from placement values on the raw rows."""
    pos, neg = s[y == 1], s[y == 0]
    ranks_all = rankdata(np.concatenate([pos, neg]))
    v_pos = (ranks_all[: len(pos)] - rankdata(pos)) / len(neg)
    v_neg = 1 - (ranks_all[len(pos) :] - rankdata(neg)) / len(pos)
    return math.sqrt(v_pos.var(ddof=1) / len(pos) + v_neg.var(ddof=1) / len(neg))


def test_histograms_add_auc_and_brier_intervals_and_change_nothing_else():
    frame = make_frame(11)
    slices = build_slices(FEATURES)
    stats, _, got = engine_with_histograms(frame, slices, n_bootstrap=200)
    plain = slice_metrics_from_stats(stats)
    scored = got["metric"].isin(["roc_auc_score", "brier_score_loss"])
    pd.testing.assert_frame_equal(got[~scored], plain[~scored], check_exact=True)
    pd.testing.assert_series_equal(got["value"], plain["value"], check_exact=True)
    rows = got[scored]
    assert rows[["ci_lower", "ci_upper"]].notna().all().all()
    assert ((rows["ci_lower"] <= rows["value"]) & (rows["value"] <= rows["ci_upper"])).all()
    auc = rows[rows["metric"] == "roc_auc_score"]
    assert ((auc["ci_lower"] >= 0) & (auc["ci_upper"] <= 1)).all()


def test_auc_interval_width_matches_delong_on_the_raw_rows():
    """A 95% interval spans about 2 * 1.96 DeLong standard errors (within 10 %)."""
    rng = np.random.default_rng(0)
    n = 4000
    label = rng.binomial(1, 0.3, n)
    score = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.3 * label - 1)))
    frame = pd.DataFrame(
        {"label": label, "score": score, "decision": (score >= 0.5).astype(int), "g": "x"}
    )
    _, _, got = engine_with_histograms(frame, [], n_bootstrap=2000)
    row = got[got["metric"] == "roc_auc_score"].iloc[0]
    assert row["value"] == pytest.approx(skm.roc_auc_score(label, score), abs=1e-12)
    width = row["ci_upper"] - row["ci_lower"]
    expected = 2 * NormalDist().inv_cdf(0.975) * delong_standard_error(label, score)
    assert width == pytest.approx(expected, rel=0.1)


def test_brier_interval_width_matches_the_standard_error_of_a_mean():
    """Brier is the mean of (s - y)^2; its 95% interval spans about 2 * 1.96 * sd / sqrt(n)."""
    rng = np.random.default_rng(5)
    n = 4000
    label = rng.binomial(1, 0.3, n)
    score = np.clip(0.3 + 0.3 * label + rng.normal(0, 0.2, n), 0, 1)
    frame = pd.DataFrame({"label": label, "score": score, "decision": (score >= 0.5).astype(int)})
    _, _, got = engine_with_histograms(frame, [], n_bootstrap=2000)
    row = got[got["metric"] == "brier_score_loss"].iloc[0]
    errors = (score - label) ** 2
    assert row["value"] == pytest.approx(skm.brier_score_loss(label, score), rel=1e-12)
    expected = 2 * NormalDist().inv_cdf(0.975) * errors.std(ddof=1) / math.sqrt(n)
    assert row["ci_upper"] - row["ci_lower"] == pytest.approx(expected, rel=0.1)


def test_score_intervals_are_reproducible_and_per_group_streams():
    frame = make_frame(12)
    options = {"bins": 200, "n_bootstrap": 100}
    first = engine_with_histograms(frame, build_slices(FEATURES), seed=4, **options)[2]
    again = engine_with_histograms(frame, build_slices(FEATURES), seed=4, **options)[2]
    other = engine_with_histograms(frame, build_slices(FEATURES), seed=5, **options)[2]
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert not first["ci_lower"].equals(other["ci_lower"])
    alone = engine_with_histograms(frame, build_slices(["sex"]), seed=4, **options)[2]
    sex = first[first["dimension"].isin(["overall", "sex"])].reset_index(drop=True)
    # DuckDB's DOUBLE sum behind the Brier value adds in an order that depends on the grouping
    # sets, so the last bits of brier_score_loss may differ; every other number is identical.
    brier = sex["metric"] == "brier_score_loss"
    pd.testing.assert_frame_equal(sex[~brier], alone[~brier], check_exact=True)
    pd.testing.assert_frame_equal(sex[brier], alone[brier], rtol=1e-12)


def test_score_intervals_for_scores_outside_the_unit_interval():
    frame = make_frame(13)
    frame["score"] = frame["score"] * 8 - 3  # a margin, not a probability
    _, hist, got = engine_with_histograms(
        frame, build_slices(["sex"]), score_range="auto", n_bootstrap=100
    )
    assert hist["bin_lower"].min() == frame["score"].min()
    rows = got[got["metric"].isin(["roc_auc_score", "brier_score_loss"])]
    assert rows[["ci_lower", "ci_upper"]].notna().all().all()
    brier = rows[rows["metric"] == "brier_score_loss"]
    assert (brier["ci_upper"] > 1).any()  # not clipped to [0, 1]: Brier of margins can exceed 1


def test_undefined_auc_has_no_interval():
    frame, _, _ = scenario("group_without_positives")
    _, _, got = engine_with_histograms(frame, build_slices(["race"]), n_bootstrap=50)
    asian = got[(got["group"] == "Asian")].set_index("metric")
    assert asian.loc["roc_auc_score", "status"] == "undefined"
    assert np.isnan(asian.loc["roc_auc_score", ["ci_lower", "ci_upper"]].astype(float)).all()
    assert asian.loc["brier_score_loss", ["ci_lower", "ci_upper"]].notna().all()


def test_histograms_that_do_not_match_the_stats_are_rejected():
    frame = make_frame(14)
    stats, hist, _ = engine_with_histograms(frame, build_slices(["sex"]), bins=10, n_bootstrap=10)
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(stats, histograms=hist.drop(columns=["sum_sq_score"]))
    assert str(raised.value) == MSG_COLUMNS.format(
        missing=["sum_sq_score"], required=[*REQUIRED_COLUMNS, "sum_sq_score"]
    )
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(stats, histograms=hist[hist["group"] != "Male"])
    assert str(raised.value) == MSG_HISTOGRAM_GROUPS.format(
        only_histograms=[], only_stats=[("sex", "Male")]
    )
    fewer = hist.copy()
    fewer.loc[fewer.index[-1], "n"] += 1
    last = (fewer.loc[fewer.index[-1], "dimension"], fewer.loc[fewer.index[-1], "group"])
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(stats, histograms=fewer)
    assert str(raised.value) == MSG_HISTOGRAM_COUNTS.format(groups=[last])
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(stats, histograms=hist.assign(n=hist["n"] - 0.5))
    assert str(raised.value) == MSG_SHAPE
    for value, message in ((0, MSG_N_BOOTSTRAP), (True, MSG_N_BOOTSTRAP)):
        with pytest.raises(ValueError) as raised:
            slice_metrics_from_stats(stats, histograms=hist, n_bootstrap=value)
        assert str(raised.value) == message.format(value=value)
    with pytest.raises(ValueError) as raised:
        slice_metrics_from_stats(stats, seed=-1)
    assert str(raised.value) == MSG_SEED.format(value=-1)
