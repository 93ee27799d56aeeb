r"""Disparities between slice groups, with score intervals and three-valued verdicts.

Input is the long ``slice_metrics`` table
(:func:`rai_pipeline.core.metrics.slice_metrics.slice_metrics_from_stats`) and, preferably, the
slice
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
(:mod:`~rai_pipeline.core.metrics.pairwise`): ``pass`` when every pair lies inside the band,
``fail``
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
(:mod:`~rai_pipeline.core.stats.multiple_testing`). The verdict is always read off the reported
interval. ``auto`` (the default) applies Holm to the aggregate rows of the whole evaluation
(the gate's family-wise claim) and Benjamini–Hochberg to the per-group rows of each family
(``multiple_testing_family``); ``none``, ``holm`` or ``bh`` apply that method to both.
``adjustment``, ``confidence_level``, ``family_size`` and ``comparisons`` (the pairwise
intervals behind the row, each at level :math:`1 - \alpha / K`) record what was done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from rai_pipeline.core.metrics.aggregates import aggregate_rows, excluded_groups_row
from rai_pipeline.core.metrics.group_rates import check_inputs, group_rates
from rai_pipeline.core.metrics.per_group import per_group_rows
from rai_pipeline.core.metrics.policy import FairnessPolicy
from rai_pipeline.core.stats.intervals import check_confidence_level
from rai_pipeline.core.stats.multiple_testing import (
    MultipleTesting,
    MultipleTestingSetting,
    method_for,
)

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
MULTIPLE_TESTING_FAMILIES = ("dimension", "metric")
AGGREGATE_FAMILIES = ("evaluation", "dimension")
# What `auto` applies: Holm to the aggregate rows, Benjamini-Hochberg to the per-group rows.
AUTO_AGGREGATE: MultipleTesting = "holm"
AUTO_PER_GROUP: MultipleTesting = "bh"
MSG_FAMILY = "multiple_testing_family must be one of {choices}, got {value!r}"
MSG_AGGREGATE_FAMILY = "aggregate_family must be one of {choices}, got {value!r}"


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
        Long table from :func:`~rai_pipeline.core.metrics.slice_metrics.slice_metrics_from_stats`;
        uses
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
        :mod:`~rai_pipeline.core.stats.multiple_testing`).

    Examples
    --------
    >>> stats = pd.DataFrame({"dimension": ["overall", "sex", "sex"],
    ...     "group": ["all", "F", "M"], "n": [400, 200, 200], "n_pos": [200, 100, 100],
    ...     "n_neg": [200, 100, 100], "tp": [160, 80, 80], "fp": [40, 20, 20],
    ...     "tn": [160, 80, 80], "fn": [40, 20, 20], "sum_sq_error": [60.0, 30.0, 30.0],
    ...     "auc": [0.9, 0.9, 0.9]})
    >>> from rai_pipeline.core.metrics.slice_metrics import slice_metrics_from_stats
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
    check_inputs(slice_metrics)
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
    dimensions = group_rates(slice_metrics, stats, reference_groups)
    alpha = 1 - level
    aggregates = aggregate_rows(
        dimensions,
        policy=policy,
        alpha=alpha,
        method=aggregate_method,
        by_dimension=aggregate_family == "dimension",
    )
    per_group = per_group_rows(
        dimensions,
        policy=policy,
        alpha=alpha,
        method=per_group_method,
        family=multiple_testing_family,
    )
    rows: list[dict[str, Any]] = []
    for dimension in dimensions:
        rows.extend(aggregates[dimension.name])
        rows.append(excluded_groups_row(dimension))
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
