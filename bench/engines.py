"""The slice engine on the warehouses beyond DuckDB, each against DuckDB on the same rows.

``worker_engine_postgres``: a throwaway PostgreSQL server (``tests/scale/postgres_server.py``)
gets the file by ``COPY``, then the engine's slice statistics with the default options (exact
AUC, 1,000 score bins) run there and, on the same file, in DuckDB. ``worker_engine_spark``:
a local Spark session (``local[*]``) reads the Parquet file, and the same statistics run there
and in DuckDB. Both report the load time apart from the statistics and check that the two
engines' tables are identical.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any

from workloads import ATTRIBUTES, PAIRS

ROOT = Path(__file__).resolve().parent.parent


def _statistics(conn: Any, relation: str) -> Any:
    from rai_pipeline.core.engine.slices import build_slices
    from rai_pipeline.core.engine.statistics import compute_slice_statistics

    return compute_slice_statistics(
        conn,
        relation=relation,
        slices=build_slices(list(ATTRIBUTES), [list(p) for p in PAIRS]),
        label="label",
        score="score",
        decision="decision",
    )


def _timed(function: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _duckdb(path: Path) -> tuple[float, Any]:
    import duckdb

    from rai_pipeline.core.engine.sql import quote_literal

    conn = duckdb.connect()
    conn.execute(f"CREATE VIEW frame AS SELECT * FROM read_parquet({quote_literal(str(path))})")
    return _timed(lambda: _statistics(conn, "frame"))


def _same(a: Any, b: Any) -> bool:
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(a.stats, b.stats, check_exact=True)
        pd.testing.assert_frame_equal(a.histograms, b.histograms, check_exact=True)
    except AssertionError:
        return False
    return True


def worker_engine_postgres(path: Path) -> dict[str, Any]:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from rai_pipeline.adapters.sql_engines import PostgresEngine
    from tests.scale.postgres_server import postgres_server

    table = pq.read_table(path)
    columns = ", ".join(
        f'"{field.name}" '
        + ("DOUBLE PRECISION" if str(field.type).startswith(("double", "float")) else
           "BIGINT" if str(field.type).startswith("int") else "TEXT")
        for field in table.schema
    )  # fmt: skip
    with postgres_server() as server, PostgresEngine.connect(**server.dsn()) as engine:
        started = time.perf_counter()
        with engine._connection.cursor() as cursor:
            cursor.execute(f"CREATE UNLOGGED TABLE frame ({columns})")
            buffer = io.BytesIO()
            pacsv.write_csv(table.cast(table.schema), buffer)
            buffer.seek(0)
            cursor.copy_expert("COPY frame FROM STDIN WITH (FORMAT csv, HEADER true)", buffer)
            cursor.execute("ANALYZE frame")
        load = time.perf_counter() - started
        seconds, on_engine = _timed(lambda: _statistics(engine, "frame"))
    duck_seconds, on_duckdb = _duckdb(path)
    return {
        "engine": "postgresql",
        "rows": table.num_rows,
        "load_seconds": load,
        "seconds": seconds,
        "duckdb_seconds": duck_seconds,
        "identical": _same(on_engine, on_duckdb),
    }


def worker_engine_spark(path: Path) -> dict[str, Any]:
    import os

    from pyspark.sql import SparkSession

    from rai_pipeline.adapters.sql_engines import SparkEngine

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    started = time.perf_counter()
    session = (
        SparkSession.builder.master("local[*]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.catalogImplementation", "in-memory")
        # its tables' folder beside the data, not in the folder the bench runs from
        .config("spark.sql.warehouse.dir", str(path.parent / "spark-warehouse"))
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.read.parquet(str(path)).createOrReplaceTempView("frame")
    start = time.perf_counter() - started
    try:
        seconds, on_engine = _timed(lambda: _statistics(SparkEngine(session), "frame"))
        rows = session.sql("SELECT count(*) FROM frame").collect()[0][0]
    finally:
        session.stop()
    duck_seconds, on_duckdb = _duckdb(path)
    return {
        "engine": "spark",
        "rows": int(rows),
        "load_seconds": start,
        "seconds": seconds,
        "duckdb_seconds": duck_seconds,
        "identical": _same(on_engine, on_duckdb),
    }
