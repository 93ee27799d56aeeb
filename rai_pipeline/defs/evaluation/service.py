"""What the evaluation assets do, with resources passed in: scoring, metrics, publication.

Row-level work stays in the warehouse (SQL from ``core.slices``); Python handles the scores a
model returns and tables of O(groups x metrics) rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from rai_pipeline.adapters.mlflow_store import MlflowStore, metric_key
from rai_pipeline.core import evaluation
from rai_pipeline.core import warehouse as results
from rai_pipeline.core.comparison import paired_cells
from rai_pipeline.core.config import EvaluationConfig
from rai_pipeline.core.dispositions import load_dispositions
from rai_pipeline.core.evidence.manifest import build_manifest, file_sha256, write_manifest
from rai_pipeline.core.evidence.pack import assemble_pack
from rai_pipeline.core.evidence.publish import publish_pack
from rai_pipeline.core.evidence.render import DatasheetInfo
from rai_pipeline.core.gate import aggregate_verdict, decide_gate
from rai_pipeline.core.landing import PREDICTIONS_DDL, PREDICTIONS_TABLE
from rai_pipeline.core.registry import EVALUATED_TAG, ModelVersionRef
from rai_pipeline.core.sql import quote_identifier
from rai_pipeline.defs.dbt.project import column_flags, dbt_relation
from rai_pipeline.defs.lineage import (
    code_lineage,
    mlflow_model_version_url,
    mlflow_run_url,
    predictions_digest,
)
from rai_pipeline.defs.resources import WarehouseResource
from rai_pipeline.settings import EXPECTATIONS_DIR, RaiHome

MSG_SCORE_COUNT = "model {uri} returned {got} scores for {expected} examples"
MSG_SCORE_NOT_FINITE = "model {uri} returned {count} scores that are NaN or infinite"
MSG_DATASET_VERSIONS = (
    "evaluation frame for {uri} holds {count} dataset versions ({versions}); expected one"
)
MSG_NOT_SCORED = "no scoring record for {uri}: materialize the predictions asset first"

GATE_TAG, VERDICT_TAG, EVIDENCE_DIGEST_TAG = "rai.gate", "rai.verdict", "rai.evidence_digest"
DATASHEET_MODELS = ["stg_examples", "stg_labels", "stg_subject_attributes"]


def _key(ref: ModelVersionRef) -> dict[str, str]:
    return {"model_name": ref.name, "model_version": ref.version}


# Scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringRecord:
    ref: ModelVersionRef
    rows: int
    model_artifact_sha256: str
    model_run_id: str
    model_source: str
    score_min: float
    score_max: float


def score_model_version(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: MlflowStore,
    run_id: str,
    log: Any,
) -> ScoringRecord:
    """Score the frozen examples with ``models:/<name>/<version>`` into the warehouse."""
    log.info(f"Loading {ref.uri}")
    scorer = store.load_scorer(ref)
    with warehouse.connect() as conn:
        examples = conn.execute(
            f"select * from {dbt_relation('stg_examples')} order by example_id"
        ).df()
    log.info(f"Scoring {len(examples):,} examples")
    scores = np.asarray(scorer(examples.drop(columns=["example_id"])), dtype=float)
    if scores.shape != (len(examples),):
        raise ValueError(
            MSG_SCORE_COUNT.format(uri=ref.uri, got=scores.size, expected=len(examples))
        )
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise ValueError(MSG_SCORE_NOT_FINITE.format(uri=ref.uri, count=bad))
    info = {v.ref: v for v in store.list_versions(ref.name)}[ref]
    record = ScoringRecord(
        ref=ref,
        rows=len(scores),
        model_artifact_sha256=store.model_artifact_digest(ref),
        model_run_id=info.run_id or "",
        model_source=info.source or "",
        score_min=float(scores.min()) if len(scores) else float("nan"),
        score_max=float(scores.max()) if len(scores) else float("nan"),
    )
    frame = pd.DataFrame(
        {
            "model_name": ref.name,
            "model_version": ref.version,
            "example_id": examples["example_id"].astype("int64"),
            "score": scores,
            "scored_at_run": run_id,
        }
    )
    with warehouse.connect() as conn:
        conn.execute(PREDICTIONS_DDL)
        conn.register("_scores", frame)
        conn.execute("begin transaction")
        conn.execute(
            f"delete from {PREDICTIONS_TABLE} where model_name = ? and model_version = ?",
            [ref.name, ref.version],
        )
        conn.execute(
            f"insert into {PREDICTIONS_TABLE} (model_name, model_version, example_id, score, "
            "scored_at_run) select model_name, model_version, example_id, score, scored_at_run "
            "from _scores"
        )
        conn.execute("commit")
        conn.unregister("_scores")
        results.replace_rows(
            conn,
            "scoring_runs",
            pd.DataFrame(
                [
                    {
                        **_key(ref),
                        "model_uri": ref.uri,
                        "model_artifact_sha256": record.model_artifact_sha256,
                        "model_run_id": record.model_run_id,
                        "model_source": record.model_source,
                        "rows": record.rows,
                        "dagster_run_id": run_id,
                    }
                ]
            ),
            key=_key(ref),
        )
    return record


def predictions_data_version(ref: ModelVersionRef, *, warehouse: WarehouseResource) -> str:
    """Digest of the scores stored for ``ref`` (example id and score, in example order)."""
    with warehouse.connect() as conn:
        return predictions_digest(conn, model_name=ref.name, model_version=ref.version)


def mlflow_links(store: MlflowStore, ref: ModelVersionRef, run_id: str) -> dict[str, str | None]:
    """Where a reviewer opens the evaluation's MLflow run and the registered model version."""
    info = store.client().get_run(run_id).info
    return {
        "mlflow_run_url": mlflow_run_url(
            store.tracking_uri,
            experiment_id=str(info.experiment_id),
            run_id=run_id,
            artifact_uri=str(info.artifact_uri),
        ),
        "model_version_url": mlflow_model_version_url(
            store.tracking_uri, name=ref.name, version=ref.version
        ),
    }


def scoring_metadata(record: ScoringRecord) -> dict[str, Any]:
    return {
        "dagster/row_count": record.rows,
        "model_uri": record.ref.uri,
        "model_version": record.ref.version,
        "model_artifact_sha256": record.model_artifact_sha256,
        "model_run_id": record.model_run_id,
        "score_min": record.score_min,
        "score_max": record.score_max,
    }


# Metrics -------------------------------------------------------------------------------------


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


def compute_slice_metrics(
    ref: ModelVersionRef, *, warehouse: WarehouseResource, config: EvaluationConfig
) -> SliceResult:
    frame = dbt_relation("eval_frame")
    with warehouse.connect() as conn:
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
            where=_key(ref),
        )
        stats, histograms = statistics.stats, statistics.histograms
        dataset_version = versions[0]
        eval_id = evaluation_id(ref, dataset_version, config.digest())
        ids = {
            "evaluation_id": eval_id,
            **_key(ref),
            "dataset_version": dataset_version,
        }
        metrics = evaluation.slice_metrics(statistics, config)
        metrics = _with_ids(metrics, ids)
        results.replace_rows(conn, "slice_stats", _with_ids(stats, ids), key=_key(ref))
        results.replace_rows(conn, "slice_metrics", metrics, key=_key(ref))
        results.replace_rows(conn, "score_histograms", _with_ids(histograms, ids), key=_key(ref))
        script = pd.DataFrame({"sql_script": [statistics.sql_script()]})
        results.replace_rows(conn, "slice_sql", _with_ids(script, ids), key=_key(ref))
    return SliceResult(ref, eval_id, dataset_version, metrics)


def _with_ids(frame: pd.DataFrame, ids: dict[str, str]) -> pd.DataFrame:
    out = frame.copy()
    for position, (column, value) in enumerate(ids.items()):
        out.insert(position, column, value)
    return out


def slice_metadata(result: SliceResult) -> dict[str, Any]:
    overall = result.metrics[result.metrics["dimension"] == "overall"].set_index("metric")
    small = result.metrics[
        (result.metrics["metric"] == "count") & (result.metrics["status"] == "insufficient_sample")
    ]
    return {
        "dagster/row_count": len(result.metrics),
        "evaluation_id": result.evaluation_id,
        "dataset_version": result.dataset_version,
        "model_name": result.ref.name,
        "model_version": result.ref.version,
        "slices": int(result.metrics[["dimension", "group"]].drop_duplicates().shape[0]),
        "groups_below_minimum": len(small),
        "overall_accuracy": float(overall.loc["accuracy_score", "value"]),
        "overall_roc_auc": float(overall.loc["roc_auc_score", "value"]),
    }


def compute_fairness_metrics(
    ref: ModelVersionRef, *, warehouse: WarehouseResource, config: EvaluationConfig
) -> pd.DataFrame:
    with warehouse.connect() as conn:
        metrics = results.read_rows(conn, "slice_metrics", key=_key(ref))
        stats = results.read_rows(conn, "slice_stats", key=_key(ref))
        ids = metrics.iloc[0][["evaluation_id", "model_name", "model_version", "dataset_version"]]
        id_columns = list(ids.index)
        fairness = evaluation.fairness_metrics(
            metrics.drop(columns=id_columns), stats.drop(columns=id_columns), config
        )
        fairness = _with_ids(fairness, {k: str(v) for k, v in ids.items()})
        results.replace_rows(conn, "fairness_metrics", fairness, key=_key(ref))
    return fairness


def fairness_metadata(frame: pd.DataFrame) -> dict[str, Any]:
    aggregate = frame[frame["group"] == "*"]
    counts = aggregate["verdict"].value_counts().to_dict()
    worst = aggregate.sort_values("value").iloc[0] if len(aggregate) else None
    ids = {
        column: str(frame[column].iloc[0])
        for column in ("evaluation_id", "model_name", "model_version", "dataset_version")
        if column in frame.columns and len(frame)
    }
    return {
        "dagster/row_count": len(frame),
        **ids,
        "gate": aggregate_verdict(frame),
        "verdicts": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
        "preview": dg.MetadataValue.md(
            aggregate[
                ["dimension", "metric", "value", "ci_lower", "ci_upper", "verdict"]
            ].to_markdown(index=False)
            if worst is not None
            else "no aggregate disparities"
        ),
    }


# Evidence ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedPack:
    ref: ModelVersionRef
    path: Path
    evidence_digest: str
    mlflow_run_id: str
    gate: str
    evaluation_id: str


def check_outcomes_of_run(instance: dg.DagsterInstance, run_id: str) -> list[dict[str, Any]]:
    """The asset-check results (dbt tests, expectation suite, schema) recorded in this run."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    outcomes = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        outcomes.append(
            {
                "name": f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                "passed": bool(evaluation.passed),
                "description": str(evaluation.description or ""),
            }
        )
    return sorted(outcomes, key=lambda item: item["name"])


def _overall_mlflow_metrics(metrics: pd.DataFrame, fairness: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in metrics.itertuples():
        prefix = "overall" if row.dimension == "overall" else f"slice/{row.dimension}/{row.group}"
        out[metric_key(*prefix.split("/"), str(row.metric))] = float(row.value)
    aggregate = fairness[fairness["group"] == "*"]
    for row in aggregate.itertuples():
        out[metric_key("fairness", str(row.dimension), str(row.metric))] = float(row.value)
    return out


def publish_evidence(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: MlflowStore,
    config: EvaluationConfig,
    config_path: Path,
    dispositions_path: Path | None,
    home: RaiHome,
    dagster_run_id: str,
    quality_checks: list[dict[str, Any]],
) -> PublishedPack:
    """Build the pack in staging, log it to a new MLflow run, publish it atomically, tag the
    model version. On any error the staging folder is removed and the run marked FAILED."""
    with warehouse.connect() as conn:
        metrics = results.read_rows(conn, "slice_metrics", key=_key(ref))
        fairness = results.read_rows(conn, "fairness_metrics", key=_key(ref))
        scoring = results.read_rows(conn, "scoring_runs", key=_key(ref))
        landed = conn.execute(f"select * from {dbt_relation('stg_dataset_versions')}").df()
        missingness = missingness_by_group(conn, config.sensitive_features)
        histograms = results.read_rows(conn, "score_histograms", key=_key(ref))
        stats = results.read_rows(conn, "slice_stats", key=_key(ref))
        slice_sql = results.read_rows(conn, "slice_sql", key=_key(ref))
        previous = previous_version(conn, ref, str(metrics["dataset_version"].iloc[0]))
        comparison = (
            compare_with_previous(conn, ref, previous, config) if previous is not None else None
        )
    if scoring.empty:
        raise ValueError(MSG_NOT_SCORED.format(uri=ref.uri))
    score_row = scoring.iloc[0]
    eval_id = str(metrics["evaluation_id"].iloc[0])
    dataset_version = str(metrics["dataset_version"].iloc[0])
    evaluated_on = dt.datetime.now(dt.UTC).date()
    decision = decide_gate(
        fairness,
        load_dispositions(dispositions_path),
        model=ref.name,
        model_version=ref.version,
        today=evaluated_on,
    )
    gate = decision.result
    lineage: dict[str, Any] = {
        "evaluation_id": eval_id,
        "model_name": ref.name,
        "model_version": ref.version,
        "model_uri": ref.uri,
        "model_artifact_sha256": str(score_row["model_artifact_sha256"]),
        "model_run_id": str(score_row["model_run_id"]),
        "dataset_version": dataset_version,
        "config_sha256": config.digest(),
        "dagster_run_id": dagster_run_id,
        **code_lineage(),
        **evaluation.method_notes(config, stats),
    }
    mlflow_tags = {
        "rai.model_name": ref.name,
        "rai.model_version": ref.version,
        "rai.model_uri": ref.uri,
        "rai.dataset_version": dataset_version,
        "rai.evaluation_id": eval_id,
        "rai.git_commit": lineage["git_commit"],
        "rai.dbt_manifest_sha256": lineage["dbt_manifest_sha256"],
        "rai.dagster_run_id": dagster_run_id,
        "rai.gate": gate,
        "rai.verdict": decision.verdict,
    }
    run_id = store.log_evaluation(
        ref=ref,
        run_name=f"evaluate {ref.name} v{ref.version}",
        tags=mlflow_tags,
        params={
            "threshold": str(config.threshold),
            "sensitive_features": ",".join(config.sensitive_features),
            "min_group_size": str(config.min_group_size),
            "confidence_level": str(config.confidence_level),
        },
        metrics=_overall_mlflow_metrics(metrics, fairness),
    )
    lineage["mlflow_run_id"] = run_id
    inputs = _inputs(landed, score_row, config_path, dispositions_path)
    staging = home.staging / f"{ref.name}-{ref.version}-{uuid.uuid4().hex[:8]}"
    try:
        context = evaluation.report_context(
            config,
            model_name=ref.name,
            model_version=ref.version,
            model_uri=ref.uri,
            dataset_version=dataset_version,
            evaluation_id=eval_id,
            metrics=metrics,
            fairness=fairness,
            lineage=lineage,
            histograms=histograms if not histograms.empty else None,
            quality_checks=quality_checks,
            resolutions=decision.resolutions,
            previous_version=previous,
            comparison=comparison,
            evaluated_on=evaluated_on,
            datasheet=DatasheetInfo(
                sources=[
                    {"name": item["name"], "rows": item["rows"], "sha256": item["sha256"]}
                    for item in inputs
                    if item["kind"] == "landed_extract"
                ],
                sensitive_attributes=config.sensitive_features,
                missingness=missingness,
                column_flags=pd.DataFrame(column_flags(DATASHEET_MODELS)),
            ),
        )
        assemble_pack(staging, context)
        write_dbt_lineage(staging / "lineage", home=home, dagster_run_id=dagster_run_id)
        (staging / "lineage").mkdir(exist_ok=True)
        if not slice_sql.empty:
            (staging / "lineage" / SLICE_SQL_NAME).write_text(
                str(slice_sql["sql_script"].iloc[0]), encoding="utf-8"
            )
        restricted = sorted(
            {flag["column"] for flag in column_flags(DATASHEET_MODELS) if flag["restricted"]}
        )
        (staging / "lineage" / "restricted_columns.json").write_text(json.dumps(restricted) + "\n")
        manifest = build_manifest(staging, inputs=inputs, lineage=lineage)
        digest = write_manifest(staging, manifest)
        store.finish_evaluation(run_id, artifacts_dir=staging, status="FINISHED")
        target = publish_pack(staging, home.pack_dir(ref.name, ref.version))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        store.fail_evaluation(run_id)
        raise
    store.set_version_tags(
        ref,
        {
            EVALUATED_TAG: run_id,
            GATE_TAG: gate,
            VERDICT_TAG: decision.verdict,
            EVIDENCE_DIGEST_TAG: digest,
        },
    )
    return PublishedPack(ref, target, digest, run_id, gate, eval_id)


SLICE_SQL_NAME = "slice_stats.sql"


def write_dbt_lineage(folder: Path, *, home: RaiHome, dagster_run_id: str) -> list[Path]:
    """Copy what dbt ran for this evaluation into the pack: each model's executed SQL
    (``dbt/<model>.sql``) and ``dbt_nodes.json`` (node id, checksum, relation, materialization,
    upstream nodes), from the dbt invocations of this Dagster run."""
    nodes: dict[str, dict[str, Any]] = {}
    written: list[Path] = []
    for target in sorted((home.root / "dbt").glob(f"*-{dagster_run_id[:8]}")):
        manifest_path = target / "manifest.json"
        if not manifest_path.exists():
            continue
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for unique_id, node in manifest["nodes"].items():
            if node["resource_type"] != "model":
                continue
            executed = target / "run" / node["package_name"] / node["original_file_path"]
            record = {
                "unique_id": unique_id,
                "name": node["name"],
                "checksum": node["checksum"]["checksum"],
                "relation": node.get("relation_name"),
                "materialized": node["config"]["materialized"],
                "depends_on": sorted(node["depends_on"]["nodes"]),
                "original_file_path": node["original_file_path"],
                "executed_sql": None,
            }
            if executed.exists():
                destination = folder / "dbt" / f"{node['name']}.sql"
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(executed.read_bytes())
                record["executed_sql"] = destination.relative_to(folder.parent).as_posix()
                written.append(destination)
            if record["executed_sql"] or unique_id not in nodes:
                nodes[unique_id] = record
        for unique_id, source in manifest.get("sources", {}).items():
            nodes.setdefault(
                unique_id,
                {
                    "unique_id": unique_id,
                    "name": source["name"],
                    "relation": source.get("relation_name"),
                    "external_location": (source.get("config") or {}).get("external_location")
                    or (source.get("meta") or {}).get("external_location"),
                    "materialized": "source",
                    "depends_on": [],
                },
            )
    if nodes:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "dbt_nodes.json"
        path.write_text(json.dumps(dict(sorted(nodes.items())), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


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
    cells = paired_cells(
        conn,
        relation=dbt_relation("eval_frame"),
        slices=evaluation.configured_slices(config),
        previous={"model_name": ref.name, "model_version": previous},
        current=_key(ref),
    )
    return evaluation.version_comparison(cells, config)


def missingness_by_group(conn: Any, sensitive_features: list[str]) -> pd.DataFrame:
    """Rows and missing values per example column, for each sensitive attribute's groups.

    One GROUP BY per attribute over the examples joined to their groups; the result has
    O(columns x groups) rows."""
    examples, labeled = dbt_relation("stg_examples"), dbt_relation("int_examples_labeled")
    columns = [
        row[0]
        for row in conn.execute(f"describe select * from {examples}").fetchall()
        if row[0] != "example_id"
    ]
    missing = ", ".join(
        f"count(*) - count(e.{quote_identifier(c)}) as {quote_identifier(c)}" for c in columns
    )
    frames = []
    for feature in sensitive_features:
        group = f"l.{quote_identifier(feature)}"
        wide = conn.execute(
            f"select {group} as grp, count(*) as rows, {missing} from {examples} e "
            f"join {labeled} l using (example_id) group by {group} order by {group}"
        ).df()
        long = wide.melt(id_vars=["grp", "rows"], var_name="column", value_name="missing")
        long.insert(1, "dimension", feature)
        frames.append(long.rename(columns={"grp": "group"}))
    if not frames:
        return pd.DataFrame(columns=["column", "dimension", "group", "rows", "missing"])
    out = pd.concat(frames, ignore_index=True)
    return out[["column", "dimension", "group", "rows", "missing"]]


def _inputs(
    landed: pd.DataFrame, score_row: pd.Series, config_path: Path, dispositions_path: Path | None
) -> list[dict]:
    row = landed.iloc[0]
    inputs: list[dict[str, Any]] = [
        {
            "kind": "landed_extract",
            "name": name,
            "sha256": str(row[f"{name}_sha256"]),
            "rows": int(row[f"{name}_rows"]),
            "dataset_version": str(row["dataset_version"]),
        }
        for name in ("examples", "labels", "subject_attributes")
    ]
    inputs.append(
        {
            "kind": "model",
            "name": str(score_row["model_uri"]),
            "sha256": str(score_row["model_artifact_sha256"]),
            "run_id": str(score_row["model_run_id"]),
        }
    )
    inputs.append({"kind": "config", "name": str(config_path), "sha256": file_sha256(config_path)})
    if dispositions_path is not None:
        inputs.append(
            {
                "kind": "dispositions",
                "name": str(dispositions_path),
                "sha256": file_sha256(dispositions_path),
            }
        )
    for suite in sorted(EXPECTATIONS_DIR.glob("*.json")):
        inputs.append(
            {"kind": "expectation_suite", "name": suite.name, "sha256": file_sha256(suite)}
        )
    return inputs


def evidence_metadata(
    pack: PublishedPack,
    *,
    mlflow_run_url: str | None = None,
    model_version_url: str | None = None,
) -> dict[str, Any]:
    """The pack, its digest and the lineage its manifest records: model version (registry
    name, version, artifact digest), dataset version, MLflow runs, code and config digests."""
    from rai_pipeline.core.evidence.verify import read_manifest

    lineage = read_manifest(pack.path)["lineage"]
    metadata: dict[str, Any] = {
        "path": dg.MetadataValue.path(str(pack.path)),
        "evidence_digest": pack.evidence_digest,
        "mlflow_run_id": pack.mlflow_run_id,
        "gate": pack.gate,
        "evaluation_id": pack.evaluation_id,
        "model_version": pack.ref.version,
        "report": dg.MetadataValue.path(str(pack.path / "fairness_report.html")),
        "model_name": pack.ref.name,
        "model_uri": pack.ref.uri,
    }
    recorded = {
        "model_artifact_sha256": "model_artifact_sha256",
        "model_training_run_id": "model_run_id",
        "dataset_version": "dataset_version",
        "config_sha256": "config_sha256",
        "git_commit": "git_commit",
        "dbt_manifest_sha256": "dbt_manifest_sha256",
    }
    for key, lineage_key in recorded.items():
        if lineage.get(lineage_key) not in (None, ""):
            metadata[key] = str(lineage[lineage_key])
    if mlflow_run_url:
        metadata["mlflow_run"] = dg.MetadataValue.url(mlflow_run_url)
    if model_version_url:
        metadata["model_version_page"] = dg.MetadataValue.url(model_version_url)
    return metadata
