"""The report's summary names the worst findings first, and at most two groups per finding,
the furthest from equality first, pointing to the risk register for the rest."""

import pandas as pd

from rai_pipeline.core.evidence.summary import worst_findings


def register_row(finding, verdict, value, detail, severity="medium"):
    dimension, metric = finding.split("/")
    return {"finding": finding, "dimension": dimension, "metric": metric, "verdict": verdict,
            "severity": severity, "value": value, "ci_lower": value - 0.05,
            "ci_upper": value + 0.05, "harm": "allocation", "affected_groups": "",
            "affected_detail": detail}  # fmt: skip


def test_fail_comes_first_then_the_furthest_outside_and_two_groups_are_named():
    register = pd.DataFrame(
        [
            register_row("a/demographic_parity_difference", "inconclusive", 0.09, "x: 1"),
            register_row("b/demographic_parity_difference", "fail", 0.15, "p: 1; q: 2; r: 3"),
            register_row("c/demographic_parity_difference", "fail", 0.40, "s: 1"),
        ]
    )
    fairness = pd.DataFrame(
        [{"dimension": d, "metric": "demographic_parity_difference", "group": "*",
          "threshold_lower": 0.0, "threshold_upper": 0.1} for d in "abc"]
    )  # fmt: skip
    worst = worst_findings(register, fairness)
    assert [w["finding"][0] for w in worst] == ["c", "b", "a"]
    assert worst[1]["sentence"].endswith(
        "Most affected: p: 1; q: 2; and 1 more in the risk register."
    )
    assert "the whole interval lies outside the band" in worst[0]["sentence"]
    assert "the data cannot tell" in worst[2]["sentence"]
