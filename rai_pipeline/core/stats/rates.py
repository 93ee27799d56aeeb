"""Rates from counts."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def ratio_of(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``numerator / denominator`` element-wise, NaN where the denominator is 0 (a rate of
    nothing is undefined, not 0)."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)
