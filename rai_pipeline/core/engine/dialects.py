"""The engine's SQL, written once and rendered for the engine that runs it.

Every query of the slice engine is written in DuckDB's dialect with ``$name`` (or ``?``)
parameters. DuckDB runs it as written, binding the parameters. For PostgreSQL and Spark SQL,
:func:`render_statements` parses it with sqlglot, binds the parameters as literals and
rewrites the few constructs those engines spell or compute differently:

============================  ================================  ==============================
DuckDB                        PostgreSQL                        Spark SQL
============================  ================================  ==============================
``isfinite(x)``               ``x - x = 0``                     ``x - x = 0``
``approx_count_distinct(x)``  ``count(DISTINCT x)``             unchanged
``bit_count(m)``, BIGINT m    ``bit_count(CAST(m AS BIT(64)))`` unchanged
``GROUPING(a, b, ...)``       unchanged, at most 31 columns     ``grouping(a) << 1 | grouping(b)``
``CAST(x AS BIGINT)``         unchanged                         ``CAST(bround(x) AS BIGINT)``
``a // b``                    ``CAST(floor(a / b) AS BIGINT)``  ``a DIV b``
``row(a, b)``                 unchanged                         ``struct(a, b)``
``CREATE TEMP TABLE t AS``    unchanged; ``ANALYZE t``          ``CACHE TABLE t AS``
``CREATE OR REPLACE TEMP``    ``DROP TABLE IF EXISTS t;``       ``UNCACHE TABLE IF EXISTS t;``
``TABLE t AS``                ``CREATE TEMPORARY TABLE t AS``;  ``DROP VIEW IF EXISTS t;``
                              ``ANALYZE t``                     ``CACHE TABLE t AS``
``WITH f AS NOT MATERIALIZED``  unchanged                       ``WITH f AS``
``HUGEINT``                   refused (:data:`MSG_NO_HUGEINT`)  refused
============================  ================================  ==============================

``x - x = 0`` is false for infinities and NaN, as ``isfinite`` is. A double cast to an integer
(the fixed-point score sums) rounds half to even in DuckDB and PostgreSQL, and through
``bround`` in Spark, which would truncate. Float parameters are bound as doubles, not as
exact decimals, so that arithmetic on them rounds as DuckDB's does. The rest (GROUPING SETS,
FILTER, window functions, bit operations) is common SQL that sqlglot spells per dialect. The
results are identical to DuckDB's (``tests/scale/``). sqlglot is imported on the first
rendering only: DuckDB, the default engine, never needs it.

Examples
--------
>>> render("SELECT count(*) FILTER (WHERE isfinite(s)) FROM t WHERE g = $w0", POSTGRES,
...        {"w0": "a"})
"SELECT COUNT(*) FILTER(WHERE s - s = 0) FROM t WHERE g = 'a'"
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot import exp

DUCKDB = "duckdb"
POSTGRES = "postgres"
SPARK = "spark"
DIALECTS = (DUCKDB, POSTGRES, SPARK)
POSTGRES_MAX_GROUPING = 31  # PostgreSQL's GROUPING() returns an integer

MSG_DIALECT = "unknown SQL dialect {value!r}; expected one of {choices}"
MSG_GROUPING_COLUMNS = (
    "PostgreSQL's GROUPING() takes at most {limit} columns; this plan cuts by {count} "
    "features: evaluate fewer sensitive features and intersections per query"
)
MSG_NO_HUGEINT = (
    "{dialect} has no exact 128-bit integer for the fixed-point score sums this many rows "
    "need: evaluate at most about 6.7e7 rows per query there (scores in [0, 1]), or use DuckDB"
)
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INT", "BIGINT")


class DialectError(ValueError):
    """A query the target dialect cannot run exactly as DuckDB would."""


def dialect_of(conn: object) -> str:
    """The dialect of an engine connection: its ``dialect`` attribute, DuckDB by default
    (a plain ``duckdb`` connection has none)."""
    dialect = getattr(conn, "dialect", DUCKDB)
    return dialect if isinstance(dialect, str) else DUCKDB


def _binder(params: Mapping[str, Any] | Sequence[Any]) -> Callable[[exp.Expression], Any]:
    """Replaces ``$name`` placeholders from a mapping, or ``?`` ones in order from a sequence."""
    from sqlglot import exp

    positional = iter(()) if isinstance(params, Mapping) else iter(list(params))
    named = params if isinstance(params, Mapping) else {}

    def literal(value: Any) -> Any:
        if not isinstance(value, float):
            return exp.convert(value)
        # a float stays a double (DuckDB's type for it), not PostgreSQL's exact NUMERIC
        if math.isfinite(value):
            number = exp.Literal.number(repr(value))
        else:
            number = exp.Literal.string(
                "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            )
        return exp.Cast(this=number, to=exp.DataType.build("DOUBLE"))

    def bind(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Placeholder):
            return node
        if node.name and node.name != "?":
            return literal(named[node.name]) if node.name in named else node
        return literal(next(positional))

    return bind


def _postgres(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "isfinite":
            (value,) = node.expressions
            return exp.EQ(this=exp.Sub(this=value.copy(), expression=value.copy()),
                          expression=exp.Literal.number(0))  # fmt: skip
        if name == "bit_count":
            (value,) = node.expressions
            bits = exp.Cast(this=value.copy(), to=exp.DataType.build("BIT(64)", dialect=POSTGRES))
            return exp.Anonymous(this="bit_count", expressions=[bits])
    if isinstance(node, exp.Grouping) and len(node.expressions) > POSTGRES_MAX_GROUPING:
        raise DialectError(
            MSG_GROUPING_COLUMNS.format(limit=POSTGRES_MAX_GROUPING, count=len(node.expressions))
        )
    if isinstance(node, exp.ApproxDistinct):
        return exp.Count(this=exp.Distinct(expressions=[node.this.copy()]))
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        raise DialectError(MSG_NO_HUGEINT.format(dialect="PostgreSQL"))
    if isinstance(node, exp.IntDiv):
        quotient = exp.Floor(this=exp.Div(this=node.this.copy(), expression=node.expression.copy()))
        return exp.Cast(this=quotient, to=exp.DataType.build("BIGINT"))
    return node


def _spark(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and node.name.lower() == "isfinite":
        (value,) = node.expressions
        return exp.EQ(this=exp.Sub(this=value.copy(), expression=value.copy()),
                      expression=exp.Literal.number(0))  # fmt: skip
    if isinstance(node, exp.Anonymous) and node.name.lower() == "row":
        # a tuple whose fields may be NULL, counted as one value: Spark's struct
        return exp.Anonymous(this="struct", expressions=[e.copy() for e in node.expressions])
    if isinstance(node, exp.Grouping) and len(node.expressions) > 1:
        # Spark's GROUPING takes one column (and its grouping_id all the grouped columns):
        # DuckDB's mask from one bit per column, the first column's the most significant
        columns = node.expressions
        bits: list[exp.Expression] = [
            exp.BitwiseLeftShift(
                this=exp.Cast(this=exp.Grouping(expressions=[column.copy()]),
                              to=exp.DataType.build("BIGINT")),
                expression=exp.Literal.number(len(columns) - 1 - i),
            )
            for i, column in enumerate(columns)
        ]  # fmt: skip
        mask = bits[0]
        for bit in bits[1:]:
            mask = exp.BitwiseOr(this=mask, expression=bit)
        return exp.Paren(this=mask)
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        raise DialectError(MSG_NO_HUGEINT.format(dialect="Spark SQL"))
    if isinstance(node, exp.Cast) and node.to.this.name in _INTEGER_TYPES:
        # Spark truncates a double cast to an integer; DuckDB rounds half to even (bround)
        node.set("this", exp.Anonymous(this="bround", expressions=[node.this]))
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)  # Spark plans each reference itself
    return node


def _spark_statements(statement: exp.Expression) -> list[exp.Expression]:
    """A temporary table is a cached temporary view in Spark: computed once, when created;
    one that replaces another first drops it (a cached view cannot be replaced)."""
    from sqlglot import exp

    if isinstance(statement, exp.Create) and statement.find(exp.TemporaryProperty) is not None:
        cached = exp.Cache(this=statement.this, expression=statement.expression)
        if not statement.args.get("replace"):
            return [cached]
        name = statement.this.sql(dialect=SPARK)
        return [
            exp.Command(this="UNCACHE", expression=exp.Literal.string(f"TABLE IF EXISTS {name}")),
            exp.Drop(tables=[statement.this.copy()], kind="VIEW", exists=True),
            cached,
        ]
    return [statement]


def _postgres_statements(statement: exp.Expression) -> list[exp.Expression]:
    """PostgreSQL has no ``CREATE OR REPLACE`` for a table: drop it first. A temporary table
    is analyzed once created: autovacuum never analyzes one, and without statistics the
    planner joins it to itself row by row (a version comparison of 7,000 rows: 90 s)."""
    from sqlglot import exp

    if not isinstance(statement, exp.Create) or str(statement.args.get("kind")).upper() != "TABLE":
        return [statement]
    target = statement.this
    if isinstance(target, exp.Schema):  # CREATE TABLE t (columns ...)
        target = target.this
    statements: list[exp.Expression] = [statement]
    if statement.args.get("replace"):
        created = statement.copy()
        created.set("replace", False)
        statements = [exp.Drop(tables=[target.copy()], kind="TABLE", exists=True), created]
    if statement.find(exp.TemporaryProperty) is not None:
        name = target.sql(dialect=POSTGRES)
        statements.append(exp.Command(this="ANALYZE", expression=exp.Literal.string(name)))
    return statements


_REWRITES = {POSTGRES: _postgres, SPARK: _spark}
# passes that turn one statement into several
_STATEMENTS = {POSTGRES: _postgres_statements, SPARK: _spark_statements}


def check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise DialectError(MSG_DIALECT.format(value=dialect, choices=", ".join(DIALECTS)))
    return dialect


def render_statements(
    sql: str, dialect: str, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> list[str]:
    """``sql`` (DuckDB's dialect) with ``params`` bound as literals (a mapping for ``$name``
    parameters, a sequence for ``?`` ones, in order), in ``dialect``: one string per statement.

    Raises
    ------
    DialectError
        An unknown dialect, or a construct the dialect cannot run exactly (the ``MSG_*``
        constants).
    """
    import sqlglot

    check_dialect(dialect)
    bind = _binder(params if params is not None else {})
    rendered: list[str] = []
    for statement in sqlglot.parse(sql, read=DUCKDB):
        if statement is None:
            continue
        tree = statement.transform(bind)
        if dialect in _REWRITES:
            tree = tree.transform(_REWRITES[dialect])
        trees = _STATEMENTS[dialect](tree) if dialect in _STATEMENTS else [tree]
        rendered.extend(each.sql(dialect=dialect) for each in trees)
    return rendered


def render(sql: str, dialect: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> str:
    """:func:`render_statements` joined by ``;``."""
    return ";\n".join(render_statements(sql, dialect, params))
