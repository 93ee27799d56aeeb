"""README "Evaluating your own model", run as written, on a world the project has never seen.

The ``bash`` blocks between the README's walkthrough markers run in one shell, in a scratch
copy of the repository's ``examples/`` (the COMPAS example: other attribute names than the
demo's, a derived band, a categorical label, restricted columns holding markers). Then:

- the pack's slice metrics equal fairlearn ``MetricFrame`` on the same predictions (scored
  again here with the registered model), with the band computed independently;
- no restricted value appears in any file under RAI_HOME (tables, logs, the warehouse, the
  MLflow and Dagster stores), in the evaluation folder or in any command's output;
- ``rai trace --rows``, ``rai verify`` and ``rai reproduce`` work from an unrelated folder, on
  the pipeline pack and on an ``rai evaluate-file`` pack, and create nothing there.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score

from rai_pipeline.core.storage import read_parquet

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
MARKERS = ("RESTRICTED-NAME-", "RESTRICTED-DOB-")
SCRUBBED = ("RAI_HOME", "RAI_CONFIG", "DAGSTER_HOME", "MLFLOW_TRACKING_URI")
SCRUBBED_PREFIXES = ("MLFLOW_", "RAI_MLFLOW_")


def walkthrough() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- walkthrough:start -->")[1].split("<!-- walkthrough:end -->")[0]
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, flags=re.S))


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SCRUBBED and not k.startswith(SCRUBBED_PREFIXES)
    }
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return env | extra


def rai(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV / "bin" / "rai"), *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    repo = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "examples", repo / "examples")
    (repo / ".venv").symlink_to(VENV)
    script = walkthrough()
    assert "rai land" in script and "rai evaluate" in script
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    folder = repo / "my-evaluation"
    home = folder / ".rai"
    return {
        "folder": folder,
        "home": home,
        "pack": home / "evidence" / "recidivism" / "1",
        "output": run.stdout + run.stderr,
    }


def expected_frame(folder: Path, home: Path) -> pd.DataFrame:
    """The example's rows scored again with the registered model, and the groups as the
    config defines them, computed here without the pipeline."""
    import mlflow

    people = pd.read_csv(folder / "people.csv", keep_default_na=False, na_values=[""])
    store = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(store)
    mlflow.set_registry_uri(store)
    try:
        model = mlflow.sklearn.load_model("models:/recidivism/1")
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    features = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "charge_degree"]
    X = people[features].astype({c: "float64" for c in features if c != "charge_degree"})
    score = model.predict_proba(X)[:, 1]
    return pd.DataFrame(
        {
            "person_id": people["person_id"],
            "label": (people["reoffended"] == "yes").astype(int),
            "score": score,
            "decision": (score >= 0.5).astype(int),
            "ethnicity": people["ethnicity"].fillna("unknown"),
            "gender": people["gender"].fillna("unknown"),
            "age_group": pd.cut(
                people["age"],
                [-np.inf, 25, 45, np.inf],
                right=False,
                labels=["<25", "25-44", "45+"],
            ).astype(str),
        }
    )


def test_the_walkthrough_publishes_a_pack_that_verifies(world):
    assert (world["pack"] / "manifest.json").exists()
    assert f"recidivism@1  ->  {world['pack']}" in world["output"]
    assert "intact" in world["output"]
    # the printed summary states the pack's own numbers
    fairness = read_parquet(world["pack"] / "fairness_metrics.parquet")
    overall = read_parquet(world["pack"] / "slice_metrics.parquet").query("dimension == 'overall'")
    accuracy = overall.set_index("metric").at["accuracy_score", "value"]
    assert re.search(rf"^  accuracy_score\s+{accuracy:.3f}$", world["output"], re.M)
    verdicts = set(fairness.loc[fairness["group"] == "*", "verdict"])
    gate = "fail" if "fail" in verdicts else ("pass" if verdicts == {"pass"} else "inconclusive")
    printed = re.search(r"^  gate\s+(\w+)$", world["output"], re.M)
    assert printed is not None and printed.group(1) == gate
    assert not (world["folder"] / "mlruns").exists()
    assert (world["home"] / "mlflow" / "artifacts" / "recidivism-training").is_dir()


def test_slice_metrics_equal_fairlearn_on_the_same_predictions(world):
    frame = expected_frame(world["folder"], world["home"])
    with duckdb.connect(str(world["home"] / "warehouse.duckdb"), read_only=True) as conn:
        stored = conn.execute(
            "select example_id, score from landing.predictions order by example_id"
        ).df()
    assert stored["example_id"].tolist() == frame["person_id"].tolist()
    assert np.allclose(stored["score"], frame["score"], rtol=0, atol=1e-12)
    metrics = read_parquet(world["pack"] / "slice_metrics.parquet")
    functions = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "accuracy_score": accuracy_score,
    }
    for dimension in ("ethnicity", "gender", "age_group", "ethnicity&gender"):
        columns = dimension.split("&")
        oracle = MetricFrame(
            metrics=functions,
            y_true=frame["label"],
            y_pred=frame["decision"],
            sensitive_features=frame[columns],
        ).by_group
        # MetricFrame lists every combination of the features' values; slices hold the groups
        # that occur
        present = frame.groupby(columns).size()
        oracle = oracle[[key in present.index for key in oracle.index]]
        # a rate over an empty denominator is undefined (NaN) here; fairlearn returns 0.0
        positives = frame.groupby(columns)["label"].sum().reindex(oracle.index)
        negatives = (present - frame.groupby(columns)["label"].sum()).reindex(oracle.index)
        oracle.loc[positives.to_numpy() == 0, "true_positive_rate"] = np.nan
        oracle.loc[negatives.to_numpy() == 0, "false_positive_rate"] = np.nan
        ours = metrics[metrics["dimension"] == dimension].pivot(
            index="group", columns="metric", values="value"
        )
        labels = ["&".join(g) if isinstance(g, tuple) else str(g) for g in oracle.index]
        assert sorted(labels) == sorted(ours.index), dimension
        for label, (_, row) in zip(labels, oracle.iterrows(), strict=True):
            for name in functions:
                assert ours.at[label, name] == pytest.approx(row[name], abs=1e-12, nan_ok=True)
    assert set(metrics.loc[metrics["dimension"] == "gender", "group"]) == {
        "Female",
        "Male",
        "unknown",
    }


def _restricted_in(path: Path) -> list[str]:
    head = path.read_bytes()[:16]
    found: list[str] = []
    if head.startswith(b"SQLite format 3"):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            for (table,) in conn.execute("select name from sqlite_master where type='table'"):
                for row in conn.execute(f'select * from "{table}"'):
                    found += [str(v)[:40] for v in row if any(m in str(v) for m in MARKERS)]
    elif path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as conn:
            tables = conn.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
            for schema, table in tables:
                data = conn.execute(f'select * from "{schema}"."{table}"').df()
                found += [
                    f"{schema}.{table}"
                    for m in MARKERS
                    if data.astype(str)
                    .apply(lambda c, m=m: c.str.contains(m, regex=False))
                    .to_numpy()
                    .any()
                ]
    elif path.suffix == ".parquet":
        data = read_parquet(path).astype(str)
        found += [
            str(path)
            for m in MARKERS
            if data.apply(lambda c, m=m: c.str.contains(m, regex=False)).to_numpy().any()
        ]
    else:
        content = path.read_bytes()
        found += [str(path) for m in MARKERS if m.encode() in content]
    return found


def test_no_restricted_value_reaches_any_file_or_output(world):
    assert not any(m in world["output"] for m in MARKERS)
    found = []
    for path in sorted(world["folder"].rglob("*")):
        if path.is_file() and path.name not in {"people.csv"} and not path.is_symlink():
            found += _restricted_in(path)
    assert found == []
    # the test can fail: the source file holds the markers
    assert _restricted_in(world["folder"] / "people.csv")


def test_audit_commands_work_on_the_pack_from_an_unrelated_folder(world, tmp_path):
    pack = world["pack"]
    traced = rai(
        "trace",
        str(pack),
        "--dimension",
        "gender",
        "--group",
        "Female",
        "--metric",
        "selection_rate",
        "--rows",
        "--cell",
        "selected",
        "--limit",
        "3",
        cwd=tmp_path,
    )
    assert traced.returncode == 0, traced.stderr
    assert "masked: example_id" in traced.stdout and "priors_count" in traced.stdout
    assert "juv_fel_count" in traced.stdout.split("not shown:")[1].splitlines()[0]
    assert rai("verify", str(pack), cwd=tmp_path).returncode == 0
    reproduced = rai("reproduce", str(pack), cwd=tmp_path)
    assert reproduced.returncode == 0, reproduced.stdout + reproduced.stderr
    assert "identical" in reproduced.stdout
    assert list(tmp_path.iterdir()) == []


def test_audit_commands_work_on_an_evaluate_file_pack_from_an_unrelated_folder(world, tmp_path):
    frame = expected_frame(world["folder"], world["home"])
    predictions = world["folder"] / "predictions.csv"
    frame.to_csv(predictions, index=False)
    config = world["folder"] / "predictions.yaml"
    config.write_text(
        "columns: {id: person_id, label: label, score: score}\n"
        "sensitive_features: [ethnicity, gender]\n"
    )
    out = world["folder"] / "file-pack"
    made = rai(
        "evaluate-file",
        str(predictions),
        "--config",
        str(config),
        "--out",
        str(out),
        cwd=world["folder"],
    )
    assert made.returncode == 0, made.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    traced = rai(
        "trace",
        str(out),
        "--dimension",
        "ethnicity",
        "--group",
        "Caucasian",
        "--metric",
        "false_positive_rate",
        "--rows",
        "--cell",
        "false_positive",
        "--limit",
        "1000",
        "--json",
        cwd=elsewhere,
    )
    assert traced.returncode == 0, traced.stderr
    import json

    rows = json.loads(traced.stdout)["rows"]
    caucasian = frame[(frame["ethnicity"] == "Caucasian") & (frame["label"] == 0)]
    assert len(rows) == int(caucasian["decision"].sum())
    assert {r["person_id"] for r in rows} == {"***"}
    # an evaluate-file pack has no registry entry: it is anchored by the digest printed
    digest = re.search(r"evidence digest\s+([0-9a-f]{64})", made.stdout).group(1)
    unanchored = rai("verify", str(out), cwd=elsewhere)
    assert unanchored.returncode == 1 and "has no registry entry" in unanchored.stdout
    assert rai("verify", str(out), "--digest", digest, cwd=elsewhere).returncode == 0
    reproduced = rai("reproduce", str(out), cwd=elsewhere)
    assert reproduced.returncode == 0, reproduced.stdout + reproduced.stderr
    assert list(elsewhere.iterdir()) == []
    # a changed input is refused, not silently re-read
    predictions.write_text(predictions.read_text().replace("Caucasian", "Caucasien", 1))
    refused = rai(
        "trace",
        str(out),
        "--dimension",
        "ethnicity",
        "--group",
        "Caucasian",
        "--metric",
        "count",
        "--rows",
        cwd=elsewhere,
    )
    assert refused.returncode == 2 and "has changed since the evaluation" in refused.stderr
    assert refused.stderr.count("\n") == 1


def test_the_datasheet_states_what_the_config_says_about_the_data(world):
    import json

    import yaml

    config = yaml.safe_load((REPO / "examples" / "compas" / "compas.yaml").read_text())
    datasheet = (world["pack"] / "datasheet.md").read_text(encoding="utf-8")
    about = datasheet.split("## About the data")[1].split("\n## ")[0]
    for key in ("description", "source", "licence", "collection", "sampling", "labelling",
                "consent", "pii"):  # fmt: skip
        assert f"(`{key}`) | {config['dataset'][key]} |" in about
    checklist = json.loads((world["pack"] / "launch_checklist.json").read_text())
    item = next(i for i in checklist["items"] if i["item"].startswith("Datasheet"))
    assert item["done"] and not item["note"]
