"""Lineage through the real Dagster UI: ``rai ui`` serves the demo's instance, its GraphQL API
walks from the evidence pack back to the landed extracts, and the asset's lineage page renders
that graph in headless Chromium. A screenshot is kept under test-artifacts/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rai_pipeline.settings import PROJECT_ROOT
from tests.e2e.browser import ARTIFACTS, browser_page
from tests.scale.postgres_server import free_port

EVIDENCE_PACK = ("evidence_pack",)
STARTUP_TIMEOUT_S = 120.0
STOP_GRACE_S = 5.0

ASSET_GRAPH_QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"
LOCATIONS_QUERY = """
{ workspaceOrError { __typename
    ... on Workspace { locationEntries { name loadStatus
        locationOrLoadError { __typename ... on PythonError { message } } } }
    ... on PythonError { message } } }
"""
MATERIALIZATIONS_QUERY = """
query ($path: [String!]!, $partitions: [String!]) {
  assetOrError(assetKey: {path: $path}) { __typename
    ... on Asset { assetMaterializations(partitions: $partitions, limit: 1) {
        partition runId
        metadataEntries { label __typename
          ... on TextMetadataEntry { text }
          ... on PathMetadataEntry { path }
          ... on UrlMetadataEntry { url }
          ... on JsonMetadataEntry { jsonString }
          ... on MarkdownMetadataEntry { mdStr }
          ... on IntMetadataEntry { intValue }
          ... on FloatMetadataEntry { floatValue } } } } } }
"""

Key = tuple[str, ...]


@dataclass(frozen=True)
class DagsterUI:
    url: str
    log: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.load(response)
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]


def _log_tail(log: Path, chars: int = 4000) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return text[-chars:]


def _location_problem(ui: DagsterUI) -> str | None:
    """None once the code location is loaded; otherwise why not (yet)."""
    workspace = ui.graphql(LOCATIONS_QUERY)["workspaceOrError"]
    if workspace["__typename"] != "Workspace":
        return workspace.get("message", workspace["__typename"])
    entries = workspace["locationEntries"]
    if not entries:
        return "no code location yet"
    for entry in entries:
        loaded = entry["locationOrLoadError"]
        if loaded and loaded["__typename"] == "PythonError":
            pytest.fail(f"code location {entry['name']} failed to load:\n{loaded['message']}")
        if entry["loadStatus"] != "LOADED" or loaded is None:
            return f"{entry['name']}: {entry['loadStatus']}"
    if not ui.graphql(ASSET_GRAPH_QUERY)["assetNodes"]:
        return "no asset nodes yet"
    return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(process: subprocess.Popen) -> None:
    """End ``dagster dev`` and everything it started (one process group)."""
    pgid = process.pid  # start_new_session: the leader's pid is the group id
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 10.0)):
        if _group_alive(pgid):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()  # reap the leader; init reaps the rest
            if not _group_alive(pgid):
                return
            time.sleep(0.1)
    process.wait(timeout=10)
    assert not _group_alive(pgid), f"processes of group {pgid} survived SIGKILL"


@pytest.fixture(scope="module")
def dagster_ui(demo, tmp_path_factory) -> Iterator[DagsterUI]:
    """``rai ui`` on a free port over the demo's RAI_HOME, as a user starts it."""
    home, _, _ = demo
    port = free_port()
    log = tmp_path_factory.mktemp("dagster_ui") / "rai-ui.log"
    env = dict(os.environ, RAI_HOME=str(home.root))
    rai = Path(sys.executable).with_name("rai")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(rai), "ui", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ui = DagsterUI(url=f"http://127.0.0.1:{port}", log=log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        problem: str | None = "not started"
        while True:
            if process.poll() is not None:
                pytest.fail(f"rai ui exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                problem = _location_problem(ui)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                problem = f"not serving yet ({error})"
            if problem is None:
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Dagster UI not ready after {STARTUP_TIMEOUT_S:.0f}s ({problem}):\n"
                    + _log_tail(log)
                )
            time.sleep(0.5)
        yield ui
    finally:
        _stop_group(process)


def _upstream(parents: dict[Key, set[Key]], start: Key) -> set[Key]:
    seen: set[Key] = set()
    queue = deque([start])
    while queue:
        for parent in parents.get(queue.popleft(), set()):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return seen


def _graph_from_ui(ui: DagsterUI) -> dict[Key, set[Key]]:
    nodes = ui.graphql(ASSET_GRAPH_QUERY)["assetNodes"]
    return {
        tuple(node["assetKey"]["path"]): {tuple(dep["path"]) for dep in node["dependencyKeys"]}
        for node in nodes
    }


def _graph_from_definitions() -> dict[Key, set[Key]]:
    from rai_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return {
        tuple(key.path): {tuple(parent.path) for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }


def _dbt_sources_of(model_name: str) -> set[Key]:
    """Dagster keys of the dbt sources a model reads, transitively, from the dbt manifest."""
    from rai_pipeline.defs.dbt.project import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    nodes = {**manifest["nodes"], **manifest["sources"]}
    (start,) = (
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] == model_name
    )
    keys: set[Key] = set()
    seen, queue = {start}, deque([start])
    while queue:
        node = nodes[queue.popleft()]
        if node["resource_type"] == "source":
            meta = node.get("config", {}).get("meta") or node.get("meta") or {}
            keys.add(tuple(meta["dagster"]["asset_key"]))
            continue
        for uid in node.get("depends_on", {}).get("nodes", []):
            if uid in nodes and uid not in seen:
                seen.add(uid)
                queue.append(uid)
    return keys


def test_graphql_lineage_reaches_the_landed_sources_from_the_evidence_pack(dagster_ui):
    from rai_pipeline.defs.evaluation.assets import EVAL_FRAME_WIDE_KEY as EVAL_FRAME_KEY

    served = _graph_from_ui(dagster_ui)
    defined = _graph_from_definitions()
    assert served == defined, "the UI serves a different asset graph from the Definitions"

    eval_frame: Key = tuple(EVAL_FRAME_KEY.path)
    walk = _upstream(served, EVIDENCE_PACK)
    assert walk == _upstream(defined, EVIDENCE_PACK)

    # The chain the evidence is computed along, edge by edge.
    assert ("fairness_metrics",) in served[EVIDENCE_PACK]
    assert ("slice_metrics",) in served[("fairness_metrics",)]
    assert eval_frame in served[("slice_metrics",)]
    assert ("predictions",) in _upstream(served, eval_frame)
    assert {("fairness_metrics",), ("slice_metrics",), eval_frame, ("predictions",)} <= walk

    # Every dbt source of eval_frame (per the dbt manifest) is reached, and the landed ones
    # are exactly the landing assets of the Definitions, at the root of the graph.
    sources = _dbt_sources_of(EVAL_FRAME_KEY.path[-1])
    landed = {key for key in sources if key[0] == "landing"}
    assert ("predictions",) in sources
    assert landed
    assert landed == {key for key in defined if key[0] == "landing"}
    assert sources <= walk
    assert {key for key in walk if key[0] == "landing"} == landed
    assert all(not served[key] for key in landed), "landed extracts should be roots"


def _entry_value(entry: dict) -> object:
    """The value of a GraphQL metadata entry, whatever its type."""
    return next((v for k, v in entry.items() if k not in ("label", "__typename")), None)


def test_evidence_pack_materializations_carry_metadata_in_the_ui(dagster_ui, demo):
    _, outcomes, _ = demo
    partitions = [outcome.partition_key for outcome in outcomes if outcome.success]
    assert partitions, "the demo published no evidence pack"
    for partition in partitions:
        asset = dagster_ui.graphql(
            MATERIALIZATIONS_QUERY, {"path": list(EVIDENCE_PACK), "partitions": [partition]}
        )["assetOrError"]
        assert asset["__typename"] == "Asset"
        latest = asset["assetMaterializations"]
        assert len(latest) == 1, f"no materialization of {partition} visible in the UI"
        (materialization,) = latest
        assert materialization["partition"] == partition
        assert materialization["runId"]
        entries = {entry["label"]: entry for entry in materialization["metadataEntries"]}
        assert entries, f"evidence_pack {partition} has no metadata"
        for key in ("dataset_version", "model_version", "mlflow_run_id", "evidence_digest"):
            assert _entry_value(entries[key]) not in (None, "", "None", "null", "{}"), key


def test_lineage_page_renders_the_upstream_graph_in_a_browser(dagster_ui):
    from rai_pipeline.defs.evaluation.assets import EVAL_FRAME_WIDE_KEY as EVAL_FRAME_KEY

    upstream = _upstream(_graph_from_ui(dagster_ui), EVIDENCE_PACK)
    expected_names = [
        "fairness_metrics",
        "slice_metrics",
        EVAL_FRAME_KEY.path[-1],
        "predictions",
        *sorted(key[-1] for key in upstream if key[0] == "landing"),
    ]
    assert dagster_ui.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
    url = (
        f"{dagster_ui.url}/assets/{'/'.join(EVIDENCE_PACK)}"
        f"?view=lineage&lineageScope=upstream&lineageDepth={len(upstream)}"
    )
    screenshot = ARTIFACTS / "asset_lineage.png"
    with browser_page(width=1600, height=1000) as (page, errors):
        page.goto(url)
        for name in expected_names:
            page.get_by_text(name, exact=True).first.wait_for(state="visible", timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(screenshot), full_page=True)
    assert errors == []
    assert screenshot.stat().st_size > 10_000
