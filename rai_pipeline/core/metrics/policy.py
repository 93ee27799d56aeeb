"""The fairness policy: the bands a disparity must lie in to pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rai_pipeline.core.metrics.pairwise import RATIO
from rai_pipeline.core.stats.claims import is_reciprocal

MSG_RATIO_BAND = (
    "ratio_band must be (lower, upper) with 0 < lower <= 1 and upper = 1 / lower, got {value!r}"
)
MSG_DIFFERENCE_BOUND = "difference_bound must be a number in (0, 1], got {value!r}"


@dataclass(frozen=True)
class FairnessPolicy:
    """Where a disparity must lie to pass.

    Parameters
    ----------
    ratio_band : (float, float), default (0.8, 1.25)
        Accepted range for ratios, ``(t, 1/t)`` with ``0 < t <= 1`` (the four-fifths rule and
        its reciprocal by default). It must be reciprocal: against ``[0.8, 1.2]`` the ratio
        of two groups could pass one way round and fail the other.
    difference_bound : float, default 0.1
        Accepted absolute difference, in ``(0, 1]``: aggregate differences must lie in
        ``[0, bound]``, per-group differences in ``[-bound, bound]``.
    """

    ratio_band: tuple[float, float] = (0.8, 1.25)
    difference_bound: float = 0.1

    def __post_init__(self) -> None:
        band = tuple(self.ratio_band)
        if (
            len(band) != 2
            or not all(_is_number(bound) for bound in band)
            or not 0 < band[0] <= 1 <= band[1]
            or not is_reciprocal((band[0], band[1]))
        ):
            raise ValueError(MSG_RATIO_BAND.format(value=self.ratio_band))
        if not _is_number(self.difference_bound) or not 0 < self.difference_bound <= 1:
            raise ValueError(MSG_DIFFERENCE_BOUND.format(value=self.difference_bound))
        object.__setattr__(self, "ratio_band", (float(band[0]), float(band[1])))
        object.__setattr__(self, "difference_bound", float(self.difference_bound))

    def band(self, kind: str, *, aggregate: bool) -> tuple[float, float]:
        """The band a ``kind`` of disparity must lie in (aggregate differences are >= 0)."""
        if kind == RATIO:
            return self.ratio_band
        bound = self.difference_bound
        return (0.0, bound) if aggregate else (-bound, bound)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and bool(np.isfinite(value))
    )
