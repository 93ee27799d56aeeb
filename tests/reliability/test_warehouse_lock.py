"""Commands wait for the warehouse while another process holds it, say so once, and give up
after the configured time with a one-line error naming the file (exit code 2)."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest
from typer.testing import CliRunner

from rai_pipeline.adapters.warehouse_lock import (
    TIMEOUT_ENV,
    WarehouseBusyError,
    connect_warehouse,
    lock_timeout,
)
from rai_pipeline.cli import app

HOLDER = (
    "import duckdb, sys, time\n"
    "conn = duckdb.connect(sys.argv[1])\n"
    "conn.execute('create table if not exists held (x int)')\n"
    "print('held', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def hold(path, seconds):
    """Another process that holds ``path``'s lock for ``seconds``; returns once it holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def release(process, *, kill=False):
    if kill:
        process.kill()
    process.wait()
    process.stdout.close()


def test_a_connection_waits_until_the_other_process_lets_go(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = hold(path, 2)
    said = []
    start = time.monotonic()
    with connect_warehouse(path, read_only=True, timeout=60, say=said.append) as conn:
        assert conn.execute("select count(*) from held").fetchone() == (0,)
    assert time.monotonic() - start >= 0.5
    assert len(said) == 1 and str(path) in said[0] and "waiting up to 60 s" in said[0]
    release(holder)


def test_the_wait_is_bounded_and_the_error_names_the_file(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = hold(path, 30)
    try:
        with pytest.raises(WarehouseBusyError, match=r"still in use by another process after 1 s"):
            connect_warehouse(path, timeout=1)
    finally:
        release(holder, kill=True)


def test_other_errors_are_not_waited_on(tmp_path):
    with pytest.raises(duckdb.IOException):
        connect_warehouse(tmp_path / "missing" / "warehouse.duckdb", read_only=True, timeout=60)


def test_the_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "7.5")
    assert lock_timeout() == 7.5
    monkeypatch.setenv(TIMEOUT_ENV, "soon")
    with pytest.raises(WarehouseBusyError, match="is not a number of seconds"):
        lock_timeout()


def test_trace_rows_waits_for_the_warehouse_then_gives_up_in_one_line(demo, monkeypatch):
    home, outcomes, _ = demo
    pack = outcomes[0].pack
    args = [
        "trace", str(pack), "--dimension", "sex", "--group", "Female",
        "--metric", "false_positive_rate", "--rows", "--cell", "false_positive", "--limit", "2",
    ]  # fmt: skip
    runner = CliRunner()
    holder = hold(home.warehouse, 3)
    waited = runner.invoke(app, args)
    release(holder)
    assert waited.exit_code == 0, waited.output
    assert "waiting up to 120 s" in waited.output
    monkeypatch.setenv(TIMEOUT_ENV, "1")
    holder = hold(home.warehouse, 30)
    try:
        refused = runner.invoke(app, args)
    finally:
        release(holder, kill=True)
    assert refused.exit_code == 2
    assert "still in use by another process after 1 s" in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)
