"""What changed between two model versions evaluated on the same examples.

Both versions' decisions on each example are joined in the warehouse and counted per slice
into eight *paired cells* (label x previous decision x current decision). Every rate of
either version is a function of those counts, so a paired bootstrap resamples each group's
eight counts as Multinomial(n_g, cell shares): equal in distribution to resampling the
group's examples with both versions' decisions attached, which keeps the correlation between
the versions that an unpaired comparison would ignore.

A metric *regresses* when the whole interval of (current - previous) lies on the bad side of
zero (lower for ``true_positive_rate`` and ``accuracy_score``, higher for
``false_positive_rate``); ``selection_rate`` has no good direction and is reported as
``changed``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import duckdb
import numpy as np
import pandas as pd

from rai_pipeline.core.slices import GROUP_SEPARATOR, UNKNOWN_GROUP, SliceSpec
from rai_pipeline.core.sql import qualified_relation, quote_identifier, quote_literal

CELLS = [(y, p, c) for y in (0, 1) for p in (0, 1) for c in (0, 1)]
CELL_COLUMNS = [f"y{y}_p{p}_c{c}" for y, p, c in CELLS]
DIRECTION = {
    "selection_rate": 0,
    "true_positive_rate": 1,
    "false_positive_rate": -1,
    "accuracy_score": 1,
}
COMPARISON_COLUMNS = [
    "dimension",
    "group",
    "n",
    "metric",
    "previous",
    "current",
    "delta",
    "ci_lower",
    "ci_upper",
    "change",
]


def _group_expression(features: Sequence[str]) -> str:
    parts = ", ".join(
        f"COALESCE(CAST(p.{quote_identifier(f)} AS VARCHAR), {quote_literal(UNKNOWN_GROUP)})"
        for f in features
    )
    return f"concat_ws({quote_literal(GROUP_SEPARATOR)}, {parts})" if features else "'all'"


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
) -> pd.DataFrame:
    """Eight paired counts per (dimension, group), overall first; examples both versions scored."""
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
    for spec in [SliceSpec(()), *slices]:
        dimension = "overall" if not spec.features else spec.dimension
        branches.append(
            f"select {quote_literal(dimension)} as dimension, "
            f"{_group_expression(spec.features)} as _rai_group, {cell_sums} "
            f"from {rel} p join {rel} c on p.{k} = c.{k} "
            f"where {prev_sql} and {cur_sql} group by 1, 2"
        )
        params += prev_params + cur_params
    frame = conn.execute(" union all ".join(branches), params).df()
    frame = frame.rename(columns={"_rai_group": "group"})
    order = {
        ("overall" if not s.features else s.dimension): i
        for i, s in enumerate([SliceSpec(()), *slices])
    }
    frame["_order"] = frame["dimension"].map(order)
    frame = frame.sort_values(["_order", "group"]).drop(columns="_order").reset_index(drop=True)
    frame[CELL_COLUMNS] = frame[CELL_COLUMNS].astype("int64")
    frame.insert(2, "n", frame[CELL_COLUMNS].sum(axis=1))
    return frame


def _rates(cells: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(previous, current) of each metric from cell counts of shape (..., 8)."""
    c = {col: cells[..., i].astype(float) for i, col in enumerate(CELL_COLUMNS)}
    n = cells.sum(axis=-1).astype(float)
    pos = sum(c[f"y1_p{p}_c{q}"] for p in (0, 1) for q in (0, 1))
    neg = n - pos
    prev_sel = sum(c[f"y{y}_p1_c{q}"] for y in (0, 1) for q in (0, 1))
    cur_sel = sum(c[f"y{y}_p{p}_c1"] for y in (0, 1) for p in (0, 1))
    prev_tp = c["y1_p1_c0"] + c["y1_p1_c1"]
    cur_tp = c["y1_p0_c1"] + c["y1_p1_c1"]
    prev_fp = c["y0_p1_c0"] + c["y0_p1_c1"]
    cur_fp = c["y0_p0_c1"] + c["y0_p1_c1"]
    prev_correct = prev_tp + (c["y0_p0_c0"] + c["y0_p0_c1"])
    cur_correct = cur_tp + (c["y0_p0_c0"] + c["y0_p1_c0"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "selection_rate": (prev_sel / n, cur_sel / n),
            "true_positive_rate": (prev_tp / pos, cur_tp / pos),
            "false_positive_rate": (prev_fp / neg, cur_fp / neg),
            "accuracy_score": (prev_correct / n, cur_correct / n),
        }


def compare_versions(
    cells: pd.DataFrame,
    *,
    min_group_size: int = 30,
    confidence_level: float = 0.95,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per slice and metric: previous, current, delta with a paired bootstrap interval, change."""
    alpha = 1 - confidence_level
    rows = []
    for record in cells.itertuples(index=False):
        counts = np.array([getattr(record, col) for col in CELL_COLUMNS], dtype=np.int64)
        n = int(counts.sum())
        point = _rates(counts)
        stream = zlib.crc32(f"{record.dimension}|{record.group}".encode())
        rng = np.random.default_rng([seed, stream])
        draws = rng.multinomial(n, counts / n, size=n_bootstrap) if n else np.zeros((0, 8))
        boot = _rates(draws)
        for metric, direction in DIRECTION.items():
            previous, current = (float(v) for v in point[metric])
            delta = current - previous
            deltas = boot[metric][1] - boot[metric][0]
            deltas = deltas[np.isfinite(deltas)]
            if len(deltas) >= 0.9 * n_bootstrap and np.isfinite(delta):
                lower, upper = np.quantile(deltas, [alpha / 2, 1 - alpha / 2])
            else:
                lower = upper = float("nan")
            rows.append(
                {
                    "dimension": record.dimension,
                    "group": record.group,
                    "n": n,
                    "metric": metric,
                    "previous": previous,
                    "current": current,
                    "delta": delta,
                    "ci_lower": float(lower),
                    "ci_upper": float(upper),
                    "change": _change(n, min_group_size, lower, upper, direction),
                }
            )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _change(n: int, minimum: int, lower: float, upper: float, direction: int) -> str:
    if n < minimum:
        return "insufficient_sample"
    if not (np.isfinite(lower) and np.isfinite(upper)) or lower <= 0 <= upper:
        return "no_significant_change"
    if direction == 0:
        return "changed"
    better = (lower > 0) == (direction > 0)
    return "improvement" if better else "regression"
