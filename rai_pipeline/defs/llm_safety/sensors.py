"""The LLM feature sensor: every new registered version of the LLM config's model gets a
partition and a run (the same planning rule as the model sensor)."""

import dagster as dg

from rai_pipeline.defs.evaluation.sensors import registry_tick
from rai_pipeline.defs.llm_safety.jobs import EVALUATE_LLM_JOB
from rai_pipeline.defs.partitions import llm_feature_versions
from rai_pipeline.defs.resources import LlmConfigResource, MlflowResource

MSG_NO_CONFIG = "no LLM safety config (RAI_LLM_CONFIG): nothing to watch"


@dg.sensor(
    job_name=EVALUATE_LLM_JOB,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Polls the MLflow registry for new versions of the LLM config's feature.",
)
def registered_llm_feature_versions(
    context: dg.SensorEvaluationContext, mlflow: MlflowResource, llm_config: LlmConfigResource
) -> dg.SensorResult:
    if llm_config.resolved_path() is None:
        return dg.SensorResult(skip_reason=MSG_NO_CONFIG, cursor=context.cursor)
    name = llm_config.load().model_name
    versions = {name: mlflow.store().list_versions(name)}
    return registry_tick(context, versions, partitions=llm_feature_versions, watched=name)
