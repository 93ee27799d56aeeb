"""One-scan statistics against scikit-learn on the raw rows and against the two-query engine."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from rai_pipeline.core.engine import exact_auc as exact_auc_module
from rai_pipeline.core.engine.binning import MSG_BINS, histogram_edges
from rai_pipeline.core.engine.exact_auc import AUC_STRATEGIES, MSG_AUC_STRATEGY
from rai_pipeline.core.engine.plan import MAX_GROUPING_FEATURES, plan_slices
from rai_pipeline.core.engine.profile import (
    MSG_INVALID_ROWS,
    EvaluationFrameError,
    FrameProfile,
    GroupLimitError,
    count_groups,
)
from rai_pipeline.core.engine.slices import OVERALL, STATS_COLUMNS, SliceSpecError, build_slices
from rai_pipeline.core.engine.statistics import (
    AUC_METHODS,
    MSG_AUC_METHOD,
    STATISTICS_COLUMNS,
    compute_slice_statistics,
)
from tests.core.builders import (
    FEATURES,
    apply_where,
    load,
    make_frame,
    oracle_groups,
    oracle_stats,
    scenario,
)
from tests.core.test_slices import SCENARIOS


def statistics_for(conn, slices, where=None, **options):
    return compute_slice_statistics(
        conn,
        relation="ev",
        slices=slices,
        label="label",
        score="score",
        decision="decision",
        where=where,
        **options,
    )


@pytest.mark.parametrize("strategy", ["score_counts", "cells", "ranks", "auto"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_exact_statistics_equal_sklearn_on_the_raw_rows(name, strategy):
    frame, where, _ = scenario(name)
    slices = build_slices(FEATURES)
    got = statistics_for(load(frame), slices, where, auc_strategy=strategy).stats
    expected = oracle_stats(apply_where(frame, where), slices)
    assert list(got.columns) == list(STATISTICS_COLUMNS)
    pd.testing.assert_frame_equal(
        got[list(STATS_COLUMNS)], expected, check_dtype=False, rtol=1e-9, atol=1e-9
    )
    defined = got["auc"].notna()
    assert (got.loc[defined, "auc_error_bound"] == 0).all()


def binned_oracle(frame, slices, bins):
    """sklearn's AUC on the bin indices (ties = pairs in one bin), and the tie-pair bound."""
    edges = histogram_edges((0.0, 1.0), bins)
    rows = []
    for spec in [OVERALL, *slices]:
        for group, part in oracle_groups(frame, spec):
            y = part["label"].to_numpy()
            b = np.clip(
                np.searchsorted(edges, part["score"].to_numpy(), side="right") - 1, 0, bins - 1
            )
            if 0 < y.sum() < len(y):
                pos = np.bincount(b[y == 1], minlength=bins)
                neg = np.bincount(b[y == 0], minlength=bins)
                bound = (pos * neg).sum() / (2.0 * pos.sum() * neg.sum())
                rows.append((spec.dimension, group, roc_auc_score(y, b), bound))
            else:
                rows.append((spec.dimension, group, np.nan, np.nan))
    return pd.DataFrame(rows, columns=["dimension", "group", "auc", "auc_error_bound"])


@pytest.mark.parametrize("bins", [5, 50, 1000])
@pytest.mark.parametrize("name", ["basic", "group_without_positives", "many_nulls"])
def test_binned_auc_is_sklearn_on_bin_indices_and_within_its_bound(name, bins):
    frame, _, _ = scenario(name)
    slices = build_slices(FEATURES)
    got = statistics_for(load(frame), slices, auc="binned", bins=bins).stats
    expected = binned_oracle(frame, slices, bins)
    pd.testing.assert_frame_equal(
        got[["dimension", "group", "auc", "auc_error_bound"]].reset_index(drop=True),
        expected,
        check_dtype=False,
        rtol=1e-12,
        atol=1e-12,
    )
    exact = oracle_stats(frame, slices)["auc"].to_numpy()
    error = np.abs(got["auc"].to_numpy() - exact)
    defined = ~np.isnan(exact)
    assert (error[defined] <= got["auc_error_bound"].to_numpy()[defined] + 1e-15).all()
    if bins >= 50:
        assert got["auc_error_bound"].max() < 0.05


def test_histograms_count_each_groups_rows_per_label_and_bin():
    """Against numpy on the raw rows: counts and score sums per (group, label, bin)."""
    frame = make_frame(21, null_rate=0.2)
    slices = build_slices(FEATURES)
    got = statistics_for(load(frame), slices, bins=40)
    assert got.score_range == (0.0, 1.0) and got.bins == 40 and got.auc_method == "exact"
    edges = histogram_edges((0.0, 1.0), 40)
    hist = got.histograms.set_index(["dimension", "group", "label", "bin"]).sort_index()
    for spec in [OVERALL, *slices]:
        for group, rows in oracle_groups(frame, spec):
            for label in (0, 1):
                part = rows[rows["label"] == label]["score"].to_numpy()
                b = np.clip(np.searchsorted(edges, part, side="right") - 1, 0, 39)
                cells = hist.loc[(spec.dimension, group, label)]
                np.testing.assert_array_equal(cells["n"], np.bincount(b, minlength=40))
                np.testing.assert_allclose(
                    cells["sum_score"], np.bincount(b, part, minlength=40), atol=1e-9
                )


def test_scores_outside_the_unit_interval_use_the_observed_range():
    frame = make_frame(22)
    frame["score"] = frame["score"] * 6 - 2
    got = statistics_for(load(frame), build_slices(["sex"]), bins=10)
    assert got.score_range == (frame["score"].min(), frame["score"].max())
    expected = oracle_stats(frame, build_slices(["sex"]))
    pd.testing.assert_frame_equal(
        got.stats[list(STATS_COLUMNS)], expected, check_dtype=False, rtol=1e-9
    )


def test_outputs_are_identical_in_every_run():
    frame = make_frame(23, n=20000)
    conn = load(frame)
    slices = build_slices(FEATURES)
    runs = [statistics_for(conn, slices, auc=auc) for auc in ("binned", "binned", "exact")]
    pd.testing.assert_frame_equal(runs[0].stats, runs[1].stats, check_exact=True)
    pd.testing.assert_frame_equal(runs[0].histograms, runs[1].histograms, check_exact=True)
    pd.testing.assert_frame_equal(runs[0].histograms, runs[2].histograms, check_exact=True)


def _corrupt(frame, column, value, rows=3):
    frame = frame.astype({column: "float64" if column == "score" else "object"})
    frame.loc[: rows - 1, column] = value
    return frame


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("label", 2, "label_not_0_1"),
        ("label", None, "label_not_0_1"),
        ("decision", -1, "decision_not_0_1"),
        ("score", float("nan"), "score_not_finite"),
        ("score", float("inf"), "score_not_finite"),
        ("score", None, "score_not_finite"),
    ],
)
def test_contract_violations_are_rejected_with_counts(column, value, reason):
    """Whether or not the quick profile from extremes applies, bad rows are counted."""
    frame = _corrupt(make_frame(24), column, value)
    with pytest.raises(EvaluationFrameError) as raised:
        statistics_for(load(frame), build_slices(["race"]))
    assert raised.value.counts == {reason: 3}
    assert str(raised.value) == MSG_INVALID_ROWS.format(
        relation='"ev"', filter_text="", details=f"3 rows with {reason}"
    )


def test_a_fixed_score_range_rejects_scores_outside_it():
    frame = make_frame(25)
    frame.loc[:4, "score"] = 1.5
    with pytest.raises(EvaluationFrameError) as raised:
        statistics_for(load(frame), [], score_range=(0.0, 1.0))
    assert raised.value.counts == {"score_outside_0_1": 5}


def test_misused_options_are_rejected_with_their_messages():
    conn = load(make_frame())
    for options, message in (
        ({"auc": "approximate"}, MSG_AUC_METHOD.format(choices=AUC_METHODS, value="approximate")),
        (
            {"auc_strategy": "fast"},
            MSG_AUC_STRATEGY.format(choices=AUC_STRATEGIES, value="fast"),
        ),
        ({"bins": 0}, MSG_BINS.format(bins=0)),
    ):
        with pytest.raises(SliceSpecError) as raised:
            statistics_for(conn, [], **options)
        assert str(raised.value) == message


def test_features_are_labelled_after_grouping_as_the_oracle_labels_them():
    """Rows are grouped by raw values and labelled afterwards: NULL and the literal value
    ``unknown`` stay two groups, and integer features become text labels."""
    frame = make_frame(26)
    frame.loc[frame.index % 11 == 0, "race"] = "unknown"
    frame["age_band"] = np.where(frame.index % 3 == 0, 1, 2)
    slices = build_slices(["race", "age_band"])
    got = statistics_for(load(frame), slices).stats
    expected = oracle_stats(frame.astype({"age_band": str}), slices)
    pd.testing.assert_frame_equal(
        got[list(STATS_COLUMNS)], expected, check_dtype=False, rtol=1e-9, atol=1e-9
    )
    frame.loc[frame.index % 13 == 0, "race"] = None
    got = statistics_for(load(frame), slices).stats
    expected = oracle_stats(frame.astype({"age_band": str}), slices)
    pd.testing.assert_frame_equal(
        got[list(STATS_COLUMNS)], expected, check_dtype=False, rtol=1e-9, atol=1e-9
    )
    assert {"unknown", "\\unknown", "1", "2"} <= set(got["group"])


def test_exact_auc_falls_back_to_a_partitioned_window_when_groups_hash_alike(monkeypatch):
    """If two groups' values hashed alike their rows would interleave in the sort; the
    ``contiguous`` check catches it and the partitioned window gives the exact AUC."""
    real = exact_auc_module.rank_auc_branch

    def colliding(plan, k, *, hashed=False):
        sql = real(plan, k, hashed=hashed)
        return sql.replace("hash(", "0 * hash(") if hashed else sql

    monkeypatch.setattr(exact_auc_module, "rank_auc_branch", colliding)
    frame, _, _ = scenario("basic")
    slices = build_slices(FEATURES)
    got = statistics_for(load(frame), slices, auc_strategy="ranks")
    expected = oracle_stats(frame, slices)
    np.testing.assert_allclose(got.stats["auc"], expected["auc"], rtol=1e-12)
    steps = [step for step, _, _ in got.queries]
    assert steps.count(exact_auc_module.STEP_EXACT_AUC_FALLBACK) == len(FEATURES) + 1


def test_a_dimension_over_the_group_limit_is_refused_naming_its_count():
    """Groups are counted as pandas counts distinct values (a missing value is one group),
    per slice and under the where-filter; only the slices over the limit are named."""
    frame = make_frame(400)
    frame.loc[frame.index % 7 == 0, "race"] = None
    slices = build_slices(["race", "sex"])
    conn = load(frame)
    counts = {spec.dimension: len(frame[list(spec.features)].drop_duplicates()) for spec in slices}
    limit = counts["race"]  # race is at the limit, so only race&sex is over it
    assert counts["race&sex"] > limit
    with pytest.raises(GroupLimitError) as raised:
        statistics_for(conn, slices, max_groups=limit)
    assert raised.value.counts == {"race&sex": counts["race&sex"]}
    assert f"'race&sex' has {counts['race&sex']:,} groups" in str(raised.value)
    assert len(statistics_for(conn, slices, max_groups=counts["race&sex"]).stats)
    plan = plan_slices(relation="ev", slices=slices, label="label", score="score",
                       decision="decision", where={"sex": frame["sex"].iloc[0]})  # fmt: skip
    kept = frame[frame["sex"] == frame["sex"].iloc[0]]
    counted = count_groups(
        conn, plan.relation, plan.slices, where_sql=plan.where_sql, params=plan.params
    )
    assert counted["race"] == kept["race"].nunique(dropna=False)


def test_more_features_than_one_grouping_can_take_is_a_clear_error():
    names = [f"s{i}" for i in range(MAX_GROUPING_FEATURES + 1)]
    with pytest.raises(SliceSpecError, match="65 distinct features; at most 64"):
        plan_slices(relation="ev", slices=build_slices(names, []), label="label",
                    score="score", decision="decision", where=None)  # fmt: skip


class Recording:
    """A DuckDB connection that records the statements run on it."""

    def __init__(self, conn):
        self._conn, self.statements = conn, []

    def execute(self, sql, *args):
        self.statements.append(sql)
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def validated(self):
        """Whether the engine ran its own validation: the full profile scan, or (without the
        distinct scores) the column types and extremes first."""
        return any(" AS n_rows" in sql or sql.startswith("DESCRIBE") for sql in self.statements)


@pytest.mark.parametrize("auc", ["exact", "binned"])
def test_a_profile_from_the_callers_checks_replaces_the_validation_scan(auc):
    frame = make_frame(11)
    frame.loc[frame.index[:5], "score"] = 1.7  # outside [0, 1]: the bins span what was seen
    slices = build_slices(FEATURES)
    scores = frame["score"]
    profile = FrameProfile(len(frame), int(scores.nunique()), scores.min(), scores.max())
    without = Recording(load(frame))
    plain = statistics_for(without, slices, auc=auc)
    assert without.validated()
    recording = Recording(load(frame))
    given = statistics_for(recording, slices, auc=auc, profile=profile)
    assert not recording.validated()
    pd.testing.assert_frame_equal(given.stats, plain.stats)
    pd.testing.assert_frame_equal(given.histograms, plain.histograms)
    assert given.score_range == plain.score_range == (scores.min(), 1.7)
    # with a filter the profile of the whole frame does not apply: the engine scans
    recording = Recording(load(frame))
    statistics_for(recording, slices, {"sex": "Female"}, auc=auc, profile=profile)
    assert recording.validated()
