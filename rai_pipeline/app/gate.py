"""`rai gate`: the release decision for one evidence pack, as an exit code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rai_pipeline.app.anchor import resolve_anchor
from rai_pipeline.core.evidence.verify import PackError, read_manifest, verify_pack
from rai_pipeline.core.governance.dispositions import load_dispositions
from rai_pipeline.core.governance.gate import EXIT_ERROR, decide_gate

MSG_TAMPERED = (
    "{pack}: the pack does not match its manifest (modified: {modified}; missing: {missing}; "
    "unexpected: {unexpected}); run `rai verify` for details"
)
MSG_NOT_ANCHORED = "{pack}: {line}"


@dataclass(frozen=True)
class GateReport:
    exit_code: int
    lines: list[str]


def run_gate(
    pack: Path,
    *,
    dispositions: Path | None,
    today: dt.date,
    offline: bool = False,
    digest: str | None = None,
    tracking_uri: str | None = None,
) -> GateReport:
    """Verify the pack and its anchor, apply the dispositions valid ``today``, and explain the
    decision. A pack that is not intact or not anchored is an error: no decision is made."""
    report = verify_pack(pack)
    if not report.intact:
        raise PackError(
            MSG_TAMPERED.format(
                pack=pack,
                modified=", ".join(report.modified) or "none",
                missing=", ".join(report.missing) or "none",
                unexpected=", ".join(report.unexpected) or "none",
            )
        )
    manifest = read_manifest(pack)
    anchor = resolve_anchor(
        pack, manifest, offline_only=offline, digest=digest, tracking_uri=tracking_uri
    )
    if not anchor.ok:
        raise PackError(MSG_NOT_ANCHORED.format(pack=pack, line=" ".join(anchor.line().split())))
    lineage = manifest["lineage"]
    fairness = pd.read_parquet(pack / "fairness_metrics.parquet")
    decision = decide_gate(
        fairness,
        load_dispositions(dispositions),
        model=str(lineage["model_name"]),
        model_version=str(lineage["model_version"]),
        today=today,
    )
    lines = [
        f"{lineage['model_uri']}: gate {decision.result.upper()} "
        f"(verdict before dispositions: {decision.verdict}; "
        f"{len(decision.resolutions)} findings, {len(decision.blocking)} blocking)"
    ]
    lines.append(f"  {anchor.line()}")
    for resolution in decision.resolutions:
        if resolution.resolved and resolution.disposition is not None:
            lines.append(f"  ok       {resolution.finding}: {resolution.disposition.describe()}")
        else:
            why = "approval expired" if resolution.status == "expired" else "no disposition"
            lines.append(f"  BLOCKS   {resolution.finding} ({resolution.verdict}; {why})")
    return GateReport(decision.exit_code, lines)


__all__ = ["EXIT_ERROR", "GateReport", "run_gate"]
