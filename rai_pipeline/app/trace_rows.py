"""The rows behind a traced number (``rai trace --rows``): from the warehouse and the landed
extracts of a pipeline pack's RAI_HOME, or from the predictions file an ``rai evaluate-file``
pack recorded (once its sha256 matches).

Rows are private by default: the example id is masked, and besides the label, score, decision
and sensitive attributes only the features the config declares public (``dataset.public``)
are shown; ``include_restricted`` shows the id and every landed column. Restricted columns
are never landed, so no trace shows them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.adapters.warehouse_lock import connect_warehouse
from rai_pipeline.app.input_checks import first_line
from rai_pipeline.app.pack_sources import file_sources
from rai_pipeline.core.engine.slices import (
    GROUP_SEPARATOR,
    group_label_sql,
    group_value_sql,
    split_group_label,
)
from rai_pipeline.core.engine.sql import quote_identifier, quote_literal, relation_columns
from rai_pipeline.core.evidence.incident import MASK
from rai_pipeline.core.metrics.verdicts import AGGREGATE_GROUP
from rai_pipeline.settings import RaiHome

CELLS = {
    "true_positive": "label = 1 and decision = 1",
    "false_positive": "label = 0 and decision = 1",
    "true_negative": "label = 0 and decision = 0",
    "false_negative": "label = 1 and decision = 0",
    "positive": "label = 1",
    "negative": "label = 0",
    "selected": "decision = 1",
}
WIDE_FRAME = "eval_frame_wide"
# The columns of eval_frame; eval_frame_wide adds one per sensitive attribute.
FRAME_COLUMNS = {
    "model_name",
    "model_version",
    "example_id",
    "label",
    "score",
    "threshold",
    "decision",
    "dataset_version",
}
MSG_NO_WAREHOUSE = "no warehouse at {path}: the rows cannot be read"
MSG_WAREHOUSE = "{path}: the rows cannot be read ({reason})"
MSG_CELL = "--cell must be one of {cells}, got {cell!r}"


class TraceError(ValueError):
    """The number asked for is not in the pack, or a link of the chain cannot be read."""


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _hidden_columns(pack: Path) -> set[str]:
    path = pack / "lineage" / "restricted_columns.json"
    return set(json.loads(path.read_text())) if path.exists() else {"example_id"}


def _parquet_columns(conn: duckdb.DuckDBPyConnection, literal: str) -> list[str]:
    return [c for c in relation_columns(conn, f"read_parquet({literal})") if c != "example_id"]


def _frame_relation(pack: Path) -> str:
    """The evaluation frame's relation as the pack's dbt lineage records it."""
    path = pack / "lineage" / "dbt_nodes.json"
    if path.exists():
        for node in json.loads(path.read_text(encoding="utf-8")).values():
            if node.get("name") == WIDE_FRAME and node.get("relation"):
                return str(node["relation"])
    return f"marts.{WIDE_FRAME}"


@dataclass(frozen=True)
class _Selection:
    """Which rows of a frame a number is about, as SQL conditions and parameters."""

    conditions: list[str]
    params: list[Any]
    label: str


def _selection(
    feature_sql: Callable[[str], str],
    *,
    dimension: str,
    group: str,
    cell: str | None,
    excluded_groups: Sequence[str],
    only_groups: Sequence[str],
    label: str,
    decision: str,
) -> _Selection:
    if cell is not None and cell not in CELLS:
        raise TraceError(MSG_CELL.format(cells=", ".join(CELLS), cell=cell))
    features = [] if dimension == "overall" else dimension.split(GROUP_SEPARATOR)
    group_label = group_label_sql([feature_sql(feature) for feature in features])
    conditions: list[str] = []
    params: list[Any] = []
    if group == AGGREGATE_GROUP:
        for groups, test in ((excluded_groups, "NOT IN"), (only_groups, "IN")):
            if groups:
                conditions.append(f"{group_label} {test} ({', '.join('?' for _ in groups)})")
                params.extend(groups)
    else:
        values = [] if dimension == "overall" else split_group_label(group)
        for feature, value in zip(features, values, strict=True):
            conditions.append(f"{feature_sql(feature)} = ?")
            params.append(value)
    if cell is not None:
        conditions.append(
            "(" + CELLS[cell].replace("label", label).replace("decision", decision) + ")"
        )
    return _Selection(conditions, params, group_label)


def pipeline_rows(
    pack: Path,
    *,
    home: RaiHome,
    lineage: dict[str, Any],
    dimension: str,
    group: str,
    cell: str | None,
    include_restricted: bool,
    limit: int,
    excluded_groups: Sequence[str] = (),
    only_groups: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """A pipeline pack's evaluation-frame rows of the group (and cell), with the features the
    config declares public from the landed examples.

    ``group`` :data:`AGGREGATE_GROUP` (an aggregate row) selects the rows of every group of the
    dimension except ``excluded_groups`` (those a disparity left out as too small), or only
    those of ``only_groups`` when given (the groups an ``excluded_groups`` row counts); a
    ``group`` column then says which group each row belongs to. Returns the rows, the masked
    columns and the columns left out (shown only with ``include_restricted``)."""
    selection = _selection(
        lambda feature: group_value_sql(f"f.{quote_identifier(feature)}", labelled=True),
        dimension=dimension,
        group=group,
        cell=cell,
        excluded_groups=excluded_groups,
        only_groups=only_groups,
        label="f.label",
        decision="f.decision",
    )
    folder = home.landing / "versions" / str(lineage["dataset_version"])
    examples = quote_literal(str(folder / "examples.parquet"))
    attributes = quote_literal(str(folder / "subject_attributes.parquet"))
    grouped = group == AGGREGATE_GROUP
    frame = _frame_rows(
        pack, home=home, lineage=lineage, selection=selection, grouped=grouped, limit=limit
    )
    hidden = _hidden_columns(pack)
    with duckdb.connect() as conn:
        conn.register("f", frame)
        # the frame's columns after the group label (when grouped) and its own columns
        sensitive = [c for c in frame.columns[int(grouped) :] if c not in FRAME_COLUMNS]
        example_columns = _parquet_columns(conn, examples)
        sources = [c for c in _parquet_columns(conn, attributes) if c not in sensitive]
        shown_examples = [c for c in example_columns if include_restricted or c not in hidden]
        shown_sources = [c for c in sources if include_restricted and c not in example_columns]
        left_out = sorted(
            {*example_columns, *sources} - {*shown_examples, *shown_sources} - set(sensitive)
        )
        selected = ", ".join(
            [f"f.{quote_identifier(c)}" for c in frame.columns]
            + [f"e.{quote_identifier(c)}" for c in shown_examples]
            + [f"a.{quote_identifier(c)}" for c in shown_sources]
        )
        rows = conn.execute(
            f"select {selected} from f "
            f"join read_parquet({examples}) e using (example_id) "
            f"join read_parquet({attributes}) a using (example_id) "
            f"order by {'f.' + quote_identifier('group') + ', ' if grouped else ''}f.example_id"
        ).df()
    masked = []
    if not include_restricted:
        rows["example_id"] = MASK
        masked.append("example_id")
    return rows, masked, left_out


def _frame_rows(
    pack: Path,
    *,
    home: RaiHome,
    lineage: dict[str, Any],
    selection: _Selection,
    grouped: bool,
    limit: int,
) -> pd.DataFrame:
    """The first ``limit`` rows of the selection in the pack's evaluation frame (by group,
    then example id), with its sensitive attributes: from the warehouse the pack was
    evaluated in (its lineage's ``warehouse``; none: RAI_HOME's DuckDB file)."""
    engine = lineage.get("warehouse", "duckdb")

    def query(conn: Any) -> pd.DataFrame:
        return _query_frame(conn, pack, lineage, selection, grouped, limit)

    if engine == "postgres":
        import psycopg2

        from rai_pipeline.adapters.sql_engines import PG_ENV, PostgresEngine

        where = f"the PostgreSQL warehouse of {PG_ENV}*"
        try:
            with PostgresEngine.from_environment() as conn:
                return query(conn)
        except (psycopg2.Error, ValueError) as error:
            raise TraceError(MSG_WAREHOUSE.format(path=where, reason=first_line(error))) from None
    if engine == "spark":
        return _spark_query(home, query)
    if not home.warehouse.is_file():
        raise TraceError(MSG_NO_WAREHOUSE.format(path=home.warehouse))
    try:
        with connect_warehouse(home.warehouse, read_only=True, say=_say) as conn:
            return query(conn)
    except duckdb.Error as error:
        raise TraceError(
            MSG_WAREHOUSE.format(path=home.warehouse, reason=first_line(error))
        ) from None


def _spark_query(home: RaiHome, query: Callable[[Any], pd.DataFrame]) -> pd.DataFrame:
    """``query`` on RAI_HOME's local Spark warehouse, on a session started for it and stopped
    after it (its catalog is free again for the next process)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    from rai_pipeline.adapters.spark_session import (
        SPARK_METASTORE,
        local_session,
        stop_local_session,
    )
    from rai_pipeline.adapters.sql_engines import SparkEngine

    catalog = home.root / SPARK_METASTORE
    if not catalog.is_dir():  # a read-only command starts no new warehouse
        raise TraceError(MSG_NO_WAREHOUSE.format(path=catalog))
    try:
        return query(SparkEngine(local_session(home)))
    except (PySparkException, Py4JError) as error:
        raise TraceError(MSG_WAREHOUSE.format(path=catalog, reason=first_line(error))) from None
    finally:
        stop_local_session()


def _query_frame(
    conn: Any,
    pack: Path,
    lineage: dict[str, Any],
    selection: _Selection,
    grouped: bool,
    limit: int,
) -> pd.DataFrame:
    wide = _frame_relation(pack)
    sensitive = [c for c in relation_columns(conn, wide) if c not in FRAME_COLUMNS]
    selected = ", ".join(
        ([f'{selection.label} AS "group"'] if grouped else [])
        + ["f.example_id", "f.label", "f.score", "f.decision", "f.threshold"]
        + [f"f.{quote_identifier(c)}" for c in sensitive]
    )
    conditions = ["f.model_name = ?", "f.model_version = ?", *selection.conditions]
    params = [lineage["model_name"], lineage["model_version"], *selection.params]
    sql = (
        f"select {selected} from {wide} f where {' and '.join(conditions)} "
        f"order by {'1, ' if grouped else ''}f.example_id limit {int(limit)}"
    )
    return conn.execute(sql, params).df()


def file_rows(
    pack: Path,
    *,
    manifest: dict[str, Any],
    dimension: str,
    group: str,
    cell: str | None,
    include_restricted: bool,
    limit: int,
    excluded_groups: Sequence[str] = (),
    only_groups: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """An ``rai evaluate-file`` pack's rows of the group (and cell), read again from the
    recorded predictions file once its sha256 matches: the id (masked), label, score,
    decision and sensitive features; no other column of the file is shown."""
    from rai_pipeline.app.input_reader import connect
    from rai_pipeline.app.predictions_file import DECISION, FRAME_RELATION, LABEL, SCORE, load_frame
    from rai_pipeline.core.config.schema import load_config

    sources = file_sources(pack, manifest)
    config = load_config(sources.config)
    assert config.columns is not None  # the pack was evaluated with it
    selection = _selection(
        lambda feature: group_value_sql(quote_identifier(feature)),
        dimension=dimension,
        group=group,
        cell=cell,
        excluded_groups=excluded_groups,
        only_groups=only_groups,
        label=LABEL,
        decision=DECISION,
    )
    id_column = config.columns.id
    selected = ", ".join(
        ([f'{selection.label} AS "group"'] if group == AGGREGATE_GROUP else [])
        + ([f"{quote_identifier(id_column)} AS {quote_identifier(id_column)}"] if id_column else [])
        + [f"{LABEL} AS label", f"{SCORE} AS score", f"{DECISION} AS decision"]
        + [quote_identifier(f) for f in config.sensitive_features]
    )
    where = f"where {' and '.join(selection.conditions)} " if selection.conditions else ""
    with tempfile.TemporaryDirectory(prefix="rai-trace-") as spill:
        conn = connect(threads=2, memory_limit=None, spill=Path(spill))
        try:
            load_frame(
                conn, sources.input_file, columns=config.columns, config=config, keep_id=True
            )
            rows = conn.execute(
                f"select {selected} from {FRAME_RELATION} {where}"
                f"order by {'1' if group == AGGREGATE_GROUP else 'label'} limit {int(limit)}",
                selection.params,
            ).df()
        finally:
            conn.close()
    masked = []
    if id_column and not include_restricted:
        rows[id_column] = MASK
        masked.append(id_column)
    return rows, masked, []
