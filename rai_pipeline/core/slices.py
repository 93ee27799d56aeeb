"""The slice engine: per-slice sufficient statistics, computed in the warehouse.

Input is an *evaluation frame*: a relation with one row per example, a 0/1 label column, a DOUBLE
score column, a 0/1 (or boolean) decision column and VARCHAR sensitive-attribute columns. A
*slice* is a tuple of sensitive features (``race``, ``race&sex``); its *groups* are the observed
value combinations (``Black``, ``Black&Female``), with NULL turned into the explicit group
``unknown``. The overall slice has dimension ``overall`` and the single group ``all``.

Every row-level step is SQL run by the connection it is given; Python receives one row per
(dimension, group), or per (dimension, group, label, bin) for histograms. Names from
configuration are validated and quoted by :mod:`rai_pipeline.core.sql`; ``where`` values are
bound as parameters.

This module holds the slice specifications, the validated SQL plan (:class:`_Plan`), the
validation profile, the binning SQL and the exact-AUC SQL; :mod:`rai_pipeline.core.statistics`
assembles them into the engine (one aggregation of the rows by every feature, label, decision
and score bin, with the slices rolled up from it).

The exact ROC AUC has two equivalent SQL plans, chosen by ``auc_strategy``:

``score_counts``
    Per slice and group, count positives and negatives at each distinct score
    (``GROUPING SETS`` that include the score), accumulate negatives in score order with a
    window, and sum :math:`pos(s)\\,(neg_{<s} + \\tfrac12 neg(s))`. Fast when scores repeat
    (10^3 distinct scores at 10^7 rows: under a second); with continuous scores the counts
    form a hash table as large as the data (measured: 25-36 s at 10^7 rows, 4 slices).
``ranks``
    One query per slice: each row's lowest and highest rank among tied scores within its
    group, summed over positives (the Mann–Whitney rank sum with mid-ranks). The rows are
    sorted by (hash of the group's values, score), about twice as fast in DuckDB as a window
    partitioned by group, which remains the fallback (:func:`_auc_rank_branch`). Measured:
    13 s at 10^7 rows and 7 slices (``docs/benchmarks.md``).
``auto`` (default)
    ``score_counts`` when the approximate number of distinct scores is at most
    :data:`AUTO_SCORE_COUNTS_MAX_DISTINCT_RATIO` times the row count, else ``ranks``.

Both compute the integer :math:`2U` exactly (HUGEINT) and divide once, so they agree bit for
bit; the AUC is NULL when a group has no positives or no negatives.

Group labels join values with ``&``; a value that itself contains ``&``, or the literal value
``unknown``, is not distinguishable in the label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.sql import qualified_relation, quote_identifier, quote_literal

OVERALL_DIMENSION = "overall"
OVERALL_GROUP = "all"
UNKNOWN_GROUP = "unknown"
GROUP_SEPARATOR = "&"

STATS_COLUMNS = (
    "dimension",
    "group",
    "n",
    "n_pos",
    "n_neg",
    "tp",
    "fp",
    "tn",
    "fn",
    "sum_sq_error",
    "auc",
)
HISTOGRAM_COLUMNS = (
    "dimension",
    "group",
    "label",
    "bin",
    "bin_lower",
    "bin_upper",
    "n",
    "sum_score",
    "sum_sq_score",
)
SCORE_RANGE_UNIT = (0.0, 1.0)
SCORE_RANGE_AUTO: Literal["auto"] = "auto"
AUC_STRATEGIES = ("auto", "score_counts", "ranks")
AUTO_SCORE_COUNTS_MAX_DISTINCT_RATIO = 0.1

MSG_NO_FEATURES = "sensitive_features must name at least one column"
MSG_DUPLICATE_FEATURE = "sensitive feature {name!r} is listed more than once"
MSG_RESERVED_FEATURE = (
    "a sensitive feature cannot be named {name!r}: that is the overall slice's dimension"
)
MSG_INTERSECTION_SIZE = "intersection {members} must combine at least two distinct features"
MSG_INTERSECTION_MEMBER = (
    "intersection member {member!r} is not one of the sensitive features {features}"
)
MSG_DUPLICATE_SLICE = "slice {dimension!r} repeats the features of slice {other!r}"
MSG_SLICE_TYPE = "slices must be SliceSpec instances, got {type_name}"
MSG_WHERE_VALUE = "where-filter value for {column!r} must be a str or an int, got {type_name}"
MSG_COLUMN_ROLES = "label, score and decision must be three different columns, got {columns}"
MSG_BINS = "bins must be an int >= 1, got {bins!r}"
MIN_SUM_SCALE_BITS = 40
MSG_SCORE_MAGNITUDE = (
    "scores up to {largest!r} over {rows} rows are too large for exact histogram sums: "
    "need rows * max(1, |score|)^2 < 2^85"
)
MSG_SCORE_RANGE = (
    "score_range must be 'auto' or (lower, upper) with finite lower < upper, got {value!r}"
)
MSG_AUC_STRATEGY = "auc_strategy must be one of {choices}, got {value!r}"
MSG_EMPTY_FRAME = "relation {relation} has no rows{filter_text}: there is nothing to evaluate"
MSG_INVALID_ROWS = (
    "relation {relation} has rows that break the evaluation-frame contract{filter_text}: {details}"
)


class SliceSpecError(ValueError):
    """Sensitive features, intersections or slices that cannot be evaluated."""


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


@dataclass(frozen=True)
class SliceSpec:
    """One way of cutting the evaluation frame into groups.

    Parameters
    ----------
    features : tuple of str
        Sensitive-feature columns; one for a single-attribute slice, several for an
        intersection, none for the overall slice (see :data:`OVERALL`).

    Examples
    --------
    >>> SliceSpec(("race", "sex")).dimension
    'race&sex'
    >>> OVERALL.dimension
    'overall'
    """

    features: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        seen: set[str] = set()
        for name in self.features:
            quote_identifier(name)
            if name == OVERALL_DIMENSION:
                raise SliceSpecError(MSG_RESERVED_FEATURE.format(name=name))
            if name in seen:
                raise SliceSpecError(MSG_DUPLICATE_FEATURE.format(name=name))
            seen.add(name)

    @property
    def dimension(self) -> str:
        """``"&".join(features)``, or ``overall`` for the overall slice."""
        return GROUP_SEPARATOR.join(self.features) if self.features else OVERALL_DIMENSION

    @property
    def is_overall(self) -> bool:
        """Whether this is the overall slice (no features)."""
        return not self.features


OVERALL = SliceSpec(())


def build_slices(
    sensitive_features: Sequence[str],
    intersections: Sequence[Sequence[str]] | None = None,
) -> list[SliceSpec]:
    """List the slices to evaluate: each sensitive feature, then each intersection.

    Parameters
    ----------
    sensitive_features : sequence of str
        Column names, each a valid identifier, no repeats.
    intersections : sequence of sequences of str, optional
        Feature combinations to evaluate jointly, in the order their labels should read
        (``("race", "sex")`` gives ``race&sex``). ``None`` means every pair of sensitive
        features, in the order given; an empty sequence means none.

    Returns
    -------
    list of SliceSpec
        Single-feature slices first, then intersections. The overall slice is not listed:
        the engine always adds it.

    Raises
    ------
    SliceSpecError
        No features (:data:`MSG_NO_FEATURES`), a repeated feature
        (:data:`MSG_DUPLICATE_FEATURE`), an intersection with fewer than two distinct members
        (:data:`MSG_INTERSECTION_SIZE`) or with a member that is not a sensitive feature
        (:data:`MSG_INTERSECTION_MEMBER`), or two slices over the same set of features
        (:data:`MSG_DUPLICATE_SLICE`).
    InvalidIdentifierError
        A name is not a valid SQL identifier.

    Examples
    --------
    >>> [s.dimension for s in build_slices(["race", "sex"])]
    ['race', 'sex', 'race&sex']
    """
    features = list(sensitive_features)
    if not features:
        raise SliceSpecError(MSG_NO_FEATURES)
    singles = [SliceSpec((name,)) for name in features]
    if len(set(features)) != len(features):
        repeated = next(name for name in features if features.count(name) > 1)
        raise SliceSpecError(MSG_DUPLICATE_FEATURE.format(name=repeated))
    if intersections is None:
        combos: list[tuple[str, ...]] = list(combinations(features, 2))
    else:
        combos = [tuple(members) for members in intersections]
    joint = []
    for members in combos:
        if len(set(members)) < 2 or len(set(members)) != len(members):
            raise SliceSpecError(MSG_INTERSECTION_SIZE.format(members=list(members)))
        for member in members:
            if member not in features:
                raise SliceSpecError(
                    MSG_INTERSECTION_MEMBER.format(member=member, features=features)
                )
        joint.append(SliceSpec(members))
    slices = singles + joint
    _check_unique(slices)
    return slices


def _check_unique(slices: Sequence[SliceSpec]) -> None:
    seen: dict[frozenset[str], str] = {}
    for spec in slices:
        key = frozenset(spec.features)
        if key in seen:
            raise SliceSpecError(
                MSG_DUPLICATE_SLICE.format(dimension=spec.dimension, other=seen[key])
            )
        seen[key] = spec.dimension


# SQL building ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Everything the generated SQL needs, validated once."""

    relation: str
    slices: tuple[SliceSpec, ...]  # overall first
    features: tuple[str, ...]  # distinct features over all slices, first-seen order
    label: str
    score: str
    decision: str | None
    where_sql: str
    params: dict[str, Any]
    filter_text: str

    def alias(self, feature: str) -> str:
        return f"f{self.features.index(feature)}"

    @property
    def aliases(self) -> list[str]:
        return [f"f{i}" for i in range(len(self.features))]

    def mask(self, spec: SliceSpec) -> int:
        """``GROUPING(f0, ..., fm)`` for this slice: bit set (MSB = f0) when not grouped."""
        bits = 0
        for i, feature in enumerate(self.features):
            if feature not in spec.features:
                bits |= 1 << (len(self.features) - 1 - i)
        return bits

    def group_label(self, spec: SliceSpec) -> str:
        if spec.is_overall:
            return quote_literal(OVERALL_GROUP)
        if len(spec.features) == 1:
            return self.alias(spec.features[0])
        parts = ", ".join(self.alias(f) for f in spec.features)
        return f"concat_ws({quote_literal(GROUP_SEPARATOR)}, {parts})"

    def grouping(self) -> str:
        return f"GROUPING({', '.join(self.aliases)})" if self.features else "0"

    def slice_columns(self, gid: str | None = None) -> str:
        """``slice_index`` and ``grp`` from the grouping mask of a GROUPING SETS aggregate.

        ``gid`` names a column already holding the mask; by default ``GROUPING(...)``.
        """
        index_cases = " ".join(
            f"WHEN {self.mask(spec)} THEN {k}" for k, spec in enumerate(self.slices)
        )
        label_cases = " ".join(
            f"WHEN {self.mask(spec)} THEN {self.group_label(spec)}" for spec in self.slices
        )
        gid = gid or self.grouping()
        return f"CASE {gid} {index_cases} END AS slice_index, CASE {gid} {label_cases} END AS grp"

    def grouping_sets(self, *extra: str) -> str:
        sets = []
        for spec in self.slices:
            columns = [self.alias(f) for f in spec.features] + list(extra)
            sets.append(f"({', '.join(columns)})")
        return f"GROUPING SETS ({', '.join(sets)})"

    def group_value(self, column: str) -> str:
        """A sensitive value as its group label: text, with NULL as ``unknown``."""
        return f"COALESCE(CAST({column} AS VARCHAR), {quote_literal(UNKNOWN_GROUP)})"

    def frame_sql(self, *, raw_features: bool = False) -> str:
        """``y``, ``s``, ``d`` and the features as ``f0, f1, ...``: group labels, or the
        columns as stored with ``raw_features`` (label them later with :meth:`group_value`)."""
        columns = [
            f"CAST({self.label} AS INTEGER) AS y",
            f"CAST({self.score} AS DOUBLE) AS s",
        ]
        columns.append(f"CAST({self.decision} AS INTEGER) AS d" if self.decision else "0 AS d")
        for feature in self.features:
            quoted = quote_identifier(feature)
            value = quoted if raw_features else self.group_value(quoted)
            columns.append(f"{value} AS {self.alias(feature)}")
        return f"SELECT {', '.join(columns)} FROM {self.relation}{self.where_sql}"


def _plan(
    *,
    relation: str,
    slices: Sequence[SliceSpec],
    label: str,
    score: str,
    decision: str | None,
    where: Mapping[str, str | int] | None,
) -> _Plan:
    quoted_relation = qualified_relation(relation)
    roles = [label, score] + ([decision] if decision is not None else [])
    quoted_roles = [quote_identifier(name) for name in roles]
    if len(set(roles)) != len(roles):
        raise SliceSpecError(MSG_COLUMN_ROLES.format(columns=roles))
    specs = []
    for spec in slices:
        if not isinstance(spec, SliceSpec):
            raise SliceSpecError(MSG_SLICE_TYPE.format(type_name=type(spec).__name__))
        if not spec.is_overall:
            specs.append(spec)
    ordered = (OVERALL, *specs)
    _check_unique(ordered)
    features: list[str] = []
    for spec in specs:
        features.extend(f for f in spec.features if f not in features)
    clauses, params, shown = [], {}, []
    for i, (column, value) in enumerate((where or {}).items()):
        if not isinstance(value, str | int):
            raise SliceSpecError(
                MSG_WHERE_VALUE.format(column=column, type_name=type(value).__name__)
            )
        clauses.append(f"{quote_identifier(column)} = $w{i}")
        params[f"w{i}"] = value
        shown.append(f"{column}={value!r}")
    return _Plan(
        relation=quoted_relation,
        slices=ordered,
        features=tuple(features),
        label=quoted_roles[0],
        score=quoted_roles[1],
        decision=quoted_roles[2] if decision is not None else None,
        where_sql=f" WHERE {' AND '.join(clauses)}" if clauses else "",
        params=params,
        filter_text=f" where {', '.join(shown)}" if shown else "",
    )


def _profile(
    conn: duckdb.DuckDBPyConnection,
    plan: _Plan,
    *,
    score_range: tuple[float, float] | None,
    distinct: bool = True,
) -> tuple[int, int, float, float]:
    """Validate the frame's rows in one scan.

    Returns (rows, approximate distinct scores, smallest score, largest score). With
    ``score_range``, scores outside it are also counted as offending rows. Without
    ``distinct`` the distinct-score estimate (a HyperLogLog per row) is skipped and -1, and
    the extremes are tried first (:func:`_profile_from_extremes`).
    """
    if not distinct:
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
    return int(n_rows), int(n_scores), float(score_min), float(score_max)


_INTEGER_TYPES = frozenset(
    {"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


def _profile_from_extremes(
    conn: duckdb.DuckDBPyConnection, plan: _Plan, *, score_range: tuple[float, float] | None
) -> tuple[int, int, float, float] | None:
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
    return n_rows, -1, score_min, score_max


def _auc_score_counts_sql(plan: _Plan) -> str:
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


def _auc_rank_branch(plan: _Plan, k: int, *, hashed: bool = False) -> str:
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
            FROM (SELECT {h} AS h, y, s FROM frame)
            WINDOW w AS (ORDER BY h, s)
        )
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
    ){group_by}"""


def _finish(
    frame: pd.DataFrame,
    plan: _Plan,
    columns: Sequence[str],
    sort: list[str],
    *,
    presorted: bool = False,
) -> pd.DataFrame:
    """Name each row's dimension, order rows by slice then ``sort`` (unless ``presorted``)."""
    dimensions = np.array([spec.dimension for spec in plan.slices], dtype=object)
    if not presorted:
        frame = frame.sort_values(["slice_index", *sort], kind="stable", ignore_index=True)
    frame = frame.rename(columns={"grp": "group"})
    frame.insert(0, "dimension", dimensions[frame["slice_index"].to_numpy(dtype=np.int64)])
    return frame.loc[:, list(columns)]


def histogram_edges(score_range: tuple[float, float], bins: int) -> npt.NDArray[np.float64]:
    """The ``bins + 1`` bin edges of :func:`compute_score_histograms` for a score range.

    Edge :math:`k` is :math:`e_k = lo + w \\cdot k / bins` with :math:`w = hi - lo`, evaluated in
    IEEE double precision exactly as the SQL evaluates it, and the last edge is :math:`hi`
    itself. A score :math:`s` lies in bin :math:`b` exactly when :math:`e_b \\le s < e_{b+1}`
    (the last bin also holds :math:`hi`), so for every edge :math:`e_k` with :math:`k < bins`
    the rows with :math:`s \\ge e_k` are exactly those in bins :math:`k, \\dots, bins - 1`.

    Examples
    --------
    >>> histogram_edges((0.0, 1.0), 4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    lower, upper = _check_score_range(score_range)
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise SliceSpecError(MSG_BINS.format(bins=bins))
    width = upper - lower
    edges = lower + width * np.arange(int(bins) + 1, dtype=np.int64) / int(bins)
    edges[-1] = upper
    return edges


def _check_score_range(score_range: object) -> tuple[float, float]:
    valid = (
        isinstance(score_range, tuple | list)
        and len(score_range) == 2
        and all(
            isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            for v in score_range
        )
    )
    if valid:
        lower, upper = float(score_range[0]), float(score_range[1])  # type: ignore[index]
        if np.isfinite(lower) and np.isfinite(upper) and lower < upper:
            return lower, upper
    raise SliceSpecError(MSG_SCORE_RANGE.format(value=score_range))


def resolve_score_range(
    fixed: tuple[float, float] | None, score_min: float, score_max: float
) -> tuple[float, float]:
    """The range histogram bins cover: ``fixed`` when given, else [0, 1] when every score
    lies in it, else the observed [min, max] (or [s, s + 1] when all scores equal s)."""
    if fixed is not None:
        return fixed
    if score_min >= 0.0 and score_max <= 1.0:
        return SCORE_RANGE_UNIT
    if score_min < score_max:
        return score_min, score_max
    return score_min, score_min + 1.0


def binning_sql() -> str:
    """CTEs ``estimated`` and ``binned`` over ``frame``: column ``bin`` is the equal-width bin
    of ``s`` on [$lower, $lower + $width] (``$bins`` bins), corrected by one where
    floating-point rounding put ``s`` on the wrong side of an edge of :func:`histogram_edges`."""
    edge = "($lower + $width * {k} / $bins)"
    return f"""estimated AS (
    SELECT *,
        LEAST(GREATEST(CAST(floor((s - $lower) / $width * $bins) AS BIGINT), 0), $bins - 1) AS b0
    FROM frame
),
binned AS (
    SELECT *, b0
        - CASE WHEN s < {edge.format(k="b0")} THEN 1 ELSE 0 END
        + CASE WHEN b0 < $bins - 1 AND s >= {edge.format(k="(b0 + 1)")} THEN 1 ELSE 0 END
        AS bin
    FROM estimated
)"""
