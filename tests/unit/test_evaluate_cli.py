"""`rai evaluate` refuses, in one line with exit code 2, what it cannot evaluate: a bad config,
a data set that was not landed (or landed without the columns the config reads), a model or
version the registry does not hold. Nothing left to evaluate is said, with exit code 0. A full
evaluation runs in the README walkthrough test."""

from __future__ import annotations

import socket

import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.app.evaluate import EvaluateError, versions_to_evaluate
from rai_pipeline.cli import app
from rai_pipeline.core.governance.registry import (
    EVALUATED_TAG,
    ModelVersionInfo,
    ModelVersionRef,
)

runner = CliRunner()


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("RAI_HOME", str(tmp_path / "home"))
    pd.DataFrame(
        {"y": [0, 1, 0, 1], "x": [1.0, 2.0, 3.0, 4.0], "group": ["a", "b", "a", "b"]}
    ).to_csv(tmp_path / "data.csv", index=False)
    config = tmp_path / "world.yaml"
    config.write_text(
        "dataset: {path: data.csv, label: y, features: [x]}\nsensitive_features: [group]\n"
    )
    return {"home": tmp_path / "home", "config": config, "tmp": tmp_path}


def evaluate(*args):
    return runner.invoke(app, ["evaluate", *args])


def test_a_bad_config_is_refused_before_anything_is_created(world):
    world["config"].write_text("sensitive_features: [group]\ntreshold: 0.5\n")
    result = evaluate("m", "--config", str(world["config"]))
    assert result.exit_code == 2
    assert "treshold: unknown key" in result.output
    assert not world["home"].exists()


def test_an_unlanded_data_set_points_at_rai_land(world):
    result = evaluate("m", "--version", "1", "--config", str(world["config"]))
    assert result.exit_code == 2
    assert f"rai land --config {world['config']}" in result.output
    assert not world["home"].exists()


def test_a_landed_data_set_without_the_configs_columns_is_refused(world):
    assert runner.invoke(app, ["land", "--config", str(world["config"])]).exit_code == 0
    other = world["tmp"] / "other.yaml"
    other.write_text(
        "dataset: {path: data.csv, label: y, features: [x]}\nsensitive_features: [region]\n"
    )
    result = evaluate("m", "--config", str(other))
    assert result.exit_code == 2
    assert "has no column ['region']" in result.output


def test_a_postgres_warehouse_that_cannot_be_reached_is_said_before_any_run(world, monkeypatch):
    """With warehouse.engine postgres, the missing connection variables, then a server that
    does not answer, are refused in one line (exit 2) before the registry is read."""
    assert runner.invoke(app, ["land", "--config", str(world["config"])]).exit_code == 0
    config = world["config"]
    config.write_text(config.read_text() + "warehouse: {engine: postgres}\n")
    for name in ("HOST", "PORT", "USER", "PASSWORD", "DB"):
        monkeypatch.delenv(f"RAI_WAREHOUSE_PG_{name}", raising=False)
    result = evaluate("m", "--version", "1", "--config", str(config))
    assert result.exit_code == 2
    assert "RAI_WAREHOUSE_PG_USER, RAI_WAREHOUSE_PG_DB" in result.output
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("RAI_WAREHOUSE_PG_PORT", str(port))
    monkeypatch.setenv("RAI_WAREHOUSE_PG_USER", "rai")
    monkeypatch.setenv("RAI_WAREHOUSE_PG_DB", "rai")
    result = evaluate("m", "--version", "1", "--config", str(config))
    assert result.exit_code == 2
    assert "the PostgreSQL warehouse cannot be used" in result.output
    assert f"port {port}" in result.output
    assert not (world["home"] / "mlflow").exists()


def test_a_spark_warehouse_without_java_is_said_before_any_run(world, monkeypatch):
    """With warehouse.engine spark and no Java to start Spark with, one line (exit 2)
    before the registry is read."""
    assert runner.invoke(app, ["land", "--config", str(world["config"])]).exit_code == 0
    config = world["config"]
    config.write_text(config.read_text() + "warehouse: {engine: spark}\n")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(world["home"]))  # a folder without java
    result = evaluate("m", "--version", "1", "--config", str(config))
    assert result.exit_code == 2
    assert "warehouse.engine is spark, and Spark cannot start: no java on PATH" in result.output
    assert not (world["home"] / "mlflow").exists()


def test_a_model_the_registry_does_not_hold_is_named_with_what_it_holds(world):
    assert runner.invoke(app, ["land", "--config", str(world["config"])]).exit_code == 0
    result = evaluate("no-such-model", "--version", "1", "--config", str(world["config"]))
    assert result.exit_code == 2
    assert "no registered model 'no-such-model'; registered models: none" in result.output
    assert "Traceback" not in result.output


class Registry:
    """A registry holding versions 1 to 3 of ``m``, the given ones evaluated."""

    tracking_uri = "sqlite:///registry.db"

    def __init__(self, evaluated):
        self.evaluated = evaluated

    def list_versions(self, name):
        return [
            ModelVersionInfo(
                ModelVersionRef(name, str(v)),
                tags={EVALUATED_TAG: "run"} if v in self.evaluated else {},
            )
            for v in (3, 1, 2)
        ]

    def registered_model_names(self):
        return ["m"]


def test_without_a_version_every_version_not_yet_evaluated_is_chosen_in_order():
    chosen = versions_to_evaluate(Registry({2}), "m", None)
    assert [ref.version for ref in chosen] == ["1", "3"]
    assert [ref.version for ref in versions_to_evaluate(Registry({1, 2, 3}), "m", "2")] == ["2"]


def test_nothing_left_to_evaluate_is_said_and_is_not_an_error():
    said = []
    assert versions_to_evaluate(Registry({1, 2, 3}), "m", None, said.append) == []
    assert said == ["every registered version of 'm' has been evaluated (1, 2, 3)"]
    with pytest.raises(EvaluateError, match="model 'm' has no version '7'; its versions: 1, 2, 3"):
        versions_to_evaluate(Registry(set()), "m", "7")
