"""The evaluation pipeline on the local Spark warehouse (the config's ``warehouse: {engine:
spark}``), end to end: ``rai evaluate`` loads the landed data set into Spark, scores with an
MLflow ``spark_udf``, builds the evaluation frame with dbt-spark inside the run's process, runs
the checks and the slice engine on the same Spark session, and publishes a pack equal to the
one the same config gives on DuckDB, the default warehouse.

The data set is the COMPAS example with the costly extras turned down; two model versions are
trained and registered in each RAI_HOME (the same training gives the same models), and one
``rai evaluate`` evaluates both, one run after the other in its process: on Spark the second
run starts a new session once the first has stopped its own, and, as on DuckDB, finds the
shared models current and skips them. Each ``rai evaluate`` runs in a working directory of
its own, which must stay empty.
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
    refs: list[ModelVersionRef]
    cwd: Path
    code: int
    out: str
    err: str

    @property
    def packs(self) -> list[Path]:
        return [self.home.pack_dir(ref.name, ref.version) for ref in self.refs]

    @property
    def pack(self) -> Path:
        return self.packs[0]

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
    """Land the data set, register two versions and evaluate both with one ``rai evaluate``
    on the warehouse ``engine``."""
    home, cwd = RaiHome(folder / "home"), folder / "cwd"
    cwd.mkdir()
    config = compas_config(folder, engine)
    land(config, home=home, echo=lambda _: None)
    refs = train_and_register(home, [1.0, 0.01])
    started = Evaluated(home, refs, cwd, 0, "", "")
    done = started.rai("evaluate", MODEL, "--config", str(config))
    return Evaluated(home, refs, cwd, done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def on_duckdb(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Evaluated:
    return _evaluate(tmp_path_factory.mktemp("on-duckdb"), "duckdb")


@pytest.fixture(scope="module")
def on_spark(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Evaluated:
    evaluated = _evaluate(tmp_path_factory.mktemp("on-spark"), "spark")
    assert evaluated.code == 0, f"{evaluated.out[-3000:]}\n{evaluated.err[-3000:]}"
    return evaluated


def test_each_pack_equals_duckdbs_table_for_table(
    on_duckdb: Evaluated, on_spark: Evaluated
) -> None:
    """Every table of each version's pack, value for value; the pack says where it was
    evaluated, and ``rai verify`` accepts it."""
    assert on_duckdb.code == 0, on_duckdb.err[-3000:]
    for ref, duck, spark in zip(on_spark.refs, on_duckdb.packs, on_spark.packs, strict=True):
        tables = sorted(path.name for path in duck.glob("*.parquet"))
        assert "slice_metrics.parquet" in tables and "fairness_metrics.parquet" in tables
        assert sorted(path.name for path in spark.glob("*.parquet")) == tables
        for name in tables:
            expected = read_parquet(duck / name)
            got = read_parquet(spark / name)
            pd.testing.assert_frame_equal(got, expected, obj=f"{ref.uri} {name}")
        lineage = json.loads((spark / "manifest.json").read_text())["lineage"]
        assert lineage["warehouse"] == "spark"
        verified = on_spark.rai("verify", str(spark))
        assert verified.returncode == 0, verified.stdout + verified.stderr
    # the two versions' models differ: the packs are not the same numbers twice
    first, second = (read_parquet(pack / "slice_metrics.parquet") for pack in on_spark.packs)
    assert not first["value"].equals(second["value"])


def _recorded(home: RaiHome) -> list[tuple[dict[str, int], set[tuple[str, str, bool]]]]:
    """Each run of ``home``'s Dagster instance in the order they started: how often each
    asset was materialized, and each asset check evaluated (asset, check, passed)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    runs = []
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home.dagster_home))) as instance:
        records = sorted(instance.get_run_records(), key=lambda record: record.start_time or 0)
        for record in records:
            run_id = record.dagster_run.run_id
            materialized: dict[str, int] = {}
            for event in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ):
                key = event.dagster_event.asset_key.to_user_string()  # type: ignore[union-attr]
                materialized[key] = materialized.get(key, 0) + 1
            checks = set()
            for event in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ):
                data: Any = event.dagster_event.event_specific_data  # type: ignore[union-attr]
                checks.add((data.asset_key.to_user_string(), data.check_name, data.passed))
            runs.append((materialized, checks))
    return runs


def test_dbt_ran_in_the_runs_and_dagster_recorded_what_it_does_on_duckdb(
    on_duckdb: Evaluated, on_spark: Evaluated
) -> None:
    """dbt ran inside the runs' process on Spark (dagster-dbt's own process on DuckDB); each
    model is one materialization and each dbt test one passing check, as on DuckDB: the first
    run builds the shared models, the second finds them current and builds only its own."""
    runs = _recorded(on_spark.home)
    assert runs == _recorded(on_duckdb.home)
    (first, first_checks), (second, second_checks) = runs
    assert set(first.values()) == set(second.values()) == {1}
    assert {"marts/eval_frame", "staging/stg_examples", "predictions"} <= set(first)
    assert "staging/stg_examples" not in second and "marts/eval_frame" in second
    assert any(asset == "staging/stg_examples" for asset, _, _ in first_checks)
    assert all(passed for _, _, passed in first_checks | second_checks)
    assert "shared warehouse models current, not rebuilt" in on_spark.out


def test_the_warehouse_is_spark_and_the_working_directory_stays_empty(
    on_spark: Evaluated,
) -> None:
    home = on_spark.home
    assert not home.warehouse.exists()  # no DuckDB file
    assert (home.root / "spark-warehouse" / "marts.db" / "eval_frame").is_dir()
    assert list(on_spark.cwd.iterdir()) == []
    for ref in on_spark.refs:
        log = (home.root / "logs" / f"{ref.name}-{ref.version}.log").read_text()
        assert "Running with dbt" in log and "DagsterDbtCliRuntimeError" not in log


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
