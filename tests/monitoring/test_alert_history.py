"""The alert history: re-running a day replaces its alerts and duplicates none; a disposition
recorded for an alert survives re-running its day; a day that no longer alerts keeps none."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from rai_pipeline.core.engine import results
from rai_pipeline.core.monitoring.monitors import Monitor, MonitoringConfig
from rai_pipeline.defs.monitoring.computation import ALERTS_TABLE, DRIFT_TABLE, compute_alerts

CONFIG = MonitoringConfig(
    model_name="m",
    deployed_version="1",
    features={"x": "numeric"},
    monitors=[Monitor(name="drift", metric="psi", why="w", how="h", owner="o")],
)


def _drift(day: str, psi: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_name": "m",
            "window_days": 7,
            "day": day,
            "window_start": "2026-10-26",
            "feature": ["x"],
            "dimension": "overall",
            "group": "all",
            "psi": [psi],
            "js_distance": 0.1,
            "p_adjusted": [0.001],
            "window_rows": [500],
        }
    )


def test_reruns_replace_alerts_and_keep_dispositions():
    conn = duckdb.connect()
    for day, psi in (("2026-11-01", 0.3), ("2026-11-02", 0.3)):
        results.replace_rows(
            conn,
            DRIFT_TABLE,
            _drift(day, psi),
            key={"model_name": "m", "day": day, "window_days": "7"},
        )
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
    first = compute_alerts(conn, CONFIG, start, end)
    assert len(first) == 2 and (first["status"] == "open").all()
    conn.execute(
        f"update {results.RESULTS_SCHEMA}.{ALERTS_TABLE} set disposition = 'actionable', "
        "disposed_by = 'analyst', disposed_at = '2026-11-03' where day = '2026-11-01'"
    )
    again = compute_alerts(conn, CONFIG, start, end)
    stored = conn.execute(f"select * from {results.RESULTS_SCHEMA}.{ALERTS_TABLE}").df()
    assert len(stored) == 2 and stored["alert_id"].is_unique
    kept = again.set_index("day")
    assert kept.loc["2026-11-01", "status"] == "actionable"
    assert kept.loc["2026-11-01", "disposed_by"] == "analyst"
    assert kept.loc["2026-11-02", "status"] == "open"
    # the second day's drift falls below the threshold: its alert goes, the first day's stays
    results.replace_rows(
        conn,
        DRIFT_TABLE,
        _drift("2026-11-02", 0.01),
        key={"model_name": "m", "day": "2026-11-02", "window_days": "7"},
    )
    compute_alerts(conn, CONFIG, start, end)
    stored = conn.execute(f"select day, status from {results.RESULTS_SCHEMA}.{ALERTS_TABLE}").df()
    assert stored.values.tolist() == [["2026-11-01", "actionable"]]
