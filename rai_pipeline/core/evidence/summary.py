"""What the fairness report leads with: a summary of what was evaluated and of the worst
findings in words, the recommendations for each blocking finding, and each group's
comparison with its dimension's reference group. Every sentence is built from the pack's own
tables (the risk register's entries, ``fairness_metrics``), so it is true for the pack it is in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rai_pipeline.core.evidence.threshold_cost import headline_cost
from rai_pipeline.core.metrics.mitigation import WhatIf
from rai_pipeline.core.metrics.verdicts import (
    AGGREGATE_GROUP,
    VERDICT_FAIL,
    VERDICT_INCONCLUSIVE,
)

WORST_SHOWN = 3
AFFECTED_SHOWN = 2  # groups named per finding in the summary; the register lists them all
CERTAINTY = {
    VERDICT_FAIL: "the whole interval lies outside the band",
    VERDICT_INCONCLUSIVE: "the interval straddles the band, so the data cannot tell whether "
    "the disparity is within it",
}
VERDICT_ORDER = {VERDICT_FAIL: 0, VERDICT_INCONCLUSIVE: 1}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def _outside(entry: Mapping[str, Any]) -> float:
    """How far the value lies outside its band, in band units (0 inside; NaN last)."""
    value, low, high = (float(entry[k]) for k in ("value", "threshold_lower", "threshold_upper"))
    if math.isnan(value):
        return -1.0
    width = (high - low) or 1.0
    return max(low - value, value - high, 0.0) / width


def worst_findings(register: pd.DataFrame, fairness: pd.DataFrame) -> list[dict[str, Any]]:
    """The findings to name first: ``fail`` before ``inconclusive`` before unassessed, then by
    severity and by how far outside the band; each as one sentence of plain text."""
    bands = fairness[fairness["group"] == AGGREGATE_GROUP].set_index(["dimension", "metric"])
    entries = []
    for entry in register.to_dict("records"):
        band = bands.loc[(entry["dimension"], entry["metric"])]
        entry = {**entry, "threshold_lower": band["threshold_lower"],
                 "threshold_upper": band["threshold_upper"]}  # fmt: skip
        entries.append(entry)
    entries.sort(
        key=lambda e: (
            VERDICT_ORDER.get(str(e["verdict"]), 2),
            SEVERITY_ORDER.get(str(e["severity"]), 3),
            -_outside(e),
            str(e["finding"]),
        )
    )
    return [{"finding": e["finding"], "sentence": _sentence(e)} for e in entries[:WORST_SHOWN]]


def _sentence(entry: Mapping[str, Any]) -> str:
    harm, dimension, metric = str(entry["harm"]), entry["dimension"], entry["metric"]
    if harm == "unassessed":
        groups = str(entry["affected_groups"]).replace(";", ", ")
        return (
            f"Unassessed groups in {dimension}: {groups} fall below a minimum-size rule, so "
            f"nothing is known about the model's disparities for them."
        )
    value = float(entry["value"])
    if math.isnan(value):
        return (
            f"{harm.capitalize()} harm in {dimension} not assessed: {metric} is not defined, "
            "because fewer than two of its groups can be compared."
        )
    parts = [p for p in str(entry["affected_detail"]).split("; ") if p]
    detail = "; ".join(parts[:AFFECTED_SHOWN]) or "no single group stands out"
    if len(parts) > AFFECTED_SHOWN:
        detail += f"; and {len(parts) - AFFECTED_SHOWN} more in the risk register"
    return (
        f"{harm.capitalize()} harm in {dimension}: {metric} is {value:.3f} (interval "
        f"{float(entry['ci_lower']):.3f} to {float(entry['ci_upper']):.3f}, policy band "
        f"{float(entry['threshold_lower']):.3f} to {float(entry['threshold_upper']):.3f}); "
        f"{CERTAINTY.get(str(entry['verdict']), str(entry['verdict']))}. Most affected: {detail}."
    )


def recommendations(register: pd.DataFrame, blocking: Sequence[str]) -> list[dict[str, Any]]:
    """For each blocking finding (no valid disposition), in the register's order: what to try,
    what changing the threshold would cost, and what would close it."""
    wanted = set(blocking)
    return [
        {
            "finding": str(e["finding"]),
            "dimension": str(e["dimension"]),
            "metric": str(e["metric"]),
            "verdict": str(e["verdict"]),
            "severity": str(e["severity"]),
            "mitigation": str(e["proposed_mitigation"]),
            "threshold_cost": str(e["threshold_cost"]),
            "closing": str(e["closing_evidence"]),
        }
        for e in register.to_dict("records")
        if e["finding"] in wanted
    ]


def recommendations_by_dimension(
    items: Sequence[Mapping[str, Any]], whatif: WhatIf | None
) -> list[dict[str, Any]]:
    """The blocking findings of each dimension in one line: how many, of which severity, and
    the accuracy with per-group thresholds reaching the equalities they call for."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        line = out.setdefault(
            item["dimension"], {"dimension": item["dimension"], "metrics": [], "severity": {}}
        )
        line["metrics"].append(item["metric"])
        line["severity"][item["severity"]] = line["severity"].get(item["severity"], 0) + 1
    for line in out.values():
        counts = sorted(line["severity"].items(), key=lambda kv: SEVERITY_ORDER.get(kv[0], 3))
        line["severity_words"] = ", ".join(f"{n} {level}" for level, n in counts)
        line["cost"] = headline_cost(whatif, line["dimension"], line["metrics"])
    return list(out.values())


def reference_comparisons(
    rows: Sequence[Mapping[str, Any]], metric: str = "selection_rate"
) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """The dimension's reference group and each other group's ratio and difference to it on
    ``metric`` (value, interval, verdict), from the dimension's rows of ``fairness_metrics``
    (as records, in the table's order)."""
    per_group = [row for row in rows if row["group"] != AGGREGATE_GROUP]
    references = [row["reference_group"] for row in per_group if pd.notna(row["reference_group"])]
    reference = str(references[0]) if references else None
    out: dict[str, dict[str, Any]] = {}
    for kind in ("ratio", "difference"):
        for row in per_group:
            if row["metric"] == f"{metric}_{kind}":
                out.setdefault(str(row["group"]), {})[kind] = row
    return reference, out


def evaluated_sentence(
    *,
    model: str,
    version: str,
    dataset_version: str,
    rows: int,
    rule: str,
    dimensions: Sequence[str],
) -> str:
    """What was evaluated, in one sentence of plain text."""
    return (
        f"{model} version {version}, on dataset version {dataset_version[:12]} ({rows:,} "
        f"rows), with decisions {rule}, across {len(dimensions)} "
        f"{'dimension' if len(dimensions) == 1 else 'dimensions'}: {', '.join(dimensions)}."
    )
