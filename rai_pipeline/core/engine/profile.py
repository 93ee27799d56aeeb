"""Validation of the evaluation frame in one scan: row count, offending rows by rule, score
extremes; answered from column statistics when they prove every row valid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import duckdb
import numpy as np

from rai_pipeline.core.engine.binning import SCORE_RANGE_UNIT
from rai_pipeline.core.engine.dialects import DUCKDB, dialect_of
from rai_pipeline.core.engine.plan import SlicePlan
from rai_pipeline.core.engine.slices import SliceSpec, SliceSpecError
from rai_pipeline.core.engine.sql import quote_identifier

MSG_EMPTY_FRAME = "relation {relation} has no rows{filter_text}: there is nothing to evaluate"
MSG_INVALID_ROWS = (
    "relation {relation} has rows that break the evaluation-frame contract{filter_text}: {details}"
)


class EvaluationFrameError(ValueError):
    """The evaluation frame is empty or has rows that break its contract.

    Attributes
    ----------
    relation : str
        The quoted relation that was read.
    counts : dict[str, int]
        Offending row counts by reason (``label_not_0_1``, ``decision_not_0_1``,
        ``score_not_finite``, ``score_outside_0_1``, or ``score_outside_range`` for a histogram
        range other than [0, 1]), or ``{"rows": 0}`` for an empty frame.
    """

    def __init__(self, message: str, *, relation: str, counts: dict[str, int]) -> None:
        super().__init__(message)
        self.relation = relation
        self.counts = counts


class FrameProfile(NamedTuple):
    """What the slice engine needs to know of a valid frame before it groups the rows."""

    rows: int
    distinct_scores: int  # approximate (HyperLogLog); -1 when not counted
    score_min: float
    score_max: float


def profile_frame(
    conn: duckdb.DuckDBPyConnection,
    plan: SlicePlan,
    *,
    score_range: tuple[float, float] | None,
    distinct: bool = True,
) -> FrameProfile:
    """Validate the frame's rows in one scan.

    Returns (rows, approximate distinct scores, smallest score, largest score). With
    ``score_range``, scores outside it are also counted as offending rows. Without
    ``distinct`` the distinct-score estimate (a HyperLogLog per row) is skipped and -1, and
    the extremes are tried first (:func:`_profile_from_extremes`).
    """
    if not distinct and dialect_of(conn) == DUCKDB:  # DESCRIBE: DuckDB's column types
        extremes = _profile_from_extremes(conn, plan, score_range=score_range)
        if extremes is not None:
            return extremes
    label = f"TRY_CAST({plan.label} AS DOUBLE)"
    score = f"TRY_CAST({plan.score} AS DOUBLE)"
    checks = {
        "label_not_0_1": f"{label} IS NULL OR {label} NOT IN (0, 1)",
        "score_not_finite": f"{score} IS NULL OR NOT isfinite({score})",
    }
    params = dict(plan.params)
    if plan.decision is not None:
        decision = f"TRY_CAST({plan.decision} AS DOUBLE)"
        checks["decision_not_0_1"] = f"{decision} IS NULL OR {decision} NOT IN (0, 1)"
    if score_range is not None:
        key = "score_outside_0_1" if score_range == SCORE_RANGE_UNIT else "score_outside_range"
        checks[key] = f"{score} < $range_lower OR {score} > $range_upper"
        params.update(range_lower=score_range[0], range_upper=score_range[1])
    counts_sql = ", ".join(
        f"count(*) FILTER (WHERE {cond}) AS {key}" for key, cond in checks.items()
    )
    finite = f"FILTER (WHERE isfinite({score}))"
    sql = (
        f"SELECT count(*) AS n_rows, "
        f"{f'approx_count_distinct({score})' if distinct else '-1'} AS n_scores, "
        f"min({score}) {finite} AS score_min, max({score}) {finite} AS score_max, {counts_sql} "
        f"FROM {plan.relation}{plan.where_sql}"
    )
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    n_rows, n_scores, score_min, score_max, *bad = row
    if n_rows == 0:
        raise EvaluationFrameError(
            MSG_EMPTY_FRAME.format(relation=plan.relation, filter_text=plan.filter_text),
            relation=plan.relation,
            counts={"rows": 0},
        )
    counts = {key: int(count) for key, count in zip(checks, bad, strict=True) if count}
    if counts:
        details = ", ".join(f"{count} rows with {key}" for key, count in counts.items())
        raise EvaluationFrameError(
            MSG_INVALID_ROWS.format(
                relation=plan.relation, filter_text=plan.filter_text, details=details
            ),
            relation=plan.relation,
            counts=counts,
        )
    return FrameProfile(int(n_rows), int(n_scores), float(score_min), float(score_max))


_INTEGER_TYPES = frozenset(
    {"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


def _profile_from_extremes(
    conn: duckdb.DuckDBPyConnection, plan: SlicePlan, *, score_range: tuple[float, float] | None
) -> FrameProfile | None:
    """The profile from counts and extremes alone, or None when they cannot prove the rows
    valid (then the full profile counts the offending rows).

    Integer or boolean labels and decisions without NULLs between 0 and 1 are 0/1; scores
    without NULLs whose minimum and maximum are finite are all finite (DuckDB orders NaN
    above +inf). These are plain aggregates, which DuckDB can answer from Parquet statistics
    without reading the rows.
    """
    roles = [plan.label, plan.score] + ([plan.decision] if plan.decision is not None else [])
    described = conn.execute(f"DESCRIBE SELECT {', '.join(roles)} FROM {plan.relation}")
    types = [str(row[1]) for row in described.fetchall()]
    if types[0] not in _INTEGER_TYPES or (len(types) == 3 and types[2] not in _INTEGER_TYPES):
        return None
    aggregates = ["count(*)"]
    for role in roles:
        value = f"CAST({role} AS DOUBLE)" if role == plan.score else f"CAST({role} AS INTEGER)"
        aggregates += [f"count({role})", f"min({value})", f"max({value})"]
    row = conn.execute(
        f"SELECT {', '.join(aggregates)} FROM {plan.relation}{plan.where_sql}", plan.params
    ).fetchone()
    assert row is not None
    n_rows, stats = int(row[0]), [row[1 + 3 * k : 4 + 3 * k] for k in range(len(roles))]
    if n_rows == 0 or any(count != n_rows for count, _, _ in stats):
        return None
    binary = [stats[0], *stats[2:]]
    if any(low < 0 or high > 1 for _, low, high in binary):
        return None
    score_min, score_max = float(stats[1][1]), float(stats[1][2])
    if not (np.isfinite(score_min) and np.isfinite(score_max)):
        return None
    if score_range is not None and (score_min < score_range[0] or score_max > score_range[1]):
        return None
    return FrameProfile(n_rows, -1, score_min, score_max)


MSG_TOO_MANY_GROUPS = (
    "{dimensions}: more than {limit:,} groups (limits.max_groups_per_dimension){filter_text}; "
    "a column with this many values is usually an id or free text: group its values into "
    "fewer, or raise the limit"
)


class GroupLimitError(SliceSpecError):
    """A dimension has more groups than the limit allows.

    Attributes
    ----------
    counts : dict[str, int]
        Groups of each dimension over the limit.
    """

    def __init__(self, message: str, *, counts: dict[str, int]) -> None:
        super().__init__(message)
        self.counts = counts


def count_groups(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    slices: Sequence[SliceSpec],
    *,
    where_sql: str = "",
    params: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Groups per dimension of ``slices`` (the overall slice left out) in ``relation`` (quoted),
    in one scan: the distinct combinations of each slice's values, a missing value counting as
    one."""
    slices = [spec for spec in slices if not spec.is_overall]
    if not slices:
        return {}
    counts = ", ".join(
        f"count(DISTINCT row({', '.join(quote_identifier(f) for f in spec.features)}))"
        for spec in slices
    )
    (row,) = conn.execute(
        f"SELECT {counts} FROM {relation}{where_sql}", dict(params or {})
    ).fetchall()
    return {spec.dimension: int(n) for spec, n in zip(slices, row, strict=True)}


def check_group_limit(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    slices: Sequence[SliceSpec],
    max_groups: int | None,
    *,
    where_sql: str = "",
    params: Mapping[str, Any] | None = None,
    filter_text: str = "",
) -> None:
    """Raise :class:`GroupLimitError` naming every dimension of ``slices`` with more than
    ``max_groups`` groups in ``relation`` (no limit when None)."""
    if max_groups is None:
        return
    counts = count_groups(conn, relation, slices, where_sql=where_sql, params=params)
    refuse_over_limit(counts, max_groups, filter_text=filter_text)


def refuse_over_limit(
    counts: Mapping[str, int], max_groups: int | None, *, filter_text: str = ""
) -> None:
    """Raise :class:`GroupLimitError` naming every dimension of ``counts`` (groups per
    dimension) with more than ``max_groups`` groups (no limit when None)."""
    if max_groups is None:
        return
    over = {d: n for d, n in counts.items() if n > max_groups}
    if over:
        shown = "; ".join(f"{d!r} has {n:,} groups" for d, n in over.items())
        raise GroupLimitError(
            MSG_TOO_MANY_GROUPS.format(dimensions=shown, limit=max_groups, filter_text=filter_text),
            counts=over,
        )
