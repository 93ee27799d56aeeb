"""Monitoring definitions as code: one YAML file per model, each monitor a metric with why it
is watched, how it is computed, its window, threshold, severity and owner; and the rule that
turns a day's drift rows into alerts.

A drift monitor (``metric`` one of ``psi``, ``js_distance``) fires for a (feature, dimension,
group) on a day when, over the window of ``window_days`` days ending that day, the metric is
at least ``threshold`` *and* the drift test's Benjamini–Hochberg-adjusted p-value (across
that day's features × groups) is at most ``significance``, with at least ``min_rows``
requests in the group's window. Both conditions: the effect-size threshold keeps large
samples from alerting on negligible shifts, the adjusted test keeps small groups' noisy
effect sizes and the number of features × groups from alerting on chance.

Defaults (documented in docs/monitoring.md): PSI ≥ 0.1 (the usual "moderate shift" level),
adjusted p ≤ 0.01, windows of 7 days, groups of at least 100 requests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rai_pipeline.core.config.files import read_yaml_mapping, validation_message
from rai_pipeline.core.config.schema import ConfigError

REFERENCE = "docs/monitoring.md"
MSG_INVALID = "{path}: invalid monitoring config:"
ALERT_COLUMNS = (
    "day",
    "monitor",
    "feature",
    "dimension",
    "group",
    "metric",
    "value",
    "threshold",
    "p_adjusted",
    "significance",
    "window_start",
    "window_rows",
    "severity",
    "owner",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Monitor(_Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")  # its check is monitor_<name>
    metric: Literal["psi", "js_distance"]
    why: str = Field(min_length=1)
    how: str = Field(min_length=1)
    window_days: int = Field(default=7, ge=1, le=366)
    threshold: float = Field(default=0.1, gt=0)
    significance: float = Field(default=0.01, gt=0, lt=1)
    min_rows: int = Field(default=100, ge=1)
    features: list[str] | None = None  # None: every monitored feature and the score
    severity: Literal["ERROR", "WARN"] = "WARN"
    owner: str = Field(min_length=1)


class KnownChange(_Strict):
    """A change whose onset is known (a planted drift in the demo; an upstream change or a
    declared incident in production): the monitors' detection lead time is measured on it."""

    name: str = Field(min_length=1)
    onset: dt.date
    features: list[str] = Field(min_length=1)
    description: str = ""


class MonitoringConfig(_Strict):
    model_name: str = Field(min_length=1)
    deployed_version: str = Field(min_length=1)
    features: dict[str, Literal["numeric", "categorical"]]
    buckets: int = Field(default=10, ge=2, le=100)
    js_base: float = Field(default=2.0, gt=1)
    monitors: list[Monitor] = Field(min_length=1)
    known_changes: list[KnownChange] = Field(default_factory=list)
    # logged columns an incident bundle masks (besides the evaluation config's restricted ones)
    restricted: list[str] = Field(default_factory=list)

    @field_validator("monitors")
    @classmethod
    def _names_once(cls, value: list[Monitor]) -> list[Monitor]:
        names = [m.name for m in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"each monitor needs its own name; repeated: {', '.join(repeated)}")
        return value


def load_monitoring_config(path: Path | str) -> MonitoringConfig:
    path = Path(path)
    data = read_yaml_mapping(path, what="monitoring config", error=ConfigError)
    try:
        return MonitoringConfig.model_validate(data)
    except ValidationError as failure:
        header = MSG_INVALID.format(path=path)
        raise ConfigError(validation_message(header, failure, reference=REFERENCE)) from None


def drift_alerts(drift: pd.DataFrame, monitor: Monitor) -> pd.DataFrame:
    """The alerts ``monitor`` raises on the daily drift rows
    (:func:`~rai_pipeline.core.monitoring.drift.daily_drift`, computed over the monitor's
    window): one row per day and (feature, dimension, group) that fires (module docstring)."""
    rows = drift
    if monitor.features is not None:
        rows = rows[rows["feature"].isin(monitor.features)]
    fired = rows[
        (rows[monitor.metric] >= monitor.threshold)
        & (rows["p_adjusted"] <= monitor.significance)
        & (rows["window_rows"] >= monitor.min_rows)
    ]
    out = pd.DataFrame(
        {
            "day": fired["day"].to_numpy(),
            "monitor": monitor.name,
            "feature": fired["feature"].to_numpy(),
            "dimension": fired["dimension"].to_numpy(),
            "group": fired["group"].to_numpy(),
            "metric": monitor.metric,
            "value": fired[monitor.metric].to_numpy(),
            "threshold": monitor.threshold,
            "p_adjusted": fired["p_adjusted"].to_numpy(),
            "significance": monitor.significance,
            "window_start": fired["window_start"].to_numpy(),
            "window_rows": fired["window_rows"].to_numpy(),
            "severity": monitor.severity,
            "owner": monitor.owner,
        }
    )
    return out[list(ALERT_COLUMNS)].reset_index(drop=True)


def detection_lead_time(alerts: pd.DataFrame, *, feature: str, onset: object) -> int | None:
    """Days from the drift's onset to the first alert on ``feature`` on or after it (None when
    nothing alerted on it then)."""
    start = pd.Timestamp(onset)  # type: ignore[arg-type]
    days = pd.to_datetime(alerts.loc[alerts["feature"] == feature, "day"])
    after = days[days >= start]
    return int((after.min() - start).days) if len(after) else None


LEAD_TIME_COLUMNS = (
    "change",
    "feature",
    "onset",
    "first_alert_day",
    "lead_days",
    "alerts_before_onset",
    "monitored_until",
)


def lead_times(
    alerts: pd.DataFrame, changes: list[KnownChange], *, monitored_until: dt.date | None
) -> pd.DataFrame:
    """One row per known change and feature: the first alert on the feature on or after the
    onset, the days from onset to it (empty when none yet), and how many alerts on the
    feature fell before the onset (false alarms, as far as this change is concerned)."""
    rows = []
    days = pd.to_datetime(alerts["day"]) if len(alerts) else pd.Series(dtype="datetime64[ns]")
    for change in changes:
        onset = pd.Timestamp(change.onset)
        for feature in change.features:
            mine = days[alerts["feature"] == feature] if len(alerts) else days
            after = mine[mine >= onset]
            lead = detection_lead_time(alerts, feature=feature, onset=change.onset)
            rows.append(
                {
                    "change": change.name,
                    "feature": feature,
                    "onset": change.onset.isoformat(),
                    "first_alert_day": after.min().date().isoformat() if len(after) else None,
                    "lead_days": lead,
                    "alerts_before_onset": int((mine < onset).sum()),
                    "monitored_until": monitored_until.isoformat() if monitored_until else None,
                }
            )
    out = pd.DataFrame(rows, columns=list(LEAD_TIME_COLUMNS))
    out["lead_days"] = out["lead_days"].astype("Int64")
    return out
