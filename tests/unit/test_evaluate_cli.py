"""`rai evaluate` refuses, in one line with exit code 2, what it cannot evaluate: a bad config,
a data set that was not landed (or landed without the columns the config reads), a model or
version the registry does not hold. A full evaluation runs in the README walkthrough test."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app

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


def test_a_model_the_registry_does_not_hold_is_named_with_what_it_holds(world):
    assert runner.invoke(app, ["land", "--config", str(world["config"])]).exit_code == 0
    result = evaluate("no-such-model", "--version", "1", "--config", str(world["config"]))
    assert result.exit_code == 2
    assert "no registered model 'no-such-model'; registered models: none" in result.output
    assert "Traceback" not in result.output
