"""Turning measurements into the text of ``docs/benchmarks.md``: the ``fmt_*`` helpers, one
table row per workload (:func:`result_row`), the agreement of point estimates, the targets and
where the time goes, and the whole page (:func:`render`).
"""

from __future__ import annotations

import math
from typing import Any

from workloads import MEMORY_LIMIT, N_BOOTSTRAP, SEED

TARGET_SPEEDUP = 100  # engine vs MetricFrame at 10^6 rows
TARGET_BARE_RATIO = 3  # engine vs bare query at 10^7 rows
TARGET_PEAK_MB = 1536  # engine peak at 10^7 rows: 1.5 GiB


def max_difference(a: dict[str, float], b: dict[str, float]) -> tuple[float, int]:
    """Largest |a - b| over the keys of both (NaN equal to NaN, NaN against a number
    infinite), and the number of keys; infinite when the key sets differ."""
    if set(a) != set(b):
        return float("inf"), 0
    worst = 0.0
    for key, value in a.items():
        other = b[key]
        if math.isnan(value) or math.isnan(other):
            worst = worst if math.isnan(value) and math.isnan(other) else float("inf")
            continue
        worst = max(worst, abs(value - other))
    return worst, len(a)


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
