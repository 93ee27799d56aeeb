"""The exact ROC AUC of every slice group in SQL: the Mann–Whitney statistic, mid-ranks for ties.

The exact ROC AUC has three equivalent SQL plans, chosen by ``auc_strategy``:

``score_counts``
    Per slice and group, count positives and negatives at each distinct score
    (``GROUPING SETS`` that include the score), accumulate negatives in score order with a
    window, and sum :math:`pos(s)\\,(neg_{<s} + \\tfrac12 neg(s))`. Fast when scores repeat
    (10^3 distinct scores at 10^7 rows: under a second); with continuous scores the counts
    form a hash table as large as the data (measured: 25-36 s at 10^7 rows, 4 slices).
``cells``
    One ordering of the rows for every slice: the cell-pair matrix of
    :mod:`~rai_pipeline.core.engine.cell_auc`, summed per slice group. Its work per row grows
    with the number of cells (combinations of the features' groups).
``ranks``
    One query per slice: each row's lowest and highest rank among tied scores within its
    group, summed over positives (the Mann–Whitney rank sum with mid-ranks). The rows are
    sorted by (hash of the group's values, score), about twice as fast in DuckDB as a window
    partitioned by group, which remains the fallback (:func:`rank_auc_branch`).
``auto`` (default)
    ``score_counts`` when the approximate number of distinct scores is at most
    :data:`AUTO_SCORE_COUNTS_MAX_DISTINCT_RATIO` times the row count; else ``cells`` when the
    features form at most :data:`~rai_pipeline.core.engine.cell_auc.MAX_CELLS` cells, else
    ``ranks``. ``docs/benchmarks.md`` has the measured costs.

All compute the integer :math:`2U` exactly and divide once, so they agree bit for bit; the
AUC is NULL when a group has no positives or no negatives.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.core.engine.cell_auc import MAX_CELLS, cell_pair_auc
from rai_pipeline.core.engine.dialects import DUCKDB, dialect_of
from rai_pipeline.core.engine.plan import SlicePlan

AUC_STRATEGIES = ("auto", "score_counts", "cells", "ranks")
AUTO_SCORE_COUNTS_MAX_DISTINCT_RATIO = 0.1
STEP_EXACT_AUC = "exact ROC AUC per slice group ({strategy} plan)"
STEP_EXACT_AUC_SLICE = "exact ROC AUC of the groups of {dimension} (mid-ranks: a sort of the rows)"
STEP_EXACT_AUC_FALLBACK = "the same, partitioned by group (two groups' values hashed alike)"
MSG_AUC_STRATEGY = "auc_strategy must be one of {choices}, got {value!r}"
MSG_CELLS_FIRST = "the cells plan needs the cells table (cell_auc.count_cells) first"


def score_counts_auc_sql(plan: SlicePlan) -> str:
    keys = ", ".join(["gid", *plan.aliases])
    return f"""
score_counts AS (
    SELECT {plan.grouping()} AS gid, {", ".join([*plan.aliases, "s"])},
        count(*) FILTER (WHERE y = 1) AS pos,
        count(*) FILTER (WHERE y = 0) AS neg
    FROM frame
    GROUP BY {plan.grouping_sets("s")}
),
cumulative AS (
    SELECT {keys}, pos, neg,
        sum(neg) OVER (PARTITION BY {keys} ORDER BY s ROWS UNBOUNDED PRECEDING) AS neg_upto
    FROM score_counts
),
auc_by_key AS (
    SELECT {keys}, sum(pos * (2 * neg_upto - neg)) AS twice_u
    FROM cumulative
    GROUP BY {keys}
),
auc AS (
    SELECT {plan.slice_columns("gid")}, twice_u
    FROM auc_by_key
)"""


def rank_auc_branch(plan: SlicePlan, k: int, *, hashed: bool = False) -> str:
    """``slice_index, grp, twice_u`` of slice ``k`` by mid-ranks: one window (a sort).

    By default the window is partitioned by the group's values. With ``hashed`` it orders all
    rows by (:math:`h` = ``hash`` of the group's values, score) and carries only
    (:math:`h`, label, score) through the sort, about half the time and memory in DuckDB:
    each group is then one block of the order, its ranks are the global ranks minus the rows
    before the block (:math:`\\min r_{min} - 1`), and the group's label is joined back by
    :math:`h`. ``contiguous`` says whether each block holds exactly one group's rows and each
    :math:`h` one label (false only if two groups' values hash alike: the result is then
    wrong and the caller must use the partitioned window)."""
    spec = plan.slices[k]
    keys = [plan.alias(f) for f in spec.features]
    positives = "count(*) FILTER (WHERE y = 1)"
    ranks = "rank() OVER w AS r_min, count(*) OVER w AS r_max"
    if hashed and keys:
        h = f"hash({', '.join(keys)})"
        return f"""
    SELECT {k} AS slice_index, labels.grp, ranked.twice_u,
        ranked.contiguous AND labels.labels_per_hash = 1 AS contiguous
    FROM (
        SELECT h,
            sum(r_min + r_max) FILTER (WHERE y = 1) - 2 * (min(r_min) - 1) * {positives}
                - {positives} * ({positives} + 1) AS twice_u,
            max(r_max) - min(r_min) + 1 = count(*) AS contiguous
        FROM (
            SELECT h, y, {ranks}
            FROM (SELECT {h} AS h, y, s FROM frame) AS hashed
            WINDOW w AS (ORDER BY h, s)
        ) AS ordered
        GROUP BY h
    ) AS ranked
    JOIN (
        SELECT {h} AS h, {plan.group_label(spec)} AS grp,
            count(*) OVER (PARTITION BY {h}) AS labels_per_hash
        FROM frame
        GROUP BY {", ".join(keys)}
    ) AS labels USING (h)"""
    partition = f"PARTITION BY {', '.join(keys)} " if keys else ""
    group_by = f" GROUP BY {', '.join(keys)}" if keys else ""
    contiguous = ",\n        true AS contiguous" if hashed else ""
    return f"""
    SELECT {k} AS slice_index, {plan.group_label(spec)} AS grp,
        sum(r_min + r_max) FILTER (WHERE y = 1)
            - {positives} * ({positives} + 1) AS twice_u{contiguous}
    FROM (
        SELECT {", ".join([*keys, "y"])}, {ranks}
        FROM frame
        WINDOW w AS ({partition}ORDER BY s)
    ) AS ranked{group_by}"""


def exact_auc_queries(
    plan: SlicePlan, strategy: str, *, hashed: bool = True
) -> list[tuple[str, str, str | None]]:
    """(step, SQL, fallback SQL) of the exact AUC: one query with ``score_counts``; with
    ``ranks`` one query per slice, so that only one sort of the rows holds memory at a time.

    With ``hashed`` (DuckDB) a slice's query sorts all rows by (hash of the group's values,
    score) in one window, about twice as fast in DuckDB as a window partitioned by group, and
    reads each group's ranks off the global ones (:func:`rank_auc_branch`). Its
    ``contiguous`` column proves every group was sorted as one block; if two groups' values
    ever hashed alike, the fallback (a partitioned window) runs instead. Without it (engines
    whose hash functions differ), the partitioned window alone."""
    frame = f"WITH frame AS NOT MATERIALIZED ({plan.frame_sql()})"
    if strategy == "score_counts":
        sql = f"{frame},\n{score_counts_auc_sql(plan)}\nSELECT slice_index, grp, twice_u FROM auc"
        return [(STEP_EXACT_AUC.format(strategy=strategy), sql, None)]
    if not hashed:
        return [
            (STEP_EXACT_AUC_SLICE.format(dimension=spec.dimension),
             f"{frame}\n{rank_auc_branch(plan, k)}", None)
            for k, spec in enumerate(plan.slices)
        ]  # fmt: skip
    return [
        (
            STEP_EXACT_AUC_SLICE.format(dimension=spec.dimension),
            f"{frame}\n{rank_auc_branch(plan, k, hashed=True)}",
            f"{frame}\n{rank_auc_branch(plan, k)}" if spec.features else None,
        )
        for k, spec in enumerate(plan.slices)
    ]


def exact_auc(
    conn: duckdb.DuckDBPyConnection,
    plan: SlicePlan,
    strategy: str,
    *,
    n_rows: int,
    n_scores: int,
    cells: int | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, str, dict[str, Any]]]]:
    """``slice_index, grp, twice_u`` of every slice group by ``strategy``, and the queries run.

    ``auto``: ``score_counts`` when the approximate number of distinct scores ``n_scores`` is
    at most :data:`AUTO_SCORE_COUNTS_MAX_DISTINCT_RATIO` of ``n_rows``, else ``cells`` (one
    ordering of the rows, :mod:`~rai_pipeline.core.engine.cell_auc`) when the features form
    at most :data:`~rai_pipeline.core.engine.cell_auc.MAX_CELLS` cells, else ``ranks``.
    ``cells``: the number of cells of the table
    :func:`~rai_pipeline.core.engine.cell_auc.count_cells` made, needed when ``strategy`` is
    ``auto`` or ``cells`` (the caller drops the table).
    """
    if strategy == "auto" and 0 <= n_scores <= AUTO_SCORE_COUNTS_MAX_DISTINCT_RATIO * n_rows:
        strategy = "score_counts"
    if strategy in ("auto", "cells"):
        if cells is None:
            raise ValueError(MSG_CELLS_FIRST)
        if strategy == "cells" or cells <= MAX_CELLS:
            return cell_pair_auc(conn, plan, n_cells=cells, n_rows=n_rows)
        strategy = "ranks"
    queries: list[tuple[str, str, dict[str, Any]]] = []
    parts = []
    hashed = dialect_of(conn) == DUCKDB
    for step, auc_sql, fallback in exact_auc_queries(plan, strategy, hashed=hashed):
        queries.append((step, auc_sql, plan.params))
        part = conn.execute(auc_sql, plan.params).df()
        if fallback is not None and not part["contiguous"].all():
            queries.append((STEP_EXACT_AUC_FALLBACK, fallback, plan.params))
            part = conn.execute(fallback, plan.params).df()
        parts.append(part[["slice_index", "grp", "twice_u"]])
    exact = pd.concat(parts, ignore_index=True).astype({"slice_index": "int64"})
    return exact, queries
