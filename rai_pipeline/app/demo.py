"""`rai demo`: train, register, land and evaluate the bundled UCI Adult demo end to end.

The evaluation runs through the same Dagster definitions that ``dagster dev`` loads
(``rai_pipeline.definitions``), in the Dagster instance under RAI_HOME, so every run and
materialization is visible in the UI afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
from rai_pipeline.settings import RaiHome, configure_environment

Echo = Callable[[str], None]
DEMO_ESTIMATOR_TAG = "rai.demo_estimator"


@dataclass(frozen=True)
class VersionOutcome:
    partition_key: str
    success: bool
    pack: Path | None
    summary: pd.DataFrame | None
    error: str = ""


class Progress:
    """Numbered steps with elapsed time, for people watching a terminal."""

    def __init__(self, echo: Echo, total: int) -> None:
        self.echo, self.total, self.step, self.start = echo, total, 0, time.monotonic()

    def __call__(self, message: str) -> None:
        self.step += 1
        self.echo(f"[{self.step}/{self.total}] {message} (t+{time.monotonic() - self.start:.0f}s)")


def _register_demo_models(store, progress: Progress, echo: Echo) -> list:
    from rai_pipeline.demo.train import DEMO_MODEL_NAME, train_and_register

    existing = [v for v in store.list_versions(DEMO_MODEL_NAME) if DEMO_ESTIMATOR_TAG in v.tags]
    if len(existing) >= 2:
        progress(f"Reusing registered versions of {DEMO_MODEL_NAME} from an earlier demo run")
        return sorted((v.ref for v in existing), key=lambda ref: int(ref.version))[-2:]
    progress("Training two model versions on the Adult training split and registering them")
    trained = train_and_register(store)
    for item in trained:
        store.set_version_tags(item.ref, {DEMO_ESTIMATOR_TAG: item.estimator})
        echo(f"      registered {item.ref.uri} ({item.estimator})")
    return [item.ref for item in trained]


def summarize_pack(pack: Path) -> pd.DataFrame:
    """One row per headline number: overall metrics, worst disparity, gate."""
    from rai_pipeline.core.governance.gate import aggregate_verdict

    metrics = pd.read_parquet(pack / "slice_metrics.parquet")
    fairness = pd.read_parquet(pack / "fairness_metrics.parquet")
    overall = metrics[metrics["dimension"] == "overall"].set_index("metric")["value"]
    aggregate = fairness[(fairness["group"] == "*") & fairness["metric"].str.endswith("difference")]
    worst = aggregate.sort_values("value", ascending=False).iloc[0]
    return pd.DataFrame(
        [
            ("accuracy_score", f"{overall['accuracy_score']:.3f}"),
            ("roc_auc_score", f"{overall['roc_auc_score']:.3f}"),
            ("selection_rate", f"{overall['selection_rate']:.3f}"),
            (
                "worst disparity",
                f"{worst['metric']} on {worst['dimension']} = {worst['value']:.3f} "
                f"[{worst['ci_lower']:.3f}, {worst['ci_upper']:.3f}] ({worst['verdict']})",
            ),
            ("gate", aggregate_verdict(fairness)),
        ],
        columns=["", "value"],
    )


def _root_cause(error) -> str:
    """The innermost error message: what the user must fix, not the wrapping layers."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


def run_demo(home: RaiHome, *, echo: Echo = print) -> list[VersionOutcome]:
    """Run the whole demo; return one outcome per evaluated model version."""
    progress = Progress(echo, total=6)
    configure_environment(home)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    progress(f"Preparing RAI_HOME at {home.root}")

    ensure_dbt_manifest()

    from rai_pipeline.adapters.mlflow_store import MlflowStore
    from rai_pipeline.core.landing.extracts import land_evaluation_extracts
    from rai_pipeline.demo.adult import FEATURES, LABEL, load_adult_with_ids

    progress("Landing the Adult test split as Parquet extracts (examples, labels, attributes)")
    landed = land_evaluation_extracts(
        load_adult_with_ids("test"),
        landing_dir=home.landing,
        label_column=LABEL,
        attribute_columns=["sex", "race", "age"],
        feature_columns=FEATURES,
        replace_current=True,
    )
    echo(f"      dataset version {landed.dataset_version[:16]}…")

    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    refs = _register_demo_models(store, progress, echo)

    progress("Loading the Dagster definitions")
    import dagster as dg

    from rai_pipeline.definitions import defs
    from rai_pipeline.defs.evaluation.jobs import EVALUATE_JOB
    from rai_pipeline.defs.partitions import model_versions

    instance = dg.DagsterInstance.get()
    keys = [ref.partition_key for ref in refs]
    instance.add_dynamic_partitions(model_versions.name, keys)
    job = defs.resolve_job_def(EVALUATE_JOB)

    outcomes = []
    for index, ref in enumerate(refs, start=1):
        if index == 1:
            progress(f"Evaluating {len(refs)} versions through Dagster")
        log_path = home.root / "logs" / f"{ref.name}-{ref.version}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        echo(f"      {ref.uri}: scoring, dbt, checks, metrics, evidence (log: {log_path})")
        with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
            result = job.execute_in_process(
                partition_key=ref.partition_key,
                instance=instance,
                raise_on_error=False,
                tags={"rai/source": "demo"},
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
        pack = home.pack_dir(ref.name, ref.version)
        if result.success and (pack / "manifest.json").exists():
            outcomes.append(VersionOutcome(ref.partition_key, True, pack, summarize_pack(pack)))
        else:
            failures = [
                f"{event.step_key}: {_root_cause(event.event_specific_data.error)}"
                for event in result.all_events
                if event.is_step_failure and event.event_specific_data.error
            ]
            outcomes.append(
                VersionOutcome(ref.partition_key, False, None, None, "\n".join(failures))
            )
    progress("Done")
    return outcomes
