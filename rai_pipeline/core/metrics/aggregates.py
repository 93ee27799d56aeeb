"""Aggregate disparities of a dimension (fairlearn's ``between_groups`` point estimates),
decided from the simultaneous intervals of all pairs of their groups
(:mod:`~rai_pipeline.core.metrics.pairwise`), and the count of groups they left out."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rai_pipeline.core.metrics.group_rates import (
    FALSE_POSITIVE_RATE,
    RATES,
    SELECTION_RATE,
    TRUE_POSITIVE_RATE,
    GroupRates,
)
from rai_pipeline.core.metrics.pairwise import (
    DIFFERENCE,
    RATIO,
    Comparisons,
    all_pairs,
    concatenate,
    fold,
    reduce_by_owner,
)
from rai_pipeline.core.metrics.policy import FairnessPolicy
from rai_pipeline.core.metrics.verdicts import (
    AGGREGATE_GROUP,
    EXCLUDED_GROUPS,
    VERDICT_INCONCLUSIVE,
    VERDICT_INSUFFICIENT,
    VERDICT_PASS,
    excluded_list,
    finding_row,
    verdicts,
)
from rai_pipeline.core.stats.intervals import z_value
from rai_pipeline.core.stats.multiple_testing import MultipleTesting, claim_levels

# name, rates it combines, "difference" (max - min, worst = max) or "ratio" (min / max, worst = min)
AGGREGATES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("demographic_parity_difference", (SELECTION_RATE,), DIFFERENCE),
    ("demographic_parity_ratio", (SELECTION_RATE,), RATIO),
    ("equalized_odds_difference", (TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE), DIFFERENCE),
    ("equalized_odds_ratio", (TRUE_POSITIVE_RATE, FALSE_POSITIVE_RATE), RATIO),
    ("equal_opportunity_difference", (TRUE_POSITIVE_RATE,), DIFFERENCE),
)

_Array = npt.NDArray[np.float64]


def between_groups(values: _Array, kind: str) -> float:
    """max − min or min / max; NaN propagates, 0/0 is NaN."""
    high, low = float(values.max()), float(values.min())
    if kind == DIFFERENCE:
        return high - low
    return float("nan") if high == 0 else low / high


def aggregate_rows(
    dimensions: list[GroupRates],
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
                parts = [between_groups(dimension.rate(rate)[compared], kind) for rate in rates]
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
            finding_row(
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
                groups_excluded=excluded_list(spec["groups"], spec["compared"]),
                adjustment=method,
                confidence_level=1 - float(levels[i]),
                family_size=family_sizes[families[i]],
                comparisons=int(k[i]),
            )
        )
    return out


def excluded_groups_row(dimension: GroupRates) -> dict[str, Any]:
    """How many of the dimension's groups some aggregate could not compare."""
    assessed = np.logical_and.reduce([dimension.ok[rate] for rate in RATES])
    excluded = int((~assessed).sum())
    return finding_row(
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
        groups_excluded=excluded_list(dimension.groups, assessed),
        adjustment="none",
        confidence_level=float("nan"),
        family_size=0,
        comparisons=0,
    )
