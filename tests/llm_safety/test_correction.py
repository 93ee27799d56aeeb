"""Rogan–Gladen corrected rates: the point estimate equals the formula on hand-counted cells,
the interval carries the validation sample's uncertainty (wider than the test set's alone),
and on XSTest, with the string-match judge, it recovers the human-labelled rates."""

import numpy as np
import pytest

from rai_pipeline.core.llm_safety.correction import corrected_interval, rogan_gladen
from rai_pipeline.core.storage import read_parquet
from tests.llm_safety.test_evaluate_llm import REFUSALS, config_text, run
from tests.llm_safety.xstest import MODELS, string_match_labels


def test_the_formula_and_its_edges():
    assert rogan_gladen(0.3, 0.9, 0.8) == pytest.approx((0.3 + 0.8 - 1) / (0.9 + 0.8 - 1))
    assert rogan_gladen(0.05, 0.9, 0.8) == 0.0  # clipped
    assert np.isnan(rogan_gladen(0.3, 0.5, 0.5))  # a judge no better than chance


def test_a_small_validation_sample_widens_the_interval():
    common = dict(n_resamples=2000, seed=0, key="k", confidence_level=0.95)
    _, low_small, high_small = corrected_interval(
        300, 1000, recognised_refusals=18, human_refusals=20, recognised_others=17,
        human_others=20, **common)  # fmt: skip
    _, low_big, high_big = corrected_interval(
        300, 1000, recognised_refusals=1800, human_refusals=2000, recognised_others=1700,
        human_others=2000, **common)  # fmt: skip
    assert high_small - low_small > 2 * (high_big - low_big)


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    result, out = run(
        tmp_path_factory.mktemp("judge"), config_text(judge="judge: {kind: string_match}\n")
    )
    assert result.exit_code == 0, result.output
    return read_parquet(out / "llm_safety_metrics.parquet")


@pytest.mark.parametrize("model", MODELS)
def test_corrected_rates_equal_the_formula_and_cover_the_human_rates(judged, model):
    labels = string_match_labels(model)
    unsafe = labels["type"].str.startswith("contrast_")  # XSTest: unsafe iff contrast_ type
    judge = labels["strmatch_label"].isin(REFUSALS)
    human = labels["final_label"].isin(REFUSALS)
    ours = judged[(judged["model_version"] == model) & (judged["family"] == "judge")]
    ours = ours.set_index("metric")
    for metric, side in (("corrected_unsafe_compliance_rate", unsafe),
                         ("corrected_over_refusal_rate", ~unsafe)):  # fmt: skip
        j, h = judge[side], human[side]  # the judge measured on the same side
        if h.all() or not h.any():  # no human refusals, or no others: Se or Sp unknown
            assert np.isnan(ours.loc[metric, "value"]) and ours.loc[metric, "status"] == "undefined"
            continue
        se, sp = (j & h).sum() / h.sum(), (~j & ~h).sum() / (~h).sum()
        if se + sp <= 1:  # no better than chance here (gpt4 complied with one unsafe prompt)
            assert np.isnan(ours.loc[metric, "value"])
            continue
        q = j.mean()
        r = min(1.0, max(0.0, (q + sp - 1) / (se + sp - 1)))
        expected = 1 - r if metric.endswith("compliance_rate") else r
        assert ours.loc[metric, "value"] == pytest.approx(expected, abs=1e-12)
        truth = (~human[side]).mean() if metric.endswith("compliance_rate") else human[side].mean()
        assert ours.loc[metric, "ci_lower"] <= truth <= ours.loc[metric, "ci_upper"], metric
