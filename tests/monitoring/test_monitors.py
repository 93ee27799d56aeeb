"""Monitoring definitions: the YAML file's rules, and the alert rule on hand-made rows."""

from __future__ import annotations

import pandas as pd
import pytest

from rai_pipeline.core.config.schema import ConfigError
from rai_pipeline.core.monitoring.monitors import (
    Monitor,
    detection_lead_time,
    drift_alerts,
    load_monitoring_config,
)

CONFIG = """
model_name: adult-income
deployed_version: "2"
features: {age: numeric, occupation: categorical}
monitors:
  - {name: feature_drift, metric: psi, why: inputs move away from the evaluation data,
     how: PSI of the window's bucket counts against the reference, owner: ml-on-call,
     severity: ERROR}
"""


def test_a_config_loads_with_its_defaults(tmp_path):
    path = tmp_path / "monitoring.yaml"
    path.write_text(CONFIG)
    config = load_monitoring_config(path)
    [monitor] = config.monitors
    assert (monitor.window_days, monitor.threshold, monitor.significance, monitor.min_rows) == (
        7,
        0.1,
        0.01,
        100,
    )
    assert config.buckets == 10 and config.js_base == 2.0


def test_a_bad_config_names_the_file_and_every_key(tmp_path):
    path = tmp_path / "monitoring.yaml"
    path.write_text(CONFIG.replace("metric: psi", "metric: psy").replace("owner: ml-on-call,", ""))
    with pytest.raises(ConfigError) as error:
        load_monitoring_config(path)
    text = str(error.value)
    assert str(path) in text and "monitors.0.metric" in text and "monitors.0.owner" in text


def test_the_alert_rule_needs_the_effect_the_test_and_the_rows():
    rows = pd.DataFrame(
        {
            "day": ["2026-11-02"] * 4,
            "window_start": ["2026-10-27"] * 4,
            "feature": ["a", "b", "c", "d"],
            "dimension": "overall",
            "group": "all",
            "psi": [0.3, 0.3, 0.05, 0.3],
            "js_distance": 0.1,
            "p_adjusted": [0.001, 0.2, 0.001, 0.001],
            "window_rows": [500, 500, 500, 50],
        }
    )
    monitor = Monitor(name="m", metric="psi", why="w", how="h", owner="o")
    alerts = drift_alerts(rows, monitor)
    assert alerts["feature"].tolist() == ["a"]  # b: not significant, c: too small, d: too few
    assert alerts.loc[0, "owner"] == "o" and alerts.loc[0, "severity"] == "WARN"
    assert detection_lead_time(alerts, feature="a", onset="2026-11-01") == 1
    assert detection_lead_time(alerts, feature="b", onset="2026-11-01") is None
