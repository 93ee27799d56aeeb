"""Permutation importance of a model version's features, overall and per sensitive group, with
intervals over repeats and the difference between groups.

As scikit-learn's :func:`~sklearn.inspection.permutation_importance` does, one feature at a
time is permuted across the evaluation rows, ``n_repeats`` times, and the rows re-scored; the
importance of a feature is the drop in ROC AUC it causes. The permutations are scikit-learn's
own (the same seed gives the same shuffles, so the same drops), but the repeats of a feature
are stacked and scored in one call of the model (up to :data:`ROWS_PER_CALL` rows): a
model's fixed cost per call (its input checks, MLflow's schema enforcement) is paid once per
feature rather than once per repeat. One permutation serves every group: the scoring
function returns the AUC of the whole sample and of each group's rows, so a group's importance
is the drop in *its* AUC when the feature is replaced by values drawn from the whole data, and
two groups' importances from the same repeat are paired.

- ``importance``: the mean drop over the repeats; ``ci_lower`` / ``ci_upper``: Student's t
  interval of that mean (the permutations' randomness; the evaluation sample is fixed, so
  this is not the uncertainty of a new sample);
- ``difference`` (a group against its dimension's reference group): the mean of the paired
  per-repeat differences, with its t interval; an interval that excludes 0 says the feature
  matters more (or less) for that group's ranking.

A group whose rows hold one class only, or fewer than ``min_group_size`` rows, has no AUC:
its rows say ``insufficient_sample``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rai_pipeline.core.stats.score_bootstrap import twice_u

METRIC = "roc_auc_score"
OVERALL, ALL = "overall", "all"
STATUS_OK, STATUS_SMALL = "ok", "insufficient_sample"
IMPORTANCE_COLUMNS = (
    "dimension",
    "group",
    "n",
    "feature",
    "metric",
    "baseline",
    "importance",
    "ci_lower",
    "ci_upper",
    "repeats",
    "status",
)
DIFFERENCE_COLUMNS = (
    "dimension",
    "group",
    "reference_group",
    "feature",
    "difference",
    "ci_lower",
    "ci_upper",
    "repeats",
)
SEP = "\x1f"  # joins dimension and group in the scorer names
ROWS_PER_CALL = 200_000  # most rows scored in one model call: a feature's repeats, stacked


@dataclass(frozen=True)
class Importance:
    importances: pd.DataFrame  # IMPORTANCE_COLUMNS
    differences: pd.DataFrame  # DIFFERENCE_COLUMNS
    shap: pd.DataFrame | None = None  # shap_summary.SHAP_COLUMNS; None: stored without one


def _t_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return (float(values.mean()) if len(values) else np.nan, np.nan, np.nan)
    from scipy import stats  # imported here: scipy.stats takes half a second to import

    mean, half = values.mean(), stats.t.ppf((1 + level) / 2, len(values) - 1)
    half *= values.std(ddof=1) / np.sqrt(len(values))
    return float(mean), float(mean - half), float(mean + half)


def group_aucs(
    scores: np.ndarray, labels: np.ndarray, masks: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """The exact ROC AUC of each mask's rows (both classes present), from one ordering of all
    the scores: per group, its positives and negatives per distinct score and their
    Mann–Whitney :math:`2U` in integers (:func:`~rai_pipeline.core.stats.score_bootstrap.twice_u`),
    as :func:`sklearn.metrics.roc_auc_score` computes it (ties count half) at a fraction of
    its cost per group (measured: 4 ms a call at 15,000 rows, once per group, feature and
    repeat)."""
    _, rank = np.unique(scores, return_inverse=True)
    size = int(rank.max()) + 1 if rank.size else 0
    positive = labels == 1
    aucs = {}
    for name, mask in masks.items():
        pos = np.bincount(rank[mask & positive], minlength=size)
        neg = np.bincount(rank[mask & ~positive], minlength=size)
        aucs[name] = float(twice_u(pos, neg) / (2.0 * pos.sum() * neg.sum()))
    return aucs


def permuted_positions(n_rows: int, n_repeats: int, seed: int) -> np.ndarray:
    """Row ``r`` holds the positions whose values repeat ``r`` of any feature reads: the
    permutations :func:`sklearn.inspection.permutation_importance` applies with
    ``random_state=seed`` (one seed drawn for every feature; each repeat shuffles the index
    again and applies it to the column as the previous repeat left it)."""
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    shuffles = np.random.RandomState(column_seed)
    index = np.arange(n_rows)
    positions = np.empty((n_repeats, n_rows), dtype=np.int64)
    current = np.arange(n_rows)
    for r in range(n_repeats):
        shuffles.shuffle(index)
        current = current[index]
        positions[r] = current
    return positions


def _permuted_drops(
    score: Callable[[pd.DataFrame], np.ndarray],
    features: pd.DataFrame,
    positions: np.ndarray,
    baseline: Mapping[str, float],
    group_score: Callable[[np.ndarray], dict[str, float]],
) -> dict[str, np.ndarray]:
    """Per scorer name, the drop from ``baseline`` of each (feature, repeat)."""
    n_rows, n_repeats = len(features), positions.shape[0]
    drops = {name: np.empty((features.shape[1], n_repeats)) for name in baseline}
    per_call = max(1, ROWS_PER_CALL // max(n_rows, 1))
    for k, column in enumerate(features.columns):
        values = features[column]
        for first in range(0, n_repeats, per_call):
            repeats = range(first, min(first + per_call, n_repeats))
            stacked = pd.concat([features] * len(repeats), ignore_index=True)
            stacked[column] = pd.concat(
                [values.iloc[positions[r]] for r in repeats], ignore_index=True
            )
            scores = np.asarray(score(stacked), dtype=float)
            for j, r in enumerate(repeats):
                aucs = group_score(scores[j * n_rows : (j + 1) * n_rows])
                for name, base in baseline.items():
                    drops[name][k, r] = base - aucs[name]
    return drops


def permutation_importances(
    score: Callable[[pd.DataFrame], np.ndarray],
    features: pd.DataFrame,
    labels: np.ndarray,
    groups: Mapping[str, pd.Series],
    *,
    reference_groups: Mapping[str, str],
    n_repeats: int = 10,
    seed: int = 0,
    confidence_level: float = 0.95,
    min_group_size: int = 30,
    columns: Sequence[str] | None = None,
) -> Importance:
    """Importances of ``columns`` (default: every column of ``features``) for ``score``, which
    must score each row from that row's values alone, as a model does (the repeats of a
    feature are scored together, stacked)."""
    labels = np.asarray(labels)
    masks: dict[str, np.ndarray] = {f"{OVERALL}{SEP}{ALL}": np.ones(len(labels), dtype=bool)}
    for dimension, values in groups.items():
        for group in sorted(set(values.astype(str))):
            masks[f"{dimension}{SEP}{group}"] = (values.astype(str) == group).to_numpy()
    assessed = {
        name: mask
        for name, mask in masks.items()
        if mask.sum() >= min_group_size and len(set(labels[mask])) == 2
    }

    def group_score(scores: np.ndarray) -> dict[str, float]:
        return group_aucs(scores, labels, assessed)

    baseline = group_score(np.asarray(score(features), dtype=float))
    positions = permuted_positions(len(features), n_repeats, seed)
    drops = _permuted_drops(score, features, positions, baseline, group_score)
    names = list(columns) if columns is not None else list(features.columns)
    index = [list(features.columns).index(c) for c in names]
    rows, diffs = [], []
    for name, mask in masks.items():
        dimension, group = name.split(SEP)
        for k, feature in zip(index, names, strict=True):
            if name in assessed:
                drops_k = drops[name][k]
                mean, low, high = _t_interval(drops_k, confidence_level)
                status, base = STATUS_OK, baseline[name]
            else:
                mean = low = high = base = np.nan
                status = STATUS_SMALL
            rows.append(
                (
                    dimension,
                    group,
                    int(mask.sum()),
                    feature,
                    METRIC,
                    base,
                    mean,
                    low,
                    high,
                    n_repeats,
                    status,
                )
            )
    for dimension, values in groups.items():
        reference = reference_groups.get(dimension) or values.astype(str).value_counts().idxmax()
        ref_name = f"{dimension}{SEP}{reference}"
        if ref_name not in assessed:
            continue
        for name in assessed:
            this, group = name.split(SEP)
            if this != dimension or group == reference:
                continue
            for k, feature in zip(index, names, strict=True):
                paired = drops[name][k] - drops[ref_name][k]
                mean, low, high = _t_interval(paired, confidence_level)
                diffs.append((dimension, group, reference, feature, mean, low, high, n_repeats))
    return Importance(
        pd.DataFrame(rows, columns=list(IMPORTANCE_COLUMNS)),
        pd.DataFrame(diffs, columns=list(DIFFERENCE_COLUMNS)),
    )
