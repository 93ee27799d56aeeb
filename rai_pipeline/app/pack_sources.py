"""Where a published pack's inputs are, read from the pack itself and never from the current
folder: the audit commands (``rai trace``, ``rai reproduce``) work on any pack from anywhere.

A pipeline pack records the RAI_HOME it was evaluated in (``lineage.rai_home``: the warehouse
and the landed extracts) and the MLflow tracking URI (``lineage.mlflow_tracking_uri``); a pack
published before those were recorded is found from its own location
(``<RAI_HOME>/evidence/<model>/<version>``). An ``rai evaluate-file`` pack records the absolute
paths and sha256 of the predictions file and the config it read; they are checked before use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rai_pipeline.core.storage import file_sha256
from rai_pipeline.settings import RaiHome

FILE_INPUT_KIND = "predictions_file"
LLM_FILE_INPUT_KIND = "prompt_set"  # what an rai evaluate-llm pack read
CONFIG_KIND = "config"

MSG_NO_HOME = (
    "{pack}: the pack does not record the RAI_HOME it was evaluated in, and it is not inside "
    "one (<RAI_HOME>/evidence/<model>/<version>)"
)
MSG_HOME_GONE = "{pack}: the RAI_HOME it was evaluated in, {home}, no longer exists"
MSG_NO_PATH = (
    "{pack}: the pack does not record where its {what} {name!r} is (packs written by rai "
    "evaluate-file record the absolute path); nothing to read"
)
MSG_MISSING = "{pack}: the {what} it read, {path}, no longer exists"
MSG_CHANGED = (
    "{pack}: {path} has changed since the evaluation (sha256 {actual}, recorded {expected})"
)
MSG_PARTS_CHANGED = (
    "{pack}: {pattern} no longer matches the files the evaluation read (now also: {added})"
)


class PackSourceError(ValueError):
    """A pack's recorded input cannot be found or has changed."""


@dataclass(frozen=True)
class PipelineSources:
    """A pipeline pack's RAI_HOME and MLflow store."""

    home: RaiHome
    tracking_uri: str


@dataclass(frozen=True)
class FileSources:
    """An ``rai evaluate-file`` pack's predictions file and config, both verified."""

    input_file: Path
    config: Path


def is_file_pack(manifest: dict[str, Any]) -> bool:
    """Whether the pack was written by ``rai evaluate-file`` (it read a predictions file)."""
    return any(item.get("kind") == FILE_INPUT_KIND for item in manifest.get("inputs", []))


def is_llm_file_pack(manifest: dict[str, Any]) -> bool:
    """Whether the pack was written by ``rai evaluate-llm`` (it read a prompt-set file)."""
    return any(item.get("kind") == LLM_FILE_INPUT_KIND for item in manifest.get("inputs", []))


def has_registry_entry(manifest: dict[str, Any]) -> bool:
    """Whether the pipeline published the pack for a registered version (not a file pack)."""
    return not (is_file_pack(manifest) or is_llm_file_pack(manifest))


def pipeline_sources(pack: Path, manifest: dict[str, Any]) -> PipelineSources:
    """The RAI_HOME and tracking URI a pipeline pack was evaluated with."""
    lineage = manifest.get("lineage", {})
    recorded = lineage.get("rai_home")
    if recorded:
        home = RaiHome(Path(recorded))
        if not home.root.is_dir():
            raise PackSourceError(MSG_HOME_GONE.format(pack=pack, home=home.root))
    else:
        root = Path(pack).resolve().parent.parent.parent
        if Path(pack).resolve().parent.parent.name != "evidence" or not root.is_dir():
            raise PackSourceError(MSG_NO_HOME.format(pack=pack))
        home = RaiHome(root)
    return PipelineSources(home, str(lineage.get("mlflow_tracking_uri") or home.tracking_uri))


def _recorded_file(pack: Path, manifest: dict[str, Any], kind: str, what: str) -> Path:
    [item] = [i for i in manifest.get("inputs", []) if i.get("kind") == kind]
    if not item.get("path"):
        raise PackSourceError(MSG_NO_PATH.format(pack=pack, what=what, name=item.get("name")))
    path = Path(item["path"])
    if not path.is_file():
        raise PackSourceError(MSG_MISSING.format(pack=pack, what=what, path=path))
    actual = file_sha256(path)
    if actual != item["sha256"]:
        raise PackSourceError(
            MSG_CHANGED.format(pack=pack, path=path, actual=actual, expected=item["sha256"])
        )
    return path


def _recorded_parts(pack: Path, item: dict[str, Any]) -> Path:
    """The pattern a pack's predictions were read by (its manifest input ``item``), after
    checking that it still matches exactly the recorded files, each with its recorded sha256."""
    from rai_pipeline.app.input_files import resolve_input

    pattern = Path(item["path"])
    recorded = {Path(part["path"]): part["sha256"] for part in item["files"]}
    for path, expected in recorded.items():
        if not path.is_file():
            raise PackSourceError(MSG_MISSING.format(pack=pack, what="predictions file", path=path))
        actual = file_sha256(path)
        if actual != expected:
            raise PackSourceError(
                MSG_CHANGED.format(pack=pack, path=path, actual=actual, expected=expected)
            )
    matched = {path.resolve() for path in resolve_input(pattern).files}
    if matched != {path.resolve() for path in recorded}:
        added = ", ".join(sorted(str(p) for p in matched - set(recorded))) or "none"
        raise PackSourceError(MSG_PARTS_CHANGED.format(pack=pack, pattern=pattern, added=added))
    return pattern


def file_sources(pack: Path, manifest: dict[str, Any]) -> FileSources:
    """The predictions file (or the pattern over its parts) and config an evaluate-file pack
    read, after checking that each still has its recorded sha256."""
    [item] = [i for i in manifest.get("inputs", []) if i.get("kind") == FILE_INPUT_KIND]
    return FileSources(
        input_file=_recorded_parts(pack, item)
        if "files" in item
        else _recorded_file(pack, manifest, FILE_INPUT_KIND, "predictions file"),
        config=_recorded_file(pack, manifest, CONFIG_KIND, "config"),
    )
