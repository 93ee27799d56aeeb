"""The ``rai`` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from rai_pipeline.settings import PROJECT_ROOT, configure_environment, rai_home

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
    typer.echo("")
    for outcome in outcomes:
        if outcome.success and outcome.summary is not None:
            typer.echo(f"{outcome.partition_key}  ->  {outcome.pack}")
            typer.echo(outcome.summary.to_string(index=False, header=False))
            typer.echo("")
        else:
            typer.echo(f"{outcome.partition_key}: evaluation FAILED; no evidence published")
            typer.echo(outcome.error)
    typer.echo(f"Evidence packs: {home.evidence}")
    typer.echo(f"MLflow store:   {home.tracking_uri}  (experiments 'rai/<model>')")
    typer.echo("Browse the asset graph and runs: make ui  ->  http://127.0.0.1:3000")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def ui(port: int = typer.Option(3000, help="Port for the Dagster UI on 127.0.0.1.")) -> None:
    """Start the Dagster UI (and daemon, so the registry sensor runs) on 127.0.0.1."""
    configure_environment()
    from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest

    ensure_dbt_manifest()
    dagster = str(Path(sys.executable).with_name("dagster"))
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    os.execv(dagster, [dagster, "dev", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)])


if __name__ == "__main__":
    app()
