"""The evaluation job: the whole asset graph for one model-version partition, and the part of
it a run needs while the shared warehouse models are current."""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.defs.dbt.freshness import current_build
from rai_pipeline.settings import RaiHome

EVALUATE_JOB = "evaluate_model_version"
# the LLM safety and monitoring domains' groups have their own jobs (defs/<domain>/jobs.py)
LLM_GROUPS = ("llm_landing", "llm_safety")
OTHER_DOMAINS = (*LLM_GROUPS, "monitoring_landing", "monitoring")
# Runs that write the DuckDB warehouse queue behind each other (see dagster.yaml); runs on
# another warehouse carry its engine instead: on PostgreSQL they run side by side, on the local
# Spark warehouse they queue too.
WAREHOUSE_TAG = "rai/warehouse"
WAREHOUSE_RUN_TAGS = {WAREHOUSE_TAG: "duckdb"}

EVALUATION_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.groups(*OTHER_DOMAINS)

evaluate_model_version = dg.define_asset_job(
    EVALUATE_JOB,
    selection=EVALUATION_ASSETS,
    tags=WAREHOUSE_RUN_TAGS,
    description="Score, build the evaluation frame, check it, compute metrics, publish evidence.",
)


def warehouse_run_config(config: EvaluationConfig) -> dict[str, Any]:
    """The run config's ``resources`` that point a run at ``config``'s warehouse (the engine
    of the warehouse resource, hence dbt's target): nothing on DuckDB, the default."""
    engine = config.warehouse.engine
    if engine == "duckdb":
        return {}
    return {"warehouse": {"config": {"engine": engine}}}


def warehouse_execution_config(config: EvaluationConfig) -> dict[str, Any]:
    """The run config's ``execution`` for a run on ``config``'s warehouse: on the local Spark
    warehouse every step runs in the run's one process, the one that may open its catalog
    (``adapters/spark_session.py``); elsewhere nothing (the default executor, a process per
    step)."""
    if config.warehouse.engine != "spark":
        return {}
    return {"execution": {"config": {"in_process": {}}}}


def warehouse_run_tags(config: EvaluationConfig) -> dict[str, str]:
    """The tags of a run on ``config``'s warehouse (:data:`WAREHOUSE_TAG`)."""
    return {WAREHOUSE_TAG: config.warehouse.engine}


def version_run_selection(
    asset_graph: Any,
    home: RaiHome,
    config: EvaluationConfig,
    *,
    wait_seconds: float = 0.0,
    run_here: bool = False,
) -> Sequence[dg.AssetKey] | None:
    """The assets one version's run materializes: None (the whole job) unless the shared
    warehouse models are current for ``config`` and the landed data set
    (:func:`~rai_pipeline.defs.dbt.freshness.current_build`); then every asset of the job but
    them, so the run reads them as built instead of building them again. ``wait_seconds``:
    how long to wait for the warehouse while another process holds it; ``run_here``: the run
    executes in this process (which may then open the local Spark catalog for it)."""
    # imported here: the dbt assets need the dbt manifest, which this module must not
    from rai_pipeline.defs.dbt.assets import warehouse_models

    if current_build(home, config, wait_seconds=wait_seconds, run_here=run_here) is None:
        return None
    selection = EVALUATION_ASSETS - dg.AssetSelection.assets(warehouse_models)
    return sorted(selection.resolve(asset_graph))
