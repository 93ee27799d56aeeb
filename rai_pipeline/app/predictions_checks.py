"""The rules a predictions file must follow, their messages and the exception for bad input.

Every rule on the values is a count in one scan of the input relation, so a problem is reported
with its file, column, rule and number of rows, and every problem is reported at once. Python
receives one row of counts. The SQL readings of a value (:func:`as_number`, :func:`as_binary`,
:func:`positive_condition`) are public so that the evaluation frame reads each value exactly as
the rules checked it. :class:`EvaluateFileError` is raised for every problem with the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.core.config.schema import ColumnsConfig, EvaluationConfig
from rai_pipeline.core.engine.sql import quote_identifier, quote_literal

EXAMPLE_VALUES = 5

MSG_UNREADABLE = "{file}: cannot be read as {kind} ({reason})"
MSG_NO_ROWS = "{file}: the file has no rows: there is nothing to evaluate"
MSG_NULLS = "{file}: column {column!r} ({key}) has {count} NULL {values}"
MSG_NOT_NUMBER = (
    "{file}: column {column!r} ({key}) has {count} {values} that are not numbers (e.g. {example!r})"
)
MSG_NOT_FINITE = "{file}: column {column!r} ({key}) has {count} {values} that are NaN or infinite"
MSG_SCORE_RANGE = (
    "{file}: column {column!r} ({key}) has {count} {values} outside [0, 1] (e.g. {example}); "
    "scores must be probabilities"
)
MSG_NOT_BINARY = (
    "{file}: column {column!r} ({key}) has {count} {values} that are not 0/1 or true/false "
    "(e.g. {example!r})"
)
MSG_LABEL_HINT = "; set positive_label to the value that means the positive class"
MSG_NO_POSITIVE = (
    "{file}: column {column!r} ({key}) has no value equal to positive_label {positive!r}; "
    "its values include {example}"
)
MSG_DUPLICATE_IDS = (
    "{file}: column {column!r} ({key}) has {count} repeated {values} (e.g. {example!r}); "
    "ids must be unique"
)
MSG_REFERENCE_GROUP = (
    "{file}: column {column!r} has no group {group!r} (reference_groups.{column}); "
    "its groups are {groups}"
)


class EvaluateFileError(ValueError):
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


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its type name if the message is empty)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _counted(count: int) -> dict[str, str]:
    """``count`` with thousands separators and the matching noun for the messages."""
    return {"count": f"{count:,}", "values": "value" if count == 1 else "values"}


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


@dataclass(frozen=True)
class _Rule:
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


def _rules(columns: ColumnsConfig, config: EvaluationConfig, relation: str) -> list[_Rule]:
    rules = []
    for role, column in columns.roles().items():
        rules.append(
            _Rule(
                check=f"{role}_column_has_no_nulls",
                description=f"column {column!r} (columns.{role}) has no NULL values",
                message=MSG_NULLS,
                column=column,
                key=f"columns.{role}",
                count=f"count(*) FILTER (WHERE {quote_identifier(column)} IS NULL)",
            )
        )
    if columns.id is not None:
        quoted = quote_identifier(columns.id)
        rules.append(
            _Rule(
                check="ids_are_unique",
                description=f"column {columns.id!r} (columns.id) has no repeated values",
                message=MSG_DUPLICATE_IDS,
                column=columns.id,
                key="columns.id",
                count=f"count({quoted}) - count(DISTINCT {quoted})",
                detail=lambda conn, column=columns.id: _repeated_id(conn, relation, column),
            )
        )
    binary = {"prediction": columns.prediction}
    if config.positive_label is None:
        binary["label"] = columns.label
    else:
        positive = config.positive_label
        rules.append(
            _Rule(
                check="positive_label_occurs",
                description=f"column {columns.label!r} (columns.label) has rows equal to "
                f"positive_label {positive!r}; every other value is a negative",
                message=MSG_NO_POSITIVE,
                column=columns.label,
                key="columns.label",
                count=f"count(*) FILTER (WHERE {positive_condition(columns.label, positive)})",
                broken_when_zero=True,
                detail=lambda conn, column=columns.label: _some_values(conn, relation, column),
            )
        )
    for role, column in binary.items():
        if column is None:
            continue
        value = as_binary(column)
        bad = (
            f"{value} NOT IN (0, 1) OR ({value} IS NULL AND {quote_identifier(column)} IS NOT NULL)"
        )
        rules.append(
            _Rule(
                check=f"{role}_values_are_0_1",
                description=f"column {column!r} (columns.{role}) holds only 0/1 or true/false",
                message=MSG_NOT_BINARY if role == "prediction" else MSG_NOT_BINARY + MSG_LABEL_HINT,
                column=column,
                key=f"columns.{role}",
                count=f"count(*) FILTER (WHERE {bad})",
                example=f"min({_text(column)}) FILTER (WHERE {bad})",
            )
        )
    if columns.score is not None:
        column, value = columns.score, as_number(columns.score)
        not_number = f"{value} IS NULL AND {quote_identifier(column)} IS NOT NULL"
        outside = f"isfinite({value}) AND ({value} < 0 OR {value} > 1)"
        for check, what, message, condition in (
            ("scores_are_numbers", "numbers", MSG_NOT_NUMBER, not_number),
            ("scores_are_finite", "not NaN or infinite", MSG_NOT_FINITE, f"NOT isfinite({value})"),
            ("scores_are_within_0_1", "within [0, 1]", MSG_SCORE_RANGE, outside),
        ):
            rules.append(
                _Rule(
                    check=check,
                    description=f"values of column {column!r} (columns.score) are {what}",
                    message=message,
                    column=column,
                    key="columns.score",
                    count=f"count(*) FILTER (WHERE {condition})",
                    example=f"min({_text(column)}) FILTER (WHERE {condition})",
                )
            )
    return rules


def check_values(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    shown: str,
    columns: ColumnsConfig,
    config: EvaluationConfig,
) -> tuple[int, list[dict[str, Any]]]:
    """Check every rule on ``relation`` in one scan; raise listing every broken rule, or return
    the row count and the checks (for the report's data-quality section)."""
    rules = _rules(columns, config, relation)
    nulls = [
        f"count(*) FILTER (WHERE {quote_identifier(f)} IS NULL)" for f in config.sensitive_features
    ]
    measures = ["count(*)", *nulls, *(f"{r.count}, {r.example}" for r in rules)]
    try:
        row = conn.execute(f"SELECT {', '.join(measures)} FROM {relation}").fetchone()
    except duckdb.Error as error:
        raise EvaluateFileError(
            MSG_UNREADABLE.format(file=shown, kind="a table", reason=first_line(error))
        ) from None
    assert row is not None
    rows, *values = row
    if not rows:
        raise EvaluateFileError(MSG_NO_ROWS.format(file=shown))
    feature_nulls, values = values[: len(nulls)], values[len(nulls) :]
    problems, checks = [], []
    for k, rule in enumerate(rules):
        count, example = int(values[2 * k]), values[2 * k + 1]
        broken = count == 0 if rule.broken_when_zero else count > 0
        checks.append({"name": rule.check, "passed": not broken, "description": rule.description})
        if broken:
            problems.append(
                rule.message.format(
                    file=shown,
                    column=rule.column,
                    key=rule.key,
                    example=rule.detail(conn) if rule.detail else example,
                    positive=config.positive_label,
                    **_counted(count),
                )
            )
    if problems:
        raise EvaluateFileError(problems)
    for name, count in zip(config.sensitive_features, feature_nulls, strict=True):
        checks.append(
            {
                "name": f"{name}_nulls_are_kept_as_unknown",
                "passed": True,
                "description": f"{int(count):,} NULL values of {name!r} form the group 'unknown'",
            }
        )
    return int(rows), checks


def _repeated_id(conn: duckdb.DuckDBPyConnection, relation: str, column: str) -> str:
    quoted = quote_identifier(column)
    row = conn.execute(
        f"SELECT CAST({quoted} AS VARCHAR) FROM {relation} WHERE {quoted} IS NOT NULL "
        f"GROUP BY {quoted} HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else ""


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
        raise EvaluateFileError(problems)
