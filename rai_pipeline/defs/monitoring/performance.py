"""The performance asset's plain functions: for the run's days, the estimated rates of every
day's requests (before their labels arrive; :mod:`rai_pipeline.core.monitoring.performance`)
and the realized slice and fairness metrics of every day whose labels have arrived, computed
by the evaluation's engine on the labelled requests, exactly as an evaluation computes them.

A label arrives days after its request, so a run recomputes the realized metrics of its own
days *and* of the days whose labels arrived in its range. Each day's rows are replaced,
never duplicated (``rai.performance_estimates``, ``rai.performance_realized``,
``rai.fairness_realized``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from rai_pipeline.core import evaluation
from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine import results
from rai_pipeline.core.engine.sql import quote_identifier
from rai_pipeline.core.monitoring.monitors import MonitoringConfig
from rai_pipeline.core.monitoring.performance import (
    ESTIMATED_METRICS,
    estimate_performance,
    fit_calibration,
)
from rai_pipeline.defs.dbt.project import dbt_relation

ESTIMATES, REALIZED, FAIRNESS = (
    "performance_estimates",
    "performance_realized",
    "fairness_realized",
)
REALIZED_METRICS = (*ESTIMATED_METRICS, "selection_rate", "roc_auc_score")


def _replace_days(conn: Any, table: str, frame: pd.DataFrame, model: str, days: list[str]) -> None:
    for day in days:
        rows = frame[frame["day"] == day] if len(frame) else frame
        key = {"model_name": model, "day": day}
        if len(rows):
            results.replace_rows(conn, table, rows.assign(model_name=model), key=key)
        else:
            results.delete_rows(conn, table, key=key)


def compute_estimates(
    conn: Any,
    config: MonitoringConfig,
    evaluation_config: EvaluationConfig,
    start: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    """The estimated rates of the requests served ``start`` .. ``end``."""
    reference = conn.execute(
        f"select score, label from {dbt_relation('monitoring_reference_rows')}"
    ).df()
    calibration = fit_calibration(reference["score"].to_numpy(), reference["label"].to_numpy())
    dimensions = list(evaluation_config.sensitive_features)
    rows = conn.execute(
        f"select day_key as day, score, decision, {', '.join(map(quote_identifier, dimensions))} "
        f"from {dbt_relation('monitoring_requests')} where day between ? and ? "
        "order by request_id",
        [start, end],
    ).df()
    estimates = estimate_performance(
        rows,
        calibration.predict(rows["score"].to_numpy()),
        dimensions,
        confidence_level=evaluation_config.confidence_level,
        min_group_size=evaluation_config.min_group_size,
        seed=evaluation_config.bootstrap.seed,
    )
    days = [(start + dt.timedelta(k)).isoformat() for k in range((end - start).days + 1)]
    _replace_days(conn, ESTIMATES, estimates, config.model_name, days)
    return estimates


def days_to_realize(conn: Any, start: dt.date, end: dt.date) -> list[str]:
    """The run's days and the days whose labels arrived in the run's range, that have
    labelled requests."""
    rows = conn.execute(
        f"select distinct day_key from {dbt_relation('monitoring_labelled_requests')} "
        "where day between ? and ? or label_day between ? and ? order by day_key",
        [start, end, start, end],
    ).fetchall()
    return [str(r[0]) for r in rows]


def compute_realized(
    conn: Any,
    config: MonitoringConfig,
    evaluation_config: EvaluationConfig,
    start: dt.date,
    end: dt.date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Realized slice and fairness metrics, per day with labels (module docstring)."""
    relation = dbt_relation("monitoring_labelled_requests")
    counts = conn.execute(
        f"select day_key, count(*) as requests, count(label) as labelled "
        f"from {dbt_relation('monitoring_requests')} group by day_key"
    ).df()
    counts = counts.set_index("day_key")
    metrics_parts, fairness_parts = [], []
    days = days_to_realize(conn, start, end)
    for day in days:
        stats = evaluation.slice_statistics(
            conn,
            evaluation_config,
            relation=relation,
            label="label",
            score="score",
            decision="decision",
            where={"day_key": day},
            labelled=True,
        )
        metrics = evaluation.slice_metrics(stats, evaluation_config)
        fairness = evaluation.fairness_metrics(metrics, stats.stats, evaluation_config)
        coverage = {
            "requests": int(counts.loc[day, "requests"]),
            "labelled": int(counts.loc[day, "labelled"]),
        }
        metrics_parts.append(
            metrics[metrics["metric"].isin(REALIZED_METRICS)].assign(day=day, **coverage)
        )
        fairness_parts.append(fairness.assign(day=day, **coverage))
    realized = pd.concat(metrics_parts, ignore_index=True) if metrics_parts else pd.DataFrame()
    fairness = pd.concat(fairness_parts, ignore_index=True) if fairness_parts else pd.DataFrame()
    _replace_days(conn, REALIZED, realized, config.model_name, days)
    _replace_days(conn, FAIRNESS, fairness, config.model_name, days)
    return realized, fairness
