"""``rai land-llm``: land an LLM safety set for the pipeline and register its model versions.

1. Read the config's prompt set and responses files with ``rai evaluate-llm``'s readers and
   checks (:func:`~rai_pipeline.app.evaluate_llm.read_llm_inputs`,
   :func:`~rai_pipeline.core.llm_safety.landing.landing_tables`).
2. Land the four tables under ``RAI_HOME/landing/llm/<model name>`` (immutable versions,
   ``current`` moved only after every file is written).
3. Register each responses entry as a version of the registered model ``model_name``: an LLM
   feature (model id, system prompt, template) is a model version like any other, and the
   registry sensor requests its evaluation. An entry registered before with the same
   feature is not registered again; the same ``model_version`` label with a changed feature
   is refused (give the changed feature its own label).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rai_pipeline.app.evaluate_llm import read_llm_inputs
from rai_pipeline.core.governance.registry import (
    FEATURE_DIGEST_TAG,
    FEATURE_LABEL_TAG,
    FEATURE_MODEL_ID_TAG,
    ModelVersionRef,
)
from rai_pipeline.core.landing.llm import LandedLlmSet, land_llm_tables
from rai_pipeline.core.llm_safety.config import LlmSafetyConfig, load_llm_config
from rai_pipeline.core.llm_safety.landing import landing_tables
from rai_pipeline.settings import RaiHome

MSG_FEATURE_CHANGED = (
    "{config}: model_version {label!r} is registered as {uri} with a different feature "
    "(model id, system prompt or template); give the changed feature its own model_version"
)


class LandLlmError(ValueError):
    """The config's versions conflict with what the registry holds."""


@dataclass(frozen=True)
class LandedLlm:
    config: LlmSafetyConfig
    landed: LandedLlmSet
    versions: dict[str, ModelVersionRef]  # config label -> registered version
    registered: list[str]  # the labels registered by this call


def plan_registration(
    store, config: LlmSafetyConfig, *, config_path: Path
) -> dict[str, ModelVersionRef | None]:
    """Each responses entry's registered version, None for those to register; a label
    registered with a different feature is refused."""
    known = {
        info.tags[FEATURE_LABEL_TAG]: info
        for info in store.list_versions(config.model_name)
        if FEATURE_LABEL_TAG in info.tags
    }
    plan: dict[str, ModelVersionRef | None] = {}
    for spec in config.responses:
        info = known.get(spec.model_version)
        if info is not None and info.tags.get(FEATURE_DIGEST_TAG) != spec.feature_digest():
            raise LandLlmError(
                MSG_FEATURE_CHANGED.format(
                    config=config_path, label=spec.model_version, uri=info.ref.uri
                )
            )
        plan[spec.model_version] = info.ref if info is not None else None
    return plan


def land_llm(config_path: Path | str, *, home: RaiHome, store=None) -> LandedLlm:
    """Read, check and land the config's files, then register the versions (module
    docstring). A file that breaks a rule, or a label registered with another feature, stops
    it before anything is written (``store``: the registry, default RAI_HOME's, opened only
    once the files have passed)."""
    config_path = Path(config_path)
    config, folder = load_llm_config(config_path)
    read = read_llm_inputs(config, folder)
    tables = landing_tables(
        read.prompts,
        read.versions,
        config,
        prompts_file=str(read.prompts_path),
        prompt_set=read.prompts_path.stem,
    )
    if store is None:
        from rai_pipeline.adapters.mlflow_store import MlflowStore
        from rai_pipeline.settings import configure_environment

        configure_environment(home)
        store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    plan = plan_registration(store, config, config_path=config_path)
    landed = land_llm_tables(tables.as_dict(), home.llm_landing(config.model_name))
    versions, registered = {}, []
    for spec in config.responses:
        ref = plan[spec.model_version]
        if ref is None:
            feature = spec.feature()
            ref = store.register_feature(
                config.model_name,
                feature=feature,
                tags={
                    FEATURE_LABEL_TAG: spec.model_version,
                    FEATURE_DIGEST_TAG: spec.feature_digest(),
                    FEATURE_MODEL_ID_TAG: feature["model_id"],
                },
            )
            registered.append(spec.model_version)
        versions[spec.model_version] = ref
    return LandedLlm(config, landed, versions, registered)
