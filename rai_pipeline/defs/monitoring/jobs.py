"""The monitoring job and its daily schedule."""

import dagster as dg

from rai_pipeline.defs.evaluation.jobs import WAREHOUSE_RUN_TAGS

MONITOR_JOB = "monitor_model"
MONITORING_GROUPS = ("monitoring",)

monitor_model = dg.define_asset_job(
    MONITOR_JOB,
    selection=dg.AssetSelection.groups(*MONITORING_GROUPS),
    tags=WAREHOUSE_RUN_TAGS,
    description="Count the day's logged requests, measure drift, raise the monitors' alerts.",
)

daily_monitoring = dg.build_schedule_from_partitioned_job(
    monitor_model, name="daily_monitoring", default_status=dg.DefaultScheduleStatus.STOPPED
)
