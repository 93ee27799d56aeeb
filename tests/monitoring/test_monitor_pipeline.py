"""The monitoring job through Dagster on a copy of the demo's warehouse: 30 days of requests
scored by the demo's registered model version 2, the shift planted from day 18, one run for
the 30 days (`rai monitor`), then a re-run of two days. The shifted feature alerts on or after
the onset and never before; no undrifted feature alerts on any day; a re-run replaces its
days' rows and duplicates nothing."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.app.monitor import run_monitor
from rai_pipeline.cli import app
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.core.landing.logs import LABELS, REQUESTS, land_days
from rai_pipeline.core.monitoring.simulate import PlantedDrift, simulate_logs
from rai_pipeline.settings import DEMO_CONFIG, RaiHome, configure_environment

START, ONSET, DAYS = dt.date(2026, 11, 1), 18, 30
ENVIRONMENT = ("RAI_HOME", "DAGSTER_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PATH")
CONFIG = """model_name: adult-income
deployed_version: "2"
features: {age: numeric, education_num: numeric, hours_per_week: numeric,
           capital_gain: numeric, occupation: categorical, workclass: categorical}
monitors:
  - {name: feature_drift, metric: psi, why: the inputs move away from the evaluation data,
     how: PSI of the window's bucket counts against the reference's, owner: ml-on-call,
     severity: ERROR}
"""


@pytest.fixture(scope="module")
def monitored(demo, tmp_path_factory):
    source, _, _ = demo
    with pytest.MonkeyPatch.context() as patch:
        for key in ENVIRONMENT:
            if key in os.environ:
                patch.setenv(key, os.environ[key])
        home = RaiHome(tmp_path_factory.mktemp("monitoring"))
        shutil.copy(source.warehouse, home.warehouse)
        shutil.copytree(source.mlflow_dir, home.mlflow_dir, dirs_exist_ok=True)  # registry
        configure_environment(home)
        with duckdb.connect(str(home.warehouse)) as conn:
            # the demo monitored (and disposed of alerts on) the same days: start afresh
            for table in (
                "rai.alert_history",
                "rai.drift_metrics",
                "rai.performance_estimates",
                "rai.performance_realized",
                "rai.fairness_realized",
                "monitoring.monitoring_bucket_counts",
            ):
                conn.execute(f"drop table if exists {table}")
            reference = conn.execute(
                "select e.*, f.label, a.sex, a.race from marts.eval_frame f "
                "join staging.stg_examples e using (example_id) "
                "join staging.stg_subject_attributes a using (example_id) "
                "where f.model_name = 'adult-income' and f.model_version = '2'"
            ).df()
        store = MlflowStore(
            tracking_uri=source.tracking_uri, artifact_root=str(source.artifact_root)
        )
        features = [c for c in reference.columns if c not in ("example_id", "label", "sex", "race")]
        logs = simulate_logs(
            reference,
            scorer=store.load_scorer(ModelVersionRef("adult-income", "2")),
            model_name="adult-income",
            model_version="2",
            features=features,
            label="label",
            threshold=0.5,
            start=START,
            days=DAYS,
            rows_per_day=400,
            drift=PlantedDrift(ONSET, "hours_per_week", 10.0, "sex", "Female", 0.15),
            label_delay_days=5,
            seed=1,
        )
        folder = home.monitoring_landing("adult-income")
        land_days(logs.requests, landing_dir=folder, table=REQUESTS)
        land_days(logs.labels, landing_dir=folder, table=LABELS)
        config = home.root / "monitoring.yaml"
        config.write_text(CONFIG)
        cli = CliRunner().invoke(
            app, ["monitor", "--config", str(config), "--from", "2026-11-01", "--to", "2026-11-30"]
        )
        with duckdb.connect(str(home.warehouse), read_only=True) as conn:
            first = {
                t: conn.execute(f"select * from rai.{t}").df()
                for t in ("drift_metrics", "alert_history")
            }
        again = run_monitor(
            config,
            start=dt.date(2026, 11, 20),
            end=dt.date(2026, 11, 21),
            home=home,
            evaluation_config=DEMO_CONFIG,
            echo=lambda _: None,
        )
        with duckdb.connect(str(home.warehouse), read_only=True) as conn:
            second = {
                t: conn.execute(f"select * from rai.{t}").df()
                for t in ("drift_metrics", "alert_history")
            }
        yield cli, first, again, second


def test_the_cli_runs_the_30_days_and_exits_1_on_error_alerts(monitored):
    cli, first, _, _ = monitored
    assert cli.exit_code == 1, cli.output
    assert "alert(s) from 2026-11-01 to 2026-11-30" in cli.output
    days = set(first["drift_metrics"]["day"].astype(str))
    assert days == {(START + dt.timedelta(k)).isoformat() for k in range(DAYS)}


def test_the_planted_drift_alerts_on_or_after_its_onset_only(monitored):
    _, first, _, _ = monitored
    alerts = first["alert_history"]
    index = (pd.to_datetime(alerts["day"]) - pd.Timestamp(START)).dt.days
    shifted = index[alerts["feature"] == "hours_per_week"]
    assert len(shifted) and ONSET <= shifted.min() <= ONSET + 2
    assert set(range(int(shifted.min()), DAYS)) <= set(shifted)  # and on every day after
    assert set(alerts["feature"]) <= {"hours_per_week", "score"}
    assert index[alerts["feature"] == "score"].min() >= ONSET
    assert (alerts["owner"] == "ml-on-call").all() and (alerts["status"] == "open").all()


def test_a_rerun_replaces_its_days_and_duplicates_nothing(monitored):
    _, first, again, second = monitored
    assert again.success, again.error
    for table in ("drift_metrics", "alert_history"):
        assert len(second[table]) == len(first[table])
    assert second["alert_history"]["alert_id"].is_unique
    keys = ["day", "feature", "dimension", "group", "window_days"]
    assert not second["drift_metrics"].duplicated(keys).any()


def test_dispositions_are_recorded_counted_and_kept_across_a_rerun(monitored):
    _, first, _, _ = monitored
    alerts = first["alert_history"].sort_values(["day", "feature", "dimension", "group"])
    one, two = alerts.iloc[0], alerts.iloc[1]
    day = dt.date.fromisoformat(str(one["day"]))
    runner = CliRunner()
    for alert, disposition, late in ((one, "actionable", 2), (two, "noise", 4)):
        when = (dt.date.fromisoformat(str(alert["day"])) + dt.timedelta(late)).isoformat()
        result = runner.invoke(
            app,
            [
                "alerts",
                "resolve",
                str(alert["alert_id"]),
                "--disposition",
                disposition,
                "--by",
                "analyst",
                "--at",
                when,
            ],
        )
        assert result.exit_code == 0, result.output
    # by hand: two disposed, one actionable, acknowledged after 2 and 4 days
    assert f"2 of {len(alerts)} disposed, 50% actionable, median 3.0 day(s)" in result.output
    unknown = runner.invoke(
        app, ["alerts", "resolve", "nope", "--disposition", "noise", "--by", "analyst"]
    )
    assert unknown.exit_code == 2 and "no alert 'nope'" in unknown.output
    home = RaiHome(Path(os.environ["RAI_HOME"]))
    config = home.root / "monitoring.yaml"
    outcome = run_monitor(
        config, start=day, end=day, home=home, evaluation_config=DEMO_CONFIG, echo=lambda _: None
    )
    kept = outcome.alerts.set_index("alert_id")
    assert kept.loc[one["alert_id"], "status"] == "actionable"
    assert kept.loc[one["alert_id"], "disposed_by"] == "analyst"
