"""Recovery after a crash: what a killed run leaves behind is cleared before the next one starts.

A process killed mid-run (SIGKILL, a power cut, an out-of-memory kill) cannot clean up. It
leaves, under RAI_HOME:

- its Dagster run marked ``STARTED`` for ever, holding the ``rai_warehouse`` pool slot, so
  that the next run waits on the slot with no end;
- its MLflow evaluation run ``RUNNING``;
- the pack it was assembling in ``staging/``;
- DuckDB spill folders (``rai-duckdb-<pid>-*``) in the system's temporary folder.

:func:`sweep` runs when ``rai evaluate`` and ``rai demo`` start. Runs launched by this
package carry the launching process's id and host (:func:`process_tags`). A run in progress
whose process is gone from this host is marked failed, with the reason, and its pool slots
are freed. An MLflow evaluation run left ``RUNNING`` by a Dagster run that is over is closed
as ``FAILED``, with the reason in the tag ``rai.failure``. When no run is left in progress,
the staging folders go; but a staged pack whose manifest the registry already names (the run
was killed after writing the version's tags and before moving the pack into place) is moved
into place first, completing that publication. Spill folders go when their process is gone.
Runs launched by the UI's daemon carry no process id; Dagster's run monitoring
(``dagster.yaml``) covers those.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.settings import RaiHome

PID_TAG, HOST_TAG = "rai/pid", "rai/host"
FAILURE_TAG = "rai.failure"
SPILL_PREFIX = "rai-duckdb-"
IN_PROGRESS = ("NOT_STARTED", "STARTING", "STARTED")

MSG_DEAD_RUN = (
    "the process that ran it (pid {pid} on {host}) is gone: marked failed when the next run started"
)
MSG_CLOSED = (
    "closed by the next run: its Dagster run {run_id} ended ({status}) before the evidence was "
    "published"
)


def process_tags() -> dict[str, str]:
    """The tags that let a later sweep tell whether this process is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def spill_prefix() -> str:
    """The prefix of this process's DuckDB spill folders: the pid tells a later sweep whose."""
    return f"{SPILL_PREFIX}{os.getpid()}-"


@dataclass
class SweepReport:
    failed_runs: list[str] = field(default_factory=list)
    freed_runs: list[str] = field(default_factory=list)
    closed_mlflow_runs: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    completed: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What was cleared, one line each; nothing when there was nothing."""
        out = [f"recovered: Dagster run {run_id} marked failed" for run_id in self.failed_runs]
        out += [
            f"recovered: pool slots of Dagster run {run_id} freed" for run_id in self.freed_runs
        ]
        out += [
            f"recovered: MLflow run {run_id} closed as FAILED" for run_id in self.closed_mlflow_runs
        ]
        out += [
            f"recovered: moved {path} into place, the pack the registry names"
            for path in self.completed
        ]
        out += [f"recovered: removed {path}" for path in self.removed]
        return out


def _dead(run: Any, host: str) -> bool:
    pid = run.tags.get(PID_TAG)
    return bool(pid) and run.tags.get(HOST_TAG) == host and pid.isdigit() and not is_alive(int(pid))


def _sweep_dagster(instance: Any, report: SweepReport) -> bool:
    """Fail the dead runs and free the slots of every finished run; return whether a run is
    still in progress (in another process)."""
    import dagster as dg

    statuses = [dg.DagsterRunStatus[name] for name in IN_PROGRESS]
    host = socket.gethostname()
    live = False
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=statuses)):
        if _dead(run, host):
            message = MSG_DEAD_RUN.format(pid=run.tags[PID_TAG], host=host)
            instance.report_run_failed(run, message=message)
            report.failed_runs.append(run.run_id)
        else:
            live = True
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        finished = [
            run_id
            for run_id in storage.get_concurrency_run_ids()
            if (run := instance.get_run_by_id(run_id)) is None or run.is_finished
        ]
        for run_id in dict.fromkeys([*report.failed_runs, *finished]):
            storage.free_concurrency_slots_for_run(run_id)
            report.freed_runs.append(run_id)
    return live


def _sweep_mlflow(instance: Any, tracking_uri: str, report: SweepReport) -> None:
    from mlflow import MlflowClient

    from rai_pipeline.adapters.mlflow_store import EXPERIMENT_PREFIX

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiments = client.search_experiments(filter_string=f"name LIKE '{EXPERIMENT_PREFIX}%'")
    if not experiments:
        return
    runs = client.search_runs(
        [e.experiment_id for e in experiments], filter_string="attributes.status = 'RUNNING'"
    )
    for run in runs:
        dagster_run_id = run.data.tags.get("rai.dagster_run_id")
        dagster_run = instance.get_run_by_id(dagster_run_id) if dagster_run_id else None
        if dagster_run is not None and not dagster_run.is_finished:
            continue
        status = dagster_run.status.value if dagster_run is not None else "not recorded"
        client.set_tag(
            run.info.run_id, FAILURE_TAG, MSG_CLOSED.format(run_id=dagster_run_id, status=status)
        )
        client.set_terminated(run.info.run_id, status="FAILED")
        report.closed_mlflow_runs.append(run.info.run_id)


def _complete_publications(home: RaiHome, tracking_uri: str, report: SweepReport) -> None:
    """Move into place each intact staged pack whose manifest digest is the one its model
    version's ``rai.evidence_digest`` tag holds while another pack (or none) is in place."""
    from rai_pipeline.adapters.mlflow_store import MlflowStore
    from rai_pipeline.core.evidence.publish import publish_pack
    from rai_pipeline.core.evidence.verify import read_manifest, verify_pack
    from rai_pipeline.core.governance.registry import EVIDENCE_DIGEST_TAG, ModelVersionRef

    store = MlflowStore(tracking_uri=tracking_uri, artifact_root=str(home.artifact_root))
    for path in sorted(home.staging.iterdir()):
        try:
            lineage = read_manifest(path)["lineage"]
            ref = ModelVersionRef(str(lineage["model_name"]), str(lineage["model_version"]))
            named = store.version_tags(ref).get(EVIDENCE_DIGEST_TAG)
        except Exception:  # no complete manifest, or no such version: the sweep removes it
            continue
        digest = file_sha256(path / MANIFEST_NAME)
        target = home.pack_dir(ref.name, ref.version)
        placed = target / MANIFEST_NAME
        if named != digest or (placed.is_file() and file_sha256(placed) == digest):
            continue
        if verify_pack(path).intact:
            publish_pack(path, target)
            report.completed.append(target)


def staging_prefix(out: Path) -> str:
    """The prefix of this process's staging folders beside ``rai evaluate-file``'s ``--out``."""
    return f".{out.name}.staging-{os.getpid()}-"


def _remove_orphans(root: Path, prefix: str, report: SweepReport) -> None:
    """Remove the folders ``<prefix><pid>-*`` in ``root`` whose process is gone."""
    for path in root.glob(f"{glob.escape(prefix)}*-*"):
        pid = path.name.removeprefix(prefix).split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not is_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            report.removed.append(path)


def sweep_spill_folders(report: SweepReport, folder: Path | None = None) -> None:
    """Remove the DuckDB spill folders of processes that are gone."""
    _remove_orphans(Path(folder or tempfile.gettempdir()), SPILL_PREFIX, report)


def sweep_beside(out: Path, *, spill: Path | None = None) -> SweepReport:
    """Remove what killed ``rai evaluate-file`` runs left: staging folders beside ``out`` and
    spill folders in ``spill`` (when it exists) and the temporary folder."""
    report = SweepReport()
    if out.parent.is_dir():
        _remove_orphans(out.parent, f".{out.name}.staging-", report)
    if spill is not None and spill.is_dir():
        sweep_spill_folders(report, spill)
    sweep_spill_folders(report)
    return report


def sweep(home: RaiHome, *, instance: Any, tracking_uri: str) -> SweepReport:
    """Clear what killed runs left under ``home`` (see the module's docstring)."""
    report = SweepReport()
    live = _sweep_dagster(instance, report)
    from rai_pipeline.adapters.mlflow_store import local_store_missing

    if not local_store_missing(tracking_uri):
        _sweep_mlflow(instance, tracking_uri, report)
        if not live and home.staging.is_dir():
            _complete_publications(home, tracking_uri, report)
    if not live and home.staging.is_dir():
        for path in sorted(home.staging.iterdir()):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
            report.removed.append(path)
    sweep_spill_folders(report)
    return report
