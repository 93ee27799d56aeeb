"""Commands that run the pipeline: ``demo``, ``ui``, ``land``, ``info``, ``evaluate``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from rai_pipeline.cli.base import (
    ConfigOption,
    app,
)
from rai_pipeline.settings import rai_home


@app.command()
def demo() -> None:
    """Train, register and evaluate the bundled UCI Adult demo; print where the evidence is."""
    from rai_pipeline.app.demo import run_demo

    home = rai_home()
    outcomes = run_demo(home, echo=typer.echo)
    failed = [o for o in outcomes if not o.success]
    print_outcomes(outcomes)
    typer.echo(f"Evidence packs: {home.evidence}")
    typer.echo(f"MLflow store:   {home.tracking_uri}  (experiments 'rai/<model>')")
    typer.echo("Browse the asset graph and runs: make ui  ->  http://127.0.0.1:3000")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def ui(
    port: int = typer.Option(3000, help="Port for the Dagster UI on 127.0.0.1."),
    config: ConfigOption = None,
    llm_config: Annotated[
        Path | None,
        typer.Option(
            "--llm-config",
            help="LLM safety config whose feature versions the LLM sensor watches "
            "(default: $RAI_LLM_CONFIG).",
        ),
    ] = None,
    monitoring_config: Annotated[
        Path | None,
        typer.Option(
            "--monitoring-config",
            help="Monitoring config the monitoring job and its backfills use (default: "
            "$RAI_MONITORING_CONFIG, else the demo's).",
        ),
    ] = None,
) -> None:
    """Start the Dagster UI (and daemon, so the registry sensors run) on 127.0.0.1."""
    from rai_pipeline.app.info import CONFIG_ENV
    from rai_pipeline.app.ui import start_ui
    from rai_pipeline.settings import DEMO_MONITORING_CONFIG

    if config is not None:
        os.environ[CONFIG_ENV] = str(config.resolve())
    if llm_config is not None:
        os.environ["RAI_LLM_CONFIG"] = str(llm_config.resolve())
    if monitoring_config is not None:
        os.environ["RAI_MONITORING_CONFIG"] = str(monitoring_config.resolve())
    os.environ.setdefault("RAI_MONITORING_CONFIG", str(DEMO_MONITORING_CONFIG))
    start_ui(port)


@app.command()
def land(config: ConfigOption = None) -> None:
    """Check the config's data set and land it as a content-addressed dataset version.

    Every problem with the data is reported at once (exit 2, nothing written). Landing the
    same rows again is a no-op; other rows become a new version that the pipeline evaluates
    next. Restricted columns are not stored.
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.info import active_config
    from rai_pipeline.app.land import land as run

    chosen = active_config(config)
    try:
        result = run(chosen, home=rai_home(), echo=lambda line: typer.echo(line, err=True))
    except input_errors() as error:
        typer.echo(f"rai land: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    for line in result.lines():
        typer.echo(line)


@app.command()
def info(
    as_json: bool = typer.Option(False, "--json", help="Print the locations as JSON."),
    tracking_uri: bool = typer.Option(
        False, "--tracking-uri", help="Print only the MLflow tracking (and registry) URI."
    ),
    artifact_root: bool = typer.Option(
        False, "--artifact-root", help="Print only the MLflow artifact root."
    ),
    env: bool = typer.Option(False, "--env", help='Print shell exports: eval "$(rai info --env)".'),
    config: ConfigOption = None,
) -> None:
    """Where this RAI_HOME keeps the warehouse, the MLflow store, the evidence and the active
    config. Read-only: creates nothing."""
    import json

    from rai_pipeline.app.info import active_config, describe_home, shell_exports

    described = describe_home(rai_home(), active_config(config))
    if tracking_uri:
        typer.echo(described["tracking_uri"])
    elif artifact_root:
        typer.echo(described["artifact_root"])
    elif env:
        typer.echo("\n".join(shell_exports(described)))
    elif as_json:
        typer.echo(json.dumps(described, indent=2))
    else:
        width = max(len(key) for key in described)
        for key, value in described.items():
            typer.echo(f"{key:<{width}}  {value}")


@app.command()
def evaluate(
    model: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[
        str | None,
        typer.Option(help="Model version. Default: every version not yet evaluated."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Evaluate a registered model version through the Dagster evaluation job (the one the UI
    and the registry sensor run), recorded in the Dagster instance under RAI_HOME.

    Prints progress per stage, then the pack's path and its headline numbers. Exit code 0 when
    every pack is published, 1 when a blocking check stopped an evaluation (the rule and
    sample rows are printed), 2 on error. Nothing left to evaluate is said, with exit code 0.
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.evaluate import run_evaluate
    from rai_pipeline.app.info import active_config

    chosen = active_config(config)
    try:
        outcomes = run_evaluate(
            model, version, home=rai_home(), config_path=chosen, echo=typer.echo
        )
    except input_errors() as error:
        typer.echo(f"rai evaluate: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    print_outcomes(outcomes)
    exit_for(outcomes)


def exit_for(outcomes: list) -> None:
    """Exit 1 when a blocking check stopped an evaluation, 2 when one failed."""
    from rai_pipeline.app.errors import EXIT_BAD_INPUT
    from rai_pipeline.app.evaluate import BLOCKED

    if any(outcome.status == BLOCKED for outcome in outcomes):
        raise typer.Exit(code=1)
    if any(not outcome.success for outcome in outcomes):
        raise typer.Exit(code=EXIT_BAD_INPUT)


def print_outcomes(outcomes: list) -> None:
    if outcomes:
        typer.echo("")
    for outcome in outcomes:
        if outcome.success and outcome.summary is not None:
            typer.echo(f"{outcome.partition_key}  ->  {outcome.pack}")
            names, values = outcome.summary.iloc[:, 0], outcome.summary.iloc[:, 1]
            width = int(names.str.len().max())
            for name, value in zip(names, values, strict=True):
                typer.echo(f"  {name:<{width}}  {value}")
            if outcome.error:  # checks on the published pack that failed
                typer.echo("  checks on the published pack that did not pass:")
                typer.echo("\n".join(f"    {line}" for line in outcome.error.splitlines()))
        elif outcome.status == "blocked":
            typer.echo(
                f"{outcome.partition_key}: stopped by a blocking check; no evidence published"
            )
            typer.echo(outcome.error)
        else:
            typer.echo(f"{outcome.partition_key}: evaluation FAILED; no evidence published")
            typer.echo(outcome.error)
        typer.echo("")
