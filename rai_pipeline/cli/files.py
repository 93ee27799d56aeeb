"""``rai evaluate-file``: a predictions file evaluated without the orchestrator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rai_pipeline.cli.base import (
    app,
)


@app.command("evaluate-file")
def evaluate_file(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Predictions file: .csv, .csv.gz or .parquet.")
    ],
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="Evaluation config YAML with a `columns` mapping."),
    ],
    out: Annotated[
        str, typer.Option("--out", "-o", help="Output folder (created; must be new or empty).")
    ],
    model_name: Annotated[
        str | None, typer.Option(help="Model name recorded in the outputs (default: file).")
    ] = None,
    model_version: Annotated[
        str | None,
        typer.Option(help="Model version recorded in the outputs (default: the file's stem)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace a non-empty output folder, keeping it as OUT.previous-*."
        ),
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="DuckDB threads (default: every core this process may use). Sums are "
            "computed in fixed point, so outputs are byte-identical for identical inputs with "
            "any number of threads.",
        ),
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(help="DuckDB memory limit such as 1GB; beyond it DuckDB spills to disk."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")
    ] = False,
    dispositions: Annotated[
        Path | None,
        typer.Option(
            help="Dispositions YAML applied to the findings (rai dispositions template writes "
            "a stub); without it every finding that needs one is pending."
        ),
    ] = None,
) -> None:
    """Evaluate a CSV or Parquet file of predictions, without the orchestrator.

    Writes slice and fairness metrics (CSV, Parquet), reports and manifest.json to OUT.

    Exit code 0 on success; 2 when the config, the file or OUT is unusable (nothing written).
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.evaluate_file import evaluate_file as run
    from rai_pipeline.cli.process import imports_done

    imports_done()

    def progress(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    try:
        result = run(
            path,
            config_path=config,
            out=out,
            model_name=model_name,
            model_version=model_version,
            force=force,
            threads=threads,
            memory_limit=memory_limit,
            progress=progress,
            dispositions=dispositions,
        )
    except input_errors() as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    counts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(result.verdict_counts.items()))
    typer.echo(f"Evaluated {result.rows:,} rows of {path} -> {result.out}")
    typer.echo(f"  evaluation id    {result.evaluation_id}")
    typer.echo(f"  verdict          {result.verdict} (aggregate findings: {counts})")
    typer.echo(f"  evidence digest  {result.evidence_digest}")
    typer.echo(
        "                   record it: rai verify and rai gate check the pack against it "
        "with --digest"
    )
    typer.echo(f"  files            {', '.join(result.files)}")
    for metric, reason in result.skipped_metrics.items():
        typer.echo(f"  not computed     {metric}: {reason}")
    if result.previous is not None:
        typer.echo(f"  previous output  kept as {result.previous}")
