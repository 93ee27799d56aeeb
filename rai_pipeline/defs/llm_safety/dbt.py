"""The LLM safety dbt models (tag ``llm_safety``) as Dagster assets; their tests become asset
checks. The landed set's folder and the configured outcome labels are passed as ``--vars``."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from rai_pipeline.core.llm_safety.config import LlmSafetyConfig
from rai_pipeline.defs.dbt.assets import LLM_SAFETY_TAG
from rai_pipeline.defs.dbt.invocation import dbt_build
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.defs.resources import WAREHOUSE_POOL, LlmConfigResource, RaiHomeResource
from rai_pipeline.settings import RaiHome


def llm_dbt_vars(config: LlmSafetyConfig, home: RaiHome) -> dict[str, Any]:
    outcomes = config.outcomes
    return {
        "llm_landing_dir": str(home.llm_landing(config.model_name)),
        "llm_outcome_labels": [*outcomes.compliance, *outcomes.refusal, *outcomes.partial],
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=LLM_SAFETY_TAG,
    name="llm_warehouse_models",
    pool=WAREHOUSE_POOL,
)
def llm_warehouse_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    llm_config: LlmConfigResource,
    rai_home: RaiHomeResource,
) -> Iterator[Any]:
    home = rai_home.get()
    yield from dbt_build(context, dbt, home, llm_dbt_vars(llm_config.load(), home))
