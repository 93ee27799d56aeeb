"""A SHAP summary of a model version's scores: the mean absolute SHAP (Shapley) value of each
feature over a sample of evaluation rows, with an independent masker over a background sample
(the same rows for every feature).

The value of a set :math:`S` of features for an explained row :math:`x` is the mean score of the
background rows with the features of :math:`S` replaced by :math:`x`'s. Each explained row gets
one random order of the features, walked forward (features added one by one, each credited
with the change of the value) and reversed (antithetic), and the two passes are averaged: the
estimator of shap's permutation explainer with one permutation per row. Every value a row
needs, :math:`2(M + 1)` sets for :math:`M` features times the background rows, is scored in one
call of the model per batch of rows, so the model sees whole frames, in their own column
types (text columns stay text).

Each pass adds up to the row's score minus the background's mean score (efficiency), so the
values do too. For a model additive in its features they are exact
(``w_j · (x_j − mean of the background's x_j)`` for a linear score), as they are for any model
of two features; for others they are one-permutation estimates, stated in the table
(``method``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

SHAP_COLUMNS = ("feature", "mean_abs_shap", "rows", "background_rows", "method")
METHOD = (
    "permutation estimate, independent masker: one random feature order per row, "
    "forward and reversed"
)
MAX_SCORED_ROWS = 100_000  # rows handed to the model in one call


def shapley_values(
    score: Callable[[pd.DataFrame], np.ndarray],
    explained: pd.DataFrame,
    background: pd.DataFrame,
    *,
    seed: int = 0,
) -> np.ndarray:
    """SHAP values (rows of ``explained`` by its columns) from one random order per row,
    forward and reversed, over the ``background`` rows (module docstring)."""
    columns = list(explained.columns)
    m, b = len(columns), len(background)
    rng = np.random.default_rng(seed)
    orders = np.array([rng.permutation(m) for _ in range(len(explained))], dtype=np.int64)
    steps = np.arange(m + 1)
    values = np.zeros((len(explained), m), dtype=np.float64)
    per_row = 2 * (m + 1) * b
    batch = max(1, MAX_SCORED_ROWS // per_row)
    for start in range(0, len(explained), batch):
        rows = np.arange(start, min(start + batch, len(explained)))
        order = orders[rows]
        # rank[r, j]: the step at which feature j joins, forward; reversed it joins at m - rank
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, steps[None, :m], axis=1)
        forward = rank[:, None, :] < steps[None, :, None]  # [row, step, feature]
        backward = (m - 1 - rank)[:, None, :] < steps[None, :, None]
        sets = np.concatenate([forward, backward], axis=1)  # [row, 2(m + 1), feature]
        worth = _mean_scores(score, explained, background, rows, sets)  # [row, 2(m + 1)]
        gains_forward = np.diff(worth[:, : m + 1], axis=1)  # [row, step]: the joining feature's
        gains_backward = np.diff(worth[:, m + 1 :], axis=1)
        for k, row in enumerate(rows):
            values[row, order[k]] += gains_forward[k] / 2
            values[row, order[k][::-1]] += gains_backward[k] / 2
    return values


def _mean_scores(
    score: Callable[[pd.DataFrame], np.ndarray],
    explained: pd.DataFrame,
    background: pd.DataFrame,
    rows: np.ndarray,
    sets: np.ndarray,
) -> np.ndarray:
    """Per (row, set): the mean score of the background rows with the set's features taken
    from the explained row; one call of ``score``."""
    n_rows, n_sets, _ = sets.shape
    b = len(background)
    from_row = np.repeat(sets.reshape(n_rows * n_sets, -1), b, axis=0)  # [row·set·bg, feature]
    row_index = np.repeat(rows, n_sets * b)
    background_index = np.tile(np.arange(b), n_rows * n_sets)
    frame = pd.DataFrame(
        {
            column: np.where(
                from_row[:, j],
                explained[column].to_numpy()[row_index],
                background[column].to_numpy()[background_index],
            )
            for j, column in enumerate(explained.columns)
        }
    ).astype(explained.dtypes.to_dict())
    scores = np.asarray(score(frame), dtype=np.float64)
    return scores.reshape(n_rows, n_sets, b).mean(axis=2)


def shap_summary(
    score: Callable[[pd.DataFrame], np.ndarray],
    features: pd.DataFrame,
    *,
    rows: int = 50,
    background: int = 25,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean |SHAP| per feature (:data:`SHAP_COLUMNS`) over ``rows`` sampled rows, against
    ``background`` sampled rows (both drawn with ``seed``)."""
    reference = features.sample(min(background, len(features)), random_state=seed)
    explained = features.sample(min(rows, len(features)), random_state=seed + 1)
    values = shapley_values(
        score,
        explained.reset_index(drop=True),
        reference.reset_index(drop=True),
        seed=seed,
    )
    return pd.DataFrame(
        {
            "feature": list(features.columns),
            "mean_abs_shap": np.abs(values).mean(axis=0),
            "rows": len(explained),
            "background_rows": len(reference),
            "method": METHOD,
        }
    )
