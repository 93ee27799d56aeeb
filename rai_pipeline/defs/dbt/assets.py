"""dbt models as Dagster assets; dbt tests become asset checks.

Two selections of one project: the shared warehouse models (staging and intermediate over the
landed extracts) run unpartitioned; the models tagged ``per_model_version`` (predictions
staging and the evaluation frame) run once per model-version partition, with the partition
passed to dbt as ``--vars``.
"""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from rai_pipeline.core.registry import parse_partition_key
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.defs.partitions import model_versions
from rai_pipeline.defs.resources import WAREHOUSE_POOL, EvaluationConfigResource

PER_VERSION_TAG = "tag:per_model_version"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=PER_VERSION_TAG,
    name="warehouse_models",
    pool=WAREHOUSE_POOL,
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    yield from dbt.cli(["build"], context=context).stream()


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
) -> Iterator[Any]:
    ref = parse_partition_key(context.partition_key)
    dbt_vars = {
        "model_name": ref.name,
        "model_version": ref.version,
        "threshold": evaluation_config.load().threshold,
    }
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()
