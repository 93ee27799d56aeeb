"""The planted drift through the drift statistics and a drift monitor with the documented
defaults: 30 days of requests drawn from the bundled Adult test split, the planted shift from
day 18; over 7-day windows, the shifted feature and the score alert on or after the onset and
never before, and no undrifted feature alerts on any day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.monitoring.drift import (
    CATEGORICAL,
    NUMERIC,
    bucket_counts,
    daily_drift,
    reference_edges,
)
from rai_pipeline.core.monitoring.monitors import Monitor, detection_lead_time, drift_alerts
from rai_pipeline.core.monitoring.simulate import PlantedDrift, simulate_logs
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import PROJECT_ROOT

START, ONSET = dt.date(2026, 11, 1), 18
KINDS = {
    "age": NUMERIC,
    "education_num": NUMERIC,
    "capital_gain": NUMERIC,
    "hours_per_week": NUMERIC,
    "occupation": CATEGORICAL,
    "score": NUMERIC,
}
GROUPS = ("sex", "race")


def _scorer(frame: pd.DataFrame) -> np.ndarray:
    z = (frame["education_num"] - 10) / 3 + (frame["hours_per_week"] - 40) / 12
    return (1 / (1 + np.exp(-z))).to_numpy()


def _counts(rows: pd.DataFrame, edges: dict, by_day: bool) -> pd.DataFrame:
    out = []
    parts = rows.groupby(pd.to_datetime(rows["day"]).dt.date) if by_day else [(None, rows)]
    for day, part in parts:
        for feature, kind in KINDS.items():
            for dimension, groups in [
                ("overall", [("all", part)]),
                *[(g, list(part.groupby(g))) for g in GROUPS],
            ]:
                for group, sub in groups:
                    if kind == CATEGORICAL:
                        values = sub[feature].dropna().astype(str)
                        index = values.map({c: k + 1 for k, c in enumerate(edges[feature])})
                        counts = np.bincount(
                            index.fillna(0).astype(int), minlength=len(edges[feature]) + 1
                        )
                    else:
                        counts = bucket_counts(sub[feature].to_numpy(np.float64), edges[feature])
                    for bucket, n in enumerate(counts):
                        if n:
                            out.append(
                                {
                                    "day": day,
                                    "feature": feature,
                                    "dimension": dimension,
                                    "group": str(group),
                                    "bucket": bucket,
                                    "rows": int(n),
                                }
                            )
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def drift():
    reference = read_parquet(PROJECT_ROOT / "rai_pipeline" / "demo" / "data" / "adult_test.parquet")
    reference["score"] = _scorer(reference)
    logs = simulate_logs(
        reference.drop(columns=["score"]),
        scorer=_scorer,
        model_name="m",
        model_version="1",
        features=["education_num", "hours_per_week"],
        label="income_over_50k",
        threshold=0.5,
        start=START,
        days=30,
        rows_per_day=400,
        drift=PlantedDrift(ONSET, "hours_per_week", 10.0, "sex", "Female", 0.15),
        label_delay_days=5,
        seed=20261202,
    )
    edges = {
        f: sorted(reference[f].dropna().astype(str).unique())
        if k == CATEGORICAL
        else reference_edges(reference[f].to_numpy(np.float64), 10)
        for f, k in KINDS.items()
    }
    table = daily_drift(
        _counts(reference, edges, False), _counts(logs.requests, edges, True), KINDS, window_days=7
    )
    table["index"] = (pd.to_datetime(table["day"]) - pd.Timestamp(START)).dt.days
    monitor = Monitor(
        name="feature_drift", metric="psi", why="inputs move", how="PSI", owner="ml-engineer"
    )  # the defaults: 7 days, PSI >= 0.1, p <= 0.01
    alerts = drift_alerts(table, monitor)
    keys = ["day", "feature", "dimension", "group"]
    fired = set(map(tuple, alerts[keys].astype(str).to_numpy()))
    table["alert"] = [tuple(r) in fired for r in table[keys].astype(str).to_numpy()]
    # the rule, by hand
    by_hand = (table["p_adjusted"] <= 0.01) & (table["psi"] >= 0.1) & (table["window_rows"] >= 100)
    assert (table["alert"] == by_hand).all()
    table.attrs["alerts"] = alerts
    return table


def test_the_shifted_feature_alerts_from_the_onset_and_never_before(drift):
    mine = drift[drift["feature"] == "hours_per_week"]
    alerted = sorted(set(mine.loc[mine["alert"], "index"]))
    assert alerted and min(alerted) >= ONSET
    assert set(range(ONSET + 2, 30)) <= set(alerted)  # detected within two days, and stays
    onset = START + dt.timedelta(ONSET)
    lead = detection_lead_time(drift.attrs["alerts"], feature="hours_per_week", onset=onset)
    assert lead == min(alerted) - ONSET


def test_the_groups_scores_alert_after_the_onset_only(drift):
    score = drift[(drift["feature"] == "score") & drift["alert"]]
    assert score["index"].min() >= ONSET
    assert ((score["dimension"] == "sex") & (score["group"] == "Female")).any()


def test_no_undrifted_feature_alerts_on_any_of_the_30_days(drift):
    others = drift[~drift["feature"].isin(["hours_per_week", "score"])]
    assert len(others) > 30 * 4 * 5
    assert not others["alert"].any(), others[others["alert"]]


def test_each_window_is_at_most_seven_days_and_each_day_adjusts_its_own_rows(drift):
    span = (pd.to_datetime(drift["day"]) - pd.to_datetime(drift["window_start"])).dt.days
    assert span.max() == 6 and span.min() == 0
    from statsmodels.stats.multitest import multipletests

    day = drift[drift["index"] == 10]
    _, adjusted, _, _ = multipletests(day["p_value"], method="fdr_bh")
    np.testing.assert_allclose(day["p_adjusted"], adjusted, rtol=1e-12)
