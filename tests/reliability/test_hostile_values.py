"""Values that would break a label, a table or a spreadsheet, through `rai evaluate-file` and
through the pipeline (`rai land`, `rai evaluate`).

The values: a missing value and the literal text ``unknown``; values holding the intersection
separator ``&`` and the escape ``\\``; a spreadsheet formula; a line break followed by a
Markdown heading and a ``|``; an HTML script tag. Each check compares the pack with pandas on
the same rows: every group is the set of rows holding its value(s), decoded from its label.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app
from rai_pipeline.core.engine.slices import (
    decode_group_label,
    group_label_sql,
    group_value,
    group_value_sql,
)
from rai_pipeline.core.storage import read_parquet
from tests.core.builders import label_value

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
HOSTILE = (
    None,
    "unknown",
    "A&B",
    "a\\b",
    "=cmd|' /C calc'!A0",
    "x|y\n# Injected heading",
    "<script>alert(1)</script>",
)
TRICKY = (*HOSTILE, "\\unknown", "\\", "&", "", " ", "x&", "&x", "a\\&b", "ü&ß", "A", "B")
FORMULA = re.compile(r"^[=+\-@\t\r]")


def test_labels_are_unambiguous_and_sql_agrees_with_python():
    labels = {value: group_value(value) for value in TRICKY}
    assert len(set(labels.values())) == len(TRICKY)
    assert labels == {value: label_value(value) for value in TRICKY}  # the documented rule
    pairs = [(a, b) for a in TRICKY for b in TRICKY]
    joined = {f"{group_value(a)}&{group_value(b)}": (a, b) for a, b in pairs}
    assert len(joined) == len(pairs)
    assert all(decode_group_label(label) == list(pair) for label, pair in joined.items())
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (a VARCHAR, b VARCHAR)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", pairs)
    label = group_label_sql([group_value_sql("a"), group_value_sql("b")])
    got = conn.execute(f"SELECT a, b, {label} FROM t").fetchall()
    assert all(f"{group_value(a)}&{group_value(b)}" == sql for a, b, sql in got)
    once = conn.execute(f"SELECT {group_value_sql(group_value_sql('a'), labelled=True)} FROM t")
    assert {row[0] for row in once.fetchall()} == {group_value(v) for v in TRICKY}


def counts_by_group(pack: Path, dimension: str) -> dict[tuple, int]:
    metrics = read_parquet(pack / "slice_metrics.parquet")
    rows = metrics[(metrics["dimension"] == dimension) & (metrics["metric"] == "count")]
    pairs = zip(rows["group"], rows["value"], strict=True)
    return {tuple(decode_group_label(g)): int(v) for g, v in pairs}


def oracle_counts(frame: pd.DataFrame, features: list[str]) -> dict[tuple, int]:
    keys = frame[features].astype(object).where(frame[features].notna(), None)
    counts = keys.value_counts(dropna=False)
    return {tuple(None if pd.isna(v) else v for v in key): int(n) for key, n in counts.items()}


def assert_documents_hold_the_values(pack: Path, values) -> None:
    """No value reached a spreadsheet as a formula, a Markdown table as a broken row or a new
    block, or the HTML report as markup."""
    for path in pack.glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for record in csv.reader(handle):
                for cell in record:
                    if FORMULA.match(cell):
                        float(cell)  # only a number may start with - or +
    for path in pack.glob("*.md"):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert not any(line.startswith("# Injected") for line in lines), path.name
        width = None
        for line in lines:
            if not line.startswith("|"):
                width = None
                continue
            cells = len(re.findall(r"(?<!\\)\|", line.replace("\\\\", "")))
            width = width or cells
            assert cells == width, (path.name, line)
    html = (pack / "fairness_report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = (pack / "fairness_report.md").read_text(encoding="utf-8")
    assert "\\<script>" in text and "x\\|y # Injected heading" in text
    groups = set(read_parquet(pack / "slice_metrics.parquet")["group"])
    assert {group_value(v) for v in values} <= groups
    with (pack / "slice_metrics.csv").open(newline="", encoding="utf-8") as handle:
        shown = {row["group"] for row in csv.DictReader(handle)}
    assert "'" + group_value("=cmd|' /C calc'!A0") in shown


def hostile_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "label": rng.integers(0, 2, n),
            "score": rng.random(n).round(4),
            "g": rng.choice(np.array(HOSTILE, dtype=object), n),
            "h": rng.choice(np.array(["p", None, "&", "unknown"], dtype=object), n),
        }
    )


def test_evaluate_file_keeps_every_value_its_own_group(tmp_path):
    frame = hostile_frame(3_000, seed=3)
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "c.yaml").write_text(
        "columns: {id: id, label: label, score: score}\nsensitive_features: [g, h]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["evaluate-file", str(tmp_path / "data.csv"), "--config", str(tmp_path / "c.yaml"),
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    read = pd.read_csv(tmp_path / "data.csv", keep_default_na=False, na_values=[""])
    assert counts_by_group(out, "g") == oracle_counts(read, ["g"])
    assert counts_by_group(out, "g&h") == oracle_counts(read, ["g", "h"])
    assert {(None,), ("unknown",)} <= set(counts_by_group(out, "g"))  # two groups, not one
    assert_documents_hold_the_values(out, HOSTILE)
    traced = CliRunner().invoke(
        app,
        ["trace", str(out), "--dimension", "g&h", "--group", group_value("A&B") + "&"
         + group_value("&"), "--metric", "count", "--rows", "--json", "--limit", "10000"],
    )  # fmt: skip
    assert traced.exit_code == 0, traced.output
    expected = int(((read["g"] == "A&B") & (read["h"] == "&")).sum())
    assert traced.output.count('"g": "A&B"') == expected > 0


def run(args, cwd, extra):
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if not k.startswith(("RAI_", "MLFLOW_", "DAGSTER_"))
    }
    env["PATH"] = f"{VENV / 'bin'}:{env.get('PATH', '')}"
    result = subprocess.run(
        args, cwd=cwd, env=env | {"MLFLOW_DISABLE_TELEMETRY": "true"} | extra,
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def hostile_pipeline_pack(tmp_path_factory):
    """The COMPAS example with its ethnicity values replaced by hostile ones, landed,
    trained on and evaluated by the pipeline."""
    from rai_pipeline.settings import RaiHome

    folder = tmp_path_factory.mktemp("hostile")
    for name in ("compas.yaml", "train.py"):
        shutil.copy(REPO / "examples" / "compas" / name, folder / name)
    people = pd.read_csv(REPO / "examples" / "compas" / "people.csv", dtype={"gender": object})
    rng = np.random.default_rng(7)
    replace = rng.random(len(people)) < 0.3
    people.loc[replace, "ethnicity"] = rng.choice(
        np.array(HOSTILE, dtype=object), int(replace.sum())
    )
    people.to_csv(folder / "people.csv", index=False)
    home = RaiHome(folder / ".rai")
    extra = {"RAI_HOME": str(home.root)}
    run([str(VENV / "bin" / "rai"), "land", "--config", "compas.yaml"], folder, extra)
    run([str(VENV / "bin" / "python"), "train.py"], folder, extra | {
        "MLFLOW_TRACKING_URI": home.tracking_uri, "MLFLOW_REGISTRY_URI": home.tracking_uri,
        "RAI_MLFLOW_ARTIFACT_ROOT": str(home.artifact_root)})  # fmt: skip
    run([str(VENV / "bin" / "rai"), "evaluate", "recidivism", "--config", "compas.yaml"],
        folder, extra)  # fmt: skip
    return folder, home.root / "evidence" / "recidivism" / "1"


def test_the_pipeline_keeps_every_value_its_own_group(hostile_pipeline_pack):
    folder, pack = hostile_pipeline_pack
    people = pd.read_csv(folder / "people.csv", keep_default_na=False, na_values=[""])
    assert counts_by_group(pack, "ethnicity") == oracle_counts(people, ["ethnicity"])
    assert counts_by_group(pack, "ethnicity&gender") == oracle_counts(
        people, ["ethnicity", "gender"]
    )
    assert_documents_hold_the_values(pack, HOSTILE)
    verified = run([str(VENV / "bin" / "rai"), "verify", str(pack)], folder, {})
    assert "intact, anchored" in verified
