"""dbt models as Dagster assets; dbt tests become asset checks.

Two selections of one project: the shared warehouse models (staging and intermediate over the
landed extracts) run unpartitioned, and record each whole build so that later runs can skip
them while they are current (:mod:`~rai_pipeline.defs.dbt.freshness`); the models tagged
``per_model_version`` (predictions staging and the evaluation frame) run once per
model-version partition, with the partition's model name and version passed in the
environment (:mod:`~rai_pipeline.defs.dbt.invocation` says why). Both get the evaluation
config's threshold and sensitive attributes as ``--vars``
(:func:`~rai_pipeline.core.schemas.attributes.dbt_vars`): the dbt project itself names no
column of any data set.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from rai_pipeline.core.governance.registry import parse_partition_key
from rai_pipeline.core.landing.extracts import load_current_into
from rai_pipeline.core.schemas.attributes import dbt_vars
from rai_pipeline.defs.dbt.freshness import forget_build, inputs_digest, record_build
from rai_pipeline.defs.dbt.invocation import MODEL_NAME_ENV, MODEL_VERSION_ENV, dbt_build
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
    with warehouse.build_turn():
        with warehouse.connect() as conn:
            if warehouse.engine != "duckdb":  # dbt-duckdb reads the landed files in place
                load_current_into(conn, home.landing)
            forget_build(conn)
        target = yield from dbt_build(
            context, dbt, home, dbt_vars(config), profile_target=warehouse.dbt_target
        )
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
    warehouse: WarehouseResource,
) -> Iterator[Any]:
    ref = parse_partition_key(context.partition_key)
    with warehouse.build_turn():
        yield from dbt_build(
            context,
            dbt,
            rai_home.get(),
            dbt_vars(evaluation_config.load()),
            run_values={MODEL_NAME_ENV: ref.name, MODEL_VERSION_ENV: ref.version},
            profile_target=warehouse.dbt_target,
        )
