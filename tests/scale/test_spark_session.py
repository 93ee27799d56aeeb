"""The local Spark session of a RAI_HOME (``adapters/spark_session.py``): what one process
writes there, the next finds (a persistent catalog: Derby under RAI_HOME), as does a process
that stops its session (Java process included) and starts another; nothing lands in the
working directory, and dbt's ``spark`` target opens the same warehouse and catalog.

Each process starts its own JVM (several seconds), as the pipeline's processes do; the
session-wide ``spark`` fixture cannot serve here, its catalog lives in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rai_pipeline.adapters.spark_session import local_conf
from rai_pipeline.defs.dbt.project import DBT_PROJECT_DIR
from tests.scale.test_result_tables import rows

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# one process on the local session: replace keys' rows (``version:rows``), print every key's
# rows as JSON (``read``), stop the session and start a new one (``restart``), in the order given
PROCESS = """
import json, sys
from pathlib import Path
from pyspark import SparkContext
from rai_pipeline.adapters.spark_session import local_session, stop_local_session
from rai_pipeline.adapters.sql_engines import SparkEngine
from rai_pipeline.core.engine import results
from rai_pipeline.settings import RaiHome
from tests.scale.test_result_tables import rows

home = RaiHome(Path(sys.argv[1]))
engine = SparkEngine(local_session(home, cores=1))
for step in sys.argv[2:]:
    if step == "restart":
        java = SparkContext._gateway.proc
        assert stop_local_session() and java.poll() is not None  # the Java process is gone
        assert not stop_local_session()  # nothing left to stop
        engine = SparkEngine(local_session(home, cores=1))
        continue
    if step == "read":
        frame = results.read_rows(engine, "slice_metrics", key={})
        print(frame.sort_values(["model_version", "n"]).to_json(orient="records"))
        continue
    version, n = step.split(":")
    key = {"model_version": version}
    results.replace_rows(engine, "slice_metrics", rows(version, int(n), seed=int(n)), key=key)
"""


def _run(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, *args],
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_what_one_process_writes_the_next_finds(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    _run(cwd, str(home), "1:3", "2:2")
    # the next process finds both versions, replaces version 1's rows only, stops its session
    # and reads them back on a new one
    out = _run(cwd, str(home), "1:1", "restart", "read")
    got = pd.DataFrame(json.loads(out.strip().splitlines()[-1]))
    expected = pd.concat([rows("1", 1, seed=1), rows("2", 2, seed=2)])
    expected = expected.sort_values(["model_version", "n"], ignore_index=True)
    columns = ["model_version", "group", "n", "note"]
    pd.testing.assert_frame_equal(got[columns], expected[columns], check_dtype=False)
    assert list(cwd.iterdir()) == []  # no metastore_db, derby.log or spark-warehouse here
    assert {p.name for p in home.iterdir()} >= {"spark-warehouse", "spark-metastore"}


def test_dbt_spark_target_opens_the_same_warehouse_and_catalog(tmp_path: Path) -> None:
    """dbt-spark starts its own session from the profile when it runs in its own process:
    the profile must name the settings the pipeline's processes use."""
    text = (DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    rendered = text.replace("{{ env_var('RAI_HOME') }}", str(tmp_path))
    target = yaml.safe_load(rendered)["rai"]["outputs"]["spark"]
    assert target["method"] == "session"
    assert target["server_side_parameters"] == {
        **local_conf(tmp_path),
        # the profile names the UI settings too; both are off
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
