"""The registry sensor: every new registered model version gets a partition and a run."""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from rai_pipeline.core.governance.registry import format_cursor, parse_cursor, plan_registry_tick
from rai_pipeline.defs.evaluation.jobs import (
    EVALUATE_JOB,
    WAREHOUSE_RUN_TAGS,
    version_run_selection,
    warehouse_execution_config,
    warehouse_run_config,
    warehouse_run_tags,
)
from rai_pipeline.defs.partitions import model_versions
from rai_pipeline.defs.resources import (
    EvaluationConfigResource,
    MlflowResource,
    RaiHomeResource,
)

MAX_REQUESTS_PER_TICK = 10


@dg.sensor(
    job_name=EVALUATE_JOB,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Polls the MLflow registry for the models in the evaluation config.",
)
def registered_model_versions(
    context: dg.SensorEvaluationContext,
    mlflow: MlflowResource,
    evaluation_config: EvaluationConfigResource,
    rai_home: RaiHomeResource,
) -> dg.SensorResult:
    config = evaluation_config.load()
    store = mlflow.store()
    versions = {name: store.list_versions(name) for name in config.registered_models}
    watched = ", ".join(config.registered_models) or "(no registered_models in the config)"
    repository = getattr(context, "repository_def", None)
    selection = (
        version_run_selection(repository.asset_graph, rai_home.get(), config)
        if repository is not None
        else None
    )
    return registry_tick(
        context,
        versions,
        partitions=model_versions,
        watched=watched,
        asset_selection=selection,
        run_config={
            "resources": warehouse_run_config(config),
            **warehouse_execution_config(config),
        },
        tags=warehouse_run_tags(config),
    )


def registry_tick(
    context: dg.SensorEvaluationContext,
    versions: dict,
    *,
    partitions: dg.DynamicPartitionsDefinition,
    watched: str,
    asset_selection: Sequence[dg.AssetKey] | None = None,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] = WAREHOUSE_RUN_TAGS,
) -> dg.SensorResult:
    """One tick over the registered ``versions`` (per model name): a partition and a run for
    each version :func:`plan_registry_tick` requests (of ``asset_selection``, default the whole
    job; with ``run_config`` and ``tags``), and the new cursor."""
    plan = plan_registry_tick(
        parse_cursor(context.cursor), versions, max_requests=MAX_REQUESTS_PER_TICK
    )
    for ref, reason in plan.skipped:
        context.log.info(f"{ref.uri}: not requested ({reason})")
    keys = [ref.partition_key for ref in plan.requests]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=key,
                run_key=key,
                run_config=dict(run_config or {}),
                tags=dict(tags),
                asset_selection=asset_selection,
            )
            for key in keys
        ],
        dynamic_partitions_requests=[partitions.build_add_request(keys)] if keys else [],
        cursor=format_cursor(plan.cursor),
        skip_reason=None if keys else f"no new versions of {watched}",
    )
