"""The evaluation job: the whole asset graph for one model-version partition."""

import dagster as dg

EVALUATE_JOB = "evaluate_model_version"
# the LLM safety and monitoring domains' groups have their own jobs (defs/<domain>/jobs.py)
LLM_GROUPS = ("llm_landing", "llm_safety")
OTHER_DOMAINS = (*LLM_GROUPS, "monitoring_landing", "monitoring")
# Runs that write the DuckDB warehouse queue behind each other (see dagster.yaml).
WAREHOUSE_RUN_TAGS = {"rai/warehouse": "duckdb"}

evaluate_model_version = dg.define_asset_job(
    EVALUATE_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(*OTHER_DOMAINS),
    tags=WAREHOUSE_RUN_TAGS,
    description="Score, build the evaluation frame, check it, compute metrics, publish evidence.",
)
