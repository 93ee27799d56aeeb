"""The monitoring dbt models on the demo's warehouse: the reference's edges and bucket counts,
and the logged requests' counts per day, equal what rai_pipeline.core.monitoring.drift computes
in Python on the same rows; rebuilding a day replaces its rows."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.config.schema import load_config
from rai_pipeline.core.landing.logs import LABELS, REQUESTS, land_days
from rai_pipeline.core.monitoring.drift import bucket_counts, reference_edges
from rai_pipeline.core.monitoring.simulate import PlantedDrift, simulate_logs
from rai_pipeline.core.schemas.attributes import dbt_vars
from rai_pipeline.settings import DEMO_CONFIG
from tests.data.test_dbt_project import run_dbt

START = dt.date(2026, 11, 1)
NUMERIC = ("age", "hours_per_week", "education_num")
CATEGORICAL = ("occupation", "sex")


@pytest.fixture(scope="module")
def built(demo, tmp_path_factory):
    home, _, _ = demo
    root = tmp_path_factory.mktemp("monitoring_home")
    shutil.copy(home.warehouse, root / "warehouse.duckdb")
    with duckdb.connect(str(root / "warehouse.duckdb")) as conn:
        # the demo monitored its own 30 days: this test builds its days from scratch
        conn.execute("drop table if exists monitoring.monitoring_bucket_counts")
        reference = conn.execute(
            "select e.*, f.score, f.label from marts.eval_frame f "
            "join staging.stg_examples e using (example_id) "
            "where f.model_name = 'adult-income' and f.model_version = '2'"
        ).df()
        attributes = conn.execute("select * from staging.stg_subject_attributes").df()
    reference = reference.merge(attributes, on="example_id", suffixes=("", "_attr"))
    logs = simulate_logs(
        reference.drop(columns=["score"]),
        scorer=lambda f: 1 / (1 + np.exp(-(f["hours_per_week"].to_numpy() - 40) / 8)),
        model_name="adult-income",
        model_version="2",
        features=["hours_per_week"],
        label="label",
        threshold=0.5,
        start=START,
        days=4,
        rows_per_day=300,
        drift=PlantedDrift(2, "hours_per_week", 10.0, "sex", "Female", 0.1),
        label_delay_days=1,
        seed=11,
    )
    landing = root / "landing" / "monitoring" / "adult-income"
    land_days(logs.requests, landing_dir=landing, table=REQUESTS)
    land_days(logs.labels, landing_dir=landing, table=LABELS)
    features = [{"name": n, "kind": "numeric"} for n in NUMERIC] + [
        {"name": n, "kind": "categorical"} for n in CATEGORICAL
    ]
    variables = {
        **dbt_vars(load_config(DEMO_CONFIG)),
        "monitoring_landing_dir": str(landing),
        "monitoring_model_name": "adult-income",
        "monitoring_model_version": "2",
        "monitoring_features": features,
        "monitoring_buckets": 10,
        "monitoring_from": "2026-11-01",
        "monitoring_to": "2026-11-04",
    }
    target = root / "target"
    args = ("build", "--select", "tag:monitoring", "--vars")
    run_dbt(root, target, *args, json.dumps(variables))
    again = {**variables, "monitoring_from": "2026-11-03", "monitoring_to": "2026-11-03"}
    run_dbt(root, target, *args, json.dumps(again))
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
        tables = {
            name: conn.execute(f"select * from monitoring.{name}").df()
            for name in (
                "monitoring_edges",
                "monitoring_reference_counts",
                "monitoring_bucket_counts",
            )
        }
    return reference, logs, tables


def _expected_counts(rows: pd.DataFrame, feature: str, edges: dict) -> np.ndarray:
    if feature in CATEGORICAL:
        categories = edges[feature]
        values = rows[feature].dropna().astype(str)  # a missing value has no bucket
        index = values.map({c: k + 1 for k, c in enumerate(categories)}).fillna(0)
        return np.bincount(index.astype(int), minlength=len(categories) + 1)
    return bucket_counts(rows[feature].to_numpy(np.float64), edges[feature])


def _edges(tables) -> dict:
    out = {}
    for row in tables["monitoring_edges"].itertuples():
        out[row.feature] = (
            list(row.categories) if row.kind == "categorical" else np.array(row.edges)
        )
    return out


def test_numeric_edges_are_the_reference_quantiles_python_computes(built):
    reference, _, tables = built
    edges = _edges(tables)
    for feature in (*NUMERIC, "score"):
        expected = reference_edges(reference[feature].to_numpy(np.float64), 10)
        np.testing.assert_allclose(edges[feature], expected, rtol=1e-12)
    assert edges["sex"] == sorted(reference["sex"].astype(str).unique())


def _compare(counts: pd.DataFrame, rows: pd.DataFrame, edges: dict) -> None:
    for feature in (*NUMERIC, *CATEGORICAL, "score"):
        mine = counts[(counts["feature"] == feature) & (counts["dimension"] == "overall")]
        got = mine.set_index("bucket")["rows"]
        expected = _expected_counts(rows, feature, edges)
        assert {int(b): int(n) for b, n in got.items()} == {
            b: int(n) for b, n in enumerate(expected) if n
        }, feature
        for sex, part in rows.groupby("sex"):
            mine = counts[
                (counts["feature"] == feature)
                & (counts["dimension"] == "sex")
                & (counts["group"] == sex)
            ]
            expected = _expected_counts(part, feature, edges)
            assert {int(b): int(n) for b, n in mine.set_index("bucket")["rows"].items()} == {
                b: int(n) for b, n in enumerate(expected) if n
            }, (feature, sex)


def test_reference_counts_equal_python_overall_and_per_group(built):
    reference, _, tables = built
    _compare(tables["monitoring_reference_counts"], reference, _edges(tables))


def test_daily_counts_equal_python_and_a_rebuilt_day_is_not_duplicated(built):
    _, logs, tables = built
    counts = tables["monitoring_bucket_counts"]
    edges = _edges(tables)
    days = pd.to_datetime(logs.requests["day"]).dt.date
    assert sorted(pd.to_datetime(counts["day"]).dt.date.unique()) == sorted(days.unique())
    for day, rows in logs.requests.groupby(days):
        mine = counts[pd.to_datetime(counts["day"]).dt.date == day]
        _compare(mine, rows, edges)
