"""The dbt project builds the evaluation frame from landed extracts and a predictions table.

One module-scoped warehouse: the Adult test split is landed under a temporary RAI_HOME, a
predictions table is filled for two versions of one model (version 2 scored on all but 10
examples), and dbt runs three times the way the pipeline runs it, with the demo config's
sensitive attributes as vars: everything for version 1; only the per-model-version models for
version 2 (the coverage test must fail); version 1 again with another threshold (its rows are
replaced, version 2's stay).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from rai_pipeline.core.config.schema import load_config
from rai_pipeline.core.landing.extracts import PREDICTIONS_DDL, land_evaluation_extracts
from rai_pipeline.core.schemas.attributes import dbt_vars as config_vars
from rai_pipeline.demo.adult import FEATURES, LABEL, load_adult_with_ids
from rai_pipeline.settings import DBT_EXECUTABLE, DEMO_CONFIG

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"
DBT = DBT_EXECUTABLE
MODEL = "adult-income"
AGE_BANDS = {"0-16", "17-24", "25-44", "45-64", "65+", "unknown"}
EVAL_FRAME_CONTRACT = [
    ("model_name", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("example_id", "BIGINT"),
    ("label", "INTEGER"),
    ("score", "DOUBLE"),
    ("threshold", "DOUBLE"),
    ("decision", "INTEGER"),
    ("dataset_version", "VARCHAR"),
]
ATTRIBUTES_CONTRACT = [
    ("dataset_version", "VARCHAR"),
    ("example_id", "BIGINT"),
    ("attribute", "VARCHAR"),
    ("value", "VARCHAR"),
]
DEMO_VARS = config_vars(load_config(DEMO_CONFIG))


def run_dbt(
    rai_home: Path,
    target: Path,
    *args: str,
    expect_success: bool = True,
    env: dict[str, str] | None = None,
) -> dict:
    """Run the dbt CLI in a subprocess, as dagster-dbt does; return run_results.json.

    Not ``dbtRunner`` in-process: dbt-duckdb keeps its DuckDB connection (and so the file
    lock) open in the calling process after ``invoke`` returns.
    """
    env = (
        os.environ
        | {"RAI_HOME": str(rai_home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
        | (env or {})
    )
    result = subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
            "--log-level-file",
            "none",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 0) == expect_success, result.stdout[-6000:] + result.stderr[-2000:]
    return json.loads((target / "run_results.json").read_text()) | {"stdout": result.stdout}


def dbt_vars(version: str, threshold: float) -> str:
    return json.dumps(
        {**DEMO_VARS, "model_name": MODEL, "model_version": version, "threshold": threshold}
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    rai_home = tmp_path_factory.mktemp("rai_home")
    target = tmp_path_factory.mktemp("dbt_target")
    frame = load_adult_with_ids("test")
    landed = land_evaluation_extracts(
        frame,
        landing_dir=rai_home / "landing" / "evaluation",
        label_column=LABEL,
        attribute_columns=["sex", "race", "age"],
        feature_columns=FEATURES,
    )
    rng = np.random.default_rng(42)
    with duckdb.connect(str(rai_home / "warehouse.duckdb")) as con:
        con.execute(PREDICTIONS_DDL)
        # version 2 was scored on all but the last 10 examples (a partial scoring run)
        for version, scored in (("1", frame), ("2", frame.iloc[:-10])):
            batch = pd.DataFrame(
                {
                    "model_name": MODEL,
                    "model_version": version,
                    "example_id": scored["example_id"],
                    "score": rng.random(len(scored)),
                    "scored_at_run": f"run-{version}",
                }
            )
            con.register("batch", batch)
            con.execute("insert into landing.predictions select * from batch")
            con.unregister("batch")

    per_version = ("build", "--select", "tag:per_model_version", "--vars")
    runs = {
        # every model of the classifier chain (the LLM safety models read other sources)
        "all_v1": run_dbt(
            rai_home,
            target,
            "build",
            "--exclude",
            "tag:llm_safety",
            "tag:monitoring",
            "--vars",
            dbt_vars("1", 0.5),
        ),
        "partial_v2": run_dbt(
            rai_home, target, *per_version, dbt_vars("2", 0.3), expect_success=False
        ),
        "v1_again": run_dbt(rai_home, target, *per_version, dbt_vars("1", 0.7)),
    }
    manifest = json.loads((target / "manifest.json").read_text())
    return {
        "db": rai_home / "warehouse.duckdb",
        "landed": landed,
        "frame": frame,
        "runs": runs,
        "manifest": manifest,
    }


def query(warehouse: dict, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse["db"]), read_only=True) as con:
        return con.execute(sql).df()


def test_every_model_test_and_unit_test_passes_in_each_complete_run(warehouse):
    for name in ("all_v1", "v1_again"):
        run = warehouse["runs"][name]
        statuses = {r["unique_id"]: r["status"] for r in run["results"]}
        bad = {k: v for k, v in statuses.items() if v not in {"success", "pass"}}
        assert not bad, (name, bad)
    first = {r["unique_id"] for r in warehouse["runs"]["all_v1"]["results"]}
    assert sum(k.startswith("unit_test.") for k in first) == 5
    per_version = {r["unique_id"] for r in warehouse["runs"]["v1_again"]["results"]}
    assert {k for k in per_version if k.startswith("model.")} == {
        "model.rai.stg_predictions",
        "model.rai.eval_frame",
        "model.rai.eval_frame_wide",
    }


def test_eval_frame_has_one_row_per_model_version_and_example(warehouse):
    counts = query(
        warehouse,
        "select model_version, count(*) as n, count(distinct example_id) as ids, "
        "min(threshold) as lo, max(threshold) as hi "
        "from marts.eval_frame group by all order by model_version",
    )
    n = len(warehouse["frame"])
    assert counts.to_dict("records") == [
        {"model_version": "1", "n": n, "ids": n, "lo": 0.7, "hi": 0.7},
        {"model_version": "2", "n": n - 10, "ids": n - 10, "lo": 0.3, "hi": 0.3},
    ]


def test_a_partially_scored_model_version_fails_the_coverage_test_only(warehouse):
    results = {r["unique_id"]: r for r in warehouse["runs"]["partial_v2"]["results"]}
    failed = {
        k: r["failures"]
        for k, r in results.items()
        if r["status"] not in {"success", "pass", "skipped"}
    }
    assert failed == {"test.rai.assert_eval_frame_covers_every_labeled_example": 10}
    # what reads the frame downstream is not built on a frame that failed a test
    skipped = {k for k, r in results.items() if r["status"] == "skipped"}
    assert "model.rai.eval_frame_wide" in skipped


def test_eval_frame_decision_is_score_at_or_above_threshold(warehouse):
    bad = query(
        warehouse,
        "select count(*) as n from marts.eval_frame "
        "where decision != cast(score >= threshold as integer)",
    )
    assert bad["n"].item() == 0


def test_eval_frame_wide_joins_labels_attributes_and_dataset_version(warehouse):
    frame = query(
        warehouse,
        "select example_id, label, sex, race, age_band, dataset_version, score "
        "from marts.eval_frame_wide where model_version = '1' order by example_id",
    )
    source = warehouse["frame"].sort_values("example_id").reset_index(drop=True)
    assert frame["label"].tolist() == source[LABEL].tolist()
    assert frame["sex"].tolist() == source["sex"].fillna("unknown").tolist()
    assert frame["race"].tolist() == source["race"].fillna("unknown").tolist()
    assert set(frame["dataset_version"]) == {warehouse["landed"].dataset_version}
    # the bands of the demo config, computed independently: [17, 25) is 17-24, ..., >= 65 65+
    expected = pd.cut(
        source["age"],
        bins=[-np.inf, 17, 25, 45, 65, np.inf],
        right=False,
        labels=["0-16", "17-24", "25-44", "45-64", "65+"],
    )
    assert frame["age_band"].tolist() == expected.astype(str).tolist()


def test_every_example_has_one_group_per_attribute(warehouse):
    counts = query(
        warehouse,
        "select attribute, count(*) as n, count(distinct example_id) as ids "
        "from intermediate.int_subject_attributes group by attribute order by attribute",
    )
    n = len(warehouse["frame"])
    assert counts.to_dict("records") == [
        {"attribute": name, "n": n, "ids": n} for name in ("age_band", "race", "sex")
    ]


def test_eval_frame_columns_match_the_enforced_contract(warehouse):
    described = query(warehouse, "describe marts.eval_frame")
    assert list(zip(described["column_name"], described["column_type"], strict=True)) == (
        EVAL_FRAME_CONTRACT
    )
    node = warehouse["manifest"]["nodes"]["model.rai.eval_frame"]
    assert node["config"]["contract"]["enforced"] is True
    assert node["config"]["incremental_strategy"] == "delete+insert"
    assert node["config"]["unique_key"] == ["model_name", "model_version"]
    described = query(warehouse, "describe intermediate.int_subject_attributes")
    assert list(zip(described["column_name"], described["column_type"], strict=True)) == (
        ATTRIBUTES_CONTRACT
    )
    node = warehouse["manifest"]["nodes"]["model.rai.int_subject_attributes"]
    assert node["config"]["contract"]["enforced"] is True
    assert node["config"]["unique_key"] == ["dataset_version"]


def test_layers_land_in_their_schemas_with_the_configured_materialization(warehouse):
    tables = query(
        warehouse,
        "select table_schema || '.' || table_name as name, table_type "
        "from information_schema.tables order by 1",
    )
    assert dict(zip(tables["name"], tables["table_type"], strict=True)) == {
        "intermediate.int_examples_labeled": "BASE TABLE",
        "intermediate.int_subject_attributes": "BASE TABLE",
        "landing.predictions": "BASE TABLE",
        "marts.eval_frame": "BASE TABLE",
        "marts.eval_frame_wide": "VIEW",
        "staging.stg_dataset_versions": "VIEW",
        "staging.stg_examples": "VIEW",
        "staging.stg_labels": "VIEW",
        "staging.stg_predictions": "VIEW",
        "staging.stg_subject_attributes": "VIEW",
    }


def test_sources_read_the_current_landing_and_map_to_dagster_asset_keys(warehouse):
    sources = {
        s["name"]: s
        for s in warehouse["manifest"]["sources"].values()
        if s["package_name"] == "rai" and s["source_name"] == "landing"
    }
    llm = {
        s["name"]: s
        for s in warehouse["manifest"]["sources"].values()
        if s["package_name"] == "rai" and s["source_name"] == "llm_landing"
    }
    monitoring = {
        s["name"]: s["meta"]["dagster"]["asset_key"]
        for s in warehouse["manifest"]["sources"].values()
        if s["package_name"] == "rai" and s["source_name"] == "monitoring_landing"
    }
    assert monitoring == {n: ["monitoring_landing", n] for n in ("requests", "labels")}
    for name in ("llm_prompts", "llm_responses", "llm_ratings", "llm_versions"):
        assert llm.pop(name)["meta"]["dagster"]["asset_key"] == ["llm_landing", name]
    assert llm == {}
    assert set(sources) == {
        "examples",
        "labels",
        "subject_attributes",
        "dataset_versions",
        "predictions",
    }
    for name in ("examples", "labels", "subject_attributes"):
        assert sources[name]["config"]["external_location"].endswith(
            f"/landing/evaluation/current/{name}.parquet"
        )
        assert sources[name]["meta"]["dagster"]["asset_key"] == ["landing", name]
    assert sources["dataset_versions"]["config"]["external_location"].endswith(
        "/landing/evaluation/current/dataset_version.parquet"
    )
    assert sources["dataset_versions"]["meta"]["dagster"]["asset_key"] == [
        "landing",
        "dataset_versions",
    ]
    assert sources["predictions"]["meta"]["dagster"]["asset_key"] == ["predictions"]
    assert "external_location" not in sources["predictions"]["config"]


def test_every_model_states_its_grain_and_flags_sensitive_columns(warehouse):
    models = {
        n["name"]: n
        for n in warehouse["manifest"]["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == "rai"
    }
    assert set(models) == {
        "stg_examples",
        "stg_labels",
        "stg_subject_attributes",
        "stg_dataset_versions",
        "stg_predictions",
        "int_examples_labeled",
        "int_subject_attributes",
        "eval_frame",
        "eval_frame_wide",
        "stg_llm_prompts",
        "stg_llm_responses",
        "stg_llm_ratings",
        "stg_llm_versions",
        "llm_data_checks",
        "stg_inference_requests",
        "stg_outcome_labels",
        "monitoring_reference_rows",
        "monitoring_edges",
        "monitoring_reference_counts",
        "monitoring_bucket_counts",
        "monitoring_requests",
        "monitoring_labelled_requests",
    }
    for name, node in models.items():
        assert "one row" in node["description"].lower(), name
        if "example_id" in node["columns"]:
            assert node["columns"]["example_id"]["meta"].get("restricted") is True, name
    groups = models["int_subject_attributes"]["columns"]["value"]
    assert groups["meta"].get("sensitive") is True
    for name in ("stg_subject_attributes", "int_subject_attributes", "eval_frame_wide"):
        assert models[name]["meta"].get("contains_sensitive_data") is True, name
    tagged = {name for name, node in models.items() if "per_model_version" in node["tags"]}
    assert tagged == {"stg_predictions", "eval_frame", "eval_frame_wide"}
    llm = {name for name, node in models.items() if "llm_safety" in node["tags"]}
    assert llm == {name for name in models if "llm" in name}
    monitoring = {name for name, node in models.items() if "monitoring" in node["tags"]}
    assert monitoring == {n for n in models if "monitoring" in n or n.startswith("stg_inf")} | {
        "stg_outcome_labels"
    }


def test_no_model_names_a_column_of_the_demo_data_set():
    for path in (PROJECT / "models").rglob("*"):
        if path.suffix in {".sql", ".yml"}:
            text = path.read_text().lower()
            for column in ("sex", "race", "age", "age_band", "income"):
                assert not re.search(rf"\b{column}\b", text), (path, column)


def test_default_vars_hold_no_per_run_value_and_a_valid_threshold():
    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    assert project["vars"] == {
        "threshold": 0.5,
        "sensitive_attributes": [],
        "llm_landing_dir": "unset",
        "llm_outcome_labels": [],
        "monitoring_landing_dir": "unset",
        "monitoring_model_name": "unset",
        "monitoring_model_version": "unset",
        "monitoring_features": [],
        "monitoring_buckets": 10,
    }


def test_the_version_built_may_come_from_the_environment_and_a_new_one_is_parsed_in_part(
    warehouse, tmp_path
):
    """As the pipeline runs it: the same --vars each time, the version in the environment
    (macros/run_value.sql); dbt starts from the previous build's parse and says when it cannot."""
    home = tmp_path / "rai_home"
    shutil.copytree(warehouse["db"].parent, home)
    target = tmp_path / "target"
    args = ("build", "--select", "tag:per_model_version", "--vars")
    variables = json.dumps({**DEMO_VARS, "threshold": 0.7})
    by_env = {"RAI_DBT_MODEL_NAME": MODEL}
    first = run_dbt(home, target, *args, variables, env=by_env | {"RAI_DBT_MODEL_VERSION": "1"})
    assert "Unable to do partial parsing" in first["stdout"]  # nothing saved yet
    second = run_dbt(
        home,
        target,
        *args,
        variables,
        env=by_env | {"RAI_DBT_MODEL_VERSION": "2"},
        expect_success=False,  # version 2 misses 10 examples
    )
    assert "Unable to do partial parsing" not in second["stdout"]
    failed = {r["unique_id"]: r["failures"] for r in second["results"] if r["status"] == "fail"}
    assert failed == {"test.rai.assert_eval_frame_covers_every_labeled_example": 10}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        counts = con.execute(
            "select model_version, count(*), min(threshold), max(threshold) "
            "from marts.eval_frame group by all order by 1"
        ).fetchall()
    n = len(warehouse["frame"])
    assert counts == [("1", n, 0.7, 0.7), ("2", n - 10, 0.7, 0.7)]
    unnamed = run_dbt(home, target, *args, variables, env=by_env, expect_success=False)
    assert "RAI_DBT_MODEL_VERSION must be set" in unnamed["stdout"]
