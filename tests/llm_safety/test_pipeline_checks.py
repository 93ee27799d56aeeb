"""The LLM safety data checks in the warehouse: a response without a prompt, a prompt without a
response and a verdict outside the configured outcomes are counted by the dbt model
``llm_data_checks`` as the evaluation counts them, and a check the config makes blocking
stops the pipeline's evaluation before any evidence is published."""

from __future__ import annotations

import os
import shutil

import duckdb
import pandas as pd
import pytest

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.app.evaluate import BLOCKED, PUBLISHED
from rai_pipeline.app.evaluate_llm import evaluate_llm
from rai_pipeline.app.evaluate_llm_versions import run_evaluate_llm_versions
from rai_pipeline.app.land_llm import land_llm
from rai_pipeline.core.governance.registry import EVALUATED_TAG
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import PROJECT_ROOT, RaiHome, configure_environment

BUNDLED = PROJECT_ROOT / "rai_pipeline" / "demo" / "llm"
ENVIRONMENT = ("RAI_HOME", "DAGSTER_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PATH")


@pytest.fixture
def broken_set(tmp_path):
    """The bundled set with, in v2: a response to prompt p99 (not in the set), no response to
    p03, and the verdict of p05 outside the outcomes."""
    folder = tmp_path / "set"
    shutil.copytree(BUNDLED, folder)
    responses = pd.read_csv(folder / "responses_v2.csv", dtype=str, keep_default_na=False)
    responses = responses[responses["id"] != "p03"]
    responses.loc[responses["id"] == "p05", "verdict"] = "unsure"
    extra = responses.iloc[[0]].assign(id="p99")
    pd.concat([responses, extra]).to_csv(folder / "responses_v2.csv", index=False)
    return folder / "llm_safety.yaml"


def test_warehouse_counts_equal_the_evaluations_and_blocking_stops_publication(
    broken_set, tmp_path, dbt_manifest
):
    with pytest.MonkeyPatch.context() as patch:
        for key in ENVIRONMENT:
            if key in os.environ:
                patch.setenv(key, os.environ[key])
        home = RaiHome(tmp_path / "home")
        configure_environment(home)
        # not blocking: the file evaluation counts the problems and goes on
        cli = evaluate_llm(broken_set, out=tmp_path / "cli")
        expected = read_parquet(cli.out / "llm_data_checks.parquet")
        blocking = broken_set.with_name("blocking.yaml")
        blocking.write_text(
            broken_set.read_text() + "checks: {blocking: [response_without_prompt]}\n"
        )
        store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
        landed = land_llm(blocking, home=home, store=store)
        outcomes = run_evaluate_llm_versions(blocking, None, home=home, echo=lambda _: None)
        with duckdb.connect(str(home.warehouse), read_only=True) as conn:
            counted = conn.execute(
                'select model_version, "check", "count", examples from llm_safety.llm_data_checks'
            ).df()
    by_hand = {
        ("v2", "response_without_prompt"): (1, "p99"),
        ("v2", "prompt_without_response"): (1, "p03"),
        ("v2", "rating_outside_outcomes"): (1, "p05"),
    }
    for row in expected.itertuples():
        warehouse = counted[
            (counted["model_version"] == row.model_version) & (counted["check"] == row.check)
        ].iloc[0]
        assert (int(warehouse["count"]), warehouse["examples"]) == (row.count, row.examples)
        assert (row.count, row.examples) == by_hand.get((row.model_version, row.check), (0, ""))
    status = {o.partition_key: o for o in outcomes}
    v1, v2 = landed.versions["v1"], landed.versions["v2"]
    assert status[v1.partition_key].status == PUBLISHED
    assert status[v2.partition_key].status == BLOCKED
    assert "response_without_prompt: 1 (e.g. p99" in status[v2.partition_key].error
    assert not home.pack_dir(v2.name, v2.version).exists()
    assert EVALUATED_TAG not in store.version_tags(v2)


def test_land_llm_refuses_a_broken_file_and_writes_nothing(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from rai_pipeline.cli import app

    folder = tmp_path / "set"
    shutil.copytree(BUNDLED, folder)
    prompts = pd.read_csv(folder / "prompts.csv", dtype=str, keep_default_na=False)
    prompts.drop(columns=["expected"]).to_csv(folder / "prompts.csv", index=False)
    home = tmp_path / "home"
    for key in ENVIRONMENT[1:4]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RAI_HOME", str(home))
    result = CliRunner().invoke(app, ["land-llm", "--config", str(folder / "llm_safety.yaml")])
    assert result.exit_code == 2, result.output
    assert f"{folder / 'prompts.csv'}: no column 'expected'" in result.output
    assert not (home / "landing" / "llm").exists()
    assert not home.exists()  # not even RAI_HOME: the files are checked first
    store = MlflowStore(
        tracking_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        artifact_root=str(home / "mlflow" / "artifacts"),
    )
    assert store.list_versions("demo-assistant") == []
