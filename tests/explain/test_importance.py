"""Permutation importance overall and per group against scikit-learn's own
permutation_importance on the same rows and seed, and on a hand-built model whose score reads
one feature for one group and another for the other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from rai_pipeline.core.explain.importance import permutation_importances


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "noise": rng.normal(size=n)}
    )
    group = pd.Series(rng.choice(["f", "m"], n, p=[0.4, 0.6]))
    y = (X["a"] + 0.5 * X["b"] + rng.normal(size=n) > 0).astype(int).to_numpy()
    model = LogisticRegression().fit(X, y)
    return X, y, group, model


def test_overall_and_group_importances_equal_scikit_learns(fitted):
    X, y, group, model = fitted
    out = permutation_importances(
        lambda frame: model.predict_proba(frame)[:, 1],
        X,
        y,
        {"sex": group},
        reference_groups={},
        n_repeats=7,
        seed=3,
    ).importances.set_index(["dimension", "group", "feature"])
    overall = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=7, random_state=3)
    f = (group == "f").to_numpy()

    def auc_of_f(estimator, frame, labels):
        return roc_auc_score(labels[f], estimator.predict_proba(frame)[f, 1])

    of_f = permutation_importance(model, X, y, scoring=auc_of_f, n_repeats=7, random_state=3)
    for k, feature in enumerate(X.columns):
        row = out.loc[("overall", "all", feature)]
        assert row["importance"] == pytest.approx(overall.importances_mean[k])
        drops = overall.importances[k]
        half = 2.4469118511449692 * drops.std(ddof=1) / np.sqrt(7)  # t(0.975, 6)
        assert row["ci_lower"] == pytest.approx(drops.mean() - half)
        assert out.loc[("sex", "f", feature), "importance"] == pytest.approx(
            of_f.importances_mean[k]
        )
    assert out.loc[("sex", "f", "a"), "n"] == f.sum()
    assert out.loc[("overall", "all", "a"), "baseline"] == pytest.approx(
        roc_auc_score(y, model.predict_proba(X)[:, 1])
    )


def test_a_feature_read_for_one_group_only_matters_for_that_group():
    rng = np.random.default_rng(1)
    n = 4000
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "unused": 0.0})
    group = pd.Series(np.where(rng.random(n) < 0.5, "A", "B"))
    X["is_a"] = (group == "A").to_numpy()
    signal = np.where(X["is_a"], X["x1"], X["x2"])
    y = (signal + 0.3 * rng.normal(size=n) > 0).astype(int)

    def score(frame):  # a model scores each row from its own values
        return 1 / (1 + np.exp(-np.where(frame["is_a"], frame["x1"], frame["x2"])))

    result = permutation_importances(
        score, X, y, {"g": group}, reference_groups={"g": "A"}, n_repeats=5, seed=0
    )
    imp = result.importances.set_index(["dimension", "group", "feature"])["importance"]
    assert imp[("g", "A", "x1")] > 0.3 and abs(imp[("g", "B", "x1")]) < 0.02
    assert imp[("g", "B", "x2")] > 0.3 and abs(imp[("g", "A", "x2")]) < 0.02
    assert (imp.xs("unused", level="feature") == 0).all()  # never read: no drop at all
    diff = result.differences.set_index("feature")
    assert (diff["reference_group"] == "A").all() and set(diff["group"]) == {"B"}
    assert diff.loc["x1", "ci_upper"] < 0 < diff.loc["x2", "ci_lower"]
    expected = imp[("g", "B", "x2")] - imp[("g", "A", "x2")]
    assert diff.loc["x2", "difference"] == pytest.approx(expected)


def test_a_group_without_both_classes_is_not_assessed():
    X = pd.DataFrame({"x": np.arange(100.0)})
    y = np.r_[np.zeros(50), np.ones(50)].astype(int)
    group = pd.Series(["low"] * 50 + ["high"] * 50)
    out = permutation_importances(
        lambda frame: frame["x"].to_numpy() / 100, X, y, {"g": group}, reference_groups={}
    ).importances.set_index("group")
    assert out.loc["low", "status"] == "insufficient_sample"
    assert np.isnan(out.loc["low", "importance"])
    assert out.loc["all", "status"] == "ok" and out.loc["all", "importance"] > 0.3


class RowModel:
    """A model of numbers, text and categories, scored row by row (scikit-learn's API)."""

    def __init__(self):
        self.weights = {"low": -1.0, "mid": 0.0, "high": 1.5}

    def fit(self, X, y):
        return self

    def score_rows(self, frame):
        level = frame["level"].astype(str).map(self.weights).to_numpy(float)
        city = np.where(frame["city"].astype(str) == "north", 0.7, 0.0)
        return 1 / (1 + np.exp(-(frame["x"].to_numpy(float) + level + city)))


@pytest.mark.parametrize("rows_per_call", [1, 2 * 900, 5 * 900, 200_000])
def test_stacked_repeats_give_scikit_learns_drops_for_any_batch_and_column_type(
    rows_per_call, monkeypatch
):
    from rai_pipeline.core.explain import importance

    monkeypatch.setattr(importance, "ROWS_PER_CALL", rows_per_call)
    rng = np.random.default_rng(4)
    n = 900
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "level": pd.Categorical(rng.choice(["low", "mid", "high"], n)),
            "city": rng.choice(["north", "south"], n).astype(object),
        }
    )
    model = RowModel()
    y = (model.score_rows(X) + 0.3 * rng.normal(size=n) > 0.5).astype(int)
    calls = []

    def score(frame):
        calls.append(len(frame))
        return model.score_rows(frame)

    out = permutation_importances(
        score, X, y, {}, reference_groups={}, n_repeats=5, seed=11
    ).importances.set_index("feature")
    oracle = permutation_importance(
        model,
        X,
        y,
        scoring=lambda est, frame, labels: roc_auc_score(labels, est.score_rows(frame)),
        n_repeats=5,
        random_state=11,
    )
    for k, feature in enumerate(X.columns):
        assert out.loc[feature, "importance"] == pytest.approx(
            oracle.importances_mean[k], abs=1e-15
        )
    per_call = max(1, rows_per_call // n)
    assert max(calls) == n * min(per_call, 5)  # the repeats of a feature, stacked
    assert sum(calls) == n * (1 + 3 * 5)  # the baseline, then every repeat once
