"""The launch-readiness checklist of an evaluation: fixed items, each ``done`` or ``open``
with the evidence file that shows it; the completeness score is the share of items done. The
risk register is :mod:`~rai_pipeline.core.evidence.risk_register`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from rai_pipeline.core.config.dataset import DATASHEET_KEYS
from rai_pipeline.core.governance.dispositions import ACCEPT, Resolution


@dataclass(frozen=True)
class ChecklistItem:
    item: str
    done: bool
    evidence: str
    note: str = ""


def completeness(items: Sequence[ChecklistItem]) -> float:
    """Share of checklist items done, in percent (one decimal)."""
    return round(100.0 * sum(i.done for i in items) / len(items), 1) if items else 0.0


def launch_checklist(
    *,
    quality_checks: Sequence[Mapping[str, object]],
    slice_metrics: pd.DataFrame,
    sensitive_dimensions: Sequence[str],
    resolutions: Sequence[Resolution],
    intended_use: str,
    owners: Mapping[str, str],
    mlflow_run_id: str,
    evaluated_on: dt.date,
    dataset_documentation: Mapping[str, str | None] | None = None,
) -> list[ChecklistItem]:
    failed_checks = [str(q["name"]) for q in quality_checks if not q["passed"]]
    measured = set(slice_metrics["dimension"])
    missing = [d for d in sensitive_dimensions if d not in measured]
    small = slice_metrics[
        (slice_metrics["metric"] == "count") & (slice_metrics["status"] == "insufficient_sample")
    ]
    pending = [r.finding for r in resolutions if not r.resolved]
    unassigned = [role for role, who in owners.items() if not who or who == "unassigned"]
    given = dataset_documentation or {}
    undocumented = [key for key in DATASHEET_KEYS if not (given.get(key) or "").strip()]
    return [
        ChecklistItem(
            "Data-quality checks on the evaluation frame passed",
            bool(quality_checks) and not failed_checks,
            "fairness_report.html#data-quality",
            "; ".join(failed_checks) or f"{len(quality_checks)} checks",
        ),
        ChecklistItem(
            "Metrics computed for every configured sensitive attribute and intersection",
            not missing,
            "slice_metrics.csv",
            "missing: " + ", ".join(missing) if missing else "",
        ),
        ChecklistItem(
            "Groups below the minimum-size rules disclosed, each with its rule",
            True,
            "fairness_report.html#small-groups",
            f"{len(small)} small groups",
        ),
        ChecklistItem(
            "Every failed or inconclusive finding has a valid disposition",
            not pending,
            "risk_register.csv",
            f"{len(pending)} pending" if pending else "",
        ),
        ChecklistItem(
            "Intended use stated in the model card",
            bool(intended_use.strip()),
            "model_card.md#intended-use",
        ),
        ChecklistItem(
            "Model and evaluation owners assigned",
            not unassigned,
            "model_card.md#model-details",
            "unassigned: " + ", ".join(unassigned) if unassigned else "",
        ),
        ChecklistItem(
            "Datasheet for the evaluation data, every section provided",
            not undocumented,
            "datasheet.md#about-the-data",
            "not provided: " + ", ".join(undocumented) if undocumented else "",
        ),
        ChecklistItem(
            "Evaluation logged to MLflow with the evidence files",
            bool(mlflow_run_id),
            "manifest.json#lineage.mlflow_run_id",
            mlflow_run_id,
        ),
        ChecklistItem(
            "Evidence pack lineage recorded (manifest of sha256 digests)",
            True,
            "manifest.json",
            f"evaluated on {evaluated_on.isoformat()}",
        ),
    ]


def approvals(resolutions: Sequence[Resolution]) -> list[dict[str, str]]:
    """Who signed off which finding, when and until when: one row per finding, from the
    disposition that covers it (or the one that lapsed), ``""`` where there is none."""
    rows = []
    for resolution in resolutions:
        disposition = resolution.disposition or resolution.expired
        accepted = disposition is not None and disposition.decision == ACCEPT
        rows.append(
            {
                "finding": resolution.finding,
                "verdict": resolution.verdict,
                "status": resolution.status,
                "decision": disposition.decision if disposition else "",
                "by": (disposition.approver if accepted else disposition.owner) or ""
                if disposition
                else "",
                "signed_on": str(disposition.approved_on or "not recorded")
                if accepted and disposition
                else "",
                "until": str(disposition.expires if accepted else disposition.due)
                if disposition
                else "",
            }
        )
    return rows
