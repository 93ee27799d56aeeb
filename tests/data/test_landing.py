"""Landing of evaluation extracts, and the UCI Adult demo files they come from."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from rai_pipeline.core.landing import extracts as landing
from rai_pipeline.core.landing.extracts import (
    LandingConflictError,
    LandingError,
    LandingIntegrityError,
    land_evaluation_extracts,
    read_current_version,
)
from rai_pipeline.core.storage import file_sha256, read_parquet
from rai_pipeline.demo import adult

REPO = Path(__file__).resolve().parents[2]
ATTRIBUTES = ["sex", "race", "age"]


def small_frame(n: int = 6, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "example_id": np.arange(100, 100 + n, dtype=np.int64),
            "income_over_50k": rng.integers(0, 2, n),
            "age": rng.integers(17, 90, n),
            "hours_per_week": rng.integers(1, 99, n),
            "workclass": rng.choice(["Private", "State-gov", None], n),
            "sex": rng.choice(["Female", "Male"], n),
            "race": rng.choice(["White", "Black", None], n),
        }
    )


def land(frame: pd.DataFrame, landing_dir: Path, **kwargs: object) -> landing.LandedDataset:
    return land_evaluation_extracts(
        frame,
        landing_dir=landing_dir,
        label_column="income_over_50k",
        attribute_columns=ATTRIBUTES,
        feature_columns=["age", "hours_per_week", "workclass"],
        **kwargs,  # type: ignore[arg-type]
    )


# --- demo data -------------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "rows"), [("train", 32_561), ("test", 16_281)])
def test_load_adult_returns_documented_columns_and_row_counts(split, rows):
    frame = adult.load_adult(split)
    assert list(frame.columns) == adult.COLUMNS
    assert len(frame) == rows
    assert set(frame[adult.LABEL].unique()) == {0, 1}
    missing = frame.columns[frame.isna().any()].tolist()
    assert missing == ["workclass", "occupation", "native_country"]
    assert not frame.astype(str).apply(lambda c: c.str.endswith(".")).any().any()


def test_load_adult_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="split must be one of"):
        adult.load_adult("validation")  # type: ignore[arg-type]


def test_features_exclude_sensitive_attributes_label_and_sampling_weight():
    assert adult.SENSITIVE == ["sex", "race"]
    assert set(adult.FEATURES) == set(adult.COLUMNS) - {"sex", "race", "income_over_50k", "fnlwgt"}
    assert adult.load_adult_with_ids("test")["example_id"].is_unique


def test_demo_parquet_files_are_small_enough_to_commit():
    for split in ("train", "test"):
        path = REPO / "rai_pipeline" / "demo" / "data" / f"adult_{split}.parquet"
        assert path.stat().st_size < 1_000_000


def test_demo_parquet_files_rebuild_byte_identical_from_the_source():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_demo_data.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout


# --- landing ---------------------------------------------------------------------------------


def test_landing_writes_three_sorted_extracts_and_a_version_row(tmp_path):
    frame = small_frame().sample(frac=1.0, random_state=1)
    landed = land(frame, tmp_path)

    examples = read_parquet(landed.paths["examples"])
    labels = pq.read_table(landed.paths["labels"])
    attributes = read_parquet(landed.paths["subject_attributes"])
    version = read_parquet(landed.paths["dataset_version"])

    assert list(examples.columns) == ["example_id", "age", "hours_per_week", "workclass"]
    assert examples["example_id"].is_monotonic_increasing
    assert str(labels.schema.field("label").type) == "int32"
    assert str(labels.schema.field("example_id").type) == "int64"
    assert list(attributes.columns) == ["example_id", *ATTRIBUTES]
    assert attributes["race"].isna().sum() == frame["race"].isna().sum()
    assert version.to_dict("records") == [
        {
            "dataset_version": landed.dataset_version,
            "examples_sha256": landed.sha256["examples"],
            "labels_sha256": landed.sha256["labels"],
            "subject_attributes_sha256": landed.sha256["subject_attributes"],
            "examples_rows": 6,
            "labels_rows": 6,
            "subject_attributes_rows": 6,
        }
    ]
    assert landed.rows == {
        "examples": 6,
        "labels": 6,
        "subject_attributes": 6,
        "dataset_version": 1,
    }
    assert landed.directory == tmp_path / "versions" / landed.dataset_version
    assert (tmp_path / "current" / "labels.parquet").resolve() == landed.paths["labels"]
    assert read_current_version(tmp_path) == landed.dataset_version
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_dataset_version_is_sha256_of_sorted_extract_digest_lines(tmp_path):
    landed = land(small_frame(), tmp_path)
    lines = sorted(
        f"{name} {file_sha256(landed.paths[name])}\n"
        for name in ("subject_attributes", "examples", "labels")
    )
    expected = hashlib.sha256("".join(lines).encode()).hexdigest()
    assert landed.dataset_version == expected
    for name, path in landed.paths.items():
        assert landed.sha256[name] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_rows_in_any_order_give_the_same_bytes_and_version(tmp_path):
    frame = small_frame(50)
    first = land(frame, tmp_path / "a")
    second = land(frame.sample(frac=1.0, random_state=3), tmp_path / "b")
    assert first.dataset_version == second.dataset_version
    assert first.sha256 == second.sha256


def test_relanding_the_same_frame_leaves_the_existing_version_untouched(tmp_path):
    first = land(small_frame(), tmp_path)
    stat_before = {n: p.stat() for n, p in first.paths.items()}
    again = land(small_frame(), tmp_path)
    assert again.dataset_version == first.dataset_version
    assert again.created is False and again.previous_version is None
    for name, path in again.paths.items():
        assert path.stat().st_mtime_ns == stat_before[name].st_mtime_ns
        assert path.stat().st_ino == stat_before[name].st_ino


def test_a_different_dataset_does_not_replace_current_unless_asked(tmp_path):
    first = land(small_frame(seed=0), tmp_path)
    with pytest.raises(LandingConflictError, match="pass replace_current=True"):
        land(small_frame(seed=1), tmp_path)
    assert read_current_version(tmp_path) == first.dataset_version
    assert len(list((tmp_path / "versions").iterdir())) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    second = land(small_frame(seed=1), tmp_path, replace_current=True)
    assert second.previous_version == first.dataset_version
    assert read_current_version(tmp_path) == second.dataset_version
    assert first.paths["labels"].exists()


def test_a_tampered_landed_version_is_detected_when_landed_again(tmp_path):
    landed = land(small_frame(), tmp_path)
    path = landed.paths["labels"]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(LandingIntegrityError, match="does not match its own digest"):
        land(small_frame(), tmp_path)


def test_current_that_is_a_real_folder_is_never_overwritten(tmp_path):
    (tmp_path / "current").mkdir(parents=True)
    with pytest.raises(LandingConflictError, match="is not a symlink"):
        land(small_frame(), tmp_path)


def with_column(frame: pd.DataFrame, column: str, values: object) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = values
    return frame


@pytest.mark.parametrize(
    ("make_frame", "message"),
    [
        (lambda f: f.drop(columns=["race"]), "frame has no column(s) ['race']"),
        (lambda f: f.iloc[0:0], landing.ERR_EMPTY_FRAME),
        (
            lambda f: with_column(f, "example_id", [1, 1, 2, 3, 4, 5]),
            "must be unique; 1 duplicated",
        ),
        (lambda f: with_column(f, "example_id", [1.0, None, 2, 3, 4, 5]), "has 1 NULL value(s)"),
        (lambda f: with_column(f, "example_id", list("abcdef")), "must hold integers"),
        (lambda f: with_column(f, "income_over_50k", [0, 1, 2, 0, 1, 0]), "only 0 and 1"),
        (lambda f: with_column(f, "income_over_50k", [0, 1, None, 0, 1, 0]), "only 0 and 1"),
    ],
    ids=["missing", "empty", "duplicate-id", "null-id", "text-id", "label-2", "label-null"],
)
def test_frames_that_break_the_contract_are_rejected_with_a_reason(tmp_path, make_frame, message):
    with pytest.raises(LandingError) as caught:
        land(make_frame(small_frame()), tmp_path)
    assert message in str(caught.value)
    assert not (tmp_path / "versions").exists() or not list((tmp_path / "versions").iterdir())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attribute_columns": []}, "attribute_columns must name at least one column"),
        ({"feature_columns": ["example_id"]}, "appear in more than one of"),
        ({"feature_columns": ["income_over_50k"]}, "appear in more than one of"),
    ],
)
def test_column_selections_that_leak_ids_or_labels_are_rejected(tmp_path, kwargs, message):
    options = {
        "label_column": "income_over_50k",
        "attribute_columns": ATTRIBUTES,
        "feature_columns": ["age"],
    } | kwargs
    with pytest.raises(LandingError, match=message):
        land_evaluation_extracts(small_frame(), landing_dir=tmp_path, **options)


def test_boolean_labels_land_as_integers(tmp_path):
    frame = with_column(small_frame(), "income_over_50k", [True, False] * 3)
    landed = land(frame, tmp_path)
    assert read_parquet(landed.paths["labels"])["label"].tolist() == [1, 0] * 3


def test_landing_dir_may_be_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    landed = land(small_frame(), Path("landing"))
    assert landed.directory.is_absolute()
    assert os.readlink(tmp_path / "landing" / "current") == f"versions/{landed.dataset_version}"


def test_a_frame_with_a_duplicated_index_lands_each_row_once(tmp_path):
    frame = small_frame().set_axis([0, 0, 1, 1, 2, 2])
    landed = land(frame, tmp_path)
    assert landed.rows["examples"] == 6
    assert read_parquet(landed.paths["labels"])["example_id"].tolist() == list(range(100, 106))
