"""Equal-width score bins with exact edges: the same edges in SQL and in Python."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from rai_pipeline.core.engine.slices import SliceSpecError

SCORE_RANGE_UNIT = (0.0, 1.0)
SCORE_RANGE_AUTO: Literal["auto"] = "auto"
MSG_BINS = "bins must be an int >= 1, got {bins!r}"
MSG_SCORE_RANGE = (
    "score_range must be 'auto' or (lower, upper) with finite lower < upper, got {value!r}"
)


def histogram_edges(score_range: tuple[float, float], bins: int) -> npt.NDArray[np.float64]:
    """The ``bins + 1`` bin edges of :func:`compute_score_histograms` for a score range.

    Edge :math:`k` is :math:`e_k = lo + w \\cdot k / bins` with :math:`w = hi - lo`, evaluated in
    IEEE double precision exactly as the SQL evaluates it, and the last edge is :math:`hi`
    itself. A score :math:`s` lies in bin :math:`b` exactly when :math:`e_b \\le s < e_{b+1}`
    (the last bin also holds :math:`hi`), so for every edge :math:`e_k` with :math:`k < bins`
    the rows with :math:`s \\ge e_k` are exactly those in bins :math:`k, \\dots, bins - 1`.

    Examples
    --------
    >>> histogram_edges((0.0, 1.0), 4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    lower, upper = check_score_range(score_range)
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise SliceSpecError(MSG_BINS.format(bins=bins))
    width = upper - lower
    edges = lower + width * np.arange(int(bins) + 1, dtype=np.int64) / int(bins)
    edges[-1] = upper
    return edges


def check_score_range(score_range: object) -> tuple[float, float]:
    valid = (
        isinstance(score_range, tuple | list)
        and len(score_range) == 2
        and all(
            isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            for v in score_range
        )
    )
    if valid:
        lower, upper = float(score_range[0]), float(score_range[1])  # type: ignore[index]
        if np.isfinite(lower) and np.isfinite(upper) and lower < upper:
            return lower, upper
    raise SliceSpecError(MSG_SCORE_RANGE.format(value=score_range))


def resolve_score_range(
    fixed: tuple[float, float] | None, score_min: float, score_max: float
) -> tuple[float, float]:
    """The range histogram bins cover: ``fixed`` when given, else [0, 1] when every score
    lies in it, else the observed [min, max] (or [s, s + 1] when all scores equal s)."""
    if fixed is not None:
        return fixed
    if score_min >= 0.0 and score_max <= 1.0:
        return SCORE_RANGE_UNIT
    if score_min < score_max:
        return score_min, score_max
    return score_min, score_min + 1.0


def binning_sql() -> str:
    """CTEs ``estimated`` and ``binned`` over ``frame``: column ``bin`` is the equal-width bin
    of ``s`` on [$lower, $lower + $width] (``$bins`` bins), corrected by one where
    floating-point rounding put ``s`` on the wrong side of an edge of :func:`histogram_edges`."""
    edge = "($lower + $width * {k} / $bins)"
    return f"""estimated AS (
    SELECT *,
        LEAST(GREATEST(CAST(floor((s - $lower) / $width * $bins) AS BIGINT), 0), $bins - 1) AS b0
    FROM frame
),
binned AS (
    SELECT *, b0
        - CASE WHEN s < {edge.format(k="b0")} THEN 1 ELSE 0 END
        + CASE WHEN b0 < $bins - 1 AND s >= {edge.format(k="(b0 + 1)")} THEN 1 ELSE 0 END
        AS bin
    FROM estimated
)"""
