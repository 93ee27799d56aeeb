"""The Dagster code location: assembles the domain modules, nothing else."""

import dagster as dg

from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
from rai_pipeline.settings import configure_environment

configure_environment()
ensure_dbt_manifest()

from dagster_dbt import DbtCliResource  # noqa: E402

from rai_pipeline.defs.dbt import assets as dbt_assets  # noqa: E402
from rai_pipeline.defs.dbt.project import dbt_project  # noqa: E402
from rai_pipeline.defs.evaluation import assets, checks, jobs, sensors  # noqa: E402
from rai_pipeline.defs.resources import (  # noqa: E402
    EvaluationConfigResource,
    MlflowResource,
    RaiHomeResource,
    WarehouseResource,
)
from rai_pipeline.defs.sources import landing_sources  # noqa: E402

defs = dg.Definitions(
    assets=[
        *landing_sources,
        dbt_assets.warehouse_models,
        dbt_assets.evaluation_frame_models,
        *assets.evaluation_assets,
    ],
    asset_checks=checks.frame_checks,
    jobs=[jobs.evaluate_model_version],
    sensors=[sensors.registered_model_versions],
    resources={
        "dbt": DbtCliResource(project_dir=dbt_project),
        "warehouse": WarehouseResource(),
        "mlflow": MlflowResource(),
        "evaluation_config": EvaluationConfigResource(),
        "rai_home": RaiHomeResource(),
    },
)
