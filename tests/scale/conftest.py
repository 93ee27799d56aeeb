"""A PostgreSQL server for the module that asks for it (started once per module, about a
second), and the loading of one frame into PostgreSQL and DuckDB alike."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd
import pytest

from tests.scale.postgres_server import Server, postgres_server


@pytest.fixture(scope="module")
def postgres() -> Iterator[Server]:
    with postgres_server() as server:
        yield server


def load_postgres(engine: object, table: str, frame: pd.DataFrame) -> None:
    """``frame`` as a new PostgreSQL table (text for anything but numbers), NULLs kept."""
    engine.load_table(table, frame)  # type: ignore[attr-defined]


def load_duckdb(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    plain = frame.astype({c: object for c in frame.columns if frame[c].dtype == "category"})
    conn.register("_incoming", plain)
    conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming")
    conn.unregister("_incoming")


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A local Spark session on two cores, quiet and small: no UI, an in-memory catalog, its
    warehouse folder in a temporary folder (about ten seconds to start)."""
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (an MLflow spark_udf) run this interpreter, which has the model's packages
    os.environ["PYSPARK_PYTHON"] = sys.executable
    folder = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("rai-pipeline-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def load_spark(session: object, table: str, frame: pd.DataFrame) -> None:
    """``frame`` as a temporary view (categories as text, NULLs kept)."""
    from pyspark.sql import types

    def spark_type(dtype: object) -> types.DataType:
        if pd.api.types.is_integer_dtype(dtype):
            return types.LongType()
        if pd.api.types.is_float_dtype(dtype):
            return types.DoubleType()
        return types.StringType()

    schema = types.StructType(
        [types.StructField(str(c), spark_type(t), True) for c, t in frame.dtypes.items()]
    )
    rows = [
        tuple(None if pd.isna(value) else value for value in row)
        for row in frame.astype(object).itertuples(index=False)
    ]
    session.createDataFrame(rows, schema).createOrReplaceTempView(table)  # type: ignore[attr-defined]
