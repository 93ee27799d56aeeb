"""What changed between two model versions evaluated on the same examples.

Both versions' decisions on each example are joined in the warehouse and counted per slice
into eight *paired cells* (label x previous decision x current decision;
:mod:`~rai_pipeline.core.engine.paired`). Every rate of
either version is a function of those counts, and so is the paired 2×2 table of each rate's
outcome (both versions have it, only one, neither) over the rows it is about: all rows for
``selection_rate`` and ``accuracy_score``, the positives for ``true_positive_rate``, the
negatives for ``false_positive_rate``. The interval of the change is Tango's score interval for
paired proportions, which keeps the correlation between the versions that an unpaired
comparison would ignore and does not collapse when the versions agree on every row.

A metric *regresses* when the whole interval of (current - previous) lies on the bad side of
zero (lower for ``true_positive_rate`` and ``accuracy_score``, higher for
``false_positive_rate``); ``selection_rate`` has no good direction and is reported as
``changed``. A comparison makes many such claims (groups x metrics), so by default their levels
are adjusted together by Benjamini–Hochberg.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.engine.paired import CELL_COLUMNS
from rai_pipeline.core.stats.intervals import (
    check_confidence_level,
    tango_paired_difference,
    two_sided_p,
    z_value,
)
from rai_pipeline.core.stats.multiple_testing import (
    MultipleTesting,
    MultipleTestingSetting,
    method_for,
    rejection_levels,
)
from rai_pipeline.core.stats.rates import ratio_of

DIRECTION = {
    "selection_rate": 0,
    "true_positive_rate": 1,
    "false_positive_rate": -1,
    "accuracy_score": 1,
}
COMPARISON_COLUMNS = [
    "dimension",
    "group",
    "n",
    "metric",
    "previous",
    "current",
    "delta",
    "ci_lower",
    "ci_upper",
    "change",
    "adjustment",
    "confidence_level",
    "family_size",
]
AUTO_COMPARISON: MultipleTesting = "bh"  # what `multiple_testing: auto` applies here


def _paired_counts(cells: np.ndarray) -> dict[str, tuple[Any, ...]]:
    """Per metric, from (..., 8) cell counts: ``(both, n12, n21, total)`` of the paired 2x2
    table of the metric's outcome over the ``total`` rows the rate is about: ``both`` rows where
    both versions have the outcome, ``n12`` where only the current one has, ``n21`` where only
    the previous one has."""
    c = {col: cells[..., i].astype(float) for i, col in enumerate(CELL_COLUMNS)}
    n = cells.sum(axis=-1).astype(float)
    positives = sum(c[f"y1_p{p}_c{q}"] for p in (0, 1) for q in (0, 1))
    return {
        "selection_rate": (
            c["y0_p1_c1"] + c["y1_p1_c1"],
            c["y0_p0_c1"] + c["y1_p0_c1"],
            c["y0_p1_c0"] + c["y1_p1_c0"],
            n,
        ),
        "true_positive_rate": (c["y1_p1_c1"], c["y1_p0_c1"], c["y1_p1_c0"], positives),
        "false_positive_rate": (c["y0_p1_c1"], c["y0_p0_c1"], c["y0_p1_c0"], n - positives),
        "accuracy_score": (
            c["y1_p1_c1"] + c["y0_p0_c0"],
            c["y1_p0_c1"] + c["y0_p1_c0"],
            c["y1_p1_c0"] + c["y0_p0_c1"],
            n,
        ),
    }


def mcnemar_p_values(n12: npt.ArrayLike, n21: npt.ArrayLike) -> Any:
    r"""Two-sided p-values of "the paired rates differ": :math:`\operatorname{erfc}(|T| /
    \sqrt 2)` with McNemar's :math:`T = (n_{12} - n_{21}) / \sqrt{n_{12} + n_{21}}`, which is
    Tango's statistic at :math:`\Delta = 0`, so the Tango interval at level :math:`1 - \alpha`
    excludes 0 exactly when :math:`p < \alpha`; 1 without discordant rows."""
    b, c = np.asarray(n12, dtype=np.float64), np.asarray(n21, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.abs(b - c) / np.sqrt(b + c)
    return np.where(b + c > 0, two_sided_p(statistic), 1.0)


def compare_versions(
    cells: pd.DataFrame,
    *,
    min_group_size: int = 30,
    confidence_level: float = 0.95,
    multiple_testing: MultipleTestingSetting = "auto",
) -> pd.DataFrame:
    """Per slice and metric: previous, current, delta with a paired score interval, change.

    The interval of ``delta = current - previous`` is Tango's score interval for paired
    proportions (:func:`~rai_pipeline.core.stats.intervals.tango_paired_difference`) over the
    rows the rate is about (all, the positives or the negatives). Every row of a group with at
    least ``min_group_size`` rows whose rate is defined is one claim of the comparison's family;
    ``multiple_testing`` (``auto``: Benjamini–Hochberg) adjusts their levels together, and
    ``change`` is read off the row's interval at its level.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`, rows in the order of ``cells`` and
        :data:`DIRECTION`.
    """
    level = check_confidence_level(confidence_level)
    method = method_for(multiple_testing, auto=AUTO_COMPARISON)
    alpha = 1 - level
    counts = cells[CELL_COLUMNS].to_numpy(dtype=np.int64)
    paired = _paired_counts(counts)
    n = counts.sum(axis=1)
    metrics = list(DIRECTION)
    both, n12, n21, total = (
        np.stack([paired[m][k] for m in metrics], axis=1).ravel() for k in range(4)
    )
    previous, current = ratio_of(both + n21, total), ratio_of(both + n12, total)
    sizes = np.repeat(n, len(metrics))
    tested = (sizes >= min_group_size) & (total > 0)
    p_values = mcnemar_p_values(n12, n21)
    levels = np.full(tested.size, alpha)
    family_size = int(tested.sum()) if method != "none" else 1
    if method != "none" and tested.any():
        levels[tested] = rejection_levels(p_values[tested], alpha=alpha, method=method)[0]
    lower, upper = tango_paired_difference(n12, n21, total, z_value(levels))
    directions = np.tile([DIRECTION[m] for m in metrics], len(cells))
    change = [
        "insufficient_sample"
        if not ok
        else "no_significant_change"
        if low <= 0 <= high
        else "changed"
        if direction == 0
        else "improvement"
        if (low > 0) == (direction > 0)
        else "regression"
        for ok, low, high, direction in zip(tested, lower, upper, directions, strict=True)
    ]
    return pd.DataFrame(
        {
            "dimension": np.repeat(cells["dimension"].to_numpy(dtype=object), len(metrics)),
            "group": np.repeat(cells["group"].to_numpy(dtype=object), len(metrics)),
            "n": sizes.astype(np.int64),
            "metric": np.tile(np.array(metrics, dtype=object), len(cells)),
            "previous": previous,
            "current": current,
            "delta": current - previous,
            "ci_lower": lower,
            "ci_upper": upper,
            "change": change,
            "adjustment": method,
            "confidence_level": 1 - levels,
            "family_size": np.where(tested, family_size, 1).astype(np.int64),
        },
        columns=COMPARISON_COLUMNS,
    )
