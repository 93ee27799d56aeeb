"""Evaluation assets, one partition per registered model version.

predictions -> (dbt) eval_frame -> slice_metrics -> fairness_metrics -> evidence_pack, with
feature_importance (the model re-scored with each feature permuted) beside the metrics.
The decorated functions only wire resources to the plain functions in ``scoring.py``,
``metrics.py``, ``publication.py``, ``dbt_lineage.py`` and ``metadata.py``.

Provenance: each asset's code version is a digest of the modules that implement it (listed
below); each materialization's data version is a digest of what it produced: the scored rows,
the metric tables, the evidence pack's manifest.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from rai_pipeline.core.governance.registry import parse_partition_key
from rai_pipeline.defs.dbt.assets import evaluation_frame_models, warehouse_models
from rai_pipeline.defs.evaluation import (
    dbt_lineage,
    explain,
    metadata,
    metrics,
    publication,
    scoring,
)
from rai_pipeline.defs.lineage import asset_code_version, frame_digest
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
# The frame with its sensitive attributes as columns: what the checks and the metrics read.
EVAL_FRAME_WIDE_KEY = get_asset_key_for_model([evaluation_frame_models], "eval_frame_wide")
STG_EXAMPLES_KEY = get_asset_key_for_model([warehouse_models], "stg_examples")
INT_EXAMPLES_KEY = get_asset_key_for_model([warehouse_models], "int_examples_labeled")

# The modules that implement each asset; core and adapter modules bring what they import.
_WIRING = (__name__, metadata.__name__)
_METRICS = (
    metrics.__name__,
    scoring.__name__,  # the result tables' key
    "rai_pipeline.core.evaluation",
    "rai_pipeline.core.engine.results",
)
PREDICTIONS_CODE_VERSION = asset_code_version(
    *_WIRING,
    scoring.__name__,
    "rai_pipeline.adapters.mlflow_store",
    "rai_pipeline.core.landing.extracts",
    "rai_pipeline.core.engine.results",
)
METRICS_CODE_VERSION = asset_code_version(*_WIRING, *_METRICS)
EXPLAIN_CODE_VERSION = asset_code_version(
    *_WIRING,
    explain.__name__,
    scoring.__name__,
    "rai_pipeline.core.explain",
    "rai_pipeline.adapters.mlflow_store",
    "rai_pipeline.core.engine.results",
)
EVIDENCE_CODE_VERSION = asset_code_version(
    *_WIRING,
    *_METRICS,
    publication.__name__,
    dbt_lineage.__name__,
    explain.__name__,
    "rai_pipeline.core.evidence",
    "rai_pipeline.core.governance.gate",
    "rai_pipeline.core.governance.dispositions",
    "rai_pipeline.core.metrics.comparison",
    "rai_pipeline.adapters.mlflow_store",
    "rai_pipeline.defs.lineage",
)


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[STG_EXAMPLES_KEY, INT_EXAMPLES_KEY],
    kinds={"mlflow", "duckdb"},
    code_version=PREDICTIONS_CODE_VERSION,
    description="Scores of the registered model version on the frozen evaluation examples.",
)
def predictions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    record = scoring.score_model_version(
        ref, warehouse=warehouse, store=mlflow.store(), run_id=context.run.run_id, log=context.log
    )
    return dg.MaterializeResult(
        metadata=metadata.scoring_metadata(record),
        data_version=dg.DataVersion(scoring.predictions_data_version(ref, warehouse=warehouse)),
    )


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[EVAL_FRAME_WIDE_KEY],
    kinds={"duckdb"},
    code_version=METRICS_CODE_VERSION,
    description="Metrics per slice (sensitive attribute or intersection, group) with intervals.",
)
def slice_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    evaluation_config: EvaluationConfigResource,
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    result = metrics.compute_slice_metrics(
        ref, warehouse=warehouse, config=evaluation_config.load()
    )
    return dg.MaterializeResult(
        metadata=metadata.slice_metadata(result),
        data_version=dg.DataVersion(frame_digest(result.metrics)),
    )


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[slice_metrics],
    kinds={"duckdb"},
    code_version=METRICS_CODE_VERSION,
    description="Disparities between groups with bootstrap intervals, policy band and verdict.",
)
def fairness_metrics(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    evaluation_config: EvaluationConfigResource,
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    frame = metrics.compute_fairness_metrics(
        ref, warehouse=warehouse, config=evaluation_config.load()
    )
    return dg.MaterializeResult(
        metadata=metadata.fairness_metadata(frame),
        data_version=dg.DataVersion(frame_digest(frame)),
    )


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[EVAL_FRAME_WIDE_KEY, STG_EXAMPLES_KEY],
    kinds={"mlflow", "duckdb"},
    code_version=EXPLAIN_CODE_VERSION,
    description="Permutation importance of the version's features (drop in ROC AUC), overall "
    "and per sensitive group, with intervals over repeats and the differences between groups.",
)
def feature_importance(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    evaluation_config: EvaluationConfigResource,
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    result = explain.compute_feature_importance(
        ref, warehouse=warehouse, store=mlflow.store(), config=evaluation_config.load()
    )
    return dg.MaterializeResult(
        metadata=metadata.importance_metadata(result),
        data_version=dg.DataVersion(
            frame_digest(result.importances) if result is not None else "disabled"
        ),
    )


@dg.asset(
    partitions_def=model_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[fairness_metrics, feature_importance],
    kinds={"mlflow"},
    code_version=EVIDENCE_CODE_VERSION,
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
    store = mlflow.store()
    with warehouse.connect() as conn:
        runs = dbt_lineage.evaluation_runs(conn, context.run.run_id)
    published = publication.publish_evidence(
        ref,
        warehouse=warehouse,
        store=store,
        config=evaluation_config.load(),
        config_path=evaluation_config.resolved_path(),
        dispositions_path=evaluation_config.resolved_dispositions_path(),
        home=rai_home.get(),
        dagster_run_id=context.run.run_id,
        dbt_runs=runs,
        quality_checks=dbt_lineage.check_outcomes_of_run(context.instance, runs),
    )
    links = metadata.mlflow_links(store, ref, published.mlflow_run_id)
    return dg.MaterializeResult(
        metadata=metadata.evidence_metadata(published, **links),
        data_version=dg.DataVersion(published.evidence_digest),
    )


evaluation_assets = [
    predictions,
    slice_metrics,
    fairness_metrics,
    feature_importance,
    evidence_pack,
]
