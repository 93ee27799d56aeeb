"""The monitoring page: one self-contained HTML file per model (inline SVG, no script, no
external file) with the time series a reviewer scans: each monitor's drift per feature
against its threshold, the realized rates with their intervals, the estimate against the
realized rate, and the alerts with their dispositions. Drawn from the monitoring pack's own
tables (:class:`~rai_pipeline.core.evidence.monitoring_pack.MonitoringEvidence`)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from rai_pipeline.core.evidence.charts import line_chart_svg

if TYPE_CHECKING:
    from rai_pipeline.core.evidence.monitoring_pack import MonitoringEvidence

PAGE = "monitoring.html"
RATE_METRICS = ("accuracy_score", "true_positive_rate", "selection_rate")
COMPARED_METRICS = ("accuracy_score", "true_positive_rate")
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:24px;max-width:1200px;color:#222}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px}.charts{display:flex;flex-wrap:wrap;"
    "gap:12px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
    "padding:2px 6px;text-align:left}.muted{color:#666}"
)


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _axis(days: Sequence[str]) -> tuple[dict[str, float], list[tuple[float, str]]]:
    """Each day's x in [0, 1], and about six labelled ticks."""
    span = max(len(days) - 1, 1)
    where = {day: k / span for k, day in enumerate(days)}
    step = max(1, math.ceil(len(days) / 6))
    ticks = [(where[d], d[5:]) for d in days[::step]]
    return where, ticks


def _xs(where: dict[str, float], days: Sequence[str]) -> list[float]:
    return [where.get(str(d), math.nan) for d in days]


def _onset(evidence: MonitoringEvidence, where: dict[str, float]) -> float | None:
    onsets = [str(o) for o in evidence.lead_times.get("onset", pd.Series(dtype=str))]
    return where.get(onsets[0]) if onsets else None


def _drift_charts(evidence: MonitoringEvidence, where: dict, ticks: list) -> list[str]:
    charts = []
    drift = evidence.drift
    for monitor in evidence.monitors:
        rows = drift[
            (drift["window_days"] == monitor["window_days"]) & (drift["dimension"] == "overall")
        ]
        features = monitor["features"] or evidence.features
        series = []
        for feature in features:
            mine = rows[rows["feature"] == feature].sort_values("day")
            days = [str(d)[:10] for d in mine["day"]]
            series.append((feature, _xs(where, days), list(mine[monitor["metric"]])))
        charts.append(_drift_chart(evidence, monitor, series, "all requests", where, ticks))
        fired = evidence.alerts[evidence.alerts["monitor"] == monitor["name"]]
        fired = fired[fired["dimension"] != "overall"] if len(fired) else fired
        if len(fired):  # the attribute of the group that alerted most (and first), by group
            ranked = (
                fired.assign(day=fired["day"].astype(str))
                .groupby(["feature", "dimension", "group"], as_index=False)
                .agg(alerts=("day", "size"), first=("day", "min"))
                .sort_values(["alerts", "first"], ascending=[False, True])
            )
            feature, dimension = ranked.iloc[0]["feature"], ranked.iloc[0]["dimension"]
            mine = drift[
                (drift["window_days"] == monitor["window_days"])
                & (drift["feature"] == feature)
                & (drift["dimension"] == dimension)
            ].sort_values("day")
            by_group = [
                (
                    f"{dimension} = {group}",
                    _xs(where, [str(d)[:10] for d in part["day"]]),
                    list(part[monitor["metric"]]),
                )
                for group, part in mine.groupby("group", sort=True)
            ]
            label = f"{feature} by {dimension}"
            charts.append(_drift_chart(evidence, monitor, by_group, label, where, ticks))
    return charts


def _drift_chart(
    evidence: MonitoringEvidence,
    monitor: dict[str, Any],
    series: list,
    scope: str,
    where: dict,
    ticks: list,
) -> str:
    values = [v for s in series for v in s[2] if math.isfinite(v)]
    top = max([monitor["threshold"] * 2, *values])
    return line_chart_svg(
        series,
        title=f"{monitor['name']}: {monitor['metric']} ({scope})",
        x_label=f"day ({monitor['window_days']}-day window)",
        y_label=monitor["metric"],
        marker_x=_onset(evidence, where),
        width=560,
        height=320,
        y_max=float(top),
        x_ticks=ticks,
        threshold=float(monitor["threshold"]),
    )


def _realized_charts(evidence: MonitoringEvidence, where: dict, ticks: list) -> list[str]:
    realized = evidence.extra_tables.get("performance_realized", pd.DataFrame())
    if realized.empty:
        return []
    overall = realized[realized["dimension"] == "overall"].sort_values("day")
    series, intervals = [], []
    for metric in RATE_METRICS:
        mine = overall[overall["metric"] == metric]
        series.append((metric, _xs(where, list(mine["day"])), list(mine["value"])))
        intervals.append((list(mine["ci_lower"]), list(mine["ci_upper"])))
    return [
        line_chart_svg(
            series,
            title="Realized rates (labelled requests, all groups)",
            x_label="day served",
            y_label="rate",
            intervals=intervals,
            marker_x=_onset(evidence, where),
            width=560,
            height=320,
            x_ticks=ticks,
        )
    ]


def _estimate_charts(evidence: MonitoringEvidence, where: dict, ticks: list) -> list[str]:
    estimates = evidence.extra_tables.get("performance_estimates", pd.DataFrame())
    realized = evidence.extra_tables.get("performance_realized", pd.DataFrame())
    if estimates.empty:
        return []
    charts = []
    for metric in COMPARED_METRICS:
        est = estimates[
            (estimates["dimension"] == "overall") & (estimates["metric"] == metric)
        ].sort_values("day")
        series = [("estimate", _xs(where, list(est["day"])), list(est["estimate"]))]
        intervals = [(list(est["ci_lower"]), list(est["ci_upper"]))]
        if len(realized):
            real = realized[
                (realized["dimension"] == "overall") & (realized["metric"] == metric)
            ].sort_values("day")
            series.append(("realized", _xs(where, list(real["day"])), list(real["value"])))
            intervals.append(([math.nan] * len(real), [math.nan] * len(real)))
        charts.append(
            line_chart_svg(
                series,
                title=f"Estimated vs realized {metric}",
                x_label="day served",
                y_label=metric,
                intervals=intervals,
                marker_x=_onset(evidence, where),
                width=560,
                height=320,
                x_ticks=ticks,
            )
        )
    return charts


def _table(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc('—' if pd.isna(v) else v)}</td>" for v in row) + "</tr>"
        for row in frame[list(columns)].itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _alerts(evidence: MonitoringEvidence) -> str:
    alerts = evidence.alerts
    if alerts.empty:
        return "<p>No monitor fired on any monitored day.</p>"
    grouped = (
        alerts.assign(day=alerts["day"].astype(str))
        .groupby(["monitor", "severity", "owner", "feature", "dimension", "group"], as_index=False)
        .agg(
            first_day=("day", "min"),
            last_day=("day", "max"),
            alerts=("day", "size"),
            actionable=("status", lambda s: int((s == "actionable").sum())),
            noise=("status", lambda s: int((s == "noise").sum())),
            open=("status", lambda s: int((s == "open").sum())),
        )
        .sort_values(["first_day", "monitor", "feature", "dimension", "group"])
    )
    every = alerts.sort_values(["day", "monitor", "feature", "dimension", "group"])
    return (
        _table(grouped, list(grouped.columns))
        + f"<details><summary>Every alert ({len(alerts)})</summary>"
        + _table(
            every,
            [
                "alert_id",
                "day",
                "monitor",
                "feature",
                "dimension",
                "group",
                "value",
                "status",
                "disposed_by",
                "disposed_at",
            ],
        )
        + "</details>"
    )


def render_monitoring_page(evidence: MonitoringEvidence) -> str:
    days = evidence.days
    where, ticks = _axis(days)
    quality = evidence.quality
    share = (
        f"{quality['actionable_share']:.0%} of {quality['disposed']} disposed alerts actionable"
        if quality["disposed"]
        else "no alert disposed of yet"
    )
    title = f"Monitoring: {evidence.model_name} version {evidence.deployed_version}"
    realized = _realized_charts(evidence, where, ticks)
    span = f"{days[0]} to {days[-1]}" if days else "no day yet"
    sections = [
        f"<h1>{_esc(title)}</h1>",
        f"<p>{_esc(span)}: {len(days)} days with requests; {len(evidence.alerts)} alerts; "
        f"{_esc(share)}. The dashed vertical line marks the first known change's onset, the "
        "red dashed line each monitor's threshold. Tables: the pack's Parquet and CSV "
        "files; the summary: monitoring_summary.md.</p>",
        "<h2 id='drift'>Drift</h2>",
        f"<div class='charts'>{''.join(_drift_charts(evidence, where, ticks))}</div>",
        "<h2 id='realized'>Realized performance</h2>",
        f"<div class='charts'>{''.join(realized)}</div>"
        if realized
        else "<p>No label has arrived yet.</p>",
        "<h2 id='estimated'>Estimated vs realized</h2>",
        f"<div class='charts'>{''.join(_estimate_charts(evidence, where, ticks))}</div>",
        "<p class='muted'>The estimate assumes the score means in production what it meant on "
        "the evaluation data; its whiskers are the range the realized rate falls in if so.</p>",
        "<h2 id='alerts'>Alerts and dispositions</h2>",
        _alerts(evidence),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )
