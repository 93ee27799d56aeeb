"""``make bench`` at a small size: every workload runs in its own process, the engine's point
estimates equal fairlearn ``MetricFrame``'s (the peer it is measured against), the binned AUC
stays within its stated bound, and the page is written."""

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
        *("--sizes", str(ROWS), "--fairlearn-sizes", str(ROWS)),
        *("--out", str(page), "--results", str(results)),
        *("--quiet-wait", "0", "--repeat", "1"),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp_path)

    measured = json.loads(results.read_text())[str(ROWS)]
    assert {"bare", "sort", "engine", "engine_binned", "engine_limited", "fairlearn"} <= set(
        measured
    )
    fairlearn = measured["fairlearn"]["values"]
    assert len(fairlearn) > 100
    for workload in ("engine", "engine_limited"):
        values = measured[workload]["values"]
        assert set(values) == set(fairlearn)
        for key, expected in fairlearn.items():
            if expected is None or (isinstance(expected, float) and math.isnan(expected)):
                assert values[key] is None or math.isnan(values[key]), key
            else:
                assert math.isclose(values[key], expected, rel_tol=0, abs_tol=1e-12), key
    binned = measured["engine_binned"]
    bound = binned["auc_error_bound"]
    for key, expected in fairlearn.items():
        if key.endswith("|roc_auc_score") and expected is not None and not math.isnan(expected):
            assert abs(binned["values"][key] - expected) <= bound + 1e-12, key
    text = page.read_text(encoding="utf-8")
    assert f"| {ROWS:,} | bare" in text
    assert "largest absolute difference from fairlearn" in text
