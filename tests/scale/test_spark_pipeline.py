"""The evaluation pipeline on the local Spark warehouse (the config's ``warehouse: {engine:
spark}``), end to end: ``rai evaluate`` lands nothing new, scores with an MLflow ``spark_udf``,
builds the evaluation frame with dbt-spark inside the run's process, runs the checks and the
slice engine on the same Spark session, and publishes a pack equal to the one the same config
gives on DuckDB, the default warehouse.

The data set is the COMPAS example with the costly extras turned down; one model version is
trained and registered in each RAI_HOME (the same training gives the same model). Each
``rai evaluate`` runs in a working directory of its own, which must stay empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rai_pipeline.app.land import land
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import RaiHome
from tests.scale.compas_models import MODEL, compas_config, train_and_register

pytestmark = pytest.mark.slow

RAI = str(Path(sys.executable).parent / "rai")


@dataclass(frozen=True)
class Evaluated:
    home: RaiHome
    ref: ModelVersionRef
    cwd: Path
    code: int
    out: str
    err: str

    @property
    def pack(self) -> Path:
        return self.home.pack_dir(self.ref.name, self.ref.version)

    def rai(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RAI, *args],
            cwd=self.cwd,
            env={**os.environ, "RAI_HOME": str(self.home.root)},
            capture_output=True,
            text=True,
            timeout=900,
        )


def _evaluate(folder: Path, engine: str) -> Evaluated:
    """Land the data set, register one version and evaluate it on the warehouse ``engine``."""
    home, cwd = RaiHome(folder / "home"), folder / "cwd"
    cwd.mkdir()
    config = compas_config(folder, engine)
    land(config, home=home, echo=lambda _: None)
    (ref,) = train_and_register(home, [1.0])
    started = Evaluated(home, ref, cwd, 0, "", "")
    done = started.rai("evaluate", MODEL, "--version", ref.version, "--config", str(config))
    return Evaluated(home, ref, cwd, done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def on_duckdb(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Evaluated:
    return _evaluate(tmp_path_factory.mktemp("on-duckdb"), "duckdb")


@pytest.fixture(scope="module")
def on_spark(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Evaluated:
    evaluated = _evaluate(tmp_path_factory.mktemp("on-spark"), "spark")
    assert evaluated.code == 0, f"{evaluated.out[-3000:]}\n{evaluated.err[-3000:]}"
    return evaluated


def test_the_pack_equals_duckdbs_table_for_table(on_duckdb: Evaluated, on_spark: Evaluated) -> None:
    """Every table of the pack, value for value; the pack says where it was evaluated, and
    ``rai verify`` accepts it."""
    assert on_duckdb.code == 0, on_duckdb.err[-3000:]
    tables = sorted(path.name for path in on_duckdb.pack.glob("*.parquet"))
    assert "slice_metrics.parquet" in tables and "fairness_metrics.parquet" in tables
    assert sorted(path.name for path in on_spark.pack.glob("*.parquet")) == tables
    for name in tables:
        expected = read_parquet(on_duckdb.pack / name)
        pd.testing.assert_frame_equal(read_parquet(on_spark.pack / name), expected, obj=name)
    lineage = json.loads((on_spark.pack / "manifest.json").read_text())["lineage"]
    assert lineage["warehouse"] == "spark"
    verified = on_spark.rai("verify", str(on_spark.pack))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _recorded(home: RaiHome) -> tuple[dict[str, int], set[tuple[str, str, bool]]]:
    """The one run of ``home``'s Dagster instance: how often each asset was materialized, and
    each asset check evaluated (asset, check, passed)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home.dagster_home))) as instance:
        (record,) = instance.get_run_records()
        run_id = record.dagster_run.run_id
        materialized: dict[str, int] = {}
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            key = event.dagster_event.asset_key.to_user_string()  # type: ignore[union-attr]
            materialized[key] = materialized.get(key, 0) + 1
        checks = set()
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            data: Any = event.dagster_event.event_specific_data  # type: ignore[union-attr]
            checks.add((data.asset_key.to_user_string(), data.check_name, data.passed))
        return materialized, checks


def test_dbt_ran_in_the_run_and_dagster_recorded_every_model_and_test(
    on_duckdb: Evaluated, on_spark: Evaluated
) -> None:
    """dbt ran inside the run's process on Spark (dagster-dbt's own process on DuckDB); each
    model is one materialization and each dbt test one passing check, as on DuckDB."""
    spark_assets, spark_checks = _recorded(on_spark.home)
    duck_assets, duck_checks = _recorded(on_duckdb.home)
    assert spark_assets == duck_assets
    assert set(spark_assets.values()) == {1}
    assert {"marts/eval_frame", "staging/stg_examples", "predictions"} <= set(spark_assets)
    assert spark_checks == duck_checks
    dbt_checks = {check for check in spark_checks if check[0] == "staging/stg_examples"}
    assert dbt_checks and all(passed for _, _, passed in spark_checks)


def test_the_warehouse_is_spark_and_the_working_directory_stays_empty(
    on_spark: Evaluated,
) -> None:
    home = on_spark.home
    assert not home.warehouse.exists()  # no DuckDB file
    assert (home.root / "spark-warehouse" / "marts.db" / "eval_frame").is_dir()
    assert list(on_spark.cwd.iterdir()) == []
    log = home.root / "logs" / f"{on_spark.ref.name}-{on_spark.ref.version}.log"
    assert "dbt" in log.read_text() and "DagsterDbtCliRuntimeError" not in log.read_text()


def test_trace_reads_the_rows_from_the_spark_warehouse_as_from_duckdb(
    on_duckdb: Evaluated, on_spark: Evaluated
) -> None:
    def rows(evaluated: Evaluated) -> list[dict[str, Any]]:
        done = evaluated.rai(
            "trace", str(evaluated.pack), "--dimension", "gender", "--group", "Female",
            "--metric", "selection_rate", "--rows", "--limit", "20", "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)["rows"]

    got = rows(on_spark)
    assert len(got) == 20 and {row["gender"] for row in got} == {"Female"}
    assert got == rows(on_duckdb)
    assert list(on_spark.cwd.iterdir()) == []


def test_trace_without_the_spark_warehouse_says_so_and_starts_none(on_spark: Evaluated) -> None:
    """The pack's RAI_HOME without its Spark catalog: the rows cannot be read, and the
    read-only command starts no session and creates no new catalog."""
    catalog = on_spark.home.root / "spark-metastore"
    aside = catalog.with_name("spark-metastore.aside")
    catalog.rename(aside)
    try:
        done = on_spark.rai(
            "trace", str(on_spark.pack), "--dimension", "gender", "--group", "Female",
            "--metric", "selection_rate", "--rows",
        )  # fmt: skip
        assert done.returncode != 0
        assert f"no warehouse at {catalog}" in " ".join((done.stdout + done.stderr).split())
        assert not catalog.exists()
        assert "incubator" not in done.stderr  # no Java process was started
    finally:
        aside.rename(catalog)
    assert list(on_spark.cwd.iterdir()) == []
