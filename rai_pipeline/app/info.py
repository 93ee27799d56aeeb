"""``rai info``: where this RAI_HOME keeps everything, and the active config. Read-only: it
creates no folder and opens no store."""

from __future__ import annotations

import os
from pathlib import Path

from rai_pipeline.settings import DEMO_CONFIG, RaiHome

CONFIG_ENV = "RAI_CONFIG"


def active_config(explicit: Path | None = None) -> Path:
    """The config a command uses: ``explicit``, else ``$RAI_CONFIG``, else the demo's."""
    if explicit is not None:
        return explicit
    return Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else DEMO_CONFIG


def describe_home(home: RaiHome, config: Path) -> dict[str, str]:
    """The locations a user needs, as absolute paths and URIs."""
    return {
        "rai_home": str(home.root),
        "tracking_uri": home.tracking_uri,
        "registry_uri": home.tracking_uri,
        "artifact_root": str(home.artifact_root),
        "warehouse": str(home.warehouse),
        "landing": str(home.landing),
        "evidence": str(home.evidence),
        "dagster_home": str(home.dagster_home),
        "config": str(config.resolve()),
    }


def shell_exports(info: dict[str, str]) -> list[str]:
    """``export`` lines that point MLflow and rai at this home (``eval "$(rai info --env)"``)."""
    return [
        f"export RAI_HOME={_quoted(info['rai_home'])}",
        f"export MLFLOW_TRACKING_URI={_quoted(info['tracking_uri'])}",
        f"export MLFLOW_REGISTRY_URI={_quoted(info['registry_uri'])}",
        f"export RAI_MLFLOW_ARTIFACT_ROOT={_quoted(info['artifact_root'])}",
        f"export {CONFIG_ENV}={_quoted(info['config'])}",
    ]


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
