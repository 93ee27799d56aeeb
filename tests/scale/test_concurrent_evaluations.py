"""Five model versions registered at once, evaluated by five concurrent ``rai evaluate``
processes on one RAI_HOME: DuckDB lets one process at a time write the warehouse, so the runs
queue behind each other instead of failing on its lock; the first builds the shared warehouse
models and the others skip them; every run publishes its pack, every pack's tables hold its
own version only, and every pack verifies against the digest registered on its version.

The data set is the COMPAS example with feature importance off and the bootstrap at its
smallest, so that the five runs spend their time on what they share: the warehouse, the
Dagster instance and the MLflow store under RAI_HOME.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sklearn.metrics import roc_auc_score

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.app.land import land
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import RaiHome
from tests.scale.compas_models import CONFIG, MODEL, train_and_register

pytestmark = pytest.mark.slow

VERSIONS = 5
RAI = [str(Path(sys.executable).parent / "rai")]


def _config(folder: Path) -> Path:
    """The COMPAS config, its data set by absolute path, with the costly extras turned down."""
    config = yaml.safe_load(CONFIG.read_text())
    config["dataset"]["path"] = str(CONFIG.parent / config["dataset"]["path"])
    config["explainability"] = {"enabled": False}
    config["bootstrap"] = {"n_resamples": 100}
    path = folder / "compas.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path):
    folder = tmp_path_factory.mktemp("concurrent")
    home = RaiHome(folder / "home")
    config = _config(folder)
    land(config, home=home, echo=lambda _: None)
    refs = train_and_register(home, [10.0**k for k in range(1, 1 - VERSIONS, -1)])
    environment = {**os.environ, "RAI_HOME": str(home.root), "RAI_LOCK_TIMEOUT_SECONDS": "600"}
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
    finished = [(process, *process.communicate(timeout=1200)) for process in processes]
    return home, refs, [(p.returncode, out, err) for p, out, err in finished]


def _pack(output: str, ref) -> Path:
    """The pack path ``rai evaluate`` printed for ``ref`` (``<model>@<version>  ->  <pack>``)."""
    lines = [line for line in output.splitlines() if line.startswith(f"{ref.name}@{ref.version} ")]
    assert len(lines) == 1, output
    return Path(lines[0].split("->", 1)[1].strip())


def test_every_concurrent_run_publishes_without_a_lock_error(evaluated) -> None:
    _, refs, runs = evaluated
    assert len(runs) == len(refs) == VERSIONS
    for ref, (code, out, err) in zip(refs, runs, strict=True):
        assert code == 0, f"{ref.uri}: exit {code}\n{out[-3000:]}\n{err[-3000:]}"
        for said in (out, err):
            assert "WarehouseBusyError" not in said and "Could not set lock" not in said


def test_each_pack_holds_only_its_own_version_and_verifies(evaluated) -> None:
    """Each pack names its own model version, its tables hold only that version, its overall
    AUC is scikit-learn's on that version's own scores, and ``rai verify`` accepts it."""
    home, refs, runs = evaluated
    packs = [_pack(out, ref) for ref, (_, out, _) in zip(refs, runs, strict=True)]
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


def test_the_runs_took_turns_and_built_the_shared_models_once(evaluated) -> None:
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    home, _, _ = evaluated
    ref = InstanceRef.from_dir(str(home.dagster_home))
    with dg.DagsterInstance.from_ref(ref) as instance:
        records = sorted(instance.get_run_records(), key=lambda record: record.start_time or 0)
        assert len(records) == VERSIONS
        for before, after in itertools.pairwise(records):
            assert before.end_time is not None and after.start_time is not None
            assert before.end_time <= after.start_time
        built = [
            record
            for record in records
            if any(
                event.step_key == "warehouse_models"
                for event in instance.all_logs(
                    record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS
                )
            )
        ]
        assert built == records[:1]


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
