"""The production configuration end to end: ``rai demo`` against an MLflow tracking server
(PostgreSQL backend store, artifacts served over HTTP) and a Dagster instance whose runs and
events live in PostgreSQL (``deploy/dagster.yaml``), all on loopback. The database password
comes from the environment and appears in no MLflow param or tag, no log and no file the
runs wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from tests.scale.postgres_server import Server, free_port, postgres_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """PostgreSQL with a database each for MLflow and Dagster, and ``mlflow server`` on it."""
    folder = tmp_path_factory.mktemp("services")
    with postgres_server(more_databases=("mlflow", "dagster")) as server:
        port = free_port()
        log = (folder / "mlflow-server.log").open("w")
        env = os.environ | {
            "RAI_MLFLOW_PG_URL": server.url("mlflow"),
            "RAI_MLFLOW_ARTIFACTS": str(folder / "artifacts"),
            "RAI_MLFLOW_PORT": str(port),
            "RAI_MLFLOW_WORKERS": "1",
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        process = subprocess.Popen(
            [str(REPO / "deploy" / "mlflow-server.sh")], env=env, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        uri = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(uri, process, folder / "mlflow-server.log")
            yield server, uri, folder
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=60)
            log.close()


def _wait_healthy(uri: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mlflow server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"mlflow server did not answer within {timeout} s")


def service_env(server: Server, uri: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAI_", "MLFLOW_", "DAGSTER"))}
    return env | {
        "RAI_HOME": str(home),
        "RAI_MLFLOW_TRACKING_URI": uri,
        "RAI_DAGSTER_YAML": str(REPO / "deploy" / "dagster.yaml"),
        "RAI_DAGSTER_PG_USER": server.user,
        "RAI_DAGSTER_PG_PASSWORD": server.password,
        "RAI_DAGSTER_PG_HOST": server.host,
        "RAI_DAGSTER_PG_PORT": str(server.port),
        "RAI_DAGSTER_PG_DB": "dagster",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def test_the_demo_runs_against_mlflow_server_and_dagster_on_postgresql(services, tmp_path):
    server, uri, folder = services
    home = tmp_path / "home"
    env = service_env(server, uri, home)
    demo = subprocess.run(
        [str(VENV_BIN / "rai"), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=1500, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]

    # the registry is the server's: no local store was made, and every pack verifies against it
    assert not (home / "mlflow" / "mlflow.db").exists()
    manifests = (home / "evidence").glob("*/*/manifest.json")
    packs = sorted(p.parent for p in manifests if p.parent.name.isdigit())  # registered versions
    assert len(packs) >= 2
    for pack in packs:
        verified = subprocess.run(
            [str(VENV_BIN / "rai"), "verify", str(pack)], env=env, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = client.search_model_versions("")
    assert any("rai.evidence_digest" in (v.tags or {}) for v in versions)
    # the models' artifacts went to the server's artifact store, and load back through it
    assert any((folder / "artifacts").rglob("MLmodel"))
    import mlflow

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        model = mlflow.pyfunc.load_model(f"models:/{versions[0].name}/{versions[0].version}")
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    assert model.metadata is not None

    # Dagster kept its runs and events in PostgreSQL
    conn = psycopg2.connect(**(server.dsn() | {"dbname": "dagster"}))
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        (succeeded,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM event_logs WHERE event LIKE %s", (f"%{server.password}%",)
        )
        (leaked_events,) = cursor.fetchone()
    conn.close()
    assert succeeded >= 2
    assert leaked_events == 0

    # the secret is nowhere a user or an auditor can read
    secret = server.password
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    for run in runs:
        assert secret not in repr(run.data.params) and secret not in repr(run.data.tags)
    for version in versions:
        assert secret not in repr(version.tags)
    assert secret not in demo.stdout + demo.stderr
    assert secret not in (folder / "mlflow-server.log").read_text()
    for path in home.rglob("*"):
        if path.is_file() and path.stat().st_size < 20_000_000:
            assert secret.encode() not in path.read_bytes(), path
