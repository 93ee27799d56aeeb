"""The rules an input file must follow (a predictions file for ``rai evaluate-file``, a data
set for ``rai land``), their messages and the exception for bad input.

Every rule on the values is a count in one scan of the input relation (:func:`run_rules`), so
a problem is reported with its file, column, rule and number of rows, and every problem is
reported at once. Messages quote values of the label column only: a column given the wrong
role may hold personal data (a name, a birth date), and errors are printed and logged.
Python receives one row of counts. The SQL readings of a value (:func:`as_number`,
:func:`as_binary`, :func:`positive_condition`) are public so that the evaluation frame reads
each value exactly as the rules checked it. :class:`InputFileError` is raised for every
problem with the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.core.config.schema import ColumnsConfig, EvaluationConfig
from rai_pipeline.core.engine.sql import quote_identifier, quote_literal

EXAMPLE_VALUES = 5

MSG_UNREADABLE = "{file}: cannot be read as {kind} ({reason})"
MSG_OUT_OF_MEMORY = (
    "{file}: DuckDB ran out of memory while reading it ({reason}); raise --memory-limit, or "
    "leave it unset"
)
MSG_NO_ROWS = "{file}: the file has no rows: there is nothing to evaluate"
MSG_NULLS = "{file}: column {column!r} ({key}) has {count} NULL {values}"
MSG_NOT_NUMBER = "{file}: column {column!r} ({key}) has {count} non-numeric {values}"
MSG_NOT_FINITE = "{file}: column {column!r} ({key}) has {count} {values} that {are} NaN or infinite"
MSG_SCORE_RANGE = (
    "{file}: column {column!r} ({key}) has {count} {values} outside [0, 1]; "
    "scores must be probabilities"
)
MSG_NOT_BINARY = (
    "{file}: column {column!r} ({key}) has {count} {values} that {are} not 0/1 or true/false"
)
MSG_EXAMPLE = " (e.g. {example!r})"
MSG_LABEL_HINT = "; set positive_label to the value that means the positive class"
MSG_NO_POSITIVE = (
    "{file}: column {column!r} ({key}) has no value equal to positive_label {positive!r}; "
    "its values include {example}"
)
MSG_DUPLICATE_IDS = (
    "{file}: column {column!r} ({key}) has {count} repeated {values}; ids must be unique"
)
MSG_REFERENCE_GROUP = (
    "{file}: column {column!r} has no group {group!r} (reference_groups.{column}); "
    "its groups are {groups}"
)


class InputFileError(ValueError):
    """The input file, the output folder or an option broke a rule; the message says which
    (for the file: its name, the column and the rule).

    Attributes
    ----------
    problems : list of str
        One message per problem (the exception message joins them with newlines).
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def unreadable(error: BaseException, shown: str, kind: str) -> InputFileError:
    """The error to raise when DuckDB fails reading ``shown``: out of memory says so (the file
    is fine; the limit is too low), anything else is the file's."""
    if isinstance(error, duckdb.OutOfMemoryException):
        return InputFileError(MSG_OUT_OF_MEMORY.format(file=shown, reason=first_line(error)))
    return InputFileError(MSG_UNREADABLE.format(file=shown, kind=kind, reason=first_line(error)))


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its type name if the message is empty)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _counted(count: int) -> dict[str, str]:
    """``count`` with thousands separators and the matching noun and verb for the messages."""
    one = count == 1
    return {
        "count": f"{count:,}",
        "values": "value" if one else "values",
        "are": "is" if one else "are",
    }


def as_number(column: str) -> str:
    """SQL for ``column`` as a DOUBLE, NULL where it is not a number."""
    return f"TRY_CAST({quote_identifier(column)} AS DOUBLE)"


def as_binary(column: str) -> str:
    """A 0/1 column as a number: numbers, booleans, or the text ``true``/``false``."""
    text = f"lower({_text(column)})"
    return f"COALESCE({as_number(column)}, CASE {text} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"


def _text(column: str) -> str:
    return f"CAST({quote_identifier(column)} AS VARCHAR)"


def positive_condition(column: str, positive: int | str) -> str:
    """SQL that is true where ``column`` equals the positive label ``positive``."""
    if isinstance(positive, str):
        return f"{_text(column)} = {quote_literal(positive)}"
    return f"{as_number(column)} = {int(positive)}"


def label_value(column: str, positive: int | str | None) -> str:
    """SQL for a label as INTEGER 0/1: 1 where it equals ``positive`` (any other value 0), or
    without ``positive`` the 0/1 or true/false value itself."""
    if positive is None:
        return f"CAST({as_binary(column)} AS INTEGER)"
    return f"CASE WHEN {positive_condition(column, positive)} THEN 1 ELSE 0 END"


@dataclass(frozen=True)
class Rule:
    """One rule on the file's values, checked by counting offending rows in SQL.

    ``count`` counts the rows that break the rule, or with ``broken_when_zero`` the rows that
    satisfy it (the rule needs at least one). ``example`` picks one offending value; ``detail``
    runs a second query for the message only when the rule is broken.
    """

    check: str
    description: str
    message: str
    column: str
    key: str
    count: str
    example: str = "NULL"
    broken_when_zero: bool = False
    detail: Callable[[duckdb.DuckDBPyConnection], str] | None = None


def null_rule(column: str, key: str, role: str) -> Rule:
    """The column has no NULL values."""
    return Rule(
        check=f"{role}_column_has_no_nulls",
        description=f"column {column!r} ({key}) has no NULL values",
        message=MSG_NULLS,
        column=column,
        key=key,
        count=f"count(*) FILTER (WHERE {quote_identifier(column)} IS NULL)",
    )


def unique_rule(column: str, key: str, *, distinct: str | None = None) -> Rule:
    """The column's values are unique; ``distinct`` is the SQL counting its distinct values
    (:func:`distinct_count_sql`; default ``count(DISTINCT ...)``)."""
    quoted = quote_identifier(column)
    return Rule(
        check="ids_are_unique",
        description=f"column {column!r} ({key}) has no repeated values",
        message=MSG_DUPLICATE_IDS,
        column=column,
        key=key,
        count=f"count({quoted}) - {distinct or f'count(DISTINCT {quoted})'}",
    )


def binary_rule(column: str, key: str, role: str, *, hint: bool) -> Rule:
    """The column holds only 0/1 or true/false (NULLs are another rule's). The message quotes
    an offending value only for the label (``hint``)."""
    value = as_binary(column)
    bad = f"{value} NOT IN (0, 1) OR ({value} IS NULL AND {quote_identifier(column)} IS NOT NULL)"
    return Rule(
        check=f"{role}_values_are_0_1",
        description=f"column {column!r} ({key}) holds only 0/1 or true/false",
        message=MSG_NOT_BINARY + (MSG_EXAMPLE + MSG_LABEL_HINT if hint else ""),
        column=column,
        key=key,
        count=f"count(*) FILTER (WHERE {bad})",
        example=f"min({_text(column)}) FILTER (WHERE {bad})",
    )


def label_rule(column: str, key: str, positive: int | str | None, relation: str) -> Rule:
    """Without ``positive``, the label is 0/1 or true/false; with it, some rows equal it."""
    if positive is None:
        return binary_rule(column, key, "label", hint=True)
    return Rule(
        check="positive_label_occurs",
        description=f"column {column!r} ({key}) has rows equal to positive_label "
        f"{positive!r}; every other value is a negative",
        message=MSG_NO_POSITIVE,
        column=column,
        key=key,
        count=f"count(*) FILTER (WHERE {positive_condition(column, positive)})",
        broken_when_zero=True,
        detail=lambda conn: _some_values(conn, relation, column),
    )


def number_rules(column: str, key: str) -> list[Rule]:
    """The column's values are numbers and finite (NULLs are allowed)."""
    value = as_number(column)
    not_number = f"{value} IS NULL AND {quote_identifier(column)} IS NOT NULL"
    return [
        Rule(
            check=check,
            description=f"values of column {column!r} ({key}) are {what}",
            message=message,
            column=column,
            key=key,
            count=f"count(*) FILTER (WHERE {condition})",
            example=f"min({_text(column)}) FILTER (WHERE {condition})",
        )
        for check, what, message, condition in (
            ("values_are_numbers", "numbers", MSG_NOT_NUMBER, not_number),
            ("values_are_finite", "not NaN or infinite", MSG_NOT_FINITE, f"NOT isfinite({value})"),
        )
    ]


def _rules(
    columns: ColumnsConfig, config: EvaluationConfig, relation: str, *, distinct_ids: str | None
) -> list[Rule]:
    rules = [null_rule(column, f"columns.{role}", role) for role, column in columns.roles().items()]
    if columns.id is not None:
        rules.append(unique_rule(columns.id, "columns.id", distinct=distinct_ids))
    rules.append(label_rule(columns.label, "columns.label", config.positive_label, relation))
    if columns.prediction is not None:
        rules.append(
            binary_rule(columns.prediction, "columns.prediction", "prediction", hint=False)
        )
    if columns.score is not None:
        column, value = columns.score, as_number(columns.score)
        key = "columns.score"
        outside = f"isfinite({value}) AND ({value} < 0 OR {value} > 1)"
        for rule, check in zip(
            number_rules(column, key), ("scores_are_numbers", "scores_are_finite"), strict=True
        ):
            rules.append(replace(rule, check=check))
        rules.append(
            Rule(
                check="scores_are_within_0_1",
                description=f"values of column {column!r} ({key}) are within [0, 1]",
                message=MSG_SCORE_RANGE,
                column=column,
                key=key,
                count=f"count(*) FILTER (WHERE {outside})",
                example=f"min({_text(column)}) FILTER (WHERE {outside})",
            )
        )
    return rules


def run_rules(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    shown: str,
    rules: list[Rule],
    *,
    extra: Sequence[str] = (),
    positive: int | str | None = None,
) -> tuple[int, list[dict[str, Any]], list[Any]]:
    """Count every rule's offending rows (and the ``extra`` measures) in one scan of
    ``relation``; raise :class:`InputFileError` listing every broken rule, or return the row
    count, one check record per rule and the values of ``extra``. The offending values the
    messages quote are read by a second query, only when a rule is broken."""
    measures = ["count(*)", *extra, *(rule.count for rule in rules)]
    try:
        # fetchall, not fetchone: DuckDB keeps an unfinished result open on the connection
        [row] = conn.execute(f"SELECT {', '.join(measures)} FROM {relation}").fetchall()
    except duckdb.Error as error:
        raise unreadable(error, shown, "a table") from None
    rows, *values = row
    if not rows:
        raise InputFileError(MSG_NO_ROWS.format(file=shown))
    extra_values, counts = values[: len(extra)], [int(v) for v in values[len(extra) :]]
    broken = [
        count == 0 if rule.broken_when_zero else count > 0
        for rule, count in zip(rules, counts, strict=True)
    ]
    checks = [
        {"name": rule.check, "passed": not bad, "description": rule.description}
        for rule, bad in zip(rules, broken, strict=True)
    ]
    if not any(broken):
        return int(rows), checks, extra_values
    failing = [(rule, count) for rule, count, bad in zip(rules, counts, broken, strict=True) if bad]
    quoted = [
        k for k, (rule, _) in enumerate(failing) if rule.example != "NULL" and not rule.detail
    ]
    examples: list[Any] = [None] * len(failing)
    if quoted:
        [found] = conn.execute(
            f"SELECT {', '.join(failing[k][0].example for k in quoted)} FROM {relation}"
        ).fetchall()
        for k, value in zip(quoted, found, strict=True):
            examples[k] = value
    problems = [
        rule.message.format(
            file=shown,
            column=rule.column,
            key=rule.key,
            example=rule.detail(conn) if rule.detail else example,
            positive=positive,
            **_counted(count),
        )
        for (rule, count), example in zip(failing, examples, strict=True)
    ]
    raise InputFileError(problems)


_BITMAP_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
)
BITMAP_SPAN_PER_ROW = 64  # a bitmap of at most 8 bytes a row


def distinct_count_sql(conn: duckdb.DuckDBPyConnection, relation: str, column: str) -> str:
    """SQL for the number of distinct values of ``column`` in ``relation``.

    For an integer column whose values span at most :data:`BITMAP_SPAN_PER_ROW` values a row,
    the set bits of a bitmap over that span (``bitstring_agg``: one pass, no hash table; at
    10^7 ids about ten times faster); otherwise ``count(DISTINCT ...)``. The span comes from
    the column's extremes, which DuckDB reads from Parquet statistics without a scan."""
    quoted = quote_identifier(column)
    [(kind,)] = conn.execute(f"SELECT typeof({quoted}) FROM {relation} LIMIT 1").fetchall() or [
        ("",)
    ]
    if kind in _BITMAP_TYPES:
        [(low, high, rows)] = conn.execute(
            f"SELECT min({quoted}), max({quoted}), count(*) FROM {relation}"
        ).fetchall()
        if low is not None and int(high) - int(low) < BITMAP_SPAN_PER_ROW * max(int(rows), 1):
            return f"bit_count(bitstring_agg({quoted}, {int(low)}, {int(high)}))"
    return f"count(DISTINCT {quoted})"


def check_values(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    shown: str,
    columns: ColumnsConfig,
    config: EvaluationConfig,
    *,
    measures: Sequence[str] = (),
) -> tuple[int, list[dict[str, Any]], list[Any]]:
    """Check every rule of a predictions file on ``relation`` in one scan; raise listing every
    broken rule, or return the row count, the checks (for the report's data-quality section)
    and the values of the SQL aggregates ``measures``, computed in the same scan."""
    nulls = [
        f"count(*) FILTER (WHERE {quote_identifier(f)} IS NULL)" for f in config.sensitive_features
    ]
    distinct_ids = None if columns.id is None else distinct_count_sql(conn, relation, columns.id)
    rows, checks, values = run_rules(
        conn,
        relation,
        shown,
        _rules(columns, config, relation, distinct_ids=distinct_ids),
        extra=[*nulls, *measures],
        positive=config.positive_label,
    )
    feature_nulls, measured = values[: len(nulls)], values[len(nulls) :]
    for name, count in zip(config.sensitive_features, feature_nulls, strict=True):
        checks.append(
            {
                "name": f"{name}_nulls_are_kept_as_unknown",
                "passed": True,
                "description": f"{int(count):,} NULL values of {name!r} form the group 'unknown'",
            }
        )
    return rows, checks, measured


def _some_values(conn: duckdb.DuckDBPyConnection, relation: str, column: str) -> str:
    values = conn.execute(
        f"SELECT DISTINCT {_text(column)} AS v FROM {relation} ORDER BY v NULLS LAST "
        f"LIMIT {EXAMPLE_VALUES + 1}"
    ).fetchall()
    shown = ", ".join(repr(v[0]) for v in values[:EXAMPLE_VALUES])
    return shown + (", ..." if len(values) > EXAMPLE_VALUES else "")


def check_reference_groups(stats: pd.DataFrame, config: EvaluationConfig, path: Path) -> None:
    """Every configured reference group must be a group of its column in ``stats``."""
    shown, problems = str(path), []
    for dimension, group in config.reference_groups.items():
        groups = sorted(stats.loc[stats["dimension"] == dimension, "group"])
        if group not in groups:
            problems.append(
                MSG_REFERENCE_GROUP.format(
                    file=shown, column=dimension, group=group, groups=", ".join(groups)
                )
            )
    if problems:
        raise InputFileError(problems)
