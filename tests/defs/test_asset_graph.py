"""Snapshot of the asset graph: a structural change shows up as a reviewed diff.

Regenerate after an intended change with ``RAI_UPDATE_SNAPSHOTS=1 make test``.
"""

from __future__ import annotations

import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"


def render_graph(defs) -> str:
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitioned = " [partitioned]" if node.partitions_def is not None else ""
        lines.append(f"{key.to_user_string()}{partitioned}")
        for parent in sorted(p.to_user_string() for p in node.parent_keys):
            lines.append(f"  <- {parent}")
        for check in sorted(c.name for c in node.check_keys):
            lines.append(f"  check {check}")
    return "\n".join(lines) + "\n"


def test_asset_graph_matches_snapshot(dbt_manifest):
    from rai_pipeline.definitions import defs

    rendered = render_graph(defs)
    if os.environ.get("RAI_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: write it with RAI_UPDATE_SNAPSHOTS=1"
    assert rendered == SNAPSHOT.read_text()


def test_evidence_pack_lineage_reaches_every_landed_extract(dbt_manifest):
    from rai_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    evidence = next(k for k in graph.get_all_asset_keys() if k.path[-1] == "evidence_pack")
    upstream = graph.upstream_key_iterator(evidence)
    names = {key.to_user_string() for key in upstream}
    for extract in ("examples", "labels", "subject_attributes", "dataset_versions"):
        assert f"landing/{extract}" in names
    assert "predictions" in names
