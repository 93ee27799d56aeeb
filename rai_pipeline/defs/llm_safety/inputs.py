"""What one LLM feature version's evaluation reads: its label in the landed set (from the
registry), the version it is compared with, and its rows in the warehouse's LLM models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from rai_pipeline.core.governance.registry import (
    FEATURE_LABEL_TAG,
    EvaluationStore,
    ModelVersionRef,
)
from rai_pipeline.core.llm_safety.landing import LandingTables
from rai_pipeline.defs.dbt.project import dbt_relation

MSG_NOT_FEATURE = (
    "{uri} is not an LLM feature version (no {tag} tag): register LLM features with "
    "rai land-llm --config CONFIG"
)
MSG_NOT_LANDED = (
    "{uri} is the feature {label!r}, but the landed set has no responses of it (landed: "
    "{landed}); land them: rai land-llm --config CONFIG"
)


@dataclass(frozen=True)
class FeatureVersion:
    ref: ModelVersionRef
    label: str  # the config's model_version: what its responses carry
    previous: ModelVersionRef | None  # the registered version it is compared with
    previous_label: str | None


def landed_labels(conn: Any) -> list[str]:
    relation = dbt_relation("stg_llm_versions")
    return [str(r[0]) for r in conn.execute(f"select model_version from {relation}").fetchall()]


def feature_version(
    store: EvaluationStore, ref: ModelVersionRef, landed: list[str]
) -> FeatureVersion:
    """The version's label, and the highest lower-numbered version of the same registered
    model whose responses are landed too (None for the first)."""
    label = store.version_tags(ref).get(FEATURE_LABEL_TAG)
    if label is None:
        raise ValueError(MSG_NOT_FEATURE.format(uri=ref.uri, tag=FEATURE_LABEL_TAG))
    if label not in landed:
        raise ValueError(MSG_NOT_LANDED.format(uri=ref.uri, label=label, landed=sorted(landed)))
    earlier = sorted(
        (
            info
            for info in store.list_versions(ref.name)
            if int(info.ref.version) < int(ref.version)
            and info.tags.get(FEATURE_LABEL_TAG) in landed
            and info.tags.get(FEATURE_LABEL_TAG) != label
        ),
        key=lambda info: int(info.ref.version),
    )
    if not earlier:
        return FeatureVersion(ref, label, None, None)
    last = earlier[-1]
    return FeatureVersion(ref, label, last.ref, last.tags[FEATURE_LABEL_TAG])


def read_landed_rows(conn: Any, labels: list[str]) -> LandingTables:
    """The prompt set and ``labels``' responses, ratings and version rows, as landed."""
    marks = ", ".join("?" for _ in labels)

    def rows(model: str) -> pd.DataFrame:
        return conn.execute(
            f"select * from {dbt_relation(model)} where model_version in ({marks})", labels
        ).df()

    prompts = conn.execute(f"select * from {dbt_relation('stg_llm_prompts')}").df()
    return LandingTables(
        prompts=prompts,
        responses=rows("stg_llm_responses"),
        ratings=rows("stg_llm_ratings"),
        versions=rows("stg_llm_versions"),
    )


def data_check_rows(conn: Any, label: str) -> pd.DataFrame:
    """The warehouse's data checks of one version (dbt model ``llm_data_checks``)."""
    return conn.execute(
        f'select model_version, "check", "count", examples from {dbt_relation("llm_data_checks")} '
        'where model_version = ? order by "check"',
        [label],
    ).df()
