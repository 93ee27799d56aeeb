"""`rai verify` flags any change to a pack; `rai gate` decides from the pack and dispositions."""

import datetime as dt

import duckdb
import pytest

from rai_pipeline.app.gate import run_gate
from rai_pipeline.core.engine.slices import build_slices
from rai_pipeline.core.engine.statistics import compute_slice_stats
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME, build_manifest, write_manifest
from rai_pipeline.core.evidence.pack import assemble_pack
from rai_pipeline.core.evidence.render import ReportContext
from rai_pipeline.core.evidence.verify import PackError, verify_pack
from rai_pipeline.core.governance.gate import EXIT_BLOCKED, EXIT_PASS, findings
from rai_pipeline.core.metrics.fairness import fairness_metrics_from_slices
from rai_pipeline.core.metrics.slice_metrics import slice_metrics_from_stats
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.demo.synthetic import make_synthetic_frame

TODAY = dt.date(2026, 11, 26)


@pytest.fixture
def pack(tmp_path):
    frame = make_synthetic_frame(4000, seed=5)
    conn = duckdb.connect()
    conn.register("f", frame)
    stats = compute_slice_stats(
        conn,
        relation="f",
        slices=build_slices(["group_a"]),
        label="label",
        score="score",
        decision="decision",
    )
    metrics = slice_metrics_from_stats(stats, min_group_size=50)
    fairness = fairness_metrics_from_slices(metrics, stats=stats)
    lineage = {"model_name": "m", "model_version": "3", "model_uri": "models:/m/3"}
    context = ReportContext(
        model_name="m",
        model_version="3",
        model_uri="models:/m/3",
        dataset_version="d",
        evaluation_id="e",
        threshold=0.5,
        confidence_level=0.95,
        min_group_size=50,
        evaluated_on=dt.date(2026, 12, 1),
        slice_metrics=metrics,
        fairness_metrics=fairness,
        lineage=lineage,
    )
    folder = tmp_path / "pack"
    assemble_pack(folder, context)
    write_manifest(folder, build_manifest(folder, inputs=[], lineage=lineage))
    return folder, fairness


def test_an_intact_pack_verifies(pack):
    folder, _ = pack
    report = verify_pack(folder)
    assert report.intact and report.checked == len(list(folder.iterdir())) - 1


@pytest.mark.parametrize("name", ["slice_metrics.parquet", "fairness_report.html", "model_card.md"])
def test_a_one_byte_change_in_any_file_is_flagged(pack, name):
    folder, _ = pack
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / name).write_bytes(bytes(data))
    report = verify_pack(folder)
    assert report.modified == [name] and not report.intact


def test_missing_and_unexpected_files_are_flagged(pack):
    folder, _ = pack
    (folder / "datasheet.md").unlink()
    (folder / "notes.txt").write_text("added later")
    report = verify_pack(folder)
    assert report.missing == ["datasheet.md"]
    assert report.unexpected == ["notes.txt"]


def write_dispositions(path, finding_ids, *, expires="2027-06-30"):
    lines = ["schema_version: 1", "dispositions:"]
    for finding in finding_ids:
        lines += [
            "  - model: m",
            "    model_version: '3'",
            f"    finding: {finding}",
            "    decision: accept-with-approval",
            "    approver: reviewer@example.com",
            "    justification: planted disparity in synthetic data",
            f"    expires: {expires}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_gate_blocks_without_dispositions_and_passes_with_valid_ones(pack, tmp_path):
    folder, fairness = pack
    digest = file_sha256(folder / MANIFEST_NAME)  # a pack without a registry: anchored by digest
    open_findings = [finding for finding, _ in findings(fairness)]
    assert open_findings, "the synthetic data plants disparities"
    blocked = run_gate(folder, dispositions=None, today=TODAY, digest=digest)
    assert blocked.exit_code == EXIT_BLOCKED
    assert sum("BLOCKS" in line for line in blocked.lines) == len(open_findings)
    assert blocked.lines[1].strip().startswith("anchor     ok: --digest holds")
    covered = write_dispositions(tmp_path / "d.yaml", open_findings)
    assert run_gate(folder, dispositions=covered, today=TODAY, digest=digest).exit_code == EXIT_PASS
    expired = write_dispositions(tmp_path / "e.yaml", open_findings, expires="2026-11-26")
    result = run_gate(folder, dispositions=expired, today=TODAY, digest=digest)
    assert result.exit_code == EXIT_BLOCKED
    assert "approval expired" in result.lines[2]


def test_gate_decides_only_on_an_anchored_pack_unless_offline(pack):
    folder, _ = pack
    with pytest.raises(PackError, match="anchor MISSING"):
        run_gate(folder, dispositions=None, today=TODAY)
    with pytest.raises(PackError, match="anchor DIFFERS: --digest holds 0000000000000000"):
        run_gate(folder, dispositions=None, today=TODAY, digest="0" * 64)
    offline = run_gate(folder, dispositions=None, today=TODAY, offline=True)
    assert offline.exit_code == EXIT_BLOCKED
    assert "not checked (--offline)" in offline.lines[1]


def test_gate_refuses_a_tampered_pack(pack):
    folder, _ = pack
    (folder / "fairness_metrics.csv").write_text("all,pass\n")
    with pytest.raises(PackError, match="does not match its manifest"):
        run_gate(folder, dispositions=None, today=TODAY)
