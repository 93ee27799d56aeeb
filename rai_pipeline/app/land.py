"""``rai land``: the data set an evaluation config names becomes a content-addressed dataset
version under RAI_HOME, the one the pipeline evaluates next.

The source is read and checked first (:mod:`~rai_pipeline.app.dataset_file`); nothing is
written unless every rule holds. Landing the same rows again is a no-op that reports the
existing version; landing other rows adds a version and points ``current`` at it (earlier
versions stay, and packs evaluated on them stay traceable).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rai_pipeline.app.dataset_file import ID, LABEL, read_dataset
from rai_pipeline.app.input_reader import connect
from rai_pipeline.core.config.schema import load_config
from rai_pipeline.core.landing.extracts import LandedDataset, land_evaluation_extracts
from rai_pipeline.settings import RaiHome

Echo = Callable[[str], None]


@dataclass(frozen=True)
class LandResult:
    landed: LandedDataset
    source: str
    rows: int
    features: list[str]
    attribute_sources: list[str]

    def lines(self) -> list[str]:
        """What ``rai land`` prints."""
        landed = self.landed
        state = "landed" if landed.created else "already landed (same rows; nothing written)"
        out = [
            f"dataset version {landed.dataset_version}  {state}",
            f"  source     {self.source}  ({self.rows:,} rows)",
            f"  features   {', '.join(self.features)}",
            f"  attributes {', '.join(self.attribute_sources)}",
            f"  extracts   {landed.directory}",
        ]
        if landed.previous_version is not None:
            out.append(f"  current    was {landed.previous_version}, now this version")
        return out


def land(config_path: Path, *, home: RaiHome, echo: Echo = print) -> LandResult:
    """Read, check and land the data set of the config at ``config_path`` under ``home``.

    Raises
    ------
    ConfigError
        The config is invalid.
    InputFileError
        The data set breaks a rule (every problem listed); nothing is written.
    """
    config = load_config(config_path)
    echo(f"Reading the data set of {config_path}")
    with tempfile.TemporaryDirectory(prefix="rai-land-") as spill:
        conn = connect(threads=2, memory_limit=None, spill=Path(spill))
        try:
            dataset = read_dataset(conn, config, config_path, warehouse=home.warehouse)
        finally:
            conn.close()
    echo(f"Checked {dataset.rows:,} rows; writing the extracts")
    landed = land_evaluation_extracts(
        dataset.frame,
        landing_dir=home.landing,
        label_column=LABEL,
        attribute_columns=dataset.attribute_sources,
        feature_columns=dataset.features,
        id_column=ID,
        replace_current=True,
    )
    return LandResult(
        landed=landed,
        source=dataset.source,
        rows=dataset.rows,
        features=dataset.features,
        attribute_sources=dataset.attribute_sources,
    )
