"""Open a predictions file (CSV or Parquet) in DuckDB: its kind, the connection and its schema.

The file is read by DuckDB itself (``read_parquet`` / ``read_csv_auto`` on the path as a quoted
literal; CSV columns as text, so that values such as ``Yes`` or ``01`` keep their spelling
instead of being guessed into booleans or numbers); column names from the config reach SQL
only after the identifier rule. :func:`load_input` checks the file's schema against the config
and exposes the needed columns as :data:`INPUT_RELATION`.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from rai_pipeline.app.csv_shape import check_csv_shape
from rai_pipeline.app.input_checks import InputFileError, first_line, unreadable
from rai_pipeline.app.input_files import InputFiles
from rai_pipeline.core.config.schema import ColumnsConfig, EvaluationConfig
from rai_pipeline.core.engine.sql import quote_identifier, quote_literal

READERS = {".parquet": "read_parquet", ".pq": "read_parquet", ".csv": "read_csv_auto"}
READER_OPTIONS = {"read_parquet": "", "read_csv_auto": ", all_varchar = true"}
COMPRESSED_CSV = (".csv.gz", ".csv.zst")
GLOB_CHARACTERS = "*?[]{}"
INPUT_RELATION = "_rai_input"

MSG_NO_FILE = "{file}: no such file"
MSG_FILE_KIND = (
    "{file}: cannot tell the format from the file name; expected a name ending in {suffixes}"
)
MSG_GLOB = (
    "{file}: the file name contains {char!r}, which DuckDB would read as a wildcard; "
    "rename the file"
)
MSG_MIXED_FORMATS = "{file}: the files this pattern matches have different formats ({kinds})"
MSG_COLUMN_MISSING = "{file}: column {column!r} ({key}) not found; available: {available}"
MSG_COLUMN_CASE = " (names are case-sensitive: did you mean {match!r}?)"
MSG_ENGINE_SETTING = "{option} {value!r}: {reason}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


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
            raise InputFileError(
                MSG_ENGINE_SETTING.format(option=option, value=value, reason=first_line(error))
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
        raise InputFileError(MSG_NO_FILE.format(file=path))
    lower = path.name.lower()
    if lower.endswith(COMPRESSED_CSV):
        function = "read_csv_auto"
    else:
        function = READERS.get(path.suffix.lower(), "")
    if not function:
        suffixes = ", ".join([*READERS, *COMPRESSED_CSV])
        raise InputFileError(MSG_FILE_KIND.format(file=path, suffixes=suffixes))
    for char in GLOB_CHARACTERS:
        if char in str(path):
            raise InputFileError(MSG_GLOB.format(file=path, char=char))
    return function


def reader_for_input(inputs: InputFiles) -> str:
    """The DuckDB table function that reads every file of ``inputs`` (one format for all)."""
    readers = {reader_for(path) for path in inputs.files}
    if len(readers) > 1:
        kinds = ", ".join(sorted("Parquet" if r == "read_parquet" else "CSV" for r in readers))
        raise InputFileError(MSG_MIXED_FORMATS.format(file=inputs.pattern, kinds=kinds))
    return readers.pop()


def source_sql(reader: str, inputs: InputFiles) -> str:
    """The table function call reading the files of ``inputs`` (paths as quoted literals)."""
    files = ", ".join(quote_literal(str(path)) for path in inputs.files)
    return f"{reader}([{files}]{READER_OPTIONS[reader]})"


def describe_columns(
    conn: duckdb.DuckDBPyConnection, source: str, shown: str, kind: str
) -> list[str]:
    """The column names of ``source`` (a table function or relation); an unreadable source is
    an :class:`InputFileError` naming ``shown``."""
    try:
        described = conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as error:
        raise unreadable(error, shown, kind) from None
    return [str(row[0]) for row in described]


def missing_columns(shown: str, available: list[str], wanted: list[tuple[str, str]]) -> list[str]:
    """One message per wanted ``(column, config key)`` that ``available`` lacks, with the
    differently-cased match when there is one."""
    problems = []
    for column, key in wanted:
        if column not in available:
            message = MSG_COLUMN_MISSING.format(
                file=shown, column=column, key=key, available=", ".join(available)
            )
            matches = [a for a in available if a.lower() == column.lower()]
            if matches:
                message += MSG_COLUMN_CASE.format(match=matches[0])
            problems.append(message)
    return problems


def load_input(
    conn: duckdb.DuckDBPyConnection,
    reader: str,
    inputs: InputFiles,
    shown: str,
    columns: ColumnsConfig,
    config: EvaluationConfig,
) -> None:
    """Expose the needed columns of every file of ``inputs`` as ``_rai_input``: a view over
    Parquet, a table for CSV (parsed once instead of once per engine pass)."""
    source = source_sql(reader, inputs)
    kind = "Parquet" if reader == "read_parquet" else "CSV"
    if kind == "CSV":
        for path in inputs.files:
            check_csv_shape(conn, path, str(path) if inputs.is_glob else shown)
    available = describe_columns(conn, source, shown, kind)
    wanted = {f"columns.{role}": name for role, name in columns.roles().items()}
    wanted.update({f"sensitive_features[{name}]": name for name in config.sensitive_features})
    problems = missing_columns(
        shown, available, [(name, key.split("[")[0]) for key, name in wanted.items()]
    )
    if problems:
        raise InputFileError(problems)
    selected = ", ".join(quote_identifier(name) for name in dict.fromkeys(wanted.values()))
    statement = "VIEW" if reader == "read_parquet" else "TEMP TABLE"
    try:
        conn.execute(f"CREATE {statement} {INPUT_RELATION} AS SELECT {selected} FROM {source}")
    except duckdb.Error as error:
        raise unreadable(error, shown, kind) from None
