"""The demo's monitoring, as `make demo` runs it: 30 days of logs with the planted drift,
monitored in one backfill run, its monitoring evidence published and anchored, and an
incident bundle for the drift window that `rai verify` accepts. Every sentence of the summary
is checked against the pack's own tables, and the lead times against the alert history."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app
from rai_pipeline.core.config.schema import load_config
from rai_pipeline.core.evidence.incident import MASK
from rai_pipeline.core.evidence.verify import read_manifest, verify_pack
from rai_pipeline.core.monitoring.monitors import load_monitoring_config
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import DEMO_CONFIG, DEMO_MONITORING_CONFIG

runner = CliRunner()
CONFIG = load_monitoring_config(DEMO_MONITORING_CONFIG)
ONSET = CONFIG.known_changes[0].onset
DRIFTED = set(CONFIG.known_changes[0].features)


@pytest.fixture(scope="module")
def pack(demo):
    home, _, _ = demo
    return home.monitoring_pack(CONFIG.model_name)


def _table(folder, name):
    return read_parquet(folder / f"{name}.parquet")


def test_the_demo_monitors_30_days_and_says_where_the_evidence_is(demo, pack):
    _, _, lines = demo
    served = _table(pack, "requests_per_day")
    assert len(served) == 30 and (served["requests"] == 400).all()
    assert served["day"].min() == "2026-11-01" and served["day"].max() == "2026-11-30"
    assert any(str(pack) in line for line in lines)
    assert any("incident bundle (verified)" in line for line in lines)


def test_the_planted_drift_is_detected_on_or_after_its_onset_and_nothing_else_alerts(pack):
    alerts = _table(pack, "alert_history")
    days = pd.to_datetime(alerts["day"]).dt.date
    assert len(alerts) and days.min() >= ONSET
    assert set(alerts["feature"]) == DRIFTED  # no alert on an undrifted feature in 30 days
    assert (days[alerts["feature"] == "hours_per_week"] >= ONSET).all()


def test_lead_times_follow_from_the_alert_history(pack):
    alerts = _table(pack, "alert_history")
    lead = _table(pack, "detection_lead_time").set_index("feature")
    for feature in DRIFTED:
        mine = pd.to_datetime(alerts.loc[alerts["feature"] == feature, "day"]).dt.date
        first = min(d for d in mine if d >= ONSET)
        assert lead.loc[feature, "first_alert_day"] == first.isoformat()
        assert lead.loc[feature, "lead_days"] == (first - ONSET).days
        assert lead.loc[feature, "alerts_before_onset"] == sum(d < ONSET for d in mine)
        assert 0 <= lead.loc[feature, "lead_days"] <= 2


def test_every_summary_sentence_states_what_the_tables_say(pack):
    text = (pack / "monitoring_summary.md").read_text()
    alerts = _table(pack, "alert_history")
    served = _table(pack, "requests_per_day")
    errors = int((alerts["severity"] == "ERROR").sum())
    warns = len(alerts) - errors
    assert (
        f"{len(alerts)} alerts ({errors} ERROR, {warns} WARN) on "
        f"{alerts['day'].nunique()} days, from {alerts['day'].min()} to {alerts['day'].max()}."
    ) in text
    assert (
        f"{served['requests'].sum():,} requests; {served['labelled'].sum():,} with an outcome "
        "label so far" in text
    )
    quiet = [f for f in [*CONFIG.features, "score"] if f not in set(alerts["feature"])]
    assert f"No alert on {', '.join(quiet)}." in text
    for feature, part in alerts.groupby("feature"):
        row = f"| {feature} | {part['day'].min()} | {part['day'].max()} | {len(part)} |"
        assert row in text
    quality = json.loads((pack / "alert_quality.json").read_text())
    # the demo disposes of the first alert of each monitor and feature, a day after it fired
    firsts = alerts.sort_values(["day", "alert_id"]).groupby(["monitor", "feature"]).head(1)
    disposed = alerts[alerts["disposition"].notna()]
    assert set(disposed["alert_id"]) == set(firsts["alert_id"])
    assert (disposed["disposition"] == "actionable").all()
    waited = (pd.to_datetime(disposed["disposed_at"]) - pd.to_datetime(disposed["day"])).dt.days
    assert quality == {
        "alerts": len(alerts),
        "disposed": len(disposed),
        "actionable_share": 1.0,
        "median_days_to_acknowledge": float(waited.median()),
        "max_days_to_acknowledge": int(waited.max()),
    }
    assert (
        f"{len(disposed)} of {len(alerts)} alerts disposed of; 100% of those were actionable. "
        f"Days from an alert to its disposition: median {waited.median():g}, "
        f"at most {waited.max()}." in text
    )
    lead = _table(pack, "detection_lead_time")
    for row in lead.itertuples():
        days = "day" if row.lead_days == 1 else "days"
        assert (
            f"{row.feature} first alerted on {row.first_alert_day}, {row.lead_days} {days} "
            f"after the onset {row.onset}; none before it." in text
        )


def test_the_monitoring_pack_verifies_and_is_anchored_in_the_registry(pack, demo, monkeypatch):
    home, _, _ = demo
    monkeypatch.setenv("RAI_HOME", str(home.root))
    result = runner.invoke(app, ["verify", str(pack)])
    assert result.exit_code == 0, result.output
    assert "intact, anchored" in result.output
    lineage = read_manifest(pack)["lineage"]
    assert lineage["anchor_tag"] == "rai.monitoring_digest"
    deployed = home.pack_dir(CONFIG.model_name, CONFIG.deployed_version) / "manifest.json"
    assert lineage["deployed_evidence_digest"] == hashlib.sha256(deployed.read_bytes()).hexdigest()


def _bundles(home):
    folder = home.evidence / CONFIG.model_name / "incidents"
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def test_the_demo_incident_bundle_verifies_and_holds_the_window(demo, monkeypatch):
    home, _, _ = demo
    monkeypatch.setenv("RAI_HOME", str(home.root))
    [bundle] = [b for b in _bundles(home) if b.name.startswith(f"{ONSET}_2026-11-30-")]
    result = runner.invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 0 and "intact, anchored" in result.output, result.output
    incident = json.loads((bundle / "incident.json").read_text())
    assert incident["from"] == ONSET.isoformat() and incident["versions_live"] == ["2"]
    versions = _table(bundle, "versions_live")
    pack = home.pack_dir(CONFIG.model_name, "2") / "manifest.json"
    digest = hashlib.sha256(pack.read_bytes()).hexdigest()
    assert versions.loc[0, "pack_manifest_sha256"] == digest
    assert versions.loc[0, "registered_evidence_digest"] == digest
    alerts = _table(bundle, "alert_history")
    assert len(alerts) and (pd.to_datetime(alerts["day"]).dt.date >= ONSET).all()
    timeline = _table(bundle, "timeline")
    assert list(timeline["at"]) == sorted(timeline["at"])
    assert {"known change", "first alert", "incident opened"} <= set(timeline["event"])


def test_the_requests_behind_the_alerts_are_theirs_and_masked(demo):
    home, _, _ = demo
    [bundle] = [b for b in _bundles(home) if b.name.startswith(f"{ONSET}_2026-11-30-")]
    behind = _table(bundle, "alert_requests")
    alerts = _table(bundle, "alert_history").set_index("alert_id")
    assert (behind["native_country"] == MASK).all()  # restricted in the monitoring config
    folder = home.monitoring_landing(CONFIG.model_name) / "requests"
    logged = pd.concat(read_parquet(p) for p in sorted(folder.glob("day=*/*.parquet")))
    logged = logged.set_index("request_id")
    assert (logged.loc[behind["request_id"], "native_country"] != MASK).any()
    for name, band in load_config(DEMO_CONFIG).derived_features.items():  # bands, by hand
        index = np.searchsorted(band.bins, logged[band.source].to_numpy(), side="right")
        logged[name] = np.asarray(band.labels)[index]
    # an independent count: each alert's group over its window, from the landed files
    day = pd.to_datetime(logged["day"])
    for alert_id, alert in alerts.sample(40, random_state=0).iterrows():
        inside = (day >= pd.Timestamp(alert["window_start"])) & (day <= pd.Timestamp(alert["day"]))
        if alert["dimension"] != "overall":
            inside &= logged[alert["dimension"]].astype(str) == alert["group"]
        listed = behind[behind["alert_ids"].str.contains(alert_id)]
        assert set(listed["request_id"]) == set(logged.index[inside])
        assert len(listed) == alert["window_rows"]


def test_opening_an_incident_takes_the_cli_arguments_and_refuses_bad_ones(demo, monkeypatch):
    home, _, _ = demo
    monkeypatch.setenv("RAI_HOME", str(home.root))
    before = _bundles(home)
    args = ["incident", "open", "--model", CONFIG.model_name, "--reason", "test"]
    backwards = runner.invoke(app, [*args, "--from", "2026-11-20", "--to", "2026-11-10"])
    assert backwards.exit_code == 2 and "is after --to" in backwards.output
    empty = runner.invoke(app, [*args, "--from", "2025-01-01", "--to", "2025-01-02"])
    assert empty.exit_code == 2 and "no landed requests" in empty.output
    other = runner.invoke(
        app,
        [
            "incident",
            "open",
            "--model",
            "nope",
            "--reason",
            "x",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
        ],
    )
    assert other.exit_code == 2 and "nope" in other.output
    assert _bundles(home) == before  # nothing written
    quiet = runner.invoke(app, [*args, "--from", "2026-11-01", "--to", "2026-11-10"])
    assert quiet.exit_code == 0, quiet.output
    assert "0 alert(s), 0 logged request(s)" in quiet.output
    bundle = [b for b in _bundles(home) if b not in before]
    assert len(bundle) == 1 and verify_pack(bundle[0]).intact
    assert "No monitor fired in the window." in (bundle[0] / "incident.md").read_text()
    again = runner.invoke(app, [*args, "--from", "2026-11-01", "--to", "2026-11-10"])
    assert again.exit_code == 0
    history = home.evidence / CONFIG.model_name / "incidents" / ".history" / bundle[0].name
    assert len(list(history.iterdir())) == 1  # the first bundle kept, not overwritten


def _labelled_day(home, day):
    folder = home.monitoring_landing(CONFIG.model_name)
    requests = read_parquet(folder / "requests" / f"day={day}" / "requests.parquet")
    labels = pd.concat(read_parquet(p) for p in sorted((folder / "labels").glob("*/*.parquet")))
    return requests.merge(labels, on="request_id", how="inner")


def test_realized_metrics_of_a_labelled_day_match_scikit_learn_and_fairlearn(demo, pack):
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    home, _, _ = demo
    day = "2026-11-05"
    rows = _labelled_day(home, day)
    assert len(rows) == 400  # every label of the day has arrived
    y, d, s = rows["label"], rows["decision"], rows["score"]
    realized = _table(pack, "performance_realized")
    mine = realized[(realized["day"] == day) & (realized["dimension"] == "overall")]
    value = mine.set_index("metric")["value"]
    assert value["accuracy_score"] == pytest.approx(accuracy_score(y, d))
    assert value["true_positive_rate"] == pytest.approx(recall_score(y, d))
    assert value["false_positive_rate"] == pytest.approx(1 - recall_score(y, d, pos_label=0))
    assert value["precision_score"] == pytest.approx(precision_score(y, d))
    assert value["roc_auc_score"] == pytest.approx(roc_auc_score(y, s))
    fairness = _table(pack, "fairness_realized")
    sex = fairness[(fairness["day"] == day) & (fairness["dimension"] == "sex")]
    sex = sex[sex["group"] == "*"].set_index("metric")["value"]
    groups = rows["sex"].astype(str)
    assert sex["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, d, sensitive_features=groups)
    )
    assert sex["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, d, sensitive_features=groups)
    )


def test_the_performance_sentences_state_the_coverage_table(pack):
    text = (pack / "monitoring_summary.md").read_text()
    coverage = _table(pack, "estimate_coverage")
    overall = coverage[coverage["metric"] == "all"].iloc[0]
    assert (
        f"the interval covered the realized value in {overall['covered']} of "
        f"{overall['compared']} group-days ({overall['coverage']:.0%})" in text
    )
    compared = _table(pack, "estimate_vs_realized")
    served = _table(pack, "requests_per_day").set_index("day")
    complete = set(served.index[served["labelled"] == served["requests"]])
    assert set(compared["day"]) <= complete and len(compared)
    assert compared["covered"].sum() == overall["covered"]
    estimates = _table(pack, "performance_estimates")
    assert set(estimates["day"]) == set(served.index)  # every day estimated, labels or not
    assert "95% interval" in text
