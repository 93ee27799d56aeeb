"""Every statement the documents make is true for the pack they are in, checked against the
pack's own tables and inputs, on `rai evaluate-file` packs from several configs: a score
column and a given prediction column, groups excluded by each minimum-size rule, with the
model's name and version given as flags, with and without ethical considerations.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app
from rai_pipeline.core.config.schema import load_config
from rai_pipeline.core.storage import file_sha256, read_parquet

GROUPS = {  # group: (rows, positives)
    "big": (600, 300),
    "mid": (400, 160),
    "tiny": (12, 6),  # min_group_size
    "fewpos": (200, 2),  # min_positives
    "fewneg": (200, 198),  # min_negatives
}
BASE = "sensitive_features: [g]\nmin_group_size: 30\nmin_positives: 5\nmin_negatives: 5\n"
SCORE = (
    "columns: {id: id, label: label, score: score}\n"
    + BASE
    + ("intended_use: Not for decisions about people.\n")
)
PREDICTION = (
    "columns: {id: id, label: label, prediction: pred}\n"
    + BASE
    + ("ethical_considerations: Loan offers are allocated to applicants by these decisions.\n")
)


def rows() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    parts = []
    for group, (n, positives) in GROUPS.items():
        label = np.zeros(n, dtype=int)
        label[rng.choice(n, positives, replace=False)] = 1
        score = np.clip(0.5 * label + rng.normal(0.25, 0.2, n), 0, 1).round(4)
        parts.append(pd.DataFrame({"label": label, "score": score, "g": group}))
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "id", np.arange(len(frame)))
    frame["pred"] = (frame["score"] >= 0.5).astype(int)
    return frame


@pytest.fixture(scope="module", params=["score", "prediction"])
def pack(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    rows().to_csv(folder / "data.csv", index=False)
    config = SCORE if request.param == "score" else PREDICTION
    (folder / "c.yaml").write_text(config, encoding="utf-8")
    out = folder / "out"
    result = CliRunner().invoke(
        app,
        ["evaluate-file", str(folder / "data.csv"), "--config", str(folder / "c.yaml"),
         "--out", str(out), "--model-name", "lender", "--model-version", "7"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    docs = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.md")}
    docs["fairness_report.html"] = (out / "fairness_report.html").read_text(encoding="utf-8")
    return {
        "kind": request.param,
        "out": out,
        "config": folder / "c.yaml",
        "metrics": read_parquet(out / "slice_metrics.parquet"),
        "fairness": read_parquet(out / "fairness_metrics.parquet"),
        "manifest": json.loads((out / "manifest.json").read_text()),
        "docs": docs,
    }


def expected_rules(group: str) -> str:
    n, positives = GROUPS[group]
    broken = [("min_group_size", n < 30), ("min_positives", positives < 5),
              ("min_negatives", n - positives < 5)]  # fmt: skip
    return ", ".join(rule for rule, hit in broken if hit)


def test_each_excluded_group_carries_the_rule_that_excluded_it(pack):
    counts = pack["metrics"][pack["metrics"]["metric"] == "count"].set_index("group")
    for group in GROUPS:
        assert counts.loc[group, "excluded_by"] == expected_rules(group), group
        assert (counts.loc[group, "status"] == "insufficient_sample") == bool(expected_rules(group))
    words = {"min_group_size": "fewer than 30 rows", "min_positives": "fewer than 5 positives",
             "min_negatives": "fewer than 5 negatives"}  # fmt: skip
    report = pack["docs"]["fairness_report.md"]
    section = report.split("## Small groups")[1].split("\n## ")[0]
    listed = re.findall(r"^- g = (\w+) \(n = (\d+)\): (.+)$", section, flags=re.M)
    assert sorted(g for g, _, _ in listed) == sorted(g for g in GROUPS if expected_rules(g))
    for group, n, reason in listed:
        assert int(n) == GROUPS[group][0]
        rules = expected_rules(group).split(", ")
        assert reason == "; ".join(f"{words[rule]} ({rule})" for rule in rules)
    card = pack["docs"]["model_card.md"]
    assert f"({len(listed)} such groups here)" in card


def test_an_auc_from_too_few_positives_or_negatives_is_low_information_not_an_interval(pack):
    auc = pack["metrics"][pack["metrics"]["metric"] == "roc_auc_score"].set_index("group")
    if pack["kind"] == "prediction":  # no scores: no AUC, and the manifest says why
        assert auc["value"].isna().all() and "roc_auc_score" in pack["manifest"]["skipped_metrics"]
        return
    for group in ("fewpos", "fewneg"):
        assert np.isnan(auc.loc[group, ["ci_lower", "ci_upper"]].astype(float)).all()
    assert auc.loc[["big", "mid"], "ci_lower"].notna().all()
    section = pack["docs"]["fairness_report.md"].split("## Groups by g")[1].split("\n\n")
    table = next(block for block in section if block.startswith("| Group |"))
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    column = header.index("roc_auc_score")
    cells = {
        line.strip("|").split("|")[0].strip(): line.strip("|").split("|")[column].strip()
        for line in table.splitlines()[2:]
    }
    assert cells["fewpos"] == "low information (2 positives, 198 negatives)"
    assert cells["fewneg"] == "low information (198 positives, 2 negatives)"
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\]", cells["big"])


def test_the_decision_rule_shown_is_the_one_used(pack):
    report, card = pack["docs"]["fairness_report.md"], pack["docs"]["model_card.md"]
    html = pack["docs"]["fairness_report.html"]
    if pack["kind"] == "score":
        assert "| Decision rule | `score >= 0.5` |" in report
        assert "decisions are `score >= 0.5`" in card
        assert "score &gt;= 0.5" in html
    else:
        assert "| Decision rule | given by column `pred` |" in report
        assert "decisions are given by column `pred`" in card
        for text in (report, card, html):
            assert "score >=" not in text and "score &gt;=" not in text


def test_the_model_shown_is_the_one_recorded(pack):
    lineage = pack["manifest"]["lineage"]
    assert (lineage["model_name"], lineage["model_version"]) == ("lender", "7")
    assert (
        "| Model | `lender` version `7` (scores from `file:data.csv`) |"
        in pack["docs"]["fairness_report.md"]
    )
    assert "<code>lender</code> version <code>7</code>" in pack["docs"]["fairness_report.html"]
    assert pack["docs"]["model_card.md"].startswith("# Model card: lender version 7\n")


def test_one_config_digest_defined_once_and_the_file_digest_never_called_one(pack):
    digest = load_config(pack["config"]).digest()
    manifest = pack["manifest"]
    assert manifest["lineage"]["config_sha256"] == digest
    (config_input,) = [i for i in manifest["inputs"] if i["kind"] == "config"]
    assert config_input["config_digest"] == digest
    assert config_input["sha256"] == file_sha256(pack["config"]) != digest
    report = pack["docs"]["fairness_report.md"]
    row = next(line for line in report.splitlines() if line.startswith("| config_sha256 |"))
    assert f"`{digest}`" in row and "canonical JSON" in row and "not the sha256 of" in row
    for text in pack["docs"].values():
        assert config_input["sha256"] not in text


def test_the_checklist_and_the_report_agree_on_pending_dispositions(pack):
    fairness = pack["fairness"]
    aggregate = fairness[fairness["group"] == "*"]
    pending = int((aggregate["verdict"] != "pass").sum())
    assert pending > 0  # the small groups alone make an excluded_groups finding
    checklist = pack["docs"]["launch_checklist.md"]
    row = next(line for line in checklist.splitlines() if "valid disposition" in line)
    assert "**open**" in row and f"{pending} pending" in row
    report = pack["docs"]["fairness_report.md"]
    assert f"; {pending} without a valid disposition." in report


def test_ethical_considerations_come_from_the_config_and_never_contradict_it(pack):
    card = pack["docs"]["model_card.md"]
    section = card.split("## Ethical considerations")[1]
    assert "allocate an outcome to people" not in card
    if pack["kind"] == "score":
        assert "Not stated in the evaluation config (`ethical_considerations`)" in section
        assert "Not for decisions about people." in card
    else:
        assert "Loan offers are allocated to applicants by these decisions." in section


def test_the_risk_register_has_one_entry_per_finding_with_its_groups_and_rules(pack):
    fairness, metrics = pack["fairness"], pack["metrics"]
    aggregate = fairness[fairness["group"] == "*"]
    findings = aggregate[aggregate["verdict"] != "pass"]
    register = pd.read_csv(pack["out"] / "risk_register.csv", keep_default_na=False)
    assert list(register["finding"]) == [f"{r.dimension}/{r.metric}" for r in findings.itertuples()]
    counts = metrics[metrics["metric"] == "count"]
    excluded = sorted(counts.loc[counts["status"] == "insufficient_sample", "group"])
    evaluated_on = pd.Timestamp(pack["manifest"]["lineage"]["evaluated_on"])
    for entry in register.itertuples():
        assert entry.due_date == str((evaluated_on + pd.Timedelta(days=30)).date())
        assert entry.status == "open" and entry.owner == "unassigned"
        assert entry.severity_rule == f"verdict {entry.verdict} at risk tier medium"
        groups = entry.affected_groups.split(";")
        if entry.metric == "excluded_groups":
            assert sorted(groups) == excluded
            assert all(g in entry.proposed_mitigation for g in excluded)
            continue
        assert set(groups) <= {"big", "mid"}  # only groups that were compared
        assert all(g in entry.proposed_mitigation for g in groups)
        rate = "selection rates" if "parity" in entry.metric else "true positive rates"
        assert rate in entry.proposed_mitigation


def test_dispositions_given_to_evaluate_file_are_the_ones_the_pack_claims(pack, tmp_path):
    import yaml

    stub = CliRunner().invoke(app, ["dispositions", "template", str(pack["out"])]).stdout
    data = yaml.safe_load(stub)
    first, *rest = data["dispositions"]
    first.update(
        decision="accept-with-approval",
        approver="lead@example.com",
        approved_on="2026-11-30",
        justification="reviewed",
        expires="2027-03-31",
    )
    for entry in rest:
        entry.update(decision="mitigate", owner="ml@example.com", plan="more data",
                     due="2027-02-01")  # fmt: skip
    decided = tmp_path / "dispositions.yaml"
    decided.write_text(yaml.safe_dump(data))
    out = tmp_path / "decided"
    folder = pack["config"].parent
    result = CliRunner().invoke(
        app,
        ["evaluate-file", str(folder / "data.csv"), "--config", str(pack["config"]),
         "--out", str(out), "--model-name", "lender", "--model-version", "7",
         "--dispositions", str(decided), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    checklist = (out / "launch_checklist.md").read_text(encoding="utf-8")
    row = next(line for line in checklist.splitlines() if "valid disposition" in line)
    assert "| done |" in row
    approvals = checklist.split("## Approvals")[1]
    assert (f"| `{first['finding']}` | " in approvals and "| accepted | accept-with-approval | "
            "lead@example.com | 2026-11-30 | 2027-03-31 |" in approvals)  # fmt: skip
    assert approvals.count("| mitigating | mitigate | ml@example.com | — | 2027-02-01 |") == len(
        rest
    )
    register = pd.read_csv(out / "risk_register.csv")
    assert list(register["status"]) == ["accepted"] + ["mitigating"] * len(rest)
    report = (out / "fairness_report.md").read_text()
    assert "; 0 without a valid disposition." in report
    recommendations = report.split("## Recommendations")[1].split("\n## ")[0]
    assert recommendations.strip() == (
        "No finding blocks the launch: each passes or has a valid disposition."
    )
    manifest = json.loads((out / "manifest.json").read_text())
    (recorded,) = [i for i in manifest["inputs"] if i["kind"] == "dispositions"]
    assert recorded["sha256"] == file_sha256(decided)


def test_the_datasheet_says_what_is_not_provided_and_the_checklist_counts_it(pack, tmp_path):
    datasheet = pack["docs"]["datasheet.md"].split("## About the data")[1].split("\n## ")[0]
    for key in ("description", "source", "licence", "collection", "sampling", "labelling",
                "consent", "pii"):  # fmt: skip
        assert f"(`{key}`) | not provided |" in datasheet
    checklist = json.loads((pack["out"] / "launch_checklist.json").read_text())
    item = next(i for i in checklist["items"] if i["item"].startswith("Datasheet"))
    assert not item["done"] and item["note"].startswith("not provided: description, source")


def test_the_model_card_links_every_table_and_document_of_the_pack(pack):
    card = pack["docs"]["model_card.md"]
    linked = set(re.findall(r"^- \[([^\]]+)\]\(\1\)$", card.split("## Evidence")[1], re.M))
    listed = {o["path"] for o in pack["manifest"]["outputs"]} | {"manifest.json"}
    top = {p for p in listed if "/" not in p}
    assert linked == top  # every file at the top of the pack, and only those
    assert "Out-of-scope uses: not stated in the evaluation config" in card
    details = card.split("## Model details")[1].split("\n## ")[0]
    assert "| Predictions file | `data.csv` (1,412 rows) |" in details


def test_the_report_leads_with_the_verdict_summary_and_recommendations(pack):
    report = pack["docs"]["fairness_report.md"]
    headings = re.findall(r"^## (.+)$", report, re.M)
    assert headings[:6] == [
        "Summary", "Recommendations", "About this evaluation", "Contents", "Findings",
        "What changing the threshold would cost",
    ]  # fmt: skip
    assert headings[-2:] == ["Appendix B: Data quality", "Appendix C: Lineage"]
    assert report.index("**Verdict: ") < report.index("## Summary")
    fairness = pack["fairness"]
    aggregate = fairness[fairness["group"] == "*"]
    pending = [f"{r.dimension}/{r.metric}" for r in aggregate.itertuples() if r.verdict != "pass"]
    section = report.split("## Recommendations")[1].split("\n## ")[0]
    assert section.strip().startswith(f"{len(pending)} findings block the launch")
    assert re.findall(r"^- `([^`]+)` \(severity", section, re.M) == pending
    register = pd.read_csv(pack["out"] / "risk_register.csv", keep_default_na=False)
    for entry in register.itertuples():
        cost = f" {entry.threshold_cost}" if entry.threshold_cost else ""
        assert f"{entry.proposed_mitigation}{cost} To close it: {entry.closing_evidence}" in section
    by_dimension = re.findall(r"^- \*\*(\S+)\*\*: (\d+) findings? \(", section, re.M)
    assert by_dimension == [("g", str(len(pending)))]
    summary = report.split("## Summary")[1].split("\n## ")[0]
    rows = int(pack["metrics"].query("dimension == 'overall' and metric == 'count'")["value"][0])
    assert f"({rows:,} rows)" in summary and "across 1 dimension: g." in summary
    worst = re.findall(r"^- `([^`]+)`: ", summary, re.M)
    assert len(worst) == min(3, len(pending)) and set(worst) <= set(pending)


def test_each_group_is_compared_with_the_named_reference_group(pack):
    fairness = pack["fairness"]
    per_group = fairness[(fairness["dimension"] == "g") & (fairness["group"] != "*")]
    (reference,) = set(per_group["reference_group"])
    section = pack["docs"]["fairness_report.md"].split("## Groups by g")[1]
    assert f"Reference group: {reference}." in section
    ratios = per_group[per_group["metric"] == "selection_rate_ratio"].set_index("group")
    for group, row in ratios.iterrows():
        line = next(li for li in section.splitlines() if li.startswith(f"| {group} |"))
        assert f" {row['value']:.3f} [{row['ci_lower']:.3f}, {row['ci_upper']:.3f}] " in line
        assert row["verdict"] in line
    assert next(li for li in section.splitlines() if li.startswith(f"| {reference} |")).endswith(
        "| reference | reference |"
    )


def test_what_changing_the_threshold_costs_is_what_the_whatif_table_says(pack):
    report = pack["docs"]["fairness_report.md"]
    section = report.split("## What changing the threshold would cost")[1].split("\n## ")[0]
    register = pd.read_csv(pack["out"] / "risk_register.csv", keep_default_na=False)
    recommendations = report.split("## Recommendations")[1].split("\n## ")[0]
    if pack["kind"] == "prediction":
        assert not (pack["out"] / "threshold_whatif.csv").exists()
        assert "Not assessed: the decisions are given by a column" in section
        assert (
            "per-group thresholds\n(not assessed: the decisions are given by a column"
            in recommendations
        )
        costs = register[register["metric"] != "excluded_groups"]["threshold_cost"]
        assert costs.str.contains("decisions are given").all()
        return
    whatif = pd.read_csv(pack["out"] / "threshold_whatif.csv")
    lines = [li for li in section.splitlines() if li.startswith("| g |")]
    assert len(lines) == len(whatif)
    words = {"demographic_parity": "equal selection rates",
             "true_positive_rate_parity": "equal true positive rates",
             "false_positive_rate_parity": "equal false positive rates",
             "equalized_odds": "equal true and false positive rates (equalized odds)"}  # fmt: skip
    for line, row in zip(lines, whatif.itertuples(), strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] == words[row.constraint]
        assert (
            cells[3] == f"{float(row.accuracy):.3f}" and cells[5] == f"{float(row.disparity):.3f}"
        )
        single = row.option == "single threshold"
        assert cells[4] == ("—" if single else f"{float(row.accuracy_change):+.3f}")
    # the single threshold is the decision in use: its accuracy is the overall accuracy
    overall = pack["metrics"].query("dimension == 'overall' and metric == 'accuracy_score'")
    single = whatif[whatif["option"] == "single threshold"]["accuracy"].astype(float)
    assert np.allclose(single, float(overall["value"].iloc[0]), atol=1e-12)
    exact = whatif[(whatif["option"] == "per-group thresholds") & (whatif["tolerance"] == 0)]
    assert (exact["disparity"].astype(float) < 1e-9).all()  # equality reached
    dp = exact[exact["constraint"] == "demographic_parity"].iloc[0]
    assert f"(accuracy now {single.iloc[0]:.3f}; below" in recommendations
    line = next(li for li in recommendations.splitlines() if li.startswith("- **g**"))
    cost = f"demographic parity {float(dp.accuracy):.3f} ({float(dp.accuracy_change):+.3f})"
    assert f"); {cost}" in line
    entry = register[register["metric"] == "demographic_parity_difference"]
    if len(entry):
        assert (
            f"equal selection rates: accuracy {float(dp.accuracy):.3f}"
            in entry["threshold_cost"].iloc[0]
        )
