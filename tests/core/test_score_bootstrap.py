"""Category bootstrap of the AUC and Brier score against a full multinomial bootstrap over every
fine bin (the straightforward method it replaces), on the same histograms."""

import numpy as np
import pytest

from rai_pipeline.core.stats.score_bootstrap import (
    auc_replicates,
    binned_auc,
    brier_replicates,
    quantile_categories,
)

BINS = 1000
REPLICATES = 4000


def histogram(kind, n, seed):
    rng = np.random.default_rng(seed)
    prevalence = 0.05 if kind == "piled" else 0.3
    y = rng.binomial(1, prevalence, n)
    if kind == "piled":  # rare positives, scores piled near 0
        s = 1 / (1 + np.exp(-(rng.normal(-4, 1, n) + 3 * y)))
    elif kind == "few_scores":  # a score with 7 values: most fine bins are empty
        s = np.round(np.clip(0.35 + 0.3 * y + rng.normal(0, 0.2, n), 0, 1) * 6) / 6
    else:
        s = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.3 * y - 1)))
    b = np.minimum((s * BINS).astype(int), BINS - 1)
    pos = np.bincount(b[y == 1], minlength=BINS)
    neg = np.bincount(b[y == 0], minlength=BINS)
    e = (s - y) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        e0 = np.bincount(b[y == 0], e[y == 0], BINS) / neg
        e1 = np.bincount(b[y == 1], e[y == 1], BINS) / pos
    return pos, neg, e0, e1


def full_auc_replicates(pos, neg, rng):
    p, q = pos.sum(), neg.sum()
    draws_p = rng.multinomial(p, pos / p, size=REPLICATES).astype(float)
    draws_q = rng.multinomial(q, neg / q, size=REPLICATES).astype(float)
    below = np.cumsum(draws_q, axis=1) - draws_q
    return np.sum(draws_p * (2 * below + draws_q), axis=1) / (2.0 * p * q)


def full_brier_replicates(pos, neg, e0, e1, rng):
    counts = np.concatenate([neg, pos])
    errors = np.nan_to_num(np.concatenate([e0, e1]))
    draws = rng.multinomial(counts.sum(), counts / counts.sum(), size=REPLICATES)
    return draws @ errors / counts.sum()


@pytest.mark.parametrize("kind", ["logistic", "piled", "few_scores"])
def test_auc_replicates_match_a_full_multinomial_bootstrap(kind):
    pos, neg, _, _ = histogram(kind, 20000, seed=1)
    full = full_auc_replicates(pos, neg, np.random.default_rng(2))
    ours = auc_replicates(pos, neg, rng=np.random.default_rng(3), n_replicates=REPLICATES)
    # the standard deviation of a 4000-replicate sd estimate is about 1.1 %
    assert ours.std() == pytest.approx(full.std(), rel=0.05)
    assert ours.mean() == pytest.approx(binned_auc(pos, neg), abs=ours.std() / 10)
    assert abs(ours.mean() - full.mean()) < ours.std() / 10


@pytest.mark.parametrize("kind", ["logistic", "piled", "few_scores"])
def test_brier_replicates_match_a_full_multinomial_bootstrap(kind):
    pos, neg, e0, e1 = histogram(kind, 20000, seed=4)
    full = full_brier_replicates(pos, neg, e0, e1, np.random.default_rng(5))
    ours = brier_replicates(neg, pos, e0, e1, rng=np.random.default_rng(6), n_replicates=REPLICATES)
    assert ours.std() == pytest.approx(full.std(), rel=0.05)
    assert abs(ours.mean() - full.mean()) < ours.std() / 10


def test_one_category_per_bin_is_the_full_bootstrap_in_distribution():
    """With as many categories as bins nothing is merged and no spread is added."""
    pos, neg, _, _ = histogram("few_scores", 5000, seed=7)
    used = (pos + neg) > 0
    many = int(used.sum())
    ours = auc_replicates(
        pos, neg, rng=np.random.default_rng(8), n_replicates=REPLICATES, categories=BINS
    )
    full = full_auc_replicates(pos[used], neg[used], np.random.default_rng(9))
    assert many == 7
    assert ours.std() == pytest.approx(full.std(), rel=0.05)


def test_categories_are_contiguous_runs_of_about_equal_count():
    rng = np.random.default_rng(10)
    counts = rng.poisson(50, 1000)
    index = quantile_categories(counts, 16)
    assert index[0] == 0 and index[-1] == 15
    assert (np.diff(index) >= 0).all() and (np.diff(index) <= 1).all()
    per_category = np.bincount(index, counts)
    assert per_category.max() / per_category.min() < 1.2
