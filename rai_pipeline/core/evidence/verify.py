"""Check an evidence pack against its manifest: every listed file present with its sha256,
nothing unlisted. Only the pack's own top-level ``manifest.json`` is exempt; a file of that
name in a sub-folder is a file like any other. Whether the manifest itself is the published
one is :mod:`rai_pipeline.core.evidence.anchor`'s question."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.evidence.manifest_schema import PackError, check_manifest
from rai_pipeline.core.storage import file_sha256

MSG_NO_MANIFEST = "{path}: no {manifest}; not an evidence pack"
MSG_BAD_MANIFEST = "{path}: {manifest} is not valid JSON ({reason})"


__all__ = ["PackError", "VerifyReport", "read_manifest", "verify_pack"]


@dataclass(frozen=True)
class VerifyReport:
    pack: Path
    checked: int
    modified: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.modified or self.missing or self.unexpected)


def read_manifest(pack: Path) -> dict[str, Any]:
    path = pack / MANIFEST_NAME
    if not path.is_file():
        raise PackError(MSG_NO_MANIFEST.format(path=pack, manifest=MANIFEST_NAME))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PackError(
            MSG_BAD_MANIFEST.format(path=pack, manifest=MANIFEST_NAME, reason=error)
        ) from None
    check_manifest(data, pack)
    return data


def verify_pack(pack: Path) -> VerifyReport:
    """Recompute every digest listed in the manifest; report modified, missing, unexpected."""
    manifest = read_manifest(pack)
    listed = {item["path"]: item["sha256"] for item in manifest["outputs"]}
    present = {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()}
    present.discard(MANIFEST_NAME)
    modified = sorted(
        path for path in listed if path in present and file_sha256(pack / path) != listed[path]
    )
    return VerifyReport(
        pack=pack,
        checked=len(listed),
        modified=modified,
        missing=sorted(set(listed) - present),
        unexpected=sorted(present - set(listed)),
    )
