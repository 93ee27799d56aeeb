"""The slice engine pushed down into a real PostgreSQL server and a local Spark session: the
same SQL, rendered for each, gives exactly DuckDB's numbers, and those equal scikit-learn's on
the raw rows."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.adapters.sql_engines import PostgresEngine, SparkEngine
from rai_pipeline.core.engine.paired import paired_cells
from rai_pipeline.core.engine.profile import EvaluationFrameError
from rai_pipeline.core.engine.slices import STATS_COLUMNS, build_slices
from rai_pipeline.core.engine.statistics import compute_score_histograms
from tests.core.builders import FEATURES, apply_where, make_frame, oracle_stats, scenario
from tests.core.test_slices import SCENARIOS
from tests.core.test_statistics import statistics_for as statistics
from tests.scale.conftest import load_duckdb, load_postgres, load_spark

STRATEGIES = ["auto", "score_counts", "cells", "ranks"]


@pytest.fixture(scope="module", params=["postgres", "spark"])
def engines(request):
    """(the engine under test, a function loading a frame into it, a DuckDB connection)."""
    if request.param == "postgres":
        server = request.getfixturevalue("postgres")
        with PostgresEngine.connect(**server.dsn()) as pg:
            yield pg, load_postgres, duckdb.connect()
    else:
        engine = SparkEngine(request.getfixturevalue("spark"))
        yield (
            engine,
            lambda conn, table, frame: load_spark(conn.session, table, frame),
            duckdb.connect(),
        )


def both(engines, frame, table="ev"):
    engine, load, dk = engines
    load(engine, table, frame)
    load_duckdb(dk, table, frame)
    return engine, dk


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_exact_auc_plan_equals_duckdb_exactly_and_sklearn(engines, name):
    frame, where, intersections = scenario(name)
    slices = build_slices(FEATURES, intersections)
    engine, dk = both(engines, frame)
    expected = oracle_stats(apply_where(frame, where), slices)
    for strategy in STRATEGIES:
        on_engine = statistics(engine, slices, where, auc_strategy=strategy, bins=50)
        on_duckdb = statistics(dk, slices, where, auc_strategy=strategy, bins=50)
        pd.testing.assert_frame_equal(on_engine.stats, on_duckdb.stats, check_exact=True)
        pd.testing.assert_frame_equal(on_engine.histograms, on_duckdb.histograms, check_exact=True)
        assert on_engine.score_range == on_duckdb.score_range
        pd.testing.assert_frame_equal(
            on_engine.stats[list(STATS_COLUMNS)], expected, check_dtype=False, rtol=1e-9, atol=1e-9
        )


def test_binned_auc_and_histograms_equal_duckdb(engines):
    frame = make_frame(5, n=3000)
    engine, dk = both(engines, frame)
    slices = build_slices(FEATURES, None)
    on_engine = statistics(engine, slices, auc="binned", bins=200)
    on_duckdb = statistics(dk, slices, auc="binned", bins=200)
    pd.testing.assert_frame_equal(on_engine.stats, on_duckdb.stats, check_exact=True)
    options = {"relation": "ev", "slices": slices, "label": "label", "score": "score", "bins": 20}
    pd.testing.assert_frame_equal(
        compute_score_histograms(engine, **options),
        compute_score_histograms(dk, **options),
        check_exact=True,
    )
    # the histogram counts are the rows' own: 20 equal-width bins of [0, 1] by numpy
    overall = on_engine.histograms[on_engine.histograms["dimension"] == "overall"]
    counts = overall.groupby("bin")["n"].sum().reindex(range(200), fill_value=0).to_numpy()
    numpy_counts, _ = np.histogram(frame["score"], bins=200, range=(0.0, 1.0))
    assert counts.tolist() == numpy_counts.tolist()


def test_paired_cells_of_two_versions_equal_duckdb(engines):
    frame = make_frame(7, n=3000)
    frame["example_id"] = np.arange(len(frame)) // 2  # each example scored by both versions
    frame["model_version"] = np.where(np.arange(len(frame)) % 2 == 0, "1", "2")
    engine, dk = both(engines, frame)
    options = {
        "relation": "ev", "slices": build_slices(FEATURES, None),
        "previous": {"model_version": "1"}, "current": {"model_version": "2"},
    }  # fmt: skip
    on_engine = paired_cells(engine, **options)
    pd.testing.assert_frame_equal(on_engine, paired_cells(dk, **options), check_exact=True)
    assert int(on_engine.loc[0, "n"]) == len(frame) // 2


def test_invalid_rows_are_refused_alike(engines):
    frame = make_frame(3, n=500)
    frame.loc[frame.index[:3], "label"] = 2
    frame.loc[frame.index[3:5], "score"] = np.inf
    engine, dk = both(engines, frame)
    refused = []
    for conn in (engine, dk):
        with pytest.raises(EvaluationFrameError) as caught:
            statistics(conn, build_slices(FEATURES))
        refused.append(caught.value.counts)
    assert refused[0] == refused[1] == {"label_not_0_1": 3, "score_not_finite": 2}


def test_rewritten_functions_answer_as_duckdb_does_on_edge_values(engines):
    frame = pd.DataFrame(
        {
            "s": [0.5, np.inf, -np.inf, None, None, -7.0],  # NULLs (pandas NaN loads as NULL)
            "m": [0, 1, (1 << 62) | 5, -1, 3, 7],
            "p": [0, 62, 63, 125, 126, 7],
        }
    )
    engine, dk = both(engines, frame, table="edges")
    sql = "SELECT isfinite(s), bit_count(m), p // 63 FROM edges ORDER BY p"
    assert engine.execute(sql).fetchall() == dk.execute(sql).fetchall()
    assert [row[0] for row in dk.execute(sql).fetchall()] == [True, True, False, False, None, None]
    nan = "SELECT isfinite(v) FROM (VALUES (CAST('NaN' AS DOUBLE)), (CAST(1 AS DOUBLE))) AS t(v)"
    assert engine.execute(nan).fetchall() == dk.execute(nan).fetchall() == [(False,), (True,)]
    assert [row[1] for row in dk.execute(sql).fetchall()] == [0, 3, 1, 3, 64, 2]
    # a double cast to an integer rounds half to even in both engines
    halves = "SELECT CAST(v * $one AS BIGINT) FROM (VALUES (0.5), (1.5), (2.5), (-2.5)) AS t(v)"
    assert engine.execute(halves, {"one": 1.0}).fetchall() == [(0,), (2,), (2,), (-2,)]
    assert dk.execute(halves, {"one": 1.0}).fetchall() == [(0,), (2,), (2,), (-2,)]


def test_a_temporary_table_on_postgres_is_analyzed_once_created(postgres):
    """The frame's temporary table has the planner's statistics as soon as it exists (no
    autovacuum analyzes a temporary table; without them PostgreSQL joined a 7,000-row frame
    to itself row by row for the paired cells: 90 s instead of 0.3 s)."""
    with PostgresEngine.connect(**postgres.dsn()) as pg:
        load_postgres(pg, "public.analyzed_source", make_frame(5, n=4000))
        pg.execute("create or replace temp table analyzed as select * from analyzed_source")
        rows = pg.execute(
            "select reltuples from pg_class where relname = 'analyzed' and relpersistence = 't'"
        ).fetchone()
    assert rows is not None and int(rows[0]) == 4000
