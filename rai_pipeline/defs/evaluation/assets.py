"""Evaluation assets, one partition per registered model version.

predictions -> (dbt) eval_frame -> slice_metrics -> fairness_metrics -> evidence_pack.
The decorated functions only wire resources to the services in ``service.py``.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from rai_pipeline.core.registry import parse_partition_key
from rai_pipeline.defs.dbt.assets import evaluation_frame_models, warehouse_models
from rai_pipeline.defs.evaluation import service
from rai_pipeline.defs.partitions import model_versions
from rai_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    EvaluationConfigResource,
    MlflowResource,
    RaiHomeResource,
    WarehouseResource,
)

GROUP = "evaluation"
EVAL_FRAME_KEY = get_asset_key_for_model([evaluation_frame_models], "eval_frame")
STG_EXAMPLES_KEY = get_asset_key_for_model([warehouse_models], "stg_examples")
INT_EXAMPLES_KEY = get_asset_key_for_model([warehouse_models], "int_examples_labeled")


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[STG_EXAMPLES_KEY, INT_EXAMPLES_KEY],
    kinds={"mlflow", "duckdb"},
    description="Scores of the registered model version on the frozen evaluation examples.",
)
def predictions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    record = service.score_model_version(
        ref, warehouse=warehouse, store=mlflow.store(), run_id=context.run.run_id, log=context.log
    )
    return dg.MaterializeResult(metadata=service.scoring_metadata(record))


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[EVAL_FRAME_KEY],
    kinds={"duckdb"},
    description="Metrics per slice (sensitive attribute or intersection, group) with intervals.",
)
def slice_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    evaluation_config: EvaluationConfigResource,
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    result = service.compute_slice_metrics(
        ref, warehouse=warehouse, config=evaluation_config.load()
    )
    return dg.MaterializeResult(metadata=service.slice_metadata(result))


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[slice_metrics],
    kinds={"duckdb"},
    description="Disparities between groups with bootstrap intervals, policy band and verdict.",
)
def fairness_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    evaluation_config: EvaluationConfigResource,
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    frame = service.compute_fairness_metrics(
        ref, warehouse=warehouse, config=evaluation_config.load()
    )
    return dg.MaterializeResult(metadata=service.fairness_metadata(frame))


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[fairness_metrics],
    kinds={"mlflow"},
    description=(
        "The published evidence pack: tables, fairness report, model card and manifest.json, "
        "logged to the evaluation's MLflow run."
    ),
)
def evidence_pack(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    evaluation_config: EvaluationConfigResource,
    rai_home: RaiHomeResource,
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    published = service.publish_evidence(
        ref,
        warehouse=warehouse,
        store=mlflow.store(),
        config=evaluation_config.load(),
        config_path=evaluation_config.resolved_path(),
        dispositions_path=evaluation_config.resolved_dispositions_path(),
        home=rai_home.get(),
        dagster_run_id=context.run.run_id,
        quality_checks=service.check_outcomes_of_run(context.instance, context.run.run_id),
    )
    return dg.MaterializeResult(metadata=service.evidence_metadata(published))


evaluation_assets = [predictions, slice_metrics, fairness_metrics, evidence_pack]
