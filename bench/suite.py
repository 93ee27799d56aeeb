"""What ``make bench`` measures at each size, in order, and how the whole processes are run:
the floors (bare query, bare sort, exact AUC), ``rai evaluate-file`` with its default config,
fairlearn and Aequitas as whole processes on the same file, the start-up of the command line,
and the data set in parts that fits no peer. Every result is stored as soon as it is measured
(``--results`` resumes a run)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml
from harness import (
    RAI,
    WorkerFailed,
    result_of,
    run_process,
    say,
    spawn,
    total_memory_bytes,
    wait_until_quiet,
)
from peers import AEQUITAS_WORKLOAD
from workloads import FAIRLEARN_METRICS, rai_config

from rai_pipeline.core.storage import read_parquet

STEP = re.compile(r"^\s*([0-9.]+)s\s+(.*)$")
STEPS = (  # progress line prefix -> the step it starts
    ("hashing", "opening the engine (the file is hashed on a second thread meanwhile)"),
    ("reading and checking", "input checks"),
    ("computing slice statistics", "slice statistics with the exact AUC"),
    ("metrics and disparities", "metrics, intervals, disparities"),
    ("writing", "tables and documents"),
    ("done", "done"),
)
PEER_TIMEOUT = 3600.0  # seconds


class Store:
    """Results by size and workload, written to ``path`` after every measurement."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        stored = json.loads(path.read_text()) if path and path.exists() else {}
        self.data: dict[str, dict[str, Any]] = stored

    def has(self, size: str, key: str) -> bool:
        return key in self.data.get(size, {}) and "failed" not in self.data[size][key]

    def put(self, size: str, key: str, value: dict[str, Any]) -> None:
        self.data.setdefault(size, {})[key] = value
        if self.path:
            self.path.write_text(json.dumps(self.data, indent=1))


def write_config(folder: Path) -> Path:
    path = folder / "rai.yaml"
    path.write_text(yaml.safe_dump(rai_config(), sort_keys=False))
    return path


def rai_steps(stderr: str) -> dict[str, float]:
    """Seconds per step of ``rai evaluate-file``, from its progress lines."""
    marks: list[tuple[str, float]] = []
    for line in stderr.splitlines():
        match = STEP.match(line)
        if not match:
            continue
        for prefix, step in STEPS:
            if prefix in match.group(2):
                marks.append((step, float(match.group(1))))
                break
    return {step: later - at for (step, at), (_, later) in itertools.pairwise(marks)}


def rai_values(out: Path) -> dict[str, float]:
    """rai's point estimates of the compared metrics, keyed like the peers' values."""

    table = read_parquet(out / "slice_metrics.parquet")
    table = table[table["metric"].isin(FAIRLEARN_METRICS)]
    return {f"{r.dimension}|{r.group}|{r.metric}": float(r.value) for r in table.itertuples()}


def run_rai(
    data: Path, config: Path, folder: Path, repeat: int, *extra: str, quiet_wait: float = 0
) -> dict[str, Any]:
    """``rai evaluate-file`` as a user runs it, ``repeat`` times: the median wall time, the
    largest peak, the steps and point estimates of the last run, and the largest spill."""
    home = folder / "rai-home"
    env = {**os.environ, "RAI_HOME": str(home)}
    runs = []
    for k in range(repeat):
        out = folder / f"rai-out-{k}"
        command = [str(RAI), "evaluate-file", str(data), "--config", str(config)]
        command += ["--out", str(out), *extra]
        if quiet_wait:
            wait_until_quiet(quiet_wait)
        finished = run_process(command, env=env, watch=home / "spill")
        if finished["returncode"] != 0:
            tail = (finished["stderr"].strip().splitlines() or [""])[-1][:200]
            raise WorkerFailed(
                f"rai evaluate-file ended with exit code {finished['returncode']}: {tail}"
            )
        runs.append(finished)
        values = rai_values(out)
        shutil.rmtree(out)
    shutil.rmtree(home, ignore_errors=True)
    last = runs[-1]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "times": [r["seconds"] for r in runs],
        "peak_mb": max(r["peak_mb"] for r in runs),
        "others_cpu": max(r["others_cpu"] for r in runs),
        "spill_bytes": max(r["spill_bytes"] for r in runs),
        "steps": rai_steps(last["stderr"]),
        "values": values,
        "measured_at": last["measured_at"],
    }


def run_peer(
    command: list[str], what: str, *, cap: bool = False, quiet_wait: float = 0
) -> dict[str, Any]:
    """One whole run of a peer; with ``cap`` its address space is capped at the machine's
    memory, so a peer that does not fit fails with its own error."""
    if quiet_wait:
        wait_until_quiet(quiet_wait)
    finished = run_process(
        command,
        memory_cap_bytes=total_memory_bytes() if cap else None,
        timeout=PEER_TIMEOUT,
    )
    result = result_of(finished, what)
    return {**result, "seconds": finished["seconds"], "peak_mb": finished["peak_mb"]}


def fairlearn_command(data: Path) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).with_name("run_bench.py")),
        "--worker",
        "fairlearn",
        "--file",
        str(data),
    ]


def aequitas_command(python: Path, data: Path) -> list[str]:
    return [str(python), str(AEQUITAS_WORKLOAD), str(data)]


def measure(store: Store, size: str, key: str, title: str, run: Any) -> None:
    """Run one workload unless the store has it; a failure is stored with its reason."""
    if store.has(size, key):
        say(f"  {title}: kept from {store.path}")
        return
    say(f"  {title}")
    try:
        result = run()
    except WorkerFailed as error:
        store.put(size, key, {"failed": str(error)})
        say(f"    failed: {error}")
        return
    store.put(size, key, result)
    say(f"    {result['seconds']:.2f} s, peak {result.get('peak_mb', 0):,.0f} MiB")


def generated(folder: Path, rows: int, parts: int = 1) -> Path:
    """The synthetic file (or, with ``parts``, a folder of parts) of ``rows`` rows."""
    if parts == 1:
        path = folder / f"frame_{rows}.parquet"
        if not path.exists():
            say(f"{rows:,} rows: generating {path}")
            spawn("generate", path, rows=rows)
        return path
    target = folder / f"parts_{rows}"
    target.mkdir(exist_ok=True)
    for k in range(parts):
        path = target / f"part-{k:03d}.parquet"
        if not path.exists():
            say(f"{rows:,} rows: generating part {k + 1} of {parts}")
            spawn("generate", path, rows=rows // parts, part=k)
    return target
