"""How far labels can be trusted: agreement between raters, with bootstrap intervals.

The input is a table of items by raters holding each rater's label (None where a rater did not
rate an item). Every statistic is computed from ``counts[i, c]``, the number of raters who gave
item ``i`` category ``c``, except Cohen's κ, which pairs two raters:

- ``percent_agreement``: over items with at least two ratings, the mean share of agreeing
  rater pairs, :math:`\\sum_c n_{ic}(n_{ic}-1) / (m_i(m_i-1))` (for two raters: the share of
  items they label alike).
- ``cohen_kappa`` (two raters, items both rated): :math:`(p_o - p_e) / (1 - p_e)` with
  :math:`p_e = \\sum_c p_{1c} p_{2c}` (scikit-learn's ``cohen_kappa_score``).
- ``fleiss_kappa`` (items rated by every rater): :math:`(\\bar P - \\bar P_e)/(1 - \\bar P_e)`,
  :math:`\\bar P_e = \\sum_c p_c^2` (statsmodels' ``fleiss_kappa``).
- ``krippendorff_alpha`` (nominal; missing ratings allowed, items with one rating ignored):
  :math:`1 - (n - 1) \\sum_{c \\ne k} o_{ck} / \\sum_{c \\ne k} n_c n_k` from the coincidence
  matrix :math:`o_{ck} = \\sum_i n_{ic}(n_{ik} - [c = k]) / (m_i - 1)` (the ``krippendorff``
  package).

Intervals: percentile bootstrap over items (``n_resamples`` draws of the items with
replacement, one seeded stream per statistic and group). A statistic whose chance agreement is
1 (every rating the same category) is undefined: NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.stats.bootstrap import bootstrap_rng, percentile_interval

FloatArray = npt.NDArray[np.float64]
AGREEMENT_STATISTICS = ("percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha")
AGREEMENT_COLUMNS = (
    "dimension",
    "group",
    "n",
    "raters",
    "metric",
    "value",
    "ci_lower",
    "ci_upper",
    "status",
)


@dataclass(frozen=True)
class Ratings:
    """Items by raters: ``codes[i, r]`` the category index rater ``r`` gave item ``i`` (-1 when
    missing), with the category names."""

    codes: npt.NDArray[np.int64]
    categories: tuple[str, ...]

    @classmethod
    def from_labels(cls, labels: pd.DataFrame) -> Ratings:
        """From a frame of labels (one column per rater; None or NaN where missing)."""
        values = labels.to_numpy(dtype=object)
        present = pd.notna(values)
        categories = tuple(sorted({str(v) for v in values[present]}))
        index = {c: k for k, c in enumerate(categories)}
        codes = np.full(values.shape, -1, dtype=np.int64)
        for (i, r), value in np.ndenumerate(values):
            if present[i, r]:
                codes[i, r] = index[str(value)]
        return cls(codes=codes, categories=categories)

    def counts(self) -> FloatArray:
        """``counts[i, c]``: raters who gave item ``i`` category ``c``."""
        out = np.zeros((self.codes.shape[0], len(self.categories)), dtype=np.float64)
        for r in range(self.codes.shape[1]):
            rated = self.codes[:, r] >= 0
            np.add.at(out, (np.flatnonzero(rated), self.codes[rated, r]), 1.0)
        return out


def percent_agreement(counts: FloatArray) -> float:
    m = counts.sum(axis=1)
    usable = m >= 2
    if not usable.any():
        return float("nan")
    c, m = counts[usable], m[usable]
    return float(np.mean((c * (c - 1)).sum(axis=1) / (m * (m - 1))))


def fleiss_kappa(counts: FloatArray, raters: int) -> float:
    """Over the items rated by all ``raters``."""
    full = counts[counts.sum(axis=1) == raters]
    if raters < 2 or not len(full):
        return float("nan")
    p_items = ((full * full).sum(axis=1) - raters) / (raters * (raters - 1))
    shares = full.sum(axis=0) / full.sum()
    chance = float((shares * shares).sum())
    if chance >= 1.0:
        return float("nan")
    return float((p_items.mean() - chance) / (1 - chance))


def krippendorff_alpha(counts: FloatArray) -> float:
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    if not len(pairable):
        return float("nan")
    weights = 1.0 / (pairable.sum(axis=1) - 1)
    coincidence = (pairable[:, :, None] * pairable[:, None, :]) * weights[:, None, None]
    coincidence = coincidence.sum(axis=0) - np.diag((pairable * weights[:, None]).sum(axis=0))
    margins = coincidence.sum(axis=1)
    n = margins.sum()
    off = ~np.eye(len(margins), dtype=bool)
    expected = (np.outer(margins, margins)[off]).sum()
    if expected == 0:
        return float("nan")
    return float(1 - (n - 1) * coincidence[off].sum() / expected)


def cohen_kappa(first: npt.NDArray[np.int64], second: npt.NDArray[np.int64], k: int) -> float:
    """Two raters' category codes over the items both rated (``k`` categories)."""
    both = (first >= 0) & (second >= 0)
    a, b = first[both], second[both]
    if not len(a):
        return float("nan")
    observed = float(np.mean(a == b))
    pa = np.bincount(a, minlength=k) / len(a)
    pb = np.bincount(b, minlength=k) / len(b)
    chance = float((pa * pb).sum())
    if chance >= 1.0:
        return float("nan")
    return (observed - chance) / (1 - chance)


def _statistic(name: str, ratings: Ratings) -> Callable[[npt.NDArray[np.int64]], float]:
    """The statistic of the items at ``index`` (a bootstrap draw, or every item)."""
    counts = ratings.counts()
    k = len(ratings.categories)
    if name == "cohen_kappa":
        first, second = ratings.codes[:, 0], ratings.codes[:, 1]
        return lambda index: cohen_kappa(first[index], second[index], k)
    if name == "fleiss_kappa":
        raters = ratings.codes.shape[1]
        return lambda index: fleiss_kappa(counts[index], raters)
    function = {"percent_agreement": percent_agreement, "krippendorff_alpha": krippendorff_alpha}
    return lambda index: function[name](counts[index])


def agreement_rows(
    ratings: Ratings,
    *,
    dimension: str,
    group: str,
    n_resamples: int,
    seed: int,
    confidence_level: float,
    statistics: Sequence[str] = AGREEMENT_STATISTICS,
) -> list[dict[str, object]]:
    """One row per statistic (:data:`AGREEMENT_COLUMNS`) for the items of one group: Cohen's κ
    only with exactly two raters."""
    n_items, n_raters = ratings.codes.shape
    everything = np.arange(n_items)
    rows = []
    for name in statistics:
        if name == "cohen_kappa" and n_raters != 2:
            continue
        compute = _statistic(name, ratings)
        value = compute(everything) if n_items else float("nan")
        lower = upper = float("nan")
        if n_items and not np.isnan(value):
            rng = bootstrap_rng(seed, "agreement", name, dimension, group)
            draws = rng.integers(0, n_items, size=(n_resamples, n_items))
            replicates = np.array([compute(d) for d in draws])
            replicates = replicates[~np.isnan(replicates)]
            if len(replicates):
                lower, upper = percentile_interval(replicates, confidence_level)
        rows.append(
            {
                "dimension": dimension,
                "group": group,
                "n": n_items,
                "raters": n_raters,
                "metric": name,
                "value": value,
                "ci_lower": lower,
                "ci_upper": upper,
                "status": "ok" if not np.isnan(value) else "undefined",
            }
        )
    return rows


def disagreements(ratings: Ratings) -> npt.NDArray[np.bool_]:
    """Items whose raters did not all give the same label (of those rated at least twice)."""
    counts = ratings.counts()
    m = counts.sum(axis=1)
    return (m >= 2) & (counts.max(axis=1) < m)


def agreement_with(ratings: Ratings, reference: npt.NDArray[np.int64]) -> FloatArray:
    """Each rater's share of items (of those they rated and the reference labels) on which
    their label equals ``reference`` (codes; -1 where there is none)."""
    out = np.full(ratings.codes.shape[1], np.nan)
    for r in range(ratings.codes.shape[1]):
        both = (ratings.codes[:, r] >= 0) & (reference >= 0)
        if both.any():
            out[r] = float(np.mean(ratings.codes[both, r] == reference[both]))
    return out
