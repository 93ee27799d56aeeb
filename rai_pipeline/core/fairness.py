"""Disparities between slice groups, with bootstrap intervals and three-valued verdicts.

Input is the long ``slice_metrics`` table
(:func:`rai_pipeline.core.metrics.slice_metrics_from_stats`) and, preferably, the slice
statistics it came from. Output is the ``fairness_metrics`` table.

Aggregate rows (``group = "*"``), one set per dimension, with fairlearn's ``between_groups``
semantics over the groups that are comparable:

==================================  ===================================================
metric                              value
==================================  ===================================================
``demographic_parity_difference``   max − min of ``selection_rate``
``demographic_parity_ratio``        min / max of ``selection_rate``
``equalized_odds_difference``       the larger of the TPR and FPR differences
``equalized_odds_ratio``            the smaller of the TPR and FPR ratios
``equal_opportunity_difference``    max − min of ``true_positive_rate``
==================================  ===================================================

Per-group rows: ``<metric>_ratio`` (:math:`m_g / m_{ref}`, NaN when :math:`m_{ref} = 0`) and
``<metric>_difference`` (:math:`m_g - m_{ref}`) for every rate of :data:`PER_GROUP_RATES`
(``selection_rate``, ``true_positive_rate``, ``false_positive_rate``, ``false_negative_rate``,
``false_discovery_rate``, ``false_omission_rate``, ``precision_score``, ``prevalence``), each
group against the dimension's reference group (default: the group with the most rows, ties
broken by name); the reference group gets no row of its own. ``prevalence`` rows describe the
data (base rates), not the model; they are there because the error-rate disparities cannot be
read without them.

Which groups are compared. A group enters an aggregate only if its ``status`` is ``ok`` in
``slice_metrics`` for every rate the aggregate uses (``insufficient_sample`` and ``undefined``
groups are left out and listed in ``groups_excluded``). With fewer than two comparable groups a
disparity is not defined: value NaN, verdict ``inconclusive``. A ratio whose largest rate is 0
is NaN (0/0), as in fairlearn, and so is an equalized-odds aggregate with a NaN component.

Intervals. A seeded, stratified percentile bootstrap on the sufficient statistics: in each of
``n_bootstrap`` replicates every group's confusion cells are drawn from
Multinomial(:math:`n_g`, cell proportions), which has the distribution of the cells of a
resample of that group's rows, and the disparity is recomputed. Replicates in which a compared
rate is undefined (its resampled denominator is 0) are discarded; if fewer than
:data:`MIN_DEFINED_REPLICATE_FRACTION` of them remain the interval is NaN. Each dimension draws
from its own stream, seeded by ``seed`` and the dimension's name, so results do not change when
other dimensions are added.

Verdicts against :class:`FairnessPolicy`: ``pass`` when the whole interval lies inside the band
(``[threshold_lower, threshold_upper]``: the ratio band for ratios, ``[0, bound]`` for aggregate
differences, ``[-bound, bound]`` for per-group differences), ``fail`` when it lies wholly
outside, else ``inconclusive``; per-group rows of groups that are not ``ok`` get
``insufficient_sample``. ``disposition`` is ``none_required`` for ``pass`` and ``pending``
otherwise: a person must record mitigation or an approved acceptance.

Multiple testing (``multiple_testing``, per-group rows only). A dimension with many groups and
rates makes many per-group claims; by default each is made at the nominal level. With
``holm`` or ``bh``, the per-group rows of a family (a dimension, or a dimension and metric)
whose two groups are ``ok`` are adjusted together: each row's *pass* and *fail* claims get
p-values by inverting its percentile interval, Holm's step-down or Benjamini–Hochberg runs on
the pass claims and on the fail claims, and the row's interval is reported at the level that
shows the procedure's decision (:mod:`~rai_pipeline.core.multiple_testing`). The verdict is
always read off the reported interval. ``adjustment``, ``confidence_level`` and
``family_size`` record what was done. Aggregate rows, which decide the gate, are never
adjusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.metrics import MSG_N_BOOTSTRAP as MSG_N_BOOTSTRAP
from rai_pipeline.core.metrics import MSG_SEED as MSG_SEED
from rai_pipeline.core.metrics import (
    STATUS_OK,
    bootstrap_rng,
    check_bootstrap_options,
    check_confidence_level,
)
from rai_pipeline.core.multiple_testing import (
    MultipleTesting,
    check_method,
    percentile_interval_p_values,
    rejection_levels,
)
from rai_pipeline.core.slices import OVERALL_DIMENSION

FAIRNESS_COLUMNS = (
    "dimension",
    "metric",
    "group",
    "reference_group",
    "value",
    "ci_lower",
    "ci_upper",
    "threshold_lower",
    "threshold_upper",
    "verdict",
    "disposition",
    "groups_compared",
    "groups_excluded",
    "adjustment",
    "confidence_level",
    "family_size",
)
AGGREGATE_GROUP = "*"
EXCLUDED_SEPARATOR = ";"

VERDICT_PASS = "pass"
VERDICT_FAIL = "fail"
VERDICT_INCONCLUSIVE = "inconclusive"
VERDICT_INSUFFICIENT = "insufficient_sample"
DISPOSITION_NONE = "none_required"
DISPOSITION_PENDING = "pending"

SELECTION_RATE = "selection_rate"
TRUE_POSITIVE_RATE = "true_positive_rate"
FALSE_POSITIVE_RATE = "false_positive_rate"
FALSE_NEGATIVE_RATE = "false_negative_rate"
FALSE_DISCOVERY_RATE = "false_discovery_rate"
FALSE_OMISSION_RATE = "false_omission_rate"
PRECISION = "precision_score"
PREVALENCE = "prevalence"
# The rates the aggregate disparities combine.
RATES = (SELECTION_RATE, TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE)
# The rates compared group by group with the reference group, in output order.
PER_GROUP_RATES = (
    SELECTION_RATE,
    TRUE_POSITIVE_RATE,
    FALSE_POSITIVE_RATE,
    FALSE_NEGATIVE_RATE,
    FALSE_DISCOVERY_RATE,
    FALSE_OMISSION_RATE,
    PRECISION,
    PREVALENCE,
)
MULTIPLE_TESTING_FAMILIES = ("dimension", "metric")

# name, rates it combines, "difference" (max - min, worst = max) or "ratio" (min / max, worst = min)
AGGREGATES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("demographic_parity_difference", (SELECTION_RATE,), "difference"),
    ("demographic_parity_ratio", (SELECTION_RATE,), "ratio"),
    ("equalized_odds_difference", (TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE), "difference"),
    ("equalized_odds_ratio", (TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE), "ratio"),
    ("equal_opportunity_difference", (TRUE_POSITIVE_RATE,), "difference"),
)
MIN_DEFINED_REPLICATE_FRACTION = 0.9

MSG_RATIO_BAND = "ratio_band must be (lower, upper) with 0 < lower <= 1 <= upper, got {value!r}"
MSG_DIFFERENCE_BOUND = "difference_bound must be a number in (0, 1], got {value!r}"
MSG_SLICE_METRICS_COLUMNS = "slice_metrics is missing required columns {missing}"
MSG_SLICE_METRICS_METRICS = "slice_metrics is missing required metrics {missing}"
MSG_STATS_COLUMNS = "stats is missing required columns {missing}"
MSG_STATS_GROUPS = (
    "stats and slice_metrics describe different groups: {only_metrics} only in slice_metrics, "
    "{only_stats} only in stats"
)
MSG_REFERENCE_DIMENSION = "reference_groups names dimension {dimension!r}, not among {dimensions}"
MSG_REFERENCE_GROUP = (
    "reference group {group!r} for dimension {dimension!r} is not one of its groups {groups}"
)
MSG_FAMILY = "multiple_testing_family must be one of {choices}, got {value!r}"

_Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FairnessPolicy:
    """Where a disparity must lie to pass.

    Parameters
    ----------
    ratio_band : (float, float), default (0.8, 1.25)
        Accepted range for ratios, with ``0 < lower <= 1 <= upper`` (the four-fifths rule and
        its reciprocal by default).
    difference_bound : float, default 0.1
        Accepted absolute difference, in ``(0, 1]``: aggregate differences must lie in
        ``[0, bound]``, per-group differences in ``[-bound, bound]``.
    """

    ratio_band: tuple[float, float] = (0.8, 1.25)
    difference_bound: float = 0.1

    def __post_init__(self) -> None:
        band = tuple(self.ratio_band)
        if (
            len(band) != 2
            or not all(_is_number(bound) for bound in band)
            or not 0 < band[0] <= 1 <= band[1]
        ):
            raise ValueError(MSG_RATIO_BAND.format(value=self.ratio_band))
        if not _is_number(self.difference_bound) or not 0 < self.difference_bound <= 1:
            raise ValueError(MSG_DIFFERENCE_BOUND.format(value=self.difference_bound))
        object.__setattr__(self, "ratio_band", (float(band[0]), float(band[1])))
        object.__setattr__(self, "difference_bound", float(self.difference_bound))


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and bool(np.isfinite(value))
    )


def _verdict(lower: float, upper: float, band: tuple[float, float]) -> str:
    """``pass`` if [lower, upper] lies inside ``band``, ``fail`` if wholly outside."""
    if np.isnan(lower) or np.isnan(upper):
        return VERDICT_INCONCLUSIVE
    if band[0] <= lower and upper <= band[1]:
        return VERDICT_PASS
    if upper < band[0] or lower > band[1]:
        return VERDICT_FAIL
    return VERDICT_INCONCLUSIVE


def _rates(cells: npt.NDArray[np.int64]) -> dict[str, _Array]:
    """Every rate of :data:`PER_GROUP_RATES` from cells ``[..., (tp, fp, tn, fn)]``.

    NaN where the rate's denominator is 0.
    """
    tp, fp, tn, fn = (cells[..., i].astype(np.float64) for i in range(4))
    n, positives, negatives = tp + fp + tn + fn, tp + fn, fp + tn
    selected, rejected = tp + fp, fn + tn

    def ratio(numerator: _Array, denominator: _Array) -> _Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denominator > 0, numerator / denominator, np.nan)

    return {
        SELECTION_RATE: ratio(selected, n),
        TRUE_POSITIVE_RATE: ratio(tp, positives),
        FALSE_POSITIVE_RATE: ratio(fp, negatives),
        FALSE_NEGATIVE_RATE: ratio(fn, positives),
        FALSE_DISCOVERY_RATE: ratio(fp, selected),
        FALSE_OMISSION_RATE: ratio(fn, rejected),
        PRECISION: ratio(tp, selected),
        PREVALENCE: ratio(positives, n),
    }


def _between_groups(values: _Array, kind: str) -> _Array:
    """max − min or min / max over the last axis; NaN propagates, 0/0 is NaN."""
    high, low = values.max(axis=-1), values.min(axis=-1)
    if kind == "difference":
        return high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(high == 0, np.nan, low / high)


def _to_reference(values: _Array, reference: _Array, kind: str) -> _Array:
    if kind == "difference":
        return values - reference
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reference == 0, np.nan, values / reference)


def _defined(samples: _Array) -> _Array | None:
    """The defined replicates, or None when too few are (fewer than the minimum fraction)."""
    defined = samples[~np.isnan(samples)]
    if defined.size < MIN_DEFINED_REPLICATE_FRACTION * samples.size or defined.size == 0:
        return None
    return defined


def _interval(defined: _Array | None, alpha: float) -> tuple[float, float]:
    """Percentile interval ``[Q(alpha / 2), Q(1 - alpha / 2)]``; NaN without replicates."""
    if defined is None:
        return float("nan"), float("nan")
    low, high = np.quantile(defined, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _resample(
    cells: npt.NDArray[np.int64], n_bootstrap: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """(B, G, 4) cells: each group's cells drawn from Multinomial(n_g, cells_g / n_g)."""
    out = np.zeros((n_bootstrap, *cells.shape), dtype=np.int64)
    for g, row in enumerate(cells):
        total = int(row.sum())
        if total > 0:
            out[:, g, :] = rng.multinomial(total, row / total, size=n_bootstrap)
    return out


def _cells_from_stats(stats: pd.DataFrame) -> pd.DataFrame:
    required = ["dimension", "group", "tp", "fp", "tn", "fn"]
    missing = [column for column in required if column not in stats.columns]
    if missing:
        raise ValueError(MSG_STATS_COLUMNS.format(missing=missing))
    return stats.loc[:, required].astype(
        {"dimension": str, "group": str, "tp": "int64", "fp": "int64", "tn": "int64", "fn": "int64"}
    )


def _cells_from_metrics(values: pd.DataFrame) -> pd.DataFrame:
    """Exact cells recovered from count, prevalence, TPR and FPR (ratios of integers)."""
    n = values["count"].to_numpy(dtype=np.float64)
    positives = np.round(values["prevalence"].to_numpy(dtype=np.float64) * n)
    negatives = n - positives
    tpr = np.nan_to_num(values[TRUE_POSITIVE_RATE].to_numpy(dtype=np.float64))
    fpr = np.nan_to_num(values[FALSE_POSITIVE_RATE].to_numpy(dtype=np.float64))
    tp, fp = np.round(tpr * positives), np.round(fpr * negatives)
    return pd.DataFrame(
        {
            "dimension": values.index.get_level_values(0),
            "group": values.index.get_level_values(1),
            "tp": tp.astype(np.int64),
            "fp": fp.astype(np.int64),
            "tn": (negatives - fp).astype(np.int64),
            "fn": (positives - tp).astype(np.int64),
        }
    )


def _check_inputs(slice_metrics: pd.DataFrame) -> None:
    required = ["dimension", "group", "n", "metric", "value", "status"]
    missing = [column for column in required if column not in slice_metrics.columns]
    if missing:
        raise ValueError(MSG_SLICE_METRICS_COLUMNS.format(missing=missing))
    needed = {"count", *PER_GROUP_RATES}
    absent = sorted(needed - set(slice_metrics["metric"]))
    if absent:
        raise ValueError(MSG_SLICE_METRICS_METRICS.format(missing=absent))


def _row(**fields: Any) -> dict[str, Any]:
    verdict = fields["verdict"]
    fields["disposition"] = DISPOSITION_NONE if verdict == VERDICT_PASS else DISPOSITION_PENDING
    return fields


def fairness_metrics_from_slices(
    slice_metrics: pd.DataFrame,
    *,
    stats: pd.DataFrame | None = None,
    reference_groups: Mapping[str, str] | None = None,
    policy: FairnessPolicy | None = None,
    confidence_level: float = 0.95,
    n_bootstrap: int = 1000,
    seed: int = 0,
    multiple_testing: MultipleTesting = "none",
    multiple_testing_family: Literal["dimension", "metric"] = "dimension",
) -> pd.DataFrame:
    """The ``fairness_metrics`` table: disparities per dimension with intervals and verdicts.

    See the module docstring for definitions, which groups are compared, the bootstrap, the
    verdict rules and the multiple-testing adjustment.

    Parameters
    ----------
    slice_metrics : pandas.DataFrame
        Long table from :func:`~rai_pipeline.core.metrics.slice_metrics_from_stats`; uses
        ``dimension, group, n, metric, value, status`` and the metrics ``count`` and
        :data:`PER_GROUP_RATES`. The ``overall`` dimension is ignored.
    stats : pandas.DataFrame, optional
        The slice statistics (``dimension, group, tp, fp, tn, fn``) behind ``slice_metrics``.
        When omitted, the cells are recovered exactly from count, prevalence, TPR and FPR.
    reference_groups : mapping of str to str, optional
        Reference group per dimension for the per-group rows; other dimensions use their
        largest group.
    policy : FairnessPolicy, optional
        Bands for the verdicts; defaults to ``FairnessPolicy()``.
    confidence_level : float, default 0.95
        Coverage of the percentile bootstrap intervals (before any adjustment).
    n_bootstrap : int, default 1000
        Bootstrap replicates. Adjusted intervals use quantiles further in the tails
        (:math:`\\alpha / (2m)`), which need more replicates to be stable.
    seed : int, default 0
        Seed; the same inputs and seed give an identical frame.
    multiple_testing : {"none", "holm", "bh"}, default "none"
        Adjustment of the per-group rows' intervals and verdicts within each family:
        Holm (family-wise error rate) or Benjamini–Hochberg (false discovery rate). Aggregate
        rows are never adjusted.
    multiple_testing_family : {"dimension", "metric"}, default "dimension"
        What one family is: every per-group row of a dimension, or the rows of one dimension
        and one metric (e.g. every group's ``false_positive_rate_ratio``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FAIRNESS_COLUMNS`. Dimensions in their order in ``slice_metrics``;
        within one, the aggregate rows in :data:`AGGREGATES` order, then for each rate of
        :data:`PER_GROUP_RATES` its ``_ratio`` rows and its ``_difference`` rows, groups
        sorted. ``reference_group`` is None on aggregate rows; ``groups_excluded`` is
        ``;``-joined (empty when none). ``adjustment`` is the method applied to the row
        (always ``none`` on aggregate rows), ``confidence_level`` the level of the row's
        interval and ``family_size`` the number of comparisons in its family (1 for aggregate
        rows and without adjustment).

    Raises
    ------
    ValueError
        Missing columns or metrics, stats that do not match ``slice_metrics``, an unknown
        reference dimension or group, or bad ``n_bootstrap``, ``seed``, confidence level,
        ``multiple_testing`` or family (the ``MSG_*`` constants of this module and of
        :mod:`~rai_pipeline.core.multiple_testing`).

    Examples
    --------
    >>> stats = pd.DataFrame({"dimension": ["overall", "sex", "sex"],
    ...     "group": ["all", "F", "M"], "n": [200, 100, 100], "n_pos": [100, 50, 50],
    ...     "n_neg": [100, 50, 50], "tp": [80, 40, 40], "fp": [20, 10, 10],
    ...     "tn": [80, 40, 40], "fn": [20, 10, 10], "sum_sq_error": [30.0, 15.0, 15.0],
    ...     "auc": [0.9, 0.9, 0.9]})
    >>> from rai_pipeline.core.metrics import slice_metrics_from_stats
    >>> out = fairness_metrics_from_slices(slice_metrics_from_stats(stats), stats=stats)
    >>> row = out.iloc[0]
    >>> row["metric"], float(row["value"]), int(row["groups_compared"]), row["verdict"]
    ('demographic_parity_difference', 0.0, 2, 'inconclusive')
    >>> row = out.set_index("metric").loc["false_discovery_rate_ratio"]
    >>> row["group"], row["reference_group"], float(row["value"])
    ('M', 'F', 1.0)
    """
    policy = policy if policy is not None else FairnessPolicy()
    level = check_confidence_level(confidence_level)
    _check_inputs(slice_metrics)
    n_bootstrap, seed = check_bootstrap_options(n_bootstrap, seed)
    method = check_method(multiple_testing)
    if multiple_testing_family not in MULTIPLE_TESTING_FAMILIES:
        raise ValueError(
            MSG_FAMILY.format(choices=MULTIPLE_TESTING_FAMILIES, value=multiple_testing_family)
        )
    metrics = slice_metrics[slice_metrics["dimension"] != OVERALL_DIMENSION]
    dimensions = list(dict.fromkeys(metrics["dimension"]))
    wide = metrics.pivot(index=["dimension", "group"], columns="metric", values="value")
    status = metrics.pivot(index=["dimension", "group"], columns="metric", values="status")
    sizes = metrics.drop_duplicates(["dimension", "group"]).set_index(["dimension", "group"])["n"]
    if stats is not None:
        cells = _cells_from_stats(stats[stats["dimension"] != OVERALL_DIMENSION])
        keys_stats = set(zip(cells["dimension"], cells["group"], strict=True))
        keys_metrics = set(sizes.index)
        if keys_stats != keys_metrics:
            raise ValueError(
                MSG_STATS_GROUPS.format(
                    only_metrics=sorted(keys_metrics - keys_stats),
                    only_stats=sorted(keys_stats - keys_metrics),
                )
            )
    else:
        cells = _cells_from_metrics(wide)
    cells = cells.set_index(["dimension", "group"])
    references = dict(reference_groups or {})
    for dimension, group in references.items():
        if dimension not in dimensions:
            raise ValueError(
                MSG_REFERENCE_DIMENSION.format(dimension=dimension, dimensions=dimensions)
            )
        groups = sorted(metrics.loc[metrics["dimension"] == dimension, "group"].unique())
        if group not in groups:
            raise ValueError(
                MSG_REFERENCE_GROUP.format(group=group, dimension=dimension, groups=groups)
            )
    # One sorted (dimension, group) order for sizes, status and cells; a dimension's groups
    # are a contiguous block of it, sorted by name.
    sizes = sizes.sort_index()
    order = sizes.index
    ok_all = status.reindex(order)[list(PER_GROUP_RATES)].to_numpy() == STATUS_OK
    cells_all = cells.reindex(order)[["tp", "fp", "tn", "fn"]].to_numpy()
    group_names = order.get_level_values(1)
    positions = sizes.groupby(level=0).indices
    rows: list[dict[str, Any]] = []
    for dimension in dimensions:
        where = positions[dimension]
        groups = list(group_names[where])
        reference = references.get(dimension)
        if reference is None:
            reference = groups[int(np.argmax(sizes.to_numpy()[where]))]  # first of the largest
        cells_g = cells_all[where]
        ok = {rate: ok_all[where, k] for k, rate in enumerate(PER_GROUP_RATES)}
        point = _rates(cells_g)
        boot = _rates(_resample(cells_g, n_bootstrap, bootstrap_rng(seed, dimension)))
        rows.extend(
            _aggregate_rows(
                dimension=dimension,
                groups=groups,
                point=point,
                boot=boot,
                ok=ok,
                policy=policy,
                confidence_level=level,
            )
        )
        rows.extend(
            _per_group_rows(
                dimension=dimension,
                groups=groups,
                point=point,
                boot=boot,
                ok=ok,
                reference=reference,
                policy=policy,
                confidence_level=level,
                multiple_testing=method,
                family=multiple_testing_family,
            )
        )
    frame = pd.DataFrame(rows, columns=list(FAIRNESS_COLUMNS))
    return frame.astype(
        {
            "value": "float64",
            "ci_lower": "float64",
            "ci_upper": "float64",
            "threshold_lower": "float64",
            "threshold_upper": "float64",
            "groups_compared": "int64",
            "confidence_level": "float64",
            "family_size": "int64",
        }
    )


def _aggregate_rows(
    *,
    dimension: str,
    groups: list[str],
    point: dict[str, _Array],
    boot: dict[str, _Array],
    ok: dict[str, npt.NDArray[np.bool_]],
    policy: FairnessPolicy,
    confidence_level: float,
) -> list[dict[str, Any]]:
    rows = []
    for name, rates, kind in AGGREGATES:
        compared = np.logical_and.reduce([ok[rate] for rate in rates])
        excluded = EXCLUDED_SEPARATOR.join(
            group for group, keep in zip(groups, compared, strict=True) if not keep
        )
        band = policy.ratio_band if kind == "ratio" else (0.0, policy.difference_bound)
        value, low, high = float("nan"), float("nan"), float("nan")
        if compared.sum() >= 2:
            parts = [_between_groups(point[rate][compared], kind) for rate in rates]
            samples = [_between_groups(boot[rate][:, compared], kind) for rate in rates]
            combine = np.max if kind == "difference" else np.min
            value = float(combine(np.array(parts)))
            replicates = combine(np.stack(samples), axis=0)
            low, high = _interval(_defined(replicates), 1 - confidence_level)
        verdict = _verdict(low, high, band) if compared.sum() >= 2 else VERDICT_INCONCLUSIVE
        rows.append(
            _row(
                dimension=dimension,
                metric=name,
                group=AGGREGATE_GROUP,
                reference_group=None,
                value=value,
                ci_lower=low,
                ci_upper=high,
                threshold_lower=band[0],
                threshold_upper=band[1],
                verdict=verdict,
                groups_compared=int(compared.sum()),
                groups_excluded=excluded,
                adjustment="none",
                confidence_level=confidence_level,
                family_size=1,
            )
        )
    return rows


@dataclass
class _Comparison:
    """One per-group row before its interval is fixed."""

    fields: dict[str, Any]
    band: tuple[float, float]
    replicates: _Array  # (B,) bootstrap replicates, NaN where undefined
    interval: tuple[float, float]  # at the nominal level
    enough: bool  # enough defined replicates for an interval
    group_ok: bool
    reference_ok: bool
    family: str
    alpha: float  # significance level of the reported interval

    @property
    def tested(self) -> bool:
        """Whether the interval decides the verdict (both groups ok, replicates defined)."""
        return self.group_ok and self.reference_ok and self.enough


def _nominal_intervals(
    replicates: _Array, alpha: float
) -> tuple[_Array, _Array, npt.NDArray[np.bool_]]:
    """Percentile intervals of each column of (B, G) replicates, and which have enough."""
    size = replicates.shape[1]
    low, high = np.full(size, np.nan), np.full(size, np.nan)
    missing = np.isnan(replicates).sum(axis=0)
    complete = missing == 0
    if complete.any():
        bounds = np.quantile(replicates[:, complete], [alpha / 2, 1 - alpha / 2], axis=0)
        low[complete], high[complete] = bounds[0], bounds[1]
    enough = complete.copy()
    for g in np.flatnonzero(~complete):
        defined = _defined(replicates[:, g])
        enough[g] = defined is not None
        low[g], high[g] = _interval(defined, alpha)
    return low, high, enough


def _per_group_rows(
    *,
    dimension: str,
    groups: list[str],
    point: dict[str, _Array],
    boot: dict[str, _Array],
    ok: dict[str, npt.NDArray[np.bool_]],
    reference: str,
    policy: FairnessPolicy,
    confidence_level: float,
    multiple_testing: MultipleTesting,
    family: str,
) -> list[dict[str, Any]]:
    bound = policy.difference_bound
    alpha = 1 - confidence_level
    r = groups.index(reference)
    pairs = [(rate, kind) for rate in PER_GROUP_RATES for kind in ("ratio", "difference")]
    replicates = np.concatenate(
        [_to_reference(boot[rate], boot[rate][:, [r]], kind) for rate, kind in pairs], axis=1
    )  # (B, len(pairs) * G): every comparison's replicates, one quantile call for all
    low, high, enough = _nominal_intervals(replicates, alpha)
    size = len(groups)
    comparisons = []
    for k, (rate, kind) in enumerate(pairs):
        band = policy.ratio_band if kind == "ratio" else (-bound, bound)
        values = _to_reference(point[rate], point[rate][r], kind)
        metric = f"{rate}_{kind}"
        for g, group in enumerate(groups):
            if g == r:
                continue
            column = k * size + g
            pair = [(group, ok[rate][g]), (reference, ok[rate][r])]
            comparisons.append(
                _Comparison(
                    fields={
                        "dimension": dimension,
                        "metric": metric,
                        "group": group,
                        "reference_group": reference,
                        "value": float(values[g]),
                        "threshold_lower": band[0],
                        "threshold_upper": band[1],
                        "groups_compared": sum(keep for _, keep in pair),
                        "groups_excluded": EXCLUDED_SEPARATOR.join(
                            name for name, keep in pair if not keep
                        ),
                        "adjustment": multiple_testing,
                    },
                    band=band,
                    replicates=replicates[:, column],
                    interval=(float(low[column]), float(high[column])),
                    enough=bool(enough[column]),
                    group_ok=bool(ok[rate][g]),
                    reference_ok=bool(ok[rate][r]),
                    family=dimension if family == "dimension" else metric,
                    alpha=alpha,
                )
            )
    sizes = _adjust(comparisons, alpha=alpha, method=multiple_testing)
    rows = []
    for item in comparisons:
        if item.alpha == alpha:
            low_g, high_g = item.interval
        else:
            low_g, high_g = _interval(_defined(item.replicates), item.alpha)
        if not item.group_ok:
            verdict = VERDICT_INSUFFICIENT
        elif not item.reference_ok:
            verdict = VERDICT_INCONCLUSIVE
        else:
            verdict = _verdict(low_g, high_g, item.band)
        level = confidence_level if item.alpha == alpha else 1 - item.alpha
        rows.append(
            _row(
                **item.fields,
                ci_lower=low_g,
                ci_upper=high_g,
                verdict=verdict,
                confidence_level=level,
                family_size=sizes[item.family],
            )
        )
    return rows


def _adjust(
    comparisons: list[_Comparison], *, alpha: float, method: MultipleTesting
) -> dict[str, int]:
    """Set each tested comparison's interval level within its family; return family sizes.

    Pass claims and fail claims form two families of hypotheses each (see
    :mod:`~rai_pipeline.core.multiple_testing`); a row's interval is reported at the level of
    the claim the procedure made, or at the smaller of the two levels when it made none.
    """
    families: dict[str, list[_Comparison]] = {}
    for item in comparisons:
        families.setdefault(item.family, [])
        if item.tested:
            families[item.family].append(item)
    if method == "none":
        return dict.fromkeys(families, 1)
    for members in families.values():
        if not members:
            continue
        p_values = np.array(
            [
                percentile_interval_p_values(item.replicates[~np.isnan(item.replicates)], item.band)
                for item in members
            ]
        )
        pass_levels, passed = rejection_levels(p_values[:, 0], alpha=alpha, method=method)
        fail_levels, failed = rejection_levels(p_values[:, 1], alpha=alpha, method=method)
        for k, item in enumerate(members):
            if passed[k]:
                item.alpha = float(pass_levels[k])
            elif failed[k]:
                item.alpha = float(fail_levels[k])
            else:
                item.alpha = float(min(pass_levels[k], fail_levels[k]))
    return {name: len(members) for name, members in families.items()}
