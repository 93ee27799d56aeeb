"""The gate: findings pass, or carry a disposition valid today; expired approvals stop counting."""

import datetime as dt

import pandas as pd
import pytest

from rai_pipeline.core.governance.dispositions import (
    MSG_ACCEPT_FIELDS,
    MSG_FINDING_FORM,
    MSG_MITIGATE_FIELDS,
    DispositionsError,
    load_dispositions,
    parse_dispositions,
)
from rai_pipeline.core.governance.gate import (
    EXIT_BLOCKED,
    EXIT_PASS,
    aggregate_verdict,
    decide_gate,
)
from rai_pipeline.core.metrics.fairness import fairness_metrics_from_slices
from rai_pipeline.core.metrics.slice_metrics import slice_metrics_from_stats

TODAY = dt.date(2026, 11, 26)


def fairness(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["dimension", "metric", "group", "verdict"])


FM = fairness(
    ("sex", "demographic_parity_difference", "*", "fail"),
    ("sex", "equalized_odds_difference", "*", "pass"),
    ("race", "equal_opportunity_difference", "*", "inconclusive"),
    ("race", "selection_rate_ratio", "Black", "fail"),
)


def accept(finding: str, expires: str = "2027-01-01", version: str = "2") -> dict:
    return {
        "model": "m",
        "model_version": version,
        "finding": finding,
        "decision": "accept-with-approval",
        "approver": "reviewer@example.com",
        "justification": "reviewed",
        "expires": expires,
    }


def gate(entries: list[dict]):
    dispositions = parse_dispositions({"dispositions": entries}, source="d.yaml")
    return decide_gate(FM, dispositions, model="m", model_version="2", today=TODAY)


def test_without_dispositions_every_failed_or_inconclusive_aggregate_blocks():
    decision = gate([])
    assert decision.exit_code == EXIT_BLOCKED
    assert [r.finding for r in decision.blocking] == [
        "sex/demographic_parity_difference",
        "race/equal_opportunity_difference",
    ]
    assert decision.verdict == "fail"


def test_valid_dispositions_for_every_finding_pass_the_gate():
    mitigation = {
        "model": "m",
        "model_version": 2,
        "finding": "race/equal_opportunity_difference",
        "decision": "mitigate",
        "owner": "ml-team",
        "plan": "reweigh",
        "due": "2027-02-01",
    }
    decision = gate([accept("sex/demographic_parity_difference"), mitigation])
    assert decision.exit_code == EXIT_PASS
    assert [r.status for r in decision.resolutions] == ["accepted", "mitigating"]


def test_an_expired_approval_stops_counting():
    decision = gate(
        [
            accept("sex/demographic_parity_difference", expires="2026-11-26"),
            accept("race/equal_opportunity_difference"),
        ]
    )
    assert decision.exit_code == EXIT_BLOCKED
    assert [(r.finding, r.status) for r in decision.blocking] == [
        ("sex/demographic_parity_difference", "expired")
    ]


def test_a_disposition_for_another_version_does_not_count():
    decision = gate(
        [
            accept("sex/demographic_parity_difference", version="1"),
            accept("race/equal_opportunity_difference"),
        ]
    )
    assert [r.finding for r in decision.blocking] == ["sex/demographic_parity_difference"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**accept("sex/x"), "approver": None}, MSG_ACCEPT_FIELDS),
        ({**accept("sex/x"), "decision": "mitigate"}, MSG_MITIGATE_FIELDS),
        (accept("just-a-metric"), MSG_FINDING_FORM),
    ],
)
def test_incomplete_dispositions_are_rejected_with_the_rule(entry, message):
    with pytest.raises(DispositionsError) as error:
        parse_dispositions({"dispositions": [entry]}, source="d.yaml")
    assert "d.yaml" in str(error.value) and message in str(error.value)
    assert "dispositions.0" in str(error.value)


def test_dispositions_file_round_trip(tmp_path):
    path = tmp_path / "dispositions.yaml"
    path.write_text(
        "schema_version: 1\ndispositions:\n"
        "  - {model: m, model_version: '2', finding: sex/demographic_parity_difference,\n"
        "     decision: accept-with-approval, approver: a, justification: b, expires: 2027-01-01}\n"
    )
    [entry] = load_dispositions(path)
    assert entry.expires == dt.date(2027, 1, 1)
    with pytest.raises(DispositionsError, match="cannot read"):
        load_dispositions(tmp_path / "missing.yaml")


def test_aggregate_verdict():
    assert aggregate_verdict(FM) == "fail"
    assert aggregate_verdict(FM[FM["verdict"] != "fail"]) == "inconclusive"
    assert aggregate_verdict(FM[FM["verdict"] == "pass"]) == "pass"
    assert aggregate_verdict(FM.iloc[0:0]) == "inconclusive"


def two_small_groups() -> pd.DataFrame:
    """Two groups of 25 rows selecting 0 % and 96 % of them: both below min_group_size 30."""
    rows = [("overall", "all", 24, 0, 13, 13), ("g", "a", 0, 0, 13, 12), ("g", "b", 12, 12, 0, 1)]
    stats = pd.DataFrame(rows, columns=["dimension", "group", "tp", "fp", "tn", "fn"])
    stats["n"] = stats[["tp", "fp", "tn", "fn"]].sum(axis=1)
    stats["sum_sq_error"], stats["auc"] = 0.0, 0.5
    return stats


def test_a_dimension_whose_groups_were_all_excluded_blocks_the_gate():
    stats = two_small_groups()
    fm = fairness_metrics_from_slices(slice_metrics_from_stats(stats), stats=stats)
    row = fm[fm["metric"] == "excluded_groups"].iloc[0]
    assert (row["verdict"], row["value"], row["groups_excluded"]) == (
        "insufficient_sample",
        2,
        "a;b",
    )
    decision = decide_gate(fm, [], model="m", model_version="2", today=TODAY)
    assert decision.exit_code == EXIT_BLOCKED
    assert "g/excluded_groups" in [r.finding for r in decision.blocking]
    assert decision.verdict == "inconclusive"
    accepted = parse_dispositions(
        {"dispositions": [accept(r.finding) for r in decision.blocking]}, source="d.yaml"
    )
    assert decide_gate(fm, accepted, model="m", model_version="2", today=TODAY).exit_code == 0
