"""dbt models as Dagster assets; dbt tests become asset checks.

Two selections of one project: the shared warehouse models (staging and intermediate over the
landed extracts) run unpartitioned, and record each whole build so that later runs can skip
them while they are current (:mod:`~rai_pipeline.defs.dbt.freshness`); the models tagged
``per_model_version`` (predictions staging and the evaluation frame) run once per
model-version partition, with the partition passed to dbt as ``--vars``. Both get the
evaluation config's threshold and sensitive attributes as ``--vars`` too
(:func:`~rai_pipeline.core.schemas.attributes.dbt_vars`): the dbt project itself names no
column of any data set.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from rai_pipeline.core.governance.registry import parse_partition_key
from rai_pipeline.core.schemas.attributes import dbt_vars
from rai_pipeline.defs.dbt.freshness import forget_build, inputs_digest, record_build
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.defs.partitions import model_versions
from rai_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    EvaluationConfigResource,
    RaiHomeResource,
    WarehouseResource,
)

PER_VERSION_TAG = "tag:per_model_version"
# the LLM safety models are built by the LLM safety domain (defs/llm_safety/dbt.py), the
# monitoring models by the monitoring domain
LLM_SAFETY_TAG = "tag:llm_safety"
MONITORING_TAG = "tag:monitoring"


def invocation_target(context: dg.AssetExecutionContext, rai_home: RaiHomeResource) -> Path:
    """Each dbt invocation's target folder (compiled SQL, run results) lives under RAI_HOME,
    named by step and run, so the project tree stays clean and runs never share one."""
    step = context.op_execution_context.op.name
    return rai_home.get().root / "dbt" / f"{step}-{context.run.run_id[:8]}"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=f"{PER_VERSION_TAG} {LLM_SAFETY_TAG} {MONITORING_TAG}",
    name="warehouse_models",
    pool=WAREHOUSE_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    evaluation_config: EvaluationConfigResource,
    rai_home: RaiHomeResource,
    warehouse: WarehouseResource,
) -> Iterator[Any]:
    config, home = evaluation_config.load(), rai_home.get()
    digest = inputs_digest(home, config)  # what this build reads, taken before it runs
    with warehouse.connect() as conn:
        forget_build(conn)
    args = ["build", "--vars", json.dumps(dbt_vars(config))]
    target = invocation_target(context, rai_home)
    yield from dbt.cli(args, context=context, target_path=target).stream()
    if digest is not None and context.selected_asset_keys == context.assets_def.keys:
        # only a whole build makes the shared models current (freshness.py)
        with warehouse.connect() as conn:
            record_build(conn, digest=digest, target=target, run_id=context.run.run_id)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=PER_VERSION_TAG,
    name="evaluation_frame_models",
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
)
def evaluation_frame_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    evaluation_config: EvaluationConfigResource,
    rai_home: RaiHomeResource,
) -> Iterator[Any]:
    ref = parse_partition_key(context.partition_key)
    run_vars = {
        "model_name": ref.name,
        "model_version": ref.version,
        **dbt_vars(evaluation_config.load()),
    }
    args = ["build", "--vars", json.dumps(run_vars)]
    target = invocation_target(context, rai_home)
    yield from dbt.cli(args, context=context, target_path=target).stream()
