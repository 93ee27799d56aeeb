"""A SHAP summary of a model version's scores, when the optional ``shap`` package is installed
(``pip install 'rai-pipeline[shap]'``): the mean absolute SHAP value of each feature over a
sample of evaluation rows, from shap's model-agnostic permutation explainer with an
independent masker over a background sample (the same rows for every feature).

The explainer needs numbers: a text column is passed as the codes of its categories and turned
back into its values before the model sees it. For a model additive in its features the
values are exact (``w_j · (x_j − mean of the background's x_j)`` for a linear score); for others
they are one-permutation estimates, stated in the table (``method``).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

SHAP_COLUMNS = ("feature", "mean_abs_shap", "rows", "background_rows", "method")
METHOD = "shap permutation explainer, independent masker, one permutation per row"


def shap_available() -> bool:
    return importlib.util.find_spec("shap") is not None


def shap_summary(
    score: Callable[[pd.DataFrame], np.ndarray],
    features: pd.DataFrame,
    *,
    rows: int = 50,
    background: int = 25,
    seed: int = 0,
) -> pd.DataFrame | None:
    """Mean |SHAP| per feature (:data:`SHAP_COLUMNS`), or None when shap is not installed."""
    if not shap_available():
        return None
    with warnings.catch_warnings():  # shap's plotting module, imported with it, warns
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    columns = list(features.columns)
    categories = {
        c: pd.Categorical(features[c]).categories
        for c in columns
        if not pd.api.types.is_numeric_dtype(features[c])
    }
    numeric = features.copy()
    for column, values in categories.items():
        numeric[column] = pd.Categorical(features[column], categories=values).codes
    numeric = numeric.astype(np.float64)
    dtypes = features.dtypes.to_dict()

    def model(matrix: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(matrix, columns=columns)
        for column, values in categories.items():
            frame[column] = np.asarray(values, dtype=object)[frame[column].astype(int)]
        return np.asarray(score(frame.astype(dtypes)), dtype=np.float64)

    reference = numeric.sample(min(background, len(numeric)), random_state=seed).to_numpy()
    explained = numeric.sample(min(rows, len(numeric)), random_state=seed + 1).to_numpy()
    explainer = shap.explainers.Permutation(
        model,
        shap.maskers.Independent(reference, max_samples=len(reference)),
        feature_names=columns,
        seed=seed,
    )
    values = explainer(explained, max_evals=2 * len(columns) + 1, silent=True).values
    return pd.DataFrame(
        {
            "feature": columns,
            "mean_abs_shap": np.abs(values).mean(axis=0),
            "rows": len(explained),
            "background_rows": len(reference),
            "method": METHOD,
        }
    )
