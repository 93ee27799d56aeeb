"""Publish an evidence pack atomically: a pack is complete or absent, never partial.

A pack is assembled in a staging folder on the same file system, then moved into place with
one ``rename``. A pack already published for the same version is never overwritten: it moves
to ``<model>/.history/<version>/<its evidence digest>/`` first, so nothing is lost.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.storage import file_sha256, move_into_place

MSG_NO_MANIFEST = (
    "refusing to publish {staging}: it has no {manifest}, so it is not a complete pack"
)
HISTORY_DIR = ".history"


def publish_pack(staging: Path, target: Path) -> Path:
    """Move the assembled pack ``staging`` to ``target``; keep any previous pack in history."""
    if not (staging / MANIFEST_NAME).is_file():
        raise ValueError(MSG_NO_MANIFEST.format(staging=staging, manifest=MANIFEST_NAME))
    archive = None
    if target.exists():
        previous = target / MANIFEST_NAME
        label = file_sha256(previous)[:16] if previous.exists() else "incomplete"
        archive = target.parent / HISTORY_DIR / target.name / label
        if archive.exists():  # the same pack is kept already
            shutil.rmtree(target)
            archive = None
    move_into_place(staging, target, aside=archive)
    return target
