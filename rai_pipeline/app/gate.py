"""`rai gate`: the release decision for one evidence pack, as an exit code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rai_pipeline.app.anchor import resolve_anchor
from rai_pipeline.app.pack_sources import has_registry_entry
from rai_pipeline.core.evidence.verify import PackError, read_manifest, verify_pack
from rai_pipeline.core.governance.dispositions import load_dispositions
from rai_pipeline.core.governance.gate import EXIT_ERROR, GateDecision, decide_gate
from rai_pipeline.core.governance.registry import GATE_TAG, ModelVersionRef
from rai_pipeline.core.llm_safety.verdicts import gate_frame
from rai_pipeline.core.storage import read_parquet

MSG_TAMPERED = (
    "{pack}: the pack does not match its manifest (modified: {modified}; missing: {missing}; "
    "unexpected: {unexpected}); run `rai verify` for details"
)
MSG_NOT_ANCHORED = "{pack}: {line}"
LLM_VERDICTS = "llm_safety_verdicts.parquet"
LLM_METRICS = "llm_safety_metrics.parquet"
MSG_MIXED_JUDGES = (
    "{pack}: its metrics were judged by more than one judge ({judges}); a gate compares "
    "verdicts of one judge with the policy: refused"
)
MSG_OTHER_JUDGE = (
    "{pack}: judged by {actual}, not by {expected} (--judge): the policy's bounds were set "
    "for verdicts of {expected}; refused"
)
MSG_UNKNOWN_LLM_VERSION = "{pack}: no model version {version!r}; the pack holds {versions}"
MSG_WHICH_LLM_VERSION = (
    "{pack}: the pack holds several model versions ({versions}); give --llm-version"
)


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
    if not has_registry_entry(manifest) or not uri or local_store_missing(str(uri)):
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
    judge: str | None = None,
    llm_version: str | None = None,
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
    if (pack / LLM_VERDICTS).exists():
        return _llm_gate(
            pack,
            manifest,
            anchor.line(),
            dispositions=dispositions,
            today=today,
            judge=judge,
            version=llm_version,
            tracking_uri=tracking_uri,
            update_registry=update_registry,
        )
    fairness = read_parquet(pack / "fairness_metrics.parquet")
    decision = decide_gate(
        fairness,
        load_dispositions(dispositions),
        model=str(lineage["model_name"]),
        model_version=str(lineage["model_version"]),
        today=today,
        source=dispositions or "the dispositions file",
    )
    return _report(
        pack,
        manifest,
        anchor.line(),
        decision,
        tracking_uri=tracking_uri,
        update_registry=update_registry,
        subject=str(lineage["model_uri"]),
    )


def _report(
    pack: Path,
    manifest: dict[str, Any],
    anchor_line: str,
    decision: GateDecision,
    *,
    tracking_uri: str | None,
    update_registry: bool,
    subject: str,
    extra: dict[str, Any] | None = None,
) -> GateReport:
    """The gate's lines and JSON payload for one decision."""
    lines = [
        f"{subject}: gate {decision.result.upper()} "
        f"(verdict before dispositions: {decision.verdict}; "
        f"{len(decision.resolutions)} findings, {len(decision.blocking)} blocking)"
    ]
    lines.append(f"  {anchor_line}")
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
        "model_uri": subject,
        "gate": decision.result,
        "verdict": decision.verdict,
        "exit_code": decision.exit_code,
        "anchor": " ".join(anchor_line.split()),
        "findings": entries,
        "blocking": [e["finding"] for e in entries if e["blocks"]],
        "registry": registry,
        **(extra or {}),
    }
    return GateReport(decision.exit_code, lines, payload)


def pack_judge(pack: Path) -> tuple[str, str, str]:
    """The one judge whose verdicts an LLM pack's metrics are: (name, version, description);
    refuse a pack whose metrics name more than one."""
    metrics = read_parquet(
        pack / LLM_METRICS, columns=["judge_name", "judge_version", "judge_template_sha256"]
    )
    judges = sorted(set(metrics.itertuples(index=False, name=None)))
    described = [f"{n}@{v} (template {t[:12]})" for n, v, t in judges]
    if len(judges) != 1:
        raise PackError(MSG_MIXED_JUDGES.format(pack=pack, judges="; ".join(described) or "none"))
    ((name, version, _),) = judges
    return str(name), str(version), described[0]


def _llm_gate(
    pack: Path,
    manifest: dict[str, Any],
    anchor_line: str,
    *,
    dispositions: Path | None,
    today: dt.date,
    judge: str | None,
    version: str | None,
    tracking_uri: str | None,
    update_registry: bool,
) -> GateReport:
    """The gate of an LLM safety pack: each policy bound not passed (fail, inconclusive,
    insufficient sample) is a finding ``llm_safety/<metric>`` that blocks unless a
    disposition covers it. ``judge`` (``name`` or ``name@version``): refuse a pack judged by
    another. A pack of several versions (``rai evaluate-llm``) is gated on ``version``."""
    lineage = manifest["lineage"]
    judge_name, judge_version, actual = pack_judge(pack)
    if judge is not None:
        wanted_name, _, wanted_version = judge.partition("@")
        if judge_name != wanted_name or (wanted_version and judge_version != wanted_version):
            raise PackError(MSG_OTHER_JUDGE.format(pack=pack, actual=actual, expected=judge))
    verdicts = read_parquet(pack / LLM_VERDICTS)
    held = list(dict.fromkeys(verdicts["model_version"].astype(str)))
    label = version or str(lineage.get("feature_label") or "")
    if not label and len(held) == 1:
        label = held[0]
    if not label:
        raise PackError(MSG_WHICH_LLM_VERSION.format(pack=pack, versions=", ".join(held)))
    if label not in held:
        raise PackError(
            MSG_UNKNOWN_LLM_VERSION.format(pack=pack, version=label or None, versions=held)
        )
    registered = has_registry_entry(manifest)
    model_version = str(lineage["model_version"]) if registered else label
    decision = decide_gate(
        gate_frame(verdicts, label),
        load_dispositions(dispositions),
        model=str(lineage["model_name"]),
        model_version=model_version,
        today=today,
        source=dispositions or "the dispositions file",
    )
    subject = str(lineage["model_uri"]) if registered else f"{lineage['model_name']} {label}"
    return _report(
        pack,
        manifest,
        anchor_line,
        decision,
        tracking_uri=tracking_uri,
        update_registry=update_registry and registered,
        subject=subject,
        extra={"model_version": label, "judge": actual},
    )


__all__ = ["EXIT_ERROR", "GateReport", "run_gate"]
