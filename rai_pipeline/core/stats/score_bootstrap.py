"""Bootstrap replicates of the ROC AUC and the Brier score from one group's score histogram.

A row resample of a group is, in distribution, a multinomial resample of its (label, score bin)
counts. Drawing a multinomial over every fine bin (1000 per label) costs about 0.1 s per group
and 1000 replicates, which dominates an evaluation. Both functions here draw instead over at
most ``categories`` runs of adjacent fine bins of about equal count (quantile categories) and
keep the fine bins' information in two ways:

* **Rao–Blackwell.** Pairs, or cells, inside a category contribute their *observed*
  within-category value (the share of concordant pairs; the mean squared error), so that at
  the observed counts each replicate formula gives exactly the fine-binned statistic.
* **Within-category spread.** Given a category's resampled count :math:`M^*_K`, how its rows
  spread over the fine bins inside it is another multinomial; to first order it adds a normal
  term with variance :math:`M^*_K v_K`, where :math:`v_K` is the count-weighted variance, inside
  the category, of each fine bin's contribution (a positive's placement among the negatives, a
  negative's among the positives, a cell's mean squared error). One normal draw per replicate
  adds it back.

What remains approximate is second order: the within-category *pairs* of resampled rows,
whose variance is :math:`O(1/K^2)` of the total for :math:`K` equal-count categories.
``docs/statistics.md`` (sections 6 and 7) gives the derivation; the tests compare the intervals
with a full multinomial bootstrap over fine bins, with DeLong's standard error and with the
standard error of a mean on the raw rows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SCORE_CATEGORIES = 8

Counts = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def quantile_categories(total: Counts | Floats, size: int = SCORE_CATEGORIES) -> Counts:
    """Category of each bin: adjacent bins merged into at most ``size`` runs of about equal
    count, numbered 0, 1, ... in score order (a bin goes to the run holding its middle row).

    Examples
    --------
    >>> quantile_categories(np.array([5, 5, 5, 5]), 2).tolist()
    [0, 0, 1, 1]
    """
    total = np.asarray(total, dtype=np.float64)
    middle = np.cumsum(total) - total / 2.0
    raw = np.minimum((middle * size / total.sum()).astype(np.int64), size - 1)
    return np.unique(raw, return_inverse=True)[1].astype(np.int64)


def _within(weights: Floats, values: Floats, index: Counts, size: int) -> tuple[Floats, Floats]:
    """Weighted mean and variance of ``values`` inside each category (0 where empty)."""
    total = np.bincount(index, weights, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, np.bincount(index, weights * values, size) / total, 0.0)
        spread = np.bincount(index, weights * (values - mean[index]) ** 2, size)
        variance = np.where(total > 0, spread / total, 0.0)
    return mean, np.maximum(variance, 0.0)


def auc_replicates(
    pos: Counts,
    neg: Counts,
    *,
    rng: np.random.Generator,
    n_replicates: int,
    categories: int = SCORE_CATEGORIES,
) -> Floats:
    """Label-stratified bootstrap replicates of the binned Mann–Whitney AUC.

    The binned AUC of positive counts :math:`p_b` and negative counts :math:`q_b` over bins in
    score order is :math:`\\frac{1}{PN}\\sum_b p_b (\\sum_{c<b} q_c + q_b/2)`. Positives are
    resampled as Multinomial(:math:`P`, category shares) and negatives as Multinomial(:math:`N`,
    category shares) (class sizes fixed); pairs inside a category count their observed share
    of concordant pairs; the within-category spread of the placements is added (module
    docstring).

    Parameters
    ----------
    pos, neg : array of int
        Counts per fine bin, in score order; both classes non-empty.
    rng : numpy.random.Generator
    n_replicates : int
    categories : int, default :data:`SCORE_CATEGORIES`

    Returns
    -------
    numpy.ndarray
        ``n_replicates`` AUC values (not clipped; centred on the observed binned AUC).
    """
    used = (pos + neg) > 0
    p, q = pos[used].astype(np.float64), neg[used].astype(np.float64)
    n_pos, n_neg = p.sum(), q.sum()
    index = quantile_categories(p + q, categories)
    size = int(index.max()) + 1
    p_k, q_k = np.bincount(index, p, size), np.bincount(index, q, size)
    neg_below = np.cumsum(q) - q
    pos_above = n_pos - np.cumsum(p)
    placement_pos = (neg_below + q / 2.0) / n_neg  # a positive's share of negatives below it
    placement_neg = (pos_above + p / 2.0) / n_pos  # a negative's share of positives above it
    neg_below_category = (np.cumsum(q_k) - q_k)[index]
    within_pairs = np.bincount(index, p * (2.0 * (neg_below - neg_below_category) + q), size)
    with np.errstate(divide="ignore", invalid="ignore"):
        concordance = np.where(p_k * q_k > 0, within_pairs / (p_k * q_k), 0.0)
    _, spread_pos = _within(p, placement_pos, index, size)
    _, spread_neg = _within(q, placement_neg, index, size)
    draws_pos = rng.multinomial(int(n_pos), p_k / n_pos, size=n_replicates).astype(np.float64)
    draws_neg = rng.multinomial(int(n_neg), q_k / n_neg, size=n_replicates).astype(np.float64)
    below = np.cumsum(draws_neg, axis=1) - draws_neg
    replicate_u = np.sum(draws_pos * (2.0 * below + concordance * draws_neg), axis=1)
    spread = draws_pos @ spread_pos / n_pos**2 + draws_neg @ spread_neg / n_neg**2
    noise = np.sqrt(spread) * rng.standard_normal(n_replicates)
    return replicate_u / (2.0 * n_pos * n_neg) + noise


def twice_u(pos: Counts, neg: Counts) -> Counts:
    """Mann–Whitney :math:`2U = \\sum_b pos_b (2 \\sum_{c<b} neg_c + neg_b)` of counts per bin in
    score order, over the last axis (pairs in one bin count 1/2), in exact integers."""
    below = np.cumsum(neg, axis=-1) - neg
    return np.sum(pos * (2 * below + neg), axis=-1)


def binned_auc(pos: Counts, neg: Counts) -> float:
    """Mann–Whitney AUC of binned scores (pairs in one bin count 1/2)."""
    return float(twice_u(pos, neg)) / (2.0 * float(pos.sum()) * float(neg.sum()))


def brier_replicates(
    neg: Counts,
    pos: Counts,
    neg_error: Floats,
    pos_error: Floats,
    *,
    rng: np.random.Generator,
    n_replicates: int,
    categories: int = SCORE_CATEGORIES,
) -> Floats:
    """Bootstrap replicates of the Brier score: all (label, bin) cell counts drawn from
    Multinomial(:math:`n`, cell shares), as a row resample does (not stratified: the Brier
    score depends on the prevalence), each cell contributing its mean squared error.

    Parameters
    ----------
    neg, pos : array of int
        Counts per fine bin of negatives and positives, in score order.
    neg_error, pos_error : array of float
        Mean of :math:`(s - y)^2` in each of those cells (any value where the count is 0).

    Returns
    -------
    numpy.ndarray
        ``n_replicates`` values, centred on the binned mean squared error.
    """
    bins = quantile_categories(neg + pos, categories)
    size = int(bins.max()) + 1
    counts = np.concatenate([neg, pos]).astype(np.float64)
    errors = np.where(counts > 0, np.concatenate([neg_error, pos_error]), 0.0)
    index = np.concatenate([bins, bins + size])
    mean_k, spread_k = _within(counts, errors, index, 2 * size)
    count_k = np.bincount(index, counts, 2 * size)
    n = counts.sum()
    draws = rng.multinomial(int(n), count_k / n, size=n_replicates).astype(np.float64)
    noise = np.sqrt(draws @ spread_k) * rng.standard_normal(n_replicates)
    return (draws @ mean_k + noise) / n
