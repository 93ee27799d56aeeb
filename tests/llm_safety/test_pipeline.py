"""XSTest's five models as five registered LLM feature versions, through the pipeline: landed
by ``rai land-llm``, requested by the registry sensor, evaluated by the Dagster job (real
dbt build, asset checks, MLflow runs, published packs), and checked against
``rai evaluate-llm`` on the same files (the same numbers), against the data (the landed rows,
the data checks counted by hand) and against the registry (tags, anchors, gate)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pandas as pd
import pytest

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.app.demo_llm import xstest_config
from rai_pipeline.app.evaluate import PUBLISHED
from rai_pipeline.app.evaluate_llm import evaluate_llm
from rai_pipeline.app.evaluate_llm_versions import run_evaluate_llm_versions
from rai_pipeline.app.gate import run_gate
from rai_pipeline.app.land_llm import LandLlmError, land_llm
from rai_pipeline.core.evidence.verify import PackError, verify_pack
from rai_pipeline.core.governance.registry import (
    EVALUATED_TAG,
    EVIDENCE_DIGEST_TAG,
    FEATURE_LABEL_TAG,
    GATE_TAG,
)
from rai_pipeline.core.storage import file_sha256, read_parquet
from rai_pipeline.defs.llm_safety.sensors import registered_llm_feature_versions
from rai_pipeline.defs.resources import LlmConfigResource, MlflowResource
from rai_pipeline.settings import RaiHome, configure_environment
from tests.llm_safety.xstest import MODELS, completions, xstest

pytestmark = pytest.mark.slow

ENVIRONMENT = ("RAI_HOME", "DAGSTER_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "PATH")
KEY = ["model_version", "family", "dimension", "group", "metric"]
NUMBERS = ["n", "successes", "trials", "value", "ci_lower", "ci_upper"]


def _tick(home: RaiHome, config: Path, cursor: str | None):
    instance = dg.DagsterInstance.get()
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        resources={
            "mlflow": MlflowResource(home=str(home.root)),
            "llm_config": LlmConfigResource(path=str(config)),
        },
    )
    return registered_llm_feature_versions(context)


@pytest.fixture(scope="module")
def run(tmp_path_factory, dbt_manifest):
    with pytest.MonkeyPatch.context() as patch:
        for key in ENVIRONMENT:  # restored when the module's tests are done
            if key in os.environ:
                patch.setenv(key, os.environ[key])
            else:
                patch.delenv(key, raising=False)
        home = RaiHome(tmp_path_factory.mktemp("llm_pipeline"))
        configure_environment(home)
        config = home.root / "xstest.yaml"
        config.write_text(xstest_config(xstest()), encoding="utf-8")
        store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
        landed = land_llm(config, home=home, store=store)
        before = _tick(home, config, None)
        lines: list[str] = []
        outcomes = run_evaluate_llm_versions(config, None, home=home, echo=lines.append)
        after = _tick(home, config, None)
        cli = evaluate_llm(config, out=home.root / "cli")
        yield SimpleNamespace(
            home=home,
            config=config,
            store=store,
            landed=landed,
            before=before,
            after=after,
            outcomes=outcomes,
            lines=lines,
            cli=cli,
        )


def _pack(run, label: str) -> Path:
    return run.home.pack_dir("xstest", run.landed.versions[label].version)


def test_each_model_is_a_registered_feature_version_requested_by_the_sensor(run):
    refs = run.landed.versions
    assert list(refs) == list(MODELS)
    assert sorted(int(r.version) for r in refs.values()) == [1, 2, 3, 4, 5]
    for label, ref in refs.items():
        assert run.store.version_tags(ref)[FEATURE_LABEL_TAG] == label
    assert sorted(r.partition_key for r in run.before.run_requests) == sorted(
        ref.partition_key for ref in refs.values()
    )
    # evaluated versions carry the evaluation tag: the sensor requests none of them again
    assert run.after.run_requests == []


def test_landing_again_registers_nothing_and_a_changed_feature_is_refused(run, tmp_path):
    again = land_llm(run.config, home=run.home, store=run.store)
    assert again.registered == [] and not again.landed.created
    changed = tmp_path / "changed.yaml"
    text = run.config.read_text().replace(
        "{model_version: gpt4,", "{model_version: gpt4, system_prompt: 'Be brief.',"
    )
    changed.write_text(text)
    current = run.landed.landed.current_dir.resolve()
    with pytest.raises(LandLlmError, match="'gpt4' is registered as models:/xstest/1"):
        land_llm(changed, home=run.home, store=run.store)
    assert run.landed.landed.current_dir.resolve() == current  # nothing landed


def test_the_landed_rows_are_the_files_rows(run):
    with duckdb.connect(str(run.home.warehouse), read_only=True) as conn:
        for model in MODELS:
            rows = conn.execute(
                "select response_id, prompt_id, completion from llm_safety.stg_llm_responses "
                "where model_version = ? order by position",
                [model],
            ).df()
            given = completions(model)
            assert rows["response_id"].tolist() == given["id"].astype(str).tolist()
            assert rows["prompt_id"].tolist() == [i.removeprefix("v2-") for i in given["id"]]
            ratings = conn.execute(
                "select response_id, rater, verdict from llm_safety.stg_llm_ratings "
                "where model_version = ?",
                [model],
            ).df()
            wide = ratings.pivot(index="response_id", columns="rater", values="verdict")
            for column in ("annotation_1", "annotation_2", "final_label"):
                expected = given.set_index(given["id"].astype(str))[column]
                assert wide[column].reindex(expected.index).tolist() == expected.tolist()


def test_every_version_is_published_with_the_numbers_the_cli_computes(run):
    assert [o.status for o in run.outcomes] == [PUBLISHED] * 5
    cli = read_parquet(run.cli.out / "llm_safety_metrics.parquet")
    cli_comparison = read_parquet(run.cli.out / "llm_version_comparison.parquet")
    for index, label in enumerate(MODELS):
        pack = _pack(run, label)
        metrics = read_parquet(pack / "llm_safety_metrics.parquet")
        assert set(metrics["model_version"]) == {label}
        mine = cli[cli["model_version"] == label]
        joined = mine.merge(metrics, on=KEY, suffixes=("_cli", "_pipeline"), validate="1:1")
        assert len(joined) == len(mine) == len(metrics) > 100
        for column in NUMBERS:
            pd.testing.assert_series_equal(
                joined[f"{column}_cli"], joined[f"{column}_pipeline"], check_names=False
            )
        assert (joined["status_cli"] == joined["status_pipeline"]).all()
        comparison = read_parquet(pack / "llm_version_comparison.parquet")
        if index == 0:
            assert comparison.empty
            continue
        expected = cli_comparison[cli_comparison["model_version"] == label]
        assert set(comparison["base_version"]) == {MODELS[index - 1]}
        pd.testing.assert_frame_equal(
            comparison.reset_index(drop=True), expected.reset_index(drop=True)
        )


def test_packs_are_anchored_in_the_registry_and_logged_to_mlflow(run):
    for label, ref in run.landed.versions.items():
        pack = _pack(run, label)
        assert verify_pack(pack).intact
        tags = run.store.version_tags(ref)
        assert tags[EVIDENCE_DIGEST_TAG] == file_sha256(pack / "manifest.json")
        lineage = json.loads((pack / "manifest.json").read_text())["lineage"]
        assert lineage["feature_label"] == label and lineage["model_uri"] == ref.uri
        run_info = run.store.client().get_run(tags[EVALUATED_TAG])
        assert run_info.info.status == "FINISHED"
        assert run_info.data.tags["rai.llm.model_version"] == label
        artifacts = {
            a.path for a in run.store.client().list_artifacts(run_info.info.run_id, "evidence")
        }
        assert "evidence/llm_safety_report.html" in artifacts


def test_policy_checks_and_gate_follow_the_verdicts(run):
    for label, ref in run.landed.versions.items():
        pack = _pack(run, label)
        verdicts = read_parquet(pack / "llm_safety_verdicts.parquet").set_index("metric")
        outcome = next(o for o in run.outcomes if o.partition_key == ref.partition_key)
        # the Dagster check results the run reported: one failed check per bound not passed
        for check, metric in (
            ("max_over_refusal_rate", "over_refusal_rate"),
            ("max_unsafe_compliance_rate", "unsafe_compliance_rate"),
        ):
            failed = f"check {check} on llm_safety_pack" in outcome.error
            assert failed == (verdicts.loc[metric, "verdict"] != "pass"), (label, outcome.error)
        verdicts = verdicts.reset_index()
        report = run_gate(pack, dispositions=None, today=pd.Timestamp("2026-12-01").date())
        blocking = set(report.payload["blocking"])
        expected = {
            f"llm_safety/{m}"
            for m, v in zip(verdicts["metric"], verdicts["verdict"], strict=True)
            if v != "pass"
        }
        assert blocking == expected
        assert report.exit_code == (1 if expected else 0)
        assert run.store.version_tags(ref)[GATE_TAG] == report.payload["gate"]


def test_gate_refuses_a_pack_judged_by_another_judge(run):
    pack = _pack(run, "gpt4")
    with pytest.raises(PackError, match="not by string_match"):
        run_gate(
            pack, dispositions=None, today=pd.Timestamp("2026-12-01").date(), judge="string_match"
        )


def test_each_packs_report_states_its_verdicts_and_regressions_as_its_tables_have_them(run):
    severity = {"fail": 0, "insufficient_sample": 1, "inconclusive": 2, "pass": 3}
    for index, label in enumerate(MODELS):
        pack = _pack(run, label)
        report = (pack / "llm_safety_report.md").read_text()
        verdicts = read_parquet(pack / "llm_safety_verdicts.parquet")
        worst = min(verdicts["verdict"], key=severity.__getitem__)
        line = next(li for li in report.splitlines() if li.startswith(f"- **{label}: "))
        assert line.startswith(f"- **{label}: {worst}**")
        for axis in verdicts.itertuples():
            assert f"{axis.value:.3f} [{axis.ci_lower:.3f}, {axis.ci_upper:.3f}]" in line
        assert f"answered by 1 model version ({label})" in report
        if index == 0:
            continue
        comparison = read_parquet(pack / "llm_version_comparison.parquet")
        flagged = int((comparison["change"] == "regression").sum())
        noun = "regression" if flagged == 1 else "regressions"
        assert f"{label} against {MODELS[index - 1]}: {flagged} {noun} flagged" in report
