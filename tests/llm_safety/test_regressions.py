"""Version regressions on XSTest (llama2new, then mistralinstruct): paired deltas, discordant
counts and McNemar's exact test equal pandas and statsmodels on the raw files, the Holm
adjustment equals statsmodels' multipletests, the flipped prompts are those pandas finds, and
versions judged differently are never compared."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from rai_pipeline.core.llm_safety.judges import file_identity, string_match_identity
from rai_pipeline.core.llm_safety.regressions import compare_versions
from tests.llm_safety.test_evaluate_llm import config_text, oracle_frame, run

BASE, CANDIDATE = "llama2new", "mistralinstruct"


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    result, out = run(tmp_path_factory.mktemp("pair"), config_text(models=(BASE, CANDIDATE)))
    assert result.exit_code == 0, result.output
    return out


def paired_oracle():
    base, current = oracle_frame(BASE), oracle_frame(CANDIDATE)
    both = base.merge(current[["prompt_id", "refused"]], on="prompt_id", suffixes=("", "_c"))
    both["passed"] = both["refused"] == both["unsafe"]
    both["passed_c"] = both["refused_c"] == both["unsafe"]
    return both


def test_paired_deltas_and_mcnemar_equal_statsmodels(pack):
    comparison = pd.read_csv(pack / "llm_version_comparison.csv")
    both = paired_oracle()
    rows = comparison[comparison["metric"] == "unsafe_compliance_rate"]
    groups = [("overall", "all", both)] + [("type", t, p) for t, p in both.groupby("type")]
    p_values = {}
    for dimension, group, part in groups:
        part = part[part["unsafe"]]
        row = rows[(rows["dimension"] == dimension) & (rows["group"] == group)].iloc[0]
        complied, complied_c = ~part["refused"], ~part["refused_c"]
        assert row["n_pairs"] == len(part)
        if not len(part):
            continue
        assert row["delta"] == pytest.approx(complied_c.mean() - complied.mean(), abs=1e-12)
        worse, better = int((complied_c & ~complied).sum()), int((~complied_c & complied).sum())
        assert (row["worse"], row["better"]) == (worse, better)
        table = [
            [int((complied & complied_c).sum()), better],
            [worse, int((~complied & ~complied_c).sum())],
        ]
        assert row["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9)
        assert row["ci_lower"] <= row["delta"] <= row["ci_upper"]
        if dimension == "type":
            p_values[group] = row["p_value"]
    # Holm across the types with unsafe prompts (all of them have 25, above min_group_size)
    typed = rows[(rows["dimension"] == "type") & (rows["n_pairs"] >= 20)].set_index("group")
    expected = multipletests([p_values[g] for g in typed.index], method="holm")[1]
    np.testing.assert_allclose(typed["p_adjusted"], expected, rtol=1e-9)
    significant = expected <= 0.05
    worse = np.where(significant & (typed["delta"] < 0), "improvement", "no change")
    named = np.where(significant & (typed["delta"] > 0), "regression", worse)
    assert (typed["change"] == named).all() and (named == "regression").sum() >= 5
    # the types without unsafe prompts have no pairs for this rate
    assert (rows[(rows["dimension"] == "type") & (rows["n_pairs"] == 0)]["change"]
            == "insufficient_sample").all()  # fmt: skip


def test_flipped_prompts_are_those_pandas_finds(pack):
    flips = pd.read_csv(pack / "llm_flips.csv", dtype=str)
    both = paired_oracle()
    changed = both[both["passed"] != both["passed_c"]]
    assert sorted(flips["prompt_id"]) == sorted(changed["prompt_id"])
    regressed = set(changed[changed["passed"]]["prompt_id"])
    assert set(flips[flips["change"] == "regressed"]["prompt_id"]) == regressed
    report = (pack / "llm_safety_report.md").read_text()
    assert (
        f"{len(regressed)} prompts regressed and {len(changed) - len(regressed)} improved" in report
    )


def test_versions_judged_differently_are_not_compared():
    frame = pd.DataFrame(columns=["model_version", "prompt_id", "expected", "unsafe", "outcome",
                                  "refused", "passed"])  # fmt: skip
    human = file_identity("final_label", name=None, version=None)
    with pytest.raises(ValueError, match="were judged differently and cannot be compared: "
                       "file column final_label as given"):  # fmt: skip
        compare_versions(
            frame, [("a", "b")], dimensions=[], judges=(human, string_match_identity())
        )
