"""Disparities against fairlearn's aggregate functions on the raw rows; bootstrap and verdicts."""

import doctest
import hashlib
import io
from functools import partial

import duckdb
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score

from rai_pipeline.core import fairness as fairness_module
from rai_pipeline.core.fairness import (
    AGGREGATES,
    FAIRNESS_COLUMNS,
    MSG_DIFFERENCE_BOUND,
    MSG_FAMILY,
    MSG_N_BOOTSTRAP,
    MSG_RATIO_BAND,
    MSG_REFERENCE_DIMENSION,
    MSG_REFERENCE_GROUP,
    MSG_SEED,
    MSG_SLICE_METRICS_COLUMNS,
    MSG_SLICE_METRICS_METRICS,
    MSG_STATS_GROUPS,
    PER_GROUP_RATES,
    RATES,
    FairnessPolicy,
    fairness_metrics_from_slices,
)
from rai_pipeline.core.metrics import slice_metrics_from_stats
from rai_pipeline.core.multiple_testing import MSG_METHOD, MULTIPLE_TESTING_METHODS
from rai_pipeline.core.slices import build_slices
from rai_pipeline.core.statistics import compute_score_histograms, compute_slice_stats

FEATURES = ["race", "sex"]
MIN_GROUP_SIZE = 30
ORACLE_AGGREGATES = {
    "demographic_parity_difference": (demographic_parity_difference, ("selection_rate",)),
    "demographic_parity_ratio": (demographic_parity_ratio, ("selection_rate",)),
    "equalized_odds_difference": (
        equalized_odds_difference,
        ("true_positive_rate", "false_positive_rate"),
    ),
    "equalized_odds_ratio": (equalized_odds_ratio, ("true_positive_rate", "false_positive_rate")),
    "equal_opportunity_difference": (equal_opportunity_difference, ("true_positive_rate",)),
}
ORACLE_RATES = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "false_discovery_rate": lambda y, d: 1 - precision_score(y, d, zero_division=np.nan),
    "false_omission_rate": lambda y, d: (
        1 - precision_score(y, d, pos_label=0, zero_division=np.nan)
    ),
    "precision_score": partial(precision_score, zero_division=np.nan),
    "prevalence": lambda y, d: float(np.mean(y)),
}


def make_frame(seed=0, n=2000, *, ties=False, null_rate=0.05):
    rng = np.random.default_rng(seed)
    race = rng.choice(["Asian", "Black", "White"], size=n, p=[0.2, 0.3, 0.5]).astype(object)
    race[rng.random(n) < null_rate] = None
    label = rng.binomial(1, 0.35, n)
    shift = np.where(race == "Black", 0.08, 0.0)
    score = np.clip(0.3 + 0.35 * label + shift + rng.normal(0, 0.2, n), 0, 1)
    if ties:
        score = np.round(score, 1)
    return pd.DataFrame(
        {
            "model_name": rng.choice(["adult-income", "other"], size=n),
            "label": label,
            "score": score,
            "decision": (score >= 0.5).astype(int),
            "race": race,
            "sex": rng.choice(["Female", "Male"], size=n).astype(object),
        }
    )


def scenario(name):
    frame, where, intersections = make_frame(), None, []
    if name == "tied_scores":
        frame = make_frame(1, ties=True)
    elif name == "group_without_positives":
        frame.loc[frame["race"] == "Asian", "label"] = 0
    elif name == "small_group":
        frame.loc[frame.index[:12], "race"] = "Pacific"
    elif name == "single_group":
        frame["sex"] = "Female"
    elif name == "intersections":
        intersections = None
    elif name == "where_filter":
        where = {"model_name": "adult-income"}
    return frame, where, intersections


SCENARIOS = [
    "basic",
    "tied_scores",
    "group_without_positives",
    "small_group",
    "single_group",
    "intersections",
    "where_filter",
]


def pipeline(frame, *, where=None, intersections=(), **options):
    conn = duckdb.connect()
    conn.register("ev", frame)
    slices = build_slices(FEATURES, intersections)
    stats = compute_slice_stats(
        conn,
        relation="ev",
        slices=slices,
        label="label",
        score="score",
        decision="decision",
        where=where,
    )
    metrics = slice_metrics_from_stats(stats, min_group_size=MIN_GROUP_SIZE)
    options = {"n_bootstrap": 200, "seed": 0, **options}
    fairness = fairness_metrics_from_slices(metrics, stats=stats, **options)
    return slices, stats, metrics, fairness


def group_labels(frame, spec):
    return frame[list(spec.features)].fillna("unknown").agg("&".join, axis=1)


def comparable(frame, labels, rates):
    """Groups the oracle considers comparable: big enough, every rate's denominator > 0."""
    keep = []
    for group, rows in frame.groupby(labels):
        positives, negatives = rows["label"].sum(), (1 - rows["label"]).sum()
        defined = {
            "selection_rate": True,
            "true_positive_rate": positives > 0,
            "false_positive_rate": negatives > 0,
        }
        if len(rows) >= MIN_GROUP_SIZE and all(defined[rate] for rate in rates):
            keep.append(group)
    return sorted(keep)


@pytest.mark.parametrize("name", SCENARIOS)
def test_aggregates_equal_fairlearn_on_the_rows_of_comparable_groups(name):
    frame, where, intersections = scenario(name)
    slices, _, _, fairness = pipeline(frame, where=where, intersections=intersections)
    if where:
        frame = frame[frame["model_name"] == where["model_name"]]
    aggregates = fairness[fairness["group"] == "*"].set_index(["dimension", "metric"])
    assert len(aggregates) == len(slices) * len(AGGREGATES)
    for spec in slices:
        labels = group_labels(frame, spec)
        for metric, (function, rates) in ORACLE_AGGREGATES.items():
            row = aggregates.loc[(spec.dimension, metric)]
            keep = comparable(frame, labels, rates)
            everything = set(labels)
            assert row["groups_compared"] == len(keep)
            excluded = row["groups_excluded"].split(";") if row["groups_excluded"] else []
            assert excluded == sorted(everything - set(keep))
            if len(keep) < 2:
                assert np.isnan(row["value"])
                assert row["verdict"] == "inconclusive"
                continue
            mask = labels.isin(keep)
            expected = function(
                frame.loc[mask, "label"],
                frame.loc[mask, "decision"],
                sensitive_features=labels[mask],
                method="between_groups",
            )
            assert row["value"] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", ["basic", "group_without_positives", "small_group"])
@pytest.mark.parametrize("reference", [None, "Black"])
def test_per_group_ratios_and_differences_equal_metricframe(name, reference):
    frame, _, _ = scenario(name)
    references = {"race": reference} if reference else None
    _, stats, _, fairness = pipeline(frame, reference_groups=references)
    race = stats[stats["dimension"] == "race"].set_index("group")
    expected_reference = reference or race["n"].idxmax()
    labels = group_labels(frame, build_slices(["race"])[0])
    by_group = MetricFrame(
        metrics=ORACLE_RATES,
        y_true=frame["label"],
        y_pred=frame["decision"],
        sensitive_features=labels,
    ).by_group
    rows = fairness[(fairness["dimension"] == "race") & (fairness["group"] != "*")]
    assert set(rows["reference_group"]) == {expected_reference}
    assert expected_reference not in set(rows["group"])
    assert set(rows["metric"]) == {
        f"{rate}_{kind}" for rate in PER_GROUP_RATES for kind in ("ratio", "difference")
    }
    for row in rows.itertuples():
        rate, kind = row.metric.rsplit("_", 1)
        ours, ref = by_group.loc[row.group, rate], by_group.loc[expected_reference, rate]
        undefined_tpr = race.loc[row.group, "n_pos"] == 0 and rate in (
            "true_positive_rate",
            "false_negative_rate",
        )
        if undefined_tpr:
            assert np.isnan(row.value)  # undefined here; fairlearn reports 0
            assert row.verdict == "insufficient_sample"
            continue
        if kind == "ratio" and ref == 0:
            assert np.isnan(row.value)
            continue
        expected = ours / ref if kind == "ratio" else ours - ref
        assert row.value == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_small_groups_get_insufficient_sample_rows_and_are_listed_as_excluded():
    frame, _, _ = scenario("small_group")
    _, _, _, fairness = pipeline(frame)
    pacific = fairness[fairness["group"] == "Pacific"]
    assert sorted(pacific["metric"]) == sorted(
        f"{r}_{k}" for r in PER_GROUP_RATES for k in ("ratio", "difference")
    )
    assert set(pacific["verdict"]) == {"insufficient_sample"}
    assert set(pacific["disposition"]) == {"pending"}
    assert set(pacific["groups_excluded"]) == {"Pacific"}
    assert pacific["value"].notna().all()
    race_aggregates = fairness[(fairness["dimension"] == "race") & (fairness["group"] == "*")]
    assert race_aggregates["groups_excluded"].str.split(";").map(lambda g: "Pacific" in g).all()


def test_single_group_dimension_is_inconclusive_with_no_per_group_rows():
    frame, _, _ = scenario("single_group")
    _, _, _, fairness = pipeline(frame)
    sex = fairness[fairness["dimension"] == "sex"]
    assert (sex["group"] == "*").all()
    assert set(sex["verdict"]) == {"inconclusive"}
    assert sex["value"].isna().all()
    assert set(sex["groups_compared"]) == {1}


def test_bootstrap_is_reproducible_for_a_seed_and_varies_across_seeds():
    frame = make_frame(3)
    first = pipeline(frame, seed=7)[3]
    again = pipeline(frame, seed=7)[3]
    other = pipeline(frame, seed=8)[3]
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    pd.testing.assert_frame_equal(first[["value"]], other[["value"]])
    assert not first["ci_lower"].equals(other["ci_lower"])


def test_dimension_intervals_do_not_depend_on_other_dimensions():
    frame = make_frame(4)
    both = pipeline(frame)[3]
    conn = duckdb.connect()
    conn.register("ev", frame)
    stats = compute_slice_stats(
        conn,
        relation="ev",
        slices=build_slices(["sex"]),
        label="label",
        score="score",
        decision="decision",
    )
    alone = fairness_metrics_from_slices(
        slice_metrics_from_stats(stats), stats=stats, n_bootstrap=200, seed=0
    )
    pd.testing.assert_frame_equal(
        both[both["dimension"] == "sex"].reset_index(drop=True), alone, check_exact=True
    )


def test_cells_recovered_from_slice_metrics_give_the_same_table():
    frame, _, _ = scenario("group_without_positives")
    _, _, metrics, with_stats = pipeline(frame)
    without = fairness_metrics_from_slices(metrics, n_bootstrap=200, seed=0)
    pd.testing.assert_frame_equal(with_stats, without, check_exact=True)


def test_multinomial_bootstrap_spread_matches_the_binomial_standard_error():
    """A per-group difference's bootstrap interval ~ ±z·sqrt(p1 q1 / n1 + p2 q2 / n2)."""
    n1, n2, s1, s2 = 4000, 6000, 1200, 2100
    stats = pd.DataFrame(
        {
            "dimension": ["overall", "g", "g"],
            "group": ["all", "a", "b"],
            "n": [n1 + n2, n1, n2],
            "n_pos": [5000, 2000, 3000],
            "n_neg": [5000, 2000, 3000],
            "tp": [s1 // 2 + s2 // 2, s1 // 2, s2 // 2],
            "fp": [s1 // 2 + s2 // 2, s1 // 2, s2 // 2],
            "tn": [5000 - (s1 + s2) // 2, 2000 - s1 // 2, 3000 - s2 // 2],
            "fn": [5000 - (s1 + s2) // 2, 2000 - s1 // 2, 3000 - s2 // 2],
            "sum_sq_error": [1.0, 0.5, 0.5],
            "auc": [0.5, 0.5, 0.5],
        }
    )
    out = fairness_metrics_from_slices(
        slice_metrics_from_stats(stats), stats=stats, n_bootstrap=4000, seed=1
    )
    row = out[(out["metric"] == "selection_rate_difference") & (out["group"] == "a")].iloc[0]
    p1, p2 = s1 / n1, s2 / n2
    se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    assert row["value"] == pytest.approx(p1 - p2)
    assert row["ci_upper"] - row["ci_lower"] == pytest.approx(2 * 1.959964 * se, rel=0.1)
    assert row["ci_lower"] < row["value"] < row["ci_upper"]


def synthetic_stats(rates, n):
    """Two groups ``a``/``b`` of ``n`` rows with the given (selection = TPR = FPR) rates."""
    rows = []
    for group, rate in zip(["a", "b"], rates, strict=True):
        half = n // 2
        tp = fp = round(rate * half)
        rows.append(
            {
                "dimension": "g",
                "group": group,
                "n": 2 * half,
                "n_pos": half,
                "n_neg": half,
                "tp": tp,
                "fp": fp,
                "tn": half - fp,
                "fn": half - tp,
                "sum_sq_error": 0.0,
                "auc": 0.5,
            }
        )
    total = {
        key: sum(row[key] for row in rows) if key not in ("dimension", "group") else None
        for key in rows[0]
    }
    total.update(dimension="overall", group="all")
    return pd.DataFrame([total, *rows])


@pytest.mark.parametrize(
    ("rates", "n", "verdict"),
    [
        ((0.40, 0.40), 400_000, "pass"),
        ((0.20, 0.80), 20_000, "fail"),
        ((0.40, 0.50), 2_000, "inconclusive"),
    ],
)
def test_verdicts_follow_the_whole_interval_against_the_band(rates, n, verdict):
    stats = synthetic_stats(rates, n)
    out = fairness_metrics_from_slices(
        slice_metrics_from_stats(stats), stats=stats, n_bootstrap=500, seed=0
    )
    # The planted rates: selection rate, TPR and FPR (the other rates differ or not by design).
    planted = out[(out["group"] == "*") | out["metric"].str.startswith(RATES)]
    assert set(planted["verdict"]) == {verdict}
    expected_disposition = "none_required" if verdict == "pass" else "pending"
    assert set(planted["disposition"]) == {expected_disposition}


def test_thresholds_are_reported_from_the_policy():
    stats = synthetic_stats((0.4, 0.45), 10_000)
    policy = FairnessPolicy(ratio_band=(0.9, 1.1), difference_bound=0.05)
    out = fairness_metrics_from_slices(
        slice_metrics_from_stats(stats), stats=stats, policy=policy, n_bootstrap=100
    ).set_index("metric")
    ratio = out.loc["demographic_parity_ratio"]
    assert (ratio["threshold_lower"], ratio["threshold_upper"]) == (0.9, 1.1)
    aggregate = out.loc["demographic_parity_difference"]
    assert (aggregate["threshold_lower"], aggregate["threshold_upper"]) == (0.0, 0.05)
    per_group = out.loc["selection_rate_difference"]
    assert (per_group["threshold_lower"], per_group["threshold_upper"]) == (-0.05, 0.05)


def test_output_columns_and_order_are_deterministic():
    frame, _, intersections = scenario("intersections")
    slices, _, _, fairness = pipeline(frame, intersections=intersections)
    assert list(fairness.columns) == list(FAIRNESS_COLUMNS)
    assert list(dict.fromkeys(fairness["dimension"])) == [s.dimension for s in slices]
    race = fairness[fairness["dimension"] == "race"]
    assert list(race["metric"][: len(AGGREGATES)]) == [name for name, *_ in AGGREGATES]
    per_group = race.iloc[len(AGGREGATES) :]
    expected = [f"{rate}_{kind}" for rate in PER_GROUP_RATES for kind in ("ratio", "difference")]
    assert PER_GROUP_RATES[: len(RATES)] == RATES
    assert list(dict.fromkeys(per_group["metric"])) == expected
    for _, part in per_group.groupby("metric", sort=False):
        assert list(part["group"]) == sorted(part["group"])
    assert fairness["groups_compared"].dtype == np.int64
    assert fairness.loc[fairness["group"] == "*", "reference_group"].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio_band": (1.2, 1.5)}, MSG_RATIO_BAND.format(value=(1.2, 1.5))),
        ({"ratio_band": (0.0, 1.25)}, MSG_RATIO_BAND.format(value=(0.0, 1.25))),
        ({"ratio_band": (0.8,)}, MSG_RATIO_BAND.format(value=(0.8,))),
        ({"difference_bound": 0}, MSG_DIFFERENCE_BOUND.format(value=0)),
        ({"difference_bound": 1.5}, MSG_DIFFERENCE_BOUND.format(value=1.5)),
    ],
)
def test_policy_rejects_bands_that_cannot_hold(kwargs, message):
    with pytest.raises(ValueError) as raised:
        FairnessPolicy(**kwargs)
    assert str(raised.value) == message


def test_policy_defaults_and_list_band():
    assert FairnessPolicy() == FairnessPolicy(ratio_band=(0.8, 1.25), difference_bound=0.1)
    assert FairnessPolicy(ratio_band=[0.75, 1.3]).ratio_band == (0.75, 1.3)


def test_bad_inputs_are_rejected_with_their_messages():
    frame = make_frame(5)
    _, stats, metrics, _ = pipeline(frame, n_bootstrap=10)
    cases = [
        (
            {"slice_metrics": metrics.drop(columns=["status"])},
            MSG_SLICE_METRICS_COLUMNS.format(missing=["status"]),
        ),
        (
            {"slice_metrics": metrics[metrics["metric"] != "prevalence"]},
            MSG_SLICE_METRICS_METRICS.format(missing=["prevalence"]),
        ),
        (
            {"reference_groups": {"religion": "x"}},
            MSG_REFERENCE_DIMENSION.format(dimension="religion", dimensions=["race", "sex"]),
        ),
        (
            {"reference_groups": {"race": "Martian"}},
            MSG_REFERENCE_GROUP.format(
                group="Martian",
                dimension="race",
                groups=["Asian", "Black", "White", "unknown"],
            ),
        ),
        ({"n_bootstrap": 0}, MSG_N_BOOTSTRAP.format(value=0)),
        ({"seed": -1}, MSG_SEED.format(value=-1)),
        (
            {"stats": stats[stats["group"] != "Asian"]},
            MSG_STATS_GROUPS.format(only_metrics=[("race", "Asian")], only_stats=[]),
        ),
    ]
    for overrides, message in cases:
        arguments = {"slice_metrics": metrics, **overrides}
        with pytest.raises(ValueError) as raised:
            fairness_metrics_from_slices(**arguments)
        assert str(raised.value) == message


def test_docstring_examples_run():
    assert doctest.testmod(fairness_module).failed == 0


# Multiple testing ----------------------------------------------------------------------------


def many_groups_stats(seed=0, n=3000):
    """A reference group and eight others whose rates drift further from it, group by group."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, group in enumerate(["ref", *[f"g{i}" for i in range(1, 9)]]):
        size = 2 * n if group == "ref" else n
        tpr, fpr = 0.8 - 0.015 * k, 0.1 + 0.012 * k
        probabilities = [0.3 * tpr, 0.7 * fpr, 0.7 * (1 - fpr), 0.3 * (1 - tpr)]
        tp, fp, tn, fn = (int(c) for c in rng.multinomial(size, probabilities))
        rows.append(
            {
                "dimension": "g",
                "group": group,
                "n": size,
                "n_pos": tp + fn,
                "n_neg": fp + tn,
                "tp": tp,
                "fp": fp,
                "tn": tn,
                "fn": fn,
                "sum_sq_error": 0.0,
                "auc": 0.5,
            }
        )
    frame = pd.DataFrame(rows)
    total = frame.drop(columns=["dimension", "group"]).sum().to_dict()
    overall = pd.DataFrame([{"dimension": "overall", "group": "all", **total}])
    return pd.concat([overall, frame], ignore_index=True)


def adjusted(stats, method, family="dimension"):
    return fairness_metrics_from_slices(
        slice_metrics_from_stats(stats),
        stats=stats,
        n_bootstrap=2000,
        seed=0,
        multiple_testing=method,
        multiple_testing_family=family,
    )


def test_no_adjustment_is_the_default_and_is_recorded():
    stats = many_groups_stats()
    default = fairness_metrics_from_slices(
        slice_metrics_from_stats(stats), stats=stats, n_bootstrap=2000, seed=0
    )
    pd.testing.assert_frame_equal(default, adjusted(stats, "none"), check_exact=True)
    assert set(default["adjustment"]) == {"none"}
    assert set(default["confidence_level"]) == {0.95}
    assert set(default["family_size"]) == {1}


def test_adjusted_verdicts_are_read_off_wider_intervals_and_never_reversed():
    stats = many_groups_stats()
    runs = {method: adjusted(stats, method) for method in ("none", "holm", "bh")}
    none, holm, bh = runs["none"], runs["holm"], runs["bh"]
    per_group = none["group"] != "*"
    for method, out in runs.items():
        pd.testing.assert_frame_equal(out[~per_group], none[~per_group], check_exact=True)
        pd.testing.assert_series_equal(out["value"], none["value"], check_exact=True)
        rows = out[per_group]
        assert set(rows["adjustment"]) == {method}
        inside = (rows["threshold_lower"] <= rows["ci_lower"]) & (
            rows["ci_upper"] <= rows["threshold_upper"]
        )
        outside = (rows["ci_upper"] < rows["threshold_lower"]) | (
            rows["ci_lower"] > rows["threshold_upper"]
        )
        expected = np.where(inside, "pass", np.where(outside, "fail", "inconclusive"))
        assert (rows["verdict"] == expected).all()
        assert (rows["ci_lower"] <= none.loc[per_group, "ci_lower"]).all()
        assert (rows["ci_upper"] >= none.loc[per_group, "ci_upper"]).all()
    conclusive = {m: runs[m]["verdict"].isin(["pass", "fail"]) & per_group for m in runs}
    assert not (conclusive["holm"] & ~conclusive["bh"]).any()  # BH rejects what Holm rejects
    assert not (conclusive["bh"] & ~conclusive["none"]).any()
    for method in ("holm", "bh"):
        same = runs[method].loc[conclusive[method], "verdict"]
        assert (same == none.loc[conclusive[method], "verdict"]).all()
    # The planted drift makes some unadjusted claims that Holm does not make.
    assert (conclusive["none"] & ~conclusive["holm"]).any()
    assert conclusive["holm"].any()
    m = int(per_group.sum())  # every group is ok: every per-group row is in the family
    assert set(holm.loc[per_group, "family_size"]) == {m}
    levels = holm.loc[per_group, "confidence_level"]
    assert ((levels > 0.95) & (levels <= 1 - 0.05 / m + 1e-12)).all()
    assert len(set(bh.loc[per_group, "confidence_level"])) <= 2  # one level per claim type


def test_families_per_metric_hold_the_comparisons_of_one_metric():
    stats = many_groups_stats()
    out = adjusted(stats, "holm", family="metric")
    per_group = out[out["group"] != "*"]
    assert set(per_group["family_size"]) == {8}
    by_dimension = adjusted(stats, "holm")
    wider = by_dimension.loc[per_group.index, "ci_upper"] >= per_group["ci_upper"]
    assert wider.all()  # 128 comparisons in a family adjust more than 8


def test_rows_that_are_not_tested_keep_the_nominal_level():
    frame, _, _ = scenario("small_group")
    _, _, _, out = pipeline(frame, multiple_testing="holm", n_bootstrap=400)
    pacific = out[out["group"] == "Pacific"]
    assert set(pacific["verdict"]) == {"insufficient_sample"}
    assert set(pacific["confidence_level"]) == {0.95}
    race = out[(out["dimension"] == "race") & (out["group"] != "*")]
    tested = race[race["group"] != "Pacific"]
    assert set(race["family_size"]) == {len(tested)}


def test_bad_multiple_testing_options_are_rejected():
    stats = many_groups_stats()
    metrics = slice_metrics_from_stats(stats)
    with pytest.raises(ValueError) as raised:
        fairness_metrics_from_slices(metrics, stats=stats, multiple_testing="bonferroni")
    assert str(raised.value) == MSG_METHOD.format(
        choices=MULTIPLE_TESTING_METHODS, value="bonferroni"
    )
    with pytest.raises(ValueError) as raised:
        fairness_metrics_from_slices(metrics, stats=stats, multiple_testing_family="slice")
    assert str(raised.value) == MSG_FAMILY.format(choices=("dimension", "metric"), value="slice")


# Reproducibility of the whole chain ----------------------------------------------------------


def evidence_tables(frame):
    conn = duckdb.connect()
    conn.register("ev", frame)
    slices = build_slices(FEATURES, None)
    stats = compute_slice_stats(
        conn, relation="ev", slices=slices, label="label", score="score", decision="decision"
    )
    hist = compute_score_histograms(
        conn, relation="ev", slices=slices, label="label", score="score", bins=100
    )
    metrics = slice_metrics_from_stats(stats, histograms=hist, n_bootstrap=200, seed=3)
    fairness = fairness_metrics_from_slices(
        metrics, stats=stats, n_bootstrap=200, seed=3, multiple_testing="bh"
    )
    return {"slice_metrics": metrics, "fairness_metrics": fairness}


def digests(tables):
    out = {}
    for name, table in tables.items():
        parquet = io.BytesIO()
        table.to_parquet(parquet, index=False)
        out[name] = (
            hashlib.sha256(table.to_csv(index=False).encode()).hexdigest(),
            hashlib.sha256(parquet.getvalue()).hexdigest(),
        )
    return out


def test_identical_inputs_give_byte_identical_tables():
    frame = make_frame(21)
    assert digests(evidence_tables(frame)) == digests(evidence_tables(frame.copy()))
