"""`rai verify`: whether an evidence pack still matches its manifest, file by file."""

from __future__ import annotations

from pathlib import Path

from rai_pipeline.core.evidence.verify import VerifyReport, verify_pack


def run_verify(pack: Path) -> tuple[VerifyReport, list[str]]:
    """The report and its lines: one per modified, missing or unexpected file, then a
    summary."""
    report = verify_pack(pack)
    lines = [
        f"{label:10s} {path}"
        for label, paths in (
            ("modified", report.modified),
            ("missing", report.missing),
            ("unexpected", report.unexpected),
        )
        for path in paths
    ]
    state = "intact" if report.intact else "NOT intact"
    lines.append(f"{pack}: {report.checked} files checked, {state}")
    return report, lines
