"""An LLM safety evidence pack's tables and documents, as ``rai evaluate-llm`` and the
pipeline both write them: the tables of an
:class:`~rai_pipeline.core.llm_safety.evaluation.LlmEvaluation`, the report (Markdown and
HTML) and ``manifest.json``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.core.evidence.llm_report import (
    LLM_DOCUMENTS,
    LlmReportContext,
    render_llm_document,
)
from rai_pipeline.core.evidence.manifest import build_manifest
from rai_pipeline.core.evidence.pack import write_table
from rai_pipeline.core.llm_safety.config import LlmSafetyConfig
from rai_pipeline.core.llm_safety.evaluation import LlmEvaluation


def llm_tables(
    evaluation: LlmEvaluation, *, model_name: str, evaluation_id: str
) -> dict[str, pd.DataFrame]:
    """The pack's tables; every metric row names its judge (name, version, template sha256)."""
    judge = evaluation.judge
    metrics = evaluation.metrics.assign(
        model_name=model_name,
        evaluation_id=evaluation_id,
        judge_name=judge.name,
        judge_version=judge.version,
        judge_template_sha256=judge.template_digest,
    )
    return {
        "llm_safety_metrics": metrics,
        "llm_safety_verdicts": evaluation.verdicts,
        "llm_data_checks": evaluation.checks,
        "llm_coverage": evaluation.coverage,
        "llm_failure_modes": evaluation.failures,
        "llm_low_agreement": evaluation.low_agreement,
        "llm_rater_agreement": evaluation.rater_agreement,
        "llm_version_comparison": evaluation.comparison,
        "llm_flips": evaluation.flips,
    }


def only_version(evaluation: LlmEvaluation, version: str) -> LlmEvaluation:
    """The evaluation as one version's pack shows it: the per-version tables restricted to
    ``version``; the comparison with the version it was evaluated against stays."""
    import dataclasses

    def mine(frame: pd.DataFrame) -> pd.DataFrame:
        if "model_version" not in frame.columns:
            return frame
        return frame[frame["model_version"] == version].reset_index(drop=True)

    return dataclasses.replace(
        evaluation,
        frame=mine(evaluation.frame),
        metrics=mine(evaluation.metrics),
        checks=mine(evaluation.checks),
        verdicts=mine(evaluation.verdicts),
        failures=mine(evaluation.failures),
        low_agreement=mine(evaluation.low_agreement),
        rater_agreement=mine(evaluation.rater_agreement),
        id_prefixes={k: v for k, v in evaluation.id_prefixes.items() if k == version},
    )


def write_llm_pack(
    staging: Path,
    *,
    evaluation: LlmEvaluation,
    config: LlmSafetyConfig,
    model_name: str,
    evaluation_id: str,
    lineage: dict[str, Any],
    prompts: int,
    inputs: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Write the tables and the report into ``staging``; return the manifest to write."""
    written = []
    for name, frame in llm_tables(
        evaluation, model_name=model_name, evaluation_id=evaluation_id
    ).items():
        if len(frame.columns):
            written += write_table(frame, staging, name)
    context = LlmReportContext(
        model_name=model_name,
        evaluation_id=evaluation_id,
        evaluation=evaluation,
        lineage=lineage,
        prompts=prompts,
        dimensions=list(config.prompts.dimensions),
        min_group_size=config.min_group_size,
        confidence_level=config.confidence_level,
        policy=config.policy.model_dump(),
        files=sorted(p.name for p in written),
    )
    for filename, template in LLM_DOCUMENTS.items():
        (staging / filename).write_text(render_llm_document(template, context), encoding="utf-8")
    return build_manifest(staging, inputs=list(inputs), lineage=lineage)
