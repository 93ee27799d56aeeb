"""The engine's SQL rendered for PostgreSQL: parameters bound as literals of DuckDB's types,
and the constructs PostgreSQL cannot run exactly refused with a clear error. (The rendered
queries run on a real server and a local Spark session in tests/scale/.)"""

import pytest

from rai_pipeline.core.engine.dialects import (
    DUCKDB,
    MSG_DIALECT,
    MSG_GROUPING_COLUMNS,
    MSG_NO_HUGEINT,
    POSTGRES,
    SPARK,
    DialectError,
    dialect_of,
    render,
    render_statements,
)


def test_named_and_positional_parameters_become_literals_of_their_type():
    sql = render("SELECT $a + $b AS x FROM t WHERE name = $c AND n = $d", POSTGRES,
                 {"a": 0.1, "b": float("-inf"), "c": "O'Brien", "d": 3})  # fmt: skip
    assert sql == (
        "SELECT CAST(0.1 AS DOUBLE PRECISION) + CAST('-Infinity' AS DOUBLE PRECISION) AS x "
        "FROM t WHERE name = 'O''Brien' AND n = 3"
    )
    positional = render("SELECT 1 FROM t WHERE a = ? UNION ALL SELECT 2 FROM t WHERE b = ?",
                        POSTGRES, ["first", "second"])  # fmt: skip
    assert positional.index("'first'") < positional.index("'second'")


def test_functions_postgresql_spells_differently_are_rewritten():
    sql = render("SELECT approx_count_distinct(s), bit_count(m), p // 63 FROM t "
                 "WHERE isfinite(s)", POSTGRES)  # fmt: skip
    assert "COUNT(DISTINCT s)" in sql
    assert "BIT_COUNT(CAST(m AS BIT(64)))" in sql
    assert "CAST(FLOOR(CAST(p AS DOUBLE PRECISION) / 63) AS BIGINT)" in sql
    assert "WHERE s - s = 0" in sql


def test_what_postgresql_cannot_run_exactly_is_refused_with_the_reason():
    with pytest.raises(DialectError) as hugeint:
        render("SELECT sum(CAST(s * 2 AS HUGEINT)) FROM t", POSTGRES)
    assert str(hugeint.value) == MSG_NO_HUGEINT.format(dialect="PostgreSQL")
    columns = ", ".join(f"f{i}" for i in range(32))
    with pytest.raises(DialectError) as grouping:
        render(f"SELECT GROUPING({columns}) FROM t GROUP BY GROUPING SETS (({columns}))", POSTGRES)
    assert str(grouping.value) == MSG_GROUPING_COLUMNS.format(limit=31, count=32)
    render(f"SELECT GROUPING({columns}) FROM t GROUP BY GROUPING SETS (({columns}))", DUCKDB)
    with pytest.raises(DialectError) as unknown:
        render("SELECT 1", "oracle")
    choices = "duckdb, postgres, spark"
    assert str(unknown.value) == MSG_DIALECT.format(value="oracle", choices=choices)


def test_a_connection_without_a_dialect_is_duckdb():
    import duckdb

    assert dialect_of(duckdb.connect()) == DUCKDB

    class Engine:
        dialect = POSTGRES

    assert dialect_of(Engine()) == POSTGRES


def test_a_replaced_temporary_table_is_dropped_first_where_the_engine_cannot_replace_it():
    """... and on PostgreSQL each temporary table is analyzed once created (no autovacuum
    analyzes one: the planner would join it to itself row by row)."""
    sql = "CREATE OR REPLACE TEMP TABLE t AS SELECT 1 AS x; CREATE TEMP TABLE u AS SELECT 2 AS y"
    assert render_statements(sql, POSTGRES) == [
        "DROP TABLE IF EXISTS t",
        "CREATE TEMPORARY TABLE t AS SELECT 1 AS x",
        "ANALYZE t",
        "CREATE TEMPORARY TABLE u AS SELECT 2 AS y",
        "ANALYZE u",
    ]
    # on Spark a temporary table is a cached view, which must be uncached before it is dropped
    assert render_statements(sql, SPARK) == [
        "UNCACHE TABLE IF EXISTS t",
        "DROP VIEW IF EXISTS t",
        "CACHE TABLE t AS SELECT 1 AS x",
        "CACHE TABLE u AS SELECT 2 AS y",
    ]
    assert render_statements("CREATE OR REPLACE TABLE s.w (a INT)", POSTGRES) == [
        "DROP TABLE IF EXISTS s.w",
        "CREATE TABLE s.w (a INT)",
    ]
    assert render_statements(sql, DUCKDB) == [
        "CREATE OR REPLACE TEMPORARY TABLE t AS SELECT 1 AS x",
        "CREATE TEMPORARY TABLE u AS SELECT 2 AS y",
    ]
