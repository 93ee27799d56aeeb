"""The release and audit commands on the demo's packs, through the real CLI."""

import json
import shutil

from typer.testing import CliRunner

from rai_pipeline.cli import app
from rai_pipeline.core.governance.gate import findings
from rai_pipeline.core.storage import read_parquet

runner = CliRunner()


def write_dispositions(path, pack, *, expires):
    manifest = json.loads((pack / "manifest.json").read_text())
    fairness = read_parquet(pack / "fairness_metrics.parquet")
    lines = ["schema_version: 1", "dispositions:"]
    for finding, _ in findings(fairness):
        lines += [
            f"  - model: {manifest['lineage']['model_name']}",
            f"    model_version: '{manifest['lineage']['model_version']}'",
            f"    finding: {finding}",
            "    decision: accept-with-approval",
            "    approver: reviewer@example.com",
            "    justification: demonstration",
            f"    expires: {expires}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_gate_exit_codes_with_and_without_valid_dispositions(demo, tmp_path):
    _, outcomes, _ = demo
    pack = outcomes[0].pack
    blocked = runner.invoke(app, ["gate", str(pack)])
    assert blocked.exit_code == 1, blocked.output
    assert "gate FAIL" in blocked.output and "BLOCKS" in blocked.output
    valid = write_dispositions(tmp_path / "ok.yaml", pack, expires="2999-01-01")
    passed = runner.invoke(app, ["gate", str(pack), "--dispositions", str(valid)])
    assert passed.exit_code == 0, passed.output
    assert "gate PASS" in passed.output and "BLOCKS" not in passed.output
    expired = write_dispositions(tmp_path / "old.yaml", pack, expires="2000-01-01")
    lapsed = runner.invoke(app, ["gate", str(pack), "--dispositions", str(expired)])
    assert lapsed.exit_code == 1 and "approval expired" in lapsed.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("dispositions:\n  - {model: m}\n")
    error = runner.invoke(app, ["gate", str(pack), "--dispositions", str(broken)])
    assert error.exit_code == 2 and "broken.yaml" in error.output


def test_verify_passes_intact_packs_and_flags_one_changed_byte(demo, tmp_path):
    _, outcomes, _ = demo
    for outcome in outcomes:
        assert runner.invoke(app, ["verify", str(outcome.pack)]).exit_code == 0
        copy = shutil.copytree(outcome.pack, tmp_path / outcome.pack.name)
        csv = copy / "fairness_metrics.csv"
        data = bytearray(csv.read_bytes())
        data[-2] ^= 0x01
        csv.write_bytes(bytes(data))
        result = runner.invoke(app, ["verify", str(copy)])
        assert result.exit_code == 1
        assert "modified   fairness_metrics.csv" in result.output


def elsewhere(monkeypatch, tmp_path):
    """An unrelated working folder, with RAI_HOME pointing at nothing: the audit commands
    find the pack's stores from the pack."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("RAI_HOME", str(tmp_path / "no-such-home"))
    return folder


def test_trace_json_reaches_source_rows_from_an_unrelated_folder(demo, monkeypatch, tmp_path):
    _, outcomes, _ = demo
    folder = elsewhere(monkeypatch, tmp_path)
    result = runner.invoke(
        app,
        [
            "trace",
            str(outcomes[0].pack),
            "--dimension",
            "race",
            "--group",
            "Black",
            "--metric",
            "false_negative_rate",
            "--cell",
            "false_negative",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    chain = json.loads(result.output)
    assert chain["rows"] and all(r["label"] == 1 and r["decision"] == 0 for r in chain["rows"])
    assert all(r["example_id"] == "***" for r in chain["rows"])
    assert chain["dbt_models"][0]["unique_id"] == "model.rai.eval_frame_wide"
    assert chain["mlflow_run"]["status"] == "FINISHED"
    assert list(folder.iterdir()) == [] and not (tmp_path / "no-such-home").exists()


def test_reproduce_reports_identical_metrics_from_an_unrelated_folder(demo, monkeypatch, tmp_path):
    _, outcomes, _ = demo
    folder = elsewhere(monkeypatch, tmp_path)
    result = runner.invoke(app, ["reproduce", str(outcomes[-1].pack)])
    assert result.exit_code == 0, result.output
    assert "identical" in result.output
    assert list(folder.iterdir()) == [] and not (tmp_path / "no-such-home").exists()
