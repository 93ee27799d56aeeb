"""The Dagster definitions: assembles the domain modules, nothing else.

Importing it has no side effects, but needs the dbt manifest: the entry points prepare it
first (:mod:`rai_pipeline.code_location` for ``dagster dev``, the app services, the tests).
The monitors' checks come from the monitoring config the definitions load with
(:func:`rai_pipeline.defs.monitoring.checks.loaded_monitors`); :func:`build_definitions`
builds them for another config's monitors.
"""

from collections.abc import Sequence

import dagster as dg

from rai_pipeline.core.monitoring.monitors import Monitor
from rai_pipeline.defs.dbt import assets as dbt_assets
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.defs.dbt.resource import RaiDbtCliResource
from rai_pipeline.defs.evaluation import assets, checks, jobs, sensors
from rai_pipeline.defs.llm_safety import assets as llm_assets
from rai_pipeline.defs.llm_safety import checks as llm_checks
from rai_pipeline.defs.llm_safety import jobs as llm_jobs
from rai_pipeline.defs.llm_safety import sensors as llm_sensors
from rai_pipeline.defs.llm_safety.dbt import llm_warehouse_models
from rai_pipeline.defs.llm_safety.sources import llm_landing
from rai_pipeline.defs.monitoring import assets as monitoring_assets
from rai_pipeline.defs.monitoring import checks as monitoring_checks
from rai_pipeline.defs.monitoring import jobs as monitoring_jobs
from rai_pipeline.defs.monitoring.dbt import monitoring_daily_models, monitoring_reference_models
from rai_pipeline.defs.resources import (
    EvaluationConfigResource,
    LlmConfigResource,
    MlflowResource,
    MonitoringConfigResource,
    RaiHomeResource,
    WarehouseResource,
)
from rai_pipeline.defs.sources import landing_sources
from rai_pipeline.settings import DBT_EXECUTABLE


def build_definitions(monitors: Sequence[Monitor]) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            *landing_sources,
            dbt_assets.warehouse_models,
            dbt_assets.evaluation_frame_models,
            *assets.evaluation_assets,
            llm_landing,
            llm_warehouse_models,
            *llm_assets.llm_safety_assets,
            *monitoring_assets.monitoring_landing_specs,
            monitoring_reference_models,
            monitoring_daily_models,
            *monitoring_assets.monitoring_assets,
        ],
        asset_checks=[
            *checks.frame_checks,
            *llm_checks.llm_checks,
            *monitoring_checks.monitor_checks(monitors),
        ],
        jobs=[
            jobs.evaluate_model_version,
            llm_jobs.evaluate_llm_feature_version,
            monitoring_jobs.monitor_model,
        ],
        schedules=[monitoring_jobs.daily_monitoring],
        sensors=[sensors.registered_model_versions, llm_sensors.registered_llm_feature_versions],
        resources={
            "dbt": RaiDbtCliResource(project_dir=dbt_project, dbt_executable=str(DBT_EXECUTABLE)),
            "warehouse": WarehouseResource(),
            "mlflow": MlflowResource(),
            "evaluation_config": EvaluationConfigResource(),
            "llm_config": LlmConfigResource(),
            "monitoring_config": MonitoringConfigResource(),
            "rai_home": RaiHomeResource(),
        },
    )


defs = build_definitions(monitoring_checks.loaded_monitors())
