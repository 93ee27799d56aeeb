"""Resources: the warehouse, the MLflow store and the evaluation config.

Locations resolve when a run starts (from ``RAI_HOME`` / ``RAI_CONFIG`` or explicit config),
never at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import dagster as dg

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.adapters.spark_session import local_session, stop_local_session
from rai_pipeline.adapters.sql_engines import BUILD_LOCK, PostgresEngine, SparkEngine
from rai_pipeline.adapters.warehouse_lock import DEFAULT_TIMEOUT_SECONDS, connect_warehouse
from rai_pipeline.core.config.schema import EvaluationConfig, load_config
from rai_pipeline.core.llm_safety.config import LlmSafetyConfig, load_llm_config
from rai_pipeline.core.monitoring.monitors import MonitoringConfig, load_monitoring_config
from rai_pipeline.settings import DEMO_CONFIG, RaiHome, rai_home

WAREHOUSE_POOL = "rai_warehouse"
DBT_TARGETS = {"duckdb": "local", "postgres": "postgres", "spark": "spark"}  # profiles.yml
DISPOSITIONS_FILENAME = "dispositions.yaml"
MSG_NO_MONITORING_CONFIG = (
    "no monitoring config: set RAI_MONITORING_CONFIG or the monitoring_config resource's path "
    "(docs/monitoring.md)"
)
MSG_NO_LLM_CONFIG = (
    "no LLM safety config: set RAI_LLM_CONFIG or the llm_config resource's path "
    "(docs/llm-safety.md)"
)


def _home(root: str | None) -> RaiHome:
    return RaiHome(Path(root).resolve()) if root else rai_home()


# This thread's hold on the PostgreSQL warehouse's BUILD_LOCK ("exclusive" or "shared"): a
# connection opened while it is held does not ask again, which could wait on a build queued
# behind the hold itself.
_HOLD = threading.local()


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: by default the DuckDB file under RAI_HOME; with ``engine: postgres``, the
    PostgreSQL database of ``RAI_WAREHOUSE_PG_*`` (the one dbt's ``postgres`` target builds
    in), through :class:`~rai_pipeline.adapters.sql_engines.PostgresEngine`; with ``engine:
    spark``, this process's local Spark session on RAI_HOME's Spark warehouse
    (:func:`~rai_pipeline.adapters.spark_session.local_session`), through
    :class:`~rai_pipeline.adapters.sql_engines.SparkEngine`. The evaluation job gets the
    engine from the config's ``warehouse`` key
    (:func:`~rai_pipeline.defs.evaluation.jobs.warehouse_run_config`).

    DuckDB lets one process at a time hold the file; a connection attempt that meets another
    process's lock is retried for up to ``lock_timeout_seconds``. PostgreSQL takes runs in
    parallel: a dbt build there holds the warehouse's build lock (:meth:`build_turn`), and
    every connection of a step shares it, so that no step reads a model while dbt replaces it.
    The local Spark catalog, like the DuckDB file, serves one process at a time: a run on it
    runs in one process (dbt included, ``defs/dbt/in_process.py``), and stops the session
    when the run's resources are torn down, so that the next run's process can open it.
    """

    home: str | None = None
    lock_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    engine: Literal["duckdb", "postgres", "spark"] = "duckdb"

    @property
    def path(self) -> Path:
        return _home(self.home).warehouse

    @property
    def dbt_target(self) -> str:
        """The target of dbt_project/profiles.yml that builds in this warehouse."""
        return DBT_TARGETS[self.engine]

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.engine == "postgres":
            with PostgresEngine.from_environment() as engine, _holding(engine, "shared"):
                yield engine
            return
        if self.engine == "spark":  # the session lives until the run's end (teardown)
            yield SparkEngine(local_session(_home(self.home)))
            return
        conn = connect_warehouse(self.path, timeout=self.lock_timeout_seconds)
        try:
            yield conn
        finally:
            conn.close()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self.engine == "spark":
            stop_local_session()

    @contextmanager
    def build_turn(self) -> Iterator[None]:
        """The block in which a dbt build of this warehouse runs: on PostgreSQL it holds the
        build lock exclusively (waiting for the steps reading the models to finish); on
        DuckDB it holds nothing (dbt opens the file itself, and runs take turns on it)."""
        if self.engine != "postgres":
            yield
            return
        with PostgresEngine.from_environment() as engine, _holding(engine, "exclusive"):
            yield


@contextmanager
def _holding(engine: PostgresEngine, mode: str) -> Iterator[None]:
    """``engine``'s session holds BUILD_LOCK in ``mode`` for the block, unless this thread
    already holds it."""
    if getattr(_HOLD, "mode", None) is not None:
        yield
        return
    with engine.advisory_lock(BUILD_LOCK, shared=mode == "shared"):
        _HOLD.mode = mode
        try:
            yield
        finally:
            _HOLD.mode = None


class MlflowResource(dg.ConfigurableResource):
    """The MLflow tracking store and model registry: explicit URIs, else
    ``$RAI_MLFLOW_TRACKING_URI`` / ``$RAI_MLFLOW_ARTIFACT_ROOT``, else the SQLite store under
    RAI_HOME."""

    home: str | None = None
    tracking_uri: str | None = None
    artifact_root: str | None = None

    def store(self) -> MlflowStore:
        home = _home(self.home)
        return MlflowStore(
            tracking_uri=self.tracking_uri
            or os.environ.get("RAI_MLFLOW_TRACKING_URI")
            or home.tracking_uri,
            artifact_root=self.artifact_root
            or os.environ.get("RAI_MLFLOW_ARTIFACT_ROOT")
            or str(home.artifact_root),
        )


class EvaluationConfigResource(dg.ConfigurableResource):
    """The evaluation config: ``path``, else ``$RAI_CONFIG``, else the demo config.

    Reviewer dispositions: ``dispositions_path``, else ``$RAI_DISPOSITIONS``, else a
    ``dispositions.yaml`` beside the config file when there is one.
    """

    path: str | None = None
    dispositions_path: str | None = None

    def resolved_path(self) -> Path:
        """The config file, absolute (packs record it, and audits read it from anywhere)."""
        return Path(self.path or os.environ.get("RAI_CONFIG") or DEMO_CONFIG).resolve()

    def resolved_dispositions_path(self) -> Path | None:
        explicit = self.dispositions_path or os.environ.get("RAI_DISPOSITIONS")
        if explicit:
            return Path(explicit)
        beside = self.resolved_path().with_name(DISPOSITIONS_FILENAME)
        return beside if beside.exists() else None

    def load(self) -> EvaluationConfig:
        return load_config(self.resolved_path())


class RaiHomeResource(dg.ConfigurableResource):
    """The RAI_HOME folder (evidence packs, staging area)."""

    home: str | None = None

    def get(self) -> RaiHome:
        return _home(self.home)


class LlmConfigResource(dg.ConfigurableResource):
    """The LLM safety config (docs/llm-safety.md): ``path``, else ``$RAI_LLM_CONFIG``."""

    path: str | None = None

    def resolved_path(self) -> Path | None:
        value = self.path or os.environ.get("RAI_LLM_CONFIG")
        return Path(value).resolve() if value else None

    def load(self) -> LlmSafetyConfig:
        path = self.resolved_path()
        if path is None:
            raise ValueError(MSG_NO_LLM_CONFIG)
        return load_llm_config(path)[0]


class MonitoringConfigResource(dg.ConfigurableResource):
    """The monitoring config (docs/monitoring.md): ``path``, else ``$RAI_MONITORING_CONFIG``."""

    path: str | None = None

    def resolved_path(self) -> Path | None:
        value = self.path or os.environ.get("RAI_MONITORING_CONFIG")
        return Path(value).resolve() if value else None

    def path_or_error(self) -> Path:
        path = self.resolved_path()
        if path is None:
            raise ValueError(MSG_NO_MONITORING_CONFIG)
        return path

    def load(self) -> MonitoringConfig:
        return load_monitoring_config(self.path_or_error())
