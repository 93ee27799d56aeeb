"""Assemble the files of an evidence pack in a staging folder.

Tables are written as Parquet and CSV with settings that make identical inputs give
identical bytes; documents are rendered from the same tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from rai_pipeline.core.evidence.escaping import spreadsheet_safe
from rai_pipeline.core.evidence.governance import approvals, completeness, launch_checklist
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.evidence.render import (
    DOCUMENTS,
    ReportContext,
    register_of,
    render_checklist,
    render_document,
    report_view,
)
from rai_pipeline.core.storage import write_parquet

TABLES = ("slice_metrics", "fairness_metrics")


def write_table(frame: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """``<name>.parquet`` and ``<name>.csv``, byte-deterministic for identical frames. The CSV
    is for spreadsheets: a text cell that would run as a formula starts with ``'``
    (:func:`~rai_pipeline.core.evidence.escaping.spreadsheet_safe`)."""
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    write_parquet(frame, parquet)
    spreadsheet_safe(frame).to_csv(csv, index=False, lineterminator="\n")
    return [parquet, csv]


def _json(path: Path, payload: object) -> Path:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path


def assemble_pack(staging: Path, context: ReportContext) -> list[Path]:
    """Write the tables and documents of one evaluation into ``staging``."""
    staging.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    written += write_table(context.slice_metrics, staging, "slice_metrics")
    written += write_table(context.fairness_metrics, staging, "fairness_metrics")
    if context.comparison is not None:
        written += write_table(context.comparison, staging, "version_comparison")
    if context.threshold_curves is not None:
        written += write_table(context.threshold_curves, staging, "threshold_curves")
    if context.threshold_whatif is not None:
        written += write_table(context.threshold_whatif.options, staging, "threshold_whatif")
        written += write_table(context.threshold_whatif.groups, staging, "threshold_whatif_groups")
    if context.feature_importance is not None:
        written += write_table(
            context.feature_importance.importances, staging, "feature_importance"
        )
        written += write_table(
            context.feature_importance.differences, staging, "feature_importance_differences"
        )
        if context.feature_importance.shap is not None:
            written += write_table(context.feature_importance.shap, staging, "shap_summary")
    if context.calibration is not None and not context.calibration.curve.empty:
        written += write_table(context.calibration.curve, staging, "calibration_curves")
        written += write_table(context.calibration.errors, staging, "calibration_errors")
    register = register_of(context)
    spreadsheet_safe(register).to_csv(
        staging / "risk_register.csv", index=False, lineterminator="\n"
    )
    written.append(staging / "risk_register.csv")
    written.append(_json(staging / "risk_register.json", register.to_dict("records")))
    items = launch_checklist(
        quality_checks=context.quality_checks,
        slice_metrics=context.slice_metrics,
        sensitive_dimensions=[d for d in dict.fromkeys(context.slice_metrics["dimension"])],
        resolutions=context.resolutions,
        intended_use=context.intended_use,
        owners=context.owners,
        mlflow_run_id=str(context.lineage.get("mlflow_run_id", "")),
        evaluated_on=context.evaluated_on,
        dataset_documentation=context.dataset_documentation,
    )
    title = f"{context.model_name} version {context.model_version}"
    signoffs = approvals(context.resolutions)
    (staging / "launch_checklist.md").write_text(
        render_checklist(items, title=title, signoffs=signoffs)
    )
    written.append(staging / "launch_checklist.md")
    checklist = {
        "completeness_percent": completeness(items),
        "items": [item.__dict__ for item in items],
        "approvals": signoffs,
    }
    written.append(_json(staging / "launch_checklist.json", checklist))
    files = sorted({p.name for p in written} | set(DOCUMENTS) | {MANIFEST_NAME})
    view = report_view(context, register)
    for filename, template in DOCUMENTS.items():
        path = staging / filename
        path.write_text(
            render_document(template, context, files=files, view=view), encoding="utf-8"
        )
        written.append(path)
    return written
