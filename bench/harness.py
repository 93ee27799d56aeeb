"""Running the workloads and measuring: :func:`spawn` runs one workload of :mod:`workloads` in
a fresh process (``run_bench.py --worker NAME``) and adds how busy the rest of the machine was,
:func:`wait_until_quiet` waits for an idle CPU first, :func:`measure_size` runs every workload
at one size (resuming stored results), and :func:`machine` / :func:`engine_version` describe
what was measured on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from report import fmt_mb, fmt_seconds
from workloads import MEMORY_LIMIT, RESULT_PREFIX

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = Path(__file__).resolve().with_name("run_bench.py")  # runs the workers
QUIET_SHARE = 0.10  # other processes' CPU share below which the machine counts as quiet
ENGINE_MODULE = "rai_pipeline.core.evaluation"  # what the pipeline and evaluate-file call
PACKAGES = ("duckdb", "pandas", "numpy", "pyarrow", "fairlearn", "scikit-learn")


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def others_busy(seconds: float = 1.0) -> float:
    """Share of the machine's CPU in use (by anything) over the next ``seconds``."""
    busy0, total0 = _cpu_jiffies()
    time.sleep(seconds)
    busy1, total1 = _cpu_jiffies()
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_until_quiet(max_seconds: float) -> float:
    """Wait (up to ``max_seconds``) until other processes use under 10% of the CPU; return the
    share in use when the workload starts."""
    deadline = time.monotonic() + max_seconds
    busy = others_busy()
    while busy > QUIET_SHARE and time.monotonic() < deadline:
        say(f"    machine busy ({100 * busy:.0f}% CPU in use by other processes); waiting")
        time.sleep(5)
        busy = others_busy()
    return busy


def spawn(worker: str, path: Path, *, quiet_wait: float = 0, **options: Any) -> dict[str, Any]:
    """Run one workload in a fresh process; add the CPU share that other processes used
    while it ran (``others_cpu``: 0 = the machine was ours, 1 = every core busy elsewhere)."""
    command = [sys.executable, str(ENTRY_POINT), "--worker", worker]
    command += ["--file", str(path)]
    for key, value in options.items():
        if value is True:
            command.append(f"--{key.replace('_', '-')}")
        elif value not in (None, False):
            command += [f"--{key.replace('_', '-')}", str(value)]
    if quiet_wait:
        wait_until_quiet(quiet_wait)
    started = time.monotonic()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = _cpu_jiffies()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    busy1, total1 = _cpu_jiffies()
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        code = completed.returncode
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        tail = completed.stderr.strip().splitlines()[-1:] or [""]
        raise WorkerFailed(
            f"{worker} worker {how} after {time.monotonic() - started:.0f} s {tail[0]}"
        )
    line = next(x for x in completed.stdout.splitlines() if x.startswith(RESULT_PREFIX))
    result = json.loads(line.removeprefix(RESULT_PREFIX))
    ticks = os.sysconf("SC_CLK_TCK")
    own = sum(getattr(children1, f) - getattr(children0, f) for f in ("ru_utime", "ru_stime"))
    others = max((busy1 - busy0) / ticks - own, 0.0)
    result["others_cpu"] = others / max((total1 - total0) / ticks, 1e-9)
    result["measured_at"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    return result


class WorkerFailed(RuntimeError):
    """A workload's process ended without a result (crashed, killed, out of memory)."""


def say(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    ]
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = next((line.split()[1] for line in meminfo.splitlines() if "MemTotal" in line), "0")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = {name: metadata.version(name) for name in PACKAGES}
    return {
        "CPU": f"{models[0] if models else platform.processor() or 'unknown'}",
        "Cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "Memory": f"{int(total) / 2**20:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "Engine code": engine_version(),
    }


def engine_version() -> str:
    """The commit and a digest of the engine's source files (``rai_pipeline.core.evaluation``
    and everything of ``core`` it imports), and which of them differ from the commit."""
    from rai_pipeline.code_version import module_source_files, modules_code_version

    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    files = module_source_files([ENGINE_MODULE])
    changed = subprocess.run(
        [*git, "diff", "--name-only", "HEAD", "--", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    state = f"differs from the commit: {', '.join(changed)}" if changed else "as committed"
    digest = modules_code_version([ENGINE_MODULE])
    return f"git {commit}, {len(files)} engine files {state}; code version {digest}"


def measure_size(
    rows: int,
    folder: Path,
    results: dict[int, dict[str, Any]],
    args: argparse.Namespace,
    fairlearn_sizes: set[int],
    results_path: Path | None,
) -> None:
    """Every workload at one size; workloads already in ``results`` (resumed) are skipped.
    Each result is saved to ``results_path`` as soon as it is measured."""
    r = results.setdefault(rows, {})
    path = folder / f"frame_{rows}.parquet"
    say(f"{rows:,} rows: generating {path}")
    generated = spawn("generate", path, rows=rows)
    say(f"  {generated['bytes'] / 1e6:,.0f} MB in {generated['seconds']:.1f} s")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if r.setdefault("file_sha256", digest) != digest:
        raise SystemExit(f"{rows:,} rows: the generated file differs from the stored results'")
    quick = args.repeat or (5 if rows <= 10**6 else 3)
    wait = args.quiet_wait
    plan: list[tuple[str, str, str, dict[str, Any]]] = [
        ("bare", "bare GROUPING SETS query", "bare", {"repeat": args.repeat or 5}),
        ("sort", "bare sort by score (one window)", "sort", {"repeat": args.repeat or 3}),
        ("engine_binned", "engine, auc: binned", "engine", {"repeat": quick, "auc": "binned"}),
        ("engine", "engine, auc: exact", "engine", {"repeat": quick, "auc": "exact"}),
        (
            "engine_limited",
            f"engine, auc: exact, memory_limit={MEMORY_LIMIT}",
            "engine",
            {"repeat": quick, "memory_limit": MEMORY_LIMIT, "auc": "exact"},
        ),
    ]
    if rows in fairlearn_sizes:
        plan.append(
            ("fairlearn", "fairlearn MetricFrame (slow)", "fairlearn", {"repeat": args.repeat or 1})
        )
    for key, title, worker, options in plan:
        if key in r and "failed" not in r[key]:
            say(f"  {title}: kept from {results_path}")
            continue
        say(f"  {title}")
        try:
            r[key] = spawn(worker, path, quiet_wait=wait, **options)
        except WorkerFailed as error:
            r[key] = {"failed": str(error)}
            say(f"    FAILED: {error}")
        else:
            if "seconds" in r[key]:
                say(f"    {fmt_seconds(r[key]['seconds'])}, peak {fmt_mb(r[key]['peak_mb'])}")
        if results_path:
            results_path.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    path.unlink(missing_ok=True)
