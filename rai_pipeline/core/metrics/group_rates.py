"""Each dimension's groups and their rates, as counts: what every disparity is computed from.

The rates compared are binomial proportions of the confusion cells (``rate_terms`` of
:mod:`~rai_pipeline.core.metrics.slice_metrics`); a group's rate is ``ok`` when its status in
``slice_metrics`` is ``ok``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.engine.slices import OVERALL_DIMENSION
from rai_pipeline.core.metrics.slice_metrics import STATUS_OK, rate_terms
from rai_pipeline.core.stats.rates import ratio_of

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

_Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GroupRates:
    """One dimension's groups (sorted), their rate counts and which rates are ``ok``."""

    name: str
    groups: list[str]
    reference: str
    counts: dict[str, tuple[_Array, _Array]]
    ok: dict[str, npt.NDArray[np.bool_]]

    def rate(self, name: str) -> _Array:
        return ratio_of(*self.counts[name])


def rate_counts(cells: npt.NDArray[np.int64]) -> dict[str, tuple[_Array, _Array]]:
    """``(successes, trials)`` of every rate of :data:`PER_GROUP_RATES`, from (G, 4) cells."""
    terms = {
        name: cells[:, i].astype(np.float64) for i, name in enumerate(("tp", "fp", "tn", "fn"))
    }
    terms["n"] = cells.sum(axis=1).astype(np.float64)
    return {rate: rate_terms(terms, rate) for rate in PER_GROUP_RATES}


def cells_from_stats(stats: pd.DataFrame) -> pd.DataFrame:
    required = ["dimension", "group", "tp", "fp", "tn", "fn"]
    missing = [column for column in required if column not in stats.columns]
    if missing:
        raise ValueError(MSG_STATS_COLUMNS.format(missing=missing))
    return stats.loc[:, required].astype(
        {"dimension": str, "group": str, "tp": "int64", "fp": "int64", "tn": "int64", "fn": "int64"}
    )


def cells_from_metrics(values: pd.DataFrame) -> pd.DataFrame:
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


def check_inputs(slice_metrics: pd.DataFrame) -> None:
    required = ["dimension", "group", "n", "metric", "value", "status"]
    missing = [column for column in required if column not in slice_metrics.columns]
    if missing:
        raise ValueError(MSG_SLICE_METRICS_COLUMNS.format(missing=missing))
    needed = {"count", *PER_GROUP_RATES}
    absent = sorted(needed - set(slice_metrics["metric"]))
    if absent:
        raise ValueError(MSG_SLICE_METRICS_METRICS.format(missing=absent))


def group_rates(
    slice_metrics: pd.DataFrame,
    stats: pd.DataFrame | None,
    reference_groups: Mapping[str, str] | None,
) -> list[GroupRates]:
    """Every dimension but ``overall``, in input order, with its groups sorted by name."""
    metrics = slice_metrics[slice_metrics["dimension"] != OVERALL_DIMENSION]
    names = list(dict.fromkeys(metrics["dimension"]))
    wide = metrics.pivot(index=["dimension", "group"], columns="metric", values="value")
    status = metrics.pivot(index=["dimension", "group"], columns="metric", values="status")
    sizes = metrics.drop_duplicates(["dimension", "group"]).set_index(["dimension", "group"])["n"]
    if stats is not None:
        cells = cells_from_stats(stats[stats["dimension"] != OVERALL_DIMENSION])
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
        cells = cells_from_metrics(wide)
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
            GroupRates(
                name=name,
                groups=groups,
                reference=reference,
                counts=rate_counts(cells_all[where]),
                ok={rate: ok_all[where, k] for k, rate in enumerate(PER_GROUP_RATES)},
            )
        )
    return out
