"""An incident evidence bundle: what a reviewer needs within hours of an incident being
declared, as files in the evidence layout (verified like any pack).

Layout (``evidence/<model>/incidents/<incident id>/``)::

    incident.json, incident.md           what, when, why, and what the bundle holds
    versions_live.{parquet,csv}          the versions that served requests in the window,
                                         with their evaluation packs' digests
    drift_metrics.{parquet,csv}          the window's drift rows
    alert_history.{parquet,csv}          the window's alerts with their dispositions
    alert_requests.{parquet,csv}         the logged requests behind the alerts (restricted
                                         columns masked)
    timeline.{parquet,csv}               every dated event, in order
    reproduce.md                         the commands that rebuild and check each table
    manifest.json

The functions here are pure: :mod:`rai_pipeline.app.incident` reads the warehouse and the
registry, then calls them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.core.evidence.escaping import md_text
from rai_pipeline.core.evidence.manifest import build_manifest
from rai_pipeline.core.evidence.monitoring_pack import markdown_table
from rai_pipeline.core.evidence.numbers import plural
from rai_pipeline.core.evidence.pack import write_table

MASK = "***"
TIMELINE_COLUMNS = ("at", "event", "detail")


def incident_id(model: str, start: str, end: str, reason: str) -> str:
    """``<from>_<to>-<8 hex>``: the same incident (model, window, reason) has the same id."""
    digest = hashlib.sha256("|".join((model, start, end, reason)).encode()).hexdigest()[:8]
    return f"{start}_{end}-{digest}"


def mask_columns(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with every listed column present replaced by :data:`MASK`; the masked ones."""
    masked = [c for c in columns if c in frame.columns]
    out = frame.copy()
    for column in masked:
        out[column] = MASK
    return out, masked


def requests_behind(alerts: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """The logged requests each alert was computed on: the alert's group's requests over its
    window (``window_start`` .. ``day``); one row per request, ``alert_ids`` listing the alerts
    it is behind (``;``-separated), ordered by request."""
    if alerts.empty or requests.empty:
        return requests.iloc[0:0].assign(alert_ids=pd.Series(dtype="string"))
    day = pd.to_datetime(requests["day"])
    behind: dict[str, list[str]] = {}
    for alert in alerts.itertuples():
        inside = (day >= pd.Timestamp(alert.window_start)) & (day <= pd.Timestamp(alert.day))
        if alert.dimension != "overall":
            inside &= requests[alert.dimension].astype(str) == str(alert.group)
        for request in requests.loc[inside, "request_id"]:
            behind.setdefault(str(request), []).append(str(alert.alert_id))
    rows = requests[requests["request_id"].astype(str).isin(behind)].copy()
    rows["alert_ids"] = [";".join(behind[str(r)]) for r in rows["request_id"]]
    return rows.sort_values("request_id").reset_index(drop=True)


@dataclass(frozen=True)
class IncidentBundle:
    incident: dict[str, Any]  # id, model_name, from, to, reason, opened_at
    versions: pd.DataFrame
    drift: pd.DataFrame
    alerts: pd.DataFrame
    alert_requests: pd.DataFrame
    masked: list[str]
    timeline: pd.DataFrame
    reproduce: list[tuple[str, str]]  # (what, command)
    extra_tables: dict[str, pd.DataFrame]


def render_incident(bundle: IncidentBundle) -> str:
    info = bundle.incident
    alerts = bundle.alerts
    lines = [
        f"# Incident {md_text(info['incident_id'])}: {md_text(info['model_name'])}",
        "",
        f"Opened {md_text(info['opened_at'])} for {info['from']} to {info['to']}. "
        f"Reason: {md_text(info['reason'])}",
        "",
        "## Versions live in the window",
        "",
    ]
    if bundle.versions.empty:
        lines.append("No request was logged in the window.")
    else:
        lines += markdown_table(bundle.versions)
    lines += ["", "## Alerts", ""]
    if alerts.empty:
        lines.append("No monitor fired in the window.")
    else:
        open_ = int((alerts["status"] == "open").sum())
        lines.append(
            f"{plural(len(alerts), 'alert')} in the window ({open_} still open), on "
            f"{', '.join(md_text(f) for f in sorted(set(alerts['feature'])))}; "
            f"{plural(len(bundle.alert_requests), 'logged request')} behind them in "
            "`alert_requests`"
            + (
                f" (masked: {', '.join(md_text(c) for c in bundle.masked)})."
                if bundle.masked
                else "."
            )
        )
    lines += ["", "## Timeline", ""]
    lines += markdown_table(bundle.timeline) if len(bundle.timeline) else ["No dated event."]
    lines += ["", "Reproduction: `reproduce.md`.", ""]
    return "\n".join(lines)


def render_reproduce(bundle: IncidentBundle) -> str:
    lines = [f"# Reproducing incident {md_text(bundle.incident['incident_id'])}", ""]
    for what, command in bundle.reproduce:
        lines += [f"{md_text(what)}:", "", f"    {command}", ""]
    return "\n".join(lines)


def write_incident_bundle(
    staging: Path,
    bundle: IncidentBundle,
    *,
    lineage: dict[str, Any],
    inputs: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Write the bundle's files into ``staging``; return the manifest to write."""
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "incident.json").write_text(
        json.dumps(bundle.incident, indent=2, sort_keys=True) + "\n"
    )
    write_table(bundle.versions, staging, "versions_live")
    write_table(bundle.drift, staging, "drift_metrics")
    write_table(bundle.alerts, staging, "alert_history")
    write_table(bundle.alert_requests, staging, "alert_requests")
    write_table(bundle.timeline, staging, "timeline")
    for name, frame in bundle.extra_tables.items():
        write_table(frame, staging, name)
    (staging / "incident.md").write_text(render_incident(bundle), encoding="utf-8")
    (staging / "reproduce.md").write_text(render_reproduce(bundle), encoding="utf-8")
    return build_manifest(staging, inputs=list(inputs), lineage=lineage)


def timeline(events: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
    """The events (at, event, detail) in time order (ties by event, then detail)."""
    frame = pd.DataFrame(list(events), columns=list(TIMELINE_COLUMNS))
    return frame.sort_values(list(TIMELINE_COLUMNS)).reset_index(drop=True)
