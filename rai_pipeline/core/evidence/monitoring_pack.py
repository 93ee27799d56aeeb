"""A model's monitoring evidence: the drift rows, the alert history with its dispositions,
alert quality, detection lead time on the known changes, the requests served per day, and a
summary whose every sentence is computed from those tables; with ``manifest.json``, so that
``rai verify`` checks it like an evaluation pack.

Layout (``evidence/<model>/monitoring/``)::

    drift_metrics.{parquet,csv}        requests_per_day.{parquet,csv}
    performance_estimates, performance_realized, fairness_realized,
    estimate_vs_realized, estimate_coverage  (each .parquet and .csv)
    alert_history.{parquet,csv}        detection_lead_time.{parquet,csv}
    alert_quality.{parquet,csv,json}   monitors.json
    monitoring_summary.md              manifest.json
    monitoring.html                    the monitoring page (time series, alerts)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.core.evidence.escaping import md_text
from rai_pipeline.core.evidence.manifest import build_manifest
from rai_pipeline.core.evidence.monitoring_page import PAGE, render_monitoring_page
from rai_pipeline.core.evidence.numbers import fmt, plural
from rai_pipeline.core.evidence.pack import write_table

SUMMARY = "monitoring_summary.md"
MONITOR_COLUMNS = (
    "name",
    "metric",
    "window_days",
    "threshold",
    "significance",
    "min_rows",
    "severity",
    "owner",
)


@dataclass(frozen=True)
class MonitoringEvidence:
    model_name: str
    deployed_version: str
    drift: pd.DataFrame
    alerts: pd.DataFrame
    quality: dict[str, Any]
    lead_times: pd.DataFrame
    requests_per_day: pd.DataFrame  # day, requests, labelled
    monitors: list[dict[str, Any]]
    features: list[str]  # the monitored features and the score
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def days(self) -> list[str]:
        return sorted(map(str, self.requests_per_day["day"]))


def _cell(value: Any) -> str:
    return (
        str(fmt(value))
        if isinstance(value, float)
        else str(md_text("—" if value is None or pd.isna(value) else value))
    )


def markdown_table(frame: pd.DataFrame) -> list[str]:
    """``frame`` as a Markdown table, every cell escaped (an em dash for a missing value)."""
    header = "| " + " | ".join(md_text(c) for c in frame.columns) + " |"
    lines = [header, "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return lines


def _alert_lines(evidence: MonitoringEvidence) -> list[str]:
    alerts = evidence.alerts
    if alerts.empty:
        return ["No monitor fired on any monitored day."]
    severities = alerts["severity"].value_counts()
    counts = ", ".join(f"{severities[s]} {s}" for s in ("ERROR", "WARN") if s in severities)
    days = alerts["day"].astype(str)
    lines = [
        f"{plural(len(alerts), 'alert')} ({counts}) on {plural(days.nunique(), 'day')}, "
        f"from {days.min()} to {days.max()}.",
        "",
    ]
    per_feature = (
        alerts.assign(day=days)
        .groupby("feature", as_index=False)
        .agg(first_day=("day", "min"), last_day=("day", "max"), alerts=("day", "size"))
        .sort_values(["first_day", "feature"])
    )
    lines += markdown_table(per_feature)
    quiet = [f for f in evidence.features if f not in set(alerts["feature"])]
    if quiet:
        lines += ["", f"No alert on {', '.join(md_text(f) for f in quiet)}."]
    return lines


def _quality_lines(quality: dict[str, Any]) -> list[str]:
    if not quality["disposed"]:
        return [
            f"None of the {plural(quality['alerts'], 'alert')} has a disposition yet, so alert "
            "quality is not measured: record one with `rai alerts resolve`."
        ]
    return [
        f"{quality['disposed']} of {plural(quality['alerts'], 'alert')} disposed of; "
        f"{quality['actionable_share']:.0%} of those were actionable. Days from an alert to its "
        f"disposition: median {quality['median_days_to_acknowledge']:g}, "
        f"at most {quality['max_days_to_acknowledge']}."
    ]


def _lead_lines(lead: pd.DataFrame) -> list[str]:
    if lead.empty:
        return ["The monitoring config names no known change (`known_changes`)."]
    lines = []
    for row in lead.itertuples():
        if pd.isna(row.lead_days):
            found = f"no alert on {md_text(row.feature)} since the onset {row.onset}"
        else:
            found = (
                f"{md_text(row.feature)} first alerted on {row.first_alert_day}, "
                f"{plural(int(row.lead_days), 'day')} after the onset {row.onset}"
            )
        before = (
            "none before it"
            if row.alerts_before_onset == 0
            else f"{plural(int(row.alerts_before_onset), 'alert')} before it"
        )
        lines.append(f"- {md_text(row.change)}: {found}; {before}.")
    return lines


def _performance_lines(coverage: pd.DataFrame, estimates: pd.DataFrame) -> list[str]:
    """The summary's words on the estimate and how it held, from the coverage table."""
    lines = ["## Performance before and after labels", ""]
    if estimates.empty:
        return [*lines, "No performance estimate yet.", ""]
    lines.append(
        "Before a request's label arrives, its rates are estimated from the calibrated score, "
        "assuming the score means in production what it meant on the evaluation data "
        "(calibration by isotonic regression on those rows; only the inputs' mix may change). "
        f"The {estimates['confidence_level'].iloc[0]:.0%} interval is the range the realized "
        "rate falls in if that holds "
        "(`performance_estimates`); realized rates come from the labelled requests "
        "(`performance_realized`, `fairness_realized`)."
    )
    lines.append("")
    if coverage.empty:
        return [*lines, "No day has all of its labels yet, so no estimate is checked.", ""]
    pooled = coverage[(coverage["dimension"] == "all") & (coverage["metric"] != "all")]
    overall = coverage[coverage["metric"] == "all"].iloc[0]
    lines.append(
        f"On the days whose every label has arrived, the interval covered the realized value "
        f"in {int(overall['covered'])} of {int(overall['compared'])} group-days "
        f"({overall['coverage']:.0%}):"
    )
    lines += ["", *markdown_table(pooled[["metric", "compared", "covered", "coverage"]]), ""]
    worst = coverage[(coverage["dimension"] != "all")].sort_values(["coverage", "metric"]).head(3)
    if len(worst) and worst["coverage"].iloc[0] < 1:
        lines.append("Lowest coverage, where the assumption held least:")
        lines += ["", *markdown_table(worst), ""]
    return lines


def render_summary(evidence: MonitoringEvidence) -> str:
    days = evidence.days
    requests = int(evidence.requests_per_day["requests"].sum())
    labelled = int(evidence.requests_per_day["labelled"].sum())
    monitors = pd.DataFrame(evidence.monitors)[list(MONITOR_COLUMNS)]
    span = f"{days[0]} to {days[-1]}" if days else "no day yet"
    lines = [
        f"# Monitoring: {md_text(evidence.model_name)} "
        f"version {md_text(evidence.deployed_version)}",
        "",
        f"Monitored days: {span} ({plural(len(days), 'day')} with requests, "
        f"{plural(requests, 'request')}; {labelled:,} with an outcome label so far).",
        "",
        "## Alerts",
        "",
        *_alert_lines(evidence),
        "",
        "## Alert quality",
        "",
        *_quality_lines(evidence.quality),
        "",
        "## Detection lead time",
        "",
        *_lead_lines(evidence.lead_times),
        "",
        *_performance_lines(
            evidence.extra_tables.get("estimate_coverage", pd.DataFrame()),
            evidence.extra_tables.get("performance_estimates", pd.DataFrame()),
        ),
        "## Monitors",
        "",
        *markdown_table(monitors),
        "",
        "Why and how each is computed: `monitors.json`. Statistics and defaults: "
        "docs/monitoring.md.",
        "",
    ]
    return "\n".join(lines)


def write_monitoring_pack(
    staging: Path,
    evidence: MonitoringEvidence,
    *,
    lineage: dict[str, Any],
    inputs: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Write the tables and the summary into ``staging``; return the manifest to write."""
    staging.mkdir(parents=True, exist_ok=True)
    write_table(evidence.drift, staging, "drift_metrics")
    write_table(evidence.alerts, staging, "alert_history")
    write_table(pd.DataFrame([evidence.quality]), staging, "alert_quality")
    (staging / "alert_quality.json").write_text(
        json.dumps(evidence.quality, indent=2, sort_keys=True) + "\n"
    )
    write_table(evidence.lead_times, staging, "detection_lead_time")
    write_table(evidence.requests_per_day, staging, "requests_per_day")
    for name, frame in evidence.extra_tables.items():
        write_table(frame, staging, name)
    (staging / "monitors.json").write_text(
        json.dumps(evidence.monitors, indent=2, sort_keys=True, default=str) + "\n"
    )
    (staging / SUMMARY).write_text(render_summary(evidence), encoding="utf-8")
    (staging / PAGE).write_text(render_monitoring_page(evidence), encoding="utf-8")
    return build_manifest(staging, inputs=list(inputs), lineage=lineage)
