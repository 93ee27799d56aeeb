"""`rai land` and `rai info` through the real CLI: a data set named by a config becomes a
content-addressed dataset version; every problem is reported at once and nothing is written;
restricted columns are never stored; `rai info` creates nothing."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app
from rai_pipeline.core.landing.extracts import dataset_version_of

runner = CliRunner()
CONFIG = """\
dataset:
  path: {path}
  id: applicant_id
  label: defaulted
  positive_label: "Yes"
  features: [income, region_code, age]
  restricted: [full_name]
  public: [income]
sensitive_features: [gender, region_code, age_group]
derived_features:
  age_group: {{from: age, bins: [30, 50], labels: ["<30", "30-49", "50+"]}}
"""


def applicants(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "applicant_id": [10 + 3 * i for i in range(n)][::-1],
            "income": [1000.0 * (i + 1) for i in range(n)],
            "region_code": ["01", "02", "01", "", "02", "01", "03", "01"][:n],
            "age": [22, 30, 49, 50, None, 71, 29, 35][:n],
            "gender": ["F", "M", None, "F", "M", "F", "M", "F"][:n],
            "defaulted": ["Yes", "No", "No", "Yes", "No", "No", "Yes", "No"][:n],
            "full_name": [f"SECRET-{i}" for i in range(n)],
        }
    )


@pytest.fixture
def world(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("RAI_HOME", str(home))
    monkeypatch.delenv("RAI_CONFIG", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    applicants().to_csv(data / "applicants.csv", index=False)
    config = tmp_path / "world.yaml"
    config.write_text(CONFIG.format(path="data/applicants.csv"))
    return {"home": home, "config": config, "data": data, "tmp": tmp_path}


def land(config):
    return runner.invoke(app, ["land", "--config", str(config)])


def current(home):
    folder = home / "landing" / "evaluation" / "current"
    return {
        name: pq.read_table(folder / f"{name}.parquet").to_pandas()
        for name in ("examples", "labels", "subject_attributes", "dataset_version")
    }


def test_a_csv_lands_as_three_extracts_sorted_by_id_without_restricted_columns(world):
    result = land(world["config"])
    assert result.exit_code == 0, result.output
    extracts = current(world["home"])
    source = applicants().sort_values("applicant_id").reset_index(drop=True)
    assert extracts["examples"].columns.tolist() == ["example_id", "income", "region_code", "age"]
    assert extracts["examples"]["example_id"].tolist() == source["applicant_id"].tolist()
    assert (
        extracts["labels"]["label"].tolist() == (source["defaulted"] == "Yes").astype(int).tolist()
    )
    assert extracts["subject_attributes"].columns.tolist() == [
        "example_id",
        "gender",
        "region_code",
        "age",
    ]
    # text keeps its spelling (a region code "01" is not the number 1)
    expected = source["region_code"].replace("", None).tolist()
    assert extracts["subject_attributes"]["region_code"].tolist() == expected
    assert "01" in expected
    assert extracts["examples"]["income"].dtype.kind == "f"
    version = extracts["dataset_version"]["dataset_version"].item()
    assert f"dataset version {version}  landed" in result.output
    folder = world["home"] / "landing" / "evaluation" / "versions" / version
    digests = {
        name: extracts["dataset_version"][f"{name}_sha256"].item()
        for name in ("examples", "labels", "subject_attributes")
    }
    assert dataset_version_of(digests) == version and folder.is_dir()
    for frame in extracts.values():
        assert not frame.astype(str).apply(lambda c: c.str.contains("SECRET")).to_numpy().any()


def test_landing_the_same_rows_again_writes_nothing(world):
    first = land(world["config"])
    folder = world["home"] / "landing" / "evaluation" / "versions"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    second = land(world["config"])
    assert second.exit_code == 0 and "already landed (same rows; nothing written)" in second.output
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before
    assert first.output.split()[2] == second.output.split()[2]


def test_other_rows_become_a_new_version_and_current_moves(world):
    land(world["config"])
    frame = applicants()
    frame.loc[0, "income"] = 1.5
    frame.to_csv(world["data"] / "applicants.csv", index=False)
    result = land(world["config"])
    assert result.exit_code == 0 and "current    was " in result.output
    versions = list((world["home"] / "landing" / "evaluation" / "versions").iterdir())
    assert len(versions) == 2


def test_every_problem_is_reported_at_once_and_nothing_is_written(world):
    frame = applicants()
    frame.loc[1, "applicant_id"] = frame.loc[0, "applicant_id"]
    frame["age"] = frame["age"].astype(object)
    frame.loc[2, "age"] = "old"
    frame.loc[3, "defaulted"] = None
    frame.to_csv(world["data"] / "applicants.csv", index=False)
    result = land(world["config"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if "applicants.csv" in line]
    assert any("'applicant_id' (dataset.id) has 1 repeated value" in line for line in lines)
    assert any("'defaulted' (dataset.label) has 1 NULL value" in line for line in lines)
    assert any(
        "'age' (derived_features.age_group.from) has 1 non-numeric value" in line for line in lines
    )
    assert not world["home"].exists()
    assert "SECRET" not in result.output


def test_missing_columns_are_named_with_their_key_and_a_spelling_hint(world):
    world["config"].write_text(
        CONFIG.format(path="data/applicants.csv").replace("[income,", "[Income,")
    )
    result = land(world["config"])
    assert result.exit_code == 2
    assert "column 'Income' (dataset.features) not found" in result.output
    assert "did you mean 'income'?" in result.output
    assert not world["home"].exists()


def test_a_restricted_column_cannot_play_another_role(world):
    world["config"].write_text(
        CONFIG.format(path="data/applicants.csv").replace(
            "sensitive_features: [gender,", "sensitive_features: [full_name, gender,"
        )
    )
    result = land(world["config"])
    assert result.exit_code == 2
    assert "sensitive feature 'full_name' is also dataset.restricted" in result.output


def test_without_an_id_the_row_number_is_the_id_and_parquet_keeps_its_types(world):
    frame = applicants().drop(columns=["applicant_id"])
    frame.to_parquet(world["data"] / "applicants.parquet", index=False)
    world["config"].write_text(
        CONFIG.format(path="data/applicants.parquet").replace("  id: applicant_id\n", "")
    )
    result = land(world["config"])
    assert result.exit_code == 0, result.output
    extracts = current(world["home"])
    assert extracts["labels"]["example_id"].tolist() == list(range(len(frame)))
    assert extracts["examples"]["income"].tolist() == frame["income"].tolist()


def test_a_table_of_another_duckdb_database_lands_like_a_file(world):
    database = world["data"] / "source.duckdb"
    with duckdb.connect(str(database)) as conn:
        conn.register("frame", applicants())
        conn.execute("create schema crm")
        conn.execute("create table crm.applicants as select * from frame")
    config = CONFIG.format(path="x").replace(
        "  path: x\n", "  table: crm.applicants\n  database: data/source.duckdb\n"
    )
    world["config"].write_text(config)
    result = land(world["config"])
    assert result.exit_code == 0, result.output
    assert f"{database}:crm.applicants" in result.output
    assert current(world["home"])["examples"]["example_id"].is_monotonic_increasing


def test_rai_info_prints_the_locations_and_creates_nothing(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    described = runner.invoke(app, ["info", "--json", "--config", str(world["config"])])
    assert described.exit_code == 0
    info = json.loads(described.output)
    home = world["home"].resolve()
    assert info["rai_home"] == str(home)
    assert info["tracking_uri"] == f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    assert info["artifact_root"] == str(home / "mlflow" / "artifacts")
    assert info["config"] == str(world["config"].resolve())
    assert runner.invoke(app, ["info", "--tracking-uri"]).output.strip() == info["tracking_uri"]
    exports = runner.invoke(app, ["info", "--env"]).output
    assert f"export MLFLOW_TRACKING_URI='{info['tracking_uri']}'" in exports
    assert not world["home"].exists() and not (tmp_path / ".rai").exists()
