"""Provenance rules: every asset has a code version that follows its source files, and every
materialization of our assets carries a content digest as its data version."""

import hashlib
import json
import shutil
import struct
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.adapters.mlflow_store import mlflow_model_version_url, mlflow_run_url
from rai_pipeline.code_version import module_source_files, modules_code_version, source_digest
from rai_pipeline.core.landing.extracts import (
    PREDICTIONS_DDL,
    LandingIntegrityError,
    land_evaluation_extracts,
)
from rai_pipeline.defs.lineage import frame_digest, predictions_digest, scores_digest

LANDING_KEYS = [
    dg.AssetKey(["landing", name])
    for name in ("examples", "labels", "subject_attributes", "dataset_versions")
]


# Code versions ---------------------------------------------------------------------------------


def test_every_asset_has_a_code_version(dbt_manifest):
    from rai_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    missing = [
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if not graph.get(key).code_version
    ]
    assert missing == []


def test_dbt_model_code_version_is_the_sha1_of_its_sql(dbt_manifest):
    from rai_pipeline.definitions import defs

    manifest = json.loads(Path(dbt_manifest).read_text())
    graph = defs.resolve_asset_graph()
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    checked = 0
    for key in graph.get_all_asset_keys():
        node = models.get(key.path[-1])
        if node is None:
            continue
        expected = hashlib.sha1(node["raw_code"].encode("utf-8")).hexdigest()
        assert graph.get(key).code_version == expected, key
        checked += 1
    assert checked == len(models)


def test_evaluation_asset_code_versions_cover_the_modules_that_compute_them():
    names = {
        p.as_posix().split("rai_pipeline/", 1)[1]
        for p in module_source_files(
            ["rai_pipeline.defs.evaluation.metrics", "rai_pipeline.core.evaluation"]
        )
    }
    # followed from core.evaluation through its imports, lazy ones included
    assert {
        "core/metrics/slice_metrics.py",
        "core/metrics/fairness.py",
        "core/metrics/aggregates.py",
        "core/engine/slices.py",
        "core/engine/statistics.py",
        "core/stats/intervals.py",
        "core/loops.c",  # the compiled loops, by their C source
    } <= names
    assert not any(name.endswith((".so", ".pyd")) for name in names)
    assert "defs/evaluation/metrics.py" in names
    # the service's own imports are not followed (they would pull in the whole package)
    assert "defs/resources.py" not in names
    evidence = {p.name for p in module_source_files(["rai_pipeline.core.evidence"])}
    assert {"render.py", "fairness_report.html.j2", "model_card.md.j2"} <= evidence


def write_package(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


PACKAGE = {
    "pkg/__init__.py": "",
    "pkg/core/__init__.py": "",
    "pkg/core/a.py": "from pkg.core import b\n\ndef f():\n    return b.g()\n",
    "pkg/core/b.py": "def g():\n    from pkg.core.c import h\n    return h()\n",
    "pkg/core/c.py": "def h():\n    return 1\n",
    "pkg/core/unrelated.py": "x = 1\n",
    "pkg/defs/service.py": "from pkg.core import a\nfrom pkg.defs import other\n",
    "pkg/defs/other.py": "y = 2\n",
}


def version(root: Path) -> str:
    return modules_code_version(["pkg.defs.service", "pkg.core.a"], root=root, follow=("pkg.core",))


def test_code_version_changes_when_an_implementing_file_changes(tmp_path):
    write_package(tmp_path, PACKAGE)
    before = version(tmp_path)
    assert version(tmp_path) == before
    (tmp_path / "pkg/core/c.py").write_text("def h():\n    return 2\n")  # reached lazily
    after_c = version(tmp_path)
    assert after_c != before
    (tmp_path / "pkg/defs/service.py").write_text("from pkg.core import a\n# changed\n")
    assert version(tmp_path) not in {before, after_c}


def test_code_version_counts_a_compiled_module_by_its_c_source_not_its_build(tmp_path):
    write_package(tmp_path, {**PACKAGE, "pkg/core/c.py": "from pkg.core import fast\n"})
    (tmp_path / "pkg/core/fast.c").write_text("/* loop */\n")

    def whole_package() -> str:  # a named package brings every file below it
        return modules_code_version(["pkg.core"], root=tmp_path, follow=("pkg.core",))

    before, package_before = version(tmp_path), whole_package()
    (tmp_path / "pkg/core/fast.cpython-311-x86_64-linux-gnu.so").write_bytes(b"built here")
    # what the compiler made on this machine does not count
    assert (version(tmp_path), whole_package()) == (before, package_before)
    (tmp_path / "pkg/core/fast.c").write_text("/* another loop */\n")
    assert version(tmp_path) != before
    assert whole_package() != package_before


def test_code_version_ignores_files_that_do_not_implement_the_asset(tmp_path):
    write_package(tmp_path, PACKAGE)
    before = version(tmp_path)
    (tmp_path / "pkg/core/unrelated.py").write_text("x = 2\n")
    (tmp_path / "pkg/defs/other.py").write_text("y = 3\n")  # imported by a non-followed module
    assert version(tmp_path) == before


def test_same_files_give_the_same_code_version_wherever_installed(tmp_path):
    write_package(tmp_path / "one", PACKAGE)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    assert version(tmp_path / "one") == version(tmp_path / "two")
    files = [tmp_path / "one" / "pkg/core/c.py"]
    assert len(source_digest(files, tmp_path / "one")) == 64


def test_code_version_of_a_missing_module_is_an_error(tmp_path):
    write_package(tmp_path, PACKAGE)
    with pytest.raises(ValueError, match=r"pkg\.core\.nope"):
        modules_code_version(["pkg.core.nope"], root=tmp_path)


# Data versions ---------------------------------------------------------------------------------


def metric_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dimension": ["sex", "sex", "race"],
            "group": ["Female", "Male", "Black"],
            "n": [10, 20, 5],
            "value": [0.1, 0.25, float("nan")],
        }
    )


def test_table_digest_ignores_row_and_column_order_and_integer_storage():
    frame = metric_frame()
    shuffled = frame.iloc[[2, 0, 1]][["value", "n", "group", "dimension"]]
    as_float = frame.astype({"n": "float64"})
    assert frame_digest(frame) == frame_digest(shuffled) == frame_digest(as_float)


def test_table_digest_changes_with_any_value():
    frame = metric_frame()
    changed = frame.copy()
    changed.loc[1, "value"] = 0.25000000000000006
    renamed = frame.rename(columns={"n": "count"})
    digests = {frame_digest(frame), frame_digest(changed), frame_digest(renamed)}
    assert len(digests) == 3


def test_scores_digest_is_the_sha256_of_packed_rows_in_example_order():
    ids = np.array([3, 7, 11], dtype="int64")
    scores = np.array([0.5, 0.125, 0.99])
    expected = hashlib.sha256(
        b"".join(struct.pack("<qd", int(i), float(s)) for i, s in zip(ids, scores, strict=True))
    ).hexdigest()
    assert scores_digest([(ids, scores)]) == expected
    assert scores_digest([(ids[:1], scores[:1]), (ids[1:], scores[1:])]) == expected


def test_predictions_digest_reads_one_model_versions_rows_in_example_order():
    conn = duckdb.connect()
    conn.execute(PREDICTIONS_DDL)
    rows = [("m", "1", 2, 0.75, "r"), ("m", "1", 1, 0.25, "r"), ("m", "2", 1, 0.5, "r")]
    conn.executemany("insert into landing.predictions values (?, ?, ?, ?, ?)", rows)
    expected = scores_digest([(np.array([1, 2]), np.array([0.25, 0.75]))])
    assert predictions_digest(conn, model_name="m", model_version="1") == expected
    assert predictions_digest(conn, model_name="m", model_version="2") != expected


# Landing ---------------------------------------------------------------------------------------


def land(home: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "example_id": np.arange(50, dtype="int64"),
            "label": rng.integers(0, 2, 50),
            "sex": rng.choice(["Female", "Male"], 50),
            "x": rng.random(50),
        }
    )
    land_evaluation_extracts(
        frame,
        landing_dir=home / "landing" / "evaluation",
        label_column="label",
        attribute_columns=["sex"],
        feature_columns=["x"],
        replace_current=True,
    )


def materialize_landing(home: Path, instance: dg.DagsterInstance, downstream=()):
    from rai_pipeline.defs.resources import RaiHomeResource
    from rai_pipeline.defs.sources import landing_extracts

    return dg.materialize(
        [landing_extracts, *downstream],
        instance=instance,
        resources={"rai_home": RaiHomeResource(home=str(home))},
    )


def latest_tags(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, str]:
    event = instance.get_latest_materialization_event(key)
    assert event is not None and event.asset_materialization is not None
    return dict(event.asset_materialization.tags or {})


def test_landing_data_version_is_the_sha256_of_the_landed_file(tmp_path):
    from rai_pipeline.core.storage import file_sha256

    land(tmp_path, seed=1)
    current = tmp_path / "landing" / "evaluation" / "current"
    with dg.instance_for_test() as instance:
        materialize_landing(tmp_path, instance)
        for key in LANDING_KEYS:
            filename = "dataset_version" if key.path[-1] == "dataset_versions" else key.path[-1]
            tags = latest_tags(instance, key)
            assert tags["dagster/data_version"] == file_sha256(current / f"{filename}.parquet")


def test_landing_a_new_dataset_makes_downstream_assets_stale(tmp_path):
    examples = dg.AssetKey(["landing", "examples"])

    @dg.asset(deps=[examples])
    def reads_examples() -> None:
        pass

    land(tmp_path, seed=1)
    with dg.instance_for_test() as instance:
        materialize_landing(tmp_path, instance, downstream=[reads_examples])
        recorded = dg.DataProvenance.from_tags(latest_tags(instance, reads_examples.key))
        assert recorded is not None
        first = latest_tags(instance, examples)["dagster/data_version"]
        assert recorded.input_data_versions[examples] == dg.DataVersion(first)

        land(tmp_path, seed=2)
        materialize_landing(tmp_path, instance)
        assert latest_tags(instance, examples)["dagster/data_version"] != first


def test_a_changed_extract_stops_the_landing_step_and_names_the_file(tmp_path):
    from rai_pipeline.defs.sources import read_landed_files

    land(tmp_path, seed=1)
    current = tmp_path / "landing" / "evaluation" / "current"
    labels = (current / "labels.parquet").resolve()
    labels.chmod(0o644)
    labels.write_bytes(labels.read_bytes() + b"\0")
    with pytest.raises(LandingIntegrityError, match=r"labels\.parquet has sha256"):
        read_landed_files(current)


def test_landing_step_without_a_landed_dataset_says_how_to_land_one(tmp_path):
    from rai_pipeline.defs.sources import read_landed_files

    with pytest.raises(FileNotFoundError, match="rai demo"):
        read_landed_files(tmp_path / "landing" / "evaluation" / "current")


# Links -----------------------------------------------------------------------------------------


def test_mlflow_run_link_is_the_ui_page_on_a_server_and_the_artifacts_on_a_local_store():
    ids = {"experiment_id": "4", "run_id": "abc", "artifact_uri": "file:///x/4/abc/artifacts"}
    assert (
        mlflow_run_url("http://mlflow:5000/", **ids)
        == "http://mlflow:5000/#/experiments/4/runs/abc"
    )
    assert mlflow_run_url("sqlite:////x/mlflow.db", **ids) == "file:///x/4/abc/artifacts"
    assert (
        mlflow_model_version_url("https://mlflow", name="adult income", version="2")
        == "https://mlflow/#/models/adult%20income/versions/2"
    )
    assert mlflow_model_version_url("sqlite:////x/mlflow.db", name="m", version="2") is None
