"""The monitoring dbt models (tag ``monitoring``) as Dagster assets: the reference's edges and
counts once per run (unpartitioned), the requests' bucket counts per production day
(``monitoring_bucket_counts``, tag ``monitoring_daily``; a backfill builds its whole range in
one dbt invocation, its days passed in the environment: :mod:`~rai_pipeline.defs.dbt.invocation`
says why)."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.monitoring.monitors import MonitoringConfig
from rai_pipeline.core.schemas.attributes import dbt_vars
from rai_pipeline.defs.dbt.assets import MONITORING_TAG
from rai_pipeline.defs.dbt.invocation import MONITORING_FROM_ENV, MONITORING_TO_ENV, dbt_build
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.defs.partitions import monitoring_days
from rai_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    EvaluationConfigResource,
    MonitoringConfigResource,
    RaiHomeResource,
)
from rai_pipeline.settings import RaiHome

DAILY_TAG = "tag:monitoring_daily"


def monitoring_dbt_vars(
    config: MonitoringConfig, evaluation: EvaluationConfig, home: RaiHome
) -> dict[str, Any]:
    """The monitoring models' ``--vars``: the landed logs, the deployed version, the features
    and buckets, the sensitive attributes of the evaluation config."""
    return {
        **dbt_vars(evaluation),
        "monitoring_landing_dir": str(home.monitoring_landing(config.model_name)),
        "monitoring_model_name": config.model_name,
        "monitoring_model_version": config.deployed_version,
        "monitoring_features": [{"name": n, "kind": k} for n, k in config.features.items()],
        "monitoring_buckets": config.buckets,
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=MONITORING_TAG,
    exclude=DAILY_TAG,
    name="monitoring_reference_models",
    pool=WAREHOUSE_POOL,
)
def monitoring_reference_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    monitoring_config: MonitoringConfigResource,
    evaluation_config: EvaluationConfigResource,
    rai_home: RaiHomeResource,
) -> Iterator[Any]:
    home = rai_home.get()
    variables = monitoring_dbt_vars(monitoring_config.load(), evaluation_config.load(), home)
    yield from dbt_build(context, dbt, home, variables)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=DAILY_TAG,
    name="monitoring_daily_models",
    partitions_def=monitoring_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def monitoring_daily_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    monitoring_config: MonitoringConfigResource,
    evaluation_config: EvaluationConfigResource,
    rai_home: RaiHomeResource,
) -> Iterator[Any]:
    window = context.partition_time_window
    start, end = window.start.date(), (window.end - dt.timedelta(days=1)).date()
    home = rai_home.get()
    variables = monitoring_dbt_vars(monitoring_config.load(), evaluation_config.load(), home)
    days = {MONITORING_FROM_ENV: start.isoformat(), MONITORING_TO_ENV: end.isoformat()}
    yield from dbt_build(context, dbt, home, variables, run_values=days)
