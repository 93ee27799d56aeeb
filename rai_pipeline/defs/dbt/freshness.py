"""Whether the shared warehouse models are current, so that an evaluation run can skip them.

The staging and intermediate models (``warehouse_models``) depend on three things only: the
landed data set, the dbt vars the evaluation config gives them (threshold and sensitive
attributes), and their own SQL. A build first drops the record, and a successful one writes a
digest of the three into the warehouse it built them in (table ``rai.shared_models_build``),
with its Dagster run and where dbt wrote its executed SQL. An evaluation run for a model
version builds them again only when that digest differs or is missing (another warehouse file,
another data set, another config); otherwise it reads them as built, and its pack's lineage
takes their SQL and their tests' outcomes from the recorded build.

On a PostgreSQL warehouse (the config's ``warehouse.engine``) the record is a table of that
database, read as any client reads it. On the local Spark warehouse it is a table of its
catalog, which one process at a time may open: it is read only by the process the run will
execute in (``rai evaluate``), which keeps the session for the run; elsewhere (the registry
sensor) the answer is "not known to be current". On DuckDB it is read through a read-only
connection that by default does not wait: when another process holds the warehouse (a run
writing it while the registry sensor ticks), the answer is "not known to be current", and the
run builds the models again: slower, never wrong. ``rai evaluate`` waits for the warehouse
instead, and decides once its run's turn on the warehouse has come
(:mod:`rai_pipeline.app.locks`), so that runs started together build them once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from rai_pipeline.adapters.warehouse_lock import WarehouseBusyError, connect_warehouse
from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine.results import RESULTS_SCHEMA, table_exists
from rai_pipeline.core.landing.extracts import read_current_version
from rai_pipeline.core.schemas.attributes import dbt_vars
from rai_pipeline.defs.dbt.project import dbt_project
from rai_pipeline.settings import RaiHome

RECORD_SCHEMA = RESULTS_SCHEMA
RECORD_TABLE = f"{RECORD_SCHEMA}.shared_models_build"
PER_RUN_TAGS = ("per_model_version", "llm_safety", "monitoring")


def _shared_nodes(manifest: dict[str, Any]) -> dict[str, str]:
    """Checksums of the nodes ``warehouse_models`` builds and tests (not tagged for a domain or
    a model version), and the sources they read."""
    nodes = {
        unique_id: node["checksum"]["checksum"]
        for unique_id, node in manifest["nodes"].items()
        if not set(node.get("tags", [])) & set(PER_RUN_TAGS) and "checksum" in node
    }
    for unique_id, source in manifest.get("sources", {}).items():
        nodes[unique_id] = json.dumps(
            {"config": source.get("config"), "meta": source.get("meta")}, sort_keys=True
        )
    return nodes


def inputs_digest(home: RaiHome, config: EvaluationConfig) -> str | None:
    """sha256 of what the shared models depend on (module docstring); None when nothing is
    landed."""
    version = read_current_version(home.landing)
    if version is None:
        return None
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    payload = {
        "dataset_version": version,
        "dbt_vars": dbt_vars(config),
        "nodes": _shared_nodes(manifest),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def record_build(conn: Any, *, digest: str, target: Path, run_id: str) -> None:
    """Record a successful build of the shared models in the warehouse ``conn`` writes."""
    conn.execute(f"create schema if not exists {RECORD_SCHEMA}")
    forget_build(conn)  # a crash before the next statement leaves no record: a rebuild
    conn.execute(
        f"create table {RECORD_TABLE} as select cast(? as varchar) as digest, "
        "cast(? as varchar) as target, cast(? as varchar) as dagster_run_id",
        [digest, str(target), run_id],
    )


def forget_build(conn: Any) -> None:
    """Drop the record before a build, so that a build that fails leaves none."""
    conn.execute(f"drop table if exists {RECORD_TABLE}")


def read_build(conn: Any) -> dict[str, Any] | None:
    """The recorded build of the shared models in the warehouse ``conn`` reads, or None."""
    if not table_exists(conn, RECORD_TABLE.split(".")[1]):
        return None
    rows = conn.execute(f"select digest, target, dagster_run_id from {RECORD_TABLE}").fetchall()
    if len(rows) != 1:
        return None
    return {"digest": rows[0][0], "target": rows[0][1], "dagster_run_id": rows[0][2]}


def current_build(
    home: RaiHome,
    config: EvaluationConfig,
    *,
    wait_seconds: float = 0.0,
    run_here: bool = False,
) -> dict[str, Any] | None:
    """The recorded build when the shared models are current for ``config`` and the landed
    data set in the warehouse; else None (also when the warehouse cannot be read within
    ``wait_seconds``: 0, the default, does not wait). On the local Spark warehouse, only when
    the run will execute in this process (``run_here``): the session started to read the
    record stays for the run, whose resources stop it."""
    digest = inputs_digest(home, config)
    if digest is None:
        return None
    if config.warehouse.engine == "spark":
        build = _read_spark_build(home) if run_here else None
    elif config.warehouse.engine == "postgres":
        build = _read_postgres_build()
    elif not home.warehouse.is_file():
        return None
    else:
        try:
            with connect_warehouse(home.warehouse, read_only=True, timeout=wait_seconds) as conn:
                build = read_build(conn)
        except (duckdb.Error, WarehouseBusyError):
            return None
    return build if build is not None and build["digest"] == digest else None


def _read_postgres_build() -> dict[str, Any] | None:
    """The record in the PostgreSQL warehouse of ``RAI_WAREHOUSE_PG_*``; None when it cannot
    be read (no server, no such variables): the run then builds, and says why if it fails."""
    import psycopg2

    from rai_pipeline.adapters.sql_engines import PostgresEngine

    try:
        with PostgresEngine.from_environment() as engine:
            return read_build(engine)
    except (psycopg2.Error, ValueError):
        return None


def _read_spark_build(home: RaiHome) -> dict[str, Any] | None:
    """The record in ``home``'s local Spark warehouse, on this process's session; None when
    there is no such warehouse yet or its catalog cannot be read (the run then builds, and
    says why if it fails)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    from rai_pipeline.adapters.spark_session import SPARK_METASTORE, local_session
    from rai_pipeline.adapters.sql_engines import SparkEngine

    if not (home.root / SPARK_METASTORE).is_dir():
        return None
    try:
        return read_build(SparkEngine(local_session(home)))
    except (PySparkException, Py4JError):
        return None
