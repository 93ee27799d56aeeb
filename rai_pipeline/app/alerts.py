"""``rai alerts resolve``: record a reviewer's disposition of an alert (actionable or noise, by
whom, when) in the alert history; re-running the alert's day keeps it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rai_pipeline.app.evaluate import EvaluateError
from rai_pipeline.core.engine.results import RESULTS_SCHEMA
from rai_pipeline.core.monitoring.alerts import DISPOSITIONS, alert_quality
from rai_pipeline.settings import RaiHome

TABLE = f"{RESULTS_SCHEMA}.alert_history"
MSG_NO_HISTORY = "{warehouse}: no alert history yet; run rai monitor first"
MSG_UNKNOWN = "{warehouse}: no alert {alert!r} in the alert history"
MSG_DISPOSITION = "disposition must be one of {allowed}, got {given!r}"
MSG_BEFORE = "--at {at} is before the alert's day {day}"


def resolve_alert(
    home: RaiHome, alert: str, *, disposition: str, by: str, at: dt.date
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record the disposition; return the alert as stored and its model's alert quality."""
    from rai_pipeline.adapters.warehouse_lock import connect_warehouse

    if disposition not in DISPOSITIONS:
        raise EvaluateError(MSG_DISPOSITION.format(allowed=list(DISPOSITIONS), given=disposition))
    if not home.warehouse.exists():
        raise EvaluateError(MSG_NO_HISTORY.format(warehouse=home.warehouse))
    conn = connect_warehouse(home.warehouse)
    try:
        exists = conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = 'alert_history'",
            [RESULTS_SCHEMA],
        ).fetchone()
        if not exists or not exists[0]:
            raise EvaluateError(MSG_NO_HISTORY.format(warehouse=home.warehouse))
        rows = conn.execute(f"select * from {TABLE} where alert_id = ?", [alert]).df()
        if rows.empty:
            raise EvaluateError(MSG_UNKNOWN.format(warehouse=home.warehouse, alert=alert))
        day = dt.date.fromisoformat(str(rows["day"].iloc[0]))
        if at < day:
            raise EvaluateError(MSG_BEFORE.format(at=at, day=day))
        conn.execute(
            f"update {TABLE} set disposition = ?, disposed_by = ?, disposed_at = ?, status = ? "
            "where alert_id = ?",
            [disposition, by, at.isoformat(), disposition, alert],
        )
        stored = conn.execute(f"select * from {TABLE} where alert_id = ?", [alert]).df()
        model = str(stored["model_name"].iloc[0])
        history = conn.execute(f"select * from {TABLE} where model_name = ?", [model]).df()
    finally:
        conn.close()
    return stored.iloc[0].to_dict(), alert_quality(history)
