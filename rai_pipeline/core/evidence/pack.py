"""Assemble the files of an evidence pack in a staging folder.

Tables are written as Parquet and CSV with settings that make identical inputs give
identical bytes; documents are rendered from the same tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rai_pipeline.core.evidence.render import DOCUMENTS, ReportContext, render_document

TABLES = ("slice_metrics", "fairness_metrics")


def write_table(frame: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """``<name>.parquet`` and ``<name>.csv``, byte-deterministic for identical frames."""
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, parquet, compression="zstd", write_statistics=False)
    frame.to_csv(csv, index=False, lineterminator="\n")
    return [parquet, csv]


def assemble_pack(staging: Path, context: ReportContext) -> list[Path]:
    """Write the tables and documents of one evaluation into ``staging``."""
    staging.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    written += write_table(context.slice_metrics, staging, "slice_metrics")
    written += write_table(context.fairness_metrics, staging, "fairness_metrics")
    for filename, template in DOCUMENTS.items():
        path = staging / filename
        path.write_text(render_document(template, context), encoding="utf-8")
        written.append(path)
    return written
