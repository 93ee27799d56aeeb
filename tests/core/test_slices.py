"""The slice engine against scikit-learn on the raw rows, plus its contract checks."""

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.engine.binning import MSG_BINS, MSG_SCORE_RANGE, histogram_edges
from rai_pipeline.core.engine.exact_auc import AUC_STRATEGIES, MSG_AUC_STRATEGY
from rai_pipeline.core.engine.plan import MSG_COLUMN_ROLES, MSG_SLICE_TYPE, MSG_WHERE_VALUE
from rai_pipeline.core.engine.profile import (
    MSG_EMPTY_FRAME,
    MSG_INVALID_ROWS,
    EvaluationFrameError,
)
from rai_pipeline.core.engine.rollup import fixed_point_scale
from rai_pipeline.core.engine.slices import (
    HISTOGRAM_COLUMNS,
    MSG_DUPLICATE_FEATURE,
    MSG_DUPLICATE_SLICE,
    MSG_INTERSECTION_MEMBER,
    MSG_INTERSECTION_SIZE,
    MSG_NO_FEATURES,
    MSG_RESERVED_FEATURE,
    OVERALL,
    STATS_COLUMNS,
    SliceSpec,
    SliceSpecError,
    build_slices,
)
from rai_pipeline.core.engine.sql import InvalidIdentifierError
from rai_pipeline.core.engine.statistics import compute_score_histograms, compute_slice_stats
from tests.core.builders import (
    FEATURES,
    apply_where,
    load,
    make_frame,
    oracle_groups,
    oracle_stats,
    scenario,
    stats_for,
)

STRATEGIES = ["score_counts", "cells", "ranks", "auto"]


SCENARIOS = [
    "basic",
    "tied_scores",
    "group_without_positives",
    "group_without_selections",
    "single_group",
    "many_nulls",
    "where_two_columns",
]


# build_slices --------------------------------------------------------------------------------


def test_build_slices_lists_features_then_every_pair_by_default():
    slices = build_slices(["race", "sex", "age_band"])
    assert [s.dimension for s in slices] == [
        "race",
        "sex",
        "age_band",
        "race&sex",
        "race&age_band",
        "sex&age_band",
    ]


def test_build_slices_uses_given_intersections_in_given_member_order():
    slices = build_slices(["race", "sex", "age_band"], [("sex", "race", "age_band")])
    assert [s.dimension for s in slices] == ["race", "sex", "age_band", "sex&race&age_band"]
    assert build_slices(["race"], []) == [SliceSpec(("race",))]


def test_overall_slice_has_reserved_names():
    assert OVERALL.dimension == "overall"
    assert OVERALL.is_overall
    assert SliceSpec(("race", "sex")).dimension == "race&sex"


@pytest.mark.parametrize(
    ("features", "intersections", "message"),
    [
        ([], None, MSG_NO_FEATURES),
        (["race", "race"], None, MSG_DUPLICATE_FEATURE.format(name="race")),
        (
            ["race", "sex"],
            [("race", "income")],
            MSG_INTERSECTION_MEMBER.format(member="income", features=["race", "sex"]),
        ),
        (["race", "sex"], [("race",)], MSG_INTERSECTION_SIZE.format(members=["race"])),
        (
            ["race", "sex"],
            [("race", "race")],
            MSG_INTERSECTION_SIZE.format(members=["race", "race"]),
        ),
        (
            ["race", "sex"],
            [("race", "sex"), ("sex", "race")],
            MSG_DUPLICATE_SLICE.format(dimension="sex&race", other="race&sex"),
        ),
        (["overall"], None, MSG_RESERVED_FEATURE.format(name="overall")),
    ],
)
def test_build_slices_rejects_what_cannot_be_evaluated(features, intersections, message):
    with pytest.raises(SliceSpecError) as raised:
        build_slices(features, intersections)
    assert str(raised.value) == message


def test_build_slices_rejects_injected_feature_names():
    with pytest.raises(InvalidIdentifierError):
        build_slices(['race" FROM ev; DROP TABLE ev; --'])


# compute_slice_stats against the oracle ------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_slice_stats_equal_sklearn_on_the_raw_rows(name, strategy):
    frame, where, _ = scenario(name)
    slices = build_slices(FEATURES)
    got = stats_for(load(frame), slices, where, auc_strategy=strategy)
    expected = oracle_stats(apply_where(frame, where), slices)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9, atol=1e-9)


def test_three_way_intersection_and_null_groups_match_the_oracle():
    frame = make_frame(3, null_rate=0.2)
    slices = build_slices(["race", "sex", "age_band"], [("race", "sex", "age_band")])
    got = stats_for(load(frame), slices)
    pd.testing.assert_frame_equal(
        got, oracle_stats(frame, slices), check_dtype=False, rtol=1e-9, atol=1e-9
    )
    assert "unknown&Female&<30" in set(got["group"])


def test_auc_strategies_agree_exactly():
    conn = load(make_frame(4, ties=True))
    slices = build_slices(FEATURES)
    by_counts = stats_for(conn, slices, auc_strategy="score_counts")
    by_ranks = stats_for(conn, slices, auc_strategy="ranks")
    pd.testing.assert_frame_equal(by_counts, by_ranks, check_exact=True)


def test_auc_is_nan_for_a_group_without_positives():
    frame, _, _ = scenario("group_without_positives")
    stats = stats_for(load(frame), build_slices(["race"])).set_index(["dimension", "group"])
    assert np.isnan(stats.loc[("race", "Asian"), "auc"])
    assert stats.loc[("race", "Asian"), "n_pos"] == 0


def test_stats_are_sorted_overall_first_then_slice_order_then_group():
    frame = make_frame(5)
    slices = [SliceSpec(("sex",)), SliceSpec(("race",)), SliceSpec(("sex", "race"))]
    stats = stats_for(load(frame), slices)
    assert list(stats.columns) == list(STATS_COLUMNS)
    assert stats["dimension"].iloc[0] == "overall"
    assert stats["group"].iloc[0] == "all"
    dims = list(dict.fromkeys(stats["dimension"]))
    assert dims == ["overall", "sex", "race", "sex&race"]
    for _, part in stats.groupby("dimension", sort=False):
        assert list(part["group"]) == sorted(part["group"])
    assert stats["n"].dtype == np.int64
    assert stats["auc"].dtype == np.float64


def test_listing_the_overall_slice_changes_nothing():
    conn = load(make_frame(6))
    plain = stats_for(conn, build_slices(["race"]))
    pd.testing.assert_frame_equal(plain, stats_for(conn, [OVERALL, *build_slices(["race"])]))


def test_only_overall_when_no_slices():
    stats = stats_for(load(make_frame(7)), [])
    assert stats[["dimension", "group"]].values.tolist() == [["overall", "all"]]


def test_boolean_decision_and_schema_qualified_relation():
    frame = make_frame(8)
    frame["decision"] = frame["decision"].astype(bool)
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.register("incoming", frame)
    conn.execute("CREATE TABLE marts.eval_frame AS SELECT * FROM incoming")
    slices = build_slices(FEATURES)
    got = compute_slice_stats(
        conn,
        relation="marts.eval_frame",
        slices=slices,
        label="label",
        score="score",
        decision="decision",
    )
    pd.testing.assert_frame_equal(
        got, oracle_stats(frame, slices), check_dtype=False, rtol=1e-9, atol=1e-9
    )


# Safety and contract -------------------------------------------------------------------------


def test_injected_column_names_are_rejected_and_the_table_survives():
    conn = load(make_frame())
    with pytest.raises(InvalidIdentifierError):
        compute_slice_stats(
            conn,
            relation="ev",
            slices=[],
            label="label FROM ev; DROP TABLE ev; --",
            score="score",
            decision="decision",
        )
    with pytest.raises(InvalidIdentifierError):
        stats_for(conn, [], where={"1=1 OR model_name": "x"})
    with pytest.raises(InvalidIdentifierError):
        compute_slice_stats(
            conn,
            relation="ev; DROP TABLE ev",
            slices=[],
            label="label",
            score="score",
            decision="decision",
        )
    assert conn.execute("SELECT count(*) FROM ev").fetchone() == (2000,)


def test_where_values_are_bound_not_pasted():
    conn = load(make_frame())
    where = {"model_name": "x' OR '1'='1"}
    with pytest.raises(EvaluationFrameError) as raised:
        stats_for(conn, [], where=where)
    assert str(raised.value) == MSG_EMPTY_FRAME.format(
        relation='"ev"', filter_text=" where model_name=\"x' OR '1'='1\""
    )
    assert raised.value.counts == {"rows": 0}


def test_where_value_of_another_type_is_rejected():
    with pytest.raises(SliceSpecError) as raised:
        stats_for(load(make_frame()), [], where={"model_version": 2.5})
    assert str(raised.value) == MSG_WHERE_VALUE.format(column="model_version", type_name="float")


@pytest.mark.parametrize(
    ("corrupt", "counts"),
    [
        (lambda f: f.assign(label=f["label"].where(f.index != 0, 2)), {"label_not_0_1": 1}),
        (
            lambda f: f.assign(score=f["score"].where(f.index > 2, np.nan)),
            {"score_not_finite": 3},
        ),
        (
            lambda f: f.assign(decision=f["decision"].astype(float).where(f.index != 5, None)),
            {"decision_not_0_1": 1},
        ),
    ],
)
def test_rows_breaking_the_contract_are_counted_and_rejected(corrupt, counts):
    conn = load(corrupt(make_frame()))
    with pytest.raises(EvaluationFrameError) as raised:
        stats_for(conn, build_slices(["race"]))
    assert raised.value.counts == counts
    details = ", ".join(f"{count} rows with {key}" for key, count in counts.items())
    assert str(raised.value) == MSG_INVALID_ROWS.format(
        relation='"ev"', filter_text="", details=details
    )


def test_misused_options_are_rejected_with_their_messages():
    conn = load(make_frame())
    with pytest.raises(SliceSpecError) as raised:
        stats_for(conn, [], auc_strategy="fast")
    assert str(raised.value) == MSG_AUC_STRATEGY.format(choices=AUC_STRATEGIES, value="fast")
    with pytest.raises(SliceSpecError) as raised:
        stats_for(conn, ["race"])
    assert str(raised.value) == MSG_SLICE_TYPE.format(type_name="str")
    with pytest.raises(SliceSpecError) as raised:
        stats_for(conn, [SliceSpec(("race", "sex")), SliceSpec(("sex", "race"))])
    assert str(raised.value) == MSG_DUPLICATE_SLICE.format(dimension="sex&race", other="race&sex")
    with pytest.raises(SliceSpecError) as raised:
        compute_slice_stats(
            conn, relation="ev", slices=[], label="score", score="score", decision="decision"
        )
    assert str(raised.value) == MSG_COLUMN_ROLES.format(columns=["score", "score", "decision"])


# Histograms ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [1, 7, 20])
def test_histograms_match_numpy_binning_and_are_dense(bins):
    frame = make_frame(9, null_rate=0.1)
    frame.loc[:4, "score"] = [0.0, 1.0, 0.5, 0.05, 0.95]
    slices = build_slices(FEATURES)
    hist = compute_score_histograms(
        load(frame), relation="ev", slices=slices, label="label", score="score", bins=bins
    )
    assert list(hist.columns) == list(HISTOGRAM_COLUMNS)
    expected = []
    for spec in [OVERALL, *slices]:
        for group, rows in oracle_groups(frame, spec):
            s = rows["score"].to_numpy()
            b = np.minimum(np.floor(s * bins), bins - 1).astype(int)
            for label in (0, 1):
                for k in range(bins):
                    mask = (rows["label"].to_numpy() == label) & (b == k)
                    expected.append(
                        {
                            "dimension": spec.dimension,
                            "group": group,
                            "label": label,
                            "bin": k,
                            "bin_lower": k / bins,
                            "bin_upper": (k + 1) / bins,
                            "n": int(mask.sum()),
                            "sum_score": float(s[mask].sum()),
                            "sum_sq_score": float((s[mask] ** 2).sum()),
                        }
                    )
    pd.testing.assert_frame_equal(
        hist, pd.DataFrame(expected), check_dtype=False, rtol=1e-9, atol=1e-9
    )
    assert hist.groupby(["dimension", "group"])["n"].sum().loc[("overall", "all")] == len(frame)


def test_histograms_reject_scores_outside_the_unit_interval_and_bad_bins():
    frame = make_frame()
    frame.loc[0, "score"] = 1.5
    conn = load(frame)
    with pytest.raises(EvaluationFrameError) as raised:
        compute_score_histograms(conn, relation="ev", slices=[], label="label", score="score")
    assert raised.value.counts == {"score_outside_0_1": 1}
    for bins in (0, 2.5, True):
        with pytest.raises(SliceSpecError) as raised_bins:
            compute_score_histograms(
                conn, relation="ev", slices=[], label="label", score="score", bins=bins
            )
        assert str(raised_bins.value) == MSG_BINS.format(bins=bins)


@pytest.mark.parametrize(
    ("bins", "score_range"),
    [(1000, (0.0, 1.0)), (49, (0.0, 1.0)), (37, (-2.3, 5.1)), (1000, (-0.1, 0.7))],
)
def test_binning_is_exact_at_every_edge(bins, score_range):
    """Scores on an edge and one ulp either side land where the edges say, unlike floor(s*B)."""
    edges = histogram_edges(score_range, bins)
    rng = np.random.default_rng(bins)
    inner = edges[:-1]
    scores = np.concatenate(
        [
            inner,
            np.nextafter(inner, -np.inf),
            np.nextafter(inner, np.inf),
            rng.uniform(*score_range, 2000),
            [score_range[1]],
        ]
    )
    scores = np.clip(scores, *score_range)
    frame = pd.DataFrame({"label": rng.integers(0, 2, scores.size), "score": scores})
    hist = compute_score_histograms(
        load(frame),
        relation="ev",
        slices=[],
        label="label",
        score="score",
        bins=bins,
        score_range=score_range,
    )
    expected_bin = np.searchsorted(edges[1:-1], scores, side="right")  # e_b <= s < e_(b+1)
    expected = np.bincount(expected_bin + bins * frame["label"].to_numpy(), minlength=2 * bins)
    np.testing.assert_array_equal(hist["n"].to_numpy(), expected)
    np.testing.assert_array_equal(hist["bin_lower"].to_numpy()[:bins], edges[:-1])
    np.testing.assert_array_equal(hist["bin_upper"].to_numpy()[:bins], edges[1:])
    assert edges[-1] == score_range[1]


def test_unit_edges_are_the_decimal_fractions():
    edges = histogram_edges((0.0, 1.0), 1000)
    assert edges[500] == 0.5 and edges[300] == 0.3 and edges[123] == 0.123
    assert list(histogram_edges((0, 1), 4)) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_auto_range_is_the_unit_interval_or_the_observed_scores():
    frame = make_frame(11)
    slices = build_slices(["sex"])
    unit = compute_score_histograms(
        load(frame), relation="ev", slices=slices, label="label", score="score", bins=8
    )
    auto = compute_score_histograms(
        load(frame),
        relation="ev",
        slices=slices,
        label="label",
        score="score",
        bins=8,
        score_range="auto",
    )
    pd.testing.assert_frame_equal(unit, auto, check_exact=True)
    frame["score"] = frame["score"] * 6 - 2
    wide = compute_score_histograms(
        load(frame),
        relation="ev",
        slices=slices,
        label="label",
        score="score",
        bins=8,
        score_range="auto",
    )
    assert wide["bin_lower"].min() == frame["score"].min()
    assert wide["bin_upper"].max() == frame["score"].max()
    assert wide.groupby("dimension")["n"].sum().to_dict() == {"overall": 2000, "sex": 2000}
    frame["score"] = 7.0
    constant = compute_score_histograms(
        load(frame),
        relation="ev",
        slices=[],
        label="label",
        score="score",
        bins=2,
        score_range="auto",
    )
    assert constant["bin_lower"].tolist() == [7.0, 7.5, 7.0, 7.5]
    assert constant.loc[constant["bin"] == 0, "n"].sum() == 2000


def test_explicit_ranges_reject_scores_outside_them_and_bad_ranges():
    frame = make_frame(12)
    conn = load(frame)
    with pytest.raises(EvaluationFrameError) as raised:
        compute_score_histograms(
            conn, relation="ev", slices=[], label="label", score="score", score_range=(0.1, 0.9)
        )
    outside = int(((frame["score"] < 0.1) | (frame["score"] > 0.9)).sum())
    assert raised.value.counts == {"score_outside_range": outside}
    for bad in ((1.0, 0.0), (0.0, float("inf")), (0.0,), "observed", (0.0, True)):
        with pytest.raises(SliceSpecError) as raised_range:
            compute_score_histograms(
                conn, relation="ev", slices=[], label="label", score="score", score_range=bad
            )
        assert str(raised_range.value) == MSG_SCORE_RANGE.format(value=bad)


def test_histogram_sums_are_exact_and_identical_in_every_run():
    """Fixed-point sums: equal to math.fsum of the rows, the same bits on a parallel scan."""
    rng = np.random.default_rng(13)
    n = 300_000
    frame = pd.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "score": rng.random(n),
            "race": rng.choice(["a", "b", "c"], n),
        }
    )
    conn = load(frame)
    conn.execute("SET threads = 2")
    runs = [
        compute_score_histograms(
            conn,
            relation="ev",
            slices=build_slices(["race"]),
            label="label",
            score="score",
            bins=3,
        )
        for _ in range(3)
    ]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0], other, check_exact=True)
    overall = runs[0][runs[0]["dimension"] == "overall"]
    cell = frame[(frame["label"] == 1) & (frame["score"] < 1 / 3)]["score"].to_numpy()
    first = overall[(overall["label"] == 1) & (overall["bin"] == 0)].iloc[0]
    # each row is rounded to a multiple of 1/scale: the documented bound is n / (2 scale)
    scale, _ = fixed_point_scale(n, 1.0)
    bound = len(cell) / (2 * scale)
    assert abs(first["sum_score"] - math.fsum(cell)) <= bound
    assert abs(first["sum_sq_score"] - math.fsum(cell**2)) <= bound
    assert bound < 1e-8


def test_histograms_apply_the_where_filter():
    frame = make_frame(10)
    where = {"model_name": "adult-income"}
    hist = compute_score_histograms(
        load(frame), relation="ev", slices=[], label="label", score="score", where=where
    )
    assert hist["n"].sum() == len(apply_where(frame, where))
