"""The measured workloads: each ``worker_*`` function runs in a fresh Python process
(started by :func:`harness.spawn` as ``run_bench.py --worker NAME``) and returns what it
measured; :func:`run_worker` dispatches to one and prints its result for the parent.

- ``generate``: the synthetic evaluation frame, written to Parquet;
- ``bare``: ``SELECT count(*) ... GROUP BY GROUPING SETS`` over the slices;
- ``sort``: one sort of every row by score (the floor of an exact AUC);
- ``engine``: the evaluation as the pipeline runs it (:mod:`rai_pipeline.core.evaluation`);
- ``fairlearn``: ``MetricFrame`` with the same point metrics.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

ATTRIBUTES = ("group_a", "group_b", "group_c")
PAIRS = (("group_a", "group_b"), ("group_a", "group_c"), ("group_b", "group_c"))
SEED = 20261126
N_BOOTSTRAP = 1000
MEMORY_LIMIT = "1GB"
RESULT_PREFIX = "BENCH-RESULT "


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

    from rai_pipeline.core.engine.sql import quote_literal

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

    from rai_pipeline.core.engine.sql import quote_literal

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
    from rai_pipeline.core.config.schema import parse_config
    from rai_pipeline.core.engine.sql import quote_literal

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
        # Undefined (no predicted positives) is NaN in the engine; sklearn's default says 0.
        "precision_score": functools.partial(precision_score, zero_division=np.nan),
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
