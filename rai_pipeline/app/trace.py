"""`rai trace`: from one published number to the runs, versions, SQL and rows behind it.

The chain is read from the pack itself (``manifest.json``, ``lineage/``), from the MLflow
store and registry, and, for ``--rows``, from the warehouse and the landed extracts under
RAI_HOME. Restricted columns (dbt ``meta: {restricted: true}``) are masked unless asked for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.core.engine.slices import GROUP_SEPARATOR, group_label_sql
from rai_pipeline.core.engine.sql import quote_identifier, quote_literal
from rai_pipeline.core.evidence.verify import read_manifest
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.core.metrics.verdicts import AGGREGATE_GROUP, EXCLUDED_GROUPS
from rai_pipeline.core.storage import file_sha256
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
MASK = "***"
MSG_NO_ROW = (
    "{pack}: no {table} row for dimension={dimension!r} group={group!r} metric={metric!r}; "
    "dimensions here: {dimensions}"
)
MSG_CELL = "--cell must be one of {cells}, got {cell!r}"


class TraceError(ValueError):
    """The number asked for is not in the pack, or a link of the chain cannot be read."""


@dataclass
class Trace:
    number: dict[str, Any]
    mlflow_run: dict[str, Any]
    model_version: dict[str, Any]
    dataset: dict[str, Any]
    dbt_models: list[dict[str, Any]]
    slice_sql: str | None
    source_extracts: list[dict[str, Any]]
    rows: pd.DataFrame | None = None
    masked_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "rows"}
        if self.rows is not None:
            out["rows"] = json.loads(self.rows.to_json(orient="records"))
        return out


def _find_number(pack: Path, dimension: str, group: str, metric: str) -> dict[str, Any]:
    for table in ("slice_metrics", "fairness_metrics"):
        frame = pd.read_parquet(pack / f"{table}.parquet")
        hit = frame[
            (frame["dimension"] == dimension)
            & (frame["group"] == group)
            & (frame["metric"] == metric)
        ]
        if len(hit):
            record = json.loads(hit.iloc[[0]].to_json(orient="records"))[0]
            return {"table": table, **record}
    dimensions = sorted(set(pd.read_parquet(pack / "slice_metrics.parquet")["dimension"]))
    raise TraceError(
        MSG_NO_ROW.format(
            pack=pack,
            table="slice_metrics or fairness_metrics",
            dimension=dimension,
            group=group,
            metric=metric,
            dimensions=", ".join(dimensions),
        )
    )


def _dbt_chain(pack: Path, start: str = "eval_frame") -> list[dict[str, Any]]:
    path = pack / "lineage" / "dbt_nodes.json"
    if not path.exists():
        return []
    nodes = json.loads(path.read_text(encoding="utf-8"))
    by_name = {n["name"]: uid for uid, n in nodes.items() if n.get("materialized") != "source"}
    chain, queue, seen = [], [by_name.get(start)], set()
    while queue:
        uid = queue.pop(0)
        if uid is None or uid in seen or uid not in nodes:
            continue
        seen.add(uid)
        node = nodes[uid]
        chain.append(node)
        queue.extend(node.get("depends_on", []))
    return chain


def _mlflow(lineage: dict[str, Any], home: RaiHome) -> tuple[dict[str, Any], dict[str, Any]]:
    from rai_pipeline.adapters.mlflow_store import MlflowStore

    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    run_info: dict[str, Any] = {"run_id": lineage.get("mlflow_run_id")}
    version_info: dict[str, Any] = {
        "name": lineage.get("model_name"),
        "version": lineage.get("model_version"),
        "uri": lineage.get("model_uri"),
        "artifact_sha256": lineage.get("model_artifact_sha256"),
        "training_run_id": lineage.get("model_run_id"),
    }
    try:
        ref = ModelVersionRef(str(lineage["model_name"]), str(lineage["model_version"]))
        run, version = store.describe(ref, str(lineage["mlflow_run_id"]))
        run_info.update(run)
        version_info.update(version)
    except Exception as error:  # the pack stays traceable when the store is elsewhere
        run_info["unavailable"] = f"{type(error).__name__}: {error}"
    return run_info, version_info


def _extracts(manifest: dict[str, Any], home: RaiHome, dataset_version: str) -> list[dict]:
    folder = home.landing / "versions" / dataset_version
    out = []
    for item in manifest.get("inputs", []):
        if item.get("kind") != "landed_extract":
            continue
        path = folder / f"{item['name']}.parquet"
        present = path.exists()
        out.append(
            {
                "name": item["name"],
                "path": str(path),
                "rows": item.get("rows"),
                "sha256": item["sha256"],
                "present": present,
                "sha256_matches": present and file_sha256(path) == item["sha256"],
            }
        )
    return out


def _restricted_columns(pack: Path) -> set[str]:
    path = pack / "lineage" / "restricted_columns.json"
    return set(json.loads(path.read_text())) if path.exists() else {"example_id"}


def _columns(conn: duckdb.DuckDBPyConnection, parquet_literal: str) -> list[str]:
    described = conn.execute(f"describe select * from read_parquet({parquet_literal})").fetchall()
    return [row[0] for row in described if row[0] != "example_id"]


def source_rows(
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
) -> tuple[pd.DataFrame, list[str]]:
    """The evaluation-frame rows of the group (and cell) joined to their source extracts.

    ``group`` :data:`AGGREGATE_GROUP` (an aggregate row) selects the rows of every group of the
    dimension except ``excluded_groups`` (those a disparity left out as too small), or only
    those of ``only_groups`` when given (the groups an ``excluded_groups`` row counts); a
    ``group`` column then says which group each row belongs to."""
    if cell is not None and cell not in CELLS:
        raise TraceError(MSG_CELL.format(cells=", ".join(CELLS), cell=cell))
    features = [] if dimension == "overall" else dimension.split(GROUP_SEPARATOR)
    folder = home.landing / "versions" / str(lineage["dataset_version"])
    conditions = ["f.model_name = ?", "f.model_version = ?"]
    params: list[Any] = [lineage["model_name"], lineage["model_version"]]
    label = group_label_sql([f"f.{quote_identifier(feature)}" for feature in features])
    if group == AGGREGATE_GROUP:
        for groups, test in ((excluded_groups, "NOT IN"), (only_groups, "IN")):
            if groups:
                conditions.append(f"{label} {test} ({', '.join('?' for _ in groups)})")
                params.extend(groups)
    else:
        values = [] if dimension == "overall" else group.split(GROUP_SEPARATOR)
        for feature, value in zip(features, values, strict=True):
            conditions.append(f"f.{quote_identifier(feature)} = ?")
            params.append(value)
    if cell is not None:
        conditions.append(
            "(" + CELLS[cell].replace("label", "f.label").replace("decision", "f.decision") + ")"
        )
    examples = quote_literal(str(folder / "examples.parquet"))
    attributes = quote_literal(str(folder / "subject_attributes.parquet"))
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        attribute_columns = _columns(conn, attributes)
        example_columns = [c for c in _columns(conn, examples) if c not in attribute_columns]
        selected = ", ".join(
            ([f'{label} AS "group"'] if group == AGGREGATE_GROUP else [])
            + ["f.example_id", "f.label", "f.score", "f.decision", "f.threshold"]
            + [f"a.{quote_identifier(c)}" for c in attribute_columns]
            + [f"e.{quote_identifier(c)}" for c in example_columns]
        )
        sql = (
            f"select {selected} from marts.eval_frame f "
            f"join read_parquet({attributes}) a using (example_id) "
            f"join read_parquet({examples}) e using (example_id) "
            f"where {' and '.join(conditions)} "
            f"order by {'1, ' if group == AGGREGATE_GROUP else ''}f.example_id limit {int(limit)}"
        )
        rows = conn.execute(sql, params).df()
    masked = []
    if not include_restricted:
        for column in sorted(_restricted_columns(pack) & set(rows.columns)):
            rows[column] = MASK
            masked.append(column)
    return rows, masked


def trace_number(
    pack: Path,
    *,
    home: RaiHome,
    dimension: str,
    group: str,
    metric: str,
    rows: bool = False,
    cell: str | None = None,
    include_restricted: bool = False,
    limit: int = 50,
) -> Trace:
    manifest = read_manifest(pack)
    lineage = manifest["lineage"]
    number = _find_number(pack, dimension, group, metric)
    run_info, version_info = _mlflow(lineage, home)
    slice_sql = pack / "lineage" / "slice_stats.sql"
    trace = Trace(
        number=number,
        mlflow_run=run_info,
        model_version=version_info,
        dataset={
            "dataset_version": lineage.get("dataset_version"),
            "evaluation_id": lineage.get("evaluation_id"),
            "config_sha256": lineage.get("config_sha256"),
            "git_commit": lineage.get("git_commit"),
            "dbt_manifest_sha256": lineage.get("dbt_manifest_sha256"),
            "dagster_run_id": lineage.get("dagster_run_id"),
        },
        dbt_models=_dbt_chain(pack),
        slice_sql=slice_sql.read_text(encoding="utf-8") if slice_sql.exists() else None,
        source_extracts=_extracts(manifest, home, str(lineage.get("dataset_version"))),
    )
    excluded = [g for g in str(number.get("groups_excluded") or "").split(";") if g]
    unassessed = metric == EXCLUDED_GROUPS  # its rows are those of the excluded groups
    if rows and (excluded or not unassessed):
        trace.rows, trace.masked_columns = source_rows(
            pack,
            home=home,
            lineage=lineage,
            dimension=dimension,
            group=group,
            cell=cell,
            include_restricted=include_restricted,
            limit=limit,
            excluded_groups=() if unassessed else excluded,
            only_groups=excluded if unassessed else (),
        )
    return trace


def format_trace(trace: Trace) -> str:
    n, mv, ds = trace.number, trace.model_version, trace.dataset
    lines = [
        f"{n['metric']} for {n['dimension']} = {n['group']}: {n['value']}"
        + (f"  [{n.get('ci_lower')}, {n.get('ci_upper')}]" if n.get("ci_lower") is not None else "")
        + f"  ({n['table']}, status/verdict: {n.get('status') or n.get('verdict')})",
        f"  evaluation {trace.dataset['evaluation_id']}",
        f"-> MLflow run {trace.mlflow_run.get('run_id')}"
        + (
            f" ({trace.mlflow_run.get('status')}, {trace.mlflow_run.get('artifact_uri')})"
            if "status" in trace.mlflow_run
            else f" ({trace.mlflow_run.get('unavailable', '')})"
        ),
        f"-> model version {mv['uri']}  artifact sha256 {mv['artifact_sha256']}  "
        f"training run {mv['training_run_id']}",
        f"-> dataset version {ds['dataset_version']}",
        f"   code: git {ds['git_commit']}, dbt manifest {ds['dbt_manifest_sha256']}, "
        f"Dagster run {ds['dagster_run_id']}",
        "-> dbt models (downstream to upstream):",
    ]
    for node in trace.dbt_models:
        lines.append(
            f"   {node['unique_id']}  checksum {node.get('checksum', '')[:16]}  "
            f"{node.get('relation')}  sql: {node.get('executed_sql') or '-'}"
        )
    lines.append(
        "-> slice SQL: " + ("lineage/slice_stats.sql" if trace.slice_sql else "not recorded")
    )
    lines.append("-> source extracts:")
    for extract in trace.source_extracts:
        status = (
            "sha256 ok"
            if extract["sha256_matches"]
            else ("MISSING" if not extract["present"] else "SHA256 MISMATCH")
        )
        lines.append(
            f"   {extract['name']}: {extract['path']}  rows {extract['rows']}  "
            f"sha256 {extract['sha256']}  ({status})"
        )
    if trace.rows is not None:
        lines.append(
            f"-> {len(trace.rows)} source rows"
            + (
                f" (masked: {', '.join(trace.masked_columns)}; --include-restricted to show)"
                if trace.masked_columns
                else ""
            )
        )
        lines.append(trace.rows.to_string(index=False))
    return "\n".join(lines)
