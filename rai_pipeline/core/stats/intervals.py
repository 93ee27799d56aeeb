r"""Score intervals for a binomial rate and for comparisons of two rates.

Every interval here is a function of counts and of :math:`z = \Phi^{-1}(1 - \alpha / 2)`, is
nested in :math:`z` (a larger :math:`z` gives a wider interval) and never has zero width at a
finite count and :math:`z > 0`. At :math:`z = 0` each one is its point estimate.

==============================  ============================  ===============================
interval                        of                            method
==============================  ============================  ===============================
:func:`wilson_limits`           :math:`p = x / n`             Wilson score
:func:`newcombe_difference`     :math:`p_1 - p_2`             Newcombe's hybrid score (1998)
:func:`mover_ratio`             :math:`p_1 / p_2`             MOVER-R with Wilson limits
:func:`tango_paired_difference` paired :math:`p_1 - p_2`      Tango's score interval (1998)
==============================  ============================  ===============================

Newcombe and MOVER-R recover the variance of a difference or a ratio from the two groups'
own Wilson limits, so the interval of a comparison is consistent with the intervals of the
rates it compares: it contains 0 (or 1) whenever the two Wilson intervals overlap widely, and
zero counts give wide intervals, never a point. MOVER-R is exactly reciprocal: the interval of
:math:`p_2 / p_1` is the reciprocal of that of :math:`p_1 / p_2`, so a verdict against a
reciprocal band does not depend on which group is the reference. ``docs/statistics.md`` gives
the formulas and the measured coverage.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

Z_MAX = 37.0  # two_sided_p(Z_MAX) is about 6e-300: the largest z any level needs
BISECTION_STEPS = 64

MSG_CONFIDENCE_LEVEL = "confidence_level must be a number strictly between 0 and 1, got {value!r}"
MSG_WILSON_COUNTS = (
    "wilson_interval needs 0 <= successes <= trials for every element "
    "(NaN allowed only where trials is 0)"
)

_Array = npt.NDArray[np.float64]


def check_confidence_level(confidence_level: float) -> float:
    """Return ``confidence_level`` as a float, or raise if it is not in (0, 1)."""
    valid = isinstance(confidence_level, int | float) and not isinstance(confidence_level, bool)
    if not valid or not 0 < confidence_level < 1:
        raise ValueError(MSG_CONFIDENCE_LEVEL.format(value=confidence_level))
    return float(confidence_level)


def _upper_quantile(tail: float) -> float:
    r""":math:`\Phi^{-1}(1 - t) = -\Phi^{-1}(t)`, from the lower tail so that a tiny ``t`` keeps
    its precision; ``inf`` at 0, ``-inf`` at 1 and NaN outside [0, 1]."""
    if 0.0 < tail < 1.0:
        return 0.0 - _STANDARD_NORMAL.inv_cdf(tail)  # 0.0, not -0.0, at the median
    if tail == 0.0:
        return math.inf
    return -math.inf if tail == 1.0 else math.nan


# The standard library's scalar functions, element-wise: scipy.special would add a quarter of
# a second to every command's start-up for these two functions.
_STANDARD_NORMAL = NormalDist()
_upper_quantiles = np.frompyfunc(_upper_quantile, 1, 1)
_erfc = np.frompyfunc(math.erfc, 1, 1)


def z_value(alpha: npt.ArrayLike) -> Any:
    r""":math:`z = \Phi^{-1}(1 - \alpha / 2)`, the multiplier of a two-sided :math:`1 - \alpha`
    interval (element-wise; capped at :data:`Z_MAX`).

    >>> round(float(z_value(0.05)), 6)
    1.959964
    """
    tails = np.asarray(alpha, dtype=np.float64) / 2
    with np.errstate(invalid="ignore"):
        quantiles = np.asarray(_upper_quantiles(tails), dtype=np.float64)
    return np.minimum(quantiles, Z_MAX)


def two_sided_p(z: npt.ArrayLike) -> Any:
    r"""The :math:`\alpha` whose two-sided interval has multiplier ``z``:
    :math:`2 (1 - \Phi(z)) = \operatorname{erfc}(z / \sqrt 2)`; the inverse of :func:`z_value`.

    >>> round(float(two_sided_p(1.959963984540054)), 6)
    0.05
    """
    scaled = np.asarray(z, dtype=np.float64) / np.sqrt(2.0)
    return np.asarray(_erfc(scaled), dtype=np.float64)


def _as_float(*values: npt.ArrayLike) -> list[_Array]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def wilson_limits(successes: npt.ArrayLike, trials: npt.ArrayLike, z: npt.ArrayLike) -> Any:
    r"""Wilson score limits for :math:`x` successes in :math:`n` trials, element-wise.

    .. math::

        \frac{\hat p + \frac{z^2}{2n}}{1 + \frac{z^2}{n}}
        \pm \frac{z}{1 + \frac{z^2}{n}} \sqrt{\frac{\hat p (1 - \hat p)}{n} + \frac{z^2}{4n^2}}

    Exactly 0 at :math:`x = 0` and 1 at :math:`x = n`; NaN where :math:`n = 0`. No checks: see
    :func:`wilson_interval` for the validated form.

    Returns
    -------
    lower, upper : numpy.ndarray
    """
    x, n, zz = _as_float(successes, trials, z)
    empty = n == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        z2_n = zz * zz / n
        center = (p + z2_n / 2) / (1 + z2_n)
        half = zz / (1 + z2_n) * np.sqrt(p * (1 - p) / n + z2_n / (4 * n))
    lower = np.where(empty, np.nan, np.where(x == 0, 0.0, np.clip(center - half, 0.0, 1.0)))
    upper = np.where(empty, np.nan, np.where(x == n, 1.0, np.clip(center + half, 0.0, 1.0)))
    return lower, upper


def wilson_interval(
    successes: npt.ArrayLike,
    trials: npt.ArrayLike,
    *,
    confidence_level: float = 0.95,
) -> tuple[np.ndarray | float, np.ndarray | float]:
    r"""Wilson score interval for a binomial proportion, element-wise (:func:`wilson_limits`).

    It stays inside :math:`[0, 1]` and keeps close to nominal coverage for small :math:`n`
    and for :math:`\hat p` near 0 or 1, where the normal (Wald) interval fails.

    Parameters
    ----------
    successes : array_like
        Counts :math:`x`, with :math:`0 \le x \le n`.
    trials : array_like
        Counts :math:`n \ge 0`, broadcastable against ``successes``.
    confidence_level : float, default 0.95
        Two-sided coverage, strictly between 0 and 1.

    Returns
    -------
    lower, upper : numpy.ndarray or float
        Bounds, NaN where ``trials == 0``; floats when both inputs are scalars.

    Raises
    ------
    ValueError
        ``confidence_level`` outside (0, 1) (:data:`MSG_CONFIDENCE_LEVEL`), or counts that
        break :math:`0 \le x \le n` (:data:`MSG_WILSON_COUNTS`).

    Examples
    --------
    >>> lower, upper = wilson_interval(8, 10)
    >>> round(lower, 4), round(upper, 4)
    (0.4902, 0.9433)
    """
    level = check_confidence_level(confidence_level)
    x, n = _as_float(successes, trials)
    empty = n == 0
    if (
        np.any(np.isnan(n))
        or np.any(n < 0)
        or np.any(np.isnan(x) & ~empty)
        or np.any((x < 0) | (x > n))
    ):
        raise ValueError(MSG_WILSON_COUNTS)
    lower, upper = wilson_limits(x, n, z_value(1 - level))
    if lower.ndim == 0:
        return float(lower), float(upper)
    return lower, upper


def _rates_and_limits(
    x1: npt.ArrayLike, n1: npt.ArrayLike, x2: npt.ArrayLike, n2: npt.ArrayLike, z: npt.ArrayLike
) -> tuple[tuple[_Array, _Array, _Array], tuple[_Array, _Array, _Array]]:
    """``(p, lower, upper)`` of both rates at ``z``; NaN where a group has no trials."""
    a1, b1, a2, b2 = _as_float(x1, n1, x2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = np.where(b1 > 0, a1 / b1, np.nan), np.where(b2 > 0, a2 / b2, np.nan)
    return (p1, *wilson_limits(a1, b1, z)), (p2, *wilson_limits(a2, b2, z))


def newcombe_difference(
    x1: npt.ArrayLike, n1: npt.ArrayLike, x2: npt.ArrayLike, n2: npt.ArrayLike, z: npt.ArrayLike
) -> Any:
    r"""Newcombe's hybrid score interval for :math:`\theta = p_1 - p_2` (independent groups).

    With :math:`(l_i, u_i)` the Wilson limits of :math:`\hat p_i` at the same :math:`z`:

    .. math::

        L = \hat\theta - \sqrt{(\hat p_1 - l_1)^2 + (u_2 - \hat p_2)^2}, \quad
        U = \hat\theta + \sqrt{(u_1 - \hat p_1)^2 + (\hat p_2 - l_2)^2}

    (method 10 of Newcombe, *Statistics in Medicine* 17, 1998). NaN where a group has no trials.

    Examples
    --------
    >>> lower, upper = newcombe_difference(7, 34, 1, 34, 1.959963984540054)
    >>> round(float(lower), 4), round(float(upper), 4)
    (0.0189, 0.3404)
    """
    (p1, l1, u1), (p2, l2, u2) = _rates_and_limits(x1, n1, x2, n2, z)
    lower = (p1 - p2) - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = (p1 - p2) + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lower, upper


def mover_ratio(
    x1: npt.ArrayLike, n1: npt.ArrayLike, x2: npt.ArrayLike, n2: npt.ArrayLike, z: npt.ArrayLike
) -> Any:
    r"""MOVER-R interval for :math:`\theta = p_1 / p_2` from the Wilson limits (Donner & Zou,
    *Statistical Methods in Medical Research* 21, 2012).

    The limits solve :math:`(\hat p_1 - \theta \hat p_2)^2 = (\hat p_1 - l_1)^2 +
    \theta^2 (u_2 - \hat p_2)^2` (lower) and the same with :math:`(u_1, l_2)` (upper):

    .. math::

        L = \frac{l_1 (2\hat p_1 - l_1)}
                 {\hat p_1 \hat p_2 + \sqrt{\hat p_1^2 \hat p_2^2 - l_1 (2\hat p_1 - l_1)\,
                  u_2 (2\hat p_2 - u_2)}}, \quad
        U = \frac{\hat p_1 \hat p_2 + \sqrt{\hat p_1^2 \hat p_2^2 - u_1 (2\hat p_1 - u_1)\,
                  l_2 (2\hat p_2 - l_2)}}{l_2 (2\hat p_2 - l_2)}

    (the lower limit in its rationalised form, which stays finite where
    :math:`u_2 \ge 2\hat p_2`). :math:`L = 0` when :math:`x_1 = 0` and :math:`U = \infty` when
    :math:`x_2 = 0`, so two zero counts give :math:`[0, \infty]`. The interval of
    :math:`p_2 / p_1` is exactly the reciprocal of this one. NaN where a group has no trials.

    Examples
    --------
    >>> lower, upper = mover_ratio(7, 34, 1, 34, 1.959963984540054)
    >>> round(float(lower), 4), round(float(upper), 4)
    (1.1537, 41.9763)
    """
    (p1, l1, u1), (p2, l2, u2) = _rates_and_limits(x1, n1, x2, n2, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        product = p1 * p2
        c_low = l1 * (2 * p1 - l1)
        root_low = np.sqrt(np.maximum(product**2 - c_low * u2 * (2 * p2 - u2), 0.0))
        lower = np.where(c_low == 0, 0.0, c_low / (product + root_low))
        a_up = l2 * (2 * p2 - l2)
        root_up = np.sqrt(np.maximum(product**2 - u1 * (2 * p1 - u1) * a_up, 0.0))
        upper = np.where(a_up == 0, np.inf, (product + root_up) / a_up)
    missing = np.isnan(p1) | np.isnan(p2)
    return np.where(missing, np.nan, lower), np.where(missing, np.nan, upper)


def tango_statistic(
    delta: npt.ArrayLike, n12: npt.ArrayLike, n21: npt.ArrayLike, n: npt.ArrayLike
) -> Any:
    r"""Tango's score statistic for :math:`H_0: \Delta = p_{1+} - p_{+1} = \delta` in a paired
    2×2 table with discordant counts :math:`n_{12}` (first 1, second 0) and :math:`n_{21}`:

    .. math::

        T(\delta) = \frac{n_{12} - n_{21} - n\delta}
                         {\sqrt{n\,(2\tilde p_{21} + \delta (1 - \delta))}}

    with :math:`\tilde p_{21}` the maximum-likelihood estimate of :math:`p_{21}` under
    :math:`H_0` (the positive root of :math:`2n p^2 + B p + C = 0`,
    :math:`B = -n_{12} - n_{21} + (2n - n_{12} + n_{21})\delta`,
    :math:`C = -n_{21}\delta(1 - \delta)`). :math:`T(0)` is McNemar's statistic
    :math:`(n_{12} - n_{21}) / \sqrt{n_{12} + n_{21}}`.
    """
    d, b, c, total = _as_float(delta, n12, n21, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        quad_b = -b - c + (2 * total - b + c) * d
        quad_c = -c * d * (1 - d)
        p21 = (np.sqrt(np.maximum(quad_b**2 - 8 * total * quad_c, 0.0)) - quad_b) / (4 * total)
        return (b - c - total * d) / np.sqrt(total * (2 * p21 + d * (1 - d)))


def tango_paired_difference(
    n12: npt.ArrayLike, n21: npt.ArrayLike, n: npt.ArrayLike, z: npt.ArrayLike
) -> Any:
    r"""Tango's score interval for the paired difference :math:`\Delta = (n_{12} - n_{21}) / n`:
    :math:`\{\delta : |T(\delta)| \le z\}` (:func:`tango_statistic`; Tango, *Statistics in
    Medicine* 17, 1998), found by bisection. It is recommended for paired proportions
    (Fagerland, Lydersen & Laake, 2014) and does not collapse when both discordant counts are
    0 (then it is :math:`\pm z^2 / (n + z^2)`). NaN where :math:`n = 0`.

    Examples
    --------
    >>> lower, upper = tango_paired_difference(0, 0, 100, 1.959963984540054)
    >>> round(float(lower), 4), round(float(upper), 4)
    (-0.037, 0.037)
    """
    b, c, total, zz = _as_float(n12, n21, n, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = (b - c) / total

    def limit(edge: float) -> _Array:
        # T decreases in delta: the lower limit (edge -1) is where T = z, the upper where T = -z.
        inside, outside = estimate.copy(), np.full_like(estimate, edge)
        for _ in range(BISECTION_STEPS):
            middle = (inside + outside) / 2
            statistic = tango_statistic(middle, b, c, total)
            with np.errstate(invalid="ignore"):
                beyond = np.isnan(statistic) | (-edge * statistic > zz)
            outside = np.where(beyond, middle, outside)
            inside = np.where(beyond, inside, middle)
        return outside  # the outer end of the last bracket: never narrower than the exact limit

    lower, upper = limit(-1.0), limit(1.0)
    missing = total == 0
    return np.where(missing, np.nan, lower), np.where(missing, np.nan, upper)
