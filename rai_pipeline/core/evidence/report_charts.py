"""The curves a single-attribute dimension gets in the HTML report: ROC, selection rate by
threshold, and calibration with each point's Wilson interval, for the groups that meet the
minimum size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rai_pipeline.core.evidence.charts import line_chart_svg
from rai_pipeline.core.metrics.calibration import CALIBRATION_OK
from rai_pipeline.core.stats.intervals import wilson_interval

if TYPE_CHECKING:
    from rai_pipeline.core.evidence.render import ReportContext


def curve_charts(
    context: ReportContext, dimension: str, groups: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """ROC, threshold-sensitivity and reliability charts for a single-attribute dimension,
    drawn for the groups that meet the minimum size."""
    out: dict[str, Any] = {"curves": [], "calibration_errors": [], "calibration_note": ""}
    if "&" in dimension:
        return out
    shown = [g["group"] for g in groups if g["status"] == "ok"]
    curves = context.threshold_curves
    if curves is not None and not curves.empty:
        rows = curves[curves["dimension"] == dimension]
        roc, sensitivity = [], []
        for group in shown:
            block = rows[rows["group"] == group].sort_values("threshold", ascending=False)
            fpr = [0.0, *block["false_positive_rate"], 1.0]
            tpr = [0.0, *block["true_positive_rate"], 1.0]
            roc.append((group, fpr, tpr))
            ordered = block.sort_values("threshold")
            sensitivity.append((group, list(ordered["threshold"]), list(ordered["selection_rate"])))
        out["curves"].append(
            line_chart_svg(
                roc,
                title=f"ROC by {dimension}",
                x_label="false positive rate",
                y_label="true positive rate",
                diagonal=True,
            )
        )
        out["curves"].append(
            line_chart_svg(
                sensitivity,
                title=f"Selection rate by threshold, {dimension}",
                x_label="threshold",
                y_label="selection rate",
                marker_x=context.threshold,
            )
        )
    calibration = context.calibration
    if calibration is not None and calibration.status != CALIBRATION_OK:
        out["calibration_note"] = calibration.reason
    elif calibration is not None:
        reliability = calibration.curve[calibration.curve["dimension"] == dimension]
        blocks = [(group, reliability[reliability["group"] == group]) for group in shown]
        series = [
            (group, list(block["mean_score"]), list(block["fraction_of_positives"]))
            for group, block in blocks
        ]
        whiskers = []
        for _, block in blocks:
            low, high = wilson_interval(
                block["n_pos"].to_numpy(), block["n"].to_numpy(),
                confidence_level=context.confidence_level,
            )  # fmt: skip
            whiskers.append((np.atleast_1d(low).tolist(), np.atleast_1d(high).tolist()))
        out["curves"].append(
            line_chart_svg(
                series,
                title=f"Calibration by {dimension}",
                x_label="mean predicted score",
                y_label="observed positive rate",
                diagonal=True,
                intervals=whiskers,
            )
        )
        errors = calibration.errors[calibration.errors["dimension"] == dimension]
        out["calibration_errors"] = errors.to_dict("records")
    return out
