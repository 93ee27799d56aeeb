"""What per-group thresholds would cost: the accuracy / disparity trade-off of one dimension.

Input is :func:`~rai_pipeline.core.metrics.thresholds.threshold_curves` at every histogram
edge, so nothing here reads rows. The rules, so a reviewer can check them:

Operating points
    A group's points are its decisions ``score >= e`` at every lower edge ``e`` and the
    decision that selects no one. Choosing at random between two points reaches every point
    of the segment between them, so what a group can reach is the upper concave envelope
    (hull) of its points in the plane (rate, accuracy), or (false positive rate, true positive
    rate) for equalized odds.

Single-rate constraints (``demographic_parity``, ``true_positive_rate_parity``,
``false_positive_rate_parity``)
    On a grid of :data:`GRID_SIZE` + 1 rates in [0, 1], each group's best accuracy at rate
    :math:`x` is its hull at :math:`x`; the dimension's accuracy is
    :math:`\\sum_g (n_g / n)\\, y_g(x)`, and the first grid rate with the largest accuracy is
    chosen. With a tolerance :math:`\\tau > 0` every group takes its own grid rate, the rates
    spanning at most :math:`\\tau`.

``equalized_odds``
    At a false positive rate :math:`x` every group can reach the lowest hull true positive
    rate among the groups (a group above it replaces part of its decisions by random ones at
    rate :math:`x`); the accuracy is :math:`(N^-(1 - x) + N^+ \\min_g t_g(x)) / n`, and the
    first grid rate with the largest accuracy is chosen.

These are the rules of fairlearn's ``ThresholdOptimizer`` (``objective="accuracy_score"``,
``prefit=True``), which the tests use as the oracle on the same rows. The accuracy is the
expected accuracy of the randomized rule on the evaluation rows the thresholds were chosen
on: an in-sample estimate, to be confirmed on held-out data before any threshold is adopted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.compiled import LOOPS

FloatArray = npt.NDArray[np.float64]

GRID_SIZE = 1000
TOLERANCES = (0.0, 0.02, 0.05)
CONSTRAINT_RATES = {
    "demographic_parity": ("selection_rate",),
    "true_positive_rate_parity": ("true_positive_rate",),
    "false_positive_rate_parity": ("false_positive_rate",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
}
SINGLE_THRESHOLD = "single threshold"
PER_GROUP = "per-group thresholds"
STATUS_OK, STATUS_NOT_COMPUTED = "ok", "not_computed"
WHATIF_COLUMNS = (
    "dimension",
    "constraint",
    "rates",
    "option",
    "tolerance",
    "groups",
    "n",
    "accuracy",
    "accuracy_change",
    "disparity",
    "status",
    "note",
)
WHATIF_GROUP_COLUMNS = (
    "dimension",
    "constraint",
    "tolerance",
    "group",
    "n",
    "threshold_high",
    "threshold_low",
    "share_between",
    "share_random",
    "random_rate",
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "accuracy",
)
NO_ONE = math.inf  # the threshold of the decision that selects no one
# the constraint that targets the rates a finding's metric is built from
METRIC_CONSTRAINTS = {
    "demographic_parity": "demographic_parity",
    "selection_rate": "demographic_parity",
    "equal_opportunity": "true_positive_rate_parity",
    "true_positive_rate": "true_positive_rate_parity",
    "false_negative_rate": "true_positive_rate_parity",
    "false_positive_rate": "false_positive_rate_parity",
    "true_negative_rate": "false_positive_rate_parity",
    "equalized_odds": "equalized_odds",
}
MSG_DEGENERATE = "group {group} has no {kind}: its rates and accuracy curve are undefined"


def constraint_for(metric: str) -> str | None:
    """The constraint whose per-group thresholds target ``metric``'s rates, or None (precision,
    calibration, AUC and prevalence are not equalised by choosing thresholds)."""
    base = metric.removesuffix("_difference").removesuffix("_ratio")
    return METRIC_CONSTRAINTS.get(base)


@dataclass(frozen=True)
class GroupPoints:
    """A group's operating points: confusion counts per threshold (no one selected first)."""

    group: str
    thresholds: FloatArray
    tp: FloatArray
    fp: FloatArray
    positives: float
    negatives: float

    @property
    def n(self) -> float:
        return self.positives + self.negatives

    def rate(self, name: str) -> FloatArray:
        if name == "selection_rate":
            return (self.tp + self.fp) / self.n
        if name == "true_positive_rate":
            return self.tp / self.positives
        if name == "false_positive_rate":
            return self.fp / self.negatives
        if name == "accuracy":
            return (self.tp + (self.negatives - self.fp)) / self.n
        raise ValueError(f"unknown rate {name!r}")


@dataclass(frozen=True)
class Hull:
    """The upper concave envelope of points; ``index`` maps each hull point to its source."""

    x: FloatArray
    y: FloatArray
    index: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Mix:
    """A group's rule: two of its operating points (indices into its curve), ``tight`` (the
    higher threshold) and ``loose`` (the lower), mixed with weight ``p_loose`` on ``loose``;
    then a share ``p_random`` of decisions replaced by random ones at rate ``random_rate``."""

    tight: int
    loose: int
    p_loose: float
    p_random: float = 0.0
    random_rate: float = 0.0


@dataclass(frozen=True)
class WhatIf:
    """The trade-off table (one row per option) and each option's per-group rules."""

    options: pd.DataFrame  # WHATIF_COLUMNS
    groups: pd.DataFrame  # WHATIF_GROUP_COLUMNS


def group_points(curves: pd.DataFrame) -> list[GroupPoints]:
    """Each group's operating points from its threshold curve, groups in sorted order."""
    out = []
    for group, block in curves.groupby("group", sort=True):
        block = block.sort_values("threshold")
        tp = block["tp"].to_numpy(np.float64)
        fp = block["fp"].to_numpy(np.float64)
        first = block.iloc[0]
        out.append(
            GroupPoints(
                group=str(group),
                thresholds=np.append(block["threshold"].to_numpy(np.float64), NO_ONE),
                tp=np.append(tp, 0.0),
                fp=np.append(fp, 0.0),
                positives=float(first["tp"] + first["fn"]),
                negatives=float(first["fp"] + first["tn"]),
            )
        )
    return out


def upper_hull(x: FloatArray, y: FloatArray, *, loops: ModuleType | None = LOOPS) -> Hull:
    """The upper concave envelope of the points (x, y); a point on a chord is dropped.

    Andrew's monotone chain, in C where the install compiled it (``loops``,
    :mod:`~rai_pipeline.core.compiled`), else in Python: the same test on the same doubles,
    so the same points."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    order = np.lexsort((y, x))
    last_of_x = np.append(x[order][1:] != x[order][:-1], True)
    candidates = order[last_of_x].astype(np.int64)  # of equal x, the highest y (last) dominates
    if loops is not None:
        kept = np.empty_like(candidates)
        index = kept[: loops.upper_hull(x, y, candidates, kept)]
        return Hull(x=x[index], y=y[index], index=index)
    xs, ys = x.tolist(), y.tolist()  # Python floats: the same doubles, indexed without NumPy
    chain: list[int] = []
    for i in candidates.tolist():
        while len(chain) >= 2:
            a, b = chain[-2], chain[-1]
            if (ys[b] - ys[a]) * (xs[i] - xs[a]) <= (ys[i] - ys[a]) * (xs[b] - xs[a]):
                chain.pop()
            else:
                break
        chain.append(i)
    index = np.asarray(chain, dtype=np.int64)
    return Hull(x=x[index], y=y[index], index=index)


def _segments(hull: Hull, grid: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """For each grid rate the hull segment ``(i, i + 1)`` holding it (``x_i < g <= x_{i+1}``,
    the first segment for ``g = x_0``) and the weight on its left point."""
    i = np.searchsorted(hull.x, grid, side="left") - 1
    i = np.clip(i, 0, hull.x.size - 2)
    left, right = hull.x[i], hull.x[i + 1]
    return i, (right - grid) / (right - left)


def hull_at(hull: Hull, grid: FloatArray) -> FloatArray:
    """The envelope's value at each grid rate, by linear interpolation on its segment."""
    i, p_left = _segments(hull, grid)
    return p_left * hull.y[i] + (1 - p_left) * hull.y[i + 1]


def _mix_at(hull: Hull, grid_value: float) -> Mix:
    i, p_left = _segments(hull, np.asarray([grid_value]))
    return Mix(
        tight=int(hull.index[i[0]]),
        loose=int(hull.index[i[0] + 1]),
        p_loose=float(1 - p_left[0]),
    )


def _window_choice(
    values: FloatArray, grid: FloatArray, weights: FloatArray, tolerance: float
) -> npt.NDArray[np.int64]:
    """Per group a grid index, the indices spanning at most ``tolerance`` in rate, with the
    largest weighted sum; ties go to the later window, then the narrower span."""
    weighted = values * weights[:, None]
    starts = np.zeros(grid.size, dtype=np.int64)
    start = 0
    for end in range(grid.size):
        while grid[end] - grid[start] > tolerance:
            start += 1
        starts[end] = start
    ends = np.arange(grid.size)
    width = int((ends - starts).max()) + 1
    back = ends[:, None] - np.arange(width)[None, :]  # [end, j]: the index j steps back
    inside = back >= starts[:, None]
    gathered = np.where(inside[None], weighted[:, np.maximum(back, 0)], -np.inf)
    chosen = ends[None, :] - gathered.argmax(axis=2)  # [group, end]: latest index of the max
    rows = np.arange(len(weights))[:, None]
    totals = np.ascontiguousarray(weighted[rows, chosen].T).sum(axis=1)
    spans = grid[chosen].max(axis=0) - grid[chosen].min(axis=0)
    best, best_span, best_end = -math.inf, math.inf, 0
    for end, (total, span) in enumerate(zip(totals.tolist(), spans.tolist(), strict=True)):
        if total > best or (total == best and span <= best_span):
            best, best_span, best_end = total, span, end
    return chosen[:, best_end].astype(np.int64)


def _accuracy_hulls(
    points: Sequence[GroupPoints], rate: str, grid: FloatArray
) -> tuple[list[Hull], FloatArray]:
    """Each group's accuracy envelope over ``rate`` and its values on the grid (the same for
    every tolerance)."""
    hulls = [upper_hull(p.rate(rate), p.rate("accuracy")) for p in points]
    return hulls, np.vstack([hull_at(h, grid) for h in hulls])


def _solve_single(
    points: Sequence[GroupPoints],
    envelopes: tuple[list[Hull], FloatArray],
    tolerance: float,
    grid: FloatArray,
) -> list[Mix]:
    hulls, values = envelopes
    n = sum(p.n for p in points)
    weights = np.asarray([p.n / n for p in points])
    if tolerance == 0:
        overall = pd.DataFrame(values.T * weights).sum(axis=1)
        indices = np.full(len(points), int(overall.idxmax()))
    else:
        indices = _window_choice(values, grid, weights, tolerance)
    return [_mix_at(h, float(grid[k])) for h, k in zip(hulls, indices, strict=True)]


def _solve_equalized_odds(points: Sequence[GroupPoints], grid: FloatArray) -> list[Mix]:
    hulls = [
        upper_hull(p.rate("false_positive_rate"), p.rate("true_positive_rate")) for p in points
    ]
    lowest = np.vstack([hull_at(h, grid) for h in hulls]).min(axis=0)
    positives = sum(p.positives for p in points)
    negatives = sum(p.negatives for p in points)
    tp, tn = positives * lowest, negatives * (1.0 - grid)
    fp, fn = negatives * grid, positives * (1.0 - lowest)
    accuracy = np.around((tp + tn) / (tp + tn + fp + fn), 15)
    k = int(np.argmax(accuracy))
    x, y = float(grid[k]), float(lowest[k])
    mixes = []
    for hull in hulls:
        mix = _mix_at(hull, x)
        reached = float(hull_at(hull, np.asarray([x]))[0])
        p_random = 0.0 if reached == x else (reached - y) / (reached - x)
        mixes.append(
            Mix(mix.tight, mix.loose, mix.p_loose, p_random=float(p_random), random_rate=x)
        )
    return mixes


def _cells(p: GroupPoints, mix: Mix) -> tuple[float, float]:
    """Expected true and false positives of a group under its rule."""
    tp = (1 - mix.p_loose) * p.tp[mix.tight] + mix.p_loose * p.tp[mix.loose]
    fp = (1 - mix.p_loose) * p.fp[mix.tight] + mix.p_loose * p.fp[mix.loose]
    tp = (1 - mix.p_random) * tp + mix.p_random * mix.random_rate * p.positives
    fp = (1 - mix.p_random) * fp + mix.p_random * mix.random_rate * p.negatives
    return float(tp), float(fp)


def _group_rows(
    dimension: str,
    constraint: str,
    tolerance: float,
    points: Sequence[GroupPoints],
    mixes: Sequence[Mix],
) -> list[dict[str, object]]:
    rows = []
    for p, mix in zip(points, mixes, strict=True):
        tp, fp = _cells(p, mix)
        high, low = p.thresholds[mix.tight], p.thresholds[mix.loose]
        rows.append(
            {
                "dimension": dimension,
                "constraint": constraint,
                "tolerance": tolerance,
                "group": p.group,
                "n": int(p.n),
                "threshold_high": float(high),
                "threshold_low": float(low),
                "share_between": mix.p_loose,
                "share_random": mix.p_random,
                "random_rate": mix.random_rate,
                "selection_rate": (tp + fp) / p.n,
                "true_positive_rate": tp / p.positives,
                "false_positive_rate": fp / p.negatives,
                "accuracy": (tp + p.negatives - fp) / p.n,
            }
        )
    return rows


def _summary(
    dimension: str,
    constraint: str,
    option: str,
    tolerance: float,
    groups: Sequence[dict[str, object]],
    *,
    current: float = math.nan,
) -> dict[str, object]:
    sizes = np.array([row["n"] for row in groups], dtype=np.float64)
    n = int(sizes.sum())
    accuracy = float((np.array([row["accuracy"] for row in groups]) * sizes).sum() / n)
    spans = [
        float(np.ptp(np.array([row[rate] for row in groups], dtype=np.float64)))
        for rate in CONSTRAINT_RATES[constraint]
    ]
    return {
        "dimension": dimension,
        "constraint": constraint,
        "rates": ";".join(CONSTRAINT_RATES[constraint]),
        "option": option,
        "tolerance": tolerance,
        "groups": len(groups),
        "n": n,
        "accuracy": accuracy,
        "accuracy_change": accuracy - current,
        "disparity": max(spans),
        "status": STATUS_OK,
        "note": "",
    }


def _degenerate(points: Sequence[GroupPoints]) -> str:
    """Why no trade-off can be computed (every group needs both labels), or ""."""
    if len(points) < 2:
        return "fewer than two groups"
    for p in points:
        if p.positives == 0 or p.negatives == 0:
            kind = "positives" if p.positives == 0 else "negatives"
            return MSG_DEGENERATE.format(group=p.group, kind=kind)
    return ""


def _dimension_rows(
    curves: pd.DataFrame,
    dimension: str,
    *,
    threshold: float,
    tolerances: Sequence[float],
    grid_size: int,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """One dimension's option rows and per-group rows."""
    points = group_points(curves[curves["dimension"] == dimension])
    grid = np.linspace(0, 1, grid_size + 1)
    options: list[dict[str, object]] = []
    group_rows: list[dict[str, object]] = []
    reason = _degenerate(points)
    for constraint in CONSTRAINT_RATES:
        if reason:
            options.append(_not_computed(dimension, constraint, reason))
            continue
        current = math.nan
        current_rows = _current_rows(dimension, constraint, points, threshold)
        if current_rows:
            row = _summary(dimension, constraint, SINGLE_THRESHOLD, math.nan, current_rows)
            current = float(row["accuracy"])  # type: ignore[arg-type]
            options.append(row)
        exact_only = constraint == "equalized_odds"  # no relaxed form of it
        if not exact_only:
            envelopes = _accuracy_hulls(points, CONSTRAINT_RATES[constraint][0], grid)
        for tolerance in (0.0,) if exact_only else tolerances:
            if exact_only:
                mixes = _solve_equalized_odds(points, grid)
            else:
                mixes = _solve_single(points, envelopes, tolerance, grid)
            rows = _group_rows(dimension, constraint, tolerance, points, mixes)
            group_rows += rows
            options.append(
                _summary(dimension, constraint, PER_GROUP, tolerance, rows, current=current)
            )
    return options, group_rows


def _current_rows(
    dimension: str, constraint: str, points: Sequence[GroupPoints], threshold: float
) -> list[dict[str, object]]:
    """Each group under the single threshold in use, or nothing when it is not an edge."""
    mixes = []
    for p in points:
        at = np.flatnonzero(p.thresholds == threshold)
        if not at.size:
            return []
        mixes.append(Mix(tight=int(at[0]), loose=int(at[0]), p_loose=0.0))
    return _group_rows(dimension, constraint, math.nan, points, mixes)


def _not_computed(dimension: str, constraint: str, reason: str) -> dict[str, object]:
    return {
        "dimension": dimension,
        "constraint": constraint,
        "rates": ";".join(CONSTRAINT_RATES[constraint]),
        "option": PER_GROUP,
        "tolerance": math.nan,
        "groups": 0,
        "n": 0,
        "accuracy": math.nan,
        "accuracy_change": math.nan,
        "disparity": math.nan,
        "status": STATUS_NOT_COMPUTED,
        "note": reason,
    }


def threshold_whatif(
    curves: pd.DataFrame,
    *,
    threshold: float,
    tolerances: Sequence[float] = TOLERANCES,
    grid_size: int = GRID_SIZE,
) -> WhatIf:
    """The trade-off of per-group thresholds for every dimension of ``curves`` but
    ``overall``, against the single ``threshold`` in use, for every constraint of
    :data:`CONSTRAINT_RATES` (see the module docstring for the rules)."""
    options: list[dict[str, object]] = []
    groups: list[dict[str, object]] = []
    for dimension in dict.fromkeys(curves["dimension"]):
        if dimension != "overall":
            part = _dimension_rows(
                curves, str(dimension), threshold=threshold, tolerances=tolerances,
                grid_size=grid_size,
            )  # fmt: skip
            options += part[0]
            groups += part[1]
    return WhatIf(
        options=pd.DataFrame(options, columns=list(WHATIF_COLUMNS)),
        groups=pd.DataFrame(groups, columns=list(WHATIF_GROUP_COLUMNS)),
    )
