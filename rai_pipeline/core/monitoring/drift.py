"""Drift statistics from bucket counts on fixed edges.

A feature's buckets are fixed once, from the reference (the evaluation data of the deployed
version): quantile edges for a numeric feature (:func:`reference_edges`), the reference's
categories for a categorical one. Production rows are counted into the same buckets per day
(in the warehouse), so any window's counts are a sum of days, and every statistic below is a
function of two count vectors over the same buckets: the reference's and the window's.

- :func:`psi`: population stability index, :math:`\\sum_i (q_i - p_i) \\ln(q_i / p_i)`, with
  each share floored at ``epsilon`` (default 1e-4) so an empty bucket gives a finite value.
- :func:`js_distance`: Jensen–Shannon distance (the square root of the divergence), base 2 by
  default, so it lies in [0, 1].
- :func:`chi_square`: Pearson's χ² test of homogeneity of the 2 × k table (reference, window)
  over the buckets either holds (no continuity correction).
- :func:`ks_from_counts`: the two-sample Kolmogorov–Smirnov statistic of the bucketed
  distributions (the largest gap between the two cumulative shares), with scipy's asymptotic
  two-sided p-value. With one bucket per distinct value it is the statistic of the raw values;
  with coarser buckets a lower bound of it.

All of them refuse count vectors of different lengths, negative counts, or an empty side.
:func:`drift_rows` computes them for every feature and group of two count tables and adjusts
the tests' p-values together (Benjamini–Hochberg).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.stats.multiple_testing import adjust_p_values

DEFAULT_EPSILON = 1e-4
DEFAULT_BUCKETS = 10
MSG_SHAPE = "reference and window counts must have the same length (got {a} and {b})"
MSG_NEGATIVE = "counts must be non-negative"
MSG_EMPTY = "{side} has no rows: drift is not defined"


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float
    dof: int = 0


def _counts(reference: npt.ArrayLike, window: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(window, dtype=np.float64)
    if ref.shape != cur.shape or ref.ndim != 1:
        raise ValueError(MSG_SHAPE.format(a=ref.shape, b=cur.shape))
    if (ref < 0).any() or (cur < 0).any():
        raise ValueError(MSG_NEGATIVE)
    for side, counts in (("the reference", ref), ("the window", cur)):
        if counts.sum() <= 0:
            raise ValueError(MSG_EMPTY.format(side=side))
    return ref, cur


def reference_edges(values: npt.ArrayLike, buckets: int = DEFAULT_BUCKETS) -> np.ndarray:
    """Inner edges of up to ``buckets`` quantile buckets of the reference's non-missing values
    (repeated quantiles merged); bucket ``k`` holds ``edges[k-1] <= x < edges[k]``, the first
    everything below ``edges[0]`` and the last everything from ``edges[-1]`` up."""
    data = np.asarray(values, dtype=np.float64)
    data = data[~np.isnan(data)]
    if data.size == 0:
        return np.array([], dtype=np.float64)
    inner = np.quantile(data, np.linspace(0, 1, buckets + 1)[1:-1], method="linear")
    edges = np.unique(inner)
    return edges[edges > data.min()]


def bucket_counts(values: npt.ArrayLike, edges: npt.ArrayLike) -> np.ndarray:
    """Counts of non-missing ``values`` per bucket of ``edges`` (``len(edges) + 1`` buckets,
    open at both ends, as :func:`reference_edges` defines them)."""
    data = np.asarray(values, dtype=np.float64)
    data = data[~np.isnan(data)]
    bounds = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(bounds, data, side="right")
    return np.bincount(index, minlength=len(bounds) + 1).astype(np.int64)


def psi(
    reference: npt.ArrayLike, window: npt.ArrayLike, *, epsilon: float = DEFAULT_EPSILON
) -> float:
    ref, cur = _counts(reference, window)
    p = np.maximum(ref / ref.sum(), epsilon)
    q = np.maximum(cur / cur.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference: npt.ArrayLike, window: npt.ArrayLike, *, base: float = 2.0) -> float:
    ref, cur = _counts(reference, window)
    p, q = ref / ref.sum(), cur / cur.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / m[mask])))

    divergence = max((kl(p) + kl(q)) / 2, 0.0) / np.log(base)
    return float(np.sqrt(divergence))


def chi_square(reference: npt.ArrayLike, window: npt.ArrayLike) -> TestResult:
    ref, cur = _counts(reference, window)
    held = (ref + cur) > 0
    table = np.vstack([ref[held], cur[held]])
    if table.shape[1] < 2:
        return TestResult(0.0, 1.0, 0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    from scipy import stats  # here: scipy.stats takes 0.7 s to import, with every Dagster process

    return TestResult(statistic, float(stats.chi2.sf(statistic, dof)), dof)


def ks_from_counts(reference: npt.ArrayLike, window: npt.ArrayLike) -> TestResult:
    ref, cur = _counts(reference, window)
    gap = np.abs(np.cumsum(ref) / ref.sum() - np.cumsum(cur) / cur.sum())
    statistic = float(gap.max())
    n1, n2 = ref.sum(), cur.sum()
    effective = round(n1 * n2 / (n1 + n2))
    from scipy import stats

    return TestResult(statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0, 1)))


NUMERIC, CATEGORICAL = "numeric", "categorical"
DRIFT_COLUMNS = (
    "feature",
    "kind",
    "dimension",
    "group",
    "reference_rows",
    "window_rows",
    "psi",
    "js_distance",
    "js_base",
    "test",
    "statistic",
    "dof",
    "p_value",
    "p_adjusted",
)


def drift_rows(
    reference: pd.DataFrame,
    window: pd.DataFrame,
    kinds: dict[str, str],
    *,
    base: float = 2.0,
    epsilon: float = DEFAULT_EPSILON,
) -> pd.DataFrame:
    """One row per (feature, dimension, group) of both count tables (columns ``feature``,
    ``dimension``, ``group``, ``bucket``, ``rows``): PSI, Jensen–Shannon distance, and the
    test of the feature's kind (χ² for categorical, KS for numeric features, whose buckets are
    ordered by ``bucket``), with p-values adjusted by Benjamini–Hochberg across every row, so
    that many features and groups do not multiply false alarms."""
    keys = ["feature", "dimension", "group"]
    ref = reference.groupby([*keys, "bucket"], sort=True)["rows"].sum()
    cur = window.groupby([*keys, "bucket"], sort=True)["rows"].sum()
    both = pd.concat({"reference": ref, "window": cur}, axis=1).fillna(0).reset_index()
    out = []
    for (feature, dimension, group), part in both.groupby(keys, sort=True):
        part = part.sort_values("bucket")
        r, w = part["reference"].to_numpy(), part["window"].to_numpy()
        if r.sum() == 0 or w.sum() == 0:
            continue
        kind = kinds[str(feature)]
        test = chi_square(r, w) if kind == CATEGORICAL else ks_from_counts(r, w)
        out.append(
            {
                "feature": feature,
                "kind": kind,
                "dimension": dimension,
                "group": group,
                "reference_rows": int(r.sum()),
                "window_rows": int(w.sum()),
                "psi": psi(r, w, epsilon=epsilon),
                "js_distance": js_distance(r, w, base=base),
                "js_base": base,
                "test": "chi_square" if kind == CATEGORICAL else "ks",
                "statistic": test.statistic,
                "dof": test.dof,
                "p_value": test.p_value,
            }
        )
    table = pd.DataFrame(out, columns=[c for c in DRIFT_COLUMNS if c != "p_adjusted"])
    table["p_adjusted"] = (
        adjust_p_values(table["p_value"].to_numpy(), method="bh") if len(table) else []
    )
    return table


def window_counts(daily: pd.DataFrame, *, last_day: object, days: int) -> pd.DataFrame:
    """The counts of the ``days`` days ending on ``last_day`` (inclusive), summed per
    (feature, dimension, group, bucket): a window is a sum of days."""
    when = pd.to_datetime(daily["day"])
    return _window(daily, when, pd.Timestamp(last_day), days)  # type: ignore[arg-type]


def _window(daily: pd.DataFrame, when: pd.Series, end: pd.Timestamp, days: int) -> pd.DataFrame:
    start = end - pd.Timedelta(days=days - 1)
    part = daily[(when >= start) & (when <= end)]
    keys = ["feature", "dimension", "group", "bucket"]
    return part.groupby(keys, as_index=False, sort=True)["rows"].sum()


def daily_drift(
    reference: pd.DataFrame,
    daily: pd.DataFrame,
    kinds: dict[str, str],
    *,
    window_days: int,
    base: float = 2.0,
    days: Sequence[dt.date] | None = None,
) -> pd.DataFrame:
    """:func:`drift_rows` for every day of ``daily`` (or only ``days``), each over the window
    of ``window_days`` days ending that day (fewer at the start of ``daily``), with columns
    ``day`` and ``window_start``; the Benjamini–Hochberg adjustment is made within each day's
    rows (features × groups)."""
    when = pd.to_datetime(daily["day"])
    earliest = when.min()
    chosen = sorted(when.dt.date.unique()) if days is None else sorted(days)
    out = []
    for day in chosen:
        end = pd.Timestamp(day)
        rows = drift_rows(reference, _window(daily, when, end, window_days), kinds, base=base)
        first = max(earliest, end - pd.Timedelta(days=window_days - 1))
        rows.insert(0, "window_start", first.date())
        rows.insert(0, "day", day)
        out.append(rows)
    return (
        pd.concat(out, ignore_index=True)
        if out
        else pd.DataFrame(columns=["day", "window_start", *DRIFT_COLUMNS])
    )
