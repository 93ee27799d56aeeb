"""Every sufficient statistic of an evaluation in one scan of the frame.

:func:`compute_slice_statistics` is what the pipeline and ``rai evaluate-file`` run: the
confusion cells, squared error and ROC AUC per slice group *and* the label-by-score histograms
that the AUC and Brier intervals, threshold curves and calibration need, in few reads of the
rows. :func:`compute_slice_stats` (cells and exact AUC) and :func:`compute_score_histograms`
(histograms only) are views of the same computation.

1. a validation scan (row count, score range, contract violations), answered from column
   extremes when they prove the rows valid;
2. one aggregation of the rows by the *finest* key, (every sensitive feature, label, decision,
   score bin), with a count and fixed-point sums of :math:`s` and :math:`s^2`. Every slice
   group is a union of finest cells, so the slices are then rolled up from this small result
   (``GROUPING SETS`` over at most groups x 4 x bins rows) instead of from the rows;
3. with ``auc="exact"`` only, the exact AUC (see :mod:`~rai_pipeline.core.engine.exact_auc`
   for its SQL plans): one ordering of the rows for every slice, a count per distinct score,
   or (with very many cells) one sort of the rows per slice.

Confusion cells are sums of finest counts, so they are exact. The Brier numerator is
:math:`\\sum (s - y)^2 = \\sum s^2 - 2 \\sum_{y=1} s + P`, from the fixed-point sums: the same
in every run (a DOUBLE ``sum`` in a parallel aggregate is not).

The ROC AUC (``auc``)
---------------------
``exact`` (default)
    The Mann–Whitney AUC on the scores as given: equal to
    :func:`sklearn.metrics.roc_auc_score`. It needs the rows in score order: with continuous
    scores one sort of the rows serves every slice (:mod:`~rai_pipeline.core.engine.cell_auc`).
``binned``
    The Mann–Whitney AUC of the bin indices: pairs of a positive and a negative in different
    bins are ordered exactly, pairs in the same bin count 1/2. As every such pair contributes
    0, 1/2 or 1 to the exact statistic, the error is at most

    .. math:: \\varepsilon = \\frac{1}{2PN} \\sum_b pos_b \\, neg_b,

    reported per group in ``auc_error_bound`` (0 for ``exact``). With 1000 bins on continuous
    scores the bound is of the order of 10^-3 and the actual error usually far smaller. The
    AUC comes from the histograms already computed, so it costs nothing extra.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from rai_pipeline.core.engine.binning import (
    MSG_BINS,
    SCORE_RANGE_AUTO,
    SCORE_RANGE_UNIT,
    check_score_range,
    resolve_score_range,
)
from rai_pipeline.core.engine.cell_auc import count_cells, drop_tables
from rai_pipeline.core.engine.exact_auc import AUC_STRATEGIES, MSG_AUC_STRATEGY, exact_auc
from rai_pipeline.core.engine.plan import finish_rows, plan_slices
from rai_pipeline.core.engine.profile import FrameProfile, profile_frame, refuse_over_limit
from rai_pipeline.core.engine.rollup import Cube, finest_sql, fixed_point_scale
from rai_pipeline.core.engine.slices import STATS_COLUMNS, SliceSpec, SliceSpecError

AUC_METHODS = ("exact", "binned")
DEFAULT_BINS = 1000
STATISTICS_COLUMNS = (*STATS_COLUMNS, "auc_error_bound")
MSG_AUC_METHOD = "auc must be one of {choices}, got {value!r}"
STEP_FINEST = (
    "cells, Brier sums and score histograms: rows grouped once by every feature, label, "
    "decision and bin, slices rolled up"
)


@dataclass(frozen=True)
class SliceStatistics:
    """Sufficient statistics of one evaluation.

    Attributes
    ----------
    stats : pandas.DataFrame
        :data:`STATISTICS_COLUMNS`, one row per (dimension, group), overall first.
    histograms : pandas.DataFrame
        :data:`~rai_pipeline.core.engine.slices.HISTOGRAM_COLUMNS`, dense over groups, labels, bins.
    auc_method : {"exact", "binned"}
    bins : int
    score_range : (float, float)
        The range the bins cover.
    queries : tuple of (str, str, dict)
        What ran on the rows, in order: (step, SQL, bound parameters); :meth:`sql_script`
        writes them out for an evidence pack.
    """

    stats: pd.DataFrame
    histograms: pd.DataFrame
    auc_method: str
    bins: int
    score_range: tuple[float, float]
    queries: tuple[tuple[str, str, dict[str, Any]], ...] = ()

    def sql_script(self) -> str:
        """The queries as one SQL script, each preceded by its step and parameters."""
        parts = []
        for step, sql, params in self.queries:
            shown = json.dumps(params, sort_keys=True, default=str)
            parts.append(f"-- {step}\n-- parameters: {shown}\n{sql.strip()};\n")
        return "\n".join(parts)

    @property
    def largest_auc_error_bound(self) -> float:
        bounds = self.stats["auc_error_bound"].dropna()
        return float(bounds.max()) if len(bounds) else 0.0


def compute_slice_statistics(
    conn: duckdb.DuckDBPyConnection,
    *,
    relation: str,
    slices: Sequence[SliceSpec],
    label: str,
    score: str,
    decision: str | None,
    where: Mapping[str, str | int] | None = None,
    bins: int = DEFAULT_BINS,
    score_range: tuple[float, float] | Literal["auto"] = SCORE_RANGE_AUTO,
    auc: Literal["exact", "binned"] = "exact",
    auc_strategy: Literal["auto", "score_counts", "cells", "ranks"] = "auto",
    labelled: bool = False,
    max_groups: int | None = None,
    profile: FrameProfile | None = None,
) -> SliceStatistics:
    """Confusion cells, Brier numerator, ROC AUC and score histograms per slice group.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        Connection that can read ``relation``.
    relation : str
        ``table``, ``schema.table`` or ``catalog.schema.table`` (validated, then quoted).
    slices : sequence of SliceSpec
        Usually :func:`~rai_pipeline.core.engine.slices.build_slices`' result; the overall slice is
        always computed first.
    label, score, decision : str
        Column names: 0/1 label, DOUBLE score, 0/1 or boolean decision (None: no decision;
        the confusion cells then count every row as not selected).
    where : mapping of str to str or int, optional
        Equality filters ``column = value``, AND-ed, bound as parameters.
    bins : int, default 1000
        Equal-width score bins of the histograms (and of the ``binned`` AUC).
    score_range : (float, float) or "auto", default "auto"
        Range the bins cover: [0, 1] when every score lies in it, else the observed range.
        A fixed range rejects scores outside it.
    auc : {"exact", "binned"}, default "exact"
        How the ROC AUC is computed (module docstring).
    auc_strategy : {"auto", "score_counts", "cells", "ranks"}, default "auto"
        SQL plan of the exact AUC (see :mod:`~rai_pipeline.core.engine.exact_auc`); all give
        the same numbers.
    labelled : bool, default False
        The sensitive-attribute columns already hold group values
        (:func:`~rai_pipeline.core.engine.slices.group_value`), as in the pipeline's evaluation
        frame; otherwise they are raw values, labelled here.
    max_groups : int, optional
        Most groups a dimension may have, checked in one scan before any other work; None:
        no limit.
    profile : FrameProfile, optional
        The frame's rows, distinct scores (-1: not counted) and score extremes, from checks
        the caller has already run on every row of ``relation`` (``rai evaluate-file``'s input
        checks): the engine's own validation scan is then skipped. Used only without
        ``where``, with ``score_range="auto"``, and with the distinct scores counted when
        ``auc_strategy="auto"`` chooses the exact plan from them.

    Returns
    -------
    SliceStatistics
        ``stats`` has the columns :data:`~rai_pipeline.core.engine.slices.STATS_COLUMNS` plus
        ``auc_error_bound``; ``histograms`` the columns
        :data:`~rai_pipeline.core.engine.slices.HISTOGRAM_COLUMNS`.

    Raises
    ------
    GroupLimitError
        A dimension has more than ``max_groups`` groups.
    EvaluationFrameError
        Empty frame, labels or decisions outside {0, 1}, non-finite scores, or scores outside
        a fixed ``score_range``.
    SliceSpecError, InvalidIdentifierError
        Invalid options (the ``MSG_*`` constants), slices, column names, relation or filters.

    Examples
    --------
    >>> conn = duckdb.connect()
    >>> _ = conn.execute(
    ...     "CREATE TABLE ev AS SELECT * FROM (VALUES (1, 0.9, 1), (0, 0.2, 0), (1, 0.3, 0))"
    ...     " t(label, score, decision)"
    ... )
    >>> result = compute_slice_statistics(conn, relation="ev", slices=[], label="label",
    ...     score="score", decision="decision", bins=10, auc="binned")
    >>> result.stats[["n", "tp", "fn", "auc", "auc_error_bound"]].values.tolist()
    [[3.0, 1.0, 1.0, 1.0, 0.0]]
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise SliceSpecError(MSG_BINS.format(bins=bins))
    if auc not in AUC_METHODS:
        raise SliceSpecError(MSG_AUC_METHOD.format(choices=AUC_METHODS, value=auc))
    if auc_strategy not in AUC_STRATEGIES:
        raise SliceSpecError(MSG_AUC_STRATEGY.format(choices=AUC_STRATEGIES, value=auc_strategy))
    bins = int(bins)
    fixed = None if score_range == SCORE_RANGE_AUTO else check_score_range(score_range)
    plan = plan_slices(
        relation=relation,
        slices=slices,
        label=label,
        score=score,
        decision=decision,
        where=where,
        labelled=labelled,
    )
    uses_cells = auc == "exact" and auc_strategy in ("auto", "cells")
    try:
        queries: list[tuple[str, str, dict[str, Any]]] = []
        cell_table = None
        if uses_cells or max_groups is not None:
            # one scan: the distinct feature values give the groups of every dimension (checked
            # against the limit before any other work) and the cells of the exact AUC
            cell_table, cells_query = count_cells(conn, plan)
            queries.append(cells_query)
            refuse_over_limit(cell_table.groups, max_groups, filter_text=plan.filter_text)
        exact_auto = auc == "exact" and auc_strategy == "auto"
        usable = (
            profile is not None
            and not where
            and fixed is None
            and (profile.distinct_scores >= 0 or not exact_auto)
        )
        if not usable:
            profile = profile_frame(conn, plan, score_range=fixed, distinct=exact_auto)
        assert profile is not None
        n_rows, n_scores, score_min, score_max = profile
        lower, upper = resolve_score_range(fixed, score_min, score_max)
        scale, integer_type = fixed_point_scale(n_rows, max(abs(score_min), abs(score_max)))
        params = {
            **plan.params,
            "bins": bins,
            "lower": lower,
            "width": upper - lower,
            "sum_scale": scale,
        }
        rows_sql = finest_sql(plan, integer_type)
        queries.append((STEP_FINEST, rows_sql, params))
        sparse = conn.execute(rows_sql, params).df()
        cube = Cube.from_rows(sparse, bins=bins)
        histograms = cube.histograms(plan, score_range=(lower, upper))
        cells = cube.cells()
        if auc == "binned":
            cells["twice_u"], cells["auc_error_bound"] = cube.binned_auc()
        else:
            exact, auc_queries = exact_auc(
                conn,
                plan,
                auc_strategy,
                n_rows=n_rows,
                n_scores=n_scores,
                cells=cell_table.cells if cell_table and uses_cells else None,
            )
            queries += auc_queries
            cells = cells.merge(exact, on=["slice_index", "grp"], how="left")
            cells["auc_error_bound"] = 0.0
    finally:
        drop_tables(conn)
    defined = (cells["n_pos"] > 0) & (cells["n_neg"] > 0)
    denominator = 2.0 * cells["n_pos"].astype("float64") * cells["n_neg"].astype("float64")
    cells["auc"] = (cells["twice_u"].astype("float64") / denominator).where(defined)
    cells["auc_error_bound"] = cells["auc_error_bound"].where(defined)
    stats = finish_rows(cells, plan, STATISTICS_COLUMNS, ["grp"])
    return SliceStatistics(
        stats=stats,
        histograms=histograms,
        auc_method=auc,
        bins=bins,
        score_range=(lower, upper),
        queries=tuple(queries),
    )


def compute_slice_stats(
    conn: duckdb.DuckDBPyConnection,
    *,
    relation: str,
    slices: Sequence[SliceSpec],
    label: str,
    score: str,
    decision: str,
    where: Mapping[str, str | int] | None = None,
    auc_strategy: Literal["auto", "score_counts", "cells", "ranks"] = "auto",
) -> pd.DataFrame:
    """Confusion cells, squared error and exact ROC AUC per slice group: the ``stats`` of
    :func:`compute_slice_statistics` (one score bin, exact AUC) without ``auc_error_bound``.

    The AUC is the Mann–Whitney statistic
    :math:`\frac{1}{PN} \\sum_{s} pos(s) (neg_{<s} + \tfrac12 neg(s))`, equal to
    :func:`sklearn.metrics.roc_auc_score` including ties (NaN when :math:`P = 0` or
    :math:`N = 0`). Rows: overall first, then slices in the given order, groups sorted.

    Examples
    --------
    >>> from rai_pipeline.core.engine.slices import build_slices
    >>> conn = duckdb.connect()
    >>> _ = conn.execute(
    ...     "CREATE TABLE ev AS SELECT * FROM (VALUES (1, 0.9, 1, 'a'), (0, 0.2, 0, 'b'))"
    ...     " t(label, score, decision, grp)"
    ... )
    >>> stats = compute_slice_stats(
    ...     conn, relation="ev", slices=build_slices(["grp"]),
    ...     label="label", score="score", decision="decision",
    ... )
    >>> stats[["dimension", "group", "n", "tp", "tn"]].values.tolist()
    [['overall', 'all', 2, 1, 1], ['grp', 'a', 1, 1, 0], ['grp', 'b', 1, 0, 1]]
    """
    result = compute_slice_statistics(
        conn,
        relation=relation,
        slices=slices,
        label=label,
        score=score,
        decision=decision,
        where=where,
        bins=1,
        auc="exact",
        auc_strategy=auc_strategy,
    )
    return result.stats.loc[:, list(STATS_COLUMNS)]


def compute_score_histograms(
    conn: duckdb.DuckDBPyConnection,
    *,
    relation: str,
    slices: Sequence[SliceSpec],
    label: str,
    score: str,
    bins: int = 20,
    where: Mapping[str, str | int] | None = None,
    score_range: tuple[float, float] | Literal["auto"] = SCORE_RANGE_UNIT,
) -> pd.DataFrame:
    """Label-by-score histograms per slice group: the ``histograms`` of
    :func:`compute_slice_statistics`, for a frame without a decision column.

    Bins are equal-width on ``score_range`` (default [0, 1], which rejects scores outside
    it; ``"auto"``: [0, 1] when every score lies in it, else the observed range), with the
    exact edges of :func:`~rai_pipeline.core.engine.binning.histogram_edges`. Dense: every group,
    both labels, every bin; ``sum_score`` and ``sum_sq_score`` are fixed-point sums,
    identical in every run.

    Examples
    --------
    >>> conn = duckdb.connect()
    >>> _ = conn.execute("CREATE TABLE ev AS SELECT * FROM (VALUES (1, 0.75), (0, 0.25)) t(y, s)")
    >>> hist = compute_score_histograms(conn, relation="ev", slices=[], label="y", score="s",
    ...     bins=2)
    >>> hist[["label", "bin", "n"]].values.tolist()
    [[0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 1, 1]]
    >>> hist["bin_lower"].tolist()
    [0.0, 0.5, 0.0, 0.5]
    """
    result = compute_slice_statistics(
        conn,
        relation=relation,
        slices=slices,
        label=label,
        score=score,
        decision=None,
        where=where,
        bins=bins,
        score_range=score_range,
        auc="binned",
    )
    return result.histograms
