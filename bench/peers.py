"""The peers' own environments: Aequitas is not a dependency of rai-pipeline (its pins would
fight ours), so the bench installs it from the package index into a throwaway virtual
environment inside the bench's temporary folder, once per run, and says so."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

AEQUITAS = "aequitas==1.1.0"
# Aequitas reads data frames; the bench's files are Parquet, which pandas reads through pyarrow
# (not a dependency of Aequitas: pip left it out of its environment): the release rai runs
# with, so that both read the files with the same reader
PARQUET = f"pyarrow=={version('pyarrow')}"
AEQUITAS_WORKLOAD = Path(__file__).resolve().with_name("aequitas_workload.py")


class PeerUnavailable(RuntimeError):
    """A peer could not be installed here; the message says why."""


def aequitas_python(folder: Path, say: Callable[[str], None]) -> Path:
    """The Python of a fresh virtual environment in ``folder`` with :data:`AEQUITAS` and
    :data:`PARQUET` installed (pip prints its progress); raise :class:`PeerUnavailable` when
    the install fails."""
    venv = folder / "aequitas-venv"
    python = venv / "bin" / "python"
    started = time.perf_counter()
    say(f"installing {AEQUITAS} and {PARQUET} into {venv} (its own environment; a minute)")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", AEQUITAS, PARQUET],
    ]
    for command in steps:
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode != 0:
            tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise PeerUnavailable(f"{' '.join(command[:4])} failed: {tail}")
    say(f"  installed in {time.perf_counter() - started:.0f} s")
    return python
