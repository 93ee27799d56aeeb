"""Five model versions registered at once, evaluated by five concurrent ``rai evaluate``
processes on one RAI_HOME, with the warehouse on DuckDB and on PostgreSQL.

- **DuckDB** lets one process at a time write the warehouse, so the runs queue behind each
  other instead of failing on its lock; the first builds the shared warehouse models and the
  others skip them.
- **PostgreSQL** (the config's ``warehouse: {engine: postgres}``, a server started here from
  Debian's binaries) takes the runs side by side: the first lands the extracts into the
  server's ``landing`` schema and builds the shared models with dbt-postgres while the others
  wait for it; those then skip the shared models and run at once (the Dagster instance lets
  five warehouse steps run together, ``RAI_DAGSTER_YAML``).

On both, every run publishes its pack, every pack's tables hold its own version only, and
every pack verifies against the digest registered on its version; and each PostgreSQL pack's
tables equal the DuckDB pack's of the same version, value for value.

The data set is the COMPAS example with the bootstrap at its smallest and feature importance
turned down, so that the runs spend their time on what they share: the warehouse, the Dagster
instance and the MLflow store under RAI_HOME.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.adapters.sql_engines import PostgresEngine
from rai_pipeline.app.land import land
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import DAGSTER_YAML, RaiHome
from tests.scale.compas_models import MODEL, compas_config, train_and_register
from tests.scale.postgres_server import Server

pytestmark = pytest.mark.slow

VERSIONS = 5
RAI = [str(Path(sys.executable).parent / "rai")]
ENGINES = ("duckdb", "postgres")
# the pack tables compared between the warehouses
PACK_TABLES = ("slice_metrics", "fairness_metrics", "feature_importance")


@dataclass(frozen=True)
class Evaluated:
    home: RaiHome
    refs: list[ModelVersionRef]
    runs: list[tuple[int, str, str]]  # each process's exit code, output and errors


def _start(folder: Path, engine: str, environment: dict[str, str]) -> tuple[Evaluated, list]:
    """Land the data set, register VERSIONS versions and start one ``rai evaluate`` process
    per version at once, on the warehouse ``engine``; return the home, the versions and the
    processes."""
    home = RaiHome(folder / "home")
    config = compas_config(folder, engine)
    land(config, home=home, echo=lambda _: None)
    refs = train_and_register(home, [10.0**k for k in range(1, 1 - VERSIONS, -1)])
    environment = {
        **os.environ,
        **environment,
        "RAI_HOME": str(home.root),
        "RAI_LOCK_TIMEOUT_SECONDS": "600",
    }
    processes = [
        subprocess.Popen(
            [*RAI, "evaluate", MODEL, "--version", ref.version, "--config", str(config)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ref in refs
    ]
    return Evaluated(home, refs, []), processes


def _finish(started: Evaluated, processes: list) -> Evaluated:
    finished = [(process, *process.communicate(timeout=1500)) for process in processes]
    runs = [(p.returncode, out, err) for p, out, err in finished]
    return Evaluated(started.home, started.refs, runs)


@pytest.fixture(scope="module")
def evaluations(
    tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path, postgres: Server
) -> dict[str, Evaluated]:
    """Both warehouses' five processes, started together (the DuckDB runs take turns, so the
    PostgreSQL runs use the time they leave)."""
    on_postgres = tmp_path_factory.mktemp("on-postgres")
    # the instance lets the five runs' warehouse steps go at once (the pool rai_warehouse)
    instance = yaml.safe_load(DAGSTER_YAML.read_text())
    instance["concurrency"]["pools"]["default_limit"] = VERSIONS
    instance_yaml = on_postgres / "dagster.yaml"
    instance_yaml.write_text(yaml.safe_dump(instance))
    pg_environment = {"RAI_DAGSTER_YAML": str(instance_yaml), **_pg_environment(postgres)}
    started = {
        "duckdb": _start(tmp_path_factory.mktemp("on-duckdb"), "duckdb", {}),
        "postgres": _start(on_postgres, "postgres", pg_environment),
    }
    return {engine: _finish(*each) for engine, each in started.items()}


@pytest.fixture(scope="module")
def on_duckdb(evaluations: dict[str, Evaluated]) -> Evaluated:
    return evaluations["duckdb"]


@pytest.fixture(scope="module")
def on_postgres(evaluations: dict[str, Evaluated]) -> Evaluated:
    return evaluations["postgres"]


def _pg_environment(postgres: Server) -> dict[str, str]:
    """The variables that name the PostgreSQL warehouse (and dbt's postgres target)."""
    return {
        "RAI_WAREHOUSE_PG_HOST": postgres.host,
        "RAI_WAREHOUSE_PG_PORT": str(postgres.port),
        "RAI_WAREHOUSE_PG_USER": postgres.user,
        "RAI_WAREHOUSE_PG_PASSWORD": postgres.password,
        "RAI_WAREHOUSE_PG_DB": postgres.database,
    }


@pytest.fixture(params=ENGINES)
def evaluated(request: pytest.FixtureRequest) -> Evaluated:
    return request.getfixturevalue(f"on_{request.param}")


def _pack(output: str, ref) -> Path:
    """The pack path ``rai evaluate`` printed for ``ref`` (``<model>@<version>  ->  <pack>``)."""
    lines = [line for line in output.splitlines() if line.startswith(f"{ref.name}@{ref.version} ")]
    assert len(lines) == 1, output
    return Path(lines[0].split("->", 1)[1].strip())


def _packs(evaluated: Evaluated) -> list[Path]:
    return [
        _pack(out, ref) for ref, (_, out, _) in zip(evaluated.refs, evaluated.runs, strict=True)
    ]


def test_every_concurrent_run_publishes_without_a_lock_error(evaluated: Evaluated) -> None:
    refs, runs = evaluated.refs, evaluated.runs
    assert len(runs) == len(refs) == VERSIONS
    for ref, (code, out, err) in zip(refs, runs, strict=True):
        assert code == 0, f"{ref.uri}: exit {code}\n{out[-3000:]}\n{err[-3000:]}"
        for said in (out, err):
            assert "WarehouseBusyError" not in said and "Could not set lock" not in said


def test_each_pack_holds_only_its_own_version_and_verifies(evaluated: Evaluated) -> None:
    """Each pack names its own model version, its tables hold only that version, its overall
    AUC is scikit-learn's on that version's own scores, and ``rai verify`` accepts it."""
    home, refs = evaluated.home, evaluated.refs
    packs = _packs(evaluated)
    assert len(set(packs)) == VERSIONS
    landed = home.landing / "current"
    examples = read_parquet(landed / "examples.parquet").sort_values("example_id")
    labels = read_parquet(landed / "labels.parquet").set_index("example_id")["label"]
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    environment = {**os.environ, "RAI_HOME": str(home.root)}
    for ref, pack in zip(refs, packs, strict=True):
        manifest = json.loads((pack / "manifest.json").read_text())
        models = [item["name"] for item in manifest["inputs"] if item["kind"] == "model"]
        assert models == [ref.uri]
        for table in ("slice_metrics", "fairness_metrics"):
            frame = read_parquet(pack / f"{table}.parquet")
            assert set(zip(frame["model_name"], frame["model_version"], strict=True)) == {
                (ref.name, ref.version)
            }
        scores = store.load_scorer(ref)(examples.drop(columns=["example_id"]))
        expected = roc_auc_score(labels.loc[examples["example_id"]], scores)
        metrics = read_parquet(pack / "slice_metrics.parquet")
        overall = metrics.query("dimension == 'overall' and metric == 'roc_auc_score'")
        assert float(overall["value"].iloc[0]) == pytest.approx(expected, abs=1e-12)
        verified = subprocess.run(
            [*RAI, "verify", str(pack)], env=environment, capture_output=True, text=True
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr


def _runs(home: RaiHome) -> list[tuple[Any, bool]]:
    """The Dagster runs of ``home``'s instance in the order they started, each with whether
    it built the shared warehouse models."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    ref = InstanceRef.from_dir(str(home.dagster_home))
    with dg.DagsterInstance.from_ref(ref) as instance:
        records = sorted(instance.get_run_records(), key=lambda record: record.start_time or 0)
        return [
            (
                record,
                any(
                    event.step_key == "warehouse_models"
                    for event in instance.all_logs(
                        record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS
                    )
                ),
            )
            for record in records
        ]


def test_on_duckdb_the_runs_took_turns_and_built_the_shared_models_once(
    on_duckdb: Evaluated,
) -> None:
    runs = _runs(on_duckdb.home)
    assert len(runs) == VERSIONS
    records = [record for record, _ in runs]
    for before, after in itertools.pairwise(records):
        assert before.end_time is not None and after.start_time is not None
        assert before.end_time <= after.start_time
    assert [built for _, built in runs] == [True] + [False] * (VERSIONS - 1)


def test_on_postgres_the_runs_went_side_by_side_in_the_server(
    on_postgres: Evaluated, postgres: Server
) -> None:
    """The first run built the shared models while the others waited; those then found them
    current and ran side by side: each started before any of them ended. The warehouse is
    the server's: RAI_HOME holds no DuckDB file, and the server's frame holds every version's
    rows, as many as the landed examples."""
    runs = _runs(on_postgres.home)
    assert len(runs) == VERSIONS
    assert [built for _, built in runs] == [True] + [False] * (VERSIONS - 1)
    builder, others = runs[0][0], [record for record, _ in runs[1:]]
    assert all(record.start_time >= builder.end_time for record in others)
    first_end = min(record.end_time for record in others)
    assert all(record.start_time < first_end for record in others)
    assert not on_postgres.home.warehouse.exists()
    examples = len(read_parquet(on_postgres.home.landing / "current" / "examples.parquet"))
    with PostgresEngine.connect(**postgres.dsn()) as engine:
        rows = engine.execute(
            "select model_version, count(*) from marts.eval_frame group by model_version"
        ).fetchall()
    assert dict(rows) == {ref.version: examples for ref in on_postgres.refs}


def test_on_postgres_trace_rows_come_from_the_server_as_on_duckdb(
    on_duckdb: Evaluated, on_postgres: Evaluated, postgres: Server, monkeypatch
) -> None:
    """``rai trace --rows`` of a number of a PostgreSQL pack reads the frame's rows from the
    server the pack records (lineage ``warehouse``): the same rows as the DuckDB pack's trace
    of the same number, for a group's cell and for an aggregate disparity; without the
    server's variables it says which are missing."""
    from rai_pipeline.app.trace import TraceError, trace_number

    duck, pg = _packs(on_duckdb)[0], _packs(on_postgres)[0]
    assert json.loads((pg / "manifest.json").read_text())["lineage"]["warehouse"] == "postgres"
    metrics = read_parquet(duck / "slice_metrics.parquet")
    rate = metrics.query("metric == 'false_positive_rate' and dimension != 'overall'").iloc[0]
    aggregate = read_parquet(duck / "fairness_metrics.parquet").query("group == '*'").iloc[0]
    numbers = [
        {"dimension": rate["dimension"], "group": rate["group"], "cell": "false_positive"},
        {"dimension": aggregate["dimension"], "group": "*"},
    ]
    metric_of = [rate["metric"], aggregate["metric"]]
    for name, value in _pg_environment(postgres).items():
        monkeypatch.setenv(name, value)
    for number, metric in zip(numbers, metric_of, strict=True):
        traced = [
            trace_number(
                pack, metric=metric, rows=True, include_restricted=True, limit=10_000, **number
            ).rows
            for pack in (duck, pg)
        ]
        assert len(traced[0]) > 0, number
        pd.testing.assert_frame_equal(traced[1], traced[0], check_dtype=False, obj=str(number))
    monkeypatch.delenv("RAI_WAREHOUSE_PG_USER")
    with pytest.raises(TraceError, match="RAI_WAREHOUSE_PG_USER"):
        trace_number(pg, metric=metric_of[0], rows=True, **numbers[0])


def test_on_postgres_the_password_is_written_nowhere(
    on_postgres: Evaluated, postgres: Server
) -> None:
    """The server's password came from the environment: no file under RAI_HOME holds it
    (run logs, dbt's target folders, the MLflow store's params and tags, the packs), and no
    process printed it."""
    secret = postgres.password.encode()
    holding = [
        path
        for path in on_postgres.home.root.rglob("*")
        if path.is_file() and secret in path.read_bytes()
    ]
    assert holding == []
    for _, out, err in on_postgres.runs:
        assert postgres.password not in out + err


def test_on_postgres_each_pack_equals_duckdbs(on_duckdb: Evaluated, on_postgres: Evaluated) -> None:
    """The same config and model versions give the same pack tables on both warehouses, and
    the same evaluation ids (where the evaluation runs is not part of the config's digest)."""
    for ref, duck, pg in zip(on_duckdb.refs, _packs(on_duckdb), _packs(on_postgres), strict=True):
        for table in PACK_TABLES:
            expected = read_parquet(duck / f"{table}.parquet")
            assert len(expected), (ref.uri, table)
            pd.testing.assert_frame_equal(
                read_parquet(pg / f"{table}.parquet"), expected, obj=f"{ref.uri} {table}"
            )


INSTANCE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from rai_pipeline.settings import RaiHome, configure_environment\n"
    "from rai_pipeline.app.locks import open_instance\n"
    "home = configure_environment(RaiHome(Path(sys.argv[1])))\n"
    "open_instance(home).get_runs(limit=1)\n"
    "print('opened')\n"
)


def test_a_new_instance_opened_by_five_processes_at_once_works_for_all(tmp_path: Path) -> None:
    """Without the lock, most such openings fail creating the same SQLite tables, and some
    leave the schema revision stamped twice."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INSTANCE, str(tmp_path / "home")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(VERSIONS)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0 and out.strip() == "opened", err[-2000:]
