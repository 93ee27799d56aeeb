"""`rai ui`: the Dagster UI and daemon for the project's code location, on 127.0.0.1."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
from rai_pipeline.settings import PROJECT_ROOT, configure_environment


def start_ui(port: int) -> None:
    """Prepare RAI_HOME and the dbt manifest, then replace this process with ``dagster dev``
    on ``workspace.yaml`` (whose code location is :mod:`rai_pipeline.code_location`)."""
    configure_environment()
    ensure_dbt_manifest()
    dagster = str(Path(sys.executable).with_name("dagster"))
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    os.execv(dagster, [dagster, "dev", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)])
