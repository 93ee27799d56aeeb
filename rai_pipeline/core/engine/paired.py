"""The paired cells of two model versions on the same examples, counted in the warehouse.

Both versions' decisions on each example are joined and counted per slice group into eight
cells (label x previous decision x current decision); every comparison of the two versions
(:mod:`~rai_pipeline.core.metrics.comparison`) is a function of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from rai_pipeline.core.engine.slices import OVERALL, SliceSpec, group_label_sql, group_value_sql
from rai_pipeline.core.engine.sql import qualified_relation, quote_identifier, quote_literal

CELLS = [(y, p, c) for y in (0, 1) for p in (0, 1) for c in (0, 1)]
CELL_COLUMNS = [f"y{y}_p{p}_c{c}" for y, p, c in CELLS]


def paired_cells(
    conn: duckdb.DuckDBPyConnection,
    *,
    relation: str,
    slices: Sequence[SliceSpec],
    previous: Mapping[str, str],
    current: Mapping[str, str],
    key: str = "example_id",
    label: str = "label",
    decision: str = "decision",
    labelled: bool = False,
) -> pd.DataFrame:
    """Eight paired counts per (dimension, group), overall first; examples both versions scored.
    ``labelled``: the attribute columns already hold group values (the pipeline's frame)."""
    rel = qualified_relation(relation)
    k, y, d = quote_identifier(key), quote_identifier(label), quote_identifier(decision)

    def version_filter(alias: str, where: Mapping[str, str]) -> tuple[str, list[str]]:
        clauses = [f"{alias}.{quote_identifier(col)} = ?" for col in where]
        return " and ".join(clauses), [str(v) for v in where.values()]

    prev_sql, prev_params = version_filter("p", previous)
    cur_sql, cur_params = version_filter("c", current)
    cell_sums = ", ".join(
        f"sum(case when p.{y} = {yy} and p.{d} = {pp} and c.{d} = {cc} then 1 else 0 end) as {col}"
        for (yy, pp, cc), col in zip(CELLS, CELL_COLUMNS, strict=True)
    )
    branches, params = [], []
    ordered = [OVERALL, *slices]
    for spec in ordered:
        label = group_label_sql(
            [group_value_sql(f"p.{quote_identifier(f)}", labelled=labelled) for f in spec.features]
        )
        branches.append(
            f"select {quote_literal(spec.dimension)} as dimension, "
            f"{label} as _rai_group, {cell_sums} "
            f"from {rel} p join {rel} c on p.{k} = c.{k} "
            f"where {prev_sql} and {cur_sql} group by 1, 2"
        )
        params += prev_params + cur_params
    frame = conn.execute(" union all ".join(branches), params).df()
    frame = frame.rename(columns={"_rai_group": "group"})
    order = {spec.dimension: i for i, spec in enumerate(ordered)}
    frame["_order"] = frame["dimension"].map(order)
    frame = frame.sort_values(["_order", "group"]).drop(columns="_order").reset_index(drop=True)
    frame[CELL_COLUMNS] = frame[CELL_COLUMNS].astype("int64")
    frame.insert(2, "n", frame[CELL_COLUMNS].sum(axis=1))
    return frame
