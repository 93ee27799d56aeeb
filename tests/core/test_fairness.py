"""Disparities against fairlearn's aggregate functions on the raw rows; bootstrap and verdicts."""

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
from statsmodels.stats.proportion import confint_proportions_2indep

from rai_pipeline.core.engine.slices import build_slices
from rai_pipeline.core.engine.statistics import compute_score_histograms, compute_slice_stats
from rai_pipeline.core.metrics.aggregates import AGGREGATES
from rai_pipeline.core.metrics.fairness import (
    FAIRNESS_COLUMNS,
    MSG_AGGREGATE_FAMILY,
    MSG_FAMILY,
    fairness_metrics_from_slices,
)
from rai_pipeline.core.metrics.group_rates import (
    MSG_REFERENCE_DIMENSION,
    MSG_REFERENCE_GROUP,
    MSG_SLICE_METRICS_COLUMNS,
    MSG_SLICE_METRICS_METRICS,
    MSG_STATS_GROUPS,
    PER_GROUP_RATES,
    RATES,
)
from rai_pipeline.core.metrics.policy import MSG_DIFFERENCE_BOUND, MSG_RATIO_BAND, FairnessPolicy
from rai_pipeline.core.metrics.slice_metrics import slice_metrics_from_stats
from rai_pipeline.core.metrics.verdicts import EXCLUDED_GROUPS
from rai_pipeline.core.stats.intervals import wilson_interval
from rai_pipeline.core.stats.multiple_testing import MSG_METHOD, MULTIPLE_TESTING_SETTINGS
from tests.core.builders import FEATURES, group_labels, scenario, stats_for
from tests.core.builders import make_frame as base_frame

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


SCENARIOS = [
    "basic",
    "tied_scores",
    "group_without_positives",
    "small_group",
    "single_group",
    "intersections",
    "where_filter",
]


def make_frame(seed=0, n=2000):
    """A frame in which one group's scores are shifted up: disparities to find."""
    return base_frame(seed, n, black_shift=0.08)


def pipeline(frame, *, where=None, intersections=(), **options):
    conn = duckdb.connect()
    conn.register("ev", frame)
    slices = build_slices(FEATURES, intersections)
    stats = stats_for(conn, slices, where)
    metrics = slice_metrics_from_stats(
        stats, min_group_size=MIN_GROUP_SIZE, min_positives=0, min_negatives=0
    )
    fairness = fairness_metrics_from_slices(metrics, stats=stats, **options)
    return slices, stats, metrics, fairness


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
    assert len(aggregates) == len(slices) * (len(AGGREGATES) + 1)  # and excluded_groups
    for spec in slices:
        labels = group_labels(frame, spec.features)
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
    labels = group_labels(frame, ["race"])
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
    sex = fairness[fairness["dimension"] == "sex"].set_index("metric")
    assert (sex["group"] == "*").all()
    disparities = sex.drop(index=EXCLUDED_GROUPS)
    assert set(disparities["verdict"]) == {"inconclusive"}
    assert disparities["value"].isna().all()
    assert set(sex["groups_compared"]) == {1}
    assert sex.loc[EXCLUDED_GROUPS, "verdict"] == "pass"  # one group, and it was assessed


def test_identical_inputs_give_identical_tables():
    frame = make_frame(3)
    pd.testing.assert_frame_equal(pipeline(frame)[3], pipeline(frame.copy())[3], check_exact=True)


def sex_alone(frame, **options):
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
    metrics = slice_metrics_from_stats(stats, min_group_size=MIN_GROUP_SIZE)
    return fairness_metrics_from_slices(metrics, stats=stats, **options)


def test_a_dimension_alone_gives_its_rows_when_aggregates_are_adjusted_per_dimension():
    frame = make_frame(4)
    both = pipeline(frame, aggregate_family="dimension")[3]
    alone = sex_alone(frame, aggregate_family="dimension")
    pd.testing.assert_frame_equal(
        both[both["dimension"] == "sex"].reset_index(drop=True), alone, check_exact=True
    )


def test_the_gate_family_holds_the_tested_aggregates_of_every_dimension():
    frame = make_frame(4)
    both = pipeline(frame)[3]
    alone = sex_alone(frame)
    tested = both[(both["group"] == "*") & (both["comparisons"] > 0)]
    assert set(tested["family_size"]) == {len(tested)}
    assert set(tested["adjustment"]) == {"holm"}
    per_group = both[(both["dimension"] == "sex") & (both["group"] != "*")]
    pd.testing.assert_frame_equal(  # per-group families are per dimension
        per_group.reset_index(drop=True),
        alone[alone["group"] != "*"].reset_index(drop=True),
        check_exact=True,
    )


def test_cells_recovered_from_slice_metrics_give_the_same_table():
    frame, _, _ = scenario("group_without_positives")
    _, _, metrics, with_stats = pipeline(frame)
    without = fairness_metrics_from_slices(metrics)
    pd.testing.assert_frame_equal(with_stats, without, check_exact=True)


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
    out = fairness_metrics_from_slices(slice_metrics_from_stats(stats), stats=stats)
    # The planted rates: selection rate, TPR and FPR (the other rates differ or not by design).
    disparities = out[out["metric"] != EXCLUDED_GROUPS]
    planted = disparities[
        (disparities["group"] == "*") | disparities["metric"].str.startswith(RATES)
    ]
    assert set(planted["verdict"]) == {verdict}
    expected_disposition = "none_required" if verdict == "pass" else "pending"
    assert set(planted["disposition"]) == {expected_disposition}


def test_thresholds_are_reported_from_the_policy():
    stats = synthetic_stats((0.4, 0.45), 10_000)
    policy = FairnessPolicy(ratio_band=(0.9, 1 / 0.9), difference_bound=0.05)
    out = fairness_metrics_from_slices(
        slice_metrics_from_stats(stats), stats=stats, policy=policy
    ).set_index("metric")
    ratio = out.loc["demographic_parity_ratio"]
    assert (ratio["threshold_lower"], ratio["threshold_upper"]) == (0.9, 1 / 0.9)
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
    head = [name for name, *_ in AGGREGATES] + [EXCLUDED_GROUPS]
    assert list(race["metric"][: len(head)]) == head
    per_group = race.iloc[len(head) :]
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
        ({"ratio_band": (0.8, 1.2)}, MSG_RATIO_BAND.format(value=(0.8, 1.2))),
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
    assert FairnessPolicy(ratio_band=[0.75, 4 / 3]).ratio_band == (0.75, 4 / 3)


def test_bad_inputs_are_rejected_with_their_messages():
    frame = make_frame(5)
    _, stats, metrics, _ = pipeline(frame)
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
        (
            {"aggregate_family": "slice"},
            MSG_AGGREGATE_FAMILY.format(choices=("evaluation", "dimension"), value="slice"),
        ),
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
        multiple_testing=method,
        multiple_testing_family=family,
    )


def test_auto_is_the_default_holm_for_aggregates_and_bh_per_group():
    stats = many_groups_stats()
    default = fairness_metrics_from_slices(slice_metrics_from_stats(stats), stats=stats)
    pd.testing.assert_frame_equal(default, adjusted(stats, "auto"), check_exact=True)
    disparities = default[default["metric"] != EXCLUDED_GROUPS]
    aggregate = disparities["group"] == "*"
    assert set(disparities.loc[aggregate, "adjustment"]) == {"holm"}
    assert set(disparities.loc[~aggregate, "adjustment"]) == {"bh"}
    none = adjusted(stats, "none")
    rows = none[none["metric"] != EXCLUDED_GROUPS]
    assert set(rows["adjustment"]) == {"none"}
    assert set(rows["confidence_level"]) == {0.95}
    assert set(rows["family_size"]) == {1}


def test_adjusted_verdicts_are_read_off_wider_intervals_and_never_reversed():
    stats = many_groups_stats()
    runs = {method: adjusted(stats, method) for method in ("none", "holm", "bh")}
    none = runs["none"]
    rows = none["metric"] != EXCLUDED_GROUPS
    for method, out in runs.items():
        pd.testing.assert_series_equal(out["value"], none["value"], check_exact=True)
        part = out[rows]
        assert set(part["adjustment"]) == {method}
        inside = (part["threshold_lower"] <= part["ci_lower"]) & (
            part["ci_upper"] <= part["threshold_upper"]
        )
        outside = (part["ci_upper"] < part["threshold_lower"]) | (
            part["ci_lower"] > part["threshold_upper"]
        )
        expected = np.where(inside, "pass", np.where(outside, "fail", "inconclusive"))
        assert (part["verdict"] == expected).all()
        assert (part["ci_lower"] <= none.loc[rows, "ci_lower"] + 1e-12).all()
        assert (part["ci_upper"] >= none.loc[rows, "ci_upper"] - 1e-12).all()
    conclusive = {m: runs[m]["verdict"].isin(["pass", "fail"]) & rows for m in runs}
    per_group = (none["group"] != "*").to_numpy()
    assert not (conclusive["holm"] & ~conclusive["bh"] & per_group).any()  # BH ⊇ Holm
    assert not (conclusive["bh"] & ~conclusive["none"]).any()
    for method in ("holm", "bh"):
        same = runs[method].loc[conclusive[method], "verdict"]
        assert (same == none.loc[conclusive[method], "verdict"]).all()
    # The planted drift makes some unadjusted claims that Holm does not make.
    assert (conclusive["none"] & ~conclusive["holm"]).any()
    assert conclusive["holm"].any()
    holm = runs["holm"]
    tested = per_group & rows.to_numpy()
    m = int(tested.sum())  # every group is ok: every per-group row is in the family
    assert set(holm.loc[tested, "family_size"]) == {m}
    levels = holm.loc[tested, "confidence_level"]
    assert ((levels > 0.95) & (levels <= 1 - 0.05 / m + 1e-12)).all()
    assert len(set(runs["bh"].loc[tested, "confidence_level"])) <= 2  # one level per claim type


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
    _, _, _, out = pipeline(frame, multiple_testing="holm")
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
        choices=MULTIPLE_TESTING_SETTINGS, value="bonferroni"
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
    fairness = fairness_metrics_from_slices(metrics, stats=stats, multiple_testing="bh")
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


# Score intervals and pairwise aggregates -----------------------------------------------------


def three_groups_stats(seed=3, sizes=(80, 120, 300)):
    rng = np.random.default_rng(seed)
    rows = []
    for k, size in enumerate(sizes):
        tpr, fpr = 0.6 + 0.08 * k, 0.15 + 0.04 * k
        cells = rng.multinomial(size, [0.4 * tpr, 0.6 * fpr, 0.6 * (1 - fpr), 0.4 * (1 - tpr)])
        rows.append(("g", f"g{k}", *(int(c) for c in cells)))
    stats = pd.DataFrame(rows, columns=["dimension", "group", "tp", "fp", "tn", "fn"])
    total = stats[["tp", "fp", "tn", "fn"]].sum()
    stats = pd.concat(
        [pd.DataFrame([{"dimension": "overall", "group": "all", **total}]), stats],
        ignore_index=True,
    )
    stats["n"] = stats[["tp", "fp", "tn", "fn"]].sum(axis=1)
    stats["sum_sq_error"], stats["auc"] = 0.0, 0.5
    return stats


def oracle_pairs(stats, rate, alpha):
    """Newcombe intervals of every pair from statsmodels, and the groups' counts."""
    g = stats[stats["dimension"] == "g"].set_index("group")
    terms = {
        "selection_rate": (g["tp"] + g["fp"], g["n"]),
        "true_positive_rate": (g["tp"], g["tp"] + g["fn"]),
        "false_positive_rate": (g["fp"], g["fp"] + g["tn"]),
    }[rate]
    groups = list(g.index)
    out = []
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            out.append(
                confint_proportions_2indep(
                    terms[0][a],
                    terms[1][a],
                    terms[0][b],
                    terms[1][b],
                    method="newcomb",
                    alpha=alpha,
                )
            )
    return out


@pytest.mark.parametrize(
    ("metric", "rates"),
    [
        ("demographic_parity_difference", ("selection_rate",)),
        ("equal_opportunity_difference", ("true_positive_rate",)),
        ("equalized_odds_difference", ("true_positive_rate", "false_positive_rate")),
    ],
)
@pytest.mark.parametrize("sizes", [(80, 120, 300), (3000, 4000, 5000)])
def test_an_aggregate_difference_is_decided_from_simultaneous_newcombe_intervals(
    metric, rates, sizes
):
    """The interval of max - min is [max of the pairs' distance from 0, max of |limits|] over
    every pair at level alpha / K, with the pairs from statsmodels."""
    stats = three_groups_stats(sizes=sizes)
    out = fairness_metrics_from_slices(
        slice_metrics_from_stats(stats), stats=stats, multiple_testing="none"
    )
    row = out[out["metric"] == metric].iloc[0]
    k = 3 * len(rates)
    pairs = [pair for rate in rates for pair in oracle_pairs(stats, rate, 0.05 / k)]
    lows = [0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)) for lo, hi in pairs]
    highs = [max(abs(lo), abs(hi)) for lo, hi in pairs]
    assert row["comparisons"] == k
    assert row["ci_lower"] == pytest.approx(max(lows), abs=1e-9)
    assert row["ci_upper"] == pytest.approx(max(highs), abs=1e-9)
    inside = all(lo >= -0.1 and hi <= 0.1 for lo, hi in pairs)
    outside = any(hi < -0.1 or lo > 0.1 for lo, hi in pairs)
    assert row["verdict"] == ("pass" if inside else "fail" if outside else "inconclusive")
    assert row["ci_lower"] <= row["value"] <= row["ci_upper"]


def test_ratio_verdicts_do_not_depend_on_the_reference_group():
    stats = three_groups_stats(sizes=(400, 500, 450))
    metrics = slice_metrics_from_stats(stats)
    by_reference = {
        ref: fairness_metrics_from_slices(
            metrics, stats=stats, reference_groups={"g": ref}, multiple_testing="none"
        ).set_index(["metric", "group"])
        for ref in ("g0", "g2")
    }
    for rate in PER_GROUP_RATES:
        one = by_reference["g0"].loc[(f"{rate}_ratio", "g2")]  # g2 / g0
        other = by_reference["g2"].loc[(f"{rate}_ratio", "g0")]  # g0 / g2
        assert one["verdict"] == other["verdict"], rate
        assert one["ci_lower"] == pytest.approx(1 / other["ci_upper"], rel=1e-9)
        assert one["ci_upper"] == pytest.approx(1 / other["ci_lower"], rel=1e-9)


def test_zero_counts_give_intervals_that_never_collapse_or_pass():
    """0 of 3 false positives against 0 of 3: the FPR difference spans each group's Wilson
    upper limit, the ratio is unbounded, and neither passes."""
    stats = pd.DataFrame(
        [("overall", "all", 60, 0, 6, 0), ("g", "a", 30, 0, 3, 0), ("g", "b", 30, 0, 3, 0)],
        columns=["dimension", "group", "tp", "fp", "tn", "fn"],
    )
    stats["n"] = stats[["tp", "fp", "tn", "fn"]].sum(axis=1)
    stats["sum_sq_error"], stats["auc"] = 0.0, 0.5
    metrics = slice_metrics_from_stats(stats, min_negatives=0)
    out = fairness_metrics_from_slices(metrics, stats=stats, multiple_testing="none")
    rows = out.set_index("metric")
    upper = wilson_interval(0, 3)[1]
    difference = rows.loc["false_positive_rate_difference"]
    assert (difference["ci_lower"], difference["ci_upper"]) == pytest.approx((-upper, upper))
    assert difference["verdict"] == "inconclusive"
    ratio = rows.loc["false_positive_rate_ratio"]
    assert (ratio["ci_lower"], ratio["ci_upper"]) == (0.0, np.inf)
    assert rows.loc["equalized_odds_difference", "verdict"] == "inconclusive"
    assert (
        rows.loc["equalized_odds_ratio", "ci_upper"] - rows.loc["equalized_odds_ratio", "ci_lower"]
        > 0.5
    )
