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

Per-group rows: ``<metric>_ratio`` (:math:`m_g / m_{ref}`) and ``<metric>_difference``
(:math:`m_g - m_{ref}`) for ``selection_rate``, ``true_positive_rate`` and
``false_positive_rate``, each group against the dimension's reference group (default: the group
with the most rows, ties broken by name); the reference group gets no row of its own.

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
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.metrics import STATUS_OK, check_confidence_level
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
RATES = (SELECTION_RATE, TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE)

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
MSG_N_BOOTSTRAP = "n_bootstrap must be an int >= 1, got {value!r}"
MSG_SEED = "seed must be an int >= 0, got {value!r}"

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
    """Selection rate, TPR, FPR from cells ``[..., (tp, fp, tn, fn)]``; NaN where undefined."""
    tp, fp, tn, fn = (cells[..., i].astype(np.float64) for i in range(4))
    n, positives, negatives = tp + fp + tn + fn, tp + fn, fp + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            SELECTION_RATE: np.where(n > 0, (tp + fp) / n, np.nan),
            TRUE_POSITIVE_RATE: np.where(positives > 0, tp / positives, np.nan),
            FALSE_POSITIVE_RATE: np.where(negatives > 0, fp / negatives, np.nan),
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


def _interval(samples: _Array, confidence_level: float) -> tuple[float, float]:
    defined = samples[~np.isnan(samples)]
    if defined.size < MIN_DEFINED_REPLICATE_FRACTION * samples.size or defined.size == 0:
        return float("nan"), float("nan")
    alpha = 1 - confidence_level
    low, high = np.quantile(defined, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _dimension_rng(seed: int, dimension: str) -> np.random.Generator:
    digest = hashlib.sha256(dimension.encode("utf-8")).digest()
    entropy = [seed, int.from_bytes(digest[:8], "big")]
    return np.random.default_rng(np.random.SeedSequence(entropy))


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


def _check_inputs(
    slice_metrics: pd.DataFrame, stats: pd.DataFrame | None, n_bootstrap: int, seed: int
) -> None:
    required = ["dimension", "group", "n", "metric", "value", "status"]
    missing = [column for column in required if column not in slice_metrics.columns]
    if missing:
        raise ValueError(MSG_SLICE_METRICS_COLUMNS.format(missing=missing))
    needed = {"count", *RATES} | ({"prevalence"} if stats is None else set())
    absent = sorted(needed - set(slice_metrics["metric"]))
    if absent:
        raise ValueError(MSG_SLICE_METRICS_METRICS.format(missing=absent))
    if not _is_count(n_bootstrap) or n_bootstrap < 1:
        raise ValueError(MSG_N_BOOTSTRAP.format(value=n_bootstrap))
    if not _is_count(seed) or seed < 0:
        raise ValueError(MSG_SEED.format(value=seed))


def _is_count(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


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
) -> pd.DataFrame:
    """The ``fairness_metrics`` table: disparities per dimension with intervals and verdicts.

    See the module docstring for definitions, which groups are compared, the bootstrap and
    the verdict rules.

    Parameters
    ----------
    slice_metrics : pandas.DataFrame
        Long table from :func:`~rai_pipeline.core.metrics.slice_metrics_from_stats`; uses
        ``dimension, group, n, metric, value, status`` and the metrics ``count``,
        ``selection_rate``, ``true_positive_rate``, ``false_positive_rate`` (and
        ``prevalence`` when ``stats`` is not given). The ``overall`` dimension is ignored.
    stats : pandas.DataFrame, optional
        The slice statistics (``dimension, group, tp, fp, tn, fn``) behind ``slice_metrics``.
        When omitted, the cells are recovered exactly from count, prevalence, TPR and FPR.
    reference_groups : mapping of str to str, optional
        Reference group per dimension for the per-group rows; other dimensions use their
        largest group.
    policy : FairnessPolicy, optional
        Bands for the verdicts; defaults to ``FairnessPolicy()``.
    confidence_level : float, default 0.95
        Coverage of the percentile bootstrap intervals.
    n_bootstrap : int, default 1000
        Bootstrap replicates.
    seed : int, default 0
        Seed; the same inputs and seed give an identical frame.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FAIRNESS_COLUMNS`. Dimensions in their order in ``slice_metrics``;
        within one, the aggregate rows in :data:`AGGREGATES` order, then for each rate of
        :data:`RATES` its ``_ratio`` rows and its ``_difference`` rows, groups sorted.
        ``reference_group`` is None on aggregate rows; ``groups_excluded`` is ``;``-joined
        (empty when none).

    Raises
    ------
    ValueError
        Missing columns or metrics, stats that do not match ``slice_metrics``, an unknown
        reference dimension or group, or bad ``n_bootstrap``, ``seed`` or confidence level
        (the ``MSG_*`` constants of this module).

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
    """
    policy = policy if policy is not None else FairnessPolicy()
    level = check_confidence_level(confidence_level)
    _check_inputs(slice_metrics, stats, n_bootstrap, seed)
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
    rows: list[dict[str, Any]] = []
    for dimension in dimensions:
        groups = sorted(sizes.loc[dimension].index)
        dimension_sizes = sizes.loc[dimension].loc[groups].to_numpy()
        reference = references.get(dimension)
        if reference is None:
            reference = groups[int(np.argmax(dimension_sizes))]  # first of the largest
        rows.extend(
            _dimension_rows(
                dimension=dimension,
                groups=groups,
                cells=cells.loc[dimension].loc[groups, ["tp", "fp", "tn", "fn"]].to_numpy(),
                ok={
                    rate: (status.loc[dimension].loc[groups, rate] == STATUS_OK).to_numpy()
                    for rate in RATES
                },
                reference=reference,
                policy=policy,
                confidence_level=level,
                n_bootstrap=int(n_bootstrap),
                rng=_dimension_rng(int(seed), dimension),
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
        }
    )


def _dimension_rows(
    *,
    dimension: str,
    groups: list[str],
    cells: npt.NDArray[np.int64],
    ok: dict[str, npt.NDArray[np.bool_]],
    reference: str,
    policy: FairnessPolicy,
    confidence_level: float,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    point = _rates(cells)
    boot = _rates(_resample(cells, n_bootstrap, rng))  # each (B, G)
    bound = policy.difference_bound
    rows = []
    for name, rates, kind in AGGREGATES:
        compared = np.logical_and.reduce([ok[rate] for rate in rates])
        excluded = EXCLUDED_SEPARATOR.join(
            group for group, keep in zip(groups, compared, strict=True) if not keep
        )
        band = policy.ratio_band if kind == "ratio" else (0.0, bound)
        value, low, high = float("nan"), float("nan"), float("nan")
        if compared.sum() >= 2:
            parts = [_between_groups(point[rate][compared], kind) for rate in rates]
            samples = [_between_groups(boot[rate][:, compared], kind) for rate in rates]
            combine = np.max if kind == "difference" else np.min
            value = float(combine(np.array(parts)))
            low, high = _interval(combine(np.stack(samples), axis=0), confidence_level)
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
            )
        )
    r = groups.index(reference)
    for rate in RATES:
        for kind in ("ratio", "difference"):
            band = policy.ratio_band if kind == "ratio" else (-bound, bound)
            values = _to_reference(point[rate], point[rate][r], kind)
            replicates = _to_reference(boot[rate], boot[rate][:, [r]], kind)
            for g, group in enumerate(groups):
                if g == r:
                    continue
                low, high = _interval(replicates[:, g], confidence_level)
                if not ok[rate][g]:
                    verdict = VERDICT_INSUFFICIENT
                elif not ok[rate][r]:
                    verdict = VERDICT_INCONCLUSIVE
                else:
                    verdict = _verdict(low, high, band)
                pair = [(group, ok[rate][g]), (reference, ok[rate][r])]
                rows.append(
                    _row(
                        dimension=dimension,
                        metric=f"{rate}_{kind}",
                        group=group,
                        reference_group=reference,
                        value=float(values[g]),
                        ci_lower=low,
                        ci_upper=high,
                        threshold_lower=band[0],
                        threshold_upper=band[1],
                        verdict=verdict,
                        groups_compared=sum(keep for _, keep in pair),
                        groups_excluded=EXCLUDED_SEPARATOR.join(
                            name for name, keep in pair if not keep
                        ),
                    )
                )
    return rows
