"""The Dagster materialization metadata the evaluation assets return: row counts, model and
dataset versions, links to MLflow and to the published pack, Markdown previews.

Plain functions of what each step produced; the assets attach the result to their
``MaterializeResult``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from rai_pipeline.core.governance.gate import aggregate_verdict
from rai_pipeline.core.governance.registry import EvaluationStore, ModelVersionRef

if TYPE_CHECKING:  # annotations only
    from rai_pipeline.defs.evaluation.metrics import SliceResult
    from rai_pipeline.defs.evaluation.publication import PublishedPack
    from rai_pipeline.defs.evaluation.scoring import ScoringRecord


def mlflow_links(
    store: EvaluationStore, ref: ModelVersionRef, run_id: str
) -> dict[str, str | None]:
    """Where a reviewer opens the evaluation's MLflow run and the registered model version."""
    return store.links(ref, run_id)


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


def importance_metadata(result: Any) -> dict[str, Any]:
    """The most important features overall, as a table; or that explainability is off."""
    if result is None:
        return {"explainability": "disabled (explainability.enabled: false)"}
    overall = result.importances[result.importances["dimension"] == "overall"]
    top = overall.sort_values("importance", ascending=False).head(10)
    shown = top[["feature", "importance", "ci_lower", "ci_upper"]]
    return {
        "features": int(overall["feature"].nunique()),
        "repeats": int(overall["repeats"].iloc[0]) if len(overall) else 0,
        "top_features": dg.MetadataValue.md(shown.to_markdown(index=False, floatfmt=".4f")),
        "dagster/row_count": len(result.importances),
    }
