"""Publishing one model version's evidence: assemble the pack in staging from the result
tables, log the evaluation to a new MLflow run, publish the pack atomically, and write the
gate, verdict and evidence-digest tags onto the registered model version.

The store is any :class:`~rai_pipeline.core.governance.registry.EvaluationStore`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.core import evaluation
from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine import results
from rai_pipeline.core.engine.sql import relation_columns
from rai_pipeline.core.evidence.manifest import build_manifest, public_uri
from rai_pipeline.core.evidence.pack import assemble_pack
from rai_pipeline.core.evidence.publish import publish_evaluation
from rai_pipeline.core.evidence.render import DatasheetInfo
from rai_pipeline.core.governance.dispositions import load_dispositions
from rai_pipeline.core.governance.gate import decide_gate
from rai_pipeline.core.governance.registry import EvaluationStore, ModelVersionRef
from rai_pipeline.core.schemas.attributes import dataset_columns, sensitive_attributes
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.defs.dbt.project import dbt_relation
from rai_pipeline.defs.evaluation.dbt_lineage import write_dbt_lineage
from rai_pipeline.defs.evaluation.explain import stored_importance
from rai_pipeline.defs.evaluation.metrics import (
    compare_with_previous,
    missingness_by_group,
    previous_version,
)
from rai_pipeline.defs.evaluation.scoring import version_key
from rai_pipeline.defs.lineage import code_lineage
from rai_pipeline.defs.resources import WarehouseResource
from rai_pipeline.settings import EXPECTATIONS_DIR, RaiHome

MSG_NOT_SCORED = "no scoring record for {uri}: materialize the predictions asset first"

SLICE_SQL_NAME = "slice_stats.sql"


@dataclass(frozen=True)
class PublishedPack:
    ref: ModelVersionRef
    path: Path
    evidence_digest: str
    mlflow_run_id: str
    gate: str
    evaluation_id: str


def _overall_mlflow_metrics(metrics: pd.DataFrame, fairness: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in metrics.itertuples():
        prefix = "overall" if row.dimension == "overall" else f"slice/{row.dimension}/{row.group}"
        out[f"{prefix}/{row.metric}"] = float(row.value)
    aggregate = fairness[fairness["group"] == "*"]
    for row in aggregate.itertuples():
        out[f"fairness/{row.dimension}/{row.metric}"] = float(row.value)
    return out


def publish_evidence(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: EvaluationStore,
    config: EvaluationConfig,
    config_path: Path,
    dispositions_path: Path | None,
    home: RaiHome,
    dagster_run_id: str,
    dbt_runs: list[str],
    quality_checks: list[dict[str, Any]],
) -> PublishedPack:
    """Build the pack in staging, log it to a new MLflow run, publish it atomically, tag the
    model version. ``dbt_runs``: the Dagster runs whose dbt work the evaluation read
    (:func:`~rai_pipeline.defs.evaluation.dbt_lineage.evaluation_runs`). On any error the
    staging folder is removed and the run marked FAILED."""
    with warehouse.connect() as conn:
        metrics = results.read_rows(conn, "slice_metrics", key=version_key(ref))
        fairness = results.read_rows(conn, "fairness_metrics", key=version_key(ref))
        scoring = results.read_rows(conn, "scoring_runs", key=version_key(ref))
        landed = conn.execute(f"select * from {dbt_relation('stg_dataset_versions')}").df()
        missingness = missingness_by_group(conn, config.sensitive_features)
        features = [
            c for c in relation_columns(conn, dbt_relation("stg_examples")) if c != "example_id"
        ]
        histograms = results.read_rows(conn, "score_histograms", key=version_key(ref))
        stats = results.read_rows(conn, "slice_stats", key=version_key(ref))
        slice_sql = results.read_rows(conn, "slice_sql", key=version_key(ref))
        importance = stored_importance(conn, ref) if config.explainability.enabled else None
        previous = previous_version(conn, ref, str(metrics["dataset_version"].iloc[0]))
        comparison = (
            compare_with_previous(conn, ref, previous, config) if previous is not None else None
        )
    if scoring.empty:
        raise ValueError(MSG_NOT_SCORED.format(uri=ref.uri))
    score_row = scoring.iloc[0]
    eval_id = str(metrics["evaluation_id"].iloc[0])
    dataset_version = str(metrics["dataset_version"].iloc[0])
    evaluated_on = evaluation.evaluation_date(config)
    decision = decide_gate(
        fairness,
        load_dispositions(dispositions_path),
        model=ref.name,
        model_version=ref.version,
        today=evaluated_on,
        source=dispositions_path or "the dispositions file",
    )
    gate = decision.result
    lineage: dict[str, Any] = {
        "evaluation_id": eval_id,
        "evaluated_on": evaluated_on.isoformat(),
        "model_name": ref.name,
        "model_version": ref.version,
        "model_uri": ref.uri,
        "model_artifact_sha256": str(score_row["model_artifact_sha256"]),
        "model_run_id": str(score_row["model_run_id"]),
        "dataset_version": dataset_version,
        "config_sha256": config.digest(),
        "dagster_run_id": dagster_run_id,
        "rai_home": str(home.root),
        # where the frame's rows are, when not in RAI_HOME's DuckDB file (rai trace --rows)
        **({"warehouse": warehouse.engine} if warehouse.engine != "duckdb" else {}),
        "mlflow_tracking_uri": public_uri(store.tracking_uri),
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
    inputs = _inputs(landed, score_row, config_path, dispositions_path, config.digest())
    staging = home.staging / f"{ref.name}-{ref.version}-{uuid.uuid4().hex[:8]}"
    columns = dataset_columns(config, features)

    def build(staging: Path) -> dict[str, Any]:
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
            model_details=store.model_facts(ref),
            feature_importance=importance,
            datasheet=DatasheetInfo(
                sources=[
                    {"name": item["name"], "rows": item["rows"], "sha256": item["sha256"]}
                    for item in inputs
                    if item["kind"] == "landed_extract"
                ],
                sensitive_attributes=[
                    {"name": a.name, "description": a.describe()}
                    for a in sensitive_attributes(config)
                ],
                missingness=missingness,
                columns=pd.DataFrame(columns),
            ),
        )
        assemble_pack(staging, context)
        write_dbt_lineage(staging / "lineage", home=home, dagster_run_ids=dbt_runs)
        (staging / "lineage").mkdir(exist_ok=True)
        if not slice_sql.empty:
            (staging / "lineage" / SLICE_SQL_NAME).write_text(
                str(slice_sql["sql_script"].iloc[0]), encoding="utf-8"
            )
        hidden = sorted({column["column"] for column in columns if not column["shown"]})
        (staging / "lineage" / "restricted_columns.json").write_text(json.dumps(hidden) + "\n")
        return build_manifest(staging, inputs=inputs, lineage=lineage)

    target, digest = publish_evaluation(
        staging,
        home.pack_dir(ref.name, ref.version),
        store=store,
        ref=ref,
        run_id=run_id,
        build=build,
        gate=gate,
        verdict=decision.verdict,
    )
    return PublishedPack(ref, target, digest, run_id, gate, eval_id)


def _inputs(
    landed: pd.DataFrame,
    score_row: pd.Series,
    config_path: Path,
    dispositions_path: Path | None,
    config_digest: str,
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
    inputs.append(
        {
            "kind": "config",
            "name": str(config_path),
            "sha256": file_sha256(config_path),  # of the file's bytes
            "config_digest": config_digest,  # the lineage's config_sha256
        }
    )
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
