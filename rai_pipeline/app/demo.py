"""`rai demo`: train, register, land and evaluate the bundled UCI Adult demo end to end.

The evaluation runs through the same Dagster definitions that ``dagster dev`` loads
(``rai_pipeline.definitions``), in the Dagster instance under RAI_HOME, so every run and
materialization is visible in the UI afterwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rai_pipeline.app.demo_llm import run_llm_demo
from rai_pipeline.app.demo_monitoring import run_monitoring_demo
from rai_pipeline.app.evaluate import VersionOutcome, evaluate_versions
from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
from rai_pipeline.settings import DEMO_CONFIG, RaiHome, configure_environment

Echo = Callable[[str], None]
DEMO_ESTIMATOR_TAG = "rai.demo_estimator"


class Progress:
    """Numbered steps with elapsed time, for people watching a terminal."""

    def __init__(self, echo: Echo, total: int) -> None:
        self.echo, self.total, self.step, self.start = echo, total, 0, time.monotonic()

    def __call__(self, message: str) -> None:
        self.step += 1
        self.echo(f"[{self.step}/{self.total}] {message} (t+{time.monotonic() - self.start:.0f}s)")


def _register_demo_models(store, progress: Progress, echo: Echo) -> list:
    from rai_pipeline.demo.train import DEMO_MODEL_NAME, train_and_register

    versions = store.list_versions(DEMO_MODEL_NAME)
    existing = [v for v in versions if DEMO_ESTIMATOR_TAG in v.tags]
    if len(existing) >= 2:
        progress(f"Reusing registered versions of {DEMO_MODEL_NAME} from an earlier demo run")
        return sorted((v.ref for v in existing), key=lambda ref: int(ref.version))[-2:]
    # An earlier demo was stopped while registering (no version is evaluated before both are
    # tagged): replace what it registered rather than leave it orphaned.
    for info in versions:
        store.delete_version(info.ref)
        echo(f"      removed {info.ref.uri}, registered by a demo run that did not finish")
    progress("Training two model versions on the Adult training split and registering them")
    trained = train_and_register(store)
    for item in trained:
        store.set_version_tags(item.ref, {DEMO_ESTIMATOR_TAG: item.estimator})
        echo(f"      registered {item.ref.uri} ({item.estimator})")
    return [item.ref for item in trained]


def run_demo(home: RaiHome, *, echo: Echo = print) -> list[VersionOutcome]:
    """Run the whole demo; return one outcome per evaluated model version."""
    progress = Progress(echo, total=7)
    configure_environment(home)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    progress(f"Preparing RAI_HOME at {home.root}")

    ensure_dbt_manifest()

    from rai_pipeline.adapters.mlflow_store import MlflowStore
    from rai_pipeline.app.land import land

    progress(f"Landing the data set of {DEMO_CONFIG.name} (the Adult test split)")
    landed = land(DEMO_CONFIG, home=home, echo=lambda _line: None).landed
    echo(f"      dataset version {landed.dataset_version[:16]}…")

    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    refs = _register_demo_models(store, progress, echo)

    progress(f"Evaluating {len(refs)} versions through Dagster")
    outcomes = evaluate_versions(refs, home=home, config_path=DEMO_CONFIG, echo=echo, source="demo")
    progress("Monitoring 30 days of production logs with a planted drift (one backfill run)")
    monitoring = run_monitoring_demo(home, store, echo=echo)
    echo(
        f"      {monitoring.alerts} alert(s), the first on {monitoring.first_alert or '(none)'}; "
        f"monitoring evidence: {monitoring.pack}"
    )
    echo(f"      incident bundle (verified): {monitoring.incident.bundle}")
    progress("Evaluating LLM safety")
    llm = run_llm_demo(home, echo=echo)
    shown = ", ".join(f"{v} {verdict}".strip() for v, verdict in llm.verdicts.items())
    echo(f"      {'reused' if llm.reused else 'published'} {llm.out}: {shown}")
    progress("Done")
    return outcomes
