"""Where rai-pipeline keeps its state, and the process environment it needs.

Everything lives under one home folder, ``RAI_HOME`` (default ``./.rai``)::

    RAI_HOME/
      warehouse.duckdb          DuckDB warehouse (dbt target, predictions, metric tables)
      landing/evaluation/       landed Parquet extracts (dbt sources)
      mlflow/mlflow.db          MLflow tracking store and model registry (SQLite)
      mlflow/artifacts/         MLflow artifacts
      dagster/                  Dagster instance (DAGSTER_HOME; dagster.yaml copied here)
      landing/monitoring/<model>/  production logs by day (requests, labels)
      evidence/<model>/<ver>/   published evidence packs
      evidence/<model>/monitoring/         the model's monitoring evidence
      evidence/<model>/incidents/<id>/     incident evidence bundles
      staging/                  packs being assembled (never read as evidence)
      spill/                    DuckDB's temporary files beyond its memory limit (evaluate-file)

Services instead of the embedded stores, by environment (``deploy/README.md``):
``RAI_MLFLOW_TRACKING_URI`` names an MLflow tracking server (``http://host:port``; its
artifacts and registry are the server's), and ``RAI_DAGSTER_YAML`` the Dagster instance file
copied into ``RAI_HOME/dagster/`` instead of the project's ``dagster.yaml`` (e.g.
``deploy/dagster.yaml``: runs and events in PostgreSQL, credentials from the environment).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DAGSTER_YAML = PROJECT_ROOT / "dagster.yaml"
TRACKING_URI_ENV = "RAI_MLFLOW_TRACKING_URI"
DAGSTER_YAML_ENV = "RAI_DAGSTER_YAML"
DEMO_CONFIG = Path(__file__).resolve().parent / "demo" / "rai.yaml"
DEMO_MONITORING_CONFIG = Path(__file__).resolve().parent / "demo" / "monitoring.yaml"
# The dbt beside the running interpreter: found whether or not the venv is on PATH.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


@dataclass(frozen=True)
class RaiHome:
    """Paths under one RAI_HOME folder."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def landing(self) -> Path:
        return self.root / "landing" / "evaluation"

    def llm_landing(self, model_name: str) -> Path:
        """Where an LLM safety set of ``model_name`` is landed (one folder per model name)."""
        return self.root / "landing" / "llm" / re.sub(r"[^A-Za-z0-9_.-]", "_", model_name)

    def monitoring_landing(self, model_name: str) -> Path:
        """Where the production logs of ``model_name`` are landed by day."""
        return self.root / "landing" / "monitoring" / re.sub(r"[^A-Za-z0-9_.-]", "_", model_name)

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def tracking_uri(self) -> str:
        """``RAI_MLFLOW_TRACKING_URI`` when set (a tracking server), else the SQLite store."""
        return os.environ.get(TRACKING_URI_ENV) or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def spill(self) -> Path:
        """Where DuckDB writes what does not fit in its memory limit (``rai evaluate-file``)."""
        return self.root / "spill"

    def pack_dir(self, model_name: str, model_version: str) -> Path:
        return self.evidence / model_name / model_version

    def monitoring_pack(self, model_name: str) -> Path:
        """The monitoring evidence of ``model_name`` (drift, alerts, performance, the page)."""
        return self.evidence / model_name / "monitoring"

    def incident_bundle(self, model_name: str, incident_id: str) -> Path:
        return self.evidence / model_name / "incidents" / incident_id


def rai_home() -> RaiHome:
    """The home folder from ``RAI_HOME`` (made absolute), default ``./.rai``."""
    return RaiHome(Path(os.environ.get("RAI_HOME", ".rai")).expanduser().resolve())


def dagster_yaml() -> Path:
    """The Dagster instance file: ``RAI_DAGSTER_YAML`` when set, else the project's."""
    chosen = os.environ.get(DAGSTER_YAML_ENV)
    if not chosen:
        return DAGSTER_YAML
    path = Path(chosen).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{DAGSTER_YAML_ENV}={chosen}: no such Dagster instance file")
    return path


@contextmanager
def environment(values: Mapping[str, str], *, restore: tuple[str, ...] = ()) -> Iterator[None]:
    """Set the environment variables ``values`` for the block; on exit put those and the
    ``restore`` variables back as they were."""
    saved = {key: os.environ.get(key) for key in (*values, *restore)}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def configure_environment(home: RaiHome | None = None) -> RaiHome:
    """Create the home folders and set the variables every component reads.

    Sets ``RAI_HOME`` (absolute), ``DAGSTER_HOME`` (with the project's ``dagster.yaml``),
    MLflow's tracking and registry URIs, and puts this interpreter's ``bin`` on ``PATH`` (so
    dagster-dbt finds ``dbt``). Telemetry is already off: importing ``rai_pipeline`` does
    that. Idempotent.
    """
    home = home or rai_home()
    for folder in (home.root, home.landing, home.artifact_root, home.dagster_home, home.evidence):
        folder.mkdir(parents=True, exist_ok=True)
    instance_yaml = home.dagster_home / "dagster.yaml"
    source = dagster_yaml()
    if not instance_yaml.exists() or instance_yaml.read_bytes() != source.read_bytes():
        # copied aside, then renamed: a process starting beside this one reads the old file
        # or the new one, never half of one
        aside = instance_yaml.with_name(f".{instance_yaml.name}.{os.getpid()}")
        shutil.copyfile(source, aside)
        os.replace(aside, instance_yaml)
    os.environ["RAI_HOME"] = str(home.root)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    os.environ["MLFLOW_TRACKING_URI"] = home.tracking_uri
    os.environ["MLFLOW_REGISTRY_URI"] = home.tracking_uri
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return home
