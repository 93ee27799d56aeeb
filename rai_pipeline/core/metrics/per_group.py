"""Each group against its dimension's reference group, for every rate: a Newcombe interval
for the difference and a MOVER-R interval for the ratio, adjusted within families."""

from __future__ import annotations

from typing import Any

import numpy as np

from rai_pipeline.core.metrics.group_rates import PER_GROUP_RATES, GroupRates
from rai_pipeline.core.metrics.pairwise import (
    DIFFERENCE,
    RATIO,
    Comparisons,
    comparisons,
    concatenate,
)
from rai_pipeline.core.metrics.policy import FairnessPolicy
from rai_pipeline.core.metrics.verdicts import (
    EXCLUDED_SEPARATOR,
    VERDICT_INCONCLUSIVE,
    VERDICT_INSUFFICIENT,
    finding_row,
    verdicts,
)
from rai_pipeline.core.stats.intervals import z_value
from rai_pipeline.core.stats.multiple_testing import MultipleTesting, claim_levels
from rai_pipeline.core.stats.rates import ratio_of


def per_group_rows(
    dimensions: list[GroupRates],
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
            finding_row(
                **item,
                ci_lower=float(lower[k]),
                ci_upper=float(upper[k]),
                verdict=verdict,
                confidence_level=1 - float(levels[k]),
                family_size=family_sizes[families[k]],
            )
        )
    return out
