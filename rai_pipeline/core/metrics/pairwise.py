r"""Comparisons of two groups' rates, and aggregate disparities decided from all pairs of groups.

A :class:`Comparisons` holds many comparisons of a rate :math:`x_1 / n_1` with a rate
:math:`x_2 / n_2`, each a difference (Newcombe) or a ratio (MOVER-R), with the band each must
lie in; it gives their intervals at any :math:`z` and the p-values of their pass and fail
claims (:mod:`~rai_pipeline.core.stats.claims`).

An aggregate disparity of :math:`k` groups (fairlearn's ``between_groups``: max − min or
min / max of a rate, or the worse of two rates for equalized odds) is decided from the
:math:`K = r\,k(k-1)/2` pairwise comparisons of its :math:`r` rates, each at level
:math:`1 - \alpha / K` (Bonferroni), so that all hold together with probability at least
:math:`1 - \alpha`:

- *pass* when every pair's interval lies inside the band, *fail* when some pair's lies wholly
  outside it, else *inconclusive* (an intersection–union rule);
- the aggregate's interval follows from the same pairwise intervals folded to the aggregate's
  scale (:func:`fold`): :math:`|p_i - p_j|` lies in the folded interval of
  :math:`p_i - p_j`, and :math:`\min(r, 1/r)` in that of :math:`r = p_i / p_j`; so
  max − min lies in :math:`[\max_{ij} lo_{ij}, \max_{ij} hi_{ij}]` and min / max in
  :math:`[\min_{ij} lo_{ij}, \min_{ij} hi_{ij}]`. Read against the band (:math:`[0, b]` for a
  difference, :math:`[t, 1/t]` for a ratio) this interval gives exactly the pairwise verdict.

The aggregate's claims get p-values from its pairs': :math:`K \max_{ij} p^{pass}_{ij}` for
*pass* (every pair must pass at :math:`\alpha / K`) and :math:`K \min_{ij} p^{fail}_{ij}` for
*fail*, both capped at 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rai_pipeline.core.stats.claims import claim_p_values
from rai_pipeline.core.stats.intervals import mover_ratio, newcombe_difference

DIFFERENCE, RATIO = "difference", "ratio"

_Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Comparisons:
    """Comparisons of :math:`x_1 / n_1` with :math:`x_2 / n_2` and the band each must lie in.

    ``ratio`` marks the ratios :math:`p_1 / p_2`; the others are differences
    :math:`p_1 - p_2`. All arrays have one element per comparison.
    """

    ratio: npt.NDArray[np.bool_]
    x1: _Array
    n1: _Array
    x2: _Array
    n2: _Array
    band_lower: _Array
    band_upper: _Array

    @property
    def size(self) -> int:
        return int(self.ratio.size)

    def limits(self, z: npt.ArrayLike) -> tuple[_Array, _Array]:
        """The intervals at multiplier(s) ``z``."""
        lower, upper = np.full(self.size, np.nan), np.full(self.size, np.nan)
        z = np.broadcast_to(np.asarray(z, dtype=np.float64), (self.size,))
        for is_ratio, method in ((False, newcombe_difference), (True, mover_ratio)):
            where = self.ratio == is_ratio
            if where.any():
                args = (self.x1[where], self.n1[where], self.x2[where], self.n2[where])
                lower[where], upper[where] = method(*args, z[where])
        return lower, upper

    def p_values(self) -> tuple[_Array, _Array]:
        """p-values of every comparison's pass and fail claims against its band."""
        if self.size == 0:
            return np.ones(0), np.ones(0)
        return claim_p_values(
            self.limits, band_lower=self.band_lower, band_upper=self.band_upper, size=self.size
        )


def concatenate(parts: list[Comparisons]) -> Comparisons:
    """One batch from several, in order."""
    if not parts:
        empty = np.zeros(0)
        return Comparisons(np.zeros(0, dtype=bool), empty, empty, empty, empty, empty, empty)
    fields = ("ratio", "x1", "n1", "x2", "n2", "band_lower", "band_upper")
    return Comparisons(
        **{name: np.concatenate([getattr(part, name) for part in parts]) for name in fields}
    )


def comparisons(
    kind: str,
    x1: npt.ArrayLike,
    n1: npt.ArrayLike,
    x2: npt.ArrayLike,
    n2: npt.ArrayLike,
    band: tuple[float, float],
) -> Comparisons:
    """Comparisons of one ``kind`` (:data:`DIFFERENCE` or :data:`RATIO`) against one band."""
    a1, b1, a2, b2 = (
        np.asarray(v, dtype=np.float64).ravel() for v in np.broadcast_arrays(x1, n1, x2, n2)
    )
    return Comparisons(
        ratio=np.full(a1.size, kind == RATIO),
        x1=a1,
        n1=b1,
        x2=a2,
        n2=b2,
        band_lower=np.full(a1.size, float(band[0])),
        band_upper=np.full(a1.size, float(band[1])),
    )


def all_pairs(
    kind: str, successes: npt.ArrayLike, trials: npt.ArrayLike, band: tuple[float, float]
) -> Comparisons:
    """Every pair :math:`i < j` of the groups of each rate: ``successes`` and ``trials`` are
    ``(rates, groups)`` arrays; pairs are ordered by rate, then :math:`(i, j)`."""
    x, n = np.atleast_2d(successes), np.atleast_2d(trials)
    i, j = np.triu_indices(x.shape[1], k=1)
    return comparisons(kind, x[:, i], n[:, i], x[:, j], n[:, j], band)


def fold(lower: _Array, upper: _Array, ratio: npt.NDArray[np.bool_]) -> tuple[_Array, _Array]:
    r"""Pairwise intervals on the aggregate's scale.

    A difference interval :math:`[L, U]` of :math:`p_i - p_j` becomes the interval of
    :math:`|p_i - p_j|`: :math:`[0, \max(|L|, |U|)]` when it contains 0, else
    :math:`[\min(|L|, |U|), \max(|L|, |U|)]`. A ratio interval :math:`[L, U]` of
    :math:`r = p_i / p_j` becomes that of :math:`\min(r, 1/r)`: :math:`[\min(L, 1/U), 1]` when
    it contains 1, :math:`[L, U]` below 1, :math:`[1/U, 1/L]` above 1.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        d_low = np.maximum(0.0, np.maximum(lower, -upper))
        d_high = np.maximum(-lower, upper)
        r_low = np.minimum(lower, 1 / upper)
        r_high = np.minimum(1.0, np.minimum(upper, 1 / lower))
    missing = np.isnan(lower) | np.isnan(upper)
    folded_low = np.where(ratio, r_low, d_low)
    folded_high = np.where(ratio, r_high, d_high)
    return np.where(missing, np.nan, folded_low), np.where(missing, np.nan, folded_high)


def reduce_by_owner(values: _Array, owners: npt.NDArray[np.int64], size: int, how: str) -> Any:
    """``max`` or ``min`` of ``values`` per owner (owners sorted, each with at least one value);
    NaN propagates."""
    out = np.full(size, np.nan)
    if values.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    ufunc = np.maximum if how == "max" else np.minimum
    out[owners[starts]] = ufunc.reduceat(values, starts)
    return out
