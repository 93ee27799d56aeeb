"""The exact AUC of every slice group from one ordering (the cell-pair plan) against
scikit-learn on the raw rows, at every size, with ties, across block edges, and with the
per-slice fallback forced."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from rai_pipeline.core.engine import exact_auc
from rai_pipeline.core.engine.cell_auc import (
    BLOCK,
    STEP_CELLS,
    STEP_ORDERED,
    STEP_STREAMED,
    TEMP_PREFIX,
    cell_pair_auc,
    count_cells,
)
from rai_pipeline.core.engine.exact_auc import STEP_EXACT_AUC_SLICE
from rai_pipeline.core.engine.plan import plan_slices
from rai_pipeline.core.engine.slices import build_slices
from rai_pipeline.core.engine.statistics import compute_slice_statistics
from tests.core.builders import load, oracle_stats

FEATURES = ["race", "sex", "age_band"]
INTERSECTIONS = [["race", "sex"], ["race", "age_band"], ["race", "sex", "age_band"]]


def frame_of(n, *, seed=0, decimals=None):
    """``n`` rows, three features (one with NULLs and a literal ``unknown``), scores rounded
    to ``decimals`` (many ties) or continuous."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["Asian", "Black", "White", "unknown"], size=n).astype(object)
    race[rng.random(n) < 0.1] = None
    label = rng.binomial(1, 0.4, n)
    score = np.clip(0.35 + 0.3 * label + rng.normal(0, 0.25, n), 0, 1)
    if decimals is not None:
        score = np.round(score, decimals)
    return pd.DataFrame(
        {
            "label": label,
            "score": score,
            "decision": (score >= 0.5).astype(int),
            "race": race,
            "sex": rng.choice(["Female", "Male"], size=n).astype(object),
            "age_band": rng.choice(["<30", "30-50", ">50"], size=n).astype(object),
        }
    )


def aucs(frame, **options):
    slices = build_slices(FEATURES, INTERSECTIONS)
    result = compute_slice_statistics(
        load(frame),
        relation="ev",
        slices=slices,
        label="label",
        score="score",
        decision="decision",
        **options,
    )
    return result, oracle_stats(frame, slices)


# Sizes around the block edge (63 positions a mask) and far beyond it.
@pytest.mark.parametrize("n", [1, 2, 3, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 5, 1000, 20000])
@pytest.mark.parametrize("decimals", [None, 1, 3])
def test_cell_plan_auc_equals_sklearn_at_every_size_with_and_without_ties(n, decimals):
    frame = frame_of(n, seed=n, decimals=decimals)
    result, oracle = aucs(frame, auc_strategy="cells")
    got = result.stats["auc"].to_numpy()
    expected = oracle["auc"].to_numpy()
    assert list(result.stats["group"]) == list(oracle["group"])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    defined = ~np.isnan(expected)
    np.testing.assert_allclose(got[defined], expected[defined], rtol=0, atol=1e-12)


def test_cell_plan_equals_the_per_slice_sorts_bit_for_bit():
    frame = frame_of(5000, seed=3, decimals=2)
    by_cells, _ = aucs(frame, auc_strategy="cells")
    by_ranks, _ = aucs(frame, auc_strategy="ranks")
    pd.testing.assert_frame_equal(by_cells.stats, by_ranks.stats, check_exact=True)


@pytest.mark.parametrize("n", [1, 2, BLOCK, BLOCK + 1, 2 * BLOCK + 5, 1000, 6000])
@pytest.mark.parametrize("decimals", [None, 1, 3])
def test_pairs_counted_in_the_engine_equal_the_streamed_count(n, decimals):
    """The SQL plan (PostgreSQL's and Spark's) and the streamed NumPy count, on one DuckDB
    connection: the same 2U for every slice group, integer for integer."""
    frame = frame_of(n, seed=100 + n, decimals=decimals)
    conn = load(frame)
    plan = plan_slices(
        relation="ev",
        slices=build_slices(FEATURES, INTERSECTIONS),
        label="label",
        score="score",
        decision="decision",
        where=None,
    )
    counted, _ = count_cells(conn, plan)
    streamed, streamed_steps = cell_pair_auc(
        conn, plan, n_cells=counted.cells, n_rows=n, in_engine=False
    )
    in_engine, engine_steps = cell_pair_auc(
        conn, plan, n_cells=counted.cells, n_rows=n, in_engine=True
    )
    pd.testing.assert_frame_equal(streamed, in_engine, check_exact=True)
    assert [step for step, _, _ in streamed_steps] == [STEP_STREAMED]
    assert engine_steps[0][0] == STEP_ORDERED


def test_cell_pair_matrix_is_the_brute_force_pair_count():
    """2U of a union of cells is the sum of its cell-pair terms: checked pair by pair."""
    frame = frame_of(300, seed=5, decimals=1)
    conn = load(frame)
    plan = plan_slices(
        relation="ev",
        slices=build_slices(["sex"]),
        label="label",
        score="score",
        decision="decision",
        where=None,
    )
    counted, _ = count_cells(conn, plan)
    exact, _ = cell_pair_auc(conn, plan, n_cells=counted.cells, n_rows=len(frame))
    for group in ("Female", "Male"):
        part = frame[frame["sex"] == group]
        pos = part.loc[part["label"] == 1, "score"].to_numpy()[:, None]
        neg = part.loc[part["label"] == 0, "score"].to_numpy()[None, :]
        twice_u = int(2 * (pos > neg).sum() + (pos == neg).sum())
        row = exact[(exact["slice_index"] == 1) & (exact["grp"] == group)]
        assert int(row["twice_u"].iloc[0]) == twice_u
        assert twice_u / (2 * pos.size * neg.size) == pytest.approx(
            roc_auc_score(part["label"], part["score"]), abs=1e-15
        )


def test_signed_zero_scores_tie_as_scikit_learn_ties_them():
    frame = pd.DataFrame(
        {
            "label": [1, 0, 1, 0, 1, 0],
            "score": [0.0, -0.0, -0.0, 0.0, 0.5, 0.25],
            "decision": [0, 0, 0, 0, 1, 0],
            "race": ["a"] * 6,
            "sex": ["F", "M"] * 3,
            "age_band": ["x"] * 6,
        }
    )
    result, _ = aucs(frame, auc_strategy="cells")
    overall = result.stats.iloc[0]
    assert overall["auc"] == roc_auc_score(frame["label"], frame["score"])


def test_auto_uses_one_ordering_and_leaves_no_temporary_tables():
    frame = frame_of(3000, seed=9)
    conn = load(frame)
    result = compute_slice_statistics(
        conn,
        relation="ev",
        slices=build_slices(FEATURES, INTERSECTIONS),
        label="label",
        score="score",
        decision="decision",
    )
    steps = [step for step, _, _ in result.queries]
    assert STEP_CELLS in steps and STEP_STREAMED in steps
    assert STEP_ORDERED not in steps  # DuckDB streams the order; no table is written
    assert not any(step.startswith("exact ROC AUC of the groups") for step in steps)
    left = conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE ?", [TEMP_PREFIX + "%"]
    ).fetchall()
    assert left == []


def test_above_the_cell_limit_auto_sorts_once_per_slice_and_agrees(monkeypatch):
    frame = frame_of(2000, seed=11)
    monkeypatch.setattr(exact_auc, "MAX_CELLS", 3)
    result, oracle = aucs(frame)
    steps = [step for step, _, _ in result.queries]
    slices = build_slices(FEATURES, INTERSECTIONS)
    assert [s for s in steps if s.startswith("exact ROC AUC of the groups")] == [
        STEP_EXACT_AUC_SLICE.format(dimension=d)
        for d in ["overall", *(spec.dimension for spec in slices)]
    ]
    assert STEP_ORDERED not in steps and STEP_STREAMED not in steps
    np.testing.assert_allclose(
        result.stats["auc"].to_numpy(), oracle["auc"].to_numpy(), rtol=0, atol=1e-12
    )
    by_cells, _ = aucs(frame, auc_strategy="cells")
    pd.testing.assert_frame_equal(by_cells.stats, result.stats, check_exact=True)


def test_raw_values_that_share_a_group_label_are_one_cell():
    """In the pipeline's frame the features hold group labels already (a missing value reads
    as ``unknown``), so a NULL and a recorded ``unknown`` are one group and one cell."""
    frame = frame_of(3000, seed=13, decimals=2)
    frame["race"] = frame["race"].where(frame.index % 3 != 0, None)
    relabelled = frame.assign(race=frame["race"].fillna("unknown"))
    slices = build_slices(FEATURES, INTERSECTIONS)
    got = aucs(frame, labelled=True, auc_strategy="cells")[0].stats
    # the oracle on the relabelled rows, the merged group renamed so that the oracle's own
    # label rule leaves it as it is (it would write a recorded "unknown" as "\\unknown");
    # it sorts where "unknown" does, after the capitalised groups
    merged = relabelled.assign(race=relabelled["race"].replace("unknown", "u"))
    expected = oracle_stats(merged, slices)
    assert len(got) == len(expected)
    np.testing.assert_allclose(got["auc"], expected["auc"], rtol=0, atol=1e-12)
