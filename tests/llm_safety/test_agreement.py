"""Agreement statistics against independent implementations: scikit-learn's Cohen's κ,
statsmodels' Fleiss' κ and the krippendorff package's α, on XSTest's two human annotations
and on random ratings with missing values."""

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from rai_pipeline.core.llm_safety.agreement import (
    Ratings,
    agreement_rows,
    agreement_with,
    cohen_kappa,
    disagreements,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from tests.llm_safety.xstest import MODELS, completions


def random_ratings(seed, items=300, raters=4, k=3, missing=0.0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, items)
    noisy = np.where(
        rng.random((items, raters)) < 0.7, truth[:, None], rng.integers(0, k, (items, raters))
    )
    labels = pd.DataFrame(noisy).map(lambda v: f"c{v}").astype(object)
    if missing:
        labels = labels.mask(rng.random(labels.shape) < missing)
    return labels


@pytest.mark.parametrize("model", MODELS)
def test_xstest_annotators_agree_as_the_oracles_say(model):
    data = completions(model)
    labels = data[["annotation_1", "annotation_2"]]
    ratings = Ratings.from_labels(labels)
    k = len(ratings.categories)
    assert cohen_kappa(ratings.codes[:, 0], ratings.codes[:, 1], k) == pytest.approx(
        cohen_kappa_score(labels["annotation_1"], labels["annotation_2"]), abs=1e-12
    )
    assert percent_agreement(ratings.counts()) == pytest.approx(
        (labels["annotation_1"] == labels["annotation_2"]).mean(), abs=1e-12
    )
    # the authors' own agreement flag
    flagged = data["agreement"].astype(str).str.lower() == "true"
    assert percent_agreement(ratings.counts()) == pytest.approx(flagged.mean(), abs=1e-12)
    table, _ = aggregate_raters(labels.to_numpy())
    assert fleiss_kappa(ratings.counts(), 2) == pytest.approx(sm_fleiss_kappa(table), abs=1e-12)
    codes = {c: i for i, c in enumerate(sorted(set(labels.to_numpy().ravel())))}
    reliability = labels.apply(lambda col: col.map(codes)).to_numpy(dtype=float).T
    assert krippendorff_alpha(ratings.counts()) == pytest.approx(
        krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal"), abs=1e-12
    )
    assert disagreements(ratings).sum() == (labels["annotation_1"] != labels["annotation_2"]).sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_more_raters_with_missing_ratings(seed):
    labels = random_ratings(seed, missing=0.25)
    ratings = Ratings.from_labels(labels)
    codes = {c: i for i, c in enumerate(ratings.categories)}
    reliability = (
        labels.apply(lambda col: col.map(lambda v: np.nan if pd.isna(v) else codes[v]))
        .to_numpy(dtype=float)
        .T
    )
    assert krippendorff_alpha(ratings.counts()) == pytest.approx(
        krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal"), abs=1e-12
    )
    complete = labels.dropna()
    table, _ = aggregate_raters(complete.to_numpy())
    assert fleiss_kappa(ratings.counts(), 4) == pytest.approx(sm_fleiss_kappa(table), abs=1e-12)
    pair = labels.iloc[:, :2].dropna()
    r2 = Ratings.from_labels(labels.iloc[:, :2])
    assert cohen_kappa(r2.codes[:, 0], r2.codes[:, 1], len(r2.categories)) == pytest.approx(
        cohen_kappa_score(pair.iloc[:, 0], pair.iloc[:, 1]), abs=1e-12
    )
    # percent agreement: mean share of agreeing pairs among items with two or more ratings
    shares = []
    for row in labels.itertuples(index=False):
        given = [v for v in row if pd.notna(v)]
        if len(given) >= 2:
            pairs = [(a, b) for i, a in enumerate(given) for b in given[i + 1 :]]
            shares.append(np.mean([a == b for a, b in pairs]))
    assert percent_agreement(ratings.counts()) == pytest.approx(np.mean(shares), abs=1e-12)


def test_bootstrap_intervals_cover_the_estimate_and_repeat_with_the_seed():
    ratings = Ratings.from_labels(random_ratings(3, raters=2, items=200))
    rows = agreement_rows(
        ratings, dimension="overall", group="all", n_resamples=400, seed=7, confidence_level=0.95
    )
    again = agreement_rows(
        ratings, dimension="overall", group="all", n_resamples=400, seed=7, confidence_level=0.95
    )
    assert rows == again
    assert [r["metric"] for r in rows] == [
        "percent_agreement",
        "cohen_kappa",
        "fleiss_kappa",
        "krippendorff_alpha",
    ]
    for row in rows:
        assert row["ci_lower"] < row["value"] < row["ci_upper"], row
    # a two-rater kappa's bootstrap spread is close to its large-sample standard error
    kappa = next(r for r in rows if r["metric"] == "cohen_kappa")
    assert 0.05 < kappa["ci_upper"] - kappa["ci_lower"] < 0.3


def test_every_rating_alike_is_undefined_not_perfect():
    labels = pd.DataFrame({"a": ["x"] * 20, "b": ["x"] * 20})
    rows = agreement_rows(
        Ratings.from_labels(labels),
        dimension="overall",
        group="all",
        n_resamples=100,
        seed=0,
        confidence_level=0.95,
    )
    by = {r["metric"]: r for r in rows}
    assert by["percent_agreement"]["value"] == 1.0
    for name in ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha"):
        assert np.isnan(by[name]["value"]) and by[name]["status"] == "undefined"


def test_rater_agreement_with_a_reference():
    labels = pd.DataFrame({"a": ["x", "y", "x", None], "b": ["x", "x", "x", "y"]})
    ratings = Ratings.from_labels(labels)
    reference = np.array([0, 1, 0, 1])  # x, y, x, y
    np.testing.assert_allclose(agreement_with(ratings, reference), [1.0, 0.75])
