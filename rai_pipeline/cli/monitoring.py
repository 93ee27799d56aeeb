"""``rai monitor``: the monitoring job over a range of production days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from rai_pipeline.cli.base import app


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)") from None


@app.command()
def monitor(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Monitoring config YAML (docs/monitoring.md).")
    ],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD).")],
    evaluation_config: Annotated[
        Path | None,
        typer.Option(
            "--evaluation-config",
            help="Evaluation config whose sensitive attributes group the counts. Default: "
            "$RAI_CONFIG, else the demo's config.",
        ),
    ] = None,
) -> None:
    """Count the landed requests of the days FROM .. TO, measure drift against the deployed
    version's evaluation data and raise the monitors' alerts, in one run of the Dagster
    monitoring job (a backfill); re-running a day replaces its rows.

    Exit code 0 when no ERROR-severity monitor fired in the range, 1 when one did (the alerts
    are listed), 2 on error.
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.info import active_config
    from rai_pipeline.app.monitor import run_monitor
    from rai_pipeline.settings import rai_home

    first, last = _day(start), _day(end)
    try:
        outcome = run_monitor(
            config,
            start=first,
            end=last,
            home=rai_home(),
            evaluation_config=active_config(evaluation_config),
            echo=typer.echo,
        )
    except input_errors() as error:
        typer.echo(f"rai monitor: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    if not outcome.success:
        typer.echo(f"rai monitor: the run failed:\n{outcome.error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT)
    alerts = outcome.alerts
    if len(alerts):
        alerts = alerts[alerts["day"].astype(str).between(first.isoformat(), last.isoformat())]
    typer.echo(f"{outcome.drift_rows} drift rows; {len(alerts)} alert(s) from {first} to {last}")
    if len(alerts):
        summary = alerts.groupby(["monitor", "feature", "severity"], as_index=False).agg(
            first_day=("day", "min"), last_day=("day", "max"), alerts=("day", "size")
        )
        typer.echo(summary.to_string(index=False))
    if (alerts["severity"] == "ERROR").any() if len(alerts) else False:
        raise typer.Exit(code=1)


alerts_app = typer.Typer(help="The alert history: record a reviewer's disposition.")
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("resolve")
def resolve(
    alert: Annotated[str, typer.Argument(help="The alert's alert_id (rai.alert_history).")],
    disposition: Annotated[str, typer.Option(help="actionable or noise.")],
    by: Annotated[str, typer.Option(help="Who disposed of it.")],
    at: Annotated[str | None, typer.Option(help="When (YYYY-MM-DD). Default: today.")] = None,
) -> None:
    """Record whether an alert was actionable or noise, by whom and when; prints the alert
    and its model's alert quality (share actionable, days to acknowledge). Exit 2 when the
    alert is unknown or the values are invalid (nothing written)."""
    from rai_pipeline.app.alerts import resolve_alert
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.settings import rai_home

    when = _day(at) if at else dt.date.today()
    try:
        stored, quality = resolve_alert(rai_home(), alert, disposition=disposition, by=by, at=when)
    except input_errors() as error:
        typer.echo(f"rai alerts resolve: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    typer.echo(
        f"{alert}: {stored['monitor']} on {stored['feature']} ({stored['dimension']} = "
        f"{stored['group']}) of {stored['day']}: {disposition} by {by} on {when}"
    )
    # a disposition was just recorded: the share and the days are defined
    typer.echo(
        f"alert quality of {stored['model_name']}: {quality['disposed']} of {quality['alerts']} "
        f"disposed, {quality['actionable_share']:.0%} actionable, median "
        f"{quality['median_days_to_acknowledge']} day(s) to acknowledge"
    )


incident_app = typer.Typer(help="Incident evidence bundles.")
app.add_typer(incident_app, name="incident")


@incident_app.command("open")
def incident_open(
    model: Annotated[str, typer.Option(help="The registered model's name.")],
    start: Annotated[str, typer.Option("--from", help="First day of the window (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day of the window (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option(help="Why the incident is opened, in words.")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Monitoring config YAML. Default: the one the model's monitoring evidence "
            "was published with.",
        ),
    ] = None,
    evaluation_config: Annotated[
        Path | None,
        typer.Option(
            "--evaluation-config",
            help="Evaluation config whose dataset.restricted columns are masked too. Default: "
            "$RAI_CONFIG, else the demo's config.",
        ),
    ] = None,
) -> None:
    """Write an incident evidence bundle for MODEL over the days FROM .. TO: the versions live
    in the window with their evaluation packs' digests, the window's drift rows and alerts,
    the logged requests behind the alerts (restricted columns masked), a timeline and the
    commands that reproduce it; published to evidence/<model>/incidents/<id>/ and anchored in
    the registry, so that rai verify checks it. Exit 0, or 2 on error (nothing written)."""
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.incident import open_incident
    from rai_pipeline.app.info import active_config
    from rai_pipeline.core.config.schema import load_config
    from rai_pipeline.settings import rai_home

    first, last = _day(start), _day(end)
    try:
        evaluation = load_config(active_config(evaluation_config))
        outcome = open_incident(
            rai_home(),
            model=model,
            start=first,
            end=last,
            reason=reason,
            config_path=config,
            restricted=list(evaluation.dataset.restricted) if evaluation.dataset else [],
        )
    except input_errors() as error:
        typer.echo(f"rai incident open: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    typer.echo(
        f"incident {outcome.incident_id}: versions {', '.join(outcome.versions)} live; "
        f"{outcome.alerts} alert(s), {outcome.requests} logged request(s) behind them"
    )
    typer.echo(f"bundle: {outcome.bundle}")
    typer.echo(f"evidence digest: {outcome.digest}")
