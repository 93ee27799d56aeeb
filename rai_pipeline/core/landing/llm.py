"""Landing an LLM safety set: the tables of :mod:`rai_pipeline.core.llm_safety.landing` as
immutable, content-addressed Parquet files, the same way evaluation data sets are landed.

Layout under ``landing_dir`` (``$RAI_HOME/landing/llm/<model name>``)::

    versions/<set_version>/llm_prompts.parquet, llm_responses.parquet, llm_ratings.parquet,
                           llm_versions.parquet, llm_set.parquet
    current -> versions/<set_version>      (what the dbt sources read)

``llm_set.parquet`` holds one row: the set version (the digest of the other files' sha256,
as :func:`~rai_pipeline.core.landing.extracts.dataset_version_of`) and each file's sha256
and row count. Landing a changed set moves ``current``; the earlier version stays.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from rai_pipeline.core.landing.extracts import (
    CURRENT_LINK,
    VERSIONS_DIR,
    LandingIntegrityError,
    dataset_version_of,
    point_current,
    publish_version,
)
from rai_pipeline.core.storage import EXTRACT_OPTIONS, file_sha256, write_parquet

TABLES = ("llm_prompts", "llm_responses", "llm_ratings", "llm_versions")
SUMMARY = "llm_set"
MSG_NOT_LANDED = "no landed LLM safety set at {path}: land one first (rai land-llm --config C)"
MSG_CHANGED = (
    "{path} has sha256 {actual}, but {summary} records {expected}: the landed file changed"
)


@dataclass(frozen=True)
class LandedLlmSet:
    set_version: str
    directory: Path
    current_dir: Path
    sha256: dict[str, str]
    rows: dict[str, int]
    created: bool
    previous_version: str | None


def land_llm_tables(tables: Mapping[str, pd.DataFrame], landing_dir: Path) -> LandedLlmSet:
    """Write the four tables and the summary into a new version folder (or verify the one
    that exists) and point ``current`` at it."""
    landing_dir = Path(landing_dir).absolute()
    (landing_dir / VERSIONS_DIR).mkdir(parents=True, exist_ok=True)
    tmp_dir = landing_dir / f".tmp-{uuid.uuid4().hex}"
    tmp_dir.mkdir()
    try:
        sha256, rows = {}, {}
        for name in TABLES:
            path = tmp_dir / f"{name}.parquet"
            write_parquet(tables[name], path, options=EXTRACT_OPTIONS, durable=True)
            sha256[name], rows[name] = file_sha256(path), len(tables[name])
        version = dataset_version_of(sha256)
        summary = pd.DataFrame(
            [
                {
                    "set_version": version,
                    **{f"{n}_sha256": sha256[n] for n in TABLES},
                    **{f"{n}_rows": rows[n] for n in TABLES},
                }
            ]
        ).astype({f"{n}_rows": "int64" for n in TABLES})
        write_parquet(
            summary, tmp_dir / f"{SUMMARY}.parquet", options=EXTRACT_OPTIONS, durable=True
        )
        sha256[SUMMARY], rows[SUMMARY] = file_sha256(tmp_dir / f"{SUMMARY}.parquet"), 1
        directory = landing_dir / VERSIONS_DIR / version
        created = publish_version(tmp_dir, directory, sha256)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)
    previous = point_current(landing_dir, version, replace_current=True)
    return LandedLlmSet(
        version, directory, landing_dir / CURRENT_LINK, sha256, rows, created, previous
    )


def read_landed_llm_set(landing_dir: Path) -> LandedLlmSet:
    """The set ``current`` points at, each file checked against the summary's sha256."""
    current = Path(landing_dir) / CURRENT_LINK
    summary_path = current / f"{SUMMARY}.parquet"
    if not summary_path.is_file():
        raise FileNotFoundError(MSG_NOT_LANDED.format(path=landing_dir))
    [summary] = pq.read_table(summary_path).to_pylist()
    sha256 = {SUMMARY: file_sha256(summary_path)}
    rows = {SUMMARY: 1}
    for name in TABLES:
        path = current / f"{name}.parquet"
        actual, expected = file_sha256(path), str(summary[f"{name}_sha256"])
        if actual != expected:
            raise LandingIntegrityError(
                MSG_CHANGED.format(
                    path=path.resolve(), actual=actual, summary=summary_path.name, expected=expected
                )
            )
        sha256[name], rows[name] = actual, int(summary[f"{name}_rows"])
    version = str(summary["set_version"])
    return LandedLlmSet(version, current.resolve(), current, sha256, rows, False, None)
