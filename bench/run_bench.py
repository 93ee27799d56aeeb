"""``make bench``: ``rai evaluate-file`` against the tools its users would otherwise run, as
whole processes on the same files, with the floors any engine pays.

For each size (default 10^6 and 10^7 rows) a synthetic evaluation frame with three sensitive
attributes (:func:`rai_pipeline.demo.synthetic.make_synthetic_frame`) is written to Parquet;
the slices are the three attributes and their three pairwise intersections. Measured, each in
a fresh process (:mod:`suite`):

- ``rai evaluate-file`` with the default config, from start to published pack;
- fairlearn ``MetricFrame`` with six metrics (at 10^6 by default: at 10^7 it runs for hours);
- Aequitas ``get_crosstabs`` + ``get_disparity_major_group``, installed by the bench into its
  own throwaway environment (:mod:`peers`);
- the floors: one ``GROUPING SETS`` count over the slices, one sort of the rows by score, and
  the exact AUC of every slice group as the engine computes it.

Then the start-up of the command line (``rai --help``; ``rai evaluate-file`` on 1,000 rows),
the demo's two versions through the Dagster job by stage (from the run's own events), and
10^8 rows in ten Parquet files read through a pattern under ``--memory-limit 2GB``, where
Aequitas is run with its address space capped at the machine's memory (fairlearn, which
takes hours at 10^7 already, is not run there). The page
``docs/benchmarks.md`` states the machine, every measurement, the ratios and the targets.
Nothing is extrapolated: a workload is measured, failed (with its error) or not run.

Usage::

    python bench/run_bench.py                    # what `make bench` runs (about 15 minutes)
    python bench/run_bench.py --sizes 100000 --fairlearn-sizes 100000 --large 0 --out /tmp/b.md
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from harness import RAI, ROOT, machine, run_process, say, spawn
from peers import PeerUnavailable, aequitas_python
from report import render
from suite import (
    Store,
    aequitas_command,
    fairlearn_command,
    generated,
    measure,
    run_peer,
    run_rai,
    write_config,
)
from workloads import run_worker

STARTUP_ROWS = 1000
LARGE_PARTS = 10
LARGE_MEMORY_LIMIT = "2GB"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10**6, 10**7])
    parser.add_argument("--fairlearn-sizes", type=int, nargs="*", default=[10**6])
    parser.add_argument("--aequitas-sizes", type=int, nargs="*", default=[10**6, 10**7])
    parser.add_argument(
        "--aequitas-python", help="An interpreter with Aequitas installed (else one is built)."
    )
    parser.add_argument(
        "--large", type=int, default=10**8, help="Rows of the data set in parts (0: skip)."
    )
    parser.add_argument("--no-startup", action="store_true", help="Skip the start-up times.")
    parser.add_argument(
        "--no-pipeline", action="store_true", help="Skip the demo's evaluations through Dagster."
    )
    parser.add_argument(
        "--postgres-rows", type=int, default=10**6, help="Rows for PostgreSQL (0: skip)."
    )
    parser.add_argument("--spark-rows", type=int, default=10**7, help="Rows for Spark (0: skip).")
    parser.add_argument("--repeat", type=int, default=None, help="Runs per workload.")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    parser.add_argument(
        "--results",
        help="JSON file that keeps every measurement as it is made; an existing one is resumed.",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=300,
        help="Before each workload, wait up to this many seconds for an idle CPU.",
    )
    parser.add_argument(
        "--worker",
        choices=[
            "generate",
            "bare",
            "sort",
            "auc",
            "fairlearn",
            "pipeline",
            "engine_postgres",
            "engine_spark",
        ],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.worker:
        run_worker(args)
        return
    args.argv = ["bench/run_bench.py", *(sys.argv[1:] if argv is None else argv)]
    store = Store(Path(args.results) if args.results else None)
    folder = Path(tempfile.mkdtemp(prefix="rai-bench-"))
    try:
        run_all(args, store, folder)
    finally:
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    page = render(store.data, machine(), args)
    Path(args.out).write_text(page, encoding="utf-8")
    print(page)
    say(f"wrote {args.out}")


def run_all(args: argparse.Namespace, store: Store, folder: Path) -> None:
    config = write_config(folder)
    aequitas = None
    wanted = set(args.aequitas_sizes) & set(args.sizes) or args.large
    if wanted and args.aequitas_python:
        aequitas = Path(args.aequitas_python)
    elif wanted:
        try:
            aequitas = aequitas_python(folder, say)
        except PeerUnavailable as error:
            store.put("peers", "aequitas", {"failed": str(error)})
            say(f"Aequitas not measured: {error}")
    for rows in sorted(args.sizes):
        measure_size(args, store, folder, config, rows, aequitas)
    if not args.no_startup:
        startup(args, store, folder, config)
    if args.large:
        large(args, store, folder, config, aequitas)
    for engine, rows in (("postgres", args.postgres_rows), ("spark", args.spark_rows)):
        if rows:
            data = generated(folder, rows)
            measure(
                store,
                "engines",
                engine,
                f"{rows:,} rows: the slice statistics on {engine} and on DuckDB",
                lambda data=data, engine=engine: spawn(
                    f"engine_{engine}", data, quiet_wait=args.quiet_wait
                ),
            )
    if not args.no_pipeline:
        measure(
            store,
            "pipeline",
            "demo",
            "rai demo: each version's evaluation through Dagster, by stage",
            lambda: spawn("pipeline", folder / "demo-home", quiet_wait=args.quiet_wait),
        )


def measure_size(
    args: argparse.Namespace,
    store: Store,
    folder: Path,
    config: Path,
    rows: int,
    aequitas: Path | None,
) -> None:
    """Every workload at one size, on one generated file."""
    size, wait, repeat = str(rows), args.quiet_wait, args.repeat
    data = generated(folder, rows)
    for worker, runs in (("bare", 5), ("sort", 3), ("auc", 3)):

        def floor(worker: str = worker, runs: int = runs) -> dict[str, object]:
            return spawn(worker, data, quiet_wait=wait, repeat=repeat or runs)

        measure(store, size, worker, f"{rows:,} rows: {worker}", floor)
    runs = repeat or (5 if rows <= 10**6 else 3)
    measure(
        store,
        size,
        "rai",
        f"{rows:,} rows: rai evaluate-file",
        lambda: run_rai(data, config, folder, runs, quiet_wait=wait),
    )
    if rows in args.fairlearn_sizes:
        command = fairlearn_command(data)
        measure(
            store,
            size,
            "fairlearn",
            f"{rows:,} rows: fairlearn MetricFrame (slow)",
            lambda: run_peer(command, "fairlearn", quiet_wait=wait),
        )
    if rows in args.aequitas_sizes and aequitas is not None:
        command = aequitas_command(aequitas, data)
        measure(
            store,
            size,
            "aequitas",
            f"{rows:,} rows: Aequitas",
            lambda: run_peer(command, "Aequitas", quiet_wait=wait),
        )
    if not args.keep:
        data.unlink(missing_ok=True)


def startup(args: argparse.Namespace, store: Store, folder: Path, config: Path) -> None:
    def help_runs() -> dict[str, object]:
        times = [run_process([str(RAI), "--help"])["seconds"] for _ in range(args.repeat or 5)]
        return {"seconds": sorted(times)[len(times) // 2], "times": times}

    measure(store, "startup", "help", "rai --help", help_runs)
    data = generated(folder, STARTUP_ROWS)
    measure(
        store,
        "startup",
        "rai",
        f"{STARTUP_ROWS:,} rows: rai evaluate-file",
        lambda: run_rai(data, config, folder, args.repeat or 5),
    )


def large(
    args: argparse.Namespace, store: Store, folder: Path, config: Path, aequitas: Path | None
) -> None:
    parts = generated(folder, args.large, parts=LARGE_PARTS)
    pattern = parts / "part-*.parquet"
    store.put(
        "large",
        "data",
        {"rows": args.large, "parts": LARGE_PARTS, "memory_limit": LARGE_MEMORY_LIMIT},
    )
    measure(
        store,
        "large",
        "rai",
        f"{args.large:,} rows in {LARGE_PARTS} files: rai",
        lambda: run_rai(
            pattern,
            config,
            folder,
            1,
            "--memory-limit",
            LARGE_MEMORY_LIMIT,
            quiet_wait=args.quiet_wait,
        ),
    )
    if aequitas is not None:
        measure(
            store,
            "large",
            "aequitas",
            f"{args.large:,} rows: Aequitas (capped memory)",
            lambda: run_peer(aequitas_command(aequitas, parts), "Aequitas", cap=True),
        )


if __name__ == "__main__":
    main()
