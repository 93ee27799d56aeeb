"""What dbt and the data-quality checks did for one evaluation, read back for the evidence pack.

An evaluation's dbt work is its own Dagster run's, plus the run that built the shared
warehouse models it read when it did not build them itself
(:func:`evaluation_runs`, :mod:`~rai_pipeline.defs.dbt.freshness`).
:func:`write_dbt_lineage` copies, from the dbt invocations of those runs, each model's
executed SQL and a node listing into the pack's lineage folder; :func:`check_outcomes_of_run`
lists the asset-check results (dbt tests, expectation suite, schema) they recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from rai_pipeline.defs.dbt.freshness import read_build
from rai_pipeline.settings import RaiHome


def evaluation_runs(conn: Any, run_id: str) -> list[str]:
    """``run_id``, and the run that built the shared warehouse models in the warehouse ``conn``
    reads, when that was another run (the evaluation read them as that run built them)."""
    build = read_build(conn)
    shared = build["dagster_run_id"] if build else None
    return [run_id] if shared in (None, run_id) else [run_id, str(shared)]


def check_outcomes_of_run(
    instance: dg.DagsterInstance, run_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The asset-check results (dbt tests, expectation suite, schema) recorded in these runs."""
    records = [
        record
        for run_id in run_ids
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
    ]
    outcomes = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        outcomes.append(
            {
                "name": f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                "passed": bool(evaluation.passed),
                "description": str(evaluation.description or ""),
            }
        )
    return sorted(outcomes, key=lambda item: item["name"])


def write_dbt_lineage(folder: Path, *, home: RaiHome, dagster_run_ids: Sequence[str]) -> list[Path]:
    """Copy what dbt ran for this evaluation into the pack: each model's executed SQL
    (``dbt/<model>.sql``) and ``dbt_nodes.json`` (node id, checksum, relation, materialization,
    upstream nodes), from the dbt invocations of these Dagster runs (:func:`evaluation_runs`)."""
    nodes: dict[str, dict[str, Any]] = {}
    written: list[Path] = []
    targets = sorted(
        target
        for run_id in dagster_run_ids
        for target in (home.root / "dbt").glob(f"*-{run_id[:8]}")
    )
    for target in targets:
        manifest_path = target / "manifest.json"
        if not manifest_path.exists():
            continue
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for unique_id, node in manifest["nodes"].items():
            if node["resource_type"] != "model":
                continue
            executed = target / "run" / node["package_name"] / node["original_file_path"]
            record = {
                "unique_id": unique_id,
                "name": node["name"],
                "checksum": node["checksum"]["checksum"],
                "relation": node.get("relation_name"),
                "materialized": node["config"]["materialized"],
                "depends_on": sorted(node["depends_on"]["nodes"]),
                "original_file_path": node["original_file_path"],
                "executed_sql": None,
            }
            if executed.exists():
                destination = folder / "dbt" / f"{node['name']}.sql"
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(executed.read_bytes())
                record["executed_sql"] = destination.relative_to(folder.parent).as_posix()
                written.append(destination)
            if record["executed_sql"] or unique_id not in nodes:
                nodes[unique_id] = record
        for unique_id, source in manifest.get("sources", {}).items():
            nodes.setdefault(
                unique_id,
                {
                    "unique_id": unique_id,
                    "name": source["name"],
                    "relation": source.get("relation_name"),
                    "external_location": (source.get("config") or {}).get("external_location")
                    or (source.get("meta") or {}).get("external_location"),
                    "materialized": "source",
                    "depends_on": [],
                },
            )
    if nodes:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "dbt_nodes.json"
        path.write_text(json.dumps(dict(sorted(nodes.items())), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
