"""The demo's monitoring page in headless Chromium: drift per monitor with its threshold,
realized rates with intervals, estimate against realized, and the alerts with their
dispositions, every count checked against the pack's tables; self-contained and linked
from the Dagster materialization of monitoring_evidence."""

from __future__ import annotations

import dagster as dg

from rai_pipeline.core.monitoring.monitors import load_monitoring_config
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import DEMO_MONITORING_CONFIG
from tests.e2e.browser import ARTIFACTS, browser_page

CONFIG = load_monitoring_config(DEMO_MONITORING_CONFIG)


def test_the_monitoring_page_renders_its_time_series_and_alerts(demo):
    home, _, _ = demo
    pack = home.monitoring_pack(CONFIG.model_name)
    alerts = read_parquet(pack / "alert_history.parquet")
    keys = ["monitor", "severity", "owner", "feature", "dimension", "group"]
    with browser_page(width=1200, height=900) as (page, errors):
        page.goto((pack / "monitoring.html").as_uri())
        page.wait_for_load_state("load")
        title = page.title()
        drift = page.locator("#drift + .charts svg.chart")
        # each monitor over all requests, then by group where a group alerted most (first)
        assert drift.count() == 2 * len(CONFIG.monitors)
        assert page.locator("#drift + .charts line.threshold").count() == drift.count()
        labels = [drift.nth(k).get_attribute("aria-label") for k in range(drift.count())]
        assert "feature_drift: psi (all requests)" in labels
        assert "score_drift: js_distance (score by sex)" in labels  # Female's scores moved
        realized = page.locator('svg[aria-label="Realized rates (labelled requests, all groups)"]')
        assert realized.locator("line.whisker").count() > 0
        for metric in ("accuracy_score", "true_positive_rate"):
            chart = page.locator(f'svg[aria-label="Estimated vs realized {metric}"]')
            assert chart.locator("polyline").count() == 2
        rows = page.locator("#alerts + table tbody tr")
        assert rows.count() == alerts.groupby(keys).ngroups
        every = page.locator("details table tbody tr")
        assert every.count() == len(alerts)
        page.screenshot(path=str(ARTIFACTS / "monitoring_page.png"), full_page=True)
    assert errors == []
    assert title == f"Monitoring: {CONFIG.model_name} version {CONFIG.deployed_version}"
    html = (pack / "monitoring.html").read_text()
    for reference in ('src="http', 'href="http', "url(http", "<script", "<link "):
        assert reference not in html


def test_the_page_is_linked_from_the_evidence_materialization(demo):
    home, _, _ = demo
    instance = dg.DagsterInstance.from_config(str(home.dagster_home))
    event = instance.get_latest_materialization_event(dg.AssetKey("monitoring_evidence"))
    assert event is not None
    metadata = event.asset_materialization.metadata
    page = metadata["monitoring_page"].value
    assert page == str(home.monitoring_pack(CONFIG.model_name) / "monitoring.html")
    assert metadata["alerts"].value == len(
        read_parquet(home.monitoring_pack(CONFIG.model_name) / "alert_history.parquet")
    )
