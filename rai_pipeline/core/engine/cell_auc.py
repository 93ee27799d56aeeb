"""The exact ROC AUC of every slice group from one ordering of the rows.

Every slice group is a union of *cells*: the finest groups, one per combination of the
sensitive features' group values. The Mann–Whitney statistic of a union of cells is a sum of
cell-pair terms,

.. math::

    2U_G = \\sum_{a \\in G} \\sum_{b \\in G} W_{ab}, \\qquad
    W_{ab} = \\sum_{x \\in a^+} \\left( N_b(< s_x) + N_b(\\le s_x) \\right)
           = 2 L_{ab} - T_{ab},

where :math:`N_b(\\le s)` counts the negatives of cell :math:`b` scored at most :math:`s`,
:math:`L_{ab} = \\sum_{x \\in a^+} N_b(\\le s_x)` and :math:`T_{ab} = \\sum_s pos_a(s)\\,neg_b(s)`
counts the tied pairs. So one ordering of the rows yields the :math:`C \\times C` matrix
:math:`W`, and every dimension's and every intersection's exact AUC follows from it in Python
(sums of :math:`C \\times C` integers), instead of one sort of the rows per slice.

Two ways to the matrix, with the same cells (one scan: the distinct feature values, numbered by
their group labels):

- **streamed** (DuckDB): one ``ORDER BY`` score of every row's class :math:`cell + C\\,y`,
  streamed in batches to :class:`~rai_pipeline.core.engine.cell_pairs.CellPairCounter`, which
  walks them keeping each cell's negatives so far (a loop compiled at install); the only
  sort, and no table written;
- **in the engine** (PostgreSQL, Spark, or on request): three statements over temporary tables,

  1. ``ordered``: every row's class :math:`k = 2\\,cell + y` and its position :math:`p` in the
     order (score, label), so that a positive's position counts exactly the rows scored below
     it plus the negatives tied with it; the score is kept only for rows tied with a neighbour
     (one sort, the only one);
  2. ``blocks``: per block of :data:`BLOCK` consecutive positions and cell, the negatives'
     positions as a bit mask and the negatives in all earlier blocks (a running count over
     the blocks, not the rows);
  3. the positives joined to their block: :math:`N_b(\\le s_x)` is the earlier blocks' count
     plus the mask bits below the positive's offset, summed per cell :math:`a` (:math:`L`),
     and the tied pairs counted over the tied rows only (:math:`T`).

Everything is an exact integer; the AUC is divided once, so it equals
:func:`sklearn.metrics.roc_auc_score` as the other plans do. The work per row grows with the
number of cells :math:`C`, so above :data:`MAX_CELLS` the engine sorts once per slice instead
(:mod:`~rai_pipeline.core.engine.exact_auc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from rai_pipeline.core.engine.cell_pairs import BATCH_ROWS, CellPairCounter
from rai_pipeline.core.engine.dialects import DUCKDB, dialect_of
from rai_pipeline.core.engine.plan import SlicePlan

MAX_CELLS = 128
BLOCK = 63  # positions per mask: bits 0..62 of a signed BIGINT, portable to any SQL engine
TEMP_PREFIX = "_rai_auc_"
STEP_CELLS = "exact AUC: the cells (distinct feature values), numbered by group labels"
STEP_STREAMED = (
    "exact AUC: every row's cell and label in score order (one sort), streamed in batches to "
    "the cell-pair count (rai_pipeline.core.engine.cell_pairs)"
)
STEP_ORDERED = (
    "exact AUC in the engine, 1/3: every row's cell, label and position in score order (one sort)"
)
STEP_BLOCKS = (
    "exact AUC in the engine, 2/3: per block of {block} positions, each cell's negatives as a "
    "bit mask and the count before the block"
)
STEP_PAIRS = (
    "exact AUC in the engine, 3/3: negatives of each cell at or below each positive, per cell"
)
STEP_TIES = (
    "exact AUC in the engine, ties: pairs of a positive and a negative with the same score, "
    "per cell"
)
Query = tuple[str, str, dict[str, Any]]


def _names() -> dict[str, str]:
    return {kind: f"{TEMP_PREFIX}{kind}" for kind in ("cells", "ordered", "blocks")}


def cells_sql(plan: SlicePlan, table: str) -> str:
    """``cell``, the raw values ``r0, r1, ...`` and their group values ``f0, f1, ...`` of every
    distinct combination of the features' values; two raw combinations with the same group
    values are one cell."""
    if not plan.features:
        return f"CREATE TEMP TABLE {table} AS SELECT 0 AS cell"
    raw = [f"r{i}" for i in range(len(plan.features))]
    labels = [
        f"{plan.group_value(r)} AS {alias}" for r, alias in zip(raw, plan.aliases, strict=True)
    ]
    distinct = ", ".join(f"{alias} AS {r}" for alias, r in zip(plan.aliases, raw, strict=True))
    return f"""CREATE TEMP TABLE {table} AS
WITH frame AS NOT MATERIALIZED ({plan.frame_sql(raw_features=True)}),
raw AS (SELECT DISTINCT {distinct} FROM frame),
labeled AS (SELECT {", ".join(raw)}, {", ".join(labels)} FROM raw)
SELECT CAST(dense_rank() OVER (ORDER BY {", ".join(plan.aliases)}) - 1 AS INTEGER) AS cell,
    {", ".join(raw)}, {", ".join(plan.aliases)}
FROM labeled"""


def _rows_with_cells(plan: SlicePlan, cells: str) -> tuple[str, str]:
    """The rows joined to their cell (``f`` the frame, ``c`` the cells) and the cell column."""
    if not plan.features:
        return f"({plan.frame_sql(raw_features=True)}) AS f", "0"
    on = " AND ".join(
        f"f.{alias} IS NOT DISTINCT FROM c.r{i}" for i, alias in enumerate(plan.aliases)
    )
    return f"({plan.frame_sql(raw_features=True)}) AS f JOIN {cells} AS c ON {on}", "c.cell"


def streamed_sql(plan: SlicePlan, cells: str, n_cells: int) -> str:
    """Every row's class ``cls = cell + n_cells * y`` and score ``s``, in score order (ties in
    any order: :class:`~rai_pipeline.core.engine.cell_pairs.CellPairCounter` recounts them)."""
    source, cell = _rows_with_cells(plan, cells)
    return f"""SELECT CAST({cell} + {n_cells} * f.y AS SMALLINT) AS cls, f.s
FROM {source}
ORDER BY f.s"""


def ordered_sql(plan: SlicePlan, table: str, cells: str, position_type: str) -> str:
    """One sort of the rows by (score, label): class ``k = 2 cell + y``, position ``p`` from 0,
    and for a positive tied with earlier rows, ``q``: the position of the first row with its
    score (the same sort answers both)."""
    source, cell = _rows_with_cells(plan, cells)
    return f"""CREATE TEMP TABLE {table} AS
SELECT k, p, CASE WHEN k % 2 = 1 AND q < p THEN q END AS q
FROM (
    SELECT CAST(2 * {cell} + f.y AS SMALLINT) AS k,
        CAST(row_number() OVER (ORDER BY f.s, f.y) - 1 AS {position_type}) AS p,
        CAST(rank() OVER (ORDER BY f.s) - 1 AS {position_type}) AS q
    FROM {source}
) AS positions"""


def blocks_sql(n_cells: int, table: str, ordered: str) -> str:
    """Per block: mask ``m<b>`` of cell ``b``'s negatives' offsets, and ``t<b>``, its
    negatives in the blocks before."""
    masks = ", ".join(
        f"bit_or(CASE WHEN k = {2 * b} THEN CAST(1 AS BIGINT) << (p % {BLOCK}) "
        f"ELSE CAST(0 AS BIGINT) END) AS m{b}"
        for b in range(n_cells)
    )
    before = ", ".join(
        f"COALESCE(sum(bit_count(m{b})) OVER earlier, 0) AS t{b}" for b in range(n_cells)
    )
    masks_out = ", ".join(f"m{b}" for b in range(n_cells))
    return f"""CREATE TEMP TABLE {table} AS
SELECT blk, {masks_out}, {before}
FROM (SELECT p // {BLOCK} AS blk, {masks} FROM {ordered} GROUP BY blk) AS grouped
WINDOW earlier AS (ORDER BY blk ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"""


def _negatives_before(n_cells: int, block: str, below: str) -> list[str]:
    """Per cell ``b``: its negatives before a position, from the position's block row."""
    return [f"{block}.t{b} + bit_count({block}.m{b} & {below})" for b in range(n_cells)]


def _position(column: str) -> str:
    """The block of position ``column`` and the mask of the offsets below it in the block."""
    below = f"(CAST(1 AS BIGINT) << ({column} % {BLOCK})) - 1"
    return f"{column} // {BLOCK} AS blk_{column}, {below} AS below_{column}"


def pairs_sql(n_cells: int, ordered: str, blocks: str) -> str:
    """:math:`L_{ab}`: per positive cell ``a``, column ``b<b>`` sums the negatives of cell
    ``b`` before each positive (its block's earlier count plus the mask bits below it)."""
    counts = _negatives_before(n_cells, "z", "o.below_p")
    sums = ", ".join(f"sum({count}) AS b{b}" for b, count in enumerate(counts))
    return f"""SELECT o.k // 2 AS a, {sums}
FROM (SELECT k, {_position("p")} FROM {ordered} WHERE k % 2 = 1) AS o
JOIN {blocks} AS z ON z.blk = o.blk_p
GROUP BY o.k"""


def ties_sql(n_cells: int, ordered: str, blocks: str) -> str:
    """:math:`T_{ab}`: per positive cell ``a``, the negatives of cell ``b`` with the same score
    as each positive: those between the first row with its score (``q``) and itself."""
    at_p = _negatives_before(n_cells, "zp", "o.below_p")
    at_q = _negatives_before(n_cells, "zq", "o.below_q")
    sums = ", ".join(
        f"sum(({p}) - ({q})) AS b{b}" for b, (p, q) in enumerate(zip(at_p, at_q, strict=True))
    )
    return f"""SELECT o.k // 2 AS a, {sums}
FROM (SELECT k, {_position("p")}, {_position("q")} FROM {ordered} WHERE q IS NOT NULL) AS o
JOIN {blocks} AS zp ON zp.blk = o.blk_p
JOIN {blocks} AS zq ON zq.blk = o.blk_q
GROUP BY o.k"""


@dataclass(frozen=True)
class CellCount:
    """How many cells the features form, and the groups of every dimension (the overall slice
    left out) counted from them."""

    cells: int
    groups: dict[str, int]


def count_cells(conn: duckdb.DuckDBPyConnection, plan: SlicePlan) -> tuple[CellCount, Query]:
    """Create the cells table (one scan of the rows) and count its cells and each dimension's
    groups; return them and the statement run."""
    table = _names()["cells"]
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    sql = cells_sql(plan, table)
    params = plan.params if plan.features else {}  # without features no row is read
    conn.execute(sql, params)
    dimensions = [spec for spec in plan.slices if not spec.is_overall]
    counts = "".join(
        f", count(DISTINCT row({', '.join(plan.alias(f) for f in spec.features)}))"
        for spec in dimensions
    )
    [(cells, *groups)] = conn.execute(
        f"SELECT count(DISTINCT cell){counts} FROM {table}"
    ).fetchall()
    return (
        CellCount(
            cells=int(cells),
            groups={spec.dimension: int(n) for spec, n in zip(dimensions, groups, strict=True)},
        ),
        (STEP_CELLS, sql, params),
    )


def cell_labels(conn: duckdb.DuckDBPyConnection, plan: SlicePlan) -> pd.DataFrame:
    """``cell`` and every slice's group label ``g0, g1, ...`` of each cell, in cell order (a
    cell is one row even when several raw combinations share its labels)."""
    groups = ", ".join(f"{plan.group_label(spec)} AS g{k}" for k, spec in enumerate(plan.slices))
    return conn.execute(
        f"SELECT DISTINCT cell, {groups} FROM {_names()['cells']} ORDER BY cell"
    ).df()


def drop_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary tables of this plan."""
    for table in _names().values():
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def cell_pair_auc(
    conn: duckdb.DuckDBPyConnection,
    plan: SlicePlan,
    *,
    n_cells: int,
    n_rows: int,
    in_engine: bool | None = None,
) -> tuple[pd.DataFrame, list[Query]]:
    """``slice_index, grp, twice_u`` of every slice group from the cell-pair matrix, and the
    statements run (after :func:`count_cells`, whose table it reads; the caller drops the
    tables with :func:`drop_tables`).

    ``in_engine``: count the pairs in SQL (temporary tables) rather than stream the ordered
    rows to NumPy; by default only on engines other than DuckDB, whose rows would have to
    cross the network."""
    cells = cell_labels(conn, plan)
    if in_engine is None:
        in_engine = dialect_of(conn) != DUCKDB
    if in_engine:
        pairs, queries = _pairs_in_engine(conn, plan, n_cells=n_cells, n_rows=n_rows)
    else:
        pairs, queries = _pairs_streamed(conn, plan, n_cells=n_cells)
    return slice_twice_u(pairs, cells, plan), queries


def _pairs_streamed(
    conn: duckdb.DuckDBPyConnection, plan: SlicePlan, *, n_cells: int
) -> tuple[np.ndarray, list[Query]]:
    """:math:`W` from the rows in score order, streamed in batches of
    :data:`~rai_pipeline.core.engine.cell_pairs.BATCH_ROWS` (bounded memory at any size)."""
    import contextlib
    from concurrent.futures import Future, ThreadPoolExecutor

    sql = streamed_sql(plan, _names()["cells"], n_cells)
    counter = CellPairCounter(n_cells)
    reader = conn.sql(sql, params=plan.params).to_arrow_reader(BATCH_ROWS)
    # One thread counts a batch, in order, while DuckDB hands over the next (the compiled
    # loop runs without the GIL). NumPy's fallback multiplies small matrices (C x C per
    # block): threads of the linear algebra library beside DuckDB's own would only contend
    # for the cores, so it gets one (threadpoolctl, imported only then).
    blas: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if counter.compiled is None:
        from threadpoolctl import threadpool_limits

        blas = threadpool_limits(limits=1, user_api="blas")
    with blas, ThreadPoolExecutor(1) as counting:
        pending: Future[None] | None = None
        for batch in reader:
            arrays = (
                batch.column(0).to_numpy(zero_copy_only=False),
                batch.column(1).to_numpy(zero_copy_only=False),
            )
            if pending is not None:
                pending.result()
            pending = counting.submit(counter.add, *arrays)
        if pending is not None:
            pending.result()
        matrix = counter.matrix()
    return matrix, [(STEP_STREAMED, sql, plan.params)]


def _pairs_in_engine(
    conn: duckdb.DuckDBPyConnection, plan: SlicePlan, *, n_cells: int, n_rows: int
) -> tuple[np.ndarray, list[Query]]:
    """:math:`W` counted in SQL over temporary tables (dropped before returning)."""
    names = _names()
    position_type = "INTEGER" if n_rows < 2**31 else "BIGINT"
    statements = [
        (
            STEP_ORDERED,
            names["ordered"],
            ordered_sql(plan, names["ordered"], names["cells"], position_type),
            plan.params,
        ),
        (
            STEP_BLOCKS.format(block=BLOCK),
            names["blocks"],
            blocks_sql(n_cells, names["blocks"], names["ordered"]),
            {},
        ),
    ]
    queries: list[Query] = []
    try:
        for step, table, sql, params in statements:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(sql, params)
            queries.append((step, sql, params))
        pairs = pairs_sql(n_cells, names["ordered"], names["blocks"])
        below = conn.execute(pairs).fetchall()
        ties = ties_sql(n_cells, names["ordered"], names["blocks"])
        tied = conn.execute(ties).fetchall()
        queries += [(STEP_PAIRS, pairs, {}), (STEP_TIES, ties, {})]
    finally:
        for table in (names["ordered"], names["blocks"]):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return 2 * _matrix(below, n_cells) - _matrix(tied, n_cells), queries


def _matrix(rows: list[tuple[Any, ...]], n_cells: int) -> np.ndarray:
    """Rows ``(a, b0, b1, ...)`` as a dense ``n_cells x n_cells`` integer matrix."""
    matrix = np.zeros((n_cells, n_cells), dtype=np.int64)
    for row in rows:
        matrix[int(row[0])] = [int(v) for v in row[1:]]
    return matrix


def slice_twice_u(pairs: np.ndarray, cells: pd.DataFrame, plan: SlicePlan) -> pd.DataFrame:
    """Block sums of the cell-pair matrix: :math:`2U` of every slice group (the union of the
    cells that carry its label)."""
    order = cells.sort_values("cell")
    parts = []
    for k in range(len(plan.slices)):
        codes, labels = pd.factorize(order[f"g{k}"], sort=True)
        members = np.zeros((len(order), len(labels)), dtype=np.int64)
        members[np.arange(len(order)), codes] = 1
        block = members.T @ pairs @ members
        parts.append(
            pd.DataFrame(
                {
                    "slice_index": k,
                    "grp": np.asarray(labels, dtype=object),
                    "twice_u": np.diag(block),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
