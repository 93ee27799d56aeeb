"""The local Spark session of a RAI_HOME: the Spark warehouse the pipeline builds in when the
config says ``warehouse: {engine: spark}`` and no cluster session is given.

Its tables are Parquet folders under ``RAI_HOME/spark-warehouse`` and its catalog (which
tables exist, their columns and partitions) is a Hive metastore in an embedded Derby database
under ``RAI_HOME/spark-metastore``, so that what one process writes, the next one finds:
dbt-spark's process, a Dagster step's, ``rai trace``'s. Derby lets one process at a time
open it, so runs on the local session take turns, as on the DuckDB file, and a run's process
stops its session, Java process included, before its turn ends (:func:`stop_local_session`);
a cluster's Hive metastore (or Unity/Glue catalog) serves many at once (docs/scaling.md).

dbt's ``spark`` target (``dbt_project/profiles.yml``) names the same settings, so that a dbt
build in its own process opens the same catalog; a test holds the two together.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rai_pipeline.settings import RaiHome

SPARK_WAREHOUSE = "spark-warehouse"
SPARK_METASTORE = "spark-metastore"
SPARK_SESSIONS = "spark-sessions"  # Hive's per-session folders
# Spark's log: errors only (its default prints warnings and start-up notes on every run)
SPARK_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")


def local_conf(root: Path) -> dict[str, str]:
    """The Spark settings of the local session of the RAI_HOME at ``root``: its warehouse
    folder and metastore, quiet (no UI, no progress bars), timestamps in UTC. Derby's log and
    Hive's session folders go under ``root`` too, never in the working directory or /tmp."""
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(root / SPARK_WAREHOUSE),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={root / SPARK_METASTORE};create=true"
        ),
        # Hive's per-session folder, else one more folder in /tmp for every process
        "spark.hadoop.hive.downloaded.resources.dir": str(root / SPARK_SESSIONS),
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={root} -Dderby.stream.error.file={root / 'derby.log'}"
        ),
        "spark.sql.session.timeZone": "UTC",
        # dbt-spark sets it on the session it is given; set from the start, every query of a
        # run is read the same way, before dbt's first one and after
        "spark.sql.ansi.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def local_session(home: RaiHome, *, cores: int | None = None) -> Any:
    """This process's Spark session on ``home``'s local warehouse (started on first use, on
    ``cores`` cores, all by default; then the same session). Python workers (an MLflow
    ``spark_udf``) run this interpreter, which has the model's packages."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # read by log4j in the Java process this starts (errors only), unless set otherwise
    os.environ.setdefault("LOG4J_CONFIGURATION_FILE", str(SPARK_LOG_CONFIG))
    home.root.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.master(f"local[{cores or '*'}]").appName("rai-pipeline")
    for name, value in local_conf(home.root).items():
        builder = builder.config(name, value)
    session = builder.enableHiveSupport().getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_local_session(timeout: float = 60.0) -> bool:
    """Stop this process's Spark session and the Java process behind it, and wait until that
    has exited, so that the local catalog (embedded Derby) is free for the next process; a
    later :func:`local_session` starts a new one. Nothing to stop: False."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()  # this thread's
    context = SparkContext._active_spark_context
    gateway = SparkContext._gateway
    if session is None and context is None and gateway is None:
        return False
    if session is not None:
        session.stop()  # its context too
    elif context is not None:
        context.stop()
    if gateway is not None:
        gateway.shutdown()
        process = getattr(gateway, "proc", None)
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # the gateway server exits when its input ends
            process.wait(timeout=timeout)
        SparkContext._gateway = None
        SparkContext._jvm = None
    return True
