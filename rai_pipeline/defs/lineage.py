"""Lineage ids that every evaluation records: code, dbt manifest, package version."""

from __future__ import annotations

import subprocess
from functools import cache

from rai_pipeline import __version__
from rai_pipeline.core.evidence.manifest import file_sha256
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.settings import PROJECT_ROOT


@cache
def git_commit() -> str:
    """The checked-out commit, with ``+dirty`` when tracked files differ; ``unknown`` outside
    a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def code_lineage() -> dict[str, str]:
    return {
        "git_commit": git_commit(),
        "dbt_manifest_sha256": file_sha256(dbt_project.manifest_path),
        "rai_pipeline_version": __version__,
    }
