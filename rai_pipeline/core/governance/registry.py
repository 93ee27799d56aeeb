"""Model-registry vocabulary and the sensor's planning rule, free of MLflow and Dagster.

A model version is identified by its registered name and version number. The Dagster
partition key of a version is ``<name>@<version>``; :func:`parse_partition_key` inverts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

PARTITION_SEPARATOR = "@"
EVALUATED_TAG = "rai.evaluation_run_id"
# written on the model version with the pack; the digest anchors the pack (core/evidence/anchor)
GATE_TAG, VERDICT_TAG, EVIDENCE_DIGEST_TAG = "rai.gate", "rai.verdict", "rai.evidence_digest"
# on the deployed version: its monitoring pack's digest; an incident bundle's is
# INCIDENT_TAG_PREFIX + the incident id (each anchors its pack, as the evidence digest does)
MONITORING_DIGEST_TAG, INCIDENT_TAG_PREFIX = "rai.monitoring_digest", "rai.incident."
READY = "READY"
# on an LLM feature's version: the config's model_version label its responses carry, the
# feature's digest (model id, system prompt, template) and its model id
FEATURE_LABEL_TAG, FEATURE_DIGEST_TAG = "rai.llm.model_version", "rai.llm.feature_digest"
FEATURE_MODEL_ID_TAG = "rai.llm.model_id"

MSG_BAD_PARTITION_KEY = "partition key {key!r} is not of the form '<registered model>@<version>'"
MSG_BAD_CURSOR = "sensor cursor {cursor!r} is not a JSON object of model name to version number"


@dataclass(frozen=True, order=True)
class ModelVersionRef:
    """A registered model version: ``models:/<name>/<version>``."""

    name: str
    version: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def partition_key(self) -> str:
        return f"{self.name}{PARTITION_SEPARATOR}{self.version}"


@dataclass(frozen=True)
class ModelVersionInfo:
    """What the registry says about one version."""

    ref: ModelVersionRef
    status: str = READY
    tags: Mapping[str, str] = field(default_factory=dict)
    run_id: str | None = None
    source: str | None = None

    @property
    def evaluated(self) -> bool:
        return EVALUATED_TAG in self.tags


class Scorer(Protocol):
    def __call__(self, features: pd.DataFrame) -> np.ndarray: ...


class ModelRegistry(Protocol):
    """The registry operations the pipeline needs (MLflow implements them)."""

    def list_versions(self, name: str) -> list[ModelVersionInfo]: ...

    def load_scorer(self, ref: ModelVersionRef) -> Scorer: ...

    def model_artifact_digest(self, ref: ModelVersionRef) -> str: ...

    def model_facts(self, ref: ModelVersionRef) -> dict[str, str]:
        """What the registry holds about the model, for its model card: estimator and
        parameters, the inputs it receives, the run that trained it and that run's params."""
        ...

    def set_version_tags(self, ref: ModelVersionRef, tags: Mapping[str, str]) -> None: ...

    def version_tags(self, ref: ModelVersionRef) -> dict[str, str]: ...

    def delete_version_tags(self, ref: ModelVersionRef, keys: Iterable[str]) -> None: ...


class EvaluationTracker(Protocol):
    """Where evaluations are recorded as runs with their evidence files (MLflow tracking)."""

    def log_evaluation(
        self,
        *,
        ref: ModelVersionRef,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
        metrics: Mapping[str, float],
    ) -> str: ...

    def finish_evaluation(self, run_id: str, *, artifacts_dir: Path, status: str) -> None: ...

    def fail_evaluation(self, run_id: str) -> None: ...

    def links(self, ref: ModelVersionRef, run_id: str) -> dict[str, str | None]: ...


class EvaluationStore(ModelRegistry, EvaluationTracker, Protocol):
    """A model registry and an evaluation tracker in one service, at ``tracking_uri``."""

    tracking_uri: str


def parse_partition_key(key: str) -> ModelVersionRef:
    """Invert :attr:`ModelVersionRef.partition_key`."""
    name, sep, version = key.rpartition(PARTITION_SEPARATOR)
    if not sep or not name or not version.isdigit():
        raise ValueError(MSG_BAD_PARTITION_KEY.format(key=key))
    return ModelVersionRef(name, version)


def parse_cursor(cursor: str | None) -> dict[str, int]:
    """The sensor cursor: per registered model, the highest version already handled."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError:
        raise ValueError(MSG_BAD_CURSOR.format(cursor=cursor)) from None
    if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
        raise ValueError(MSG_BAD_CURSOR.format(cursor=cursor))
    return {str(k): int(v) for k, v in data.items()}


def format_cursor(cursor: Mapping[str, int]) -> str:
    return json.dumps(dict(sorted(cursor.items())), sort_keys=True)


@dataclass(frozen=True)
class SensorPlan:
    """What one sensor tick does: versions to request, the new cursor, and why others wait."""

    requests: list[ModelVersionRef]
    cursor: dict[str, int]
    skipped: list[tuple[ModelVersionRef, str]]


def plan_registry_tick(
    cursor: Mapping[str, int],
    versions: Mapping[str, Iterable[ModelVersionInfo]],
    *,
    max_requests: int = 10,
) -> SensorPlan:
    """Decide which registered versions a tick requests, and how far the cursor moves.

    Rules, per registered model, walking versions in ascending number above the cursor:

    - a version already evaluated (it carries the ``rai.evaluation_run_id`` tag) is skipped
      and the cursor may pass it: its evidence exists;
    - a version that is not ``READY`` stops the walk: the cursor never passes a version that
      could still need a run;
    - otherwise the version is requested, until ``max_requests`` is reached for the tick; the
      walk stops there, and the cursor stays on the last version requested.
    """
    new_cursor = dict(cursor)
    requests: list[ModelVersionRef] = []
    skipped: list[tuple[ModelVersionRef, str]] = []
    for name in sorted(versions):
        handled = cursor.get(name, 0)
        pending = sorted(
            (info for info in versions[name] if int(info.ref.version) > handled),
            key=lambda info: int(info.ref.version),
        )
        for info in pending:
            number = int(info.ref.version)
            if info.evaluated:
                skipped.append((info.ref, "already evaluated"))
                new_cursor[name] = number
                continue
            if info.status != READY:
                skipped.append((info.ref, f"registry status {info.status}; waiting"))
                break
            if len(requests) >= max_requests:
                skipped.append((info.ref, f"tick limit of {max_requests} requests reached"))
                break
            requests.append(info.ref)
            new_cursor[name] = number
    return SensorPlan(requests=requests, cursor=new_cursor, skipped=skipped)
