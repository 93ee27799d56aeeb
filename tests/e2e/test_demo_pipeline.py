"""End to end: the demo materializes the whole graph for two versions in a temporary RAI_HOME.

Real components throughout: MLflow SQLite tracking store and registry, dbt-duckdb runs,
Dagster materializations in a Dagster instance, Great Expectations and pandera checks.
"""

from __future__ import annotations

import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score, roc_auc_score

from rai_pipeline.core.engine.binning import histogram_edges
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.governance.registry import parse_partition_key
from rai_pipeline.core.storage import file_sha256, read_parquet
from rai_pipeline.settings import RaiHome
from tests.core.threshold_oracle import oracle

PACK_FILES = {
    "slice_metrics.parquet",
    "slice_metrics.csv",
    "fairness_metrics.parquet",
    "fairness_metrics.csv",
    "fairness_report.md",
    "fairness_report.html",
    "model_card.md",
    "datasheet.md",
    "risk_register.csv",
    "risk_register.json",
    "launch_checklist.md",
    "launch_checklist.json",
    MANIFEST_NAME,
    "lineage",
    "threshold_curves.parquet",
    "threshold_curves.csv",
    "calibration_curves.parquet",
    "calibration_curves.csv",
    "calibration_errors.parquet",
    "calibration_errors.csv",
    "threshold_whatif.parquet",
    "threshold_whatif.csv",
    "threshold_whatif_groups.parquet",
    "threshold_whatif_groups.csv",
    "feature_importance.parquet",
    "feature_importance.csv",
    "feature_importance_differences.parquet",
    "feature_importance_differences.csv",
    "shap_summary.parquet",
    "shap_summary.csv",
}
COMPARISON_FILES = {"version_comparison.parquet", "version_comparison.csv"}


def expected_files(index: int) -> set[str]:
    """The second version also compares itself with the first."""
    return PACK_FILES | COMPARISON_FILES if index > 0 else PACK_FILES


def test_demo_publishes_two_complete_packs(demo):
    home, outcomes, lines = demo
    assert [o.success for o in outcomes] == [True, True], [o.error for o in outcomes]
    for index, outcome in enumerate(outcomes):
        assert {p.name for p in outcome.pack.iterdir()} == expected_files(index)
    assert any("Done" in line for line in lines)
    # the LLM safety evaluation says which set it used and publishes its pack
    assert any("XSTest from" in line for line in lines)  # ../shared is beside the project
    llm = home.evidence / "llm-safety" / "xstest"
    assert (llm / "llm_safety_report.html").is_file() and (llm / "manifest.json").is_file()
    assert not any(home.staging.glob("*")) if home.staging.exists() else True


def test_manifest_digests_match_the_files(demo):
    _, outcomes, _ = demo
    for index, outcome in enumerate(outcomes):
        manifest = json.loads((outcome.pack / MANIFEST_NAME).read_text())
        listed = {item["path"]: item["sha256"] for item in manifest["outputs"]}
        assert {path.split("/")[0] for path in listed} == expected_files(index) - {MANIFEST_NAME}
        assert "lineage/dbt/eval_frame.sql" in listed and "lineage/dbt_nodes.json" in listed
        for path, digest in listed.items():
            assert file_sha256(outcome.pack / path) == digest
        lineage = manifest["lineage"]
        for key in (
            "model_uri",
            "model_artifact_sha256",
            "dataset_version",
            "git_commit",
            "dbt_manifest_sha256",
            "dagster_run_id",
            "mlflow_run_id",
            "evaluation_id",
        ):
            assert lineage[key], key
        kinds = {item["kind"] for item in manifest["inputs"]}
        assert {"landed_extract", "model", "config", "expectation_suite"} <= kinds


def _frame(home: RaiHome, version: str) -> pd.DataFrame:
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        return conn.execute(
            "select * from marts.eval_frame_wide where model_version = ? order by example_id",
            [version],
        ).df()


def test_slice_metrics_equal_fairlearn_on_the_evaluated_rows(demo):
    home, outcomes, _ = demo
    for outcome in outcomes:
        version = outcome.partition_key.split("@")[1]
        frame = _frame(home, version)
        assert len(frame) == 16281
        metrics = read_parquet(outcome.pack / "slice_metrics.parquet")
        for feature in ("sex", "race", "age_band"):
            oracle = MetricFrame(
                metrics={
                    "selection_rate": selection_rate,
                    "true_positive_rate": true_positive_rate,
                    "false_positive_rate": false_positive_rate,
                    "accuracy_score": accuracy_score,
                },
                y_true=frame["label"],
                y_pred=frame["decision"],
                sensitive_features=frame[feature],
            ).by_group
            ours = metrics[metrics["dimension"] == feature].pivot(
                index="group", columns="metric", values="value"
            )
            for metric in oracle.columns:
                np.testing.assert_allclose(
                    ours.loc[oracle.index, metric], oracle[metric], rtol=0, atol=1e-9
                )
        overall = metrics[metrics["dimension"] == "overall"].set_index("metric")["value"]
        assert overall["roc_auc_score"] == pytest.approx(
            roc_auc_score(frame["label"], frame["score"]), abs=1e-9
        )


@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds"])
def test_per_group_threshold_costs_equal_threshold_optimizer_on_the_evaluated_rows(
    demo, constraint
):
    """ThresholdOptimizer on the demo's rows, each score put at the lower edge of its bin of
    the 1000-bin histogram, so that its thresholds select exactly what the edges select."""
    home, outcomes, _ = demo
    outcome = outcomes[-1]
    frame = _frame(home, outcome.partition_key.split("@")[1])
    edges = histogram_edges((0.0, 1.0), 1000)
    at_edge = edges[np.clip(np.searchsorted(edges, frame["score"], side="right") - 1, 0, 999)]
    groups = read_parquet(outcome.pack / "threshold_whatif_groups.parquet")
    options = read_parquet(outcome.pack / "threshold_whatif.parquet")
    for feature in ("sex", "age_band"):
        rows = pd.DataFrame({"g": frame[feature], "label": frame["label"], "score": at_edge})
        expected = oracle(rows, constraint)
        ours = groups[
            (groups["dimension"] == feature)
            & (groups["constraint"] == constraint)
            & (groups["tolerance"] == 0)
        ].set_index("group")
        assert sorted(ours.index) == sorted(expected)
        for group, rates in expected.items():
            for rate, value in rates.items():
                assert ours.loc[group, rate] == pytest.approx(value, abs=1e-9), (group, rate)
        single = options[
            (options["dimension"] == feature)
            & (options["constraint"] == constraint)
            & (options["option"] == "single threshold")
        ]
        assert single["accuracy"].iloc[0] == pytest.approx(
            accuracy_score(frame["label"], frame["decision"]), abs=1e-12
        )


def test_mlflow_runs_and_model_version_tags(demo):
    from mlflow import MlflowClient

    home, outcomes, _ = demo
    client = MlflowClient(tracking_uri=home.tracking_uri, registry_uri=home.tracking_uri)
    for outcome in outcomes:
        name, version = outcome.partition_key.split("@")
        manifest = json.loads((outcome.pack / MANIFEST_NAME).read_text())
        run = client.get_run(manifest["lineage"]["mlflow_run_id"])
        assert run.info.status == "FINISHED"
        tags = run.data.tags
        assert tags["rai.model_uri"] == f"models:/{name}/{version}"
        assert tags["rai.dataset_version"] == manifest["lineage"]["dataset_version"]
        assert tags["rai.git_commit"] and tags["rai.dbt_manifest_sha256"]
        assert tags["rai.dagster_run_id"] == manifest["lineage"]["dagster_run_id"]
        assert "overall/accuracy_score" in run.data.metrics
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evidence")}
        assert f"evidence/{MANIFEST_NAME}" in artifacts
        model_version = client.get_model_version(name, version)
        assert model_version.tags["rai.evaluation_run_id"] == run.info.run_id
        assert model_version.tags["rai.gate"] == "fail"  # the demo ships no dispositions
        assert model_version.tags["rai.verdict"] in {"fail", "inconclusive"}
        assert model_version.tags["rai.evidence_digest"] == file_sha256(
            outcome.pack / MANIFEST_NAME
        )


def test_checks_ran_and_passed_in_each_run(demo):
    _, outcomes, _ = demo
    for outcome in outcomes:
        report = (outcome.pack / "fairness_report.md").read_text()
        quality = report.split("## Appendix B: Data quality")[1].split("\n## ")[0]
        counted = re.search(r"(\d+) checks on the evaluation frame, 0 failed\.", quality)
        passed = quality.split("Each passed: ")[1]
        assert counted and passed.count("`") == 2 * int(counted.group(1))
        assert "eval_frame_passes_expectation_suite`" in passed
        assert "eval_frame_matches_schema`" in passed


def test_second_version_report_shows_what_changed_since_the_first(demo):
    _, outcomes, _ = demo
    first, second = (outcome.pack for outcome in outcomes)
    assert not (first / "version_comparison.csv").exists()
    assert "What changed since version" not in (first / "fairness_report.md").read_text()
    comparison = read_parquet(second / "version_comparison.parquet")
    report = (second / "fairness_report.md").read_text()
    assert "## Appendix A: What changed since version 1" in report
    regressions = int((comparison["change"] == "regression").sum())
    assert f"**{regressions} regressions.**" in report
    overall = comparison[comparison["dimension"] == "overall"].set_index("metric")
    metrics = read_parquet(second / "slice_metrics.parquet")
    current = metrics[metrics["dimension"] == "overall"].set_index("metric")["value"]
    for metric in ("selection_rate", "true_positive_rate", "accuracy_score"):
        assert overall.loc[metric, "current"] == pytest.approx(current[metric], abs=1e-12)


def test_the_report_states_each_groups_ece_beside_its_calibrated_reference(demo):
    _, outcomes, _ = demo
    for outcome in outcomes:
        errors = read_parquet(outcome.pack / "calibration_errors.parquet")
        report = (outcome.pack / "fairness_report.md").read_text()
        sex = errors[errors["dimension"] == "sex"]
        assert set(sex["status"]) == {"ok"}
        for row in sex.itertuples():
            assert (
                f"{row.group} ECE {row.expected_calibration_error:.3f} "
                f"[{row.ece_ci_lower:.3f}, {row.ece_ci_upper:.3f}], if calibrated "
                f"{row.ece_if_calibrated:.3f}, p = {row.calibration_p_value:.3f}"
            ) in report
        metrics = read_parquet(outcome.pack / "slice_metrics.parquet")
        small = metrics[(metrics["metric"] == "count") & (metrics["status"] != "ok")]
        small_keys = set(zip(small["dimension"], small["group"], strict=True))
        unassessed = errors[errors["status"] == "insufficient_sample"]
        assert set(zip(unassessed["dimension"], unassessed["group"], strict=True)) == small_keys
        assert unassessed["expected_calibration_error"].isna().all()


def test_governance_documents_are_consistent_with_the_tables(demo):
    _, outcomes, _ = demo
    for outcome in outcomes:
        fairness = read_parquet(outcome.pack / "fairness_metrics.parquet")
        register = pd.read_csv(outcome.pack / "risk_register.csv")
        aggregate = fairness[fairness["group"] == "*"]
        findings = aggregate[aggregate["verdict"] != "pass"]  # one register entry each
        assert list(register["finding"]) == [
            f"{row.dimension}/{row.metric}" for row in findings.itertuples()
        ]
        unassessed = findings[findings["metric"] == "excluded_groups"]
        assert set(register.loc[register["harm"] == "unassessed", "finding"]) == {
            f"{d}/excluded_groups" for d in unassessed["dimension"]
        }
        assert register["proposed_mitigation"].nunique() == len(register)  # each its own
        checklist = json.loads((outcome.pack / "launch_checklist.json").read_text())
        done = sum(item["done"] for item in checklist["items"])
        assert checklist["completeness_percent"] == round(100 * done / len(checklist["items"]), 1)
        assert "## Missingness by column and group" in (outcome.pack / "datasheet.md").read_text()


def test_the_two_versions_model_cards_name_their_own_estimator_and_parameters(demo):
    """The card's estimator and parameters are those of the registered model, loaded here
    with scikit-learn's own API; the two demo versions' cards differ in both."""
    import mlflow

    home, outcomes, _ = demo
    mlflow.set_tracking_uri(home.tracking_uri)
    mlflow.set_registry_uri(home.tracking_uri)
    cards = {}
    for outcome in outcomes:
        card = (outcome.pack / "model_card.md").read_text(encoding="utf-8")
        details = dict(
            re.findall(r"^\| (\w[\w ]*) \| (.+) \|$", card.split("## Model details")[1], re.M)
        )
        name, version = outcome.partition_key.split("@")
        raw = mlflow.pyfunc.load_model(f"models:/{name}/{version}").get_raw_model()
        final = raw.steps[-1][1]
        assert details["Estimator"] == f"{type(final).__name__} (sklearn)"
        for key, value in final.get_params(deep=False).items():
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                assert f"{key}={value!r}" in details["Parameters"]
        assert "adult_train.parquet (digest " in details["Training data"]
        assert details["Inputs"].startswith("age (double), workclass (string)")
        cards[version] = details
    assert cards["1"]["Estimator"] != cards["2"]["Estimator"]
    assert cards["1"]["Parameters"] != cards["2"]["Parameters"]


def test_the_second_version_reads_the_shared_models_the_first_built(demo):
    """The shared staging and intermediate models are built once for the landed data set:
    the second version's run does not build them again, and its pack carries their SQL and
    their tests' outcomes from the run that built them."""
    import dagster as dg

    home, outcomes, lines = demo
    first, second = outcomes[:2]
    instance = dg.DagsterInstance.from_config(str(home.dagster_home))
    materialized = {}
    for outcome in (first, second):
        records = instance.get_records_for_run(
            outcome.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        materialized[outcome.run_id] = {
            r.event_log_entry.dagster_event.asset_key.path[-1] for r in records
        }
    assert "stg_examples" in materialized[first.run_id]
    assert "stg_examples" not in materialized[second.run_id]
    assert "evidence_pack" in materialized[second.run_id]
    assert any("shared warehouse models current, not rebuilt" in line for line in lines)
    for outcome in (first, second):
        assert (outcome.pack / "lineage" / "dbt" / "stg_examples.sql").is_file()
        report = (outcome.pack / "fairness_report.md").read_text()
        quality = report.split("## Appendix B: Data quality")[1].split("\n## ")[0]
        assert "stg_examples" in quality  # the shared models' dbt tests, from the build run


def test_the_second_versions_dbt_build_starts_from_the_first_ones_parse(demo):
    """dbt parses the whole project only for the first version's per-version build; the
    second starts from the parse the first saved (defs/dbt/invocation.py), and its frame is
    its own version's."""
    home, outcomes, _ = demo
    first, second = outcomes[:2]
    logs = {
        outcome.run_id: (home.root / "dbt" / f"evaluation_frame_models-{outcome.run_id[:8]}")
        for outcome in (first, second)
    }
    full = {
        run_id: "Unable to do partial parsing" in (target / "dbt.log").read_text()
        for run_id, target in logs.items()
    }
    assert full == {first.run_id: True, second.run_id: False}
    assert (home.root / "dbt" / "partial-parse" / "evaluation_frame_models.msgpack").is_file()
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        versions = conn.execute(
            "select model_version, count(*) from marts.eval_frame group by 1 order by 1"
        ).fetchall()
    assert [v for v, _ in versions] == [
        parse_partition_key(outcome.partition_key).version for outcome in (first, second)
    ]
