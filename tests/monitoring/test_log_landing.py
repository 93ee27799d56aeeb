"""Daily landing of production logs: one file per table and day, replaced (never added to)
when a day is landed again, the replaced file kept; bad rows refused before anything is
written."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.landing.logs import (
    LABELS,
    REQUESTS,
    LogLandingError,
    day_path,
    land_day,
    land_days,
)
from rai_pipeline.core.monitoring.simulate import PlantedDrift, simulate_logs

START = dt.date(2026, 11, 1)


@pytest.fixture
def logs():
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 500),
            "sex": rng.choice(["F", "M"], 500),
            "y": rng.integers(0, 2, 500),
        }
    )
    return simulate_logs(
        reference,
        scorer=lambda f: 1 / (1 + np.exp(-f["x"].to_numpy())),
        model_name="m",
        model_version="1",
        features=["x"],
        label="y",
        threshold=0.5,
        start=START,
        days=6,
        rows_per_day=50,
        drift=PlantedDrift(3, "x", 1.0, "sex", "F", 0.1),
        label_delay_days=1,
        seed=5,
    )


def _count(path_glob: str) -> int:
    with duckdb.connect() as conn:
        return int(conn.execute(f"select count(*) from read_parquet('{path_glob}')").fetchone()[0])


def test_every_day_lands_in_its_file_and_a_glob_reads_them_all(logs, tmp_path):
    landed = land_days(logs.requests, landing_dir=tmp_path, table=REQUESTS)
    assert [d.day for d in landed] == [START + dt.timedelta(k) for k in range(6)]
    assert _count(f"{tmp_path}/requests/day=*/requests.parquet") == len(logs.requests) == 300
    labels = land_days(logs.labels, landing_dir=tmp_path, table=LABELS)
    assert sum(d.rows for d in labels) == len(logs.labels)


def test_landing_a_day_again_replaces_its_rows_and_keeps_the_old_file(logs, tmp_path):
    day = START + dt.timedelta(2)
    rows = logs.requests[pd.to_datetime(logs.requests["day"]).dt.date == day]
    first = land_day(rows, landing_dir=tmp_path, table=REQUESTS, day=day)
    same = land_day(rows, landing_dir=tmp_path, table=REQUESTS, day=day)
    assert same.replaced is None and same.sha256 == first.sha256
    fewer = land_day(rows.iloc[:10], landing_dir=tmp_path, table=REQUESTS, day=day)
    assert fewer.replaced == first.sha256
    assert _count(str(day_path(tmp_path, REQUESTS, day))) == 10
    kept = tmp_path / ".history" / REQUESTS / f"day={day}" / f"{first.sha256}.parquet"
    assert _count(str(kept)) == len(rows)


def test_rows_of_another_day_or_repeated_ids_are_refused_and_nothing_written(logs, tmp_path):
    day = START
    rows = logs.requests[pd.to_datetime(logs.requests["day"]).dt.date == day]
    with pytest.raises(LogLandingError, match="requests of 2026-11-02: 50 row"):
        land_day(rows, landing_dir=tmp_path, table=REQUESTS, day=START + dt.timedelta(1))
    with pytest.raises(LogLandingError, match="request_id must be unique"):
        land_day(pd.concat([rows, rows.iloc[:1]]), landing_dir=tmp_path, table=REQUESTS, day=day)
    with pytest.raises(LogLandingError, match="no column \\['score'\\]"):
        land_day(rows.drop(columns=["score"]), landing_dir=tmp_path, table=REQUESTS, day=day)
    assert not any(tmp_path.rglob("*.parquet"))
