"""What changing the threshold would cost, in words, from the ``threshold_whatif`` table.

Each sentence reads the table's rows for one dimension and constraint: the single threshold
in use, and per-group thresholds at each tolerance (see
:mod:`rai_pipeline.core.metrics.mitigation` for how they are computed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from rai_pipeline.core.metrics.mitigation import (
    PER_GROUP,
    SINGLE_THRESHOLD,
    STATUS_OK,
    WhatIf,
    constraint_for,
)

CONSTRAINT_WORDS = {
    "demographic_parity": "equal selection rates",
    "true_positive_rate_parity": "equal true positive rates",
    "false_positive_rate_parity": "equal false positive rates",
    "equalized_odds": "equal true and false positive rates (equalized odds)",
}
SHORT_WORDS = {  # the usual names, for the report's one-line-per-dimension recommendations
    "demographic_parity": "demographic parity",
    "true_positive_rate_parity": "equal opportunity",
    "false_positive_rate_parity": "equal false positive rates",
    "equalized_odds": "equalized odds",
}
NO_SCORES = "not computed: the decisions are given, so there are no scores to threshold"
NOT_TARGETED = "not applicable: choosing thresholds does not equalise this metric"
IN_SAMPLE = (
    "expected accuracy of randomized per-group thresholds on these evaluation rows; confirm on "
    "held-out data before adopting any"
)


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def cost_sentences(whatif: WhatIf | None) -> Callable[[str, str], str]:
    """``sentence(dimension, metric)``: one sentence, the accuracy and gap now and with
    per-group thresholds at each tolerance, for the constraint that targets ``metric`` in
    ``dimension``. The what-if table is read once (a register asks for one sentence per
    finding)."""
    records: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if whatif is not None:
        for record in whatif.options.to_dict("records"):
            records.setdefault((record["dimension"], record["constraint"]), []).append(record)
    said: dict[tuple[str, str], str] = {}

    def sentence(dimension: str, metric: str) -> str:
        constraint = constraint_for(metric)
        if constraint is None:
            return f"Per-group thresholds: {NOT_TARGETED}."
        if whatif is None:
            return f"Per-group thresholds: {NO_SCORES}."
        key = (dimension, constraint)
        if key not in said:
            said[key] = _sentence(records.get(key, []), dimension, constraint)
        return said[key]

    return sentence


def _sentence(rows: list[dict[str, Any]], dimension: str, constraint: str) -> str:
    """The sentence of :func:`cost_sentences` from the what-if rows of ``dimension`` and
    ``constraint``."""
    if not rows:
        return f"Per-group thresholds: not computed for {dimension}."
    if any(row["status"] != STATUS_OK for row in rows):
        return f"Per-group thresholds: not computed, {rows[0]['note']}."
    current = [row for row in rows if row["option"] == SINGLE_THRESHOLD]
    options = sorted(
        (row for row in rows if row["option"] == PER_GROUP), key=lambda row: row["tolerance"]
    )
    parts = []
    for row in options:
        target = (
            CONSTRAINT_WORDS[constraint]
            if row["tolerance"] == 0
            else f"a gap of at most {row['tolerance']:.2f}"
        )
        change = row["accuracy_change"]
        shown = "" if math.isnan(change) else f" ({_signed(change)})"
        parts.append(f"{target}: accuracy {row['accuracy']:.3f}{shown}")
    now = ""
    if current:
        first = current[0]
        now = f"now accuracy {first['accuracy']:.3f} with a gap of {first['disparity']:.3f}; "
    return f"Per-group thresholds for {CONSTRAINT_WORDS[constraint]} in {dimension}: {now}" + (
        "; ".join(parts) + f" ({IN_SAMPLE})."
    )


def current_accuracy(whatif: WhatIf | None) -> float | None:
    """The accuracy of the single threshold in use, as the what-if table has it."""
    if whatif is None:
        return None
    single = whatif.options[whatif.options["option"] == SINGLE_THRESHOLD]
    return float(single["accuracy"].iloc[0]) if len(single) else None


def headline_cost(whatif: WhatIf | None, dimension: str, metrics: list[str]) -> str:
    """The accuracy per-group thresholds would reach at each equality that ``metrics`` call
    for, with its change (``demographic parity 0.852 (-0.019), ...``); "" when there is
    nothing to say."""
    if whatif is None:
        return ""
    constraints = list(dict.fromkeys(c for m in metrics if (c := constraint_for(m))))
    of_dimension = whatif.options[whatif.options["dimension"] == dimension]
    rows = of_dimension[of_dimension["status"] == STATUS_OK]
    if constraints and rows.empty and len(of_dimension):
        return f"per-group thresholds not computed ({of_dimension['note'].iloc[0]})"
    parts = []
    for constraint in constraints:
        exact = rows[
            (rows["constraint"] == constraint)
            & (rows["option"] == PER_GROUP)
            & (rows["tolerance"] == 0)
        ]
        if len(exact):
            row = exact.iloc[0]
            change = row["accuracy_change"]
            shown = "" if math.isnan(change) else f" ({_signed(change)})"
            parts.append(f"{SHORT_WORDS[constraint]} {row['accuracy']:.3f}{shown}")
    return ", ".join(parts)


def whatif_view(whatif: WhatIf | None) -> list[dict[str, object]]:
    """The report's what-if table: per dimension and constraint, the single threshold and the
    per-group options, each with accuracy, its change and the gap reached."""
    if whatif is None or whatif.options.empty:
        return []
    out = []
    options = whatif.options
    for (dimension, constraint), block in options.groupby(["dimension", "constraint"], sort=False):
        out.append(
            {
                "dimension": dimension,
                "constraint": constraint,
                "words": CONSTRAINT_WORDS[str(constraint)],
                "rows": _rows(block),
                "note": str(block["note"].iloc[0]) if (block["status"] != STATUS_OK).any() else "",
            }
        )
    return out


def _rows(block: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {
            "option": row.option
            if row.option == SINGLE_THRESHOLD
            else (
                "per-group, equal rates"
                if row.tolerance == 0
                else f"per-group, gap at most {row.tolerance:.2f}"
            ),
            "accuracy": row.accuracy,
            "change": "—"
            if row.option == SINGLE_THRESHOLD or math.isnan(row.accuracy_change)
            else f"{row.accuracy_change:+.3f}",
            "gap": row.disparity,
        }
        for row in block[block["status"] == STATUS_OK].itertuples(index=False)
    ]
