"""The metric tables of one model version, computed through ``rai_pipeline.core.evaluation``.

Slice metrics and fairness disparities (stored in the warehouse's result tables), the
comparison with the previous version evaluated on the same dataset, and missing values per
sensitive group for the datasheet. Row-level work stays in the warehouse (SQL from
``core.engine.slices``); Python handles tables of O(groups x metrics) rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rai_pipeline.core import evaluation
from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine import results
from rai_pipeline.core.engine.paired import paired_cells
from rai_pipeline.core.engine.sql import quote_identifier, relation_columns
from rai_pipeline.core.engine.statistics import SliceStatistics
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.defs.dbt.project import dbt_relation
from rai_pipeline.defs.evaluation.scoring import version_key
from rai_pipeline.defs.resources import WarehouseResource

# The model versions' rows of eval_frame_wide, read once per evaluation: the view pivots the
# sensitive attributes, and the engine runs several queries over the frame.
FRAME_TABLE = "rai_frame"

MSG_DATASET_VERSIONS = (
    "evaluation frame for {uri} holds {count} dataset versions ({versions}); expected one"
)


@dataclass(frozen=True)
class SliceResult:
    ref: ModelVersionRef
    evaluation_id: str
    dataset_version: str
    metrics: pd.DataFrame


def evaluation_id(ref: ModelVersionRef, dataset_version: str, config_digest: str) -> str:
    """Deterministic: the same model version, dataset version and config give the same id."""
    text = "\n".join([ref.name, ref.version, dataset_version, config_digest])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def materialize_frame(conn: Any, refs: list[ModelVersionRef]) -> str:
    """Copy the rows of ``refs`` from ``eval_frame_wide`` into the connection's temporary table
    :data:`FRAME_TABLE`; return the statement, as recorded in the pack's slice SQL."""
    versions = " or ".join("(model_name = ? and model_version = ?)" for _ in refs)
    sql = (
        f"create or replace temp table {FRAME_TABLE} as "
        f"select * from {dbt_relation('eval_frame_wide')} where {versions}"
    )
    params = [value for ref in refs for value in (ref.name, ref.version)]
    conn.execute(sql, params)
    shown = json.dumps(params)
    return (
        f"-- the evaluation frame with its sensitive attributes\n-- parameters: {shown}\n{sql};\n"
    )


@dataclass(frozen=True)
class SliceEvaluation:
    """One version's slice statistics and metrics, computed on a warehouse connection, and
    the SQL that computed them."""

    result: SliceResult
    statistics: SliceStatistics
    ids: dict[str, str]
    sql_script: str


def evaluate_slices(conn: Any, ref: ModelVersionRef, config: EvaluationConfig) -> SliceEvaluation:
    """The slice statistics and metrics of ``ref`` from ``eval_frame_wide``, on ``conn`` (the
    DuckDB warehouse, or a PostgreSQL or Spark engine of ``adapters.sql_engines``)."""
    frame = FRAME_TABLE
    preamble = materialize_frame(conn, [ref])
    versions = [
        row[0]
        for row in conn.execute(
            f"select distinct dataset_version from {frame} "
            "where model_name = ? and model_version = ? order by 1",
            [ref.name, ref.version],
        ).fetchall()
    ]
    if len(versions) != 1:
        raise ValueError(
            MSG_DATASET_VERSIONS.format(uri=ref.uri, count=len(versions), versions=versions)
        )
    statistics = evaluation.slice_statistics(
        conn,
        config,
        relation=frame,
        label="label",
        score="score",
        decision="decision",
        where=version_key(ref),
        labelled=True,
    )
    dataset_version = versions[0]
    eval_id = evaluation_id(ref, dataset_version, config.digest())
    ids = {"evaluation_id": eval_id, **version_key(ref), "dataset_version": dataset_version}
    metrics = evaluation.with_ids(evaluation.slice_metrics(statistics, config), ids)
    return SliceEvaluation(
        SliceResult(ref, eval_id, dataset_version, metrics),
        statistics,
        ids,
        preamble + "\n" + statistics.sql_script(),
    )


def compute_slice_metrics(
    ref: ModelVersionRef, *, warehouse: WarehouseResource, config: EvaluationConfig
) -> SliceResult:
    with warehouse.connect() as conn:
        computed = evaluate_slices(conn, ref, config)
        ids, key = computed.ids, version_key(ref)
        stats, histograms = computed.statistics.stats, computed.statistics.histograms
        results.replace_rows(conn, "slice_stats", evaluation.with_ids(stats, ids), key=key)
        results.replace_rows(conn, "slice_metrics", computed.result.metrics, key=key)
        results.replace_rows(
            conn, "score_histograms", evaluation.with_ids(histograms, ids), key=key
        )
        script = pd.DataFrame({"sql_script": [computed.sql_script]})
        results.replace_rows(conn, "slice_sql", evaluation.with_ids(script, ids), key=key)
    return computed.result


def compute_fairness_metrics(
    ref: ModelVersionRef, *, warehouse: WarehouseResource, config: EvaluationConfig
) -> pd.DataFrame:
    with warehouse.connect() as conn:
        metrics = results.read_rows(conn, "slice_metrics", key=version_key(ref))
        stats = results.read_rows(conn, "slice_stats", key=version_key(ref))
        ids = metrics.iloc[0][["evaluation_id", "model_name", "model_version", "dataset_version"]]
        id_columns = list(ids.index)
        fairness = evaluation.fairness_metrics(
            metrics.drop(columns=id_columns), stats.drop(columns=id_columns), config
        )
        fairness = evaluation.with_ids(fairness, {k: str(v) for k, v in ids.items()})
        results.replace_rows(conn, "fairness_metrics", fairness, key=version_key(ref))
    return fairness


def previous_version(conn: Any, ref: ModelVersionRef, dataset_version: str) -> str | None:
    """The highest earlier version of the same model evaluated on the same dataset version."""
    evaluated = results.read_rows(conn, "slice_metrics", key={"model_name": ref.name})
    if evaluated.empty:
        return None
    same_data = evaluated[evaluated["dataset_version"] == dataset_version]
    earlier = sorted(
        {
            int(v)
            for v in same_data["model_version"]
            if str(v).isdigit() and int(v) < int(ref.version)
        }
    )
    return str(earlier[-1]) if earlier else None


def compare_with_previous(
    conn: Any, ref: ModelVersionRef, previous: str, config: EvaluationConfig
) -> pd.DataFrame:
    """Per-slice deltas against the previous version, with paired score intervals."""
    materialize_frame(conn, [ModelVersionRef(ref.name, previous), ref])
    cells = paired_cells(
        conn,
        relation=FRAME_TABLE,
        slices=evaluation.configured_slices(config),
        previous={"model_name": ref.name, "model_version": previous},
        current=version_key(ref),
        labelled=True,
    )
    return evaluation.version_comparison(cells, config)


def missingness_by_group(conn: Any, sensitive_features: list[str]) -> pd.DataFrame:
    """Rows and missing values per example column, for each sensitive attribute's groups.

    One GROUP BY per attribute over the labeled examples of the current dataset version joined
    to their groups (``int_subject_attributes``); the result has O(columns x groups) rows."""
    examples = dbt_relation("stg_examples")
    labeled = dbt_relation("int_examples_labeled")
    attributes = dbt_relation("int_subject_attributes")
    versions = dbt_relation("stg_dataset_versions")
    columns = [c for c in relation_columns(conn, examples) if c != "example_id"]
    missing = ", ".join(
        f"count(*) - count(e.{quote_identifier(c)}) as {quote_identifier(c)}" for c in columns
    )
    frames = []
    for feature in sensitive_features:
        wide = conn.execute(
            f"select a.value as grp, count(*) as rows, {missing} from {examples} e "
            f"join {labeled} l using (example_id) "
            f"join {attributes} a on a.example_id = e.example_id and a.attribute = ? "
            f"and a.dataset_version = (select dataset_version from {versions}) "
            "group by a.value order by a.value",
            [feature],
        ).df()
        long = wide.melt(id_vars=["grp", "rows"], var_name="column", value_name="missing")
        long.insert(1, "dimension", feature)
        frames.append(long.rename(columns={"grp": "group"}))
    if not frames:
        return pd.DataFrame(columns=["column", "dimension", "group", "rows", "missing"])
    out = pd.concat(frames, ignore_index=True)
    return out[["column", "dimension", "group", "rows", "missing"]]
