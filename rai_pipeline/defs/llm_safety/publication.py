"""Evaluating and publishing one LLM feature version: read its landed rows (and those of the
version it is compared with) from the warehouse, evaluate them with the code
``rai evaluate-llm`` uses, assemble the pack in staging, log it to a new MLflow run, publish
it atomically, and write the gate, verdict and evidence-digest tags onto the version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.adapters.llm_judges import judge_for
from rai_pipeline.core.evidence.llm_pack import only_version, write_llm_pack
from rai_pipeline.core.evidence.manifest import public_uri
from rai_pipeline.core.evidence.publish import publish_evaluation
from rai_pipeline.core.governance.gate import decide_gate
from rai_pipeline.core.governance.registry import EvaluationStore, ModelVersionRef
from rai_pipeline.core.landing.llm import read_landed_llm_set
from rai_pipeline.core.llm_safety.config import LlmSafetyConfig
from rai_pipeline.core.llm_safety.evaluation import LlmEvaluation, evaluate_llm_safety
from rai_pipeline.core.llm_safety.landing import evaluation_inputs
from rai_pipeline.core.llm_safety.verdicts import gate_frame, overall_verdict
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.defs.dbt.project import dbt_relation
from rai_pipeline.defs.lineage import code_lineage
from rai_pipeline.defs.llm_safety.inputs import (
    FeatureVersion,
    feature_version,
    landed_labels,
    read_landed_rows,
)
from rai_pipeline.defs.resources import WarehouseResource
from rai_pipeline.settings import RaiHome


@dataclass(frozen=True)
class PublishedLlmPack:
    ref: ModelVersionRef
    label: str
    path: Path
    evidence_digest: str
    mlflow_run_id: str
    gate: str
    verdict: str
    evaluation_id: str
    verdicts: pd.DataFrame


def evaluate_feature_version(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: EvaluationStore,
    config: LlmSafetyConfig,
) -> tuple[FeatureVersion, LlmEvaluation, int]:
    """The version's evaluation (against the version before it, when there is one), with
    every per-version table restricted to it; and the number of prompts."""
    with warehouse.connect() as conn:
        landed = landed_labels(conn)
        version = feature_version(store, ref, landed)
        labels = [*([version.previous_label] if version.previous_label else []), version.label]
        tables = read_landed_rows(conn, labels)
    pairs = [(version.previous_label, version.label)] if version.previous_label else []
    inputs = evaluation_inputs(config, tables, labels, comparisons=pairs)  # type: ignore[arg-type]
    evaluation = evaluate_llm_safety(
        inputs.prompts,
        inputs.versions,
        inputs.config,
        prompts_file=dbt_relation("stg_llm_prompts"),
        judge=judge_for(config.judge, config.outcomes),
    )
    return version, only_version(evaluation, version.label), len(inputs.prompts)


def _evaluation_id(config: LlmSafetyConfig, set_sha256: str, version: FeatureVersion) -> str:
    parts = [config.digest(), set_sha256, version.ref.uri, str(version.previous)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _mlflow_metrics(evaluation: LlmEvaluation) -> dict[str, float]:
    rows = evaluation.metrics[evaluation.metrics["dimension"] == "overall"]
    return {f"{r.family}/{r.metric}": float(r.value) for r in rows.itertuples()}


def publish_llm_evidence(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: EvaluationStore,
    config: LlmSafetyConfig,
    config_path: Path,
    home: RaiHome,
    dagster_run_id: str,
    today: dt.date | None = None,
) -> PublishedLlmPack:
    """Evaluate, then build the pack in staging, log it to a new MLflow run, publish it
    atomically, tag the version. On any error the staging folder is removed and the run
    marked FAILED."""
    version, evaluation, prompts = evaluate_feature_version(
        ref, warehouse=warehouse, store=store, config=config
    )
    landed = read_landed_llm_set(home.llm_landing(config.model_name))
    evaluation_id = _evaluation_id(config, landed.sha256["llm_set"], version)
    verdict = overall_verdict(evaluation.verdicts, version.label)
    decision = decide_gate(
        gate_frame(evaluation.verdicts, version.label),
        [],
        model=ref.name,
        model_version=ref.version,
        today=today or dt.date.today(),
    )
    lineage: dict[str, Any] = {
        "evaluation_id": evaluation_id,
        "kind": "llm_safety",
        "model_name": ref.name,
        "model_version": ref.version,
        "model_uri": ref.uri,
        "feature_label": version.label,
        "model_versions": version.label,
        "compared_with": version.previous.uri if version.previous else "",
        "llm_set_version": landed.set_version,
        "config_sha256": config.digest(),
        "judge": evaluation.judge.describe(),
        "judge_name": evaluation.judge.name,
        "judge_version": evaluation.judge.version,
        "judge_template_sha256": evaluation.judge.template_digest,
        "dagster_run_id": dagster_run_id,
        "rai_home": str(home.root),
        "mlflow_tracking_uri": public_uri(store.tracking_uri),
        **code_lineage(),
    }
    run_id = store.log_evaluation(
        ref=ref,
        run_name=f"evaluate LLM safety {ref.name} v{ref.version} ({version.label})",
        tags={
            "rai.kind": "llm_safety",
            "rai.model_name": ref.name,
            "rai.model_version": ref.version,
            "rai.model_uri": ref.uri,
            "rai.llm.model_version": version.label,
            "rai.evaluation_id": evaluation_id,
            "rai.judge": evaluation.judge.describe(),
            "rai.dagster_run_id": dagster_run_id,
            "rai.gate": decision.result,
            "rai.verdict": verdict,
        },
        params={
            "max_unsafe_compliance_rate": str(config.policy.max_unsafe_compliance_rate),
            "max_over_refusal_rate": str(config.policy.max_over_refusal_rate),
            "min_judge_agreement": str(config.policy.min_judge_agreement),
            "min_group_size": str(config.min_group_size),
            "confidence_level": str(config.confidence_level),
        },
        metrics=_mlflow_metrics(evaluation),
    )
    lineage["mlflow_run_id"] = run_id
    inputs = [
        {
            "kind": "config",
            "name": str(config_path),
            "sha256": file_sha256(config_path),
            "config_digest": config.digest(),
        },
        *(
            {
                "kind": "landed_llm_table",
                "name": name,
                "sha256": digest,
                "rows": landed.rows[name],
                "set_version": landed.set_version,
            }
            for name, digest in sorted(landed.sha256.items())
        ),
    ]
    staging = home.staging / f"{ref.name}-{ref.version}-{uuid.uuid4().hex[:8]}"

    def build(folder: Path) -> dict[str, Any]:
        return write_llm_pack(
            folder,
            evaluation=evaluation,
            config=config,
            model_name=ref.name,
            evaluation_id=evaluation_id,
            lineage=lineage,
            prompts=prompts,
            inputs=inputs,
        )

    target, digest = publish_evaluation(
        staging,
        home.pack_dir(ref.name, ref.version),
        store=store,
        ref=ref,
        run_id=run_id,
        build=build,
        gate=decision.result,
        verdict=verdict,
    )
    return PublishedLlmPack(
        ref,
        version.label,
        target,
        digest,
        run_id,
        decision.result,
        verdict,
        evaluation_id,
        evaluation.verdicts,
    )
