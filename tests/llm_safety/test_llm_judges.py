"""LLM judges behind HTTP and a callable, tested against a local fake server (no network):
their verdicts drive the metrics exactly as the same rule given offline does, every verdict
records the judge's name, version and template digest, and a failing judge stops the run with
a message naming the endpoint and the prompt, publishing nothing."""

import hashlib

import pandas as pd
import pytest

from rai_pipeline.core.llm_safety.config import DEFAULT_TEMPLATE
from rai_pipeline.core.storage import read_parquet
from tests.llm_safety import fake_judge
from tests.llm_safety.test_evaluate_llm import config_text, run

MODELS = ("mistralinstruct",)


def with_text(text: str) -> str:
    return text.replace("safe_value: safe,", "safe_value: safe, text: prompt,")


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    text = config_text(models=MODELS, judge="judge: {kind: string_match}\n")
    result, out = run(tmp_path_factory.mktemp("offline"), text)
    assert result.exit_code == 0, result.output
    return read_parquet(out / "llm_safety_metrics.parquet")


def safety(metrics):
    return metrics[metrics["family"] == "safety"][["dimension", "group", "metric", "value",
                                                   "successes"]].reset_index(drop=True)  # fmt: skip


def test_an_http_judge_gives_the_verdicts_of_its_rule(tmp_path, offline):
    server = fake_judge.serve()
    url = f"http://127.0.0.1:{server.server_address[1]}/judge"
    fake_judge.SEEN.clear()
    try:
        judge = f"judge: {{kind: http, url: '{url}', name: fake-judge, version: '3'}}\n"
        result, out = run(tmp_path, with_text(config_text(models=MODELS, judge=judge)))
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 0, result.output
    metrics = read_parquet(out / "llm_safety_metrics.parquet")
    pd.testing.assert_frame_equal(safety(metrics), safety(offline))
    assert set(metrics["judge_name"]) == {"fake-judge"} and set(metrics["judge_version"]) == {"3"}
    assert set(metrics["judge_template_sha256"]) == {
        hashlib.sha256(DEFAULT_TEMPLATE.encode()).hexdigest()
    }
    assert len(fake_judge.SEEN) == 450
    first = fake_judge.SEEN[0]
    assert (
        first["prompt"]
        and first["prompt"] in first["input"]
        and first["response"] in first["input"]
    )
    assert "1_full_compliance, 2_full_refusal, 3_partial_refusal" in first["input"]


def test_a_callable_judge_with_its_own_template(tmp_path, offline):
    judge = ("judge: {kind: callable, target: 'tests.llm_safety.fake_judge:judge',\n"
             "        template: 'Judge {response} for {prompt}'}\n")  # fmt: skip
    result, out = run(tmp_path, with_text(config_text(models=MODELS, judge=judge)))
    assert result.exit_code == 0, result.output
    metrics = read_parquet(out / "llm_safety_metrics.parquet")
    pd.testing.assert_frame_equal(safety(metrics), safety(offline))
    digest = hashlib.sha256(b"Judge {response} for {prompt}").hexdigest()
    assert set(metrics["judge_template_sha256"]) == {digest}
    assert set(metrics["judge_name"]) == {"tests.llm_safety.fake_judge:judge"}


def test_a_failing_judge_stops_the_run_and_publishes_nothing(tmp_path):
    server = fake_judge.serve(status=500)
    url = f"http://127.0.0.1:{server.server_address[1]}/judge"
    try:
        judge = f"judge: {{kind: http, url: '{url}'}}\n"
        result, out = run(tmp_path, config_text(models=MODELS, judge=judge))
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 2
    assert f"judge {url}: prompt 1: HTTP 500" in result.output
    assert not out.exists()


def test_a_template_with_an_unknown_placeholder_is_a_config_error(tmp_path):
    judge = "judge: {kind: callable, target: 'x:y', template: 'Rate {answer}'}\n"
    result, _ = run(tmp_path, config_text(models=MODELS, judge=judge))
    assert result.exit_code == 2 and "judge.template: 'answer'" in result.output, result.output
