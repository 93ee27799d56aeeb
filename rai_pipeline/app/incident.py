"""``rai incident open``: an incident evidence bundle for a model over a window of days
(:mod:`rai_pipeline.core.evidence.incident`), from what is already in the warehouse, the
landed logs and the registry; no Dagster run, no dbt, so it takes seconds.

The bundle is assembled in staging and published atomically to
``evidence/<model>/incidents/<id>/``, its digest written to the newest live version's
``rai.incident.<id>`` tag (its anchor, which ``rai verify`` checks). Opening the same incident
(model, window, reason) again replaces the bundle; the previous one is kept in history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shlex
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.app.evaluate import Echo, EvaluateError
from rai_pipeline.core.engine import results
from rai_pipeline.core.evidence.incident import (
    IncidentBundle,
    incident_id,
    mask_columns,
    requests_behind,
    timeline,
    write_incident_bundle,
)
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, public_uri, write_manifest
from rai_pipeline.core.evidence.publish import publish_registered
from rai_pipeline.core.evidence.verify import verify_pack
from rai_pipeline.core.governance.registry import (
    EVIDENCE_DIGEST_TAG,
    INCIDENT_TAG_PREFIX,
    ModelVersionRef,
)
from rai_pipeline.core.monitoring.monitors import MonitoringConfig, load_monitoring_config
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.settings import RaiHome

MSG_ORDER = "--from {start} is after --to {end}"
MSG_NO_REASON = "--reason must say why the incident is opened"
MSG_NO_LOGS = "{folder}: no landed requests for {model!r} from {start} to {end}"
MSG_OTHER_MODEL = "{config}: monitors {other!r}, not {model!r}"
MSG_NO_WAREHOUSE = "{warehouse}: no warehouse; run rai monitor first"
MSG_NO_CONFIG = (
    "{pack}: no monitoring evidence of {model!r} names its monitoring config; run rai monitor "
    "first, or give --config"
)
MSG_CONFIG_CHANGED = (
    "{path}: the monitoring config changed since the monitoring evidence was published "
    "(sha256 {actual}, recorded {expected}); run rai monitor again, or give --config"
)
WINDOW_ORDER = ("day", "monitor", "window_days", "feature", "dimension", "group")


@dataclass(frozen=True)
class IncidentOutcome:
    incident_id: str
    bundle: Path
    digest: str
    alerts: int
    requests: int
    versions: list[str]


def _window(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    if frame.empty:
        return frame
    day = pd.to_datetime(frame["day"]).dt.date
    sort = [
        c for c in ("day", "monitor", "window_days", "feature", "dimension", "group") if c in frame
    ]
    return frame[(day >= start) & (day <= end)].sort_values(sort).reset_index(drop=True)


def _requests(conn: Any, model: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
    from rai_pipeline.defs.dbt.project import dbt_relation

    ensure_dbt_manifest()
    return conn.execute(
        f"select * from {dbt_relation('monitoring_requests')} "
        "where model_name = ? and day between ? and ? order by request_id",
        [model, start, end],
    ).df()


def _versions(requests: pd.DataFrame, home: RaiHome, store: Any, model: str) -> pd.DataFrame:
    rows = []
    for version, part in requests.groupby("model_version", sort=True):
        ref = ModelVersionRef(model, str(version))
        pack = home.pack_dir(model, str(version))
        manifest = pack / MANIFEST_NAME
        rows.append(
            {
                "model_version": str(version),
                "requests": len(part),
                "first_request": str(part["ts"].min()),
                "last_request": str(part["ts"].max()),
                "registered_evidence_digest": store.version_tags(ref).get(EVIDENCE_DIGEST_TAG, ""),
                "pack_manifest_sha256": file_sha256(manifest) if manifest.is_file() else "",
                "pack_intact": bool(manifest.is_file() and verify_pack(pack).intact),
                "pack": str(pack) if manifest.is_file() else "",
            }
        )
    return pd.DataFrame(rows)


def _events(
    config: MonitoringConfig,
    alerts: pd.DataFrame,
    versions: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    opened_at: str,
) -> pd.DataFrame:
    events: list[tuple[str, str, str]] = []
    for row in versions.itertuples():
        events.append((row.first_request, "first request served", f"version {row.model_version}"))
        events.append((row.last_request, "last request served", f"version {row.model_version}"))
    for change in config.known_changes:
        if start <= change.onset <= end:
            events.append((change.onset.isoformat(), "known change", change.name))
    if len(alerts):
        firsts = alerts.groupby(["monitor", "feature"], as_index=False)["day"].min()
        for row in firsts.itertuples():
            events.append((str(row.day), "first alert", f"{row.monitor} on {row.feature}"))
        disposed = alerts[alerts["disposition"].notna()]
        for row in disposed.itertuples():
            events.append(
                (
                    str(row.disposed_at),
                    f"alert disposed of as {row.disposition}",
                    f"{row.alert_id} ({row.feature}, {row.dimension} = {row.group}) by "
                    f"{row.disposed_by}",
                )
            )
    events.append((opened_at, "incident opened", ""))
    return timeline(events)


def monitoring_config_of(home: RaiHome, model: str) -> Path:
    """The monitoring config the model's published monitoring evidence was computed with."""
    from rai_pipeline.core.evidence.verify import PackError, read_manifest

    pack = home.monitoring_pack(model)
    try:
        inputs = read_manifest(pack)["inputs"]
    except PackError:
        inputs = []
    named = [i for i in inputs if i.get("kind") == "monitoring_config" and i.get("path")]
    if not named:
        raise EvaluateError(MSG_NO_CONFIG.format(pack=pack, model=model))
    path = Path(named[0]["path"])
    actual = file_sha256(path) if path.is_file() else "missing"
    if actual != named[0]["sha256"]:
        raise EvaluateError(
            MSG_CONFIG_CHANGED.format(
                path=path, actual=actual[:16], expected=named[0]["sha256"][:16]
            )
        )
    return path


def open_incident(
    home: RaiHome,
    *,
    model: str,
    start: dt.date,
    end: dt.date,
    reason: str,
    config_path: Path | None = None,
    restricted: list[str] | None = None,
    opened_at: dt.datetime | None = None,
    echo: Echo = lambda _line: None,
) -> IncidentOutcome:
    """Write and publish the bundle (module docstring)."""
    from rai_pipeline.adapters.mlflow_store import MlflowStore
    from rai_pipeline.adapters.warehouse_lock import connect_warehouse

    if start > end:
        raise EvaluateError(MSG_ORDER.format(start=start, end=end))
    if not reason.strip():
        raise EvaluateError(MSG_NO_REASON)
    config_path = config_path or monitoring_config_of(home, model)
    config = load_monitoring_config(config_path)
    if model != config.model_name:
        raise EvaluateError(
            MSG_OTHER_MODEL.format(config=config_path, other=config.model_name, model=model)
        )
    if not home.warehouse.is_file():
        raise EvaluateError(MSG_NO_WAREHOUSE.format(warehouse=home.warehouse))
    opened = (opened_at or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
    key = {"model_name": model}
    with contextlib.closing(connect_warehouse(home.warehouse, read_only=True)) as conn:
        drift = _window(results.read_rows(conn, "drift_metrics", key=key), start, end)
        alerts = _window(results.read_rows(conn, "alert_history", key=key), start, end)
        # the alerts' windows may start before the incident's: their requests are behind them
        first = (
            min([start, *pd.to_datetime(alerts["window_start"]).dt.date]) if len(alerts) else start
        )
        logged = _requests(conn, model, first, end)
    days = pd.to_datetime(logged["day"]).dt.date
    requests = logged[(days >= start) & (days <= end)]
    if requests.empty:
        raise EvaluateError(
            MSG_NO_LOGS.format(
                folder=home.monitoring_landing(model), model=model, start=start, end=end
            )
        )
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    versions = _versions(requests, home, store, model)
    behind, masked = mask_columns(
        requests_behind(alerts, logged), [*config.restricted, *(restricted or [])]
    )
    ident = incident_id(model, start.isoformat(), end.isoformat(), reason)
    bundle_dir = home.incident_bundle(model, ident)
    monitor = f"rai monitor --config {shlex.quote(str(config_path))} --from {start} --to {end}"
    reopen = (
        f"rai incident open --config {shlex.quote(str(config_path))} --model "
        f"{shlex.quote(model)} --from {start} --to {end} --reason {shlex.quote(reason)}"
    )
    bundle = IncidentBundle(
        incident={
            "incident_id": ident,
            "model_name": model,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "reason": reason,
            "opened_at": opened,
            "versions_live": list(versions["model_version"]),
        },
        versions=versions,
        drift=drift,
        alerts=alerts,
        alert_requests=behind,
        masked=masked,
        timeline=_events(config, alerts, versions, start, end, opened),
        reproduce=[
            ("Recompute the window's drift rows and alerts (replaces those days' rows)", monitor),
            ("Open the bundle again from them (the same incident id)", reopen),
            ("Check this bundle against its manifest and its anchor", f"rai verify {bundle_dir}"),
            *[
                (f"Check version {v}'s evaluation pack", f"rai verify {p}")
                for v, p in zip(versions["model_version"], versions["pack"], strict=True)
                if p
            ],
        ],
        extra_tables={},
    )
    newest = ModelVersionRef(model, str(versions["model_version"].iloc[-1]))
    tag = INCIDENT_TAG_PREFIX + ident
    lineage = {
        "kind": "incident",
        "incident_id": ident,
        "model_name": model,
        "model_version": newest.version,
        "model_uri": newest.uri,
        "anchor_tag": tag,
        "rai_home": str(home.root),
        "mlflow_tracking_uri": public_uri(store.tracking_uri),
    }
    inputs = [
        {
            "kind": "monitoring_config",
            "name": config_path.name,
            "path": str(config_path.resolve()),
            "sha256": file_sha256(config_path),
        }
    ]
    staging = home.staging / f"incident-{ident}-{uuid.uuid4().hex[:8]}"
    try:
        digest = write_manifest(
            staging, write_incident_bundle(staging, bundle, lineage=lineage, inputs=inputs)
        )
        publish_registered(staging, bundle_dir, registry=store, ref=newest, tags={tag: digest})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    echo(f"      incident {ident}: {len(alerts)} alert(s), {len(behind)} request(s) behind them")
    return IncidentOutcome(
        ident, bundle_dir, digest, len(alerts), len(behind), list(versions["model_version"])
    )
