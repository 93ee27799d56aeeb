"""LLM safety assets, one partition per registered LLM feature version.

landing -> (dbt) staging models and llm_data_checks -> llm_safety_inputs -> llm_safety_pack.
The decorated functions only wire resources to the plain functions in ``inputs.py`` and
``publication.py``.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from rai_pipeline.core.governance.registry import parse_partition_key
from rai_pipeline.defs.lineage import asset_code_version, frame_digest
from rai_pipeline.defs.llm_safety import inputs, publication
from rai_pipeline.defs.llm_safety.dbt import llm_warehouse_models
from rai_pipeline.defs.partitions import llm_feature_versions
from rai_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    LlmConfigResource,
    MlflowResource,
    RaiHomeResource,
    WarehouseResource,
)

GROUP = "llm_safety"
DATA_CHECKS_KEY = get_asset_key_for_model([llm_warehouse_models], "llm_data_checks")
# what llm_safety_inputs and llm_safety_pack read
STAGED_KEYS = [
    get_asset_key_for_model([llm_warehouse_models], model)
    for model in ("stg_llm_prompts", "stg_llm_responses", "stg_llm_ratings", "stg_llm_versions")
]
INPUTS_CODE_VERSION = asset_code_version(__name__, inputs.__name__)
PACK_CODE_VERSION = asset_code_version(
    __name__,
    inputs.__name__,
    publication.__name__,
    "rai_pipeline.core.llm_safety",
    "rai_pipeline.core.evidence",
    "rai_pipeline.adapters.llm_judges",
)


@dg.asset(
    partitions_def=llm_feature_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[DATA_CHECKS_KEY, *STAGED_KEYS],
    kinds={"duckdb"},
    code_version=INPUTS_CODE_VERSION,
    description="The feature version's landed responses and ratings, as the warehouse holds them.",
)
def llm_safety_inputs(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    with warehouse.connect() as conn:
        version = inputs.feature_version(mlflow.store(), ref, inputs.landed_labels(conn))
        rows = inputs.read_landed_rows(conn, [version.label])
    digest = frame_digest(rows.responses) + frame_digest(rows.ratings)
    return dg.MaterializeResult(
        metadata={
            "model_version": version.label,
            "compared_with": version.previous.uri if version.previous else "(first version)",
            "prompts": len(rows.prompts),
            "responses": len(rows.responses),
            "ratings": len(rows.ratings),
            "dagster/row_count": len(rows.responses),
        },
        data_version=dg.DataVersion(digest),
    )


@dg.asset(
    partitions_def=llm_feature_versions,
    pool=WAREHOUSE_POOL,
    group_name=GROUP,
    deps=[llm_safety_inputs],
    kinds={"mlflow"},
    code_version=PACK_CODE_VERSION,
    description=(
        "The published LLM safety evidence pack: rates with intervals, verdicts on both axes, "
        "labelling quality, the judge against humans, regressions against the previous "
        "version, the report; logged to the evaluation's MLflow run."
    ),
)
def llm_safety_pack(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    llm_config: LlmConfigResource,
    rai_home: RaiHomeResource,
) -> dg.MaterializeResult:
    ref = parse_partition_key(context.partition_key)
    store = mlflow.store()
    config_path = llm_config.resolved_path()
    published = publication.publish_llm_evidence(
        ref,
        warehouse=warehouse,
        store=store,
        config=llm_config.load(),
        config_path=config_path,  # type: ignore[arg-type]
        home=rai_home.get(),
        dagster_run_id=context.run.run_id,
    )
    links = store.links(ref, published.mlflow_run_id)
    return dg.MaterializeResult(
        metadata={
            "pack": dg.MetadataValue.path(str(published.path)),
            "model_version": published.label,
            "verdict": published.verdict,
            "gate": published.gate,
            "evidence_digest": published.evidence_digest,
            "evaluation_id": published.evaluation_id,
            "mlflow_run_id": published.mlflow_run_id,
            **{k: dg.MetadataValue.url(v) for k, v in links.items() if v},
            "verdicts": dg.MetadataValue.md(
                published.verdicts.to_markdown(index=False) if len(published.verdicts) else "-"
            ),
        },
        data_version=dg.DataVersion(published.evidence_digest),
    )


llm_safety_assets = [llm_safety_inputs, llm_safety_pack]
