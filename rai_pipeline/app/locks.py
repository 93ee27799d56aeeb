"""Exclusive locks on files under RAI_HOME, for what concurrent processes on one home must do
one at a time (``rai evaluate`` of several versions at once, say).

- **Opening the Dagster instance.** The first opening creates its SQLite storage (tables,
  then a stamp of the schema's revision). Processes doing so at once on a new RAI_HOME create
  the same tables twice: all but one fail, and the revision table can be left with two rows,
  which breaks the instance for good.
- **Evaluation runs on the DuckDB warehouse.** DuckDB takes one writing process at a time, so
  the steps of runs started together would only take turns on it, through the pool
  ``rai_warehouse``, whose waiting steps poll at intervals growing to 15 s; and each run would
  find the shared warehouse models not current (:mod:`~rai_pipeline.defs.dbt.freshness`) and
  build them again. Under the lock the runs queue as the registry sensor's runs do (the tag
  ``rai/warehouse``, limit 1): each starts when the one before ends, the first builds the
  shared models, and the others find them current and skip them. On a PostgreSQL warehouse
  the lock is kept only by a run that builds the shared models; the others let it go once
  they have decided, and run side by side.

The lock itself is :func:`rai_pipeline.core.storage.exclusive_lock`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rai_pipeline.core.storage import exclusive_lock
from rai_pipeline.settings import RaiHome

INSTANCE_LOCK = ".instance.lock"
WAREHOUSE_RUNS_LOCK = ".warehouse-runs.lock"


def open_instance(home: RaiHome) -> Any:
    """``DagsterInstance.get()`` (``DAGSTER_HOME``, set by ``configure_environment``) under an
    exclusive lock on ``<home>/dagster/.instance.lock``."""
    import dagster as dg

    with exclusive_lock(home.dagster_home / INSTANCE_LOCK):
        return dg.DagsterInstance.get()


def warehouse_runs_lock(home: RaiHome) -> Path:
    """The lock an evaluation run on the DuckDB warehouse holds from before it decides what to
    build until it ends."""
    return home.root / WAREHOUSE_RUNS_LOCK
