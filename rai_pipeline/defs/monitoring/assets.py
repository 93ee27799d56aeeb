"""Monitoring assets, one partition per production day.

(landed logs) -> (dbt) reference edges and counts, daily bucket counts -> drift_metrics ->
monitor_alerts -> monitoring_evidence, with one check per monitor on the evidence
(``checks.py``): the alerts are published as evidence whether or not they fire, and an
ERROR-severity monitor that fires blocks what is downstream of the evidence. A backfill runs
its whole range of days in one run. The decorated functions only wire resources to
``computation.py`` and ``publication.py``.
"""

import datetime as dt

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from rai_pipeline.core.evidence.monitoring_page import PAGE
from rai_pipeline.defs.lineage import asset_code_version, frame_digest
from rai_pipeline.defs.monitoring import computation, performance, publication
from rai_pipeline.defs.monitoring.dbt import monitoring_daily_models, monitoring_reference_models
from rai_pipeline.defs.partitions import monitoring_days
from rai_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    EvaluationConfigResource,
    MlflowResource,
    MonitoringConfigResource,
    RaiHomeResource,
    WarehouseResource,
)

GROUP = "monitoring"
DAILY_COUNTS_KEY = get_asset_key_for_model([monitoring_daily_models], "monitoring_bucket_counts")
REFERENCE_COUNTS_KEY = get_asset_key_for_model(
    [monitoring_reference_models], "monitoring_reference_counts"
)
CODE_VERSION = asset_code_version(
    __name__,
    computation.__name__,
    performance.__name__,
    publication.__name__,
    "rai_pipeline.core.monitoring",
    "rai_pipeline.core.evidence.monitoring_pack",
)
REQUESTS_KEY, LABELLED_KEY, REFERENCE_ROWS_KEY = (
    get_asset_key_for_model([monitoring_reference_models], name)
    for name in ("monitoring_requests", "monitoring_labelled_requests", "monitoring_reference_rows")
)
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


@dg.asset(
    **DAILY,
    deps=[REQUESTS_KEY, LABELLED_KEY, REFERENCE_ROWS_KEY],
    description="Performance per day and group: estimated from calibrated scores before the "
    "labels arrive, realized (slice and fairness metrics, by the evaluation's engine) after.",
)
def monitoring_performance(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    monitoring_config: MonitoringConfigResource,
    evaluation_config: EvaluationConfigResource,
) -> dg.MaterializeResult:
    start, end = _range(context)
    config, evaluation = monitoring_config.load(), evaluation_config.load()
    with warehouse.connect() as conn:
        estimates = performance.compute_estimates(conn, config, evaluation, start, end)
        realized, fairness = performance.compute_realized(conn, config, evaluation, start, end)
    days = sorted(set(realized["day"])) if len(realized) else []
    return dg.MaterializeResult(
        metadata={
            "days": f"{start} .. {end}",
            "estimate_rows": len(estimates),
            "realized_days": ", ".join(days) or "none (no label yet)",
            "dagster/row_count": len(estimates) + len(realized) + len(fairness),
        },
        data_version=dg.DataVersion(frame_digest(pd.concat([estimates, realized, fairness]))),
    )


@dg.asset(
    **DAILY,
    deps=[monitor_alerts, monitoring_performance, REQUESTS_KEY],
    description="The model's monitoring evidence pack: every monitored day's drift and alerts, "
    "alert quality and detection lead time (evidence/<model>/monitoring/).",
)
def monitoring_evidence(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    monitoring_config: MonitoringConfigResource,
    mlflow: MlflowResource,
    rai_home: RaiHomeResource,
) -> dg.MaterializeResult:
    config = monitoring_config.load()
    with warehouse.connect() as conn:
        pack, digest, evidence = publication.publish_monitoring(
            conn,
            config,
            config_path=monitoring_config.path_or_error(),
            home=rai_home.get(),
            store=mlflow.store(),
            dagster_run_id=context.run.run_id,
        )
    quality = evidence.quality
    return dg.MaterializeResult(
        metadata={
            "pack": dg.MetadataValue.path(str(pack)),
            "monitoring_page": dg.MetadataValue.path(str(pack / PAGE)),
            "evidence_digest": digest,
            "monitored_days": len(evidence.days),
            "alerts": quality["alerts"],
            "disposed": quality["disposed"],
            "actionable_share": quality["actionable_share"]
            if quality["actionable_share"] is not None
            else "not measured",
        },
        data_version=dg.DataVersion(digest),
    )


monitoring_assets = [drift_metrics, monitor_alerts, monitoring_performance, monitoring_evidence]
