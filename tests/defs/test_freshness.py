"""The shared warehouse models are built again only when what they read changes: the landed
data set, the config's dbt vars, their SQL, or the warehouse file itself; while they are
current a version's run (from the CLI or the registry sensor) selects every asset of the
evaluation job but them."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
import pytest

from rai_pipeline.core.config.schema import parse_config
from rai_pipeline.core.landing.extracts import land_evaluation_extracts
from rai_pipeline.defs.dbt import freshness
from rai_pipeline.defs.dbt.freshness import current_build, inputs_digest, record_build
from rai_pipeline.settings import RaiHome


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    from rai_pipeline.definitions import defs

    return defs


def config_of(*features):
    return parse_config({"sensitive_features": list(features)}, source="test")


def land(home: RaiHome, seed: int) -> None:
    frame = pd.DataFrame(
        {
            "example_id": range(20),
            "label": [seed % 2, 1 - seed % 2] * 10,
            "sex": ["F", "M"] * 10,
            "race": ["a", "b", "c", "d"] * 5,
            "age": range(20, 40),
        }
    )
    land_evaluation_extracts(
        frame,
        landing_dir=home.landing,
        label_column="label",
        attribute_columns=["sex", "race"],
        feature_columns=["age"],
        replace_current=True,
    )


def built(home: RaiHome, config) -> None:
    home.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home.warehouse)) as conn:
        record_build(conn, digest=inputs_digest(home, config), target=home.root / "t", run_id="r1")


def test_the_shared_models_are_current_until_what_they_read_changes(tmp_path, dbt_manifest):
    home, config = RaiHome(tmp_path / "home"), config_of("sex")
    assert inputs_digest(home, config) is None  # nothing landed: nothing can be current
    land(home, 0)
    assert current_build(home, config) is None  # never built
    built(home, config)
    assert current_build(home, config)["dagster_run_id"] == "r1"
    assert current_build(home, config_of("sex", "race")) is None  # other dbt vars
    land(home, 1)
    assert current_build(home, config) is None  # another data set landed
    built(home, config)
    assert current_build(home, config) is not None
    with duckdb.connect(str(home.warehouse)):  # held by another writer: not known, not current
        assert current_build(home, config) is None
    home.warehouse.unlink()
    duckdb.connect(str(home.warehouse)).close()  # a new warehouse: the models are not in it
    assert current_build(home, config) is None


def test_other_sql_makes_the_shared_models_stale(tmp_path, dbt_manifest, monkeypatch):
    home, config = RaiHome(tmp_path / "home"), config_of("sex")
    land(home, 0)
    built(home, config)
    real = freshness._shared_nodes
    monkeypatch.setattr(
        freshness, "_shared_nodes", lambda manifest: {**real(manifest), "model.x": "changed"}
    )
    assert current_build(home, config) is None


def test_a_version_run_skips_the_shared_models_only_while_they_are_current(
    tmp_path, defs, monkeypatch
):
    from rai_pipeline.defs.dbt.assets import warehouse_models
    from rai_pipeline.defs.evaluation.jobs import EVALUATE_JOB, version_run_selection

    home, config = RaiHome(tmp_path / "home"), config_of("sex")
    graph = defs.resolve_asset_graph()
    land(home, 0)
    assert version_run_selection(graph, home, config) is None
    built(home, config)
    selected = set(version_run_selection(graph, home, config))
    job_assets = defs.resolve_job_def(EVALUATE_JOB).asset_layer.executable_asset_keys
    assert selected == set(job_assets) - set(warehouse_models.keys)
    assert dg.AssetKey("evidence_pack") in selected
    assert dg.AssetKey(["landing", "examples"]) in selected


def test_the_sensor_requests_runs_without_the_shared_models_while_current(tmp_path, defs):
    from tests.defs.test_sensor import _REGISTRY, info, tick, write_config

    config_path = write_config(tmp_path)
    home = RaiHome(tmp_path / "home")
    _REGISTRY["adult-income"] = [info(1)]
    repository = defs.get_repository_def()
    [request] = tick(None, config_path, repository_def=repository).run_requests
    assert request.asset_selection is None  # nothing built yet: the whole job
    land(home, 0)
    from rai_pipeline.core.config.schema import load_config

    built(home, load_config(config_path))
    [request] = tick(None, config_path, repository_def=repository).run_requests
    assert request.asset_selection is not None
    assert not {key.path[-1] for key in request.asset_selection} & {"stg_examples"}
    assert dg.AssetKey("evidence_pack") in request.asset_selection


def test_a_build_forgets_the_record_first_and_an_evaluation_names_the_run_that_built(
    tmp_path, dbt_manifest
):
    from rai_pipeline.defs.dbt.freshness import forget_build
    from rai_pipeline.defs.evaluation.dbt_lineage import evaluation_runs

    home, config = RaiHome(tmp_path / "home"), config_of("sex")
    land(home, 0)
    built(home, config)  # by run r1
    with duckdb.connect(str(home.warehouse)) as conn:
        assert evaluation_runs(conn, "r2") == ["r2", "r1"]  # r2 read what r1 built
        assert evaluation_runs(conn, "r1") == ["r1"]  # r1 built them itself
        forget_build(conn)  # a build that then fails leaves no record
        assert evaluation_runs(conn, "r2") == ["r2"]
    assert current_build(home, config) is None


def test_rai_evaluate_waits_for_the_warehouse_to_know_whether_they_are_current(
    tmp_path, dbt_manifest
):
    """While another process writes the warehouse, the sensor's answer (no wait) is "not
    known, not current"; ``rai evaluate``'s (it waits) is the recorded build."""
    from tests.reliability.test_warehouse_lock import hold, release

    home, config = RaiHome(tmp_path / "home"), config_of("sex")
    land(home, 0)
    built(home, config)
    holder = hold(home.warehouse, 3)
    try:
        assert current_build(home, config) is None
        assert current_build(home, config, wait_seconds=60)["dagster_run_id"] == "r1"
    finally:
        release(holder)


def test_on_the_spark_warehouse_only_the_runs_own_process_reads_the_record(tmp_path, dbt_manifest):
    """The record a run on Spark reads is in the local Spark catalog, which only the run's own
    process may open (tests/scale/test_spark_pipeline.py reads it there): elsewhere (the
    registry sensor) the models are not known to be current, and a record in the DuckDB file
    does not count for Spark, nor does a home without a Spark catalog."""
    home, config = RaiHome(tmp_path / "home"), config_of("sex")
    land(home, 0)
    built(home, config)
    assert current_build(home, config) is not None
    on_spark = parse_config(
        {"sensitive_features": ["sex"], "warehouse": {"engine": "spark"}}, source="test"
    )
    assert inputs_digest(home, on_spark) == inputs_digest(home, config)
    assert current_build(home, on_spark) is None
    assert current_build(home, on_spark, run_here=True) is None  # no Spark catalog: no JVM
    assert not (home.root / "spark-metastore").exists()
