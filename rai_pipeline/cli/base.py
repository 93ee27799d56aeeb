"""The ``rai`` application and the options its commands share."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

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

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Evaluation config (YAML). Default: $RAI_CONFIG, else the demo's config.",
        dir_okay=False,
    ),
]
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
