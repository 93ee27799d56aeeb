r"""Disparities between slice groups, with score intervals and three-valued verdicts.

Input is the long ``slice_metrics`` table
(:func:`rai_pipeline.core.metrics.slice_metrics_from_stats`) and, preferably, the slice
statistics it came from. Output is the ``fairness_metrics`` table.

Aggregate rows (``group = "*"``), one set per dimension, with fairlearn's ``between_groups``
point estimates over the groups that are comparable:

==================================  ===================================================
metric                              value
==================================  ===================================================
``demographic_parity_difference``   max − min of ``selection_rate``
``demographic_parity_ratio``        min / max of ``selection_rate``
``equalized_odds_difference``       the larger of the TPR and FPR differences
``equalized_odds_ratio``            the smaller of the TPR and FPR ratios
``equal_opportunity_difference``    max − min of ``true_positive_rate``
``excluded_groups``                 the number of groups left out of an aggregate above
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
is NaN (0/0), as in fairlearn, and so is an equalized-odds aggregate with a NaN component. The
``excluded_groups`` row of a dimension counts the groups left out of any aggregate: verdict
``pass`` when there are none, else ``insufficient_sample``, a finding like any other, so the
gate never passes a dimension it could not fully assess.

Intervals (:mod:`~rai_pipeline.core.stats.intervals`): Newcombe's hybrid score interval for a
difference and MOVER-R (Wilson limits) for a ratio, so every comparison is consistent with the
two groups' Wilson intervals, has non-zero width and is wide where counts are small or zero.
An aggregate is decided from the simultaneous intervals of all pairs of its groups
(:mod:`~rai_pipeline.core.pairwise`): ``pass`` when every pair lies inside the band, ``fail``
when some pair lies wholly outside, else ``inconclusive``; its reported interval is built
from the same pairwise intervals, so interval and verdict agree.

Verdicts against :class:`FairnessPolicy`: ``pass`` when the whole interval lies inside the band
(``[threshold_lower, threshold_upper]``: the reciprocal ratio band ``[t, 1/t]`` for ratios,
``[0, bound]`` for aggregate differences, ``[-bound, bound]`` for per-group differences),
``fail`` when it lies wholly outside, else ``inconclusive``; per-group rows of groups that are
not ``ok`` get ``insufficient_sample``. ``disposition`` is ``none_required`` for ``pass`` and
``pending`` otherwise: a person must record mitigation or an approved acceptance.

Multiple testing (``multiple_testing``). Each row's *pass* and *fail* claims get p-values by
inverting its interval (:mod:`~rai_pipeline.core.stats.claims`); Holm's step-down or
Benjamini–Hochberg runs on the pass claims and on the fail claims of a family, and the row's
interval is reported at the level that shows the procedure's decision
(:mod:`~rai_pipeline.core.multiple_testing`). The verdict is always read off the reported
interval. ``auto`` (the default) applies Holm to the aggregate rows of the whole evaluation
(the gate's family-wise claim) and Benjamini–Hochberg to the per-group rows of each family
(``multiple_testing_family``); ``none``, ``holm`` or ``bh`` apply that method to both.
``adjustment``, ``confidence_level``, ``family_size`` and ``comparisons`` (the pairwise
intervals behind the row, each at level :math:`1 - \alpha / K`) record what was done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.metrics import STATUS_OK, rate_terms
from rai_pipeline.core.multiple_testing import (
    MultipleTesting,
    MultipleTestingSetting,
    claim_levels,
    method_for,
)
from rai_pipeline.core.pairwise import (
    DIFFERENCE,
    RATIO,
    Comparisons,
    all_pairs,
    comparisons,
    concatenate,
    fold,
    reduce_by_owner,
)
from rai_pipeline.core.slices import OVERALL_DIMENSION
from rai_pipeline.core.stats.claims import inside, is_reciprocal, outside
from rai_pipeline.core.stats.intervals import check_confidence_level, z_value
from rai_pipeline.core.stats.rates import ratio_of

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
    "comparisons",
)
AGGREGATE_GROUP = "*"
EXCLUDED_SEPARATOR = ";"
EXCLUDED_GROUPS = "excluded_groups"

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
AGGREGATE_FAMILIES = ("evaluation", "dimension")
# What `auto` applies: Holm to the aggregate rows, Benjamini-Hochberg to the per-group rows.
AUTO_AGGREGATE: MultipleTesting = "holm"
AUTO_PER_GROUP: MultipleTesting = "bh"

# name, rates it combines, "difference" (max - min, worst = max) or "ratio" (min / max, worst = min)
AGGREGATES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("demographic_parity_difference", (SELECTION_RATE,), DIFFERENCE),
    ("demographic_parity_ratio", (SELECTION_RATE,), RATIO),
    ("equalized_odds_difference", (TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE), DIFFERENCE),
    ("equalized_odds_ratio", (TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE), RATIO),
    ("equal_opportunity_difference", (TRUE_POSITIVE_RATE,), DIFFERENCE),
)

MSG_RATIO_BAND = (
    "ratio_band must be (lower, upper) with 0 < lower <= 1 and upper = 1 / lower, got {value!r}"
)
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
MSG_AGGREGATE_FAMILY = "aggregate_family must be one of {choices}, got {value!r}"

_Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FairnessPolicy:
    """Where a disparity must lie to pass.

    Parameters
    ----------
    ratio_band : (float, float), default (0.8, 1.25)
        Accepted range for ratios, ``(t, 1/t)`` with ``0 < t <= 1`` (the four-fifths rule and
        its reciprocal by default). It must be reciprocal: against ``[0.8, 1.2]`` the ratio
        of two groups could pass one way round and fail the other.
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
            or not is_reciprocal((band[0], band[1]))
        ):
            raise ValueError(MSG_RATIO_BAND.format(value=self.ratio_band))
        if not _is_number(self.difference_bound) or not 0 < self.difference_bound <= 1:
            raise ValueError(MSG_DIFFERENCE_BOUND.format(value=self.difference_bound))
        object.__setattr__(self, "ratio_band", (float(band[0]), float(band[1])))
        object.__setattr__(self, "difference_bound", float(self.difference_bound))

    def band(self, kind: str, *, aggregate: bool) -> tuple[float, float]:
        """The band a ``kind`` of disparity must lie in (aggregate differences are >= 0)."""
        if kind == RATIO:
            return self.ratio_band
        bound = self.difference_bound
        return (0.0, bound) if aggregate else (-bound, bound)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and bool(np.isfinite(value))
    )


def verdicts(
    lower: npt.ArrayLike, upper: npt.ArrayLike, band: tuple[npt.ArrayLike, npt.ArrayLike]
) -> Any:
    """``pass`` where [lower, upper] lies inside the band, ``fail`` where it lies wholly
    outside, else ``inconclusive`` (NaN limits included); ``band`` is ``(lower, upper)`` with
    entries broadcastable against the limits."""
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    band_lower, band_upper = (np.asarray(edge, dtype=np.float64) for edge in band)
    return np.where(
        inside(lo, hi, band_lower, band_upper),
        VERDICT_PASS,
        np.where(outside(lo, hi, band_lower, band_upper), VERDICT_FAIL, VERDICT_INCONCLUSIVE),
    ).astype(object)


def _rate_counts(cells: npt.NDArray[np.int64]) -> dict[str, tuple[_Array, _Array]]:
    """``(successes, trials)`` of every rate of :data:`PER_GROUP_RATES`, from (G, 4) cells."""
    terms = {
        name: cells[:, i].astype(np.float64) for i, name in enumerate(("tp", "fp", "tn", "fn"))
    }
    terms["n"] = cells.sum(axis=1).astype(np.float64)
    return {rate: rate_terms(terms, rate) for rate in PER_GROUP_RATES}


def _between_groups(values: _Array, kind: str) -> float:
    """max − min or min / max; NaN propagates, 0/0 is NaN."""
    high, low = float(values.max()), float(values.min())
    if kind == DIFFERENCE:
        return high - low
    return float("nan") if high == 0 else low / high


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


@dataclass(frozen=True)
class _Dimension:
    """One dimension's groups (sorted), their rate counts and which rates are ``ok``."""

    name: str
    groups: list[str]
    reference: str
    counts: dict[str, tuple[_Array, _Array]]
    ok: dict[str, npt.NDArray[np.bool_]]

    def rate(self, name: str) -> _Array:
        return ratio_of(*self.counts[name])


def fairness_metrics_from_slices(
    slice_metrics: pd.DataFrame,
    *,
    stats: pd.DataFrame | None = None,
    reference_groups: Mapping[str, str] | None = None,
    policy: FairnessPolicy | None = None,
    confidence_level: float = 0.95,
    multiple_testing: MultipleTestingSetting = "auto",
    multiple_testing_family: Literal["dimension", "metric"] = "dimension",
    aggregate_family: Literal["evaluation", "dimension"] = "evaluation",
) -> pd.DataFrame:
    """The ``fairness_metrics`` table: disparities per dimension with intervals and verdicts.

    See the module docstring for definitions, which groups are compared, the intervals, the
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
        Coverage of every interval before multiplicity adjustment; an aggregate's interval
        holds this coverage for all its pairs together.
    multiple_testing : {"auto", "none", "holm", "bh"}, default "auto"
        Adjustment of verdicts for the number of claims: ``auto`` is Holm on the aggregate
        rows and Benjamini–Hochberg on the per-group rows; the others apply to both.
    multiple_testing_family : {"dimension", "metric"}, default "dimension"
        Which per-group rows are adjusted together: every per-group row of a dimension, or
        the rows of one dimension and one metric (e.g. every group's
        ``false_positive_rate_ratio``).
    aggregate_family : {"evaluation", "dimension"}, default "evaluation"
        Which aggregate rows are adjusted together: all of them (the gate's claim), or those
        of one dimension.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FAIRNESS_COLUMNS`. Dimensions in their order in ``slice_metrics``;
        within one, the aggregate rows in :data:`AGGREGATES` order and the
        ``excluded_groups`` row, then for each rate of :data:`PER_GROUP_RATES` its ``_ratio``
        rows and its ``_difference`` rows, groups sorted. ``reference_group`` is None on
        aggregate rows; ``groups_excluded`` is ``;``-joined (empty when none).
        ``adjustment`` is the method applied to the row, ``confidence_level`` the level of
        the row's interval (NaN without one), ``family_size`` the number of tested rows in
        its family (1 without adjustment, 0 for ``excluded_groups``) and ``comparisons`` the
        number of pairwise intervals its interval is built from.

    Raises
    ------
    ValueError
        Missing columns or metrics, stats that do not match ``slice_metrics``, an unknown
        reference dimension or group, or bad confidence level, ``multiple_testing`` or
        family (the ``MSG_*`` constants of this module and of
        :mod:`~rai_pipeline.core.multiple_testing`).

    Examples
    --------
    >>> stats = pd.DataFrame({"dimension": ["overall", "sex", "sex"],
    ...     "group": ["all", "F", "M"], "n": [400, 200, 200], "n_pos": [200, 100, 100],
    ...     "n_neg": [200, 100, 100], "tp": [160, 80, 80], "fp": [40, 20, 20],
    ...     "tn": [160, 80, 80], "fn": [40, 20, 20], "sum_sq_error": [60.0, 30.0, 30.0],
    ...     "auc": [0.9, 0.9, 0.9]})
    >>> from rai_pipeline.core.metrics import slice_metrics_from_stats
    >>> out = fairness_metrics_from_slices(slice_metrics_from_stats(stats), stats=stats)
    >>> row = out.iloc[0]
    >>> row["metric"], float(row["value"]), round(float(row["ci_upper"]), 3), row["verdict"]
    ('demographic_parity_difference', 0.0, 0.127, 'inconclusive')
    >>> row = out.set_index("metric").loc["false_discovery_rate_ratio"]
    >>> row["group"], row["reference_group"], float(row["value"])
    ('M', 'F', 1.0)
    """
    policy = policy if policy is not None else FairnessPolicy()
    level = check_confidence_level(confidence_level)
    _check_inputs(slice_metrics)
    aggregate_method = method_for(multiple_testing, auto=AUTO_AGGREGATE)
    per_group_method = method_for(multiple_testing, auto=AUTO_PER_GROUP)
    if multiple_testing_family not in MULTIPLE_TESTING_FAMILIES:
        raise ValueError(
            MSG_FAMILY.format(choices=MULTIPLE_TESTING_FAMILIES, value=multiple_testing_family)
        )
    if aggregate_family not in AGGREGATE_FAMILIES:
        raise ValueError(
            MSG_AGGREGATE_FAMILY.format(choices=AGGREGATE_FAMILIES, value=aggregate_family)
        )
    dimensions = _dimensions(slice_metrics, stats, reference_groups)
    alpha = 1 - level
    aggregates = _aggregate_rows(
        dimensions,
        policy=policy,
        alpha=alpha,
        method=aggregate_method,
        by_dimension=aggregate_family == "dimension",
    )
    per_group = _per_group_rows(
        dimensions,
        policy=policy,
        alpha=alpha,
        method=per_group_method,
        family=multiple_testing_family,
    )
    rows: list[dict[str, Any]] = []
    for dimension in dimensions:
        rows.extend(aggregates[dimension.name])
        rows.append(_excluded_groups_row(dimension))
        rows.extend(per_group[dimension.name])
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
            "comparisons": "int64",
        }
    )


def _dimensions(
    slice_metrics: pd.DataFrame,
    stats: pd.DataFrame | None,
    reference_groups: Mapping[str, str] | None,
) -> list[_Dimension]:
    """Every dimension but ``overall``, in input order, with its groups sorted by name."""
    metrics = slice_metrics[slice_metrics["dimension"] != OVERALL_DIMENSION]
    names = list(dict.fromkeys(metrics["dimension"]))
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
        if dimension not in names:
            raise ValueError(MSG_REFERENCE_DIMENSION.format(dimension=dimension, dimensions=names))
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
    out = []
    for name in names:
        where = positions[name]
        groups = [str(group) for group in group_names[where]]
        reference = references.get(name)
        if reference is None:
            reference = groups[int(np.argmax(sizes.to_numpy()[where]))]  # first of the largest
        out.append(
            _Dimension(
                name=name,
                groups=groups,
                reference=reference,
                counts=_rate_counts(cells_all[where]),
                ok={rate: ok_all[where, k] for k, rate in enumerate(PER_GROUP_RATES)},
            )
        )
    return out


def _joined(groups: list[str], keep: npt.NDArray[np.bool_]) -> str:
    return EXCLUDED_SEPARATOR.join(g for g, k in zip(groups, keep, strict=True) if not k)


def _aggregate_rows(
    dimensions: list[_Dimension],
    *,
    policy: FairnessPolicy,
    alpha: float,
    method: MultipleTesting,
    by_dimension: bool,
) -> dict[str, list[dict[str, Any]]]:
    """Every aggregate row, decided from simultaneous pairwise intervals (module docstring)."""
    specs: list[dict[str, Any]] = []
    batches: list[Comparisons] = []
    owners: list[npt.NDArray[np.int64]] = []
    for dimension in dimensions:
        for name, rates, kind in AGGREGATES:
            compared = np.logical_and.reduce([dimension.ok[rate] for rate in rates])
            band = policy.band(kind, aggregate=True)
            value = float("nan")
            tested = bool(compared.sum() >= 2)
            if tested:
                parts = [_between_groups(dimension.rate(rate)[compared], kind) for rate in rates]
                value = max(parts) if kind == DIFFERENCE else min(parts)
                if any(np.isnan(parts)):
                    value = float("nan")
                pairs = all_pairs(
                    kind,
                    np.stack([dimension.counts[rate][0][compared] for rate in rates]),
                    np.stack([dimension.counts[rate][1][compared] for rate in rates]),
                    policy.band(kind, aggregate=False),
                )
                owners.append(np.full(pairs.size, len(specs), dtype=np.int64))
                batches.append(pairs)
            specs.append(
                {
                    "dimension": dimension.name,
                    "metric": name,
                    "kind": kind,
                    "band": band,
                    "value": value,
                    "tested": tested,
                    "compared": compared,
                    "groups": dimension.groups,
                }
            )
    pairs = concatenate(batches)
    owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    size = len(specs)
    k = np.bincount(owner, minlength=size).astype(np.float64)
    p_pass_pairs, p_fail_pairs = pairs.p_values()
    with np.errstate(invalid="ignore"):
        p_pass = np.minimum(1.0, k * reduce_by_owner(p_pass_pairs, owner, size, "max"))
        p_fail = np.minimum(1.0, k * reduce_by_owner(p_fail_pairs, owner, size, "min"))
    decidable = np.array([spec["tested"] for spec in specs], dtype=bool)
    families = [spec["dimension"] if by_dimension else "evaluation" for spec in specs]
    levels, family_sizes = claim_levels(
        np.nan_to_num(p_pass, nan=1.0),
        np.nan_to_num(p_fail, nan=1.0),
        families=families,
        tested=decidable,
        alpha=alpha,
        method=method,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper = pairs.limits(z_value(levels[owner] / k[owner]))
    folded_low, folded_high = fold(lower, upper, pairs.ratio)
    low = {
        "max": reduce_by_owner(folded_low, owner, size, "max"),
        "min": reduce_by_owner(folded_low, owner, size, "min"),
    }
    high = {
        "max": reduce_by_owner(folded_high, owner, size, "max"),
        "min": reduce_by_owner(folded_high, owner, size, "min"),
    }
    is_difference = np.array([spec["kind"] == DIFFERENCE for spec in specs], dtype=bool)
    ci_lower = np.where(is_difference, low["max"], low["min"])
    ci_upper = np.where(is_difference, high["max"], high["min"])
    bands = np.array([spec["band"] for spec in specs], dtype=np.float64).reshape(-1, 2)
    decided = np.where(
        decidable, verdicts(ci_lower, ci_upper, (bands[:, 0], bands[:, 1])), VERDICT_INCONCLUSIVE
    )
    out: dict[str, list[dict[str, Any]]] = {dimension.name: [] for dimension in dimensions}
    for i, spec in enumerate(specs):
        out[spec["dimension"]].append(
            _row(
                dimension=spec["dimension"],
                metric=spec["metric"],
                group=AGGREGATE_GROUP,
                reference_group=None,
                value=spec["value"],
                ci_lower=float(ci_lower[i]),
                ci_upper=float(ci_upper[i]),
                threshold_lower=spec["band"][0],
                threshold_upper=spec["band"][1],
                verdict=str(decided[i]),
                groups_compared=int(spec["compared"].sum()),
                groups_excluded=_joined(spec["groups"], spec["compared"]),
                adjustment=method,
                confidence_level=1 - float(levels[i]),
                family_size=family_sizes[families[i]],
                comparisons=int(k[i]),
            )
        )
    return out


def _excluded_groups_row(dimension: _Dimension) -> dict[str, Any]:
    """How many of the dimension's groups some aggregate could not compare."""
    assessed = np.logical_and.reduce([dimension.ok[rate] for rate in RATES])
    excluded = int((~assessed).sum())
    return _row(
        dimension=dimension.name,
        metric=EXCLUDED_GROUPS,
        group=AGGREGATE_GROUP,
        reference_group=None,
        value=float(excluded),
        ci_lower=float("nan"),
        ci_upper=float("nan"),
        threshold_lower=0.0,
        threshold_upper=0.0,
        verdict=VERDICT_PASS if excluded == 0 else VERDICT_INSUFFICIENT,
        groups_compared=int(assessed.sum()),
        groups_excluded=_joined(dimension.groups, assessed),
        adjustment="none",
        confidence_level=float("nan"),
        family_size=0,
        comparisons=0,
    )


def _per_group_rows(
    dimensions: list[_Dimension],
    *,
    policy: FairnessPolicy,
    alpha: float,
    method: MultipleTesting,
    family: str,
) -> dict[str, list[dict[str, Any]]]:
    """Each group against its dimension's reference, for every rate and kind."""
    fields: list[dict[str, Any]] = []
    batches: list[Comparisons] = []
    tested: list[bool] = []
    families: list[str] = []
    status: list[str | None] = []
    for dimension in dimensions:
        r = dimension.groups.index(dimension.reference)
        others = [g for g in range(len(dimension.groups)) if g != r]
        for rate in PER_GROUP_RATES:
            successes, trials = dimension.counts[rate]
            rates = dimension.rate(rate)
            ok = dimension.ok[rate]
            for kind in (RATIO, DIFFERENCE):
                band = policy.band(kind, aggregate=False)
                metric = f"{rate}_{kind}"
                batches.append(
                    comparisons(
                        kind, successes[others], trials[others], successes[r], trials[r], band
                    )
                )
                if kind == DIFFERENCE:
                    values = rates[others] - rates[r]
                else:
                    values = ratio_of(rates[others], np.full(len(others), rates[r]))
                for g, value in zip(others, values, strict=True):
                    keep = [(dimension.groups[g], ok[g]), (dimension.reference, ok[r])]
                    fields.append(
                        {
                            "dimension": dimension.name,
                            "metric": metric,
                            "group": dimension.groups[g],
                            "reference_group": dimension.reference,
                            "value": float(value),
                            "threshold_lower": band[0],
                            "threshold_upper": band[1],
                            "groups_compared": sum(bool(flag) for _, flag in keep),
                            "groups_excluded": EXCLUDED_SEPARATOR.join(
                                name for name, flag in keep if not flag
                            ),
                            "adjustment": method,
                            "comparisons": 1,
                        }
                    )
                    tested.append(bool(ok[g] and ok[r]))
                    families.append(dimension.name if family == "dimension" else metric)
                    status.append(
                        None
                        if ok[g] and ok[r]
                        else VERDICT_INSUFFICIENT
                        if not ok[g]
                        else VERDICT_INCONCLUSIVE
                    )
    batch = concatenate(batches)
    p_pass, p_fail = batch.p_values()
    is_tested = np.array(tested, dtype=bool)
    levels, family_sizes = claim_levels(
        p_pass, p_fail, families=families, tested=is_tested, alpha=alpha, method=method
    )
    lower, upper = batch.limits(z_value(levels))
    decided = verdicts(lower, upper, (batch.band_lower, batch.band_upper))
    out: dict[str, list[dict[str, Any]]] = {dimension.name: [] for dimension in dimensions}
    for k, item in enumerate(fields):
        verdict = status[k] or str(decided[k])
        out[item["dimension"]].append(
            _row(
                **item,
                ci_lower=float(lower[k]),
                ci_upper=float(upper[k]),
                verdict=verdict,
                confidence_level=1 - float(levels[k]),
                family_size=family_sizes[families[k]],
            )
        )
    return out
