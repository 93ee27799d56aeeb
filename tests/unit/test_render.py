"""Documents are generated from the evaluation tables and make no banned claims."""

import dataclasses
import datetime as dt
import html
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from rai_pipeline.core.engine.slices import build_slices
from rai_pipeline.core.engine.statistics import compute_slice_stats
from rai_pipeline.core.evidence.pack import assemble_pack
from rai_pipeline.core.evidence.render import ReportContext
from rai_pipeline.core.explain.importance import Importance, permutation_importances
from rai_pipeline.core.explain.shap_summary import shap_summary
from rai_pipeline.core.governance.gate import aggregate_verdict
from rai_pipeline.core.metrics.fairness import fairness_metrics_from_slices
from rai_pipeline.core.metrics.slice_metrics import slice_metrics_from_stats
from rai_pipeline.demo.synthetic import make_synthetic_frame

BANNED = re.compile(r"\b(unbiased|debiased|bias-free|is fair|are fair|fair model)\b", re.I)


@pytest.fixture(scope="module")
def context() -> ReportContext:
    frame = make_synthetic_frame(5000, seed=11)
    conn = duckdb.connect()
    conn.register("frame_df", frame)
    conn.execute("create table frame as select * from frame_df")
    stats = compute_slice_stats(
        conn,
        relation="frame",
        slices=build_slices(["group_a", "group_b"]),
        label="label",
        score="score",
        decision="decision",
    )
    metrics = slice_metrics_from_stats(stats, min_group_size=100)
    fairness = fairness_metrics_from_slices(metrics, stats=stats)
    return ReportContext(
        model_name="m",
        model_version="1",
        model_uri="models:/m/1",
        dataset_version="d" * 64,
        evaluation_id="e" * 16,
        threshold=0.5,
        confidence_level=0.95,
        min_group_size=100,
        evaluated_on=dt.date(2026, 12, 1),
        slice_metrics=metrics,
        fairness_metrics=fairness,
        lineage={"git_commit": "abc", "mlflow_run_id": "r1"},
        quality_checks=[{"name": "eval_frame_matches_schema", "passed": True, "description": ""}],
    )


def importance_of_a_linear_score(*, with_shap: bool) -> Importance:
    rng = np.random.default_rng(2)
    features = pd.DataFrame({"x": rng.normal(size=600), "z": rng.normal(size=600)})
    labels = (features["x"] + rng.normal(size=600) > 0).astype(int).to_numpy()

    def score(frame):
        return 1 / (1 + np.exp(-frame["x"].to_numpy()))

    result = permutation_importances(score, features, labels, {}, reference_groups={}, seed=1)
    if not with_shap:
        return result
    return dataclasses.replace(result, shap=shap_summary(score, features, rows=20, background=10))


def test_the_model_card_states_the_shap_method_and_sizes_its_table_records(context, tmp_path):
    importance = importance_of_a_linear_score(with_shap=True)
    assemble_pack(tmp_path, dataclasses.replace(context, feature_importance=importance))
    card = (tmp_path / "model_card.md").read_text()
    shap = importance.shap
    assert (
        f"over {shap['rows'].iloc[0]} evaluation rows, against {shap['background_rows'].iloc[0]} "
        f"background rows ({shap['method'].iloc[0]}):"
    ) in card
    assert "SHAP: `shap_summary`" in card and "not computed" not in card


def test_the_model_card_says_when_no_shap_summary_was_computed(context, tmp_path):
    importance = importance_of_a_linear_score(with_shap=False)
    assemble_pack(tmp_path, dataclasses.replace(context, feature_importance=importance))
    card = (tmp_path / "model_card.md").read_text()
    assert "SHAP summary: not computed." in card
    assert "shap_summary" not in card and "Mean abs SHAP" not in card
    assert not (tmp_path / "shap_summary.parquet").exists()


def test_pack_documents_state_the_gate_and_every_finding(context, tmp_path):
    assemble_pack(tmp_path, context)
    report = (tmp_path / "fairness_report.md").read_text()
    verdict = aggregate_verdict(context.fairness_metrics)
    assert f"**Verdict: {verdict}**" in report
    aggregate = context.fairness_metrics[context.fairness_metrics["group"] == "*"]
    for row in aggregate[aggregate["verdict"] != "pass"].itertuples():
        assert f"| {row.dimension} | {row.metric} |" in report
    html = (tmp_path / "fairness_report.html").read_text()
    # per dimension (group_a, group_b, group_a&group_b): group rates and disparities vs the band
    assert html.count('aria-label="selection_rate by group"') == 3
    panel = 'class="chart disparity" role="img" aria-label="{}'
    assert html.count(panel.format("Differences (0 = equal)")) == 3
    assert html.count(panel.format("Ratios (log scale")) == 3
    assert "eval_frame_matches_schema" in html


@pytest.mark.parametrize(
    "document", ["fairness_report.md", "fairness_report.html", "model_card.md"]
)
def test_documents_make_no_banned_claims(context, tmp_path, document):
    assemble_pack(tmp_path, context)
    text = (tmp_path / document).read_text()
    assert not BANNED.search(text), BANNED.search(text)
    assert "do not capture" in text or "does not establish" in text


def test_every_file_of_a_pack_is_byte_identical_for_identical_inputs(context, tmp_path):
    first = assemble_pack(tmp_path / "a", context)
    second = assemble_pack(tmp_path / "b", context)
    names = sorted(p.relative_to(tmp_path / "a") for p in first)
    assert names == sorted(p.relative_to(tmp_path / "b") for p in second)
    assert {"launch_checklist.md", "fairness_report.html", "model_card.md"} <= {
        n.name for n in names
    }
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_the_checklist_states_the_evaluation_date_it_was_given(context, tmp_path):
    assemble_pack(tmp_path, context)
    assert "evaluated on 2026-12-01" in (tmp_path / "launch_checklist.md").read_text()


def test_the_methods_state_the_adjustment_the_table_records(context, tmp_path):
    assemble_pack(tmp_path, context)
    fm = context.fairness_metrics
    tested = fm[(fm["group"] == "*") & (fm["comparisons"] > 0)]
    family = int(tested["family_size"].max())
    pairs = int(tested["comparisons"].max())
    assert set(tested["adjustment"]) == {"holm"}
    assert set(tested["family_size"]) == {family} and family == len(tested)
    report = " ".join((tmp_path / "fairness_report.md").read_text().split())
    assert (
        f"The {family} aggregate verdicts are adjusted together with Holm's step-down "
        "procedure, which keeps the chance that any of them is wrong at or below 5.0%."
    ) in report
    assert f"up to {pairs} pairs here" in report
    assert "adjusted with the Benjamini–Hochberg procedure within each family" in report
    page = html.unescape((tmp_path / "fairness_report.html").read_text())
    assert f"The {family} aggregate verdicts are adjusted together with Holm's" in page
    small = context.slice_metrics
    small = small[(small["metric"] == "count") & (small["status"] == "insufficient_sample")]
    rule = f"at least {context.min_group_size} rows, {context.min_positives}"
    assert rule in report
    for row in small.itertuples():
        assert f"{row.dimension} = {row.group} (n = {int(row.value)})" in report
