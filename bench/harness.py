"""Running processes and measuring them: :func:`run_process` times one whole process and reads
its peak memory from the kernel (``wait4``), optionally under a memory cap and while watching a
spill folder; :func:`spawn` runs one workload of :mod:`workloads` that way;
:func:`wait_until_quiet` waits for an idle CPU first; :func:`machine` and
:func:`engine_version` describe what was measured on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from workloads import RESULT_PREFIX

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = Path(__file__).resolve().with_name("run_bench.py")  # runs the workers
RAI = Path(sys.executable).with_name("rai")
QUIET_SHARE = 0.10  # other processes' CPU share below which the machine counts as quiet
ENGINE_MODULE = "rai_pipeline.app.evaluate_file"  # what a user runs
PACKAGES = ("duckdb", "pandas", "numpy", "pyarrow", "fairlearn", "scikit-learn")
POLL_INTERVAL = 0.01  # seconds between looks at whether a measured process has ended
WATCH_INTERVAL = 0.2  # seconds between measurements of a watched folder (the spill)


class WorkerFailed(RuntimeError):
    """A process ended without a result (crashed, killed, out of memory, over its cap)."""


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
    """Wait (up to ``max_seconds``) until other processes use under 10% of the CPU."""
    deadline = time.monotonic() + max_seconds
    busy = others_busy()
    while busy > QUIET_SHARE and time.monotonic() < deadline:
        say(f"    machine busy ({100 * busy:.0f}% CPU in use by other processes); waiting")
        time.sleep(5)
        busy = others_busy()
    return busy


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # removed while walking
                total += (Path(root) / name).stat().st_size
    return total


def run_process(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    memory_cap_bytes: int | None = None,
    watch: Path | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``command`` to its end: wall seconds, peak resident memory (MiB, the kernel's
    ``ru_maxrss`` of that process), exit code, output, the share of the CPU other processes
    used meanwhile, and with ``watch`` the largest size that folder reached (sampled every
    0.2 s). ``memory_cap_bytes`` caps the process's address space (``RLIMIT_AS``), so a peer
    that does not fit fails with its own out-of-memory error instead of swapping the machine."""

    def cap() -> None:
        if memory_cap_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_cap_bytes, memory_cap_bytes))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy0, total0 = _cpu_jiffies()
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=ROOT, preexec_fn=cap, text=True
        )
        largest, sampled = 0, started
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            # the folder sampled every WATCH_INTERVAL, the end noticed within POLL_INTERVAL
            if watch is not None and now - sampled >= WATCH_INTERVAL and watch.exists():
                largest, sampled = max(largest, _folder_bytes(watch)), now
            if timeout is not None and now - started > timeout:
                process.kill()
            time.sleep(POLL_INTERVAL)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        busy1, total1 = _cpu_jiffies()
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    ticks = os.sysconf("SC_CLK_TCK")
    own = usage.ru_utime + usage.ru_stime
    others = max((busy1 - busy0) / ticks - own, 0.0) / max((total1 - total0) / ticks, 1e-9)
    return {
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,
        "returncode": process.returncode,
        "stdout": stdout,
        "stderr": stderr,
        "others_cpu": others,
        "spill_bytes": largest,
        "measured_at": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
    }


def result_of(finished: dict[str, Any], what: str) -> dict[str, Any]:
    """The ``BENCH-RESULT`` a process printed, with its measurements; :class:`WorkerFailed`
    naming how it ended when it printed none."""
    line = next((x for x in finished["stdout"].splitlines() if x.startswith(RESULT_PREFIX)), None)
    if finished["returncode"] != 0 or line is None:
        code = finished["returncode"]
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        tail = (finished["stderr"].strip().splitlines() or [""])[-1][:200]
        raise WorkerFailed(f"{what} ended with {how} after {finished['seconds']:.0f} s: {tail}")
    inner = json.loads(line.removeprefix(RESULT_PREFIX))
    keep = ("seconds", "peak_mb", "others_cpu", "measured_at")
    return {**inner, **{f"process_{k}": finished[k] for k in keep}}


def spawn(worker: str, path: Path, *, quiet_wait: float = 0, **options: Any) -> dict[str, Any]:
    """Run one workload of :mod:`workloads` in a fresh process and return its result."""
    command = [sys.executable, str(ENTRY_POINT), "--worker", worker, "--file", str(path)]
    for key, value in options.items():
        if value is not None:
            command += [f"--{key.replace('_', '-')}", str(value)]
    if quiet_wait:
        wait_until_quiet(quiet_wait)
    return result_of(run_process(command), f"{worker} worker")


def say(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def total_memory_bytes() -> int:
    meminfo = Path("/proc/meminfo").read_text()
    kib = next(int(line.split()[1]) for line in meminfo.splitlines() if "MemTotal" in line)
    return kib * 1024


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line
    ]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = {name: metadata.version(name) for name in PACKAGES}
    return {
        "CPU": f"{models[0] if models else platform.processor() or 'unknown'}",
        "Cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "Memory": f"{total_memory_bytes() / 2**30:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "Engine code": engine_version(),
    }


def engine_version() -> str:
    """The commit and a digest of the code ``rai evaluate-file`` runs, and which of its files
    differ from the commit."""
    from rai_pipeline.code_version import (
        FOLLOWED_IMPORTS,
        module_source_files,
        modules_code_version,
    )

    follow = ("rai_pipeline.app", *FOLLOWED_IMPORTS)

    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    files = module_source_files([ENGINE_MODULE], follow=follow)
    changed = subprocess.run(
        [*git, "diff", "--name-only", "HEAD", "--", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    state = f"differs from the commit: {', '.join(changed)}" if changed else "as committed"
    digest = modules_code_version([ENGINE_MODULE], follow=follow)
    return f"git {commit}, {len(files)} source files {state}; code version {digest}"
