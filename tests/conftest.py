"""Test setup: telemetry off before anything imports MLflow, dbt, Dagster or GE."""

import os

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
os.environ["GX_ANALYTICS_ENABLED"] = "False"
os.environ["DO_NOT_TRACK"] = "1"

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The dbt manifest the Dagster definitions load (built by ``dbt parse`` if stale)."""
    from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest

    return ensure_dbt_manifest()


@pytest.fixture(scope="session")
def demo(tmp_path_factory, dbt_manifest):
    """One demo run per test session, shared by the end-to-end, browser and reliability
    tests: its RAI_HOME, the version outcomes and the printed lines."""
    from rai_pipeline.app.demo import run_demo
    from rai_pipeline.settings import RaiHome

    home = RaiHome(tmp_path_factory.mktemp("rai_home"))
    lines: list[str] = []
    outcomes = run_demo(home, echo=lines.append)
    return home, outcomes, lines
