"""`rai gate`: the release decision for one evidence pack, as an exit code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.app.anchor import resolve_anchor
from rai_pipeline.app.pack_sources import is_file_pack
from rai_pipeline.core.evidence.verify import PackError, read_manifest, verify_pack
from rai_pipeline.core.governance.dispositions import load_dispositions
from rai_pipeline.core.governance.gate import EXIT_ERROR, decide_gate
from rai_pipeline.core.governance.registry import GATE_TAG, ModelVersionRef

MSG_TAMPERED = (
    "{pack}: the pack does not match its manifest (modified: {modified}; missing: {missing}; "
    "unexpected: {unexpected}); run `rai verify` for details"
)
MSG_NOT_ANCHORED = "{pack}: {line}"


MSG_REGISTRY_STALE = (
    "registry: {uri} still says {tag}={held}; this gate says {result}: rerun with "
    "--update-registry to record it"
)
MSG_REGISTRY_UPDATED = "registry: {uri} said {tag}={held}; now {tag}={result}"


@dataclass(frozen=True)
class GateReport:
    exit_code: int
    lines: list[str]
    payload: dict[str, Any] = field(default_factory=dict)  # what --json prints


def _registry_gate(
    manifest: dict[str, Any], result: str, *, tracking_uri: str | None, update: bool
) -> str | None:
    """Compare the version's ``rai.gate`` tag with this gate's result; rewrite it with
    ``update``. None when they agree or the pack has no registry entry."""
    from rai_pipeline.adapters.mlflow_store import MlflowStore, local_store_missing

    lineage = manifest["lineage"]
    uri = tracking_uri or lineage.get("mlflow_tracking_uri")
    if is_file_pack(manifest) or not uri or local_store_missing(str(uri)):
        return None
    ref = ModelVersionRef(str(lineage["model_name"]), str(lineage["model_version"]))
    store = MlflowStore(tracking_uri=str(uri), artifact_root="")
    held = store.version_tags(ref).get(GATE_TAG)
    if held == result:
        return None
    if not update:
        return MSG_REGISTRY_STALE.format(uri=ref.uri, tag=GATE_TAG, held=held, result=result)
    store.set_version_tags(ref, {GATE_TAG: result})
    return MSG_REGISTRY_UPDATED.format(uri=ref.uri, tag=GATE_TAG, held=held, result=result)


def run_gate(
    pack: Path,
    *,
    dispositions: Path | None,
    today: dt.date,
    offline: bool = False,
    digest: str | None = None,
    tracking_uri: str | None = None,
    update_registry: bool = False,
) -> GateReport:
    """Verify the pack and its anchor, apply the dispositions valid ``today``, and explain the
    decision. A pack that is not intact or not anchored is an error: no decision is made.
    When the model version's ``rai.gate`` tag says otherwise, the report says so, and
    ``update_registry`` rewrites the tag (the only write a gate makes)."""
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
        source=dispositions or "the dispositions file",
    )
    lines = [
        f"{lineage['model_uri']}: gate {decision.result.upper()} "
        f"(verdict before dispositions: {decision.verdict}; "
        f"{len(decision.resolutions)} findings, {len(decision.blocking)} blocking)"
    ]
    lines.append(f"  {anchor.line()}")
    entries = []
    for resolution in decision.resolutions:
        covering, expired = resolution.disposition, resolution.expired
        if resolution.resolved and covering is not None:
            why = covering.describe()
            lines.append(f"  ok       {resolution.finding}: {why}")
        else:
            why = expired.lapse() if expired is not None else "no disposition"
            lines.append(f"  BLOCKS   {resolution.finding} ({resolution.verdict}; {why})")
        entries.append(
            {
                "finding": resolution.finding,
                "verdict": resolution.verdict,
                "status": resolution.status,
                "blocks": not resolution.resolved,
                "reason": why,
            }
        )
    registry = _registry_gate(
        manifest, decision.result, tracking_uri=tracking_uri, update=update_registry
    )
    if registry is not None:
        lines.append(f"  {registry}")
    payload = {
        "pack": str(pack),
        "model_uri": lineage["model_uri"],
        "gate": decision.result,
        "verdict": decision.verdict,
        "exit_code": decision.exit_code,
        "anchor": " ".join(anchor.line().split()),
        "findings": entries,
        "blocking": [e["finding"] for e in entries if e["blocks"]],
        "registry": registry,
    }
    return GateReport(decision.exit_code, lines, payload)


__all__ = ["EXIT_ERROR", "GateReport", "run_gate"]
