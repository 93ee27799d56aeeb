"""The gate and the reviewer's dispositions: overdue mitigations block, a disposition naming no
finding is an error, `rai gate --json`, `--update-registry`, and `rai dispositions template`.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from rai_pipeline.app.gate import run_gate
from rai_pipeline.cli import app
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, build_manifest, write_manifest
from rai_pipeline.core.governance.dispositions import DispositionsError
from rai_pipeline.core.governance.gate import EXIT_BLOCKED, EXIT_PASS, findings
from rai_pipeline.core.governance.registry import EVIDENCE_DIGEST_TAG, GATE_TAG
from rai_pipeline.core.storage import file_sha256
from tests.unit.test_verify_and_gate_app import TODAY, pack, write_dispositions

__all__ = ["pack"]  # the fixture


def mitigations(path, finding_ids, due):
    entries = [
        {"model": "m", "model_version": "3", "finding": f, "decision": "mitigate",
         "owner": "ml-team@example.com", "plan": "reweigh and retrain", "due": due}
        for f in finding_ids
    ]  # fmt: skip
    path.write_text(yaml.safe_dump({"schema_version": 1, "dispositions": entries}))
    return path


def test_a_mitigation_counts_up_to_its_due_date_and_then_blocks(pack, tmp_path):
    folder, fairness = pack
    digest = file_sha256(folder / MANIFEST_NAME)
    open_findings = [f for f, _ in findings(fairness)]
    on_time = mitigations(tmp_path / "a.yaml", open_findings, TODAY.isoformat())
    assert run_gate(folder, dispositions=on_time, today=TODAY, digest=digest).exit_code == 0
    late = mitigations(tmp_path / "b.yaml", open_findings, "2026-11-25")
    report = run_gate(folder, dispositions=late, today=TODAY, digest=digest)
    assert report.exit_code == EXIT_BLOCKED
    blocks = [line for line in report.lines if "BLOCKS" in line]
    assert len(blocks) == len(open_findings)
    assert all("mitigation overdue since 2026-11-25" in line for line in blocks)
    assert {f["status"] for f in report.payload["findings"]} == {"overdue"}


def test_a_disposition_that_names_no_finding_is_an_error(pack, tmp_path):
    folder, fairness = pack
    digest = file_sha256(folder / MANIFEST_NAME)
    open_findings = [f for f, _ in findings(fairness)]
    typo = write_dispositions(tmp_path / "t.yaml", [*open_findings, "group_a/demographic_parity"])
    with pytest.raises(DispositionsError) as raised:
        run_gate(folder, dispositions=typo, today=TODAY, digest=digest)
    message = str(raised.value)
    assert f"{typo}: dispositions.{len(open_findings)}.finding: " in message
    assert "'group_a/demographic_parity' is not a finding of m version 3" in message
    result = CliRunner().invoke(app, ["gate", str(folder), "--digest", digest,
                                      "--dispositions", str(typo)])  # fmt: skip
    assert result.exit_code == 2 and "is not a finding of m version 3" in result.output
    # the same typo for another version is that version's business, not this pack's
    other = typo.read_text().replace("'3'", "'4'")
    (tmp_path / "o.yaml").write_text(other)
    assert run_gate(folder, dispositions=tmp_path / "o.yaml", today=TODAY, digest=digest)


def test_gate_json_has_the_decision_and_the_same_exit_code(pack):
    folder, fairness = pack
    digest = file_sha256(folder / MANIFEST_NAME)
    result = CliRunner().invoke(app, ["gate", str(folder), "--digest", digest, "--json"])
    assert result.exit_code == EXIT_BLOCKED
    payload = json.loads(result.stdout)
    assert payload["gate"] == "fail" and payload["exit_code"] == EXIT_BLOCKED
    assert payload["blocking"] == [f for f, _ in findings(fairness)]
    assert all(f["reason"] == "no disposition" for f in payload["findings"])


def test_the_gate_says_when_the_registry_disagrees_and_updates_it_on_request(pack, tmp_path):
    from mlflow import MlflowClient

    folder, fairness = pack
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", source=(tmp_path / "model").as_uri())
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    lineage = manifest["lineage"] | {"mlflow_tracking_uri": uri}
    write_manifest(folder, build_manifest(folder, inputs=[], lineage=lineage))
    client.set_model_version_tag("m", "3", EVIDENCE_DIGEST_TAG, file_sha256(folder / MANIFEST_NAME))
    client.set_model_version_tag("m", "3", GATE_TAG, "fail")
    covered = write_dispositions(tmp_path / "d.yaml", [f for f, _ in findings(fairness)])
    report = run_gate(folder, dispositions=covered, today=TODAY)
    assert report.exit_code == EXIT_PASS
    assert "registry: models:/m/3 still says rai.gate=fail; this gate says pass" in report.lines[-1]
    assert client.get_model_version("m", "3").tags[GATE_TAG] == "fail"  # read-only by default
    updated = run_gate(folder, dispositions=covered, today=TODAY, update_registry=True)
    assert "now rai.gate=pass" in updated.lines[-1]
    assert client.get_model_version("m", "3").tags[GATE_TAG] == "pass"
    assert run_gate(folder, dispositions=covered, today=TODAY).payload["registry"] is None


def test_the_template_has_one_stub_per_finding_and_is_refused_until_filled(pack, tmp_path):
    folder, fairness = pack
    digest = file_sha256(folder / MANIFEST_NAME)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*"))
    result = CliRunner().invoke(app, ["dispositions", "template", str(folder)])
    assert result.exit_code == 0, result.output
    assert sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*")) == before
    stub = tmp_path / "stub.yaml"
    stub.write_text(result.stdout)
    data = yaml.safe_load(result.stdout)
    assert [d["finding"] for d in data["dispositions"]] == [f for f, _ in findings(fairness)]
    assert all(d["decision"] is None for d in data["dispositions"])
    refused = CliRunner().invoke(app, ["gate", str(folder), "--digest", digest,
                                       "--dispositions", str(stub)])  # fmt: skip
    assert refused.exit_code == 2 and "dispositions.0.decision" in refused.output
    for entry in data["dispositions"]:
        entry.update(decision="accept-with-approval", approver="lead@example.com",
                     justification="reviewed", expires="2027-01-31")  # fmt: skip
    stub.write_text(yaml.safe_dump(data))
    assert run_gate(folder, dispositions=stub, today=TODAY, digest=digest).exit_code == 0
