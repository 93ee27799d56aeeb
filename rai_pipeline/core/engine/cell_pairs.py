"""The cell-pair matrix of the exact AUC from rows streamed in score order.

The SQL plan of :mod:`~rai_pipeline.core.engine.cell_auc` numbers the rows in score order and
looks up, for every positive, each cell's negatives below it: work per positive that grows
with the number of cells :math:`C`. Here the rows arrive in score order (one ``ORDER BY`` in
the engine, streamed in batches) as a class per row, :math:`cls = cell + C\\,y`, and one walk
keeps the running negatives of every cell: each positive of cell :math:`a` adds them to row
:math:`a` of the matrix. The walk is a loop in C (``count_below`` of
:mod:`~rai_pipeline.core.compiled`, run without the GIL); where no compiler built it, NumPy
counts the same pairs per block of :data:`BLOCK` consecutive rows:

- pairs inside a block: for each distance :math:`d < B`, one ``bincount`` of the (later row,
  earlier row) class pairs, :math:`B - 1` passes over the rows;
- pairs across blocks: per block, the positives of each cell times the negatives of each cell
  in all earlier blocks (a running sum over the blocks), one matrix product per batch, whose
  work is :math:`C^2` per block rather than per row.

Either way the walk gives :math:`L'_{ab}`: pairs of a positive of :math:`a` and a negative of
:math:`b` placed before it in the order streamed. Rows with equal scores may come in any order
(the engine sorts by score alone), so the rows of tied scores are kept aside and counted
again, as they came (:math:`L'^{tied}`), with the negatives of each tie first
(:math:`L^{\\le}`) and with the positives first (:math:`L^{<}`): pairs between different
scores are counted alike in all three, so

.. math::

    W_{ab} = 2 L^{\\le}_{ab} - T_{ab} = 2\\,(L'_{ab} - L'^{tied}_{ab})
            + L^{\\le,tied}_{ab} + L^{<,tied}_{ab},

the matrix whose block sums are :math:`2U` of every slice group
(:func:`~rai_pipeline.core.engine.cell_auc.slice_twice_u`). Every count is an exact integer:
the C loop adds int64; NumPy's matrix products run in float64 on integers whose partial sums
stay far below :math:`2^{53}` for one batch (:data:`BATCH_ROWS` rows), and each batch's
product is rounded to int64 before it is added. Equal scores are equal as NumPy compares them
(``-0.0 == 0.0``, as scikit-learn ties them).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

import numpy as np

from rai_pipeline.core.compiled import LOOPS

BLOCK = 16  # NumPy: rows per block, B - 1 passes for the pairs inside, C^2 per block across
BATCH_ROWS = 1 << 19  # rows per batch streamed from the engine (a multiple of BLOCK)


def _numpy_below(cls: np.ndarray, n_cells: int, negatives: np.ndarray) -> np.ndarray:
    """:math:`L'` of one batch, per block of :data:`BLOCK` rows, on top of ``negatives`` (the
    negatives of each cell in earlier batches, updated in place)."""
    width = 2 * n_cells + 1  # class 2C pads the last block and counts nowhere
    pad = (-cls.size) % BLOCK
    classes = np.asarray(cls, dtype=np.int32)
    if pad:
        classes = np.concatenate([classes, np.full(pad, width - 1, dtype=np.int32)])
    blocks = classes.reshape(-1, BLOCK)
    later = blocks * width
    pairs = np.zeros(width * width, dtype=np.int64)
    for k in range(1, BLOCK):  # the row at offset k of each block with every row before it
        codes = later[:, k : k + 1] + blocks[:, :k]
        pairs += np.bincount(codes.ravel(), minlength=width * width)
    inside = pairs.reshape(width, width)[n_cells : 2 * n_cells, :n_cells]
    n_blocks = blocks.shape[0]
    starts = np.arange(0, n_blocks * width, width, dtype=np.int64)[:, None]
    counts = np.bincount((blocks + starts).ravel(), minlength=n_blocks * width)
    counts = counts.reshape(n_blocks, width)  # block by class: each block's counts are close
    block_negatives = np.array(counts[:, :n_cells].T, dtype=np.float64, order="C")
    positives = np.array(counts[:, n_cells : 2 * n_cells].T, dtype=np.float64, order="C")
    earlier_negatives = np.cumsum(block_negatives, axis=1)
    earlier_negatives -= block_negatives
    earlier_negatives += negatives[:, None]
    across = np.rint(positives @ earlier_negatives.T).astype(np.int64)
    negatives += counts[:, :n_cells].sum(axis=0)
    return inside + across


class PairWalk:
    """:math:`L'` of one walk in score order, continued batch by batch with :meth:`add`."""

    def __init__(self, n_cells: int, *, compiled: ModuleType | None = LOOPS) -> None:
        self.n_cells = n_cells
        self.below = np.zeros((n_cells, n_cells), dtype=np.int64)
        self.negatives = np.zeros(n_cells, dtype=np.int64)  # running, per cell
        self.compiled = compiled  # the loops of rai_pipeline.core.compiled, or None: NumPy

    def add(self, cls: np.ndarray) -> None:
        """The next rows of the walk, as classes."""
        if not cls.size:
            return
        if self.compiled is not None:
            classes = np.ascontiguousarray(cls, dtype=np.int32)
            self.compiled.count_below(classes, self.n_cells, self.negatives, self.below)
        else:
            self.below += _numpy_below(cls, self.n_cells, self.negatives)


def below_matrix(
    batches: Iterable[np.ndarray], n_cells: int, *, compiled: ModuleType | None = LOOPS
) -> np.ndarray:
    """:math:`L'` of classes streamed in batches (each a multiple of :data:`BLOCK` rows but
    the last, or padded where it is not)."""
    walk = PairWalk(n_cells, compiled=compiled)
    for cls in batches:
        walk.add(cls)
    return walk.below


def _batches(cls: np.ndarray) -> Iterable[np.ndarray]:
    for start in range(0, cls.size, BATCH_ROWS):
        yield cls[start : start + BATCH_ROWS]


class CellPairCounter:
    """Counts :math:`W` of rows streamed in score order: :meth:`add` each batch of
    (class, score) as it arrives, then :meth:`matrix`."""

    def __init__(self, n_cells: int, *, compiled: ModuleType | None = LOOPS) -> None:
        self.n_cells = n_cells
        self._walk = PairWalk(n_cells, compiled=compiled)
        self._tied_cls: list[np.ndarray] = []
        self._tied_scores: list[np.ndarray] = []
        self._last: tuple[int, float] | None = None  # the previous batch's last row
        self._last_kept = False

    def add(self, cls: np.ndarray, scores: np.ndarray) -> None:
        """One batch of rows, in score order, after the batches added before."""
        if not cls.size:
            return
        self._walk.add(cls)
        self._keep_ties(np.asarray(cls), np.asarray(scores, dtype=np.float64))

    @property
    def compiled(self) -> ModuleType | None:
        """The compiled loops the walks use, or None (NumPy)."""
        return self._walk.compiled

    def _keep_ties(self, cls: np.ndarray, scores: np.ndarray) -> None:
        """Set aside the rows whose score equals a neighbour's, across batch edges too."""
        same = scores[1:] == scores[:-1]
        tied = np.zeros(scores.size, dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        if self._last is not None and scores[0] == self._last[1]:
            tied[0] = True
            if not self._last_kept:
                self._tied_cls.append(np.array([self._last[0]], dtype=cls.dtype))
                self._tied_scores.append(np.array([self._last[1]]))
        if tied.any():
            self._tied_cls.append(cls[tied])
            self._tied_scores.append(scores[tied])
        self._last = (int(cls[-1]), float(scores[-1]))
        self._last_kept = bool(tied[-1])

    def matrix(self) -> np.ndarray:
        """:math:`W = 2L - T`, an ``n_cells x n_cells`` int64 matrix (positive cell by row)."""
        n = self.n_cells
        below = self._walk.below
        if not self._tied_cls:
            return 2 * below
        cls = np.concatenate(self._tied_cls)
        scores = np.concatenate(self._tied_scores)
        run = np.concatenate([[0], np.cumsum(scores[1:] != scores[:-1])])
        positive = cls >= n

        def walk(order: np.ndarray) -> np.ndarray:
            return below_matrix(_batches(order), n, compiled=self.compiled)

        as_came = walk(cls)
        negatives_first = walk(cls[np.lexsort((positive, run))])
        positives_first = walk(cls[np.lexsort((~positive, run))])
        return 2 * (below - as_came) + negatives_first + positives_first
