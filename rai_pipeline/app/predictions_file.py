"""Read and check a predictions file in DuckDB and expose it as an evaluation frame.

The file is read by DuckDB itself (``read_parquet`` / ``read_csv_auto`` on the path as a quoted
literal; CSV columns as text, so that values such as ``Yes`` or ``01`` keep their spelling
instead of being guessed into booleans or numbers); column names from the config reach SQL
only after the identifier rule. Every rule on the values is a count in one scan, so a problem
is reported with its file, column, rule and number of rows, and every problem is reported at
once. Python receives one row of counts.

The frame (:data:`FRAME_RELATION`) is the engine's contract: a 0/1 label, a DOUBLE score, a 0/1
decision (``score >= threshold``, or the given prediction) and the sensitive features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.core.config import ColumnsConfig, EvaluationConfig
from rai_pipeline.core.sql import quote_identifier, quote_literal

READERS = {".parquet": "read_parquet", ".pq": "read_parquet", ".csv": "read_csv_auto"}
READER_OPTIONS = {"read_parquet": "", "read_csv_auto": ", all_varchar = true"}
COMPRESSED_CSV = (".csv.gz", ".csv.zst")
GLOB_CHARACTERS = "*?[]{}"
LABEL, SCORE, DECISION = "_rai_label", "_rai_score", "_rai_decision"
INPUT_RELATION, FRAME_RELATION = "_rai_input", "_rai_frame"
EXAMPLE_VALUES = 5

MSG_NO_FILE = "{file}: no such file"
MSG_FILE_KIND = (
    "{file}: cannot tell the format from the file name; expected a name ending in {suffixes}"
)
MSG_GLOB = (
    "{file}: the file name contains {char!r}, which DuckDB would read as a wildcard; "
    "rename the file"
)
MSG_UNREADABLE = "{file}: cannot be read as {kind} ({reason})"
MSG_NO_ROWS = "{file}: the file has no rows: there is nothing to evaluate"
MSG_COLUMN_MISSING = "{file}: column {column!r} ({key}) not found; available: {available}"
MSG_COLUMN_CASE = " (names are case-sensitive: did you mean {match!r}?)"
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
MSG_ENGINE_SETTING = "{option} {value!r}: {reason}"


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


def connect(*, threads: int, memory_limit: str | None, spill: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with ``threads``, an optional ``memory_limit`` and its
    temporary files in ``spill`` (not the current folder)."""
    conn = duckdb.connect()
    settings: list[tuple[str, str, str]] = [
        ("--threads", str(threads), f"SET threads = {int(threads)}"),
        ("temp folder", str(spill), f"SET temp_directory = {quote_literal(str(spill))}"),
    ]
    if memory_limit is not None:
        sql = f"SET memory_limit = {quote_literal(memory_limit)}"
        settings.append(("--memory-limit", memory_limit, sql))
    settings.append(("progress bar", "off", "SET enable_progress_bar = false"))
    for option, value, sql in settings:
        try:
            conn.execute(sql)
        except duckdb.Error as error:
            conn.close()
            raise EvaluateFileError(
                MSG_ENGINE_SETTING.format(option=option, value=value, reason=_first_line(error))
            ) from None
    return conn


def file_stem(path: Path) -> str:
    """The file name without its format suffix (``preds.csv.gz`` -> ``preds``)."""
    name = path.name
    for suffix in (*COMPRESSED_CSV, *READERS):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def reader_for(path: Path) -> str:
    """The DuckDB table function that reads ``path``, from its suffix; the file must exist."""
    if not path.is_file():
        raise EvaluateFileError(MSG_NO_FILE.format(file=path))
    lower = path.name.lower()
    if lower.endswith(COMPRESSED_CSV):
        function = "read_csv_auto"
    else:
        function = READERS.get(path.suffix.lower(), "")
    if not function:
        suffixes = ", ".join([*READERS, *COMPRESSED_CSV])
        raise EvaluateFileError(MSG_FILE_KIND.format(file=path, suffixes=suffixes))
    for char in GLOB_CHARACTERS:
        if char in str(path):
            raise EvaluateFileError(MSG_GLOB.format(file=path, char=char))
    return function


def load_frame(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    columns: ColumnsConfig,
    config: EvaluationConfig,
) -> tuple[int, list[dict[str, Any]]]:
    """Read ``path``, check it, and create the evaluation frame :data:`FRAME_RELATION`.

    Returns
    -------
    rows : int
        Number of rows.
    checks : list of dict
        ``name``, ``passed``, ``description`` of every rule checked (all passed), for the
        report's data-quality section.

    Raises
    ------
    EvaluateFileError
        Unreadable file, missing columns, or values that break a rule (all listed).
    """
    reader = reader_for(path)
    _load(conn, reader, path, str(path), columns, config)
    rows, checks = _validate(conn, str(path), columns, config)
    _frame(conn, columns, config)
    return rows, checks


# Reading and checking the file ---------------------------------------------------------------


def _counted(count: int) -> dict[str, str]:
    """``count`` with thousands separators and the matching noun for the messages."""
    return {"count": f"{count:,}", "values": "value" if count == 1 else "values"}


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _load(
    conn: duckdb.DuckDBPyConnection,
    reader: str,
    path: Path,
    shown: str,
    columns: ColumnsConfig,
    config: EvaluationConfig,
) -> None:
    """Expose the needed columns as ``_rai_input``: a view over Parquet, a table for CSV (parsed
    once instead of once per engine pass)."""
    source = f"{reader}({quote_literal(str(path))}{READER_OPTIONS[reader]})"
    kind = "Parquet" if reader == "read_parquet" else "CSV"
    try:
        described = conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as error:
        raise EvaluateFileError(
            MSG_UNREADABLE.format(file=shown, kind=kind, reason=_first_line(error))
        ) from None
    available = [str(row[0]) for row in described]
    wanted = {f"columns.{role}": name for role, name in columns.roles().items()}
    wanted.update({f"sensitive_features[{name}]": name for name in config.sensitive_features})
    problems = []
    for key, name in wanted.items():
        if name not in available:
            message = MSG_COLUMN_MISSING.format(
                file=shown,
                column=name,
                key=key.split("[")[0],
                available=", ".join(available),
            )
            matches = [a for a in available if a.lower() == name.lower()]
            if matches:
                message += MSG_COLUMN_CASE.format(match=matches[0])
            problems.append(message)
    if problems:
        raise EvaluateFileError(problems)
    selected = ", ".join(quote_identifier(name) for name in dict.fromkeys(wanted.values()))
    statement = "VIEW" if reader == "read_parquet" else "TEMP TABLE"
    try:
        conn.execute(f"CREATE {statement} {INPUT_RELATION} AS SELECT {selected} FROM {source}")
    except duckdb.Error as error:
        raise EvaluateFileError(
            MSG_UNREADABLE.format(file=shown, kind=kind, reason=_first_line(error))
        ) from None


def _number(column: str) -> str:
    return f"TRY_CAST({quote_identifier(column)} AS DOUBLE)"


def _binary(column: str) -> str:
    """A 0/1 column as a number: numbers, booleans, or the text ``true``/``false``."""
    text = f"lower({_text(column)})"
    return f"COALESCE({_number(column)}, CASE {text} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"


def _text(column: str) -> str:
    return f"CAST({quote_identifier(column)} AS VARCHAR)"


def _positive_condition(column: str, positive: int | str) -> str:
    if isinstance(positive, str):
        return f"{_text(column)} = {quote_literal(positive)}"
    return f"{_number(column)} = {int(positive)}"


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


def _rules(columns: ColumnsConfig, config: EvaluationConfig) -> list[_Rule]:
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
                detail=lambda conn, column=columns.id: _repeated_id(conn, column),
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
                count=f"count(*) FILTER (WHERE {_positive_condition(columns.label, positive)})",
                broken_when_zero=True,
                detail=lambda conn, column=columns.label: _some_values(conn, column),
            )
        )
    for role, column in binary.items():
        if column is None:
            continue
        value = _binary(column)
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
        column, value = columns.score, _number(columns.score)
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


def _validate(
    conn: duckdb.DuckDBPyConnection,
    shown: str,
    columns: ColumnsConfig,
    config: EvaluationConfig,
) -> tuple[int, list[dict[str, Any]]]:
    """Check every rule in one scan; raise listing every broken rule, or return the row count
    and the checks (for the report's data-quality section)."""
    rules = _rules(columns, config)
    nulls = [
        f"count(*) FILTER (WHERE {quote_identifier(f)} IS NULL)" for f in config.sensitive_features
    ]
    measures = ["count(*)", *nulls, *(f"{r.count}, {r.example}" for r in rules)]
    try:
        row = conn.execute(f"SELECT {', '.join(measures)} FROM {INPUT_RELATION}").fetchone()
    except duckdb.Error as error:
        raise EvaluateFileError(
            MSG_UNREADABLE.format(file=shown, kind="a table", reason=_first_line(error))
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


def _repeated_id(conn: duckdb.DuckDBPyConnection, column: str) -> str:
    quoted = quote_identifier(column)
    row = conn.execute(
        f"SELECT CAST({quoted} AS VARCHAR) FROM {INPUT_RELATION} WHERE {quoted} IS NOT NULL "
        f"GROUP BY {quoted} HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else ""


def _some_values(conn: duckdb.DuckDBPyConnection, column: str) -> str:
    values = conn.execute(
        f"SELECT DISTINCT {_text(column)} AS v FROM {INPUT_RELATION} ORDER BY v NULLS LAST "
        f"LIMIT {EXAMPLE_VALUES + 1}"
    ).fetchall()
    shown = ", ".join(repr(v[0]) for v in values[:EXAMPLE_VALUES])
    return shown + (", ..." if len(values) > EXAMPLE_VALUES else "")


def _frame(
    conn: duckdb.DuckDBPyConnection, columns: ColumnsConfig, config: EvaluationConfig
) -> None:
    """The evaluation frame over ``_rai_input``: 0/1 label, DOUBLE score, 0/1 decision and the
    sensitive features, in the engine's contract."""
    if config.positive_label is None:
        label = f"CAST({_binary(columns.label)} AS INTEGER)"
    else:
        condition = _positive_condition(columns.label, config.positive_label)
        label = f"CASE WHEN {condition} THEN 1 ELSE 0 END"
    if columns.score is not None:
        score = f"CAST({_number(columns.score)} AS DOUBLE)"
        decision = f"CAST({score} >= CAST({float(config.threshold)!r} AS DOUBLE) AS INTEGER)"
    else:
        assert columns.prediction is not None  # ColumnsConfig: exactly one of score, prediction
        decision = f"CAST({_binary(columns.prediction)} AS INTEGER)"
        score = f"CAST({decision} AS DOUBLE)"
    features = ", ".join(quote_identifier(name) for name in config.sensitive_features)
    conn.execute(
        f"CREATE VIEW {FRAME_RELATION} AS SELECT {label} AS {LABEL}, {score} AS {SCORE}, "
        f"{decision} AS {DECISION}, {features} FROM {INPUT_RELATION}"
    )


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
