"""The version of this code that produced a piece of evidence (no Dagster import)."""

from __future__ import annotations

import subprocess
from functools import cache

from rai_pipeline import __version__
from rai_pipeline.settings import PROJECT_ROOT


@cache
def git_commit() -> str:
    """The checked-out commit, with ``+dirty`` when tracked files differ; ``unknown`` outside
    a git checkout (an installed package)."""
    git = ["git", "-C", str(PROJECT_ROOT)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def code_version() -> dict[str, str]:
    return {"git_commit": git_commit(), "rai_pipeline_version": __version__}
