"""What the measured processes run.

Whole processes, as a user waits for them (started by :func:`harness.run_process`):

- ``rai evaluate-file`` with the default config (:func:`rai_config`);
- fairlearn ``MetricFrame`` (:func:`worker_fairlearn`: imports, loading and the metrics);
- Aequitas (``bench/aequitas_workload.py``, in its own virtual environment: :mod:`peers`).

Floors, timed inside a worker process around the query alone: ``bare`` (one ``GROUP BY
GROUPING SETS`` count over the slices), ``sort`` (one sort of every row by score) and ``auc``
(the exact AUC of every slice group as the engine computes it). ``generate`` writes the data.
Each ``worker_*`` function returns what it measured; :func:`run_worker` prints it for the
parent.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from rai_pipeline.core.storage import read_parquet

ATTRIBUTES = ("group_a", "group_b", "group_c")
PAIRS = (("group_a", "group_b"), ("group_a", "group_c"), ("group_b", "group_c"))
SEED = 20261126
RESULT_PREFIX = "BENCH-RESULT "
# The six fairlearn metrics of the MetricFrame workload, by the name rai gives them.
FAIRLEARN_METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "accuracy_score",
    "precision_score",
)


def rai_config() -> dict[str, Any]:
    """The config ``rai evaluate-file`` runs with: the columns, the three attributes and their
    pairwise intersections, everything else at its default."""
    return {
        "columns": {"id": "example_id", "label": "label", "score": "score"},
        "sensitive_features": list(ATTRIBUTES),
        "intersections": [list(pair) for pair in PAIRS],
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _median_run(function: Any, repeat: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def worker_generate(path: Path, rows: int, part: int = 0) -> dict[str, Any]:
    """``rows`` synthetic rows; part ``k`` of a data set in parts has seed ``SEED + k`` and ids
    from ``k * rows`` (unique across the parts)."""
    from rai_pipeline.demo.synthetic import make_synthetic_frame

    started = time.perf_counter()
    frame = make_synthetic_frame(rows, seed=SEED + part)
    frame["example_id"] += part * rows
    frame.to_parquet(path, index=False)
    return {"seconds": time.perf_counter() - started, "bytes": path.stat().st_size}


def _connect(path: Path) -> Any:
    import duckdb

    from rai_pipeline.core.engine.sql import quote_literal

    conn = duckdb.connect()
    conn.execute(
        f"CREATE VIEW bench_frame AS SELECT * FROM read_parquet({quote_literal(str(path))})"
    )
    return conn


def worker_bare(path: Path, repeat: int) -> dict[str, Any]:
    conn = _connect(path)
    sets = ", ".join(["()", *(f"({a})" for a in ATTRIBUTES), *(f"({a}, {b})" for a, b in PAIRS)])
    sql = (
        f"SELECT {', '.join(ATTRIBUTES)}, count(*) AS n "
        f"FROM bench_frame GROUP BY GROUPING SETS ({sets})"
    )
    seconds, times, groups = _median_run(lambda: conn.execute(sql).fetchall(), repeat)
    return {"seconds": seconds, "times": times, "groups": len(groups)}


def worker_sort(path: Path, repeat: int) -> dict[str, Any]:
    """Mid-ranks of every row by score in one window: one sort of the rows, nothing else."""
    conn = _connect(path)
    sql = (
        "SELECT sum(r_min + r_max) FROM (SELECT rank() OVER w AS r_min, count(*) OVER w AS r_max "
        "FROM bench_frame WINDOW w AS (ORDER BY score))"
    )
    seconds, times, _ = _median_run(lambda: conn.execute(sql).fetchall(), repeat)
    return {"seconds": seconds, "times": times}


def worker_auc(path: Path, repeat: int) -> dict[str, Any]:
    """The exact AUC of every slice group as the engine computes it (its ``auto`` plan: the
    cells, then the cell-pair matrix from one ordering of the rows)."""
    from rai_pipeline.core.engine.cell_auc import count_cells, drop_tables
    from rai_pipeline.core.engine.exact_auc import exact_auc
    from rai_pipeline.core.engine.plan import plan_slices
    from rai_pipeline.core.engine.slices import build_slices

    conn = _connect(path)
    plan = plan_slices(
        relation="bench_frame",
        slices=build_slices(list(ATTRIBUTES), [list(p) for p in PAIRS]),
        label="label",
        score="score",
        decision="decision",
        where=None,
    )
    [(rows,)] = conn.execute("SELECT count(*) FROM bench_frame").fetchall()
    timed = _Timed(conn)
    steps: list[tuple[str, float]] = []

    def run() -> Any:
        timed.seconds.clear()
        started = time.perf_counter()
        counted, query = count_cells(timed, plan)
        try:
            exact, queries = exact_auc(
                timed, plan, "auto", n_rows=rows, n_scores=rows, cells=counted.cells
            )
        finally:
            drop_tables(conn)
        elapsed = time.perf_counter() - started
        # a streamed statement is timed with its consumer: the rest of the run
        streamed = elapsed - sum(timed.seconds.values())
        steps[:] = [(step, timed.seconds.get(sql, streamed)) for step, sql, _ in [query, *queries]]
        return exact

    seconds, times, exact = _median_run(run, repeat)
    return {"seconds": seconds, "times": times, "groups": len(exact), "steps": steps}


class _Timed:
    """A connection that times each statement it runs (keyed by its SQL)."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.seconds = conn, {}

    def execute(self, sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        result = self.conn.execute(sql, *args)
        self.seconds[sql] = self.seconds.get(sql, 0.0) + time.perf_counter() - started
        return result

    def sql(self, sql: str, **kwargs: Any) -> Any:
        """A lazy relation (its time is its consumer's: not recorded here)."""
        return self.conn.sql(sql, **kwargs)


def worker_fairlearn(path: Path) -> dict[str, Any]:
    """Load the file into pandas and compute the six metrics with one ``MetricFrame`` per
    slice, plus ``difference()`` and ``ratio()``; the parent times the whole process."""
    started = time.perf_counter()
    import functools

    import fairlearn.metrics as fl
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, precision_score

    imported = time.perf_counter()
    frame = read_parquet(path)
    y, d = frame["label"].to_numpy(), frame["decision"].to_numpy()
    groups = pd.DataFrame(
        {a: frame[a].astype(object).where(frame[a].notna(), "unknown") for a in ATTRIBUTES}
    )
    del frame
    loaded = time.perf_counter()
    metrics = {
        "selection_rate": fl.selection_rate,
        "true_positive_rate": fl.true_positive_rate,
        "false_positive_rate": fl.false_positive_rate,
        "false_negative_rate": fl.false_negative_rate,
        "accuracy_score": accuracy_score,
        # Undefined (no predicted positives) is NaN in rai; sklearn's default says 0.
        "precision_score": functools.partial(precision_score, zero_division=np.nan),
    }
    values: dict[str, float] = {}
    for features in [(a,) for a in ATTRIBUTES] + list(PAIRS):
        mf = fl.MetricFrame(
            metrics=metrics, y_true=y, y_pred=d, sensitive_features=groups[list(features)]
        )
        dimension = "&".join(features)
        for group, row in mf.by_group.iterrows():
            label = "&".join(group) if isinstance(group, tuple) else str(group)
            values.update({f"{dimension}|{label}|{m}": float(v) for m, v in row.items()})
        mf.difference(), mf.ratio()
    values.update({f"overall|all|{m}": float(v) for m, v in mf.overall.items()})
    done = time.perf_counter()
    return {
        "import_seconds": imported - started,
        "load_seconds": loaded - imported,
        "metric_seconds": done - loaded,
        "values": values,
    }


STAGES = (  # Dagster step key prefix -> stage of a version's evaluation
    ("landing_extracts", "landed files checked"),
    ("warehouse_models", "shared dbt models (built once per data set)"),
    ("predictions", "scoring"),
    ("evaluation_frame_models", "dbt: the version's evaluation frame"),
    ("marts__", "data checks (expectation suite, schema)"),
    ("feature_importance", "explanations (permutation importance, SHAP)"),
    ("slice_metrics", "metrics"),
    ("fairness_metrics", "metrics"),
    ("evidence_pack", "documents, MLflow run, registry tags"),
)


def worker_pipeline(home: Path) -> dict[str, Any]:
    """``rai demo`` in ``home``, then each evaluation run's steps read back from the Dagster
    instance: seconds per stage and the run's wall time, per version."""
    import os
    import subprocess
    import sys

    started = time.perf_counter()
    rai = Path(sys.executable).with_name("rai")
    env = {**os.environ, "RAI_HOME": str(home)}
    subprocess.run([str(rai), "demo"], env=env, check=True, capture_output=True, text=True)
    demo_seconds = time.perf_counter() - started
    import dagster as dg

    from rai_pipeline.defs.evaluation.jobs import EVALUATE_JOB

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=EVALUATE_JOB))
    versions = []
    for run in sorted(runs, key=lambda r: instance.get_run_stats(r.run_id).start_time or 0):
        stats = instance.get_run_stats(run.run_id)
        kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
        begun: dict[str, float] = {}
        stages: dict[str, float] = {}
        for record in instance.all_logs(run.run_id, of_type=kinds):
            key = record.dagster_event.step_key
            if record.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                begun[key] = record.timestamp
                continue
            stage = next((name for prefix, name in STAGES if key.startswith(prefix)), key)
            stages[stage] = stages.get(stage, 0.0) + record.timestamp - begun[key]
        versions.append(
            {
                "partition": run.tags.get("dagster/partition", ""),
                "seconds": (stats.end_time or 0) - (stats.start_time or 0),
                "stages": stages,
            }
        )
    return {"seconds": demo_seconds, "versions": versions}


def run_worker(args: argparse.Namespace) -> None:
    path = Path(args.file)
    if args.worker == "generate":
        result = worker_generate(path, args.rows, args.part)
    elif args.worker == "bare":
        result = worker_bare(path, args.repeat)
    elif args.worker == "sort":
        result = worker_sort(path, args.repeat)
    elif args.worker == "auc":
        result = worker_auc(path, args.repeat)
    elif args.worker == "pipeline":
        result = worker_pipeline(path)
    elif args.worker in ("engine_postgres", "engine_spark"):
        import engines

        result = getattr(engines, f"worker_{args.worker}")(path)
    else:
        result = worker_fairlearn(path)
    result["peak_mb"] = _peak_mb()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
