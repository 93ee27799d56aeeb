"""Where a pack's anchor is read: the registry the pipeline pack records, the digest the user
gives for an ``rai evaluate-file`` pack, or nowhere (``--offline``, said in the output).

Reading the registry creates nothing: a local store that does not exist is a missing anchor.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rai_pipeline.app.input_checks import first_line
from rai_pipeline.app.pack_sources import PackSourceError, has_registry_entry, pipeline_sources
from rai_pipeline.core.evidence.anchor import Anchor, compare_anchor, offline
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.governance.registry import EVIDENCE_DIGEST_TAG, ModelVersionRef
from rai_pipeline.core.storage import file_sha256

GIVEN = "--digest"

MSG_FILE_PACK = (
    "an rai evaluate-file or evaluate-llm pack has no registry entry: give --digest <the "
    "evidence digest "
    "printed when the pack was created>, or --offline to check the files only"
)
MSG_NO_STORE = "the registry {uri} does not exist here (give --tracking-uri, or --offline)"
MSG_NO_TAG = "{source} has no {tag} tag: no pack was published for this version"
MSG_UNREADABLE = "cannot read {source} ({reason}); give --tracking-uri, or --offline"


def registry_digest(
    uri: str, ref: ModelVersionRef, tag: str = EVIDENCE_DIGEST_TAG
) -> tuple[str | None, str]:
    """The version's digest tag ``tag`` in the registry at ``uri``, or None and why."""
    source = f"{ref.uri} in {uri}"
    from rai_pipeline.adapters.mlflow_store import MlflowStore, local_store_missing

    if local_store_missing(uri):
        return None, MSG_NO_STORE.format(uri=uri)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        tags = MlflowStore(tracking_uri=uri, artifact_root="").version_tags(ref)
    except Exception as error:  # any store failure is a missing anchor, said in one line
        return None, MSG_UNREADABLE.format(source=source, reason=first_line(error))
    digest = tags.get(tag)
    if not digest:
        return None, MSG_NO_TAG.format(source=source, tag=tag)
    return digest, ""


def resolve_anchor(
    pack: Path,
    manifest: dict[str, Any],
    *,
    offline_only: bool = False,
    digest: str | None = None,
    tracking_uri: str | None = None,
) -> Anchor:
    """Compare the pack's manifest digest with its anchor."""
    actual = file_sha256(pack / MANIFEST_NAME)
    if offline_only:
        return offline(actual)
    if digest is not None:
        return compare_anchor(actual, digest, GIVEN)
    if not has_registry_entry(manifest):
        return compare_anchor(actual, None, "", MSG_FILE_PACK)
    lineage = manifest["lineage"]
    ref = ModelVersionRef(str(lineage.get("model_name")), str(lineage.get("model_version")))
    uri = tracking_uri or lineage.get("mlflow_tracking_uri")
    if not uri:
        try:
            uri = pipeline_sources(pack, manifest).tracking_uri
        except PackSourceError as error:
            return compare_anchor(actual, None, ref.uri, str(error))
    # a monitoring pack or an incident bundle names the tag that anchors it
    tag = str(lineage.get("anchor_tag") or EVIDENCE_DIGEST_TAG)
    expected, reason = registry_digest(str(uri), ref, tag)
    return compare_anchor(actual, expected, f"{ref.uri} in {uri}", reason)
