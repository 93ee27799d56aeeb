"""Recovery after a crash.

- A planted crash (a real Dagster instance and MLflow store holding what a killed process
  leaves) is cleared by the sweep, and nothing that belongs to a live process is touched.
- A real ``rai evaluate`` is killed (SIGKILL, its whole process group) once at each stage:
  scoring, dbt, checks, metrics, evidence. Each rerun clears what the kill left. The last one
  completes and publishes exactly one pack, which verifies against the registry, and it leaves
  no run in progress and no debris.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import dagster as dg
import pytest

from rai_pipeline.app.recovery import FAILURE_TAG, HOST_TAG, PID_TAG, SPILL_PREFIX, sweep
from rai_pipeline.settings import RaiHome

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
POOL = "rai_warehouse"


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def crashed(tmp_path, monkeypatch):
    """RAI_HOME after a killed run, beside a run of a live process."""
    from mlflow import MlflowClient

    home = RaiHome(tmp_path / "home")
    (home.root / "dagster").mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home.root / "dagster" / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home.root / "dagster"))
    instance = dg.DagsterInstance.get()
    host = os.uname().nodename
    dead, live = str(uuid.uuid4()), str(uuid.uuid4())
    pids = {dead: str(dead_pid()), live: str(os.getpid())}
    for run_id, pid in pids.items():
        instance.add_run(
            dg.DagsterRun(
                job_name="evaluate_model_version",
                run_id=run_id,
                status=dg.DagsterRunStatus.STARTED,
                tags={PID_TAG: pid, HOST_TAG: host},
            )
        )
    storage = instance.event_log_storage
    storage.set_concurrency_slots(POOL, 1)
    assert storage.claim_concurrency_slot(POOL, dead, "evidence_pack").is_claimed
    (home.root / "mlflow").mkdir()
    client = MlflowClient(tracking_uri=home.tracking_uri)
    experiment = client.create_experiment("rai/m", artifact_location=(tmp_path / "a").as_uri())
    runs = {
        run_id: client.create_run(experiment, tags={"rai.dagster_run_id": run_id}).info.run_id
        for run_id in pids
    }
    (home.staging / "m-1-0a1b2c3d").mkdir(parents=True)
    (home.staging / "m-1-0a1b2c3d" / "fairness_metrics.csv").write_text("partial")
    spills = {
        run_id: Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{pid}-"))
        for run_id, pid in pids.items()
    }
    yield {
        "home": home,
        "instance": instance,
        "client": client,
        "ids": (dead, live),
        "runs": runs,
        "spills": spills,
    }
    for path in spills.values():
        shutil.rmtree(path, ignore_errors=True)


def test_the_sweep_clears_what_a_killed_run_left_and_spares_a_live_one(crashed):
    home, instance, client = crashed["home"], crashed["instance"], crashed["client"]
    dead, live = crashed["ids"]
    report = sweep(home, instance=instance, tracking_uri=home.tracking_uri)
    assert report.failed_runs == [dead]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(live).status == dg.DagsterRunStatus.STARTED
    assert report.freed_runs == [dead]
    assert instance.event_log_storage.claim_concurrency_slot(POOL, live, "x").is_claimed
    killed = client.get_run(crashed["runs"][dead])
    assert killed.info.status == "FAILED" and dead in killed.data.tags[FAILURE_TAG]
    assert client.get_run(crashed["runs"][live]).info.status == "RUNNING"
    assert report.closed_mlflow_runs == [crashed["runs"][dead]]
    assert not crashed["spills"][dead].exists() and crashed["spills"][live].exists()
    # a live run may be assembling its pack: staging stays until no run is in progress
    assert (home.staging / "m-1-0a1b2c3d").exists()
    instance.report_run_failed(instance.get_run_by_id(live))
    again = sweep(home, instance=instance, tracking_uri=home.tracking_uri)
    assert again.removed == [home.staging / "m-1-0a1b2c3d"]
    assert again.lines() and all(line.startswith("recovered: ") for line in again.lines())


# --- a real run, killed at each stage ------------------------------------------------------

STAGES = [
    "predictions",  # scoring
    "evaluation_frame_models",  # dbt
    "marts__eval_frame_wide_eval_frame_matches_schema",  # checks
    "slice_metrics",  # metrics
    "evidence_pack",  # evidence
]


def env() -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("RAI_", "MLFLOW_", "DAGSTER_"))
    }
    keep["PATH"] = f"{VENV / 'bin'}{os.pathsep}{keep.get('PATH', '')}"
    return keep | {"MLFLOW_DISABLE_TELEMETRY": "true"}


def run(args, cwd, extra=None):
    result = subprocess.run(
        args, cwd=cwd, env=env() | (extra or {}), capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def evaluate_until(stage, folder, extra):
    """Start ``rai evaluate`` and kill its process group as soon as ``stage`` starts."""
    process = subprocess.Popen(
        [str(VENV / "bin" / "rai"), "evaluate", "recidivism", "--version", "1",
         "--config", "compas.yaml"],
        cwd=folder, env=env() | extra, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    seen = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if f"{stage}: started" in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


def test_a_run_killed_at_each_stage_is_recovered_by_the_next(tmp_path):
    from mlflow import MlflowClient

    folder = tmp_path / "world"
    folder.mkdir()
    for name in ("people.csv", "compas.yaml", "train.py"):
        shutil.copy(REPO / "examples" / "compas" / name, folder / name)
    with (folder / "compas.yaml").open("a") as config:  # the stages, not their statistics
        config.write(
            "\nexplainability: {n_repeats: 2, max_rows: 100, shap_rows: 10, shap_background: 5}"
            "\nbootstrap: {n_resamples: 100}\n"
        )
    home = RaiHome(folder / ".rai")
    extra = {"RAI_HOME": str(home.root)}
    run([str(VENV / "bin" / "rai"), "land", "--config", "compas.yaml"], folder, extra)
    mlflow_env = {
        "MLFLOW_TRACKING_URI": home.tracking_uri,
        "MLFLOW_REGISTRY_URI": home.tracking_uri,
        "RAI_MLFLOW_ARTIFACT_ROOT": str(home.artifact_root),
    }
    run([str(VENV / "bin" / "python"), "train.py"], folder, extra | mlflow_env)
    outputs = [evaluate_until(stage, folder, extra) for stage in STAGES]
    final = run(
        [str(VENV / "bin" / "rai"), "evaluate", "recidivism", "--version", "1", "--config",
         "compas.yaml"], folder, extra,
    )  # fmt: skip
    swept = "".join([*outputs[1:], final])
    assert swept.count("marked failed") == len(STAGES), swept
    pack = home.root / "evidence" / "recidivism" / "1"
    assert f"recidivism@1  ->  {pack}" in final
    assert sorted(p.name for p in pack.parent.iterdir()) == ["1"]  # no history: one pack
    verified = run([str(VENV / "bin" / "rai"), "verify", str(pack)], tmp_path)
    assert "intact, anchored" in verified
    client = MlflowClient(tracking_uri=home.tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert not client.search_runs(experiments, filter_string="attributes.status = 'RUNNING'")
    assert not home.staging.exists() or not any(home.staging.iterdir())
    instance_env = {"DAGSTER_HOME": str(home.root / "dagster")}
    check = subprocess.run(
        [sys.executable, "-c", "import dagster as dg; i = dg.DagsterInstance.get(); "
         "print(sum(1 for r in i.get_runs() if not r.is_finished))"],
        env=env() | instance_env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert check.stdout.strip() == "0"
