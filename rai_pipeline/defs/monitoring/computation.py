"""The monitoring assets' plain functions: a range of days' drift rows from the warehouse's
bucket counts, and the alerts the monitors raise on them, each written to a result table
(``rai.drift_metrics``, ``rai.alert_history``) so that re-running a day replaces its rows and
never duplicates them; an alert's disposition, once recorded, survives re-running its day."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pandas as pd

from rai_pipeline.core.engine import results
from rai_pipeline.core.monitoring.drift import NUMERIC, daily_drift
from rai_pipeline.core.monitoring.monitors import MonitoringConfig, drift_alerts
from rai_pipeline.defs.dbt.project import dbt_relation

DRIFT_TABLE, ALERTS_TABLE = "drift_metrics", "alert_history"
DISPOSITION_COLUMNS = ("disposition", "disposed_by", "disposed_at")
OPEN = "open"


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


def compute_drift(
    conn: Any, config: MonitoringConfig, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Drift rows of the days ``start`` .. ``end``, for each window length the monitors use,
    written to ``rai.drift_metrics`` (one day's rows replaced at a time)."""
    reference = conn.execute(f"select * from {dbt_relation('monitoring_reference_counts')}").df()
    kinds = {**config.features, "score": NUMERIC}
    out = []
    for window in sorted({m.window_days for m in config.monitors}):
        first = start - dt.timedelta(days=window - 1)
        daily = conn.execute(
            f"select * from {dbt_relation('monitoring_bucket_counts')} where day between ? and ?",
            [first, end],
        ).df()
        served = set(pd.to_datetime(daily["day"]).dt.date) if len(daily) else set()
        wanted = [d for d in _days(start, end) if d in served]  # a day without requests: none
        table = daily_drift(
            reference, daily, kinds, window_days=window, base=config.js_base, days=wanted
        )
        out.append(table.assign(model_name=config.model_name, window_days=window))
    drift = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    for day in _days(start, end):
        for window in sorted({m.window_days for m in config.monitors}):
            rows = (
                drift[
                    (pd.to_datetime(drift["day"]).dt.date == day) & (drift["window_days"] == window)
                ]
                if len(drift)
                else drift
            )
            if len(rows):
                results.replace_rows(
                    conn,
                    DRIFT_TABLE,
                    rows.assign(day=day.isoformat()),
                    key={
                        "model_name": config.model_name,
                        "day": day.isoformat(),
                        "window_days": str(window),
                    },
                )
    return drift


def alert_id(model: str, row: Any) -> str:
    text = "|".join(map(str, (model, row.day, row.monitor, row.feature, row.dimension, row.group)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compute_alerts(
    conn: Any, config: MonitoringConfig, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """The alerts of the days ``start`` .. ``end`` from ``rai.drift_metrics``, written to
    ``rai.alert_history`` with status ``open`` (or the disposition recorded before)."""
    drift = conn.execute(
        f"select * from {results.RESULTS_SCHEMA}.{DRIFT_TABLE} "
        "where model_name = ? and cast(day as date) between ? and ?",
        [config.model_name, start, end],
    ).df()
    parts = [drift_alerts(drift[drift["window_days"] == m.window_days], m) for m in config.monitors]
    alerts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    alerts.insert(0, "model_name", config.model_name)
    alerts.insert(0, "alert_id", [alert_id(config.model_name, r) for r in alerts.itertuples()])
    earlier = results.read_rows(conn, ALERTS_TABLE, key={"model_name": config.model_name})
    kept = (
        earlier.set_index("alert_id")[list(DISPOSITION_COLUMNS)]
        if len(earlier) and "disposition" in earlier.columns
        else pd.DataFrame(columns=list(DISPOSITION_COLUMNS))
    )
    for column in DISPOSITION_COLUMNS:  # text columns even while empty (VARCHAR, not NULL)
        carried = alerts["alert_id"].map(kept[column]) if len(kept) else None
        alerts[column] = pd.Series(carried, index=alerts.index, dtype="string")
    alerts["status"] = alerts["disposition"].where(alerts["disposition"].notna(), OPEN)
    for day in _days(start, end):
        rows = alerts[alerts["day"].astype(str) == day.isoformat()].assign(day=day.isoformat())
        if len(rows):
            results.replace_rows(
                conn,
                ALERTS_TABLE,
                rows,
                key={"model_name": config.model_name, "day": day.isoformat()},
            )
        else:
            # a day that no longer raises an alert keeps none of the rows it raised before
            results.delete_rows(
                conn, ALERTS_TABLE, key={"model_name": config.model_name, "day": day.isoformat()}
            )
    return alerts
