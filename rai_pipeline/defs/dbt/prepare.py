"""Make sure the dbt manifest exists and is current before the definitions load it.

``DbtProject.prepare_if_dev()`` only acts under ``dagster dev``; every other entry point
(the CLI, tests, ``execute_in_process``) needs the manifest too, so they call
:func:`ensure_dbt_manifest`. ``dbt parse`` runs offline in a few seconds, and only when a file
of the dbt project is newer than the manifest; processes starting together (two
``rai evaluate`` on a fresh checkout) parse one at a time, and the later ones find it current.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from rai_pipeline.core.storage import exclusive_lock
from rai_pipeline.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

_SOURCES = ("models", "macros", "tests", "seeds", "snapshots")
PARSE_LOCK = ".parse.lock"


def _newest_source_mtime(project_dir: Path) -> float:
    paths = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in _SOURCES:
        paths.extend(p for p in (project_dir / folder).rglob("*") if p.is_file())
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def manifest_is_current(project_dir: Path = DBT_PROJECT_DIR) -> bool:
    manifest = project_dir / "target" / "manifest.json"
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir)


def ensure_dbt_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Run ``dbt parse`` when the manifest is missing or older than the project's files."""
    manifest = project_dir / "target" / "manifest.json"
    if manifest_is_current(project_dir):
        return manifest
    with exclusive_lock(project_dir / "target" / PARSE_LOCK, what="dbt parse"):
        if not manifest_is_current(project_dir):  # another process may have parsed meanwhile
            _parse(project_dir)
            manifest.touch()
    return manifest


def _parse(project_dir: Path) -> None:
    env = dict(os.environ)
    env.setdefault("RAI_HOME", str(Path(".rai").resolve()))
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "parse",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"dbt parse failed for {project_dir} (exit {result.returncode}):\n"
            + (result.stdout[-4000:] or result.stderr[-4000:])
        )
