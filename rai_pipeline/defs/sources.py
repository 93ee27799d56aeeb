"""The landed extracts that dbt reads, at the root of the lineage graph.

The files are written by ``rai_pipeline.core.landing.extracts`` (``rai demo`` lands the bundled
dataset), not by Dagster. Materializing ``landing_extracts`` records which landed files a run
reads: it checks each extract against the sha256 recorded in ``dataset_version.parquet`` and
reports each file's sha256 as the asset's data version, so Dagster shows downstream assets
as stale when a different dataset is landed.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from rai_pipeline.core.landing.extracts import (
    CURRENT_LINK,
    LandingIntegrityError,
    dataset_version_of,
)
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.defs.lineage import asset_code_version
from rai_pipeline.defs.resources import RaiHomeResource

EXTRACTS = {
    "examples": ("examples.parquet", "Evaluation examples: example_id and model features."),
    "labels": ("labels.parquet", "Ground-truth labels: example_id and label 0/1."),
    "subject_attributes": (
        "subject_attributes.parquet",
        "Sensitive attributes of each example's subject (restricted columns).",
    ),
    "dataset_versions": (
        "dataset_version.parquet",
        "One row: the dataset version digest and each extract's sha256 and row count.",
    ),
}
SUMMARY = "dataset_versions"
GROUP = "landing"
CODE_VERSION = asset_code_version("rai_pipeline.core.landing.extracts", __name__)

MSG_NOT_LANDED = (
    "no landed evaluation dataset at {path}: land one first (`rai demo` lands the bundled "
    "dataset; rai_pipeline.core.landing.land_evaluation_extracts lands your own)"
)
MSG_EXTRACT_CHANGED = (
    "{path} has sha256 {actual}, but {summary} records {expected}: the landed extract changed"
)
MSG_VERSION_CHANGED = (
    "{path} records dataset version {recorded}, but its extracts' digests give {computed}"
)


@dataclass(frozen=True)
class LandedFile:
    """One landed file as a run reads it."""

    name: str
    path: Path
    sha256: str
    rows: int
    dataset_version: str


def read_landed_files(current_dir: Path) -> list[LandedFile]:
    """The landed files under ``current_dir`` (``landing/evaluation/current``), checked.

    Each extract's sha256 must equal the one ``dataset_version.parquet`` records, and the
    recorded dataset version must be the digest of those sha256s; otherwise
    :class:`~rai_pipeline.core.landing.extracts.LandingIntegrityError`. Paths are resolved to the
    immutable ``versions/<dataset_version>`` folder.
    """
    summary_path = current_dir / EXTRACTS[SUMMARY][0]
    if not summary_path.is_file():
        raise FileNotFoundError(MSG_NOT_LANDED.format(path=current_dir))
    [summary] = pq.read_table(summary_path).to_pylist()
    version = str(summary["dataset_version"])
    files, digests = [], {}
    for name, (filename, _) in EXTRACTS.items():
        path = (current_dir / filename).resolve()
        actual = file_sha256(path)
        if name == SUMMARY:
            files.append(LandedFile(name, path, actual, 1, version))
            continue
        expected = str(summary[f"{name}_sha256"])
        if actual != expected:
            raise LandingIntegrityError(
                MSG_EXTRACT_CHANGED.format(
                    path=path, actual=actual, summary=summary_path.name, expected=expected
                )
            )
        digests[name] = actual
        files.append(LandedFile(name, path, actual, int(summary[f"{name}_rows"]), version))
    computed = dataset_version_of(digests)
    if computed != version:
        raise LandingIntegrityError(
            MSG_VERSION_CHANGED.format(path=summary_path, recorded=version, computed=computed)
        )
    return files


def landed_file_metadata(landed: LandedFile) -> dict:
    return {
        "path": dg.MetadataValue.path(str(landed.path)),
        "sha256": landed.sha256,
        "dataset_version": landed.dataset_version,
        "dagster/row_count": landed.rows,
    }


landing_specs = [
    dg.AssetSpec(
        key=[GROUP, name],
        description=description,
        group_name=GROUP,
        kinds={"parquet"},
        code_version=CODE_VERSION,
        metadata={"location": f"$RAI_HOME/landing/evaluation/{CURRENT_LINK}/{filename}"},
    )
    for name, (filename, description) in EXTRACTS.items()
]


@dg.multi_asset(specs=landing_specs, name="landing_extracts")
def landing_extracts(rai_home: RaiHomeResource) -> Iterator[dg.MaterializeResult]:
    """Check the landed extracts and record each file's sha256 as its data version."""
    for landed in read_landed_files(rai_home.get().landing / CURRENT_LINK):
        yield dg.MaterializeResult(
            asset_key=[GROUP, landed.name],
            metadata=landed_file_metadata(landed),
            data_version=dg.DataVersion(landed.sha256),
        )


landing_sources = [landing_extracts]
