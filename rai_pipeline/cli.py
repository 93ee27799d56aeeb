"""The ``rai`` command line."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Annotated

import typer

from rai_pipeline.settings import rai_home

# dagster-dbt builds partitioned asset checks with a preview API and says so at import; the
# warning is about dagster-dbt's internals, not the user's input, so the CLI does not print it.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec is currently in preview"
)

app = typer.Typer(
    help="rai-pipeline: traceable Responsible-AI evidence for model versions.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def demo() -> None:
    """Train, register and evaluate the bundled UCI Adult demo; print where the evidence is."""
    from rai_pipeline.app.demo import run_demo

    home = rai_home()
    outcomes = run_demo(home, echo=typer.echo)
    failed = [o for o in outcomes if not o.success]
    _print_outcomes(outcomes)
    typer.echo(f"Evidence packs: {home.evidence}")
    typer.echo(f"MLflow store:   {home.tracking_uri}  (experiments 'rai/<model>')")
    typer.echo("Browse the asset graph and runs: make ui  ->  http://127.0.0.1:3000")
    if failed:
        raise typer.Exit(code=1)


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Evaluation config (YAML). Default: $RAI_CONFIG, else the demo's config.",
        dir_okay=False,
    ),
]


@app.command()
def ui(
    port: int = typer.Option(3000, help="Port for the Dagster UI on 127.0.0.1."),
    config: ConfigOption = None,
) -> None:
    """Start the Dagster UI (and daemon, so the registry sensor runs) on 127.0.0.1."""
    from rai_pipeline.app.info import CONFIG_ENV
    from rai_pipeline.app.ui import start_ui

    if config is not None:
        os.environ[CONFIG_ENV] = str(config.resolve())
    start_ui(port)


@app.command()
def land(config: ConfigOption = None) -> None:
    """Check the config's data set and land it as a content-addressed dataset version.

    Every problem with the data is reported at once (exit 2, nothing written). Landing the
    same rows again is a no-op; other rows become a new version that the pipeline evaluates
    next. Restricted columns are not stored.
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
    from rai_pipeline.app.info import active_config
    from rai_pipeline.app.land import land as run

    chosen = active_config(config)
    try:
        result = run(chosen, home=rai_home(), echo=lambda line: typer.echo(line, err=True))
    except INPUT_ERRORS as error:
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
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
    from rai_pipeline.app.evaluate import BLOCKED, run_evaluate
    from rai_pipeline.app.info import active_config

    chosen = active_config(config)
    try:
        outcomes = run_evaluate(
            model, version, home=rai_home(), config_path=chosen, echo=typer.echo
        )
    except INPUT_ERRORS as error:
        typer.echo(f"rai evaluate: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    _print_outcomes(outcomes)
    if any(outcome.status == BLOCKED for outcome in outcomes):
        raise typer.Exit(code=1)
    if any(not outcome.success for outcome in outcomes):
        raise typer.Exit(code=EXIT_BAD_INPUT)


def _print_outcomes(outcomes: list) -> None:
    if outcomes:
        typer.echo("")
    for outcome in outcomes:
        if outcome.success and outcome.summary is not None:
            typer.echo(f"{outcome.partition_key}  ->  {outcome.pack}")
            names, values = outcome.summary.iloc[:, 0], outcome.summary.iloc[:, 1]
            width = int(names.str.len().max())
            for name, value in zip(names, values, strict=True):
                typer.echo(f"  {name:<{width}}  {value}")
        elif outcome.status == "blocked":
            typer.echo(
                f"{outcome.partition_key}: stopped by a blocking check; no evidence published"
            )
            typer.echo(outcome.error)
        else:
            typer.echo(f"{outcome.partition_key}: evaluation FAILED; no evidence published")
            typer.echo(outcome.error)
        typer.echo("")


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
        int,
        typer.Option(
            min=1,
            help="DuckDB threads. Sums are computed in fixed point, so outputs are "
            "byte-identical for identical inputs with any number of threads.",
        ),
    ] = 1,
    memory_limit: Annotated[
        str | None,
        typer.Option(help="DuckDB memory limit such as 1GB; beyond it DuckDB spills to disk."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")
    ] = False,
) -> None:
    """Evaluate a CSV or Parquet file of predictions, without the orchestrator.

    Writes slice and fairness metrics (CSV, Parquet), reports and manifest.json to OUT.

    Exit code 0 on success; 2 when the config, the file or OUT is unusable (nothing written).
    """
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
    from rai_pipeline.app.evaluate_file import evaluate_file as run

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
        )
    except INPUT_ERRORS as error:
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


OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Check the files against the manifest only, not the manifest against the "
        "registry (said in the output).",
    ),
]
DigestOption = Annotated[
    str | None,
    typer.Option(
        help="The evidence digest to check the manifest against (for rai evaluate-file packs: "
        "the one printed when the pack was created).",
    ),
]
TrackingUriOption = Annotated[
    str | None,
    typer.Option(
        help="The MLflow registry that anchors the pack (default: the one the pack records)."
    ),
]


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
) -> None:
    """Release gate: exit 0 when every finding passes or has a valid disposition, 1 when not
    (listing what blocks), 2 on error, or when the pack does not verify against its manifest
    and the registry's evidence digest."""
    import datetime as dt

    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
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
        )
    except (*INPUT_ERRORS, KeyError) as error:
        typer.echo(f"rai gate: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
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
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
    from rai_pipeline.app.verify import run_verify

    try:
        report, anchor, lines = run_verify(
            evidence_dir, offline=offline, digest=digest, tracking_uri=tracking_uri
        )
    except INPUT_ERRORS as error:
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

    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
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
    except INPUT_ERRORS as error:
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
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, INPUT_ERRORS
    from rai_pipeline.app.reproduce import reproduce as run

    try:
        report = run(evidence_dir, echo=lambda line: typer.echo(line, err=True))
    except INPUT_ERRORS as error:
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
