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
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
    from rai_pipeline.app.evaluate_llm import evaluate_llm as run

    try:
        result = run(config, out=out, force=force)
    except INPUT_ERRORS as error:
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
