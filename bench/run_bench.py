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

The code: :mod:`workloads` (what each worker process measures), :mod:`harness` (running them
in subprocesses and measuring), :mod:`report` (the page); this file parses the command line.

Usage::

    python bench/run_bench.py                      # what `make bench` runs
    python bench/run_bench.py --sizes 100000 --fairlearn-sizes 100000 --out /tmp/bench.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import ROOT, machine, measure_size, say
from report import render
from workloads import run_worker


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


if __name__ == "__main__":
    main()
