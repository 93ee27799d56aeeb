"""Warehouse connections other than DuckDB, shaped as the slice engine uses one.

The engine calls ``conn.execute(sql, params)`` and reads the result with ``.df()``,
``.fetchall()`` or ``.fetchone()``, as on a DuckDB connection. :class:`PostgresEngine` gives a
PostgreSQL connection (psycopg2) that shape, :class:`SparkEngine` a Spark session: each query,
written in DuckDB's dialect, is rendered for the engine by
:func:`~rai_pipeline.core.engine.dialects.render_statements` (parameters bound as literals) and
runs there, so rows never leave the warehouse; only the aggregates come back.
"""

from __future__ import annotations

import contextlib
import decimal
import io
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from rai_pipeline.core.engine.dialects import POSTGRES, SPARK, render, render_statements
from rai_pipeline.core.engine.results import PARTITION_PREFIX
from rai_pipeline.core.engine.sql import qualified_relation, quote_identifier

# a frame's column types as each engine declares them (anything else is text)
_POSTGRES_TYPES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "float64": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
}
_SPARK_TYPES = {"int64": "long", "int32": "integer", "float64": "double", "bool": "boolean"}
_SPARK_FLOATS = frozenset({"double", "float"})
MSG_SPARK_KEY = (
    "{relation} on Spark is partitioned by {held}: its rows are replaced and deleted by that "
    "key, not by {key}"
)
_NULL = "\\N"
PG_ENV = "RAI_WAREHOUSE_PG_"  # the variables dbt's postgres target reads (profiles.yml)
MSG_PG_ENVIRONMENT = (
    "the PostgreSQL warehouse needs {missing} set in the environment (with RAI_WAREHOUSE_PG_HOST, "
    "_PORT and _PASSWORD as needed; docs/scaling.md)"
)
# psycopg2's type codes of PostgreSQL's floating-point types (float4, float8)
_POSTGRES_FLOAT_OIDS = frozenset({700, 701})
# The keys of the warehouse's advisory locks, one per purpose (PostgreSQL's bigint key space;
# 0x726169 is "rai"):
# - DDL_LOCK, held by each transaction of this module that may create or widen a table:
#   PostgreSQL fails one of two CREATE TABLE IF NOT EXISTS (or CREATE SCHEMA) of the same name
#   that run at once ("duplicate key value violates unique constraint").
# - BUILD_LOCK, held exclusively while dbt builds the warehouse's models and shared by every
#   step that reads them (``WarehouseResource``): dbt replaces a view by renaming and dropping
#   relations, which a concurrent reader would find missing.
DDL_LOCK = 0x726169_0001
BUILD_LOCK = 0x726169_0002


class QueryResult:
    """Rows of one query, read as a DuckDB result is. ``floats`` names the columns the engine
    typed as floating point: read as float64 even when every value is NULL, as DuckDB does."""

    def __init__(
        self,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        floats: Collection[str] = (),
    ) -> None:
        self.columns = list(columns)
        self.rows = rows
        self.floats = set(floats)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(_plain(value) for value in row) for row in self.rows]

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def df(self) -> pd.DataFrame:
        """A frame with NUMERIC results (PostgreSQL's sums of integers) as int64 when they are
        whole numbers, else float64."""
        frame = pd.DataFrame.from_records(self.rows, columns=self.columns)
        for column in frame.columns:
            values = frame[column]
            if values.dtype == object and values.map(_is_decimal).any():
                whole = all(v is None or v == v.to_integral_value() for v in values)
                nulls = values.isna().any()
                frame[column] = values.astype("float64" if nulls or not whole else "int64")
            elif column in self.floats and values.dtype == object:
                frame[column] = values.astype("float64")
        return frame


def _is_decimal(value: object) -> bool:
    return isinstance(value, decimal.Decimal)


def _plain(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class PostgresEngine:
    """A psycopg2 connection (autocommit) the slice engine runs its SQL on, rendered for
    PostgreSQL. ``dialect`` tells the engine which plans the server can run."""

    dialect = POSTGRES

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._connection.autocommit = True

    @classmethod
    def connect(cls, **dsn: Any) -> PostgresEngine:
        """Connect with psycopg2's keyword arguments (host, port, user, password, dbname)."""
        import psycopg2

        return cls(psycopg2.connect(**dsn))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PostgresEngine:
        """Connect to the warehouse dbt's ``postgres`` target names: ``RAI_WAREHOUSE_PG_HOST``
        (default 127.0.0.1), ``_PORT`` (5432), ``_USER``, ``_PASSWORD`` (empty) and ``_DB``,
        from the environment (the password never sits in a file)."""
        return cls.connect(**postgres_dsn(os.environ if environ is None else environ))

    def execute(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> QueryResult:
        statement = render(sql, POSTGRES, params)
        with self._connection.cursor() as cursor:
            cursor.execute(statement)
            if cursor.description is None:
                return QueryResult([], [])
            columns = [column.name for column in cursor.description]
            floats = [c.name for c in cursor.description if c.type_code in _POSTGRES_FLOAT_OIDS]
            return QueryResult(columns, cursor.fetchall(), floats)

    def load_table(self, table: str, frame: pd.DataFrame) -> None:
        """``frame`` as the table ``table`` (``schema.name``), replacing one of that name, in
        one transaction: numbers as numbers, anything else as text, missing values as NULL;
        the rows go in with one ``COPY``.

        A table with the frame's columns and types is emptied and refilled in place, so the
        views on it (dbt's staging models) stay; one of another shape is dropped with the
        views on it (``CASCADE``) and created again: the dbt build that follows a landing
        creates them again."""
        relation = qualified_relation(table)
        schema, name = _schema_of(table) or "public", table.split(".")[-1]
        wanted = {str(column): _postgres_type(dtype) for column, dtype in frame.dtypes.items()}
        with self._transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
            if _column_types(cursor, schema, name) == wanted:
                cursor.execute(f"TRUNCATE {relation}")
            else:
                cursor.execute(f"DROP TABLE IF EXISTS {relation} CASCADE")
                cursor.execute(f"CREATE TABLE {relation} ({_postgres_columns(frame)})")
            _copy_into(cursor, relation, frame)

    def replace_rows(
        self, schema: str, table: str, frame: pd.DataFrame, key: Mapping[str, str]
    ) -> None:
        """The rows of ``schema.table`` matching ``key`` replaced by ``frame``, in one
        transaction: the table is created from the frame's columns on first use, columns the
        frame adds are added (older rows get NULL), the key's rows deleted, the frame's copied
        in (what :func:`rai_pipeline.core.engine.results.replace_rows` does on DuckDB)."""
        relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        with self._transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {relation} ({_postgres_columns(frame)})")
            existing = _column_types(cursor, schema, table)
            for name, dtype in frame.dtypes.items():
                if str(name) not in existing:
                    cursor.execute(
                        f"ALTER TABLE {relation} ADD COLUMN {quote_identifier(str(name))} "
                        f"{_postgres_type(dtype)}"
                    )
            condition = " AND ".join(f"{quote_identifier(column)} = %s" for column in key)
            cursor.execute(f"DELETE FROM {relation} WHERE {condition}", list(key.values()))
            _copy_into(cursor, relation, frame)

    def table_columns(self, schema: str, table: str) -> dict[str, str]:
        """``{column: type}`` of ``schema.table`` as declared, empty when there is no such
        table."""
        with self._connection.cursor() as cursor:
            return _column_types(cursor, schema, table)

    def delete_rows(self, schema: str, table: str, key: Mapping[str, str]) -> None:
        """Delete the rows of ``schema.table`` matching ``key`` (nothing when the table is
        absent)."""
        if not self.table_columns(schema, table):
            return
        relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        condition = " AND ".join(f"{quote_identifier(column)} = %s" for column in key)
        with self._connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {relation} WHERE {condition}", list(key.values()))

    @contextlib.contextmanager
    def advisory_lock(self, key: int, *, shared: bool = False) -> Iterator[None]:
        """PostgreSQL's session advisory lock ``key`` (exclusive, or ``shared``) held for the
        block: waits while another session holds it in a conflicting mode; released when the
        block ends (and by the server if the connection is lost)."""
        mode = "_shared" if shared else ""
        with self._connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_lock{mode}(%s)", (key,))
        try:
            yield
        finally:
            if not self._connection.closed:
                with self._connection.cursor() as cursor:
                    cursor.execute(f"SELECT pg_advisory_unlock{mode}(%s)", (key,))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction: committed when the block ends, rolled back when it
        raises; the connection is in autocommit again afterwards."""
        self._connection.autocommit = False
        try:
            with self._connection.cursor() as cursor:
                yield cursor
            self._connection.commit()
        except BaseException:
            self._connection.rollback()
            raise
        finally:
            self._connection.autocommit = True

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> PostgresEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SparkEngine:
    """A Spark session the slice engine runs its SQL on, rendered for Spark SQL (a temporary
    table becomes a cached temporary view). ``dialect`` tells the engine which plans Spark can
    run.

    Result tables (:mod:`rai_pipeline.core.engine.results`) are Parquet tables, which cannot
    delete rows: each is partitioned by the values of the key its rows are replaced by (the
    columns ``rai_key_<column>``, after the data columns), and a replacement overwrites the
    key's partition only (dynamic partition overwrite); deleting a key's rows drops its
    partition."""

    dialect = SPARK

    def __init__(self, session: Any) -> None:
        self.session = session

    def execute(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> QueryResult:
        result = None
        for statement in render_statements(sql, SPARK, params):
            result = self.session.sql(statement)
        if result is None:
            return QueryResult([], [])
        floats = [f.name for f in result.schema.fields if f.dataType.typeName() in _SPARK_FLOATS]
        return QueryResult(list(result.columns), [tuple(r) for r in result.collect()], floats)

    def load_table(self, table: str, frame: pd.DataFrame) -> None:
        """``frame`` as the Parquet table ``table`` (``database.name``), replacing one of that
        name: numbers as numbers, anything else as text, missing values as NULL."""
        qualified_relation(table)  # the name's rule, as on the other engines
        database = _schema_of(table)
        if database:
            self.session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        self._data(frame).write.mode("overwrite").format("parquet").saveAsTable(table)

    def table_columns(self, schema: str, table: str) -> dict[str, str]:
        """``{column: type}`` of ``schema.table`` (partition columns included), empty when
        there is no such table."""
        relation = _spark_relation(schema, table)
        if not self.session.catalog.tableExists(relation):
            return {}
        return {f.name: f.dataType.simpleString() for f in self.session.table(relation).schema}

    def replace_rows(
        self, schema: str, table: str, frame: pd.DataFrame, key: Mapping[str, str]
    ) -> None:
        """The rows of ``schema.table`` matching ``key`` replaced by ``frame``: the table is
        created on first use, partitioned by ``key``'s columns; columns the frame adds are
        added (older rows get NULL); the key's partition is overwritten, the others are left
        as they are. A table is always replaced by the same key's columns (else ValueError).
        The partition is replaced only when the whole write succeeds: a value the table
        cannot hold fails it and leaves the earlier rows."""
        from pyspark.sql import functions as F

        relation = _spark_relation(schema, table)
        keyed = frame.assign(**{_partition(c): str(v) for c, v in key.items()})
        partitions = [_partition(c) for c in key]
        existing = self.table_columns(schema, table)
        self.session.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
        data = self._data(keyed)
        if not existing:
            data.write.format("parquet").partitionBy(*partitions).saveAsTable(relation)
            return
        self._check_partitions(relation, partitions)
        added = [
            f"`{name}` {_SPARK_TYPES.get(str(dtype), 'string')}"
            for name, dtype in frame.dtypes.items()
            if str(name) not in existing
        ]
        if added:
            self.session.sql(f"ALTER TABLE {relation} ADD COLUMNS ({', '.join(added)})")
        columns = self.table_columns(schema, table)
        aligned = data.select(
            *[
                F.col(f"`{name}`").cast(kind) if name in keyed.columns else F.lit(None).cast(kind)
                for name, kind in columns.items()
            ]
        )
        self.overwrite_partitions(relation, aligned)

    def overwrite_partitions(self, relation: str, data: Any) -> None:
        """Insert the Spark DataFrame ``data`` (the table's columns, in its order) into the
        partitioned table ``relation``, replacing the partitions ``data`` holds rows of and no
        other (dynamic partition overwrite; the session's setting is put back after). The
        partitions are replaced only when the whole write succeeds."""
        with _session_conf(self.session, "spark.sql.sources.partitionOverwriteMode", "dynamic"):
            data.write.insertInto(relation, overwrite=True)

    def delete_rows(self, schema: str, table: str, key: Mapping[str, str]) -> None:
        """Drop the partition of ``key``'s rows of ``schema.table`` (nothing when the table
        or the partition is absent)."""
        if not self.table_columns(schema, table):
            return
        relation = _spark_relation(schema, table)
        self._check_partitions(relation, [_partition(c) for c in key])
        spec = ", ".join(f"`{_partition(c)}` = {_spark_string(str(v))}" for c, v in key.items())
        self.session.sql(f"ALTER TABLE {relation} DROP IF EXISTS PARTITION ({spec})")

    def _check_partitions(self, relation: str, partitions: list[str]) -> None:
        held = [c.name for c in self.session.catalog.listColumns(relation) if c.isPartition]
        if sorted(held) != sorted(partitions):
            raise ValueError(
                MSG_SPARK_KEY.format(
                    relation=relation,
                    held=", ".join(h.removeprefix(PARTITION_PREFIX) for h in held) or "nothing",
                    key=", ".join(p.removeprefix(PARTITION_PREFIX) for p in partitions),
                )
            )

    def _data(self, frame: pd.DataFrame) -> Any:
        """``frame`` as a Spark DataFrame: numbers as numbers, anything else as text, missing
        values as NULL."""
        schema = ", ".join(
            f"`{quote_identifier(str(name))[1:-1]}` {_SPARK_TYPES.get(str(dtype), 'string')}"
            for name, dtype in frame.dtypes.items()
        )
        rows = [
            tuple(None if pd.isna(value) else value for value in row)
            for row in frame.astype(object).itertuples(index=False)
        ]
        return self.session.createDataFrame(rows, schema)


def _partition(column: str) -> str:
    return f"{PARTITION_PREFIX}{column}"


def _spark_string(value: str) -> str:
    """``value`` as a Spark SQL string literal (Spark escapes with backslashes)."""
    from sqlglot import exp

    return exp.Literal.string(value).sql(dialect=SPARK)


def _spark_relation(schema: str, table: str) -> str:
    return f"`{quote_identifier(schema)[1:-1]}`.`{quote_identifier(table)[1:-1]}`"


@contextlib.contextmanager
def _session_conf(session: Any, name: str, value: str) -> Iterator[None]:
    """The session's runtime setting ``name`` set to ``value`` for the block."""
    before = session.conf.get(name, None)
    session.conf.set(name, value)
    try:
        yield
    finally:
        if before is None:
            session.conf.unset(name)
        else:
            session.conf.set(name, before)


def postgres_dsn(environ: Mapping[str, str]) -> dict[str, Any]:
    """psycopg2's connection arguments from ``RAI_WAREHOUSE_PG_*`` in ``environ``; a clear
    error names the variables a connection needs and are missing."""
    missing = [f"{PG_ENV}{name}" for name in ("USER", "DB") if not environ.get(f"{PG_ENV}{name}")]
    if missing:
        raise ValueError(MSG_PG_ENVIRONMENT.format(missing=", ".join(missing)))
    return {
        "host": environ.get(f"{PG_ENV}HOST", "127.0.0.1"),
        "port": int(environ.get(f"{PG_ENV}PORT", "5432")),
        "user": environ[f"{PG_ENV}USER"],
        "password": environ.get(f"{PG_ENV}PASSWORD", ""),
        "dbname": environ[f"{PG_ENV}DB"],
    }


def _postgres_type(dtype: object) -> str:
    """The type of a column holding a frame column of ``dtype`` (anything but numbers: text)."""
    return _POSTGRES_TYPES.get(str(dtype), "TEXT")


def _postgres_columns(frame: pd.DataFrame) -> str:
    """The column definitions of a table holding ``frame``."""
    return ", ".join(
        f"{quote_identifier(str(name))} {_postgres_type(dtype)}"
        for name, dtype in frame.dtypes.items()
    )


def _column_types(cursor: Any, schema: str, table: str) -> dict[str, str]:
    """``{column: type}`` of ``schema.table`` as declared (upper case), empty when there is
    no such table."""
    cursor.execute(
        "SELECT column_name, upper(data_type) FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    )
    return {str(name): str(kind) for name, kind in cursor.fetchall()}


def _copy_into(cursor: Any, relation: str, frame: pd.DataFrame) -> None:
    """``frame``'s rows appended to ``relation`` with one ``COPY`` (missing values as NULL)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep=_NULL)
    buffer.seek(0)
    columns = ", ".join(quote_identifier(str(name)) for name in frame.columns)
    cursor.copy_expert(
        f"COPY {relation} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')", buffer
    )


def _schema_of(table: str) -> str:
    """The schema (PostgreSQL) or database (Spark) part of a valid relation name, if any."""
    parts = table.split(".")
    return parts[-2] if len(parts) > 1 else ""
