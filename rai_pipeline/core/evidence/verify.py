"""Check an evidence pack against its manifest: every listed file present with its sha256,
nothing unlisted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.storage import file_sha256

MSG_NO_MANIFEST = "{path}: no {manifest}; not an evidence pack"
MSG_BAD_MANIFEST = "{path}: {manifest} is not valid JSON ({reason})"


class PackError(ValueError):
    """The folder is not a readable evidence pack."""


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
    if not isinstance(data, dict) or not isinstance(data.get("outputs"), list):
        raise PackError(
            MSG_BAD_MANIFEST.format(path=pack, manifest=MANIFEST_NAME, reason="no outputs list")
        )
    return data


def verify_pack(pack: Path) -> VerifyReport:
    """Recompute every digest listed in the manifest; report modified, missing, unexpected."""
    manifest = read_manifest(pack)
    listed = {item["path"]: item["sha256"] for item in manifest["outputs"]}
    present = {
        p.relative_to(pack).as_posix()
        for p in pack.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    }
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
