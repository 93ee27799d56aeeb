"""Publishing a command's output folder (``rai evaluate-file``, ``rai evaluate-llm``): the
staged folder moves into place with one rename; an existing non-empty folder is refused, or
with ``force`` renamed aside to ``<out>.previous-<its evidence digest>`` first, so nothing is
lost."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rai_pipeline.app.file_options import MSG_OUT_EXISTS, PREVIOUS_SUFFIX
from rai_pipeline.app.input_checks import InputFileError
from rai_pipeline.app.recovery import staging_prefix
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, write_manifest
from rai_pipeline.core.storage import file_sha256, move_into_place

MSG_UNWRITABLE = "{out}: cannot write the outputs ({reason})"


@dataclass(frozen=True)
class Published:
    evidence_digest: str
    files: list[str]
    previous: Path | None


def stage_and_publish(
    out: Path, *, force: bool, build: Callable[[Path], dict[str, Any]]
) -> Published:
    """Let ``build`` write the outputs into a new staging folder beside ``out`` and return the
    manifest; write the manifest, then publish the folder (:func:`publish_folder`). On any
    failure the staging folder is removed and ``out`` is as it was; a write that fails is an
    :class:`InputFileError` naming ``out``."""
    staging = out.parent / f"{staging_prefix(out)}{uuid.uuid4().hex[:8]}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        digest = write_manifest(staging, build(staging))
        files = sorted(p.name for p in staging.iterdir())
        previous = publish_folder(staging, out, force=force)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        reason = error.strerror or str(error)
        raise InputFileError(MSG_UNWRITABLE.format(out=out, reason=reason)) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Published(evidence_digest=digest, files=files, previous=previous)


def _previous_name(out: Path) -> Path:
    manifest = out / MANIFEST_NAME
    label = file_sha256(manifest)[:16] if manifest.is_file() else "unmanaged"
    candidate = out.with_name(f"{out.name}{PREVIOUS_SUFFIX}{label}")
    counter = 2
    while candidate.exists():
        candidate = out.with_name(f"{out.name}{PREVIOUS_SUFFIX}{label}-{counter}")
        counter += 1
    return candidate


def publish_folder(staging: Path, out: Path, *, force: bool) -> Path | None:
    """Move ``staging`` to ``out`` with one rename; a non-empty ``out`` is first renamed aside
    (``force``) and restored if the final rename fails."""
    previous = None
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise InputFileError(MSG_OUT_EXISTS.format(out=out, suffix=PREVIOUS_SUFFIX))
        previous = _previous_name(out)
    move_into_place(staging, out, aside=previous)
    return previous
