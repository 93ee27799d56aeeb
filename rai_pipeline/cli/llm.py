"""``rai evaluate-llm``: an LLM safety evaluation of prompt and response files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rai_pipeline.cli.base import app


@app.command("evaluate-llm")
def evaluate_llm(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="LLM safety config YAML (docs/llm-safety.md); its relative "
            "paths resolve against its folder.",
        ),
    ],
    out: Annotated[
        str, typer.Option("--out", "-o", help="Output folder (created; must be new or empty).")
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace a non-empty output folder, keeping it as OUT.previous-*."
        ),
    ] = False,
) -> None:
    """Evaluate the prompt set and responses a config names, without the orchestrator.

    Writes llm_safety_metrics (CSV, Parquet), the verdicts, data checks, coverage, failure
    modes, labelling agreement, the LLM safety report and manifest.json to OUT.

    Exit code 0 on success; 2 when the config, a file or OUT is unusable (nothing written).
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.evaluate_llm import evaluate_llm as run

    try:
        result = run(config, out=out, force=force)
    except input_errors() as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    typer.echo(f"Evaluated {len(result.verdicts)} model version(s) -> {result.out}")
    typer.echo(f"  evaluation id    {result.evaluation_id}")
    for version, verdict in result.verdicts.items():
        typer.echo(f"  {version:<16} {verdict}")
    typer.echo(f"  evidence digest  {result.evidence_digest}")
    typer.echo(f"  files            {', '.join(result.files)}")
    if result.previous is not None:
        typer.echo(f"  previous output  kept as {result.previous}")


@app.command("land-llm")
def land_llm(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="LLM safety config YAML (docs/llm-safety.md).")
    ],
) -> None:
    """Land the prompt set, responses and ratings a config names for the pipeline, and
    register each responses entry as a version of the LLM feature ``model_name``.

    The files are checked as `rai evaluate-llm` checks them (nothing is written when one
    breaks a rule, exit 2). Landing the same files again is a no-op; a version registered
    before is not registered again. The registry sensor, or `rai evaluate-llm-versions`,
    then evaluates the new versions.
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.land_llm import land_llm as run
    from rai_pipeline.settings import rai_home

    try:
        result = run(config, home=rai_home())
    except input_errors() as error:
        typer.echo(f"rai land-llm: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    landed = result.landed
    state = "landed" if landed.created else "already landed"
    typer.echo(f"LLM safety set {landed.set_version[:12]} {state} -> {landed.current_dir}")
    for name in ("llm_prompts", "llm_responses", "llm_ratings"):
        typer.echo(f"  {name:<14} {landed.rows[name]} rows")
    for label, ref in result.versions.items():
        new = "registered now" if label in result.registered else "registered before"
        typer.echo(f"  {label:<16} {ref.uri} ({new})")


@app.command("evaluate-llm-versions")
def evaluate_llm_versions(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="LLM safety config YAML (docs/llm-safety.md).")
    ],
    version: Annotated[
        str | None,
        typer.Option(help="Registered version number. Default: every version not yet evaluated."),
    ] = None,
) -> None:
    """Evaluate registered LLM feature versions through the Dagster job the UI and the LLM
    registry sensor run, each against the version registered before it.

    Prints progress per stage, then each pack's path, its verdicts and the policy checks
    that did not pass. Exit code 0 when every pack is published, 1 when a blocking data
    check stopped an evaluation, 2 on error.
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.evaluate_llm_versions import run_evaluate_llm_versions
    from rai_pipeline.cli.pipeline import exit_for, print_outcomes
    from rai_pipeline.settings import rai_home

    try:
        outcomes = run_evaluate_llm_versions(config, version, home=rai_home(), echo=typer.echo)
    except input_errors() as error:
        typer.echo(f"rai evaluate-llm-versions: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    print_outcomes(outcomes)
    exit_for(outcomes)
