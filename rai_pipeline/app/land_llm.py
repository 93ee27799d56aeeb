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


def register_features(
    store, config: LlmSafetyConfig, *, config_path: Path
) -> tuple[dict[str, ModelVersionRef], list[str]]:
    """Each responses entry's registered version, registering the ones not there yet."""
    known: dict[str, tuple[ModelVersionRef, str]] = {}
    for info in sorted(store.list_versions(config.model_name), key=lambda i: int(i.ref.version)):
        label = info.tags.get(FEATURE_LABEL_TAG)
        if label is not None:
            known[label] = (info.ref, info.tags.get(FEATURE_DIGEST_TAG, ""))
    refs, registered = {}, []
    for spec in config.responses:
        label, digest = spec.model_version, spec.feature_digest()
        if label in known:
            ref, held = known[label]
            if held != digest:
                raise LandLlmError(
                    MSG_FEATURE_CHANGED.format(config=config_path, label=label, uri=ref.uri)
                )
            refs[label] = ref
            continue
        feature = spec.feature()
        refs[label] = store.register_feature(
            config.model_name,
            feature=feature,
            tags={
                FEATURE_LABEL_TAG: label,
                FEATURE_DIGEST_TAG: digest,
                FEATURE_MODEL_ID_TAG: feature["model_id"],
            },
        )
        registered.append(label)
    return refs, registered


def land_llm(config_path: Path | str, *, home: RaiHome, store) -> LandedLlm:
    """Read, check and land the config's files, then register the versions (module docstring).
    A file that breaks a rule stops it before anything is written."""
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
    # the registry is checked before anything is landed: a refused label leaves no trace
    known = {
        info.tags.get(FEATURE_LABEL_TAG): info
        for info in store.list_versions(config.model_name)
        if FEATURE_LABEL_TAG in info.tags
    }
    for spec in config.responses:
        info = known.get(spec.model_version)
        if info is not None and info.tags.get(FEATURE_DIGEST_TAG) != spec.feature_digest():
            raise LandLlmError(
                MSG_FEATURE_CHANGED.format(
                    config=config_path, label=spec.model_version, uri=info.ref.uri
                )
            )
    landed = land_llm_tables(tables.as_dict(), home.llm_landing(config.model_name))
    versions, registered = register_features(store, config, config_path=config_path)
    return LandedLlm(config, landed, versions, registered)
