"""The risk register: one entry per finding, the unit a reviewer decides on.

Rules, so a reviewer can check them:

- **Entries.** One per finding, as the gate counts them: each aggregate row of
  ``fairness_metrics`` (group ``*``) that is not ``pass``, that is each ``fail`` or
  ``inconclusive`` disparity and each dimension whose ``excluded_groups`` row is
  ``insufficient_sample``. Per-group detail stays in ``fairness_metrics``.
- **Harm.** *allocation* for selection-rate metrics, *quality of service* for error-rate
  metrics, *unassessed* for groups that could not be compared.
- **Groups affected.** The groups whose own comparison with the reference group, on a rate the
  finding is built from, is ``fail`` or ``inconclusive`` (with their values; ``fail`` first,
  then the furthest from equality); when every such
  comparison passes, the groups with the lowest and the highest rate. For *unassessed*: the
  excluded groups.
- **Severity** from the verdict and the risk tier (:data:`SEVERITY`); **likelihood** from the
  verdict (:data:`LIKELIHOOD`); each entry states the rule that set them.
- **Owner, due date, status** from the finding's disposition when there is one; otherwise
  the model owner, the evaluation day plus ``mitigation_due_days``, and ``open``.
- **Mitigation**: the candidates for the metric, naming the groups and rates involved; the
  measured cost of per-group thresholds for the metric's rates (``threshold_cost``, from the
  pack's ``threshold_whatif``); and the evidence that would close the finding.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rai_pipeline.core.evidence.threshold_cost import cost_sentences
from rai_pipeline.core.governance.dispositions import ACCEPT, Resolution, finding_id
from rai_pipeline.core.metrics.mitigation import WhatIf
from rai_pipeline.core.metrics.verdicts import (
    AGGREGATE_GROUP,
    EXCLUDED_GROUPS,
    VERDICT_FAIL,
    VERDICT_INCONCLUSIVE,
    VERDICT_INSUFFICIENT,
    VERDICT_PASS,
)

ALLOCATION_METRICS = ("selection_rate", "demographic_parity")
UNASSESSED = "unassessed"
SEVERITY = {
    VERDICT_FAIL: {"low": "medium", "medium": "high", "high": "high"},
    VERDICT_INCONCLUSIVE: {"low": "low", "medium": "medium", "high": "high"},
    VERDICT_INSUFFICIENT: {"low": "low", "medium": "medium", "high": "high"},
}
LIKELIHOOD = {
    VERDICT_FAIL: ("likely", "the whole interval lies outside the policy band"),
    VERDICT_INCONCLUSIVE: ("possible", "the interval straddles the policy band"),
    VERDICT_INSUFFICIENT: ("unknown", "the groups could not be compared"),
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
    "severity_rule",
    "likelihood",
    "likelihood_rule",
    "affected_groups",
    "affected_detail",
    "proposed_mitigation",
    "threshold_cost",
    "closing_evidence",
    "owner",
    "due_date",
    "status",
]
RATE_WORDS = {
    "selection_rate": "selection rates (the share given the positive decision)",
    "true_positive_rate": "true positive rates (the share of positives found)",
    "false_positive_rate": "false positive rates (the share of negatives wrongly selected)",
}
CANDIDATES = {
    "allocation": (
        "check the labels and features of {groups} for quality and coverage (data); review "
        "the threshold, or per-group thresholds, with their measured cost in accuracy "
        "(threshold); reweighing or training under a demographic-parity constraint (model); "
        "human review of decisions for {groups} (process)"
    ),
    "quality of service": (
        "check label noise and sample size for {groups} (data); per-group thresholds or "
        "post-processing for equal error rates, with their measured cost in accuracy "
        "(threshold); training under an equalized-odds constraint (model); human review of "
        "decisions for {groups} (process)"
    ),
}
CLOSING = (
    "A re-evaluation whose {metric} interval lies inside the policy band, or a disposition "
    "accepting the finding with an approver and an expiry date."
)
CLOSING_UNASSESSED = (
    "A re-evaluation with at least the minimum rows, positives and negatives in each of "
    "{groups} (or the groups merged into a documented larger one), or a disposition accepting "
    "that they stay unassessed."
)


def harm_of(metric: str) -> str:
    if metric == EXCLUDED_GROUPS:
        return UNASSESSED
    return "allocation" if metric.startswith(ALLOCATION_METRICS) else "quality of service"


def base_rates(metric: str) -> tuple[str, ...]:
    """The group rates an aggregate disparity is built from."""
    if metric.startswith(ALLOCATION_METRICS):
        return ("selection_rate",)
    if metric.startswith("equal_opportunity"):
        return ("true_positive_rate",)
    if metric.startswith("equalized_odds"):
        return ("true_positive_rate", "false_positive_rate")
    return (metric.removesuffix("_ratio").removesuffix("_difference"),)


def _by_dimension(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Each dimension's rows as records: a register reads a few rows per finding, which plain
    records answer in microseconds where a pandas filter costs a millisecond."""
    by_dimension: dict[str, list[Any]] = {}
    for row in frame.itertuples(index=False):
        by_dimension.setdefault(str(row.dimension), []).append(row)
    return by_dimension


def _distance(row: Any) -> float:
    """How far a group's difference or ratio is from equality (NaN when undefined)."""
    value = float(row.value)
    if str(row.metric).endswith("_ratio"):
        return abs(math.log(max(value, 1e-9))) if not math.isnan(value) else math.nan
    return abs(value)


def _nan_last(value: float) -> tuple[bool, float]:
    return (True, 0.0) if math.isnan(value) else (False, value)


def _affected(
    fairness: Sequence[Any], slice_metrics: Sequence[Any], metric: str
) -> tuple[list[str], str]:
    """The groups affected by an aggregate finding, and their rates in words, from one
    dimension's fairness rows and slice metrics (records)."""
    rates = base_rates(metric)
    kind = "_ratio" if metric.endswith("_ratio") else "_difference"
    wanted = {rate + kind for rate in rates}
    rows = [
        row
        for row in fairness
        if row.group != AGGREGATE_GROUP
        and row.metric in wanted
        and row.verdict in (VERDICT_FAIL, VERDICT_INCONCLUSIVE)
    ]
    if rows:
        # the groups furthest from equality first: fail before inconclusive, then by distance
        rows.sort(
            key=lambda row: (
                row.verdict != VERDICT_FAIL,
                *_nan_last(-_distance(row)),
                str(row.group),
            )
        )
        names = list(dict.fromkeys(str(row.group) for row in rows))
        detail = [
            f"{row.group}: {row.metric} {row.value:.3f} (interval {row.ci_lower:.3f} to "
            f"{row.ci_upper:.3f}) against {row.reference_group}, {row.verdict}"
            for row in rows
        ]
        return names, "; ".join(detail)
    names, detail = [], []
    for rate in sorted(set(rates)):
        ordered = sorted(
            (row for row in slice_metrics if row.metric == rate and row.status == "ok"),
            key=lambda row: (*_nan_last(float(row.value)), str(row.group)),
        )
        if not ordered:
            continue
        low, high = ordered[0], ordered[-1]
        for group in (low.group, high.group):
            if group not in names:
                names.append(str(group))
        detail.append(
            f"{rate} from {low.value:.3f} ({low.group}) to {high.value:.3f} ({high.group})"
        )
    return names, "; ".join(detail)


def _risk_statement(row: Any, harm: str) -> str:
    """One sentence that says what the finding's row of ``fairness_metrics`` shows."""
    if harm == UNASSESSED:
        groups = str(row.groups_excluded).replace(";", ", ")
        return (
            f"Unassessed: {int(row.value)} group(s) of {row.dimension} ({groups}) fall below a "
            "minimum-size rule or have an undefined rate, so the aggregate disparities of "
            f"{row.dimension} leave them out."
        )
    if pd.isna(row.value):
        return (
            f"{harm.capitalize()} harm not assessed: {row.metric} for {row.dimension} is not "
            "defined, because fewer than two of its groups can be compared (or a ratio is 0/0)."
        )
    return (
        f"{harm.capitalize()} harm: {row.metric} for {row.dimension} is {row.value:.3f} "
        f"(interval {row.ci_lower:.3f} to {row.ci_upper:.3f}); the policy band is "
        f"{row.threshold_lower:.3f} to {row.threshold_upper:.3f}."
    )


def _mitigation(harm: str, row: Any, groups: list[str]) -> str:
    metric, dimension = str(row.metric), str(row.dimension)
    named = ", ".join(groups) or f"the groups of {dimension}"
    if harm == UNASSESSED:
        return (
            f"Collect more evaluation examples for {named} (or merge them into a documented "
            "larger group) and evaluate again; until then nothing is known about the model's "
            "disparities for them."
        )
    rates = " and ".join(RATE_WORDS.get(rate, rate) for rate in base_rates(metric))
    return (
        f"The {rates} of {dimension} {'differ' if row.verdict == VERDICT_FAIL else 'may differ'} "
        f"beyond the policy band ({metric}), affecting {named}. "
        f"Candidate mitigations: {CANDIDATES[harm].format(groups=named)}."
    )


def risk_register(
    fairness_metrics: pd.DataFrame,
    slice_metrics: pd.DataFrame,
    resolutions: Mapping[str, Resolution],
    *,
    evaluation_id: str,
    risk_tier: str,
    default_owner: str,
    evaluated_on: dt.date,
    due_days: int,
    whatif: WhatIf | None = None,
) -> pd.DataFrame:
    """One entry per finding; see the module docstring for the rules."""
    aggregate = fairness_metrics[fairness_metrics["group"] == AGGREGATE_GROUP]
    rows = aggregate[aggregate["verdict"] != VERDICT_PASS]  # the findings, as the gate has them
    default_due = str(evaluated_on + dt.timedelta(days=due_days))
    fairness_of, slices_of = _by_dimension(fairness_metrics), _by_dimension(slice_metrics)
    threshold_cost = cost_sentences(whatif)
    entries = []
    for number, row in enumerate(rows.itertuples(index=False), start=1):
        finding = finding_id(row.dimension, row.metric)
        harm = harm_of(str(row.metric))
        if harm == UNASSESSED:
            groups = [g for g in str(row.groups_excluded).split(";") if g]
            detail = f"excluded: {', '.join(groups)}"
        else:
            dimension = str(row.dimension)
            groups, detail = _affected(
                fairness_of.get(dimension, []), slices_of.get(dimension, []), str(row.metric)
            )
        resolution = resolutions.get(finding)
        disposition = resolution.disposition if resolution else None
        owner, due, status = default_owner, default_due, "open"
        if disposition is not None:
            accepted = disposition.decision == ACCEPT
            owner = (disposition.approver if accepted else disposition.owner) or default_owner
            due = str(disposition.expires if accepted else disposition.due)
            status = resolution.status if resolution else "open"
        elif resolution is not None and resolution.expired is not None:
            status = resolution.status  # expired (an approval) or overdue (a mitigation)
        likelihood, likelihood_rule = LIKELIHOOD[str(row.verdict)]
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
                "risk_statement": _risk_statement(row, harm),
                "severity": SEVERITY[str(row.verdict)][risk_tier],
                "severity_rule": f"verdict {row.verdict} at risk tier {risk_tier}",
                "likelihood": likelihood,
                "likelihood_rule": likelihood_rule,
                "affected_groups": ";".join(groups),
                "affected_detail": detail,
                "proposed_mitigation": _mitigation(harm, row, groups),
                "threshold_cost": ""
                if harm == UNASSESSED
                else threshold_cost(str(row.dimension), str(row.metric)),
                "closing_evidence": CLOSING_UNASSESSED.format(groups=", ".join(groups))
                if harm == UNASSESSED
                else CLOSING.format(metric=row.metric),
                "owner": owner,
                "due_date": due,
                "status": status,
            }
        )
    return pd.DataFrame(entries, columns=RISK_COLUMNS)
