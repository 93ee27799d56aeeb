"""The streamed cell-pair count against a brute-force count of every (positive, negative)
pair, with the compiled loop and with NumPy's blocks: batches of any size, blocks cut
anywhere, ties inside and across batches in any order, signed zeros."""

import numpy as np
import pytest

from rai_pipeline.core.compiled import LOOPS
from rai_pipeline.core.engine.cell_pairs import BLOCK, CellPairCounter, below_matrix

KERNELS = {"compiled": LOOPS, "numpy": None}


@pytest.fixture(params=sorted(KERNELS))
def kernel(request):
    """The counting loop: the C extension built at install, or NumPy (where none was built)."""
    return KERNELS[request.param]


def test_the_install_built_the_compiled_loop():
    # make's install compiles rai_pipeline/core/loops.c; without it every exact
    # AUC on DuckDB falls back to NumPy's slower blocks
    assert LOOPS is not None
    assert CellPairCounter(3).compiled is LOOPS


def brute_force(cell, label, score, n_cells):
    """W[a, b] = 2 #(pos of a above neg of b) + #(pos of a tied with neg of b)."""
    w = np.zeros((n_cells, n_cells), dtype=np.int64)
    for a in range(n_cells):
        pos = score[(cell == a) & (label == 1)][:, None]
        for b in range(n_cells):
            neg = score[(cell == b) & (label == 0)][None, :]
            w[a, b] = 2 * (pos > neg).sum() + (pos == neg).sum()
    return w


def streamed(cell, label, score, n_cells, batch, *, kernel, seed=0):
    """The counter fed in score order, ties shuffled, in batches of ``batch`` rows."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(score.size), score))  # equal scores in a random order
    classes = (cell + n_cells * label)[order].astype(np.int16)
    counter = CellPairCounter(n_cells, compiled=kernel)
    for start in range(0, score.size, batch):
        counter.add(classes[start : start + batch], score[order][start : start + batch])
    return counter.matrix()


def rows(n, n_cells, *, seed, decimals=None, positive_rate=0.4):
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    if decimals is not None:
        score = np.round(score, decimals)
    return (
        rng.integers(0, n_cells, n),
        (rng.random(n) < positive_rate).astype(np.int64),
        score,
    )


@pytest.mark.parametrize("n", [0, 1, 2, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 2, 700])
@pytest.mark.parametrize("decimals", [None, 1, 2])
@pytest.mark.parametrize("batch", [1, BLOCK, 13, 10_000])
def test_the_streamed_count_is_the_pair_count(n, decimals, batch, kernel):
    cell, label, score = rows(n, 4, seed=n + batch, decimals=decimals)
    expected = brute_force(cell, label, score, 4)
    got = streamed(cell, label, score, 4, batch, kernel=kernel)
    np.testing.assert_array_equal(got, expected)


def test_every_row_tied_across_many_batches(kernel):
    cell, label, _ = rows(500, 3, seed=1)
    score = np.full(500, 0.5)
    expected = brute_force(cell, label, score, 3)
    assert expected.sum() == 2 * 0 + (label == 1).sum() * (label == 0).sum()  # all tied
    got = streamed(cell, label, score, 3, 7, kernel=kernel, seed=2)
    np.testing.assert_array_equal(got, expected)


def test_signed_zeros_tie_as_numpy_and_scikit_learn_compare_them(kernel):
    score = np.array([0.0, -0.0, -0.0, 0.0, 0.5, -0.0])
    label = np.array([1, 0, 1, 0, 1, 0])
    cell = np.zeros(6, dtype=np.int64)
    # as an engine may order them: -0.0 first, then 0.0
    order = [1, 2, 5, 0, 3, 4]
    counter = CellPairCounter(1, compiled=kernel)
    counter.add((cell + label)[order].astype(np.int16), score[order])
    np.testing.assert_array_equal(counter.matrix(), brute_force(cell, label, score, 1))


def test_below_counts_the_negatives_at_or_below_each_positive_over_many_batches(kernel):
    """Ties ordered negatives first: L[a, b] counts, for every positive of a, the negatives of
    b scored at or below it; batch edges carry the running counts."""
    cell, label, score = rows(3000, 5, seed=7, decimals=2)
    order = np.lexsort((label, score))
    classes = (cell + 5 * label)[order]
    batches = (classes[i : i + 64] for i in range(0, classes.size, 64))
    got = below_matrix(batches, 5, compiled=kernel)
    expected = np.zeros((5, 5), dtype=np.int64)
    for a in range(5):
        pos = score[(cell == a) & (label == 1)][:, None]
        for b in range(5):
            expected[a, b] = (pos >= score[(cell == b) & (label == 0)][None, :]).sum()
    assert expected.sum() > 0
    np.testing.assert_array_equal(got, expected)


def test_the_compiled_loop_refuses_classes_and_arrays_it_cannot_count():
    compiled = LOOPS
    negatives, below = np.zeros(2, dtype=np.int64), np.zeros((2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="row 2: class 4 outside"):
        compiled.count_below(np.array([0, 3, 4], dtype=np.int32), 2, negatives, below)
    with pytest.raises(TypeError, match="classes"):
        compiled.count_below(np.array([0, 1], dtype=np.float64), 2, negatives, below)
    with pytest.raises(ValueError, match="n_cells"):
        compiled.count_below(np.array([0], dtype=np.int32), 3, negatives, below)
    # negative of cell 0, positive of cell 0, negative of cell 1, positive of cell 1
    walk = np.array([0, 2, 1, 3], dtype=np.int32)
    negatives, below = np.zeros(2, dtype=np.int64), np.zeros((2, 2), dtype=np.int64)
    compiled.count_below(walk, 2, negatives, below)
    assert negatives.tolist() == [1, 1] and below.tolist() == [[1, 0], [1, 1]]
