"""Lineage that every evaluation records, and the provenance Dagster shows for each asset.

- :func:`code_lineage`: the ids written into every evidence pack (git commit, dbt manifest,
  package version).
- :func:`asset_code_version`: an asset's Dagster code version, a digest of the source files
  that implement it (see :func:`rai_pipeline.code_version.module_source_files`).
- ``*_digest``: the content digests that are the assets' Dagster data versions.
"""

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from rai_pipeline.code_version import code_version, modules_code_version
from rai_pipeline.core.landing.extracts import PREDICTIONS_TABLE
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.defs.dbt.project import dbt_project

SCORE_BATCH_ROWS = 1 << 20
SCORED_ROW = np.dtype([("example_id", "<i8"), ("score", "<f8")])


def code_lineage() -> dict[str, str]:
    return {**code_version(), "dbt_manifest_sha256": file_sha256(dbt_project.manifest_path)}


def asset_code_version(*modules: str) -> str:
    """The code version of an asset implemented by ``modules`` (module or package names)."""
    return modules_code_version(modules)


# Data versions ---------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """One cell as a JSON value: missing values as null, integral numbers as integers (so a
    count stored as 3 or 3.0 is the same content), other floats by their shortest repr."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return int(number) if number.is_integer() else number
    return str(value)


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a table's contents, independent of row order and column order.

    The text hashed is the JSON list of column names (sorted), then one JSON line per row
    (cells in that column order, see :func:`_canonical`), lines sorted, all joined by ``\\n``.
    """
    columns = sorted(frame.columns, key=str)
    rows = sorted(
        json.dumps([_canonical(v) for v in row], separators=(",", ":"))
        for row in frame[columns].itertuples(index=False, name=None)
    )
    text = "\n".join([json.dumps([str(c) for c in columns]), *rows])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scores_digest(batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> str:
    """sha256 over scored rows in example order: per row, ``example_id`` as 8-byte
    little-endian int64, then ``score`` as 8-byte little-endian IEEE-754 float64."""
    digest = hashlib.sha256()
    for example_ids, scores in batches:
        rows = np.empty(len(example_ids), dtype=SCORED_ROW)
        rows["example_id"] = example_ids
        rows["score"] = scores
        digest.update(rows.tobytes())
    return digest.hexdigest()


def predictions_digest(conn: Any, *, model_name: str, model_version: str) -> str:
    """:func:`scores_digest` of one model version's rows in the predictions table: streamed
    from DuckDB in batches (memory stays bounded), read in one batch from another engine."""
    sql = (
        f"select example_id, score from {PREDICTIONS_TABLE} "
        "where model_name = ? and model_version = ? order by example_id"
    )
    if not isinstance(conn, duckdb.DuckDBPyConnection):  # another engine: one batch
        rows = conn.execute(sql, [model_name, model_version]).df()
        return scores_digest(
            [(rows["example_id"].to_numpy(np.int64), rows["score"].to_numpy(np.float64))]
        )
    reader = conn.sql(sql, params=[model_name, model_version]).to_arrow_reader(SCORE_BATCH_ROWS)
    return scores_digest(
        (
            batch.column(0).to_numpy(zero_copy_only=False),
            batch.column(1).to_numpy(zero_copy_only=False),
        )
        for batch in reader
    )
