"""Resources: the warehouse, the MLflow store and the evaluation config.

Locations resolve when a run starts (from ``RAI_HOME`` / ``RAI_CONFIG`` or explicit config),
never at import time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.core.config import EvaluationConfig, load_config
from rai_pipeline.settings import DEMO_CONFIG, RaiHome, rai_home

WAREHOUSE_POOL = "rai_warehouse"
LOCK_RETRY_SECONDS = 120.0


def _home(root: str | None) -> RaiHome:
    return RaiHome(Path(root).resolve()) if root else rai_home()


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file under RAI_HOME.

    DuckDB lets one process at a time hold the file; a connection attempt that meets another
    process's lock is retried for up to ``lock_timeout_seconds``.
    """

    home: str | None = None
    lock_timeout_seconds: float = LOCK_RETRY_SECONDS

    @property
    def path(self) -> Path:
        return _home(self.home).warehouse

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + self.lock_timeout_seconds
        while True:
            try:
                conn = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        try:
            yield conn
        finally:
            conn.close()


class MlflowResource(dg.ConfigurableResource):
    """The MLflow tracking store and model registry under RAI_HOME (or explicit URIs)."""

    home: str | None = None
    tracking_uri: str | None = None
    artifact_root: str | None = None

    def store(self) -> MlflowStore:
        home = _home(self.home)
        return MlflowStore(
            tracking_uri=self.tracking_uri or home.tracking_uri,
            artifact_root=self.artifact_root or str(home.artifact_root),
        )


class EvaluationConfigResource(dg.ConfigurableResource):
    """The evaluation config: ``path``, else ``$RAI_CONFIG``, else the demo config."""

    path: str | None = None

    def resolved_path(self) -> Path:
        import os

        return Path(self.path or os.environ.get("RAI_CONFIG") or DEMO_CONFIG)

    def load(self) -> EvaluationConfig:
        return load_config(self.resolved_path())


class RaiHomeResource(dg.ConfigurableResource):
    """The RAI_HOME folder (evidence packs, staging area)."""

    home: str | None = None

    def get(self) -> RaiHome:
        return _home(self.home)
