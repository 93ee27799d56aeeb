"""The data set an evaluation config names (``dataset``), read and checked for ``rai land``.

The source is a CSV or Parquet file, or a table of a DuckDB database attached read-only. It is
read by DuckDB (CSV labels and sensitive columns as text, so that ``Yes`` or ``01`` keep their
spelling; other columns typed as DuckDB detects them), every rule is checked in one scan with
every problem reported at once (:mod:`~rai_pipeline.app.input_checks`), and the columns the
evaluation needs come back as one frame: ``example_id``, the 0/1 label, the model's input
features and the columns the sensitive attributes are read from. Restricted columns are never
read, and no message shows a value of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.adapters.warehouse_lock import wait_for_lock
from rai_pipeline.app.csv_shape import check_csv_shape
from rai_pipeline.app.input_checks import (
    InputFileError,
    Rule,
    distinct_count_sql,
    first_line,
    label_rule,
    label_value,
    null_rule,
    number_rules,
    run_rules,
    unique_rule,
    unreadable,
)
from rai_pipeline.app.input_reader import describe_columns, missing_columns, reader_for
from rai_pipeline.core.config.dataset import DatasetConfig
from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine.profile import GroupLimitError, check_group_limit
from rai_pipeline.core.engine.sql import qualified_relation, quote_identifier, quote_literal
from rai_pipeline.core.evaluation import configured_slices

DATASET_RELATION = "_rai_dataset"
ID, LABEL = "example_id", "_rai_label"
SOURCE_DATABASE = "rai_source"

MSG_NO_DATASET = (
    "{config}: no dataset section: rai land needs dataset.path (a CSV or Parquet file) or "
    "dataset.table, and dataset.label (see docs/configuration.md)"
)
MSG_NOT_A_FEATURE = (
    "{file}: column {column!r} is dataset.public but not one of the features {features}: only "
    "model inputs are stored"
)
MSG_DERIVED_CLASH = (
    "{file}: derived feature {name!r} has the name of a column of the data set; give the band "
    "another name"
)
MSG_RESERVED = (
    "{file}: column {column!r} ({key}) is named {reserved!r}, the name the landed id takes; "
    "rename the column or make it dataset.id"
)
MSG_NO_FEATURES = (
    "{file}: no feature columns: every column is the id, the label or restricted; list the "
    "model's inputs in dataset.features"
)
MSG_ID_NOT_INTEGER = (
    "{file}: column {column!r} ({key}) has {count} non-integer {values}; ids must be integers"
)
MSG_DATABASE = "{database}: cannot be attached read-only as a DuckDB database ({reason})"


@dataclass(frozen=True)
class DatasetFrame:
    """What ``rai land`` lands: one row per example, sorted by ``example_id``."""

    frame: pd.DataFrame
    features: list[str]
    attribute_sources: list[str]
    source: str
    rows: int
    checks: list[dict[str, Any]] = field(default_factory=list)


def dataset_of(config: EvaluationConfig, config_path: Path) -> DatasetConfig:
    """The config's ``dataset`` with its paths made absolute against the config's folder."""
    if config.dataset is None:
        raise InputFileError(MSG_NO_DATASET.format(config=config_path))
    return config.dataset.resolved(config_path.resolve().parent)


def _source_sql(
    conn: duckdb.DuckDBPyConnection, dataset: DatasetConfig, text_columns: list[str], home: Path
) -> tuple[str, str]:
    """The table function or relation to read, and how to name it in messages."""
    if dataset.path is not None:
        reader = reader_for(dataset.path)
        if reader == "read_csv_auto":
            check_csv_shape(conn, dataset.path, str(dataset.path))
        options = ""
        if reader == "read_csv_auto" and text_columns:
            types = ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in text_columns)
            options = f", types = {{{types}}}"
        return f"{reader}({quote_literal(str(dataset.path))}{options})", str(dataset.path)
    assert dataset.table is not None  # DatasetConfig: exactly one of path, table
    database = dataset.database or home
    attach = f"ATTACH {quote_literal(str(database))} AS {SOURCE_DATABASE} (READ_ONLY)"
    try:
        wait_for_lock(lambda: conn.execute(attach), database)
    except duckdb.Error as error:
        raise InputFileError(
            MSG_DATABASE.format(database=database, reason=first_line(error))
        ) from None
    table = qualified_relation(f"{SOURCE_DATABASE}.{dataset.table}")
    return table, f"{database}:{dataset.table}"


def _problems_with_columns(
    shown: str,
    available: list[str],
    dataset: DatasetConfig,
    config: EvaluationConfig,
    features: list[str],
) -> list[str]:
    wanted: dict[str, str] = {}
    if dataset.id is not None:
        wanted[dataset.id] = "dataset.id"
    wanted[dataset.label] = "dataset.label"
    for name in features:
        wanted.setdefault(name, "dataset.features")
    for name in config.raw_sensitive_features():
        wanted.setdefault(name, "sensitive_features")
    for name, derived in config.derived_features.items():
        wanted.setdefault(derived.source, f"derived_features.{name}.from")
    for name in dataset.restricted:
        wanted.setdefault(name, "dataset.restricted")
    problems = missing_columns(shown, available, list(wanted.items()))
    for column, key in wanted.items():
        if column == ID and key != "dataset.id" and column in available:
            problems.append(MSG_RESERVED.format(file=shown, column=column, key=key, reserved=ID))
    for column in dataset.public:
        if column not in features:
            problems.append(MSG_NOT_A_FEATURE.format(file=shown, column=column, features=features))
    for name in config.derived_features:
        if name in available:
            problems.append(MSG_DERIVED_CLASH.format(file=shown, name=name))
    if not features:
        problems.append(MSG_NO_FEATURES.format(file=shown))
    return problems


def _id_rules(column: str, distinct: str) -> list[Rule]:
    key, quoted = "dataset.id", quote_identifier(column)
    as_integer = f"TRY_CAST({quoted} AS BIGINT)"
    not_integer = (
        f"{quoted} IS NOT NULL AND ({as_integer} IS NULL OR "
        f"CAST({as_integer} AS DOUBLE) != TRY_CAST({quoted} AS DOUBLE))"
    )
    return [
        null_rule(column, key, "id"),
        Rule(
            check="ids_are_integers",
            description=f"column {column!r} ({key}) holds integers",
            message=MSG_ID_NOT_INTEGER,
            column=column,
            key=key,
            count=f"count(*) FILTER (WHERE {not_integer})",
            example=f"min(CAST({quoted} AS VARCHAR)) FILTER (WHERE {not_integer})",
        ),
        unique_rule(column, key, distinct=distinct),
    ]


def _check_groups(conn: duckdb.DuckDBPyConnection, config: EvaluationConfig, shown: str) -> None:
    """The groups of the slices over columns of the data set, against the limit (the bands of
    derived features are bounded by their labels; the pipeline checks every slice again)."""
    raw = set(config.raw_sensitive_features())
    slices = [s for s in configured_slices(config) if raw.issuperset(s.features)]
    try:
        check_group_limit(conn, DATASET_RELATION, slices, config.limits.max_groups_per_dimension)
    except GroupLimitError as error:
        raise InputFileError([f"{shown}: {error}"]) from None


def read_dataset(
    conn: duckdb.DuckDBPyConnection,
    config: EvaluationConfig,
    config_path: Path,
    *,
    warehouse: Path,
) -> DatasetFrame:
    """Read and check the configured data set; return the frame ``rai land`` lands.

    Raises
    ------
    InputFileError
        No ``dataset`` section, an unreadable source, missing columns, or values that break a
        rule (every problem listed).
    """
    dataset = dataset_of(config, config_path)
    text_columns = list(dict.fromkeys([dataset.label, *config.raw_sensitive_features()]))
    source, shown = _source_sql(conn, dataset, text_columns, warehouse)
    kind = "Parquet" if "read_parquet" in source else ("CSV" if "read_csv" in source else "a table")
    available = describe_columns(conn, source, shown, kind)
    roles = {dataset.id, dataset.label, *dataset.restricted}
    features = (
        list(dataset.features)
        if dataset.features is not None
        else [c for c in available if c not in roles]
    )
    problems = _problems_with_columns(shown, available, dataset, config, features)
    if problems:
        raise InputFileError(problems)

    sources = config.attribute_sources()
    needed = [c for c in dict.fromkeys([dataset.id, dataset.label, *features, *sources]) if c]
    selected = ", ".join(quote_identifier(c) for c in needed)
    try:
        conn.execute(f"CREATE TEMP TABLE {DATASET_RELATION} AS SELECT {selected} FROM {source}")
    except duckdb.Error as error:
        raise unreadable(error, shown, kind) from None
    rules = []
    if dataset.id is not None:
        distinct = distinct_count_sql(conn, DATASET_RELATION, dataset.id)
        rules += _id_rules(dataset.id, distinct)
    rules += [
        null_rule(dataset.label, "dataset.label", "label"),
        label_rule(dataset.label, "dataset.label", dataset.positive_label, DATASET_RELATION),
    ]
    for name, derived in config.derived_features.items():
        rules += number_rules(derived.source, f"derived_features.{name}.from")
    rows, checks, _ = run_rules(
        conn, DATASET_RELATION, shown, rules, positive=dataset.positive_label
    )
    _check_groups(conn, config, shown)
    example_id = (
        f"CAST({quote_identifier(dataset.id)} AS BIGINT)" if dataset.id is not None else "rowid"
    )
    columns = [quote_identifier(c) for c in dict.fromkeys([*features, *sources])]
    label = label_value(dataset.label, dataset.positive_label)
    frame = (
        conn.sql(
            f"SELECT {example_id} AS {ID}, {label} AS {LABEL}, {', '.join(columns)} "
            f"FROM {DATASET_RELATION} ORDER BY {ID}"
        )
        .to_arrow_table()
        .to_pandas()
    )
    return DatasetFrame(
        frame=frame,
        features=features,
        attribute_sources=sources,
        source=shown,
        rows=rows,
        checks=checks,
    )
