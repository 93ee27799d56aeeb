"""A forged pack fails `rai verify` and `rai gate`: the manifest is anchored by the evidence
digest the registry holds (pipeline packs) or the one printed at creation (`--digest`).

The forgeries are the ones an editor of the pack can make: every verdict set to ``pass`` with
the manifest's digests rewritten to match; a manifest field edited; a file named
``manifest.json`` slipped into a sub-folder; a manifest entry without its sha256."""

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, describe_outputs, write_manifest
from rai_pipeline.core.governance.registry import EVIDENCE_DIGEST_TAG
from rai_pipeline.core.storage import file_sha256, read_parquet

runner = CliRunner()


@pytest.fixture
def copy(demo, tmp_path):
    """A copy of the demo's first pack: it records the same registry, so it is anchored."""
    _, outcomes, _ = demo
    return shutil.copytree(outcomes[0].pack, tmp_path / "pack")


def rewrite_manifest(pack, edit=lambda manifest: None):
    """What a forger does after editing files: recompute every listed digest."""
    manifest = json.loads((pack / MANIFEST_NAME).read_text())
    manifest["outputs"] = describe_outputs(pack)
    edit(manifest)
    return write_manifest(pack, manifest)


def test_the_published_pack_is_intact_and_anchored_by_the_registry(demo):
    home, outcomes, _ = demo
    from mlflow import MlflowClient

    for outcome in outcomes:
        result = runner.invoke(app, ["verify", str(outcome.pack)])
        assert result.exit_code == 0, result.output
        assert "anchored" in result.output.splitlines()[-1]
        name, version = outcome.partition_key.split("@")
        tags = MlflowClient(home.tracking_uri).get_model_version(name, version).tags
        assert tags[EVIDENCE_DIGEST_TAG] == file_sha256(outcome.pack / MANIFEST_NAME)


def test_every_verdict_set_to_pass_with_digests_rewritten_fails_verify_and_gate(copy):
    for name in ("fairness_metrics.parquet", "fairness_metrics.csv"):
        path = copy / name
        table = read_parquet(path) if name.endswith("parquet") else pd.read_csv(path)
        table["verdict"] = "pass"
        table.to_parquet(path) if name.endswith("parquet") else table.to_csv(path, index=False)
    forged = rewrite_manifest(copy)
    checked_offline = runner.invoke(app, ["verify", str(copy), "--offline"])
    assert checked_offline.exit_code == 0  # the files do match the rewritten manifest
    assert "not checked (--offline)" in checked_offline.output
    result = runner.invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1
    assert f"this manifest is {forged[:16]}" in result.output and "NOT anchored" in result.output
    gate = runner.invoke(app, ["gate", str(copy)])
    assert gate.exit_code == 2 and "PASS" not in gate.output
    assert "DIFFERS" in gate.output
    assert runner.invoke(app, ["gate", str(copy), "--digest", forged]).exit_code == 0


def test_an_edited_manifest_field_is_not_intact_against_the_registry(copy):
    rewrite_manifest(copy, lambda m: m["lineage"].update(git_commit="0" * 40))
    result = runner.invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1 and "DIFFERS" in result.output


def test_a_nested_manifest_json_is_checked_like_any_other_file(copy):
    (copy / "lineage" / MANIFEST_NAME).write_text("{}\n")
    result = runner.invoke(app, ["verify", str(copy), "--offline"])
    assert result.exit_code == 1
    assert "unexpected lineage/manifest.json" in " ".join(result.output.split())


def test_a_manifest_entry_without_sha256_is_a_one_line_rule_not_a_traceback(copy):
    manifest = json.loads((copy / MANIFEST_NAME).read_text())
    del manifest["outputs"][2]["sha256"]
    (copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    for command in ("verify", "gate"):
        result = runner.invoke(app, [command, str(copy)])
        assert result.exit_code == 2, result.output
        assert "outputs.2.sha256: required key is missing" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_registry_that_is_not_there_is_a_missing_anchor_and_creates_nothing(copy, tmp_path):
    absent = tmp_path / "absent.db"
    result = runner.invoke(app, ["verify", str(copy), "--tracking-uri", f"sqlite:///{absent}"])
    assert result.exit_code == 1 and "MISSING" in result.output
    assert not absent.exists()
