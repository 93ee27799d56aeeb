"""The Dagster definitions: assembles the domain modules, nothing else.

Importing it has no side effects, but needs the dbt manifest: the entry points prepare it
first (:mod:`rai_pipeline.code_location` for ``dagster dev``, the app services, the tests).
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from rai_pipeline.defs.dbt import assets as dbt_assets
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.defs.evaluation import assets, checks, jobs, sensors
from rai_pipeline.defs.llm_safety import assets as llm_assets
from rai_pipeline.defs.llm_safety import checks as llm_checks
from rai_pipeline.defs.llm_safety import jobs as llm_jobs
from rai_pipeline.defs.llm_safety import sensors as llm_sensors
from rai_pipeline.defs.llm_safety.dbt import llm_warehouse_models
from rai_pipeline.defs.llm_safety.sources import llm_landing
from rai_pipeline.defs.resources import (
    EvaluationConfigResource,
    LlmConfigResource,
    MlflowResource,
    RaiHomeResource,
    WarehouseResource,
)
from rai_pipeline.defs.sources import landing_sources
from rai_pipeline.settings import DBT_EXECUTABLE

defs = dg.Definitions(
    assets=[
        *landing_sources,
        dbt_assets.warehouse_models,
        dbt_assets.evaluation_frame_models,
        *assets.evaluation_assets,
        llm_landing,
        llm_warehouse_models,
        *llm_assets.llm_safety_assets,
    ],
    asset_checks=[*checks.frame_checks, *llm_checks.llm_checks],
    jobs=[jobs.evaluate_model_version, llm_jobs.evaluate_llm_feature_version],
    sensors=[sensors.registered_model_versions, llm_sensors.registered_llm_feature_versions],
    resources={
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(DBT_EXECUTABLE)),
        "warehouse": WarehouseResource(),
        "mlflow": MlflowResource(),
        "evaluation_config": EvaluationConfigResource(),
        "llm_config": LlmConfigResource(),
        "rai_home": RaiHomeResource(),
    },
)
