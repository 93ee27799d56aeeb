"""Commands that audit a pack: ``gate``, ``verify``, ``trace``, ``reproduce``. Read-only
unless a flag says otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from rai_pipeline.cli.base import (
    DigestOption,
    OfflineOption,
    TrackingUriOption,
    app,
)


@app.command()
def gate(
    evidence_dir: Annotated[Path, typer.Argument(help="An evidence pack folder.")],
    dispositions: Annotated[
        Path | None,
        typer.Option(help="Dispositions YAML (default: $RAI_DISPOSITIONS when set)."),
    ] = None,
    offline: OfflineOption = False,
    digest: DigestOption = None,
    tracking_uri: TrackingUriOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the decision as JSON (same exit codes).")
    ] = False,
    update_registry: Annotated[
        bool,
        typer.Option(
            "--update-registry",
            help="When the model version's rai.gate tag says otherwise, rewrite it.",
        ),
    ] = False,
    judge: Annotated[
        str | None,
        typer.Option(
            help="LLM packs: the judge (NAME or NAME@VERSION) the policy's bounds were set "
            "for; a pack judged by another is refused (exit 2)."
        ),
    ] = None,
    llm_version: Annotated[
        str | None,
        typer.Option(
            help="LLM packs of several versions (rai evaluate-llm): the model_version to gate."
        ),
    ] = None,
) -> None:
    """Release gate: exit 0 when every finding passes or has a valid disposition, 1 when not
    (listing what blocks), 2 on error, or when the pack does not verify against its manifest
    and the registry's evidence digest. Read-only unless --update-registry.

    Fairness packs: a finding is an aggregate disparity that is not a pass. LLM safety packs:
    a finding is a policy bound (unsafe compliance, over-refusal, judge agreement) that is not
    a pass, three-valued like the fairness verdicts."""
    import datetime as dt

    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.gate import run_gate

    chosen = dispositions or (
        Path(os.environ["RAI_DISPOSITIONS"]) if os.environ.get("RAI_DISPOSITIONS") else None
    )
    try:
        report = run_gate(
            evidence_dir,
            dispositions=chosen,
            today=dt.date.today(),
            offline=offline,
            digest=digest,
            tracking_uri=tracking_uri,
            update_registry=update_registry,
            judge=judge,
            llm_version=llm_version,
        )
    except (*input_errors(), KeyError) as error:
        if as_json:
            typer.echo(json.dumps({"exit_code": EXIT_BAD_INPUT, "error": str(error)}, indent=2))
        typer.echo(f"rai gate: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    if as_json:
        typer.echo(json.dumps(report.payload, indent=2))
    else:
        for line in report.lines:
            typer.echo(line)
    raise typer.Exit(code=report.exit_code)


@app.command()
def verify(
    evidence_dir: Annotated[Path, typer.Argument(help="An evidence pack folder.")],
    offline: OfflineOption = False,
    digest: DigestOption = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Recompute every digest in the pack's manifest and compare the manifest's own digest
    with the registered model version's rai.evidence_digest (or --digest); exit 0 only when
    both hold, 1 when not, 2 on error."""
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.verify import run_verify

    try:
        report, anchor, lines = run_verify(
            evidence_dir, offline=offline, digest=digest, tracking_uri=tracking_uri
        )
    except input_errors() as error:
        typer.echo(f"rai verify: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    for line in lines:
        typer.echo(line)
    raise typer.Exit(code=0 if report.intact and anchor.ok else 1)


@app.command()
def trace(
    evidence_dir: Annotated[Path, typer.Argument(help="An evidence pack folder.")],
    dimension: Annotated[str, typer.Option(help="e.g. race, or sex&race.")],
    group: Annotated[str, typer.Option(help="e.g. Black, or Female&Black; '*' for aggregates.")],
    metric: Annotated[str, typer.Option(help="e.g. false_positive_rate.")],
    rows: Annotated[bool, typer.Option("--rows", help="Print the source rows.")] = False,
    cell: Annotated[
        str | None,
        typer.Option(help="With --rows: true_positive, false_positive, ..., selected."),
    ] = None,
    include_restricted: Annotated[
        bool, typer.Option("--include-restricted", help="Show restricted (PII) columns.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The chain behind one number: MLflow run, model version, dataset version, dbt models,
    SQL and source extracts; with --rows, the rows themselves."""
    import json

    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.trace import format_trace, trace_number

    try:
        result = trace_number(
            evidence_dir,
            dimension=dimension,
            group=group,
            metric=metric,
            rows=rows or cell is not None,
            cell=cell,
            include_restricted=include_restricted,
            limit=limit,
        )
    except input_errors() as error:
        typer.echo(f"rai trace: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        typer.echo(format_trace(result))


@app.command()
def reproduce(
    evidence_dir: Annotated[Path, typer.Argument(help="An evidence pack folder.")],
) -> None:
    """Re-run the evaluation from its recorded model and dataset versions; exit 0 when every
    metric is identical, 1 when any differs (listed), 2 when an input is missing or changed."""
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors
    from rai_pipeline.app.reproduce import reproduce as run

    try:
        report = run(evidence_dir, echo=lambda line: typer.echo(line, err=True))
    except input_errors() as error:
        typer.echo(f"rai reproduce: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    for difference in report.differences:
        typer.echo(difference)
    compared = ", ".join(f"{n} rows of {table}" for table, n in report.compared.items())
    verdict = "identical" if report.identical else f"{len(report.differences)} differences"
    typer.echo(f"{evidence_dir}: compared {compared}: {verdict}")
    raise typer.Exit(code=0 if report.identical else 1)


if __name__ == "__main__":
    app()
