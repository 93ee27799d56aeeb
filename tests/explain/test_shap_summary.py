"""The SHAP values against exact ones: a linear score (w_j times the feature's distance from the
background mean, a text column among the features), any score of two features (the Shapley
value enumerated over both orders), and, for any model, efficiency: a row's values add up to
its score minus the background's mean score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.explain.shap_summary import shap_summary, shapley_values


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


def test_a_score_of_two_features_gets_its_exact_shapley_values():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"u": rng.normal(size=40), "v": rng.normal(size=40)})

    def score(x: pd.DataFrame) -> np.ndarray:
        return (np.tanh(x["u"] * x["v"]) + x["u"] ** 2).to_numpy()

    explained, background = frame.iloc[:7], frame.iloc[7:]
    got = shapley_values(score, explained.reset_index(drop=True), background.reset_index(drop=True))

    def worth(row: pd.Series, members: set[str]) -> float:
        filled = background.copy()
        for column in members:
            filled[column] = row[column]
        return float(score(filled).mean())

    for k, (_, row) in enumerate(explained.iterrows()):
        empty, both = worth(row, set()), worth(row, {"u", "v"})
        only_u, only_v = worth(row, {"u"}), worth(row, {"v"})
        assert got[k, 0] == pytest.approx(((only_u - empty) + (both - only_v)) / 2, abs=1e-12)
        assert got[k, 1] == pytest.approx(((only_v - empty) + (both - only_u)) / 2, abs=1e-12)


def test_every_row_s_values_add_up_to_its_score_minus_the_background_mean():
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(300, 5)), columns=list("abcde"))
    frame["kind"] = rng.choice(["x", "y", "z"], 300)
    label = ((frame["a"] * frame["b"] > 0) ^ (frame["kind"] == "z")).astype(int)
    codes = {"x": 0, "y": 1, "z": 2}
    numeric = frame.assign(kind=frame["kind"].map(codes))
    model = GradientBoostingClassifier(random_state=0).fit(numeric, label)

    def score(x: pd.DataFrame) -> np.ndarray:
        return model.predict_proba(x.assign(kind=x["kind"].map(codes)))[:, 1]

    explained, background = frame.iloc[:20], frame.iloc[20:45]
    values = shapley_values(
        score, explained.reset_index(drop=True), background.reset_index(drop=True), seed=3
    )
    expected = score(explained) - score(background).mean()
    np.testing.assert_allclose(values.sum(axis=1), expected, rtol=0, atol=1e-12)
