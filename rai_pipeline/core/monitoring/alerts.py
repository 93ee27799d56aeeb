"""Alert quality from the alert history: of the alerts a reviewer has disposed of, the share
that were actionable (not noise), and how long they took to acknowledge.

- ``alerts``: every alert in the history; ``disposed``: those with a disposition;
- ``actionable_share``: actionable / disposed (None before any disposition);
- ``median_days_to_acknowledge``, ``max_days_to_acknowledge``: days from the alert's day to
  its disposition (None before any).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

ACTIONABLE, NOISE = "actionable", "noise"
DISPOSITIONS = (ACTIONABLE, NOISE)


def alert_quality(history: pd.DataFrame) -> dict[str, Any]:
    if history.empty or "disposition" not in history.columns:
        disposed = history.iloc[0:0]
    else:
        disposed = history[history["disposition"].notna()]
    days = (
        (pd.to_datetime(disposed["disposed_at"]) - pd.to_datetime(disposed["day"])).dt.days
        if len(disposed)
        else pd.Series(dtype=float)
    )
    return {
        "alerts": len(history),
        "disposed": len(disposed),
        "actionable_share": (
            float((disposed["disposition"] == ACTIONABLE).mean()) if len(disposed) else None
        ),
        "median_days_to_acknowledge": float(days.median()) if len(days) else None,
        "max_days_to_acknowledge": int(days.max()) if len(days) else None,
    }
