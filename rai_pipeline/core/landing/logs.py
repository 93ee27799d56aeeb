"""Landing production logs by day: inference requests by the day they were served, outcome
labels by the day they arrived, one Parquet file per table and day, read by the dbt sources
with a glob.

Layout under ``landing_dir`` (``$RAI_HOME/landing/monitoring/<model name>``)::

    requests/day=2026-11-01/requests.parquet
    labels/day=2026-11-08/labels.parquet

A day's file is written beside its place and renamed over it, so a reader sees the old day or
the new one, never half of one; landing a day again replaces that day's rows (never adds to
them) and keeps the file it replaces under ``.history/<table>/day=<day>/<sha256>.parquet``.
Landing the same rows again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rai_pipeline.core.storage import EXTRACT_OPTIONS, file_sha256, fsync_dir, write_parquet

REQUESTS, LABELS = "requests", "labels"
REQUIRED = {
    REQUESTS: ("request_id", "day", "ts", "model_name", "model_version", "score", "decision"),
    LABELS: ("request_id", "label", "label_day"),
}
DAY_COLUMN = {REQUESTS: "day", LABELS: "label_day"}
HISTORY = ".history"
MSG_COLUMNS = "{table} of {day}: no column {missing} (required: {required})"
MSG_OTHER_DAY = "{table} of {day}: {count} row(s) have {column} on another day, e.g. {example}"
MSG_DUPLICATE = "{table} of {day}: request_id must be unique; repeated: {examples}"


class LogLandingError(ValueError):
    """A day's rows break a rule; the message names the table, the day, the column and rule."""


@dataclass(frozen=True)
class LandedDay:
    table: str
    day: dt.date
    path: Path
    sha256: str
    rows: int
    replaced: str | None  # the sha256 of the file it replaced, when it replaced one


def day_path(landing_dir: Path, table: str, day: dt.date) -> Path:
    return Path(landing_dir) / table / f"day={day.isoformat()}" / f"{table}.parquet"


def _check(frame: pd.DataFrame, table: str, day: dt.date) -> None:
    required = REQUIRED[table]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise LogLandingError(
            MSG_COLUMNS.format(table=table, day=day, missing=missing, required=list(required))
        )
    column = DAY_COLUMN[table]
    days = pd.to_datetime(frame[column]).dt.date
    other = frame[days != day]
    if len(other):
        raise LogLandingError(
            MSG_OTHER_DAY.format(
                table=table, day=day, count=len(other), column=column, example=other[column].iloc[0]
            )
        )
    repeated = frame["request_id"][frame["request_id"].duplicated()]
    if len(repeated):
        raise LogLandingError(
            MSG_DUPLICATE.format(table=table, day=day, examples=sorted(set(repeated))[:5])
        )


def land_day(frame: pd.DataFrame, *, landing_dir: Path, table: str, day: dt.date) -> LandedDay:
    """Land one table's rows of one day (module docstring); checked first, nothing written
    when a rule is broken."""
    _check(frame, table, day)
    target = day_path(landing_dir, table, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    ordered = frame.sort_values("request_id", kind="stable").reset_index(drop=True)
    tmp = target.with_name(f".{table}-{uuid.uuid4().hex}.parquet")
    try:
        write_parquet(ordered, tmp, options=EXTRACT_OPTIONS, durable=True)
        digest = file_sha256(tmp)
        replaced = file_sha256(target) if target.exists() else None
        if replaced == digest:
            tmp.unlink()
            return LandedDay(table, day, target, digest, len(ordered), None)
        if replaced is not None:
            kept = Path(landing_dir) / HISTORY / table / target.parent.name / f"{replaced}.parquet"
            kept.parent.mkdir(parents=True, exist_ok=True)
            if not kept.exists():
                os.link(target, kept)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return LandedDay(table, day, target, digest, len(ordered), replaced)


def land_days(frame: pd.DataFrame, *, landing_dir: Path, table: str) -> list[LandedDay]:
    """Land every day of ``frame`` (by its day column), day by day."""
    days = pd.to_datetime(frame[DAY_COLUMN[table]]).dt.date
    return [
        land_day(part, landing_dir=landing_dir, table=table, day=day)
        for day, part in frame.groupby(days, sort=True)
    ]
