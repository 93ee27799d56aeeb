"""Publish an evidence pack atomically: a pack is complete or absent, never partial.

A pack is assembled in a staging folder on the same file system, then moved into place with
one ``rename``. A pack already published for the same version is never overwritten: it moves
to ``<model>/.history/<version>/<its evidence digest>/`` first, so nothing is lost.
:func:`publish_registered` moves the registry's tags with the pack: the evidence digest the
registry holds is always the published manifest's (or, after a failure, the previous one's).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, write_manifest
from rai_pipeline.core.governance.registry import (
    EVALUATED_TAG,
    EVIDENCE_DIGEST_TAG,
    GATE_TAG,
    VERDICT_TAG,
    EvaluationStore,
    ModelRegistry,
    ModelVersionRef,
)
from rai_pipeline.core.storage import file_sha256, move_into_place

MSG_NO_MANIFEST = (
    "refusing to publish {staging}: it has no {manifest}, so it is not a complete pack"
)
MSG_MISMATCH = (
    "{uri}: publishing failed ({failure}) and its tags ({tags}) could not be put back ({error}); "
    "the registry may name a pack that is not in place: rai verify shows it, and evaluating "
    "the version again repairs it"
)
HISTORY_DIR = ".history"
RESTORE_ATTEMPTS = 3
RESTORE_WAIT_SECONDS = 0.5


class RegistryMismatchError(RuntimeError):
    """The registry's tags could not be put back after a failed publication."""


def publish_pack(staging: Path, target: Path) -> Path:
    """Move the assembled pack ``staging`` to ``target``; keep any previous pack in history.

    When the move fails, the previous pack is back in place (nothing is deleted before the new
    pack is in place)."""
    if not (staging / MANIFEST_NAME).is_file():
        raise ValueError(MSG_NO_MANIFEST.format(staging=staging, manifest=MANIFEST_NAME))
    archive, duplicate = None, False
    if target.exists():
        previous = target / MANIFEST_NAME
        label = file_sha256(previous)[:16] if previous.exists() else "incomplete"
        archive = target.parent / HISTORY_DIR / target.name / label
        if archive.exists():  # the same pack is kept already: set this copy aside, then drop it
            archive, duplicate = archive.with_name(f".{label}.{uuid.uuid4().hex[:8]}"), True
    move_into_place(staging, target, aside=archive)
    if duplicate and archive is not None:
        shutil.rmtree(archive, ignore_errors=True)
    return target


def publish_registered(
    staging: Path,
    target: Path,
    *,
    registry: ModelRegistry,
    ref: ModelVersionRef,
    tags: Mapping[str, str],
) -> Path:
    """Publish the pack and write its tags (the evidence digest among them) so that the
    registry and the published pack never disagree.

    The tags are written first, so a registry that cannot be written stops the publication
    before the pack moves. When writing them or moving the pack fails, the version's tags are
    put back as they were (retried :data:`RESTORE_ATTEMPTS` times) and the previous pack stays
    in place; if even that fails, :class:`RegistryMismatchError` says what to do.
    """
    previous = registry.version_tags(ref)
    try:
        registry.set_version_tags(ref, tags)
        return publish_pack(staging, target)
    except BaseException as failure:
        _restore_tags(registry, ref, previous, list(tags), failure)
        raise


def _restore_tags(
    registry: ModelRegistry,
    ref: ModelVersionRef,
    previous: Mapping[str, str],
    written: list[str],
    failure: BaseException,
) -> None:
    before = {key: previous[key] for key in written if key in previous}
    error: Exception | None = None
    for attempt in range(RESTORE_ATTEMPTS):
        try:
            if before:
                registry.set_version_tags(ref, before)
            current = registry.version_tags(ref)
            added = [key for key in written if key not in previous and key in current]
            if added:
                registry.delete_version_tags(ref, added)
            return
        except Exception as caught:  # the registry is unreachable: wait and retry
            error = caught
            time.sleep(RESTORE_WAIT_SECONDS * 2**attempt)
    raise RegistryMismatchError(
        MSG_MISMATCH.format(uri=ref.uri, failure=failure, error=error, tags=", ".join(written))
    ) from error


def publish_evaluation(
    staging: Path,
    target: Path,
    *,
    store: EvaluationStore,
    ref: ModelVersionRef,
    run_id: str,
    build: Callable[[Path], Mapping[str, Any]],
    gate: str,
    verdict: str,
) -> tuple[Path, str]:
    """The last steps of every pipeline evaluation: ``build`` writes the pack into
    ``staging`` and returns its manifest; the manifest is written, the files logged to the
    MLflow run ``run_id`` (FINISHED), and the pack published with the version's tags
    (evaluation run, gate, verdict, evidence digest). On any error the staging folder is
    removed and the run marked FAILED. Returns the pack's path and its evidence digest."""
    try:
        staging.mkdir(parents=True, exist_ok=True)
        digest = write_manifest(staging, build(staging))
        store.finish_evaluation(run_id, artifacts_dir=staging, status="FINISHED")
        published = publish_registered(
            staging,
            target,
            registry=store,
            ref=ref,
            tags={
                EVALUATED_TAG: run_id,
                GATE_TAG: gate,
                VERDICT_TAG: verdict,
                EVIDENCE_DIGEST_TAG: digest,
            },
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        store.fail_evaluation(run_id)
        raise
    return published, digest
