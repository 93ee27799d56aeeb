"""``rai evaluate``: evaluate registered model versions through the Dagster job the UI and the
registry sensor run, in-process, recorded in the Dagster instance under RAI_HOME.

Each version is one run of the evaluation job on its partition (``<model>@<version>``), with
the given config as the ``evaluation_config`` resource. Progress is printed per stage as the
run's steps start and finish. The outcome of a version is one of: published (the pack's path
and its headline numbers), stopped by a blocking check (the rule and a sample of offending
rows), or failed (the root cause).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from rai_pipeline.core.governance.registry import EVALUATED_TAG, ModelVersionRef
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import RaiHome

Echo = Callable[[str], None]
PUBLISHED, BLOCKED, FAILED = "published", "blocked", "failed"
POLL_SECONDS = 0.5

MSG_NO_MODEL = "{tracking_uri}: no registered model {name!r}; registered models: {names}"
MSG_NO_VERSION = (
    "{tracking_uri}: model {name!r} has no version {version!r}; its versions: {versions}"
)
MSG_NOT_LANDED = (
    "{landing}: no landed data set; land the config's data set first: rai land --config {config}"
)
MSG_LANDED_COLUMNS = (
    "the landed data set (version {version}) has no column {columns} that {config} reads "
    "sensitive features from; land the data set with this config first: rai land --config "
    "{config}"
)
MSG_NO_JAVA = (
    "{config}: warehouse.engine is spark, and Spark cannot start: no java on PATH and no "
    "JAVA_HOME (Spark needs Java 17; docs/scaling.md)"
)
MSG_WAREHOUSE_UNREACHABLE = (
    "{config}: warehouse.engine is postgres, and the PostgreSQL warehouse cannot be used: {reason}"
)
MSG_TURN = "its evaluation run has the warehouse"
MSG_SHARED_TURN = "its evaluation run builds the shared warehouse models"
MSG_NOTHING_TO_DO = "every registered version of {name!r} has been evaluated ({versions})"


class EvaluateError(ValueError):
    """The model or version asked for is not in the registry."""


@dataclass(frozen=True)
class VersionOutcome:
    partition_key: str
    status: str
    pack: Path | None
    summary: pd.DataFrame | None
    error: str = ""
    run_id: str = ""

    @property
    def success(self) -> bool:
        return self.status == PUBLISHED


def summarize_pack(pack: Path) -> pd.DataFrame:
    """One row per headline number: overall metrics, worst disparity, gate."""
    from rai_pipeline.core.governance.gate import aggregate_verdict

    metrics = read_parquet(pack / "slice_metrics.parquet")
    fairness = read_parquet(pack / "fairness_metrics.parquet")
    overall = metrics[metrics["dimension"] == "overall"].set_index("metric")["value"]
    aggregate = fairness[(fairness["group"] == "*") & fairness["metric"].str.endswith("difference")]
    rows = [
        (name, f"{overall[name]:.3f}")
        for name in ("accuracy_score", "roc_auc_score", "selection_rate")
        if name in overall and pd.notna(overall[name])
    ]
    if not aggregate.empty:
        worst = aggregate.sort_values("value", ascending=False).iloc[0]
        rows.append(
            (
                "worst disparity",
                f"{worst['metric']} on {worst['dimension']} = {worst['value']:.3f} "
                f"[{worst['ci_lower']:.3f}, {worst['ci_upper']:.3f}] ({worst['verdict']})",
            )
        )
    rows.append(("gate", aggregate_verdict(fairness)))
    return pd.DataFrame(rows, columns=["", "value"])


def versions_to_evaluate(
    store: Any, name: str, version: str | None, echo: Echo | None = None
) -> list[ModelVersionRef]:
    """``name``'s ``version``, or every version not yet evaluated (none: an empty list, said
    through ``echo``); raise when the model or the version is not registered."""
    versions = sorted(store.list_versions(name), key=lambda info: int(info.ref.version))
    if not versions:
        names = ", ".join(store.registered_model_names()) or "none"
        raise EvaluateError(
            MSG_NO_MODEL.format(tracking_uri=store.tracking_uri, name=name, names=names)
        )
    numbers = ", ".join(info.ref.version for info in versions)
    if version is not None:
        chosen = [info.ref for info in versions if info.ref.version == str(version)]
        if not chosen:
            raise EvaluateError(
                MSG_NO_VERSION.format(
                    tracking_uri=store.tracking_uri, name=name, version=version, versions=numbers
                )
            )
        return chosen
    pending = [info.ref for info in versions if EVALUATED_TAG not in info.tags]
    if not pending and echo is not None:
        echo(MSG_NOTHING_TO_DO.format(name=name, versions=numbers))
    return pending


def _root_cause(error: Any) -> str:
    """The innermost error message: what the user must fix, not the wrapping layers."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message).strip()


def _watch_steps(instance: Any, run_id: str, out: TextIO, stop: threading.Event) -> None:
    """Print each step of the run as it starts and ends, until ``stop`` is set."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_START: "started",
        dg.DagsterEventType.STEP_SUCCESS: "done",
        dg.DagsterEventType.STEP_FAILURE: "FAILED",
        dg.DagsterEventType.STEP_SKIPPED: "skipped",
    }
    seen, start = 0, time.monotonic()
    while True:
        finished = stop.wait(POLL_SECONDS)
        try:
            records = instance.all_logs(run_id, of_type=set(kinds))
        except Exception:  # the run's storage may not exist yet
            records = []
        for record in records[seen:]:
            event = record.dagster_event
            out.write(
                f"      {event.step_key}: {kinds[event.event_type]} "
                f"(t+{time.monotonic() - start:.0f}s)\n"
            )
            out.flush()
        seen = max(seen, len(records))
        if finished:
            return


def _published_by(pack: Path, run_id: str) -> bool:
    """Whether the pack at ``pack`` was published by the Dagster run ``run_id``."""
    from rai_pipeline.core.evidence.verify import PackError, read_manifest

    try:
        manifest = read_manifest(pack)
    except (OSError, PackError):
        return False
    return manifest.get("lineage", {}).get("dagster_run_id") == run_id


def _blocking_failures(result: Any) -> list[str]:
    lines = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        lines.append(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}")
        metadata = evaluation.metadata or {}
        for key in ("failed_rules", "offending_sample"):
            if key in metadata:
                lines.append(str(metadata[key].value))
    return lines


@dataclass(frozen=True)
class JobSpec:
    """Which Dagster job evaluates a version, with which resources, and how its pack is
    summarized."""

    job: str
    partitions: str
    resources: dict[str, Any]
    stages: str
    summarize: Callable[[Path], pd.DataFrame]
    # the assets of one run, from the asset graph (None: the whole job)
    selection: Callable[[Any], Sequence[Any] | None] | None = None
    # the runs' tags beyond the job's own
    tags: dict[str, str] = field(default_factory=dict)
    # whether the runs take turns on the warehouse (DuckDB's file and the local Spark catalog:
    # one process at a time);
    # if not, only a run that builds the shared models (a selection of None) holds the turn
    queued: bool = True
    # called before a run's turn ends, whether the run started or not (the local Spark
    # session that choosing the run's assets may have started is stopped)
    end_of_turn: Callable[[], Any] | None = None


def classifier_job(config_path: Path, home: RaiHome) -> JobSpec:
    from rai_pipeline.adapters.spark_session import stop_local_session
    from rai_pipeline.adapters.warehouse_lock import lock_timeout
    from rai_pipeline.core.config.schema import load_config
    from rai_pipeline.defs.evaluation.jobs import (
        EVALUATE_JOB,
        version_run_selection,
        warehouse_run_config,
        warehouse_run_tags,
    )
    from rai_pipeline.defs.partitions import model_versions

    config = load_config(config_path)
    return JobSpec(
        job=EVALUATE_JOB,
        partitions=model_versions.name,
        resources={
            "evaluation_config": {"config": {"path": str(config_path)}},
            **warehouse_run_config(config),
        },
        stages="scoring, dbt, checks, metrics, evidence",
        summarize=summarize_pack,
        selection=lambda graph: version_run_selection(
            graph, home, config, wait_seconds=lock_timeout(), run_here=True
        ),
        tags=warehouse_run_tags(config),
        queued=config.warehouse.engine != "postgres",
        end_of_turn=stop_local_session if config.warehouse.engine == "spark" else None,
    )


def evaluate_versions(
    refs: list[ModelVersionRef],
    *,
    home: RaiHome,
    config_path: Path,
    echo: Echo,
    source: str = "cli",
    tracking_uri: str | None = None,
    spec: JobSpec | None = None,
) -> list[VersionOutcome]:
    """Clear what killed runs left behind (:func:`~rai_pipeline.app.recovery.sweep`), then run
    the evaluation job (``spec``, default the classifier's) once per version; return the
    outcome of each."""
    from rai_pipeline.app.locks import open_instance, warehouse_runs_lock
    from rai_pipeline.app.recovery import process_tags, sweep
    from rai_pipeline.core.storage import exclusive_lock
    from rai_pipeline.definitions import defs

    spec = spec or classifier_job(config_path, home)
    instance = open_instance(home)
    for line in sweep(
        home, instance=instance, tracking_uri=tracking_uri or home.tracking_uri
    ).lines():
        echo(f"      {line}")
    instance.add_dynamic_partitions(spec.partitions, [ref.partition_key for ref in refs])
    job = defs.resolve_job_def(spec.job)
    outcomes = []
    for ref in refs:
        log_path = home.root / "logs" / f"{ref.name}-{ref.version}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # Runs on the DuckDB warehouse (or the local Spark warehouse) queue behind each other;
        # each decides what to build once its turn has come (app/locks.py). Runs on PostgreSQL
        # go side by side, except one that builds the shared models: it holds the turn until
        # it ends, so that the runs started with it wait, find the models current and skip
        # them.
        turn = contextlib.ExitStack()
        turn.enter_context(
            exclusive_lock(
                warehouse_runs_lock(home),
                what=MSG_TURN if spec.queued else MSG_SHARED_TURN,
                say=lambda line: echo(f"      {line}"),
            )
        )
        if spec.end_of_turn is not None:
            turn.callback(spec.end_of_turn)
        try:
            selection = spec.selection(defs.resolve_asset_graph()) if spec.selection else None
        except BaseException:
            turn.close()
            raise
        if not spec.queued and selection is not None:
            turn.close()
        shared = "" if selection is None else "; shared warehouse models current, not rebuilt"
        echo(f"      {ref.uri}: {spec.stages}{shared} (log: {log_path})")
        run_id = str(uuid.uuid4())
        stop = threading.Event()
        # The run's own output (dbt, Dagster's console logger) goes to the log file; the
        # watcher writes the stages to the stream this function was called with.
        watcher = threading.Thread(
            target=_watch_steps, args=(instance, run_id, sys.stdout, stop), daemon=True
        )
        watcher.start()
        try:
            with (
                log_path.open("w", encoding="utf-8") as log,
                contextlib.redirect_stdout(log),
                contextlib.redirect_stderr(log),
            ):
                result = job.execute_in_process(
                    partition_key=ref.partition_key,
                    asset_selection=selection,
                    instance=instance,
                    raise_on_error=False,
                    run_id=run_id,
                    tags={"rai/source": source, **spec.tags, **process_tags()},
                    run_config={
                        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                        "resources": spec.resources,
                    },
                )
        finally:
            stop.set()
            watcher.join()
            turn.close()
        pack = home.pack_dir(ref.name, ref.version)
        blocked = _blocking_failures(result)
        if _published_by(pack, run_id) and (result.success or blocked):
            # checks on the published pack (the LLM policy bounds) may fail: the evidence
            # stands, and the failures are reported with it
            outcomes.append(
                VersionOutcome(
                    ref.partition_key,
                    PUBLISHED,
                    pack,
                    spec.summarize(pack),
                    "\n".join(blocked),
                    run_id,
                )
            )
            continue
        failures = [
            f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"
            for event in result.all_events
            if event.is_step_failure and event.event_specific_data.error
        ]
        status = BLOCKED if blocked else FAILED
        outcomes.append(
            VersionOutcome(
                ref.partition_key, status, None, None, "\n".join(blocked or failures), run_id
            )
        )
    return outcomes


def check_landed(home: RaiHome, config: Any, config_path: Path) -> None:
    """The landed data set exists and holds every column the config's attributes read."""
    import pyarrow.parquet as pq

    from rai_pipeline.core.landing.extracts import CURRENT_LINK, read_current_version

    current = home.landing / CURRENT_LINK
    version = read_current_version(home.landing)
    if version is None:
        raise EvaluateError(MSG_NOT_LANDED.format(landing=home.landing, config=config_path))
    landed = set(pq.read_schema(current / "subject_attributes.parquet").names)
    missing = [c for c in config.attribute_sources() if c not in landed]
    if missing:
        raise EvaluateError(
            MSG_LANDED_COLUMNS.format(version=version, columns=missing, config=config_path)
        )


def check_warehouse(config: Any, config_path: Path) -> None:
    """The config's warehouse can be reached: a PostgreSQL one is connected to once (the
    variables ``RAI_WAREHOUSE_PG_*`` name it), so that a wrong host or password is said
    before any run starts; for a Spark one, Java must be there to start it."""
    if config.warehouse.engine == "spark":
        if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
            raise EvaluateError(MSG_NO_JAVA.format(config=config_path))
        return
    if config.warehouse.engine != "postgres":
        return
    import psycopg2

    from rai_pipeline.adapters.sql_engines import PostgresEngine

    try:
        PostgresEngine.from_environment().close()
    except (psycopg2.Error, ValueError) as error:
        reason = " ".join(str(error).split())
        raise EvaluateError(
            MSG_WAREHOUSE_UNREACHABLE.format(config=config_path, reason=reason)
        ) from None


def run_evaluate(
    model: str, version: str | None, *, home: RaiHome, config_path: Path, echo: Echo
) -> list[VersionOutcome]:
    """``rai evaluate``: check the config and the registry, then evaluate the chosen versions."""
    import logging

    from rai_pipeline.adapters.mlflow_store import MlflowStore
    from rai_pipeline.core.config.schema import load_config
    from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
    from rai_pipeline.settings import configure_environment

    config = load_config(config_path)  # a bad config is an error before anything runs
    check_landed(home, config, config_path)
    check_warehouse(config, config_path)
    configure_environment(home)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    refs = versions_to_evaluate(store, model, version, echo)
    if not refs:
        return []
    echo(f"Config {config_path}; RAI_HOME {home.root}")
    ensure_dbt_manifest()
    return evaluate_versions(
        refs, home=home, config_path=config_path, echo=echo, tracking_uri=store.tracking_uri
    )
