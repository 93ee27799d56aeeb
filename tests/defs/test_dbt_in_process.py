"""dbt inside the step's own process (``defs/dbt/in_process.py``), the path of the local Spark
warehouse, checked on DuckDB, where dagster-dbt's own dbt process runs too: the same build of
the shared models gives the same Dagster events either way (a materialization per model, a
check result per dbt test), and a build that fails fails the step with dbt's own error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.landing.extracts import land_evaluation_extracts
from rai_pipeline.defs.dbt import invocation
from rai_pipeline.settings import DBT_EXECUTABLE, RaiHome


def _land(home: RaiHome) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "example_id": np.arange(60, dtype="int64"),
            "label": rng.integers(0, 2, 60),
            "sex": rng.choice(["Female", "Male"], 60),
            "x": rng.random(60),
        }
    )
    land_evaluation_extracts(
        frame,
        landing_dir=home.landing,
        label_column="label",
        attribute_columns=["sex"],
        feature_columns=["x"],
        replace_current=True,
    )


def _build(home: RaiHome, *, in_process: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Materialize the shared warehouse models of ``home`` (dbt's ``local`` target) on a new
    instance, with dbt in this process or in its own."""
    from rai_pipeline.defs.dbt.assets import warehouse_models
    from rai_pipeline.defs.dbt.project import dbt_project
    from rai_pipeline.defs.dbt.resource import RaiDbtCliResource
    from rai_pipeline.defs.resources import (
        EvaluationConfigResource,
        RaiHomeResource,
        WarehouseResource,
    )

    targets = frozenset({invocation.DEFAULT_TARGET}) if in_process else frozenset()
    monkeypatch.setattr(invocation, "IN_PROCESS_TARGETS", targets)
    monkeypatch.setenv("RAI_HOME", str(home.root))
    config = home.root / "config.yaml"
    config.write_text("sensitive_features: [sex]\n")
    root = str(home.root)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [warehouse_models],
            instance=instance,
            raise_on_error=False,
            resources={
                "dbt": RaiDbtCliResource(
                    project_dir=dbt_project, dbt_executable=str(DBT_EXECUTABLE)
                ),
                "evaluation_config": EvaluationConfigResource(path=str(config)),
                "rai_home": RaiHomeResource(home=root),
                "warehouse": WarehouseResource(home=root),
            },
        )
        return result


def _events(result: Any) -> tuple[list[str], list[tuple[str, str, bool]]]:
    materialized = sorted(
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    )
    checks = sorted(
        (
            event.event_specific_data.asset_key.to_user_string(),
            event.event_specific_data.check_name,
            event.event_specific_data.passed,
        )
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    return materialized, checks


def test_in_process_dbt_gives_the_events_of_dagster_dbts_own_process(
    tmp_path: Path, dbt_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    homes = {name: RaiHome(tmp_path / name) for name in ("own-process", "in-process")}
    events = {}
    for name, home in homes.items():
        _land(home)
        result = _build(home, in_process=name == "in-process", monkeypatch=monkeypatch)
        assert result.success, name
        events[name] = _events(result)
    materialized, checks = events["own-process"]
    assert "staging/stg_examples" in materialized and "intermediate/int_subject_attributes" in (
        materialized
    )
    assert checks and all(passed for _, _, passed in checks)
    assert events["in-process"] == events["own-process"]
    # dbt wrote its parse, results and log where the step's target folder is
    (target,) = (homes["in-process"].root / "dbt").glob("warehouse_models-*")
    assert {"run_results.json", "dbt.log"} <= {path.name for path in target.iterdir()}


def test_a_failed_in_process_build_fails_the_step_with_dbts_error(
    tmp_path: Path, dbt_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = RaiHome(tmp_path / "home")
    _land(home)
    (home.landing / "current" / "labels.parquet").unlink()  # a source dbt cannot read
    result = _build(home, in_process=True, monkeypatch=monkeypatch)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = str(failure.event_specific_data.error)
    assert "dbt build failed in this process" in message
    assert "labels.parquet" in message
