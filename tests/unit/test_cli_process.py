"""The ``rai`` console script (``rai_pipeline.cli.process``): its own process freezes the
objects a command imported and those left at exit, and gives the command's exit code; the
application run inside another program (a test's CliRunner) freezes nothing."""

from __future__ import annotations

import gc
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import yaml
from typer.testing import CliRunner

from rai_pipeline.cli import app
from rai_pipeline.demo.synthetic import make_synthetic_frame

CONFIG = {
    "columns": {"id": "example_id", "label": "label", "score": "score"},
    "sensitive_features": ["group_a"],
    "bootstrap": {"n_resamples": 100},
}
# the console script's own function, with a hook registered first (so run last, after the
# exit's freeze) that reports what the collector no longer walks
IN_OWN_PROCESS = """
import atexit, gc, sys
atexit.register(lambda: print("frozen", gc.get_freeze_count(), flush=True))
from rai_pipeline.cli.process import main
sys.argv = ["rai", *sys.argv[1:]]
main()
"""


def _inputs(folder: Path) -> tuple[Path, Path]:
    data = folder / "preds.csv"
    make_synthetic_frame(600, seed=3).to_csv(data, index=False)
    config = folder / "rai.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    return data, config


def test_the_console_script_is_the_process_entry() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "rai"]
    assert script.value == "rai_pipeline.cli.process:main"


def test_its_own_process_freezes_and_keeps_the_exit_code(tmp_path: Path) -> None:
    data, config = _inputs(tmp_path)
    env = {"RAI_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-c", IN_OWN_PROCESS, "evaluate-file", str(data)]
    done = subprocess.run(
        [*command, "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "manifest.json").is_file()
    frozen = int(done.stdout.split("frozen ")[-1])
    assert frozen > 10_000  # the imported modules, classes and functions at least
    again = subprocess.run(  # the same output folder again: refused, exit code 2
        [*command, "--config", str(config), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert again.returncode == 2, again.stderr


def test_inside_another_program_nothing_is_frozen(tmp_path: Path) -> None:
    data, config = _inputs(tmp_path)
    before = gc.get_freeze_count()
    result = CliRunner().invoke(
        app,
        ["evaluate-file", str(data), "--config", str(config), "--out", str(tmp_path / "out")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert gc.get_freeze_count() == before
