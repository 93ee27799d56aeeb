"""``rai monitor``: run the monitoring job over a range of production days, in-process, as one
run (the backfill the UI launches runs the same job over its range), recorded in the Dagster
instance under RAI_HOME. Re-running a day replaces its rows."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rai_pipeline.app.evaluate import Echo, EvaluateError
from rai_pipeline.settings import RaiHome

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
CHECK_FAILED = "DagsterAssetCheckFailedError"  # a blocking monitor fired: the alerts say which
MSG_ORDER = "--from {start} is after --to {end}"
MSG_NO_LOGS = (
    "{folder}: no landed requests for {model!r}; land production logs first "
    "(rai_pipeline.core.landing.logs.land_days)"
)


@dataclass(frozen=True)
class MonitorOutcome:
    success: bool
    run_id: str
    alerts: pd.DataFrame
    drift_rows: int
    error: str = ""


def run_monitor(
    config_path: Path,
    *,
    start: dt.date,
    end: dt.date,
    home: RaiHome,
    evaluation_config: Path,
    echo: Echo,
) -> MonitorOutcome:
    from rai_pipeline.app.locks import open_instance, warehouse_runs_lock
    from rai_pipeline.core.monitoring.monitors import load_monitoring_config
    from rai_pipeline.core.storage import exclusive_lock
    from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
    from rai_pipeline.settings import configure_environment

    if start > end:
        raise EvaluateError(MSG_ORDER.format(start=start, end=end))
    config = load_monitoring_config(config_path)
    folder = home.monitoring_landing(config.model_name)
    if not any((folder / "requests").glob("day=*/requests.parquet")):
        raise EvaluateError(MSG_NO_LOGS.format(folder=folder, model=config.model_name))
    configure_environment(home)
    ensure_dbt_manifest()
    from rai_pipeline.definitions import build_definitions
    from rai_pipeline.defs.monitoring.jobs import MONITOR_JOB

    job = build_definitions(config.monitors).resolve_job_def(MONITOR_JOB)
    instance = open_instance(home)
    run_id = str(uuid.uuid4())
    log_path = home.root / "logs" / f"monitor-{config.model_name}-{start}-{end}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    echo(f"      {config.model_name}: days {start} .. {end} (log: {log_path})")
    with (
        exclusive_lock(
            warehouse_runs_lock(home),
            what="its run has the warehouse",
            say=lambda line: echo(f"      {line}"),
        ),
        log_path.open("w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={RANGE_START: start.isoformat(), RANGE_END: end.isoformat()},
            run_config={
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                "resources": {
                    "monitoring_config": {"config": {"path": str(config_path.resolve())}},
                    "evaluation_config": {"config": {"path": str(evaluation_config.resolve())}},
                },
            },
        )
    import duckdb

    from rai_pipeline.core.engine import results

    with contextlib.closing(duckdb.connect(str(home.warehouse), read_only=True)) as conn:
        alerts = results.read_rows(conn, "alert_history", key={"model_name": config.model_name})
        drift = results.read_rows(conn, "drift_metrics", key={"model_name": config.model_name})
    # a blocking check failing is a monitor firing (the alerts say which), not a failed run
    failures = [
        f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
        for event in result.all_events
        if event.is_step_failure
        and event.event_specific_data.error
        and event.event_specific_data.error.cls_name != CHECK_FAILED
    ]
    return MonitorOutcome(not failures, run_id, alerts, len(drift), "\n".join(failures))
