"""The result tables (schema ``rai``: replace one evaluation's rows, read them back, delete
them) on a real PostgreSQL server and in a local Spark session give what they give on DuckDB,
the default warehouse: the same rows and types back, the other keys' rows untouched, new
columns added, and a write that fails leaves the earlier rows as they were; and the record of
the shared dbt models' build."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.adapters.sql_engines import PostgresEngine, SparkEngine
from rai_pipeline.core.engine import results
from rai_pipeline.defs.dbt import freshness

TABLE = "slice_metrics"


def rows(version: str, n: int = 3, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "model_name": "m",
            "model_version": version,
            "group": ["a, b", 'quote " and \\ slash', "line\nbreak"][:n],
            "n": rng.integers(0, 10**12, n).astype("int64"),
            "value": [0.1 + 0.2, np.nan, 1 / 3][:n],
            "ci_lower": [np.nan] * n,  # a float column holding only missing values
            "note": [None, "", "ünïcode"][:n],
        }
    )


@pytest.fixture(params=["postgres", "spark"])
def engines(request):
    """(the other engine, DuckDB), each with no result tables yet."""
    if request.param == "spark":
        session = request.getfixturevalue("spark")
        session.sql(f"DROP DATABASE IF EXISTS {results.RESULTS_SCHEMA} CASCADE")
        yield SparkEngine(session), duckdb.connect()
        return
    with PostgresEngine.connect(**request.getfixturevalue("postgres").dsn()) as pg:
        pg.execute(f"DROP SCHEMA IF EXISTS {results.RESULTS_SCHEMA} CASCADE")
        yield pg, duckdb.connect()


def read(conn, version: str) -> pd.DataFrame:
    got = results.read_rows(conn, TABLE, key={"model_name": "m", "model_version": version})
    return got.sort_values("n", ignore_index=True)


def test_rows_read_back_as_on_duckdb(engines) -> None:
    for conn in engines:
        for version in ("1", "2"):
            written = results.replace_rows(
                conn, TABLE, rows(version, seed=int(version)), key={"model_version": version}
            )
            assert written == 3
    on_other, on_duckdb = (read(conn, "1") for conn in engines)
    pd.testing.assert_frame_equal(on_other, on_duckdb, check_exact=True)
    pd.testing.assert_frame_equal(on_other, rows("1", seed=1).sort_values("n", ignore_index=True))
    assert on_other["ci_lower"].dtype == np.float64


def test_a_new_run_replaces_only_its_own_key_and_adds_new_columns(engines) -> None:
    for conn in engines:
        results.replace_rows(conn, TABLE, rows("1"), key={"model_version": "1"})
        results.replace_rows(conn, TABLE, rows("2"), key={"model_version": "2"})
        again = rows("1", n=2, seed=5).assign(status="ok")
        results.replace_rows(conn, TABLE, again, key={"model_version": "1"})
    other, dk = engines
    other_1, other_2 = read(other, "1"), read(other, "2")
    pd.testing.assert_frame_equal(other_1, read(dk, "1"), check_exact=True)
    pd.testing.assert_frame_equal(other_2, read(dk, "2"), check_exact=True)
    assert len(other_1) == 2 and set(other_1["status"]) == {"ok"}
    assert len(other_2) == 3 and other_2["status"].isna().all()


def test_a_failed_write_keeps_the_earlier_rows(engines) -> None:
    for conn in engines:
        results.replace_rows(conn, TABLE, rows("1"), key={"model_version": "1"})
        before = read(conn, "1")
        bad = rows("1").astype({"n": object})
        bad.loc[0, "n"] = "not a number"
        with pytest.raises(Exception, match=r"(?i)not a number|invalid input|conversion"):
            results.replace_rows(conn, TABLE, bad, key={"model_version": "1"})
        pd.testing.assert_frame_equal(read(conn, "1"), before)


def test_delete_and_a_missing_table(engines) -> None:
    for conn in engines:
        assert results.read_rows(conn, "absent", key={"model_version": "1"}).empty
        results.delete_rows(conn, "absent", key={"model_version": "1"})
        results.replace_rows(conn, TABLE, rows("1"), key={"model_version": "1"})
        results.replace_rows(conn, TABLE, rows("2"), key={"model_version": "2"})
        results.delete_rows(conn, TABLE, key={"model_version": "1"})
        assert read(conn, "1").empty
        assert len(read(conn, "2")) == 3


def test_a_spark_result_table_is_replaced_by_one_key_only(spark) -> None:
    """A Spark result table is partitioned by the key it was first written with: replacing
    or deleting by another key is refused, naming both, and changes nothing."""
    engine = SparkEngine(spark)
    spark.sql(f"DROP DATABASE IF EXISTS {results.RESULTS_SCHEMA} CASCADE")
    results.replace_rows(engine, TABLE, rows("1"), key={"model_version": "1"})
    both = {"model_name": "m", "model_version": "1"}
    message = r"partitioned by model_version: .* not by model_name, model_version"
    with pytest.raises(ValueError, match=message):
        results.replace_rows(engine, TABLE, rows("1", n=1), key=both)
    with pytest.raises(ValueError, match=message):
        results.delete_rows(engine, TABLE, key=both)
    assert len(read(engine, "1")) == 3


def test_the_shared_models_build_record_round_trips(engines, tmp_path) -> None:
    """The record that lets later runs skip the shared dbt models (defs/dbt/freshness.py):
    written, read back, replaced by the next build's, and gone once forgotten."""
    for conn in engines:
        assert freshness.read_build(conn) is None
        freshness.record_build(conn, digest="d1", target=tmp_path / "t1", run_id="r1")
        freshness.record_build(conn, digest="d2", target=tmp_path / "t2", run_id="r2")
        assert freshness.read_build(conn) == {
            "digest": "d2",
            "target": str(tmp_path / "t2"),
            "dagster_run_id": "r2",
        }
        freshness.forget_build(conn)
        assert freshness.read_build(conn) is None


def test_a_landed_table_is_replaced_in_place_keeping_the_views_on_it(postgres) -> None:
    """``load_table`` again with the same columns refills the table and keeps the views on
    it (dbt's staging models, which a concurrent run may be reading); with other columns it
    replaces the table and drops those views (the dbt build after a landing makes them)."""
    first = pd.DataFrame({"example_id": [1, 2, 3], "x": [0.5, 1.5, np.nan]})
    with PostgresEngine.connect(**postgres.dsn()) as pg:
        pg.execute("DROP SCHEMA IF EXISTS loaded CASCADE")
        pg.load_table("loaded.examples", first)
        pg.execute("create view loaded.seen as select example_id, x from loaded.examples")
        again = first.assign(x=[9.0, np.nan, 7.0]).iloc[:2]
        pg.load_table("loaded.examples", again)
        got = pg.execute("select * from loaded.seen order by example_id").df()
        pd.testing.assert_frame_equal(got, again.reset_index(drop=True))
        reshaped = pd.DataFrame({"example_id": [4], "y": ["text"]})
        pg.load_table("loaded.examples", reshaped)
        pd.testing.assert_frame_equal(pg.execute("select * from loaded.examples").df(), reshaped)
        views = pg.execute(
            "select count(*) from information_schema.views where table_schema = 'loaded'"
        ).fetchone()
        assert views == (0,)


def test_a_reader_waits_while_a_dbt_build_has_its_turn(postgres, monkeypatch):
    """On PostgreSQL a step's connection shares the warehouse's build lock and a dbt build
    holds it alone: a reader that comes while a build runs starts when the build ends; a
    connection opened inside the build's own turn does not wait for it (it would forever)."""
    import threading

    from rai_pipeline.defs.resources import WarehouseResource

    for name, value in {
        "HOST": postgres.host,
        "PORT": str(postgres.port),
        "USER": postgres.user,
        "PASSWORD": postgres.password,
        "DB": postgres.database,
    }.items():
        monkeypatch.setenv(f"RAI_WAREHOUSE_PG_{name}", value)
    warehouse = WarehouseResource(engine="postgres")
    events: list[str] = []
    building, reader_asked = threading.Event(), threading.Event()

    def read() -> None:
        building.wait()
        reader_asked.set()
        with warehouse.connect() as conn:
            conn.execute("select 1")
            events.append("read")

    reader = threading.Thread(target=read)
    reader.start()
    with warehouse.build_turn():
        with warehouse.connect() as conn:  # the build's own bookkeeping: no wait
            conn.execute("select 1")
            events.append("inside the turn")
        building.set()
        reader_asked.wait()
        reader.join(timeout=1.0)  # the reader cannot get in while the turn lasts
        events.append("build done")
    reader.join(timeout=60)
    assert events == ["inside the turn", "build done", "read"]
