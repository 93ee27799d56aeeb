"""Publishing a model's monitoring evidence (:mod:`rai_pipeline.core.evidence.monitoring_pack`):
every monitored day's drift rows and alerts in the warehouse, alert quality, detection lead
time on the config's known changes; assembled in staging, published atomically to
``evidence/<model>/monitoring/`` (the previous pack kept in history) with its digest written
to the deployed version's ``rai.monitoring_digest`` tag, the pack's anchor."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.core.engine import results
from rai_pipeline.core.evidence.manifest import public_uri, write_manifest
from rai_pipeline.core.evidence.monitoring_pack import MonitoringEvidence, write_monitoring_pack
from rai_pipeline.core.evidence.publish import publish_registered
from rai_pipeline.core.governance.registry import (
    EVIDENCE_DIGEST_TAG,
    MONITORING_DIGEST_TAG,
    EvaluationStore,
    ModelVersionRef,
)
from rai_pipeline.core.monitoring.alerts import alert_quality
from rai_pipeline.core.monitoring.monitors import MonitoringConfig, lead_times
from rai_pipeline.core.monitoring.performance import compare_with_realized, estimate_coverage
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.defs.dbt.project import dbt_relation
from rai_pipeline.defs.lineage import code_lineage
from rai_pipeline.defs.monitoring.computation import ALERTS_TABLE, DRIFT_TABLE
from rai_pipeline.defs.monitoring.performance import ESTIMATES, FAIRNESS, REALIZED
from rai_pipeline.settings import RaiHome

LOG_TABLES = ("requests", "labels")
MSG_NOT_REGISTERED = (
    "{uri} is not registered in {store}: the monitoring config's deployed_version must be a "
    "registered version (its monitoring evidence is anchored on it)"
)


def requests_per_day(conn: Any) -> pd.DataFrame:
    """Requests served per day and how many of them have an outcome label so far."""
    return conn.execute(
        "select cast(day as varchar) as day, count(*) as requests, count(label) as labelled "
        f"from {dbt_relation('monitoring_requests')} group by day order by day"
    ).df()


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    present = [k for k in keys if k in frame.columns]
    return frame.sort_values(present).reset_index(drop=True) if present else frame


def gather_evidence(conn: Any, config: MonitoringConfig) -> MonitoringEvidence:
    key = {"model_name": config.model_name}
    drift = _sorted(
        results.read_rows(conn, DRIFT_TABLE, key=key),
        ["day", "window_days", "feature", "dimension", "group"],
    )
    alerts = _sorted(
        results.read_rows(conn, ALERTS_TABLE, key=key),
        ["day", "monitor", "feature", "dimension", "group"],
    )
    served = requests_per_day(conn)
    until = dt.date.fromisoformat(served["day"].max()) if len(served) else None
    keys = ["day", "dimension", "group", "metric"]
    estimates = _sorted(results.read_rows(conn, ESTIMATES, key=key), keys)
    realized = _sorted(results.read_rows(conn, REALIZED, key=key), keys)
    fairness = _sorted(results.read_rows(conn, FAIRNESS, key=key), ["day", "dimension", "metric"])
    compared = (
        compare_with_realized(estimates, realized)
        if len(estimates) and len(realized)
        else pd.DataFrame()
    )
    performance = {
        "performance_estimates": estimates,
        "performance_realized": realized,
        "fairness_realized": fairness,
        "estimate_vs_realized": compared,
        "estimate_coverage": estimate_coverage(compared) if len(compared) else pd.DataFrame(),
    }
    return MonitoringEvidence(
        model_name=config.model_name,
        deployed_version=config.deployed_version,
        drift=drift,
        alerts=alerts,
        quality=alert_quality(alerts),
        lead_times=lead_times(alerts, config.known_changes, monitored_until=until),
        requests_per_day=served,
        monitors=[m.model_dump() for m in config.monitors],
        features=[*config.features, "score"],
        extra_tables={name: frame for name, frame in performance.items() if len(frame.columns)},
    )


def landed_inputs(home: RaiHome, model_name: str) -> list[dict[str, Any]]:
    """Every landed log file of the model, with its sha256."""
    folder = home.monitoring_landing(model_name)
    return [
        {
            "kind": "production_log",
            "name": path.relative_to(folder).as_posix(),
            "path": str(path),
            "sha256": file_sha256(path),
        }
        for table in LOG_TABLES
        for path in sorted((folder / table).glob("day=*/*.parquet"))
    ]


def monitoring_lineage(
    config: MonitoringConfig, *, home: RaiHome, store: EvaluationStore, dagster_run_id: str
) -> dict[str, Any]:
    ref = ModelVersionRef(config.model_name, config.deployed_version)
    known = {v.ref.version for v in store.list_versions(ref.name)}
    if ref.version not in known:
        raise ValueError(
            MSG_NOT_REGISTERED.format(uri=ref.uri, store=public_uri(store.tracking_uri))
        )
    return {
        "kind": "monitoring",
        "model_name": ref.name,
        "model_version": ref.version,
        "model_uri": ref.uri,
        "anchor_tag": MONITORING_DIGEST_TAG,
        "deployed_evidence_digest": store.version_tags(ref).get(EVIDENCE_DIGEST_TAG, ""),
        "dagster_run_id": dagster_run_id,
        "rai_home": str(home.root),
        "mlflow_tracking_uri": public_uri(store.tracking_uri),
        **code_lineage(),
    }


def publish_monitoring(
    conn: Any,
    config: MonitoringConfig,
    *,
    config_path: Path,
    home: RaiHome,
    store: EvaluationStore,
    dagster_run_id: str,
    evidence: MonitoringEvidence | None = None,
) -> tuple[Path, str, MonitoringEvidence]:
    """Assemble and publish the pack; return where it is, its digest and its evidence."""
    evidence = evidence or gather_evidence(conn, config)
    lineage = monitoring_lineage(config, home=home, store=store, dagster_run_id=dagster_run_id)
    lineage["monitored_days"] = f"{evidence.days[0]}..{evidence.days[-1]}" if evidence.days else ""
    inputs = [
        {
            "kind": "monitoring_config",
            "name": config_path.name,
            "path": str(config_path),
            "sha256": file_sha256(config_path),
        },
        *landed_inputs(home, config.model_name),
    ]
    staging = home.staging / f"monitoring-{config.model_name}-{uuid.uuid4().hex[:8]}"
    try:
        digest = write_manifest(
            staging, write_monitoring_pack(staging, evidence, lineage=lineage, inputs=inputs)
        )
        target = publish_registered(
            staging,
            home.monitoring_pack(config.model_name),
            registry=store,
            ref=ModelVersionRef(config.model_name, config.deployed_version),
            tags={MONITORING_DIGEST_TAG: digest},
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, digest, evidence
