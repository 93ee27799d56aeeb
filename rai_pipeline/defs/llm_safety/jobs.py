"""The LLM safety job: the LLM landing, dbt models and assets for one feature version."""

import dagster as dg

from rai_pipeline.defs.evaluation.jobs import LLM_GROUPS, WAREHOUSE_RUN_TAGS

EVALUATE_LLM_JOB = "evaluate_llm_feature_version"

evaluate_llm_feature_version = dg.define_asset_job(
    EVALUATE_LLM_JOB,
    selection=dg.AssetSelection.groups(*LLM_GROUPS),
    tags=WAREHOUSE_RUN_TAGS,
    description="Check the landed LLM safety set, build its dbt models, evaluate, publish.",
)
