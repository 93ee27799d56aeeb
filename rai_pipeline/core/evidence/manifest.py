"""The manifest that ties an evidence pack together.

``manifest.json`` lists every input (landed extracts, model artifacts, config, dbt manifest,
expectation suite) and every output file of the pack with its sha256, plus the lineage ids of
the evaluation. Its own sha256 is the pack's *evidence digest*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rai_pipeline.core.storage import file_sha256

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1


def describe_outputs(pack_dir: Path) -> list[dict[str, Any]]:
    """Every file of the pack except the manifest: relative path, bytes, sha256; sorted."""
    top = pack_dir / MANIFEST_NAME
    files = sorted(p for p in pack_dir.rglob("*") if p.is_file() and p != top)
    return [
        {
            "path": path.relative_to(pack_dir).as_posix(),
            "bytes": path.stat().st_size,
            "sha256": file_sha256(path),
        }
        for path in files
    ]


def build_manifest(
    pack_dir: Path, *, inputs: Sequence[Mapping[str, Any]], lineage: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "lineage": dict(sorted(lineage.items())),
        "inputs": [dict(item) for item in inputs],
        "outputs": describe_outputs(pack_dir),
    }


def write_manifest(pack_dir: Path, manifest: Mapping[str, Any]) -> str:
    """Write ``manifest.json`` (canonical JSON) and return its sha256: the evidence digest."""
    path = pack_dir / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return file_sha256(path)


def public_uri(uri: str) -> str:
    """``uri`` without user name or password, as it may be recorded and shown.

    Examples
    --------
    >>> public_uri("https://alice:secret@mlflow.example.org/")
    'https://mlflow.example.org/'
    >>> public_uri("sqlite:////tmp/mlflow.db")
    'sqlite:////tmp/mlflow.db'
    """
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
