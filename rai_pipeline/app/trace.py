"""`rai trace`: from one published number to the runs, versions, SQL and rows behind it.

The chain is read from the pack itself (``manifest.json``, ``lineage/``), from the MLflow
store and registry the pack records, and, for ``--rows``, from the warehouse and the landed
extracts of the RAI_HOME it records (an ``rai evaluate-file`` pack: from the predictions file
it records, once its sha256 matches; see :mod:`~rai_pipeline.app.trace_rows`, which also says
which columns are shown). Read-only: nothing is created anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.app.input_checks import first_line
from rai_pipeline.app.pack_sources import (
    CONFIG_KIND,
    FILE_INPUT_KIND,
    PipelineSources,
    is_file_pack,
    pipeline_sources,
)
from rai_pipeline.app.trace_rows import MASK, WIDE_FRAME, TraceError, file_rows, pipeline_rows
from rai_pipeline.core.evidence.verify import read_manifest
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.core.metrics.verdicts import EXCLUDED_GROUPS
from rai_pipeline.core.storage import file_sha256, read_parquet
from rai_pipeline.settings import RaiHome

MSG_NO_STORE = "no MLflow store at {uri}"
MSG_FILE_PACK_RUN = "an rai evaluate-file pack has no MLflow run"
MSG_NO_ROW = (
    "{pack}: no {table} row for dimension={dimension!r} group={group!r} metric={metric!r}; "
    "dimensions here: {dimensions}"
)


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
    hidden_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "rows"}
        if self.rows is not None:
            out["rows"] = json.loads(self.rows.to_json(orient="records"))
        return out


def _find_number(pack: Path, dimension: str, group: str, metric: str) -> dict[str, Any]:
    for table in ("slice_metrics", "fairness_metrics"):
        frame = read_parquet(pack / f"{table}.parquet")
        hit = frame[
            (frame["dimension"] == dimension)
            & (frame["group"] == group)
            & (frame["metric"] == metric)
        ]
        if len(hit):
            record = json.loads(hit.iloc[[0]].to_json(orient="records"))[0]
            return {"table": table, **record}
    dimensions = sorted(set(read_parquet(pack / "slice_metrics.parquet")["dimension"]))
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


def _dbt_chain(pack: Path, start: str = WIDE_FRAME) -> list[dict[str, Any]]:
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


def _mlflow(lineage: dict[str, Any], sources: PipelineSources) -> tuple[dict, dict]:
    """What the registry and the tracking store hold about the pack's run and model version;
    ``unavailable`` (with the reason) when the store cannot be read. A local store that does
    not exist is not created."""
    from rai_pipeline.adapters.mlflow_store import MlflowStore, local_store_missing

    run_info: dict[str, Any] = {"run_id": lineage.get("mlflow_run_id")}
    version_info: dict[str, Any] = {
        "name": lineage.get("model_name"),
        "version": lineage.get("model_version"),
        "uri": lineage.get("model_uri"),
        "artifact_sha256": lineage.get("model_artifact_sha256"),
        "training_run_id": lineage.get("model_run_id"),
    }
    uri = sources.tracking_uri
    if local_store_missing(uri):
        run_info["unavailable"] = MSG_NO_STORE.format(uri=uri)
        return run_info, version_info
    store = MlflowStore(tracking_uri=uri, artifact_root=str(sources.home.artifact_root))
    try:
        ref = ModelVersionRef(str(lineage["model_name"]), str(lineage["model_version"]))
        run, version = store.describe(ref, str(lineage["mlflow_run_id"]))
        run_info.update(run)
        version_info.update(version)
    except Exception as error:  # the pack stays traceable when the store is elsewhere
        run_info["unavailable"] = f"{type(error).__name__}: {first_line(error)}"
    return run_info, version_info


def _checked(name: str, path: Path, rows: Any, sha256: str) -> dict[str, Any]:
    present = path.is_file()
    return {
        "name": name,
        "path": str(path),
        "rows": rows,
        "sha256": sha256,
        "present": present,
        "sha256_matches": present and file_sha256(path) == sha256,
    }


def _extracts(manifest: dict[str, Any], home: RaiHome, dataset_version: str) -> list[dict]:
    folder = home.landing / "versions" / dataset_version
    return [
        _checked(item["name"], folder / f"{item['name']}.parquet", item.get("rows"), item["sha256"])
        for item in manifest.get("inputs", [])
        if item.get("kind") == "landed_extract"
    ]


def _file_inputs(manifest: dict[str, Any]) -> list[dict]:
    return [
        _checked(
            item["name"], Path(item.get("path") or item["name"]), item.get("rows"), item["sha256"]
        )
        for item in manifest.get("inputs", [])
        if item.get("kind") in (FILE_INPUT_KIND, CONFIG_KIND)
    ]


def trace_number(
    pack: Path,
    *,
    dimension: str,
    group: str,
    metric: str,
    rows: bool = False,
    cell: str | None = None,
    include_restricted: bool = False,
    limit: int = 50,
) -> Trace:
    """The chain behind one number of ``pack``, its stores found from what the pack records
    (:mod:`~rai_pipeline.app.pack_sources`), never from the current folder."""
    pack = Path(pack)
    manifest = read_manifest(pack)
    lineage = manifest["lineage"]
    number = _find_number(pack, dimension, group, metric)
    file_pack = is_file_pack(manifest)
    if file_pack:
        run_info: dict[str, Any] = {"run_id": None, "unavailable": MSG_FILE_PACK_RUN}
        version_info: dict[str, Any] = {
            "name": lineage.get("model_name"),
            "version": lineage.get("model_version"),
            "uri": lineage.get("model_uri"),
            "artifact_sha256": None,
            "training_run_id": None,
        }
        extracts = _file_inputs(manifest)
    else:
        sources = pipeline_sources(pack, manifest)
        run_info, version_info = _mlflow(lineage, sources)
        extracts = _extracts(manifest, sources.home, str(lineage.get("dataset_version")))
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
        source_extracts=extracts,
    )
    excluded = [g for g in str(number.get("groups_excluded") or "").split(";") if g]
    unassessed = metric == EXCLUDED_GROUPS  # its rows are those of the excluded groups
    if rows and (excluded or not unassessed):
        options: dict[str, Any] = {
            "dimension": dimension,
            "group": group,
            "cell": cell,
            "include_restricted": include_restricted,
            "limit": limit,
            "excluded_groups": () if unassessed else excluded,
            "only_groups": excluded if unassessed else (),
        }
        if file_pack:
            found = file_rows(pack, manifest=manifest, **options)
        else:
            found = pipeline_rows(pack, home=sources.home, lineage=lineage, **options)
        trace.rows, trace.masked_columns, trace.hidden_columns = found
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
        private = [
            f"masked: {', '.join(trace.masked_columns)}" if trace.masked_columns else "",
            f"not shown: {', '.join(trace.hidden_columns)}" if trace.hidden_columns else "",
        ]
        note = "; ".join(p for p in private if p)
        lines.append(
            f"-> {len(trace.rows)} source rows"
            + (f" ({note}; --include-restricted to show)" if note else "")
        )
        lines.append(trace.rows.to_string(index=False))
    return "\n".join(lines)


__all__ = ["MASK", "Trace", "TraceError", "format_trace", "trace_number"]
