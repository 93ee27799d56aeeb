"""The SHAP summary against the exact SHAP values of a linear score (w_j times the feature's
distance from the background mean), with a text column passed through its category codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.explain.shap_summary import shap_available, shap_summary

pytestmark = pytest.mark.skipif(not shap_available(), reason="the shap extra is not installed")


def test_mean_absolute_shap_of_a_linear_score_is_exact():
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "unused": rng.normal(size=n),
        }
    )
    effect = {"red": 0.3, "green": -0.2, "blue": 0.0}

    def score(x: pd.DataFrame) -> np.ndarray:
        return (2.0 * x["a"] - 0.5 * x["b"] + x["colour"].map(effect)).to_numpy()

    out = shap_summary(score, frame, rows=60, background=30, seed=4).set_index("feature")
    background = frame.sample(30, random_state=4)
    explained = frame.sample(60, random_state=5)
    colour = explained["colour"].map(effect) - background["colour"].map(effect).mean()
    exact = {
        "a": (2.0 * (explained["a"] - background["a"].mean())).abs().mean(),
        "b": (0.5 * (explained["b"] - background["b"].mean())).abs().mean(),
        "colour": colour.abs().mean(),
        "unused": 0.0,
    }
    for feature, value in exact.items():
        assert out.loc[feature, "mean_abs_shap"] == pytest.approx(value, abs=1e-9)
    assert (out["rows"] == 60).all() and (out["background_rows"] == 30).all()
