"""``make bench`` at a small size: every workload runs as its own process, the point estimates
``rai evaluate-file`` publishes equal fairlearn ``MetricFrame``'s on the same file (the peer it
is measured against), the steps of the run are read from its progress lines, the slice
statistics on PostgreSQL and Spark equal DuckDB's, and the page is written. Aequitas and the
data set in parts are left to ``make bench`` (Aequitas is installed from the package index into
an environment of its own)."""

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = 5000


def test_bench_runs_every_workload_and_agrees_with_fairlearn(tmp_path):
    page, results = tmp_path / "bench.md", tmp_path / "results.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "run_bench.py"),
        *("--sizes", str(ROWS), "--fairlearn-sizes", str(ROWS), "--aequitas-sizes"),
        *("--large", "0", "--no-pipeline", "--out", str(page), "--results", str(results)),
        *("--quiet-wait", "0", "--repeat", "1"),
        *("--postgres-rows", str(ROWS), "--spark-rows", str(ROWS)),
    ]
    stray = ROOT / "spark-warehouse"  # where Spark puts its tables unless told otherwise
    existed = stray.exists()
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp_path)
    assert existed or not stray.exists(), "the Spark workload wrote into the project folder"

    stored = json.loads(results.read_text())
    measured = stored[str(ROWS)]
    assert {"bare", "sort", "auc", "rai", "fairlearn"} <= set(measured)
    assert measured["auc"]["groups"] == 42  # overall, 3 + 2 + 5 groups, and the 3 pairs'
    fairlearn, rai = measured["fairlearn"]["values"], measured["rai"]["values"]
    assert len(fairlearn) > 200
    assert set(fairlearn) <= set(rai)
    for key, expected in fairlearn.items():
        if math.isnan(expected):
            assert math.isnan(rai[key]), key
        else:
            assert math.isclose(rai[key], expected, rel_tol=0, abs_tol=1e-12), key
    steps = measured["rai"]["steps"]
    assert {"input checks", "slice statistics with the exact AUC", "tables and documents"} <= set(
        steps
    )
    assert sum(steps.values()) < measured["rai"]["seconds"]
    assert {"help", "rai"} <= set(stored["startup"])
    text = page.read_text(encoding="utf-8")
    assert f"| {ROWS:,} | `rai evaluate-file`, default config (whole process) |" in text
    assert f"{ROWS:,} rows, rai against fairlearn: {len(fairlearn):,} values" in text
    assert "| `rai --help` under 0.5 s |" in text
    # the slice statistics on PostgreSQL and Spark: the same tables as DuckDB's on the file
    for engine, name in (("postgres", "postgresql"), ("spark", "spark")):
        measured_engine = stored["engines"][engine]
        assert measured_engine["rows"] == ROWS and measured_engine["identical"] is True
        assert f"| {name} | {ROWS:,} |" in text


def test_the_aequitas_workload_imports_nothing_of_rai_pipeline():
    """It runs with the Python of Aequitas' own environment, where rai-pipeline is not
    installed (an import of it there failed both Aequitas workloads of a whole bench)."""
    tree = ast.parse((ROOT / "bench" / "aequitas_workload.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "pyarrow.parquet" in names  # the walk sees the imports inside functions too
    assert not {name for name in names if name.split(".")[0] == "rai_pipeline"}
