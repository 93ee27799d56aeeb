"""Result tables in the warehouse: replace one evaluation's rows, read them back.

Evaluation results (sufficient statistics, slice and fairness metrics, the evaluation record)
are small, O(groups x metrics), and live in schema ``rai`` so that later evaluations, reports
and audits can query them beside the evaluation frames. On DuckDB the rows are written and
deleted here; on another engine (``rai_pipeline.adapters.sql_engines``) by the engine's own
``replace_rows`` and ``delete_rows`` (on PostgreSQL in one transaction, as here; on Spark,
whose Parquet tables cannot delete rows, by overwriting or dropping the key's partition),
and its ``table_columns`` says what a table holds; reading is the same SQL on every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import duckdb
import numpy as np
import pandas as pd

from rai_pipeline.core.engine.sql import quote_identifier

RESULTS_SCHEMA = "rai"
INCOMING = "_rai_incoming"  # the frame being written, registered on the connection
# On an engine other than DuckDB (which keeps the order rows were inserted in), each row's
# position in the frame written: PostgreSQL may place a row copied later on an earlier page,
# so rows are read back in this order.
ROW_ORDER = "row_order"
# On Spark, the columns a result table is partitioned by (its key's values), which are not
# read back (rai_pipeline.adapters.sql_engines.SparkEngine)
PARTITION_PREFIX = "rai_key_"


def _table(name: str) -> str:
    return f"{quote_identifier(RESULTS_SCHEMA)}.{quote_identifier(name)}"


def _where(key: Mapping[str, str]) -> tuple[str, list[str]]:
    clauses = [f"{quote_identifier(column)} = ?" for column in key]
    return " and ".join(clauses) or "true", [str(value) for value in key.values()]


def replace_rows(
    conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, *, key: Mapping[str, str]
) -> int:
    """Replace the rows of ``table`` matching ``key`` with ``frame``, in one transaction.

    The table is created from the frame's schema on first use. Every row of ``frame`` must
    carry the key's values, so re-running an evaluation replaces exactly its own rows.
    """
    for column, value in key.items():
        if column not in frame.columns or not (frame[column].astype(str) == str(value)).all():
            raise ValueError(f"every row written to {table} must have {column} = {value!r}")
    if not isinstance(conn, duckdb.DuckDBPyConnection):
        # another engine (rai_pipeline.adapters.sql_engines) writes in its own transaction
        ordered = frame.assign(**{ROW_ORDER: np.arange(len(frame), dtype=np.int64)})
        conn.replace_rows(RESULTS_SCHEMA, table, ordered, key)
        return len(frame)
    target = _table(table)
    conn.execute(f"create schema if not exists {quote_identifier(RESULTS_SCHEMA)}")

    def prepare() -> None:
        conn.execute(f"create table if not exists {target} as select * from {INCOMING} limit 0")
        _add_new_columns(conn, table, target)

    replace_key_rows(conn, target, frame, key, prepare=prepare)
    return len(frame)


def replace_key_rows(
    conn: duckdb.DuckDBPyConnection,
    target: str,
    frame: pd.DataFrame,
    key: Mapping[str, str],
    *,
    prepare: Callable[[], None] | None = None,
) -> None:
    """On DuckDB, in one transaction: ``prepare()`` (which may create or widen ``target``; the
    frame is readable as :data:`INCOMING`), delete the rows of ``target`` (a quoted relation)
    matching ``key``, insert ``frame``'s columns. Rolled back whole on any error."""
    conn.register(INCOMING, frame)
    try:
        conn.execute("begin transaction")
        if prepare is not None:
            prepare()
        condition, params = _where(key)
        conn.execute(f"delete from {target} where {condition}", params)
        columns = ", ".join(quote_identifier(c) for c in frame.columns)
        conn.execute(f"insert into {target} ({columns}) select {columns} from {INCOMING}")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister(INCOMING)


def _add_new_columns(conn: duckdb.DuckDBPyConnection, table: str, target: str) -> None:
    """Columns a newer release adds to a result table are added to an existing table (older
    rows get NULL), so upgrading never needs the warehouse rebuilt."""
    existing = _columns(conn, table)
    incoming = conn.execute(f"describe {INCOMING}").fetchall()
    for name, sql_type, *_ in incoming:
        if name not in existing:
            conn.execute(f"alter table {target} add column {quote_identifier(name)} {sql_type}")


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of ``rai.<table>``, none when it is absent (on DuckDB: its information
    schema; on another engine: the engine's ``table_columns``)."""
    if not isinstance(conn, duckdb.DuckDBPyConnection):
        return set(conn.table_columns(RESULTS_SCHEMA, table))
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [RESULTS_SCHEMA, table],
    ).fetchall()
    return {str(row[0]) for row in rows}


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``rai.<table>`` exists."""
    return bool(_columns(conn, table))


def read_rows(
    conn: duckdb.DuckDBPyConnection, table: str, *, key: Mapping[str, str]
) -> pd.DataFrame:
    """The rows of ``rai.<table>`` matching ``key`` (every row for an empty key), in the order
    they were written (:data:`ROW_ORDER`); an empty frame when the table is absent."""
    columns = _columns(conn, table)
    if not columns:
        return pd.DataFrame()
    condition, params = _where(key)
    order = f" order by {quote_identifier(ROW_ORDER)}" if ROW_ORDER in columns else ""
    rows = conn.execute(f"select * from {_table(table)} where {condition}{order}", params).df()
    kept = [c for c in rows.columns if c != ROW_ORDER and not c.startswith(PARTITION_PREFIX)]
    return rows[kept]


def delete_rows(conn: duckdb.DuckDBPyConnection, table: str, *, key: Mapping[str, str]) -> None:
    """Delete the rows of ``rai.<table>`` matching ``key`` (nothing when the table is absent):
    a re-run that no longer produces a key's rows keeps none of the earlier ones."""
    if not isinstance(conn, duckdb.DuckDBPyConnection):
        conn.delete_rows(RESULTS_SCHEMA, table, key)
    elif table_exists(conn, table):
        condition, params = _where(key)
        conn.execute(f"delete from {_table(table)} where {condition}", params)
