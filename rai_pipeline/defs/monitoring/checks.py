"""One asset check per monitor of the monitoring config, on the daily partitions of
``monitoring_evidence``: ``monitor_<name>`` fails when the monitor fired on any of the run's
days, with the monitor's severity; an ERROR-severity failure blocks what is downstream.

Dagster's definitions are fixed when the code location loads, so the checks are those of the
config it loads with (``$RAI_MONITORING_CONFIG``, else the demo's); ``rai monitor --config``
builds its run's definitions from the config it is given. A check whose monitor is no
longer in the run's config passes and says so.
"""

import os
from collections.abc import Sequence

import dagster as dg

from rai_pipeline.core.monitoring.monitors import Monitor, load_monitoring_config
from rai_pipeline.defs.monitoring import computation
from rai_pipeline.defs.monitoring.assets import monitoring_evidence
from rai_pipeline.defs.partitions import monitoring_days
from rai_pipeline.defs.resources import WAREHOUSE_POOL, MonitoringConfigResource, WarehouseResource
from rai_pipeline.settings import DEMO_MONITORING_CONFIG

CHECK_PREFIX = "monitor_"
SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}


def loaded_monitors() -> list[Monitor]:
    """The monitors of the config the code location loads with."""
    path = os.environ.get("RAI_MONITORING_CONFIG") or DEMO_MONITORING_CONFIG
    return list(load_monitoring_config(path).monitors)


def monitor_check(monitor: Monitor) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=monitoring_evidence,
        name=f"{CHECK_PREFIX}{monitor.name}",
        description=f"Did {monitor.name} fire on these days? Why: {monitor.why}. How: "
        f"{monitor.how}. Severity {monitor.severity}, owner {monitor.owner}.",
        blocking=True,
        pool=WAREHOUSE_POOL,
        partitions_def=monitoring_days,
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        monitoring_config: MonitoringConfigResource,
    ) -> dg.AssetCheckResult:
        config = monitoring_config.load()
        current = next((m for m in config.monitors if m.name == monitor.name), None)
        if current is None:
            return dg.AssetCheckResult(
                passed=True,
                description=f"{monitor.name} is not in {monitoring_config.path_or_error()}; "
                "reload the code location to drop this check",
            )
        keys = context.partition_keys
        with warehouse.connect() as conn:
            alerts = conn.execute(
                f"select * from rai.{computation.ALERTS_TABLE} where model_name = ? "
                f"and monitor = ? and day in ({', '.join('?' for _ in keys)})",
                [config.model_name, current.name, *keys],
            ).df()
        features = sorted(map(str, set(alerts["feature"])))
        return dg.AssetCheckResult(
            passed=alerts.empty,
            severity=SEVERITY[current.severity],
            metadata={
                "alerts": len(alerts),
                "days_alerting": int(alerts["day"].nunique()) if len(alerts) else 0,
                "features": ", ".join(features) or "none",
                "owner": current.owner,
                "threshold": current.threshold,
            },
            description=(
                f"{current.name} did not fire"
                if alerts.empty
                else f"{current.name} fired {len(alerts)} time(s) on {', '.join(features)} "
                f"(severity {current.severity}, owner {current.owner})"
            ),
        )

    return _check


def monitor_checks(monitors: Sequence[Monitor]) -> list[dg.AssetChecksDefinition]:
    return [monitor_check(m) for m in monitors]
