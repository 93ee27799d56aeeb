"""The demo's monitoring: 30 days of simulated production logs of the deployed version with
a planted drift (:mod:`rai_pipeline.demo.production`), the monitoring job over the 30 days as
one backfill run (``rai monitor``), the monitoring evidence it publishes, and an incident
bundle for the drift window (``rai incident open``), verified like any pack.

A reviewer's side is played too, truthfully: the first alert of each monitor and feature is
disposed of as ``actionable`` the day after it fired (the drift behind it was planted), and
the last day is monitored again, so that the published evidence measures alert quality."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from rai_pipeline.app.alerts import resolve_alert
from rai_pipeline.app.evaluate import Echo, EvaluateError
from rai_pipeline.app.incident import IncidentOutcome, open_incident
from rai_pipeline.app.monitor import run_monitor
from rai_pipeline.core.evidence.verify import verify_pack
from rai_pipeline.core.governance.registry import ModelRegistry
from rai_pipeline.core.monitoring.monitors import load_monitoring_config
from rai_pipeline.settings import DEMO_CONFIG, DEMO_MONITORING_CONFIG, RaiHome

REVIEWER = "demo reviewer (the drift was planted)"
INCIDENT_REASON = "drift alerts on hours_per_week and on the score of sex = Female"
MSG_FAILED = "the demo's monitoring run failed:\n{error}"
MSG_NOT_INTACT = "{bundle}: the incident bundle does not match its manifest"


@dataclass(frozen=True)
class MonitoringDemo:
    pack: Path
    alerts: int
    first_alert: str
    incident: IncidentOutcome


def run_monitoring_demo(home: RaiHome, registry: ModelRegistry, *, echo: Echo) -> MonitoringDemo:
    from rai_pipeline.demo.production import START, land_demo_logs, last_day

    config = load_monitoring_config(DEMO_MONITORING_CONFIG)
    logs = land_demo_logs(home, registry, config)
    echo(
        f"      landed {len(logs.requests):,} requests from {START} to {last_day()} and "
        f"{len(logs.labels):,} labels; drift planted from {config.known_changes[0].onset}"
    )
    outcome = run_monitor(
        DEMO_MONITORING_CONFIG,
        start=START,
        end=last_day(),
        home=home,
        evaluation_config=DEMO_CONFIG,
        echo=echo,
    )
    if not outcome.success:
        raise EvaluateError(MSG_FAILED.format(error=outcome.error))
    alerts = outcome.alerts
    if len(alerts):
        firsts = alerts.sort_values(["day", "alert_id"]).groupby(["monitor", "feature"]).head(1)
        for row in firsts.itertuples():
            day = dt.date.fromisoformat(str(row.day)[:10])
            resolve_alert(
                home,
                str(row.alert_id),
                disposition="actionable",
                by=REVIEWER,
                at=min(day + dt.timedelta(days=1), last_day()),
            )
        echo(
            f"      {len(firsts)} alert(s) disposed of as actionable; the last day monitored again"
        )
        again = run_monitor(
            DEMO_MONITORING_CONFIG,
            start=last_day(),
            end=last_day(),
            home=home,
            evaluation_config=DEMO_CONFIG,
            echo=lambda _line: None,
        )
        if not again.success:
            raise EvaluateError(MSG_FAILED.format(error=again.error))
        alerts = again.alerts
    first = str(alerts["day"].astype(str).min()) if len(alerts) else ""
    onset = config.known_changes[0].onset
    incident = open_incident(
        home,
        model=config.model_name,
        start=onset,
        end=last_day(),
        reason=INCIDENT_REASON,
        config_path=DEMO_MONITORING_CONFIG,
    )
    if not verify_pack(incident.bundle).intact:
        raise EvaluateError(MSG_NOT_INTACT.format(bundle=incident.bundle))
    return MonitoringDemo(home.monitoring_pack(config.model_name), len(alerts), first, incident)
