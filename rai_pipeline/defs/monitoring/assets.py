"""Monitoring assets, one partition per production day.

(landed logs) -> (dbt) reference edges and counts, daily bucket counts -> drift_metrics ->
monitor_alerts, with the check ``monitors_pass``. A backfill runs its whole range of days in
one run. The decorated functions only wire resources to ``computation.py``.
"""

import datetime as dt

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from rai_pipeline.defs.lineage import asset_code_version, frame_digest
from rai_pipeline.defs.monitoring import computation
from rai_pipeline.defs.monitoring.dbt import monitoring_daily_models, monitoring_reference_models
from rai_pipeline.defs.partitions import monitoring_days
from rai_pipeline.defs.resources import WAREHOUSE_POOL, MonitoringConfigResource, WarehouseResource

GROUP = "monitoring"
DAILY_COUNTS_KEY = get_asset_key_for_model([monitoring_daily_models], "monitoring_bucket_counts")
REFERENCE_COUNTS_KEY = get_asset_key_for_model(
    [monitoring_reference_models], "monitoring_reference_counts"
)
CODE_VERSION = asset_code_version(__name__, computation.__name__, "rai_pipeline.core.monitoring")
LANDING_CODE_VERSION = asset_code_version("rai_pipeline.core.landing.logs")

# The landed logs (rai_pipeline.core.landing.logs), written outside Dagster.
monitoring_landing_specs = [
    dg.AssetSpec(
        key=["monitoring_landing", name],
        description=description,
        group_name="monitoring_landing",
        kinds={"parquet"},
        code_version=LANDING_CODE_VERSION,
        metadata={"location": f"$RAI_HOME/landing/monitoring/<model>/{name}/day=*/"},
    )
    for name, description in (
        ("requests", "Inference requests, one file per day served."),
        ("labels", "Outcome labels, one file per day they arrived."),
    )
]


def _range(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()


# what every daily monitoring asset declares: a backfill runs its whole range in one run
DAILY: dict = {
    "partitions_def": monitoring_days,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": WAREHOUSE_POOL,
    "group_name": GROUP,
    "kinds": {"duckdb"},
    "code_version": CODE_VERSION,
}


@dg.asset(
    **DAILY,
    deps=[DAILY_COUNTS_KEY, REFERENCE_COUNTS_KEY],
    description="Drift per day, feature and sensitive group over each monitor's window.",
)
def drift_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    monitoring_config: MonitoringConfigResource,
) -> dg.MaterializeResult:
    start, end = _range(context)
    with warehouse.connect() as conn:
        drift = computation.compute_drift(conn, monitoring_config.load(), start, end)
    return dg.MaterializeResult(
        metadata={"days": f"{start} .. {end}", "dagster/row_count": len(drift)},
        data_version=dg.DataVersion(frame_digest(drift)),
    )


@dg.asset(
    **DAILY,
    deps=[drift_metrics],
    description="The alerts the monitors raise, with owner and disposition (alert history).",
)
def monitor_alerts(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    monitoring_config: MonitoringConfigResource,
) -> dg.MaterializeResult:
    start, end = _range(context)
    with warehouse.connect() as conn:
        alerts = computation.compute_alerts(conn, monitoring_config.load(), start, end)
    shown = alerts[["day", "monitor", "feature", "dimension", "group", "value", "severity"]]
    return dg.MaterializeResult(
        metadata={
            "days": f"{start} .. {end}",
            "alerts": len(alerts),
            "dagster/row_count": len(alerts),
            "first_alerts": dg.MetadataValue.md(
                shown.head(20).to_markdown(index=False) if len(shown) else "none"
            ),
        },
        data_version=dg.DataVersion(frame_digest(alerts)),
    )


@dg.asset_check(
    asset=monitor_alerts,
    name="monitors_pass",
    description="Does no monitor fire on these days? ERROR-severity alerts fail it as ERROR.",
    blocking=True,
    partitions_def=monitoring_days,
)
def monitors_pass(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    monitoring_config: MonitoringConfigResource,
) -> dg.AssetCheckResult:
    config = monitoring_config.load()
    keys = context.partition_keys
    with warehouse.connect() as conn:
        alerts = conn.execute(
            f"select * from rai.{computation.ALERTS_TABLE} where model_name = ? "
            f"and day in ({', '.join('?' for _ in keys)})",
            [config.model_name, *keys],
        ).df()
    errors = alerts[alerts["severity"] == "ERROR"]
    return dg.AssetCheckResult(
        passed=alerts.empty,
        severity=dg.AssetCheckSeverity.ERROR if len(errors) else dg.AssetCheckSeverity.WARN,
        metadata={"alerts": len(alerts), "error_alerts": len(errors)},
        description=(
            "no monitor fired"
            if alerts.empty
            else f"{len(alerts)} alert(s) ({len(errors)} ERROR) on "
            f"{', '.join(sorted(map(str, set(alerts['feature']))))}"
        ),
    )


monitoring_assets = [drift_metrics, monitor_alerts]
