"""``make bench``: the slice engine against fairlearn ``MetricFrame`` and a bare DuckDB query.

For each size (default 10^6 and 10^7 rows) a synthetic evaluation frame with three sensitive
attributes (:func:`rai_pipeline.demo.synthetic.make_synthetic_frame`) is written to Parquet in
a temporary folder, then each workload reads it in a fresh Python process, so that peak memory
(``ru_maxrss``) belongs to one workload:

``engine``
    What an evaluation runs, through the functions the pipeline and ``rai evaluate-file`` call
    (:mod:`rai_pipeline.core.evaluation`): sufficient statistics in DuckDB over the Parquet file
    (overall, 3 attributes, their 3 pairwise intersections), every metric with its Wilson or
    bootstrap interval, disparities with 1000 bootstrap resamples and verdicts. Run with
    ``auc: exact``, with ``auc: exact`` under DuckDB's ``memory_limit`` (it spills beyond it),
    and with ``auc: binned``.
``fairlearn``
    ``MetricFrame`` with the same 13 metrics (fairlearn / scikit-learn functions, numpy for FDR
    and FOR), per slice, on the
    rows loaded into pandas: point estimates only (no intervals), so the comparison favours
    fairlearn. Loading the Parquet file is timed separately and not counted. Default: at
    10^6 rows only (at 10^7 it runs for more than half an hour here).
``bare``
    ``SELECT count(*) ... GROUP BY GROUPING SETS`` over the same slices on the same file: the
    floor any SQL engine pays to read the file and group it.

The parent checks that engine and fairlearn agree on every point estimate, prints the table
and writes ``docs/benchmarks.md`` with the machine description. Nothing is extrapolated: a
workload is either measured or marked as not run.

Usage::

    python bench/run_bench.py                      # what `make bench` runs
    python bench/run_bench.py --sizes 100000 --fairlearn-sizes 100000 --out /tmp/bench.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTES = ("group_a", "group_b", "group_c")
PAIRS = (("group_a", "group_b"), ("group_a", "group_c"), ("group_b", "group_c"))
SEED = 20261126
N_BOOTSTRAP = 1000
MEMORY_LIMIT = "1GB"
TARGET_SPEEDUP = 100  # engine vs MetricFrame at 10^6 rows
TARGET_BARE_RATIO = 3  # engine vs bare query at 10^7 rows
TARGET_PEAK_MB = 1536  # engine peak at 10^7 rows: 1.5 GiB
QUIET_SHARE = 0.10  # other processes' CPU share below which the machine counts as quiet
ENGINE_FILES = (
    "statistics.py",
    "slices.py",
    "metrics.py",
    "score_bootstrap.py",
    "fairness.py",
    "evaluation.py",
)
PACKAGES = ("duckdb", "pandas", "numpy", "pyarrow", "fairlearn", "scikit-learn")
RESULT_PREFIX = "BENCH-RESULT "


# Workers (each runs in a fresh process) --------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _median_run(function: Any, repeat: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def worker_generate(path: Path, rows: int) -> dict[str, Any]:
    from rai_pipeline.demo.synthetic import make_synthetic_frame

    started = time.perf_counter()
    make_synthetic_frame(rows, seed=SEED).to_parquet(path, index=False)
    return {"seconds": time.perf_counter() - started, "bytes": path.stat().st_size}


def worker_bare(path: Path, repeat: int) -> dict[str, Any]:
    import duckdb

    from rai_pipeline.core.sql import quote_literal

    conn = duckdb.connect()
    baseline = _peak_mb()
    sets = ", ".join(["()", *(f"({a})" for a in ATTRIBUTES), *(f"({a}, {b})" for a, b in PAIRS)])
    sql = (
        f"SELECT {', '.join(ATTRIBUTES)}, count(*) AS n "
        f"FROM read_parquet({quote_literal(str(path))}) GROUP BY GROUPING SETS ({sets})"
    )
    seconds, times, groups = _median_run(lambda: conn.execute(sql).fetchall(), repeat)
    return {"seconds": seconds, "times": times, "groups": len(groups), "baseline_mb": baseline}


def worker_sort(path: Path, repeat: int) -> dict[str, Any]:
    """Mid-ranks of every row by score in one window: the sort an exact AUC of the overall
    slice needs, with nothing else (the engine's exact plan does this once per slice)."""
    import duckdb

    from rai_pipeline.core.sql import quote_literal

    conn = duckdb.connect()
    baseline = _peak_mb()
    sql = (
        "SELECT sum(r_min + r_max) FROM (SELECT rank() OVER w AS r_min, count(*) OVER w AS r_max "
        f"FROM read_parquet({quote_literal(str(path))}) WINDOW w AS (ORDER BY score))"
    )
    seconds, times, _ = _median_run(lambda: conn.execute(sql).fetchall(), repeat)
    return {"seconds": seconds, "times": times, "baseline_mb": baseline}


def _engine_values(metrics: Any) -> dict[str, float]:
    return {f"{r.dimension}|{r.group}|{r.metric}": float(r.value) for r in metrics.itertuples()}


def worker_engine(path: Path, repeat: int, memory_limit: str | None, auc: str) -> dict[str, Any]:
    """What an evaluation runs, through the same functions as the pipeline and
    ``rai evaluate-file`` (:mod:`rai_pipeline.core.evaluation`), for a config with the three
    attributes, their pairwise intersections and ``auc``."""
    import duckdb

    from rai_pipeline.core import evaluation
    from rai_pipeline.core.config import parse_config
    from rai_pipeline.core.sql import quote_literal

    config = parse_config(
        {
            "sensitive_features": list(ATTRIBUTES),
            "intersections": [list(pair) for pair in PAIRS],
            "bootstrap": {"n_resamples": N_BOOTSTRAP},
            "auc": auc,
        },
        source="bench",
    )
    conn = duckdb.connect()
    if memory_limit:
        conn.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    conn.execute(
        f"CREATE VIEW bench_frame AS SELECT * FROM read_parquet({quote_literal(str(path))})"
    )
    baseline = _peak_mb()
    split: dict[str, float] = {}

    def run() -> Any:
        started = time.perf_counter()
        statistics = evaluation.slice_statistics(
            conn, config, relation="bench_frame", label="label", score="score", decision="decision"
        )
        split["sql"] = time.perf_counter() - started
        metrics = evaluation.slice_metrics(statistics, config)
        evaluation.fairness_metrics(metrics, statistics.stats, config)
        split["python"] = time.perf_counter() - started - split["sql"]
        return metrics, statistics

    seconds, times, (metrics, statistics) = _median_run(run, repeat)
    intervals = metrics["ci_lower"].notna() & (metrics["metric"] != "count")
    return {
        "seconds": seconds,
        "times": times,
        "sql_seconds": split["sql"],
        "python_seconds": split["python"],
        "baseline_mb": baseline,
        "values": _engine_values(metrics),
        "intervals": int(intervals.sum()),
        "auc_error_bound": statistics.largest_auc_error_bound,
    }


def worker_fairlearn(path: Path, repeat: int) -> dict[str, Any]:
    import functools

    import fairlearn.metrics as fl
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, brier_score_loss, precision_score, roc_auc_score

    baseline = _peak_mb()
    started = time.perf_counter()
    frame = pd.read_parquet(path)
    y, d, s = (frame[c].to_numpy() for c in ("label", "decision", "score"))
    groups = pd.DataFrame(
        {a: frame[a].astype(object).where(frame[a].notna(), "unknown") for a in ATTRIBUTES}
    )
    del frame
    load_seconds = time.perf_counter() - started

    decision_metrics = {
        "count": fl.count,
        "selection_rate": fl.selection_rate,
        "true_positive_rate": fl.true_positive_rate,
        "false_positive_rate": fl.false_positive_rate,
        "false_negative_rate": fl.false_negative_rate,
        "true_negative_rate": fl.true_negative_rate,
        "accuracy_score": accuracy_score,
        "precision_score": precision_score,
        "prevalence": lambda y_true, y_pred: float(np.mean(y_true)),
        "false_discovery_rate": lambda y_true, y_pred: float(np.mean(y_true[y_pred == 1] == 0)),
        "false_omission_rate": lambda y_true, y_pred: float(np.mean(y_true[y_pred == 0] == 1)),
    }
    score_metrics = {
        "roc_auc_score": roc_auc_score,
        "brier_score_loss": functools.partial(brier_score_loss, pos_label=1),
    }
    slices = [(a,) for a in ATTRIBUTES] + list(PAIRS)

    def run() -> dict[str, float]:
        values: dict[str, float] = {}
        for metrics, y_pred in ((decision_metrics, d), (score_metrics, s)):
            for features in slices:
                frame = fl.MetricFrame(
                    metrics=metrics,
                    y_true=y,
                    y_pred=y_pred,
                    sensitive_features=groups[list(features)],
                )
                dimension = "&".join(features)
                for group, row in frame.by_group.iterrows():
                    label = "&".join(group) if isinstance(group, tuple) else str(group)
                    values.update({f"{dimension}|{label}|{m}": float(v) for m, v in row.items()})
                frame.difference(), frame.ratio()
            values.update({f"overall|all|{m}": float(v) for m, v in frame.overall.items()})
        return values

    seconds, times, values = _median_run(run, repeat)
    return {
        "seconds": seconds,
        "times": times,
        "load_seconds": load_seconds,
        "baseline_mb": baseline,
        "values": values,
    }


def run_worker(args: argparse.Namespace) -> None:
    path = Path(args.file)
    if args.worker == "generate":
        result = worker_generate(path, args.rows)
    elif args.worker == "bare":
        result = worker_bare(path, args.repeat)
    elif args.worker == "sort":
        result = worker_sort(path, args.repeat)
    elif args.worker == "engine":
        result = worker_engine(path, args.repeat, args.memory_limit, args.auc)
    else:
        result = worker_fairlearn(path, args.repeat)
    result["peak_mb"] = _peak_mb()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# Parent --------------------------------------------------------------------------------------


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def others_busy(seconds: float = 1.0) -> float:
    """Share of the machine's CPU in use (by anything) over the next ``seconds``."""
    busy0, total0 = _cpu_jiffies()
    time.sleep(seconds)
    busy1, total1 = _cpu_jiffies()
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_until_quiet(max_seconds: float) -> float:
    """Wait (up to ``max_seconds``) until other processes use under 10% of the CPU; return the
    share in use when the workload starts."""
    deadline = time.monotonic() + max_seconds
    busy = others_busy()
    while busy > QUIET_SHARE and time.monotonic() < deadline:
        say(f"    machine busy ({100 * busy:.0f}% CPU in use by other processes); waiting")
        time.sleep(5)
        busy = others_busy()
    return busy


def spawn(worker: str, path: Path, *, quiet_wait: float = 0, **options: Any) -> dict[str, Any]:
    """Run one workload in a fresh process; add the CPU share that other processes used
    while it ran (``others_cpu``: 0 = the machine was ours, 1 = every core busy elsewhere)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker]
    command += ["--file", str(path)]
    for key, value in options.items():
        if value is True:
            command.append(f"--{key.replace('_', '-')}")
        elif value not in (None, False):
            command += [f"--{key.replace('_', '-')}", str(value)]
    if quiet_wait:
        wait_until_quiet(quiet_wait)
    started = time.monotonic()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = _cpu_jiffies()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    busy1, total1 = _cpu_jiffies()
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        code = completed.returncode
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        tail = completed.stderr.strip().splitlines()[-1:] or [""]
        raise WorkerFailed(
            f"{worker} worker {how} after {time.monotonic() - started:.0f} s {tail[0]}"
        )
    line = next(x for x in completed.stdout.splitlines() if x.startswith(RESULT_PREFIX))
    result = json.loads(line.removeprefix(RESULT_PREFIX))
    ticks = os.sysconf("SC_CLK_TCK")
    own = sum(getattr(children1, f) - getattr(children0, f) for f in ("ru_utime", "ru_stime"))
    others = max((busy1 - busy0) / ticks - own, 0.0)
    result["others_cpu"] = others / max((total1 - total0) / ticks, 1e-9)
    result["measured_at"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    return result


class WorkerFailed(RuntimeError):
    """A workload's process ended without a result (crashed, killed, out of memory)."""


def say(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def max_difference(a: dict[str, float], b: dict[str, float]) -> tuple[float, int]:
    """Largest |a - b| over the keys of both (NaN equal to NaN), and the number of keys;
    infinite when the key sets differ."""
    if set(a) != set(b):
        return float("inf"), 0
    worst = 0.0
    for key, value in a.items():
        other = b[key]
        if value != value and other != other:
            continue
        worst = max(worst, abs(value - other))
    return worst, len(a)


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    ]
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = next((line.split()[1] for line in meminfo.splitlines() if "MemTotal" in line), "0")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = {name: metadata.version(name) for name in PACKAGES}
    return {
        "CPU": f"{models[0] if models else platform.processor() or 'unknown'}",
        "Cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "Memory": f"{int(total) / 2**20:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "Engine code": engine_version(),
    }


def engine_version() -> str:
    """Which engine code was measured: sha256 of the engine files that were imported, and
    whether they equal the checked-out commit's."""
    from importlib.util import find_spec

    spec = find_spec("rai_pipeline")
    package = Path(next(iter(spec.submodule_search_locations or []))) if spec else ROOT
    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    parts, modified = [], []
    for name in ENGINE_FILES:
        data = (package / "core" / name).read_bytes()
        parts.append(f"{name} {hashlib.sha256(data).hexdigest()[:12]}")
        committed = subprocess.run(
            [*git, "show", f"HEAD:rai_pipeline/core/{name}"], capture_output=True, check=False
        ).stdout
        if committed != data:
            modified.append(name)
    state = f"differs from the commit: {', '.join(modified)}" if modified else "as committed"
    return f"git {commit}, engine files {state}; sha256 {', '.join(parts)}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "not run"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def fmt_mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} MiB"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"


def ok(r: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The measured result of workload ``key``, or None when it was not run or failed."""
    w = r.get(key)
    return w if w and "failed" not in w else None


WORKLOADS = (
    ("engine", "engine, `auc: exact`"),
    ("engine_limited", f"engine, `auc: exact`, memory_limit={MEMORY_LIMIT}"),
    ("engine_binned", "engine, `auc: binned`"),
    ("fairlearn", "fairlearn MetricFrame"),
    ("bare", "bare GROUPING SETS count"),
    ("sort", "bare sort by score (one window)"),
)
ENGINES = ("engine", "engine_limited", "engine_binned")


def result_row(rows: int, r: dict[str, Any], key: str, name: str) -> str:
    w, bare, fair = ok(r, key), ok(r, "bare"), ok(r, "fairlearn")
    if w is None:
        why = r[key]["failed"] if key in r else "not run"
        return f"| {rows:,} | {name} | {why} | — | — | — | — |"
    extra = ""
    if key in ENGINES:
        extra = f" (sql {w['sql_seconds']:.2f} s, python {w['python_seconds']:.2f} s)"
    elif key == "fairlearn":
        extra = f" (+ {w['load_seconds']:.1f} s loading)"
    speedup = fair["seconds"] / w["seconds"] if fair and key in ENGINES else None
    versus_bare = w["seconds"] / bare["seconds"] if bare else None
    return (
        f"| {rows:,} | {name} | {fmt_seconds(w['seconds'])} [{len(w['times'])}]{extra} "
        f"| {fmt_mb(w['peak_mb'])} ({fmt_mb(w['baseline_mb'])}) "
        f"| {fmt_ratio(versus_bare)} | {fmt_ratio(speedup)} | {100 * w['others_cpu']:.0f}% |"
    )


def agreement(rows: int, r: dict[str, Any]) -> list[str]:
    """How the engines' point estimates compare with fairlearn's, and with each other."""
    exact, binned, fair = ok(r, "engine"), ok(r, "engine_binned"), ok(r, "fairlearn")
    lines = []
    if exact and fair:
        worst, count = max_difference(exact["values"], fair["values"])
        lines.append(
            f"- {rows:,} rows, `auc: exact`: {count:,} values, largest absolute difference "
            f"from fairlearn {worst:.1e}."
        )
    if binned and fair:
        auc = {k for k in fair["values"] if k.endswith("|roc_auc_score")}
        rest = {k: v for k, v in binned["values"].items() if k not in auc}
        worst, count = max_difference(rest, {k: fair["values"][k] for k in rest})
        auc_worst, auc_count = max_difference(
            {k: binned["values"][k] for k in auc}, {k: fair["values"][k] for k in auc}
        )
        lines.append(
            f"- {rows:,} rows, `auc: binned`: {count:,} values other than the AUC, largest "
            f"difference {worst:.1e}; {auc_count} AUC values, largest difference "
            f"{auc_worst:.1e} (stated bound {binned['auc_error_bound']:.1e})."
        )
    if exact and binned and not fair:
        auc = {k: v for k, v in exact["values"].items() if k.endswith("|roc_auc_score")}
        worst, count = max_difference(auc, {k: binned["values"][k] for k in auc})
        lines.append(
            f"- {rows:,} rows: fairlearn not run; binned against exact AUC: {count} values, "
            f"largest difference {worst:.1e} (stated bound {binned['auc_error_bound']:.1e})."
        )
    return lines or [f"- {rows:,} rows: not compared."]


def render(results: dict[int, dict[str, Any]], info: dict[str, str], args: Any) -> str:
    sizes = sorted(results)
    measured = sorted(
        w["measured_at"]
        for r in results.values()
        for w in r.values()
        if isinstance(w, dict) and "measured_at" in w
    )
    when = f"{measured[0]} to {measured[-1]}" if measured else "—"
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`bench/run_bench.py`): every number below was measured on",
        "the machine described, by the run named at the end of the page. Rerun it after",
        "changing the engine. Each workload runs in a fresh Python process, so a peak memory",
        "(`ru_maxrss`, which includes the interpreter and imports, shown as *baseline*) belongs",
        "to one workload. Nothing is extrapolated.",
        "",
        "## What is measured",
        "",
        "A synthetic evaluation frame (`make_synthetic_frame`, seed "
        f"{SEED}: three sensitive attributes with 3, 2 and 5 groups including NULL, continuous",
        "scores) written to Parquet. Slices: overall, the 3 attributes and their 3 pairwise",
        "intersections (42 groups).",
        "",
        "- **engine**: what the pipeline and `rai evaluate-file` run, through the same",
        "  functions (`rai_pipeline.core.evaluation`): the sufficient statistics in DuckDB",
        "  straight from the Parquet file (`compute_slice_statistics`: confusion cells, Brier",
        "  sums, ROC AUC and 1000-bin score histograms per group), then 13 metrics per group",
        f"  with Wilson or bootstrap intervals and the disparities with {N_BOOTSTRAP} bootstrap",
        "  resamples and verdicts. *sql* / *python* split the last run's time. Three",
        "  configurations:",
        "  `auc: exact` (the default: the exact Mann–Whitney AUC, a sort per slice), the same",
        f"  with DuckDB's `memory_limit={MEMORY_LIMIT}` (it spills beyond it), and `auc: binned`",
        "  (the AUC from the histograms, with its error bound reported).",
        "- **fairlearn**: `MetricFrame` with the same 13 point metrics (fairlearn /",
        "  scikit-learn functions; numpy for FDR and FOR), one per slice for decisions and one",
        "  for scores, plus",
        "  `difference()` and `ratio()`: point estimates only, no intervals. Rows are loaded",
        "  into pandas first; loading is not counted.",
        "- **bare query**: `SELECT count(*) ... GROUP BY GROUPING SETS` over the same slices and",
        "  file: the floor any SQL engine pays to read and group the rows. It reads only the",
        "  three attribute columns; the engine also reads label, score and decision.",
        "- **bare sort**: mid-ranks of every row by score in one window, the sort an exact AUC",
        "  of the overall slice needs and nothing else: the floor of any exact AUC plan (the",
        "  engine's does it once per slice).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in info.items()),
        f"| Measured | {when} |",
        "",
        "## Results",
        "",
        "Wall time is the median of the runs (count in brackets); peak is the process's",
        "maximum resident memory. *Others' CPU* is the share of the machine's CPU that other",
        "processes used while the workload ran (0% means the timing is undisturbed, 50% on",
        "2 cores means one core was busy elsewhere).",
        "",
        "| Rows | Workload | Wall time | Peak memory (baseline) | vs bare query |"
        " fairlearn ÷ engine | Others' CPU |",
        "|---:|---|---:|---:|---:|---:|---:|",
        *(result_row(rows, results[rows], key, name) for rows in sizes for key, name in WORKLOADS),
        "",
        "Agreement of point estimates (every metric and group):",
        "",
    ]
    for rows in sizes:
        lines += agreement(rows, results[rows])
    lines += ["", "## Targets", "", "| Target | Measured | Met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {verdict} |" for t, m, verdict in targets(results)]
    lines += ["", *analysis(results)]
    lines += [
        "",
        "## Reproduce",
        "",
        "```bash",
        "make bench   # sizes 10^6 and 10^7, MetricFrame at 10^6 (about 10 minutes)",
        "python bench/run_bench.py --sizes 100000 --out /tmp/bench.md          # a quick look",
        "python bench/run_bench.py --results /tmp/bench.json   # keeps measurements; resumes",
        "python bench/run_bench.py --fairlearn-sizes 1000000 10000000   # MetricFrame at 10^7",
        "```",
        "",
        f"This page: `{' '.join(args.argv)}`.",
        "",
    ]
    return "\n".join(lines)


def analysis(results: dict[int, dict[str, Any]]) -> list[str]:
    """What the measurements say about where the time goes, with this run's numbers."""
    largest = max(results)
    r = results[largest]
    exact, binned, bare = ok(r, "engine"), ok(r, "engine_binned"), ok(r, "bare")
    if not (exact and binned and bare):
        return []
    lines = [
        f"## Where the time goes ({largest:,} rows)",
        "",
        f"- With `auc: binned` an evaluation takes {binned['seconds']:.2f} s. SQL, "
        f"{binned['sql_seconds']:.2f} s: a validation",
        "  query (answered from the Parquet statistics) and one aggregation of the rows by every",
        "  sensitive feature, label, decision and score bin, from which the slices are rolled",
        f"  up. Python, {binned['python_seconds']:.2f} s: metrics, {binned['intervals']:,} "
        "intervals and the bootstrap resamples",
        "  of the disparities, AUC and Brier score, all on aggregates.",
        f"- `auc: exact` adds {exact['sql_seconds'] - binned['sql_seconds']:.1f} s. The exact "
        "Mann–Whitney AUC needs every",
        "  group's rows in score order: one sort of the rows per slice (7 here). Any exact plan",
        "  sorts; that is the price of an AUC equal to scikit-learn's to the last digit, and why",
        "  `auc: binned` exists for large frames. Its largest error bound here is "
        f"{binned['auc_error_bound']:.1e}",
        "  (actual errors: see the agreement list above).",
        f"- The bare query takes {bare['seconds']:.2f} s and reads 3 of the 6 columns the engine "
        "reads.",
    ]
    sort = ok(r, "sort")
    if sort:
        lines += [
            f"- One sort of the rows by score (the bare sort) takes {sort['seconds']:.2f} s, "
            f"{sort['seconds'] / bare['seconds']:.1f}× the",
            f"  bare query: no exact AUC plan can come within {TARGET_BARE_RATIO}× of the bare "
            "query on this machine.",
        ]
    return lines


def targets(results: dict[int, dict[str, Any]]) -> list[tuple[str, str, str]]:
    def met(condition: bool) -> str:
        return "yes" if condition else "**no**"

    rows = []
    small, large = results.get(10**6, {}), results.get(10**7, {})
    fair = ok(small, "fairlearn")
    for key, label in (("engine", "auc: exact"), ("engine_binned", "auc: binned")):
        engine = ok(small, key)
        if engine and fair:
            speedup = fair["seconds"] / engine["seconds"]
            rows.append(
                (
                    f"≥ {TARGET_SPEEDUP}× faster than MetricFrame at 10^6 rows (`{label}`)",
                    f"{speedup:,.0f}× ({fair['seconds']:.1f} s vs {engine['seconds']:.2f} s)",
                    met(speedup >= TARGET_SPEEDUP),
                )
            )
    bare = ok(large, "bare")
    for key, label in (("engine", "auc: exact"), ("engine_binned", "auc: binned")):
        engine = ok(large, key)
        if engine and bare:
            ratio = engine["seconds"] / bare["seconds"]
            rows.append(
                (
                    f"within {TARGET_BARE_RATIO}× of the bare query at 10^7 rows (`{label}`)",
                    f"{ratio:.1f}× ({engine['seconds']:.2f} s vs {bare['seconds']:.2f} s)",
                    met(ratio <= TARGET_BARE_RATIO),
                )
            )
    for key, label in (
        ("engine", "auc: exact"),
        ("engine_limited", f"auc: exact, memory_limit {MEMORY_LIMIT}"),
        ("engine_binned", "auc: binned"),
    ):
        w = ok(large, key)
        if w:
            rows.append(
                (
                    f"under {TARGET_PEAK_MB / 1024:.1f} GiB ({TARGET_PEAK_MB:,} MiB) peak at 10^7 "
                    f"rows (`{label}`)",
                    fmt_mb(w["peak_mb"]),
                    met(w["peak_mb"] < TARGET_PEAK_MB),
                )
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**6, 10**7])
    parser.add_argument(
        "--fairlearn-sizes",
        type=int,
        nargs="*",
        default=[10**6],
        help="Sizes at which to run MetricFrame (default 10^6; at 10^7 it takes over half an "
        "hour here).",
    )
    parser.add_argument("--repeat", type=int, default=None, help="Runs per workload.")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--keep", action="store_true", help="Keep the generated Parquet files.")
    parser.add_argument(
        "--results",
        help="JSON file that keeps every measurement as it is made; an existing one is resumed "
        "(workloads it holds are not run again).",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=300,
        help="Before each workload, wait up to this many seconds for other processes to "
        "leave the CPU idle (their share while it runs is reported either way).",
    )
    parser.add_argument(
        "--worker",
        choices=["generate", "bare", "sort", "engine", "fairlearn"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--file")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--memory-limit")
    parser.add_argument("--auc", choices=["exact", "binned"], default="exact")
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    args.argv = ["bench/run_bench.py", *(sys.argv[1:] if argv is None else argv)]
    results_path = Path(args.results) if args.results else None
    stored = json.loads(results_path.read_text()) if results_path and results_path.exists() else {}
    results: dict[int, dict[str, Any]] = {int(k): v for k, v in stored.items()}
    fairlearn_sizes = set(args.fairlearn_sizes)
    folder = Path(tempfile.mkdtemp(prefix="rai-bench-"))
    try:
        for rows in sorted(args.sizes):
            measure_size(rows, folder, results, args, fairlearn_sizes, results_path)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            say(f"kept {folder}")
    page = render({rows: results[rows] for rows in sorted(args.sizes)}, machine(), args)
    Path(args.out).write_text(page, encoding="utf-8")
    print(page)
    say(f"wrote {args.out}")


def measure_size(
    rows: int,
    folder: Path,
    results: dict[int, dict[str, Any]],
    args: argparse.Namespace,
    fairlearn_sizes: set[int],
    results_path: Path | None,
) -> None:
    """Every workload at one size; workloads already in ``results`` (resumed) are skipped.
    Each result is saved to ``results_path`` as soon as it is measured."""
    r = results.setdefault(rows, {})
    path = folder / f"frame_{rows}.parquet"
    say(f"{rows:,} rows: generating {path}")
    generated = spawn("generate", path, rows=rows)
    say(f"  {generated['bytes'] / 1e6:,.0f} MB in {generated['seconds']:.1f} s")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if r.setdefault("file_sha256", digest) != digest:
        raise SystemExit(f"{rows:,} rows: the generated file differs from the stored results'")
    quick = args.repeat or (5 if rows <= 10**6 else 3)
    wait = args.quiet_wait
    plan: list[tuple[str, str, str, dict[str, Any]]] = [
        ("bare", "bare GROUPING SETS query", "bare", {"repeat": args.repeat or 5}),
        ("sort", "bare sort by score (one window)", "sort", {"repeat": args.repeat or 3}),
        ("engine_binned", "engine, auc: binned", "engine", {"repeat": quick, "auc": "binned"}),
        ("engine", "engine, auc: exact", "engine", {"repeat": quick, "auc": "exact"}),
        (
            "engine_limited",
            f"engine, auc: exact, memory_limit={MEMORY_LIMIT}",
            "engine",
            {"repeat": quick, "memory_limit": MEMORY_LIMIT, "auc": "exact"},
        ),
    ]
    if rows in fairlearn_sizes:
        plan.append(
            ("fairlearn", "fairlearn MetricFrame (slow)", "fairlearn", {"repeat": args.repeat or 1})
        )
    for key, title, worker, options in plan:
        if key in r and "failed" not in r[key]:
            say(f"  {title}: kept from {results_path}")
            continue
        say(f"  {title}")
        try:
            r[key] = spawn(worker, path, quiet_wait=wait, **options)
        except WorkerFailed as error:
            r[key] = {"failed": str(error)}
            say(f"    FAILED: {error}")
        else:
            if "seconds" in r[key]:
                say(f"    {fmt_seconds(r[key]['seconds'])}, peak {fmt_mb(r[key]['peak_mb'])}")
        if results_path:
            results_path.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
