"""``rai dispositions``: the reviewer's decisions about a pack's findings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rai_pipeline.cli.base import app

dispositions_app = typer.Typer(
    help="Reviewer dispositions of a pack's findings (docs/governance.md).",
    no_args_is_help=True,
)
app.add_typer(dispositions_app, name="dispositions")


@dispositions_app.command()
def template(
    evidence_dir: Annotated[Path, typer.Argument(help="An evidence pack folder.")],
) -> None:
    """Print a dispositions file with one stub per finding of the pack, to fill in:
    `rai dispositions template PACK > dispositions.yaml`. Read-only."""
    from rai_pipeline.app.dispositions_template import dispositions_template
    from rai_pipeline.app.errors import EXIT_BAD_INPUT, input_errors

    try:
        text = dispositions_template(evidence_dir)
    except input_errors() as error:
        typer.echo(f"rai dispositions template: {error}", err=True)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None
    typer.echo(text, nl=False)
