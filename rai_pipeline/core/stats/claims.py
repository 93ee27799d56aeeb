r"""The p-values of the two claims a nested interval can make about a band.

A verdict compares an interval :math:`I(z)` with a band :math:`[L, U]`: *pass* claims the
quantity lies in the band (the interval lies inside it), *fail* claims it lies outside (the
interval lies wholly outside). For intervals nested in :math:`z` (every interval of
:mod:`~rai_pipeline.core.stats.intervals`), each claim holds for all :math:`z` below some
:math:`z^*` and for none above it, so it holds at level :math:`\alpha` exactly when
:math:`\alpha \ge p = 2(1 - \Phi(z^*))`: that :math:`p` is the claim's p-value, the smallest
level at which the interval makes it. At :math:`z = 0` an interval is its point estimate, so
a claim whose point estimate does not make it has :math:`p = 1`; the two claims therefore
never both have :math:`p < 1`.

:func:`claim_p_values` finds :math:`z^*` by bisection and returns the p-value of the inner
end of the final bracket, which errs on the conservative side: at any level
:math:`\alpha \ge p` the interval makes the claim.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from rai_pipeline.core.stats.intervals import BISECTION_STEPS, Z_MAX, two_sided_p

RECIPROCAL_TOLERANCE = 1e-9

_Array = npt.NDArray[np.float64]
Limits = Callable[[_Array], tuple[_Array, _Array]]


def is_reciprocal(band: tuple[float, float]) -> bool:
    """Whether a ratio band is ``[t, 1/t]`` (to :data:`RECIPROCAL_TOLERANCE`): then a ratio
    interval and its reciprocal make the same claims, so a verdict on the ratio of two groups
    does not depend on which of them is the reference."""
    lower, upper = band
    return bool(abs(lower * upper - 1.0) <= RECIPROCAL_TOLERANCE)


def inside(lower: _Array, upper: _Array, band_lower: _Array, band_upper: _Array) -> Any:
    """Whether ``[lower, upper]`` lies inside the band (edges included); False for NaN."""
    with np.errstate(invalid="ignore"):
        return (band_lower <= lower) & (upper <= band_upper)


def outside(lower: _Array, upper: _Array, band_lower: _Array, band_upper: _Array) -> Any:
    """Whether ``[lower, upper]`` lies wholly outside the band; False for NaN."""
    with np.errstate(invalid="ignore"):
        return (upper < band_lower) | (lower > band_upper)


def _p_value(limits: Limits, holds: Callable[[_Array, _Array], Any], size: int) -> _Array:
    low = np.zeros(size)  # the claim holds at low (checked below)
    high = np.full(size, Z_MAX)
    at_zero = holds(*limits(low))
    always = holds(*limits(high))
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        ok = holds(*limits(middle))
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
    p = np.where(always, two_sided_p(Z_MAX), two_sided_p(low))
    return np.where(at_zero, p, 1.0)


def claim_p_values(
    limits: Limits, *, band_lower: npt.ArrayLike, band_upper: npt.ArrayLike, size: int
) -> tuple[_Array, _Array]:
    r"""p-values of the *pass* and *fail* claims of ``size`` nested intervals.

    Parameters
    ----------
    limits : callable
        ``limits(z)`` returns the ``(lower, upper)`` arrays of the intervals at the multipliers
        ``z`` (an array of length ``size``, one per interval).
    band_lower, band_upper : array_like
        The band of each interval (broadcast to ``size``).
    size : int
        Number of intervals.

    Returns
    -------
    p_pass, p_fail : numpy.ndarray
        In :math:`(0, 1]`; 1 where the claim is made at no level (NaN limits included).

    Examples
    --------
    >>> from rai_pipeline.core.stats.intervals import wilson_limits
    >>> p_pass, p_fail = claim_p_values(lambda z: wilson_limits(30, 100, z),
    ...     band_lower=0.2, band_upper=0.5, size=1)
    >>> round(float(p_pass[0]), 3), float(p_fail[0])
    (0.012, 1.0)
    """
    lo = np.broadcast_to(np.asarray(band_lower, dtype=np.float64), (size,))
    hi = np.broadcast_to(np.asarray(band_upper, dtype=np.float64), (size,))
    p_pass = _p_value(limits, lambda a, b: inside(a, b, lo, hi), size)
    p_fail = _p_value(limits, lambda a, b: outside(a, b, lo, hi), size)
    return p_pass, p_fail
