"""Governance documents from an evaluation: risk register and launch-readiness checklist.

Rules, so a reviewer can check them:

- **Risk register**: one entry per ``fail`` or ``inconclusive`` row of ``fairness_metrics``
  (aggregate and per-group), and one per dimension whose ``excluded_groups`` row is
  ``insufficient_sample``. Harm type: *allocation* for selection-rate metrics, *quality of
  service* for error-rate metrics, *unassessed* for groups that could not be compared.
  Severity from verdict and risk tier (see :data:`SEVERITY`); likelihood ``likely`` when the
  whole interval is outside the band (``fail``), ``possible`` when it straddles it
  (``inconclusive``), ``unknown`` for unassessed groups. Owner, due date and status come from
  the finding's disposition when there is one.
- **Launch checklist**: fixed items, each ``done`` or ``open`` with the evidence file that
  shows it; the completeness score is the share of items done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rai_pipeline.core.governance.dispositions import ACCEPT, Resolution, finding_id
from rai_pipeline.core.metrics.verdicts import (
    AGGREGATE_GROUP,
    EXCLUDED_GROUPS,
    VERDICT_FAIL,
    VERDICT_INCONCLUSIVE,
    VERDICT_INSUFFICIENT,
)

ALLOCATION_METRICS = ("selection_rate", "demographic_parity")
UNASSESSED = "unassessed"
SEVERITY = {
    VERDICT_FAIL: {"low": "medium", "medium": "high", "high": "high"},
    VERDICT_INCONCLUSIVE: {"low": "low", "medium": "medium", "high": "high"},
    VERDICT_INSUFFICIENT: {"low": "low", "medium": "medium", "high": "high"},
}
LIKELIHOOD = {
    VERDICT_FAIL: "likely",
    VERDICT_INCONCLUSIVE: "possible",
    VERDICT_INSUFFICIENT: "unknown",
}
RISK_COLUMNS = [
    "risk_id",
    "finding",
    "dimension",
    "metric",
    "group",
    "verdict",
    "value",
    "ci_lower",
    "ci_upper",
    "harm",
    "risk_statement",
    "severity",
    "likelihood",
    "affected_groups",
    "proposed_mitigation",
    "owner",
    "due_date",
    "status",
]
MITIGATIONS = {
    "allocation": (
        "Investigate the gap in positive decisions: check label and feature quality for the "
        "affected groups, review the decision threshold, consider reweighing or constrained "
        "training, and record the decision."
    ),
    "quality of service": (
        "Investigate the error-rate gap: check label noise and sample size for the affected "
        "groups, consider threshold review or post-processing for equalized error rates, and "
        "record the decision."
    ),
    UNASSESSED: (
        "Collect more evaluation examples for the excluded groups (or merge them into a "
        "documented larger group) and re-evaluate; until then nothing is known about the "
        "model's disparities for them."
    ),
}


def harm_of(metric: str) -> str:
    if metric == EXCLUDED_GROUPS:
        return UNASSESSED
    return "allocation" if metric.startswith(ALLOCATION_METRICS) else "quality of service"


def _base_rates(metric: str) -> tuple[str, ...]:
    if metric.startswith(ALLOCATION_METRICS):
        return ("selection_rate",)
    if metric.startswith("equal_opportunity"):
        return ("true_positive_rate",)
    if metric.startswith("equalized_odds"):
        return ("true_positive_rate", "false_positive_rate")
    base = metric.removesuffix("_ratio").removesuffix("_difference")
    return (base,)


def affected_groups(slice_metrics: pd.DataFrame, dimension: str, metric: str) -> str:
    """For an aggregate finding: the groups with the lowest and highest base rate among the
    groups compared (status ``ok``)."""
    rows = slice_metrics[
        (slice_metrics["dimension"] == dimension)
        & (slice_metrics["metric"].isin(_base_rates(metric)))
        & (slice_metrics["status"] == "ok")
    ]
    names: list[str] = []
    for _, block in rows.groupby("metric", sort=True):
        ordered = block.sort_values(["value", "group"])
        for group in (ordered["group"].iloc[0], ordered["group"].iloc[-1]):
            if group not in names:
                names.append(str(group))
    return ";".join(names)


def _risk_statement(row: Any, harm: str) -> str:
    """One sentence that says what the row of ``fairness_metrics`` shows."""
    if harm == UNASSESSED:
        groups = str(row.groups_excluded).replace(";", ", ")
        return (
            f"Unassessed: {int(row.value)} group(s) of {row.dimension} ({groups}) fall below a "
            "minimum-size rule or have an undefined rate, so the aggregate disparities of "
            f"{row.dimension} leave them out."
        )
    where = row.dimension if row.group == AGGREGATE_GROUP else f"{row.dimension} = {row.group}"
    versus = "" if row.group == AGGREGATE_GROUP else f" relative to {row.reference_group}"
    return (
        f"{harm.capitalize()} harm: {row.metric} for {where}{versus} is {row.value:.3f} "
        f"(interval {row.ci_lower:.3f} to {row.ci_upper:.3f}); the policy band is "
        f"{row.threshold_lower:.3f} to {row.threshold_upper:.3f}."
    )


def risk_register(
    fairness_metrics: pd.DataFrame,
    slice_metrics: pd.DataFrame,
    resolutions: Mapping[str, Resolution],
    *,
    evaluation_id: str,
    risk_tier: str,
    default_owner: str,
) -> pd.DataFrame:
    """One entry per failed or inconclusive finding; see the module docstring for the rules."""
    verdict = fairness_metrics["verdict"]
    unassessed = (fairness_metrics["metric"] == EXCLUDED_GROUPS) & (verdict == VERDICT_INSUFFICIENT)
    rows = fairness_metrics[verdict.isin([VERDICT_FAIL, VERDICT_INCONCLUSIVE]) | unassessed]
    entries = []
    for number, row in enumerate(rows.itertuples(index=False), start=1):
        finding = finding_id(row.dimension, row.metric, row.group)
        harm = harm_of(str(row.metric))
        statement = _risk_statement(row, harm)
        resolution = resolutions.get(finding)
        disposition = resolution.disposition if resolution else None
        owner, due, status = default_owner, "", "open"
        if disposition is not None:
            accepted = disposition.decision == ACCEPT
            owner = (disposition.approver if accepted else disposition.owner) or default_owner
            due_date = disposition.expires if accepted else disposition.due
            due, status = str(due_date), resolution.status if resolution else "open"
        elif resolution is not None and resolution.expired is not None:
            status = "expired"
        entries.append(
            {
                "risk_id": f"{evaluation_id}-{number:03d}",
                "finding": finding,
                "dimension": row.dimension,
                "metric": row.metric,
                "group": row.group,
                "verdict": row.verdict,
                "value": row.value,
                "ci_lower": row.ci_lower,
                "ci_upper": row.ci_upper,
                "harm": harm,
                "risk_statement": statement,
                "severity": SEVERITY[str(row.verdict)][risk_tier],
                "likelihood": LIKELIHOOD[str(row.verdict)],
                "affected_groups": str(row.groups_excluded)
                if harm == UNASSESSED
                else affected_groups(slice_metrics, row.dimension, row.metric)
                if row.group == AGGREGATE_GROUP
                else str(row.group),
                "proposed_mitigation": MITIGATIONS[harm],
                "owner": owner,
                "due_date": due,
                "status": status,
            }
        )
    return pd.DataFrame(entries, columns=RISK_COLUMNS)


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
) -> list[ChecklistItem]:
    failed_checks = [str(q["name"]) for q in quality_checks if not q["passed"]]
    measured = set(slice_metrics["dimension"])
    missing = [d for d in sensitive_dimensions if d not in measured]
    small = slice_metrics[
        (slice_metrics["metric"] == "count") & (slice_metrics["status"] == "insufficient_sample")
    ]
    pending = [r.finding for r in resolutions if not r.resolved]
    unassigned = [role for role, who in owners.items() if not who or who == "unassigned"]
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
        ChecklistItem("Datasheet for the evaluation data", True, "datasheet.md"),
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
