"""`rai verify`: whether an evidence pack still matches its manifest, file by file, and whether
the manifest is the one that was published (its anchor)."""

from __future__ import annotations

from pathlib import Path

from rai_pipeline.app.anchor import resolve_anchor
from rai_pipeline.core.evidence.anchor import Anchor
from rai_pipeline.core.evidence.verify import VerifyReport, read_manifest, verify_pack


def run_verify(
    pack: Path,
    *,
    offline: bool = False,
    digest: str | None = None,
    tracking_uri: str | None = None,
) -> tuple[VerifyReport, Anchor, list[str]]:
    """The report, the anchor and their lines: one per modified, missing or unexpected file,
    the anchor, then a summary. The pack verifies when both hold."""
    report = verify_pack(pack)
    anchor = resolve_anchor(
        pack, read_manifest(pack), offline_only=offline, digest=digest, tracking_uri=tracking_uri
    )
    lines = [
        f"{label:10s} {path}"
        for label, paths in (
            ("modified", report.modified),
            ("missing", report.missing),
            ("unexpected", report.unexpected),
        )
        for path in paths
    ]
    lines.append(anchor.line())
    state = "intact" if report.intact else "NOT intact"
    anchored = {"anchored": ", anchored", "offline": ", not anchored (offline)"}.get(
        anchor.status, ", NOT anchored"
    )
    lines.append(f"{pack}: {report.checked} files checked, {state}{anchored}")
    return report, anchor, lines
