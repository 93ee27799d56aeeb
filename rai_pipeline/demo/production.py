"""The demo's production logs: 30 days of requests served by the deployed version of the demo
model, drawn from the rows it was evaluated on, with the drift of
``rai_pipeline/demo/monitoring.yaml`` (``known_changes``) planted from its onset day, and
outcome labels arriving 5 to 7 days after each request
(:mod:`rai_pipeline.core.monitoring.simulate`).
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pandas as pd

from rai_pipeline.core.governance.registry import ModelRegistry, ModelVersionRef
from rai_pipeline.core.landing.logs import LABELS, REQUESTS, land_days
from rai_pipeline.core.monitoring.monitors import MonitoringConfig
from rai_pipeline.core.monitoring.simulate import PlantedDrift, SimulatedLogs, simulate_logs
from rai_pipeline.settings import RaiHome

START, DAYS, ROWS_PER_DAY, LABEL_DELAY_DAYS, SEED = dt.date(2026, 11, 1), 30, 400, 5, 1
THRESHOLD = 0.5
SENSITIVE = ("sex", "race")
MSG_ONSET = "the demo's monitoring config names no known change planted-drift"


def planted_drift(config: MonitoringConfig) -> PlantedDrift:
    """The planted drift, its onset read from the config's known change ``planted-drift``."""
    change = next((c for c in config.known_changes if c.name == "planted-drift"), None)
    if change is None:
        raise ValueError(MSG_ONSET)
    return PlantedDrift((change.onset - START).days, "hours_per_week", 10.0, "sex", "Female", 0.15)


def reference_rows(home: RaiHome, config: MonitoringConfig) -> pd.DataFrame:
    """The deployed version's evaluation rows: features, label and sensitive attributes."""
    import duckdb

    with contextlib.closing(duckdb.connect(str(home.warehouse), read_only=True)) as conn:
        return conn.execute(
            "select e.*, f.label, "
            + ", ".join(f"a.{name}" for name in SENSITIVE)
            + " from marts.eval_frame f "
            "join staging.stg_examples e using (example_id) "
            "join staging.stg_subject_attributes a using (example_id) "
            "where f.model_name = ? and f.model_version = ? order by example_id",
            [config.model_name, config.deployed_version],
        ).df()


def land_demo_logs(
    home: RaiHome, registry: ModelRegistry, config: MonitoringConfig
) -> SimulatedLogs:
    """Simulate the 30 days, scored by the registered deployed version, and land them."""
    reference = reference_rows(home, config)
    features = [c for c in reference.columns if c not in ("example_id", "label", *SENSITIVE)]
    logs = simulate_logs(
        reference,
        scorer=registry.load_scorer(ModelVersionRef(config.model_name, config.deployed_version)),
        model_name=config.model_name,
        model_version=config.deployed_version,
        features=features,
        label="label",
        threshold=THRESHOLD,
        start=START,
        days=DAYS,
        rows_per_day=ROWS_PER_DAY,
        drift=planted_drift(config),
        label_delay_days=LABEL_DELAY_DAYS,
        seed=SEED,
    )
    folder = home.monitoring_landing(config.model_name)
    land_days(logs.requests, landing_dir=folder, table=REQUESTS)
    land_days(logs.labels, landing_dir=folder, table=LABELS)
    return logs


def last_day() -> dt.date:
    return START + dt.timedelta(days=DAYS - 1)
