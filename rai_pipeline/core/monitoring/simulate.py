"""Production logs with a planted, documented drift, for the demo and the tests.

:func:`simulate_logs` draws ``rows_per_day`` requests a day, for ``days`` days, from a
reference frame (the evaluation examples of the deployed version, with their labels and
sensitive attributes), with replacement and a fixed seed. Until the onset day the requests
are drawn from the reference as it is, so nothing has drifted. From the onset day on
(:class:`PlantedDrift`):

1. one numeric feature is shifted by a constant (``feature`` + ``feature_shift``) before the
   model scores the request, so the feature's distribution moves and the scores follow it as
   the model responds;
2. one group's scores (``group_dimension`` = ``group``) are shifted by ``score_shift`` after
   scoring (clipped to [0, 1]): that group's score distribution moves, the others' only
   through the feature.

Every request is scored by ``scorer`` (the deployed model ``model_name`` version
``model_version``, recorded with the request) and decided at ``threshold``. Its
outcome label arrives ``label_delay_days`` plus 0 to ``label_jitter_days`` days later (drawn
per request); a label that would arrive after the last day is not in the labels table yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

MSG_FEATURE = "the planted drift's feature {name!r} is not a numeric column of the reference"
MSG_GROUP = "the planted drift's group {dimension} = {group!r} is not in the reference"
MSG_ONSET = "the onset day {onset} is outside the {days} simulated days"


@dataclass(frozen=True)
class PlantedDrift:
    onset_day: int  # 0-based: the first day with drift
    feature: str
    feature_shift: float
    group_dimension: str
    group: str
    score_shift: float


@dataclass(frozen=True)
class SimulatedLogs:
    requests: (
        pd.DataFrame
    )  # request_id, day, ts, example_id, the columns of the reference, score, decision
    labels: pd.DataFrame  # request_id, label, label_day


def simulate_logs(
    reference: pd.DataFrame,
    *,
    scorer: Callable[[pd.DataFrame], np.ndarray],
    model_name: str,
    model_version: str,
    features: list[str],
    label: str,
    threshold: float,
    start: dt.date,
    days: int,
    rows_per_day: int,
    drift: PlantedDrift,
    label_delay_days: int,
    label_jitter_days: int = 2,
    seed: int = 0,
) -> SimulatedLogs:
    """The requests and the labels that have arrived by the last day (module docstring)."""
    if drift.feature not in reference.columns or not pd.api.types.is_numeric_dtype(
        reference[drift.feature]
    ):
        raise ValueError(MSG_FEATURE.format(name=drift.feature))
    if drift.group not in set(reference[drift.group_dimension].astype(str)):
        raise ValueError(MSG_GROUP.format(dimension=drift.group_dimension, group=drift.group))
    if not 0 <= drift.onset_day < days:
        raise ValueError(MSG_ONSET.format(onset=drift.onset_day, days=days))
    rng = np.random.default_rng(seed)
    parts = []
    for day in range(days):
        rows = reference.iloc[rng.integers(0, len(reference), rows_per_day)].copy()
        drifted = day >= drift.onset_day
        if drifted:
            rows[drift.feature] = rows[drift.feature] + drift.feature_shift
        scores = np.asarray(scorer(rows[features]), dtype=np.float64)
        if drifted:
            hit = (rows[drift.group_dimension].astype(str) == drift.group).to_numpy()
            scores = np.where(hit, np.clip(scores + drift.score_shift, 0.0, 1.0), scores)
        date = start + dt.timedelta(days=day)
        seconds = np.sort(rng.integers(0, 86_400, rows_per_day))
        if "example_id" not in rows.columns:  # the reference row a request was drawn from
            rows.insert(0, "example_id", rows.index.to_numpy())
        rows.insert(0, "model_version", model_version)
        rows.insert(0, "model_name", model_name)
        rows.insert(0, "ts", pd.Timestamp(date) + pd.to_timedelta(seconds, unit="s"))
        rows.insert(0, "day", date)
        rows.insert(0, "request_id", [f"{date:%Y%m%d}-{k:05d}" for k in range(rows_per_day)])
        rows["score"] = scores
        rows["decision"] = (scores >= threshold).astype(np.int64)
        parts.append(rows.reset_index(drop=True))
    requests = pd.concat(parts, ignore_index=True)
    delay = label_delay_days + rng.integers(0, label_jitter_days + 1, len(requests))
    label_day = pd.to_datetime(requests["day"]) + pd.to_timedelta(delay, unit="D")
    last = pd.Timestamp(start + dt.timedelta(days=days - 1))
    arrived = (label_day <= last).to_numpy()
    labels = pd.DataFrame(
        {
            "request_id": requests.loc[arrived, "request_id"].to_numpy(),
            "label": requests.loc[arrived, label].astype(np.int64).to_numpy(),
            "label_day": label_day[arrived].dt.date.to_numpy(),
        }
    )
    return SimulatedLogs(requests=requests.drop(columns=[label]), labels=labels)
