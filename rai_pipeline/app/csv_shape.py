"""A CSV file's shape, checked before DuckDB reads it: an empty file, and rows whose number of
fields differs from the header's.

DuckDB's CSV sniffer copes with such files by guessing: it skips the lines before the first
consistent block (taking a data row as the header), settles on a delimiter that splits nothing,
or names the columns ``column0``, … . Rows would be lost silently, or every column reported
missing. Here the first :data:`SAMPLE_LINES` lines are read as CSV first and the file is
refused, naming the first line whose fields do not match the header; DuckDB's strict reading
refuses a ragged row further down.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from pathlib import Path
from typing import IO

import duckdb

from rai_pipeline.app.input_checks import InputFileError, unreadable
from rai_pipeline.core.engine.sql import quote_literal

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_LINES = 20_000
MSG_EMPTY = "{file}: the file is empty (0 bytes); a CSV needs a header line and one row per example"
MSG_RAGGED = (
    "{file}: line {line} has {found} fields, the header (line 1) has {expected}; every row "
    "needs one value per column (no row is skipped)"
)
MSG_SKIPPED = (
    "{file}: the first {skipped} lines do not have the same fields as the rest; every row "
    "needs one value per column of the header on line 1 (no row is skipped)"
)


def _open(path: Path) -> IO[str] | None:
    if path.name.endswith(".csv"):
        return path.open(encoding="utf-8", errors="replace", newline="")
    if path.name.endswith(".csv.gz"):
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", errors="replace", newline="")
    return None  # .csv.zst: no reader in the standard library; DuckDB's own checks serve


def _delimiter(header: str, sniffed: str) -> str:
    """The delimiter of the header line: the candidate it holds most often (the sniffer can
    settle on one that splits nothing when rows are ragged), else the sniffed one."""
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    if counts[best]:
        return best
    return sniffed if len(sniffed) == 1 else ","


def _first_ragged_line(path: Path, sniffed: str, quote: str) -> tuple[int, int, int] | None:
    """The first of the first :data:`SAMPLE_LINES` lines whose number of fields differs from
    the header's: (line, fields, header fields)."""
    handle = _open(path)
    if handle is None:
        return None
    with handle:
        header_line = handle.readline()
        reader = csv.reader(
            itertools.chain([header_line], handle),
            delimiter=_delimiter(header_line, sniffed),
            quotechar=quote if len(quote) == 1 else '"',  # the sniffer says "(empty)"
        )
        header = next(reader, [])
        for row in itertools.islice(reader, SAMPLE_LINES):
            if row and len(row) != len(header):
                return reader.line_num, len(row), len(header)
    return None


def check_csv_shape(conn: duckdb.DuckDBPyConnection, path: Path, shown: str) -> None:
    """Raise :class:`InputFileError` when the CSV at ``path`` is empty or has rows with another
    number of fields than its header."""
    if path.stat().st_size == 0:
        raise InputFileError(MSG_EMPTY.format(file=shown))
    try:
        skipped, delimiter, quote = conn.execute(
            f"SELECT SkipRows, Delimiter, Quote FROM sniff_csv({quote_literal(str(path))})"
        ).fetchone()  # type: ignore[misc]
    except duckdb.Error as error:
        raise unreadable(error, shown, "CSV") from None
    ragged = _first_ragged_line(path, str(delimiter), str(quote))
    if ragged is not None:
        line, found, expected = ragged
        raise InputFileError(
            MSG_RAGGED.format(file=shown, line=line, found=found, expected=expected)
        )
    if skipped:
        raise InputFileError(MSG_SKIPPED.format(file=shown, skipped=skipped))
    # no header detected but every row has the same fields: the column checks name what is
    # missing
