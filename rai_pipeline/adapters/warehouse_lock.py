"""Waiting, not failing, on the DuckDB warehouse's lock.

DuckDB lets one process at a time hold a database file for writing, and none may open it while
a writer holds it. Every command and asset that opens the warehouse goes through
:func:`connect_warehouse` (or :func:`wait_for_lock` for an ``ATTACH``): it retries while the
file is locked by another process, says once that it is waiting, and after
``RAI_LOCK_TIMEOUT_SECONDS`` (default 120) raises :class:`WarehouseBusyError` naming the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

T = TypeVar("T")
TIMEOUT_ENV = "RAI_LOCK_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.5

MSG_WAITING = "{path}: in use by another process; waiting up to {timeout:.0f} s for it"
MSG_BUSY = (
    "{path}: still in use by another process after {timeout:.0f} s (a Dagster run, rai land or "
    "another command holds it); try again when it has finished, or raise {env}"
)
MSG_BAD_TIMEOUT = "{env}={value!r} is not a number of seconds"


class WarehouseBusyError(ValueError):
    """The warehouse stayed locked by another process for the whole wait."""


def lock_timeout() -> float:
    """Seconds to wait for the lock: ``$RAI_LOCK_TIMEOUT_SECONDS``, else 120."""
    value = os.environ.get(TIMEOUT_ENV)
    if value is None or value.strip() == "":
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise WarehouseBusyError(MSG_BAD_TIMEOUT.format(env=TIMEOUT_ENV, value=value)) from None
    if seconds < 0 or seconds != seconds:
        raise WarehouseBusyError(MSG_BAD_TIMEOUT.format(env=TIMEOUT_ENV, value=value))
    return seconds


def is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def wait_for_lock(
    action: Callable[[], T],
    path: Path | str,
    *,
    timeout: float | None = None,
    say: Callable[[str], None] | None = None,
) -> T:
    """``action()``, retried while it fails on another process's lock of ``path``."""
    limit = lock_timeout() if timeout is None else timeout
    deadline, said = time.monotonic() + limit, False
    while True:
        try:
            return action()
        except duckdb.IOException as error:
            if not is_lock_conflict(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    MSG_BUSY.format(path=path, timeout=limit, env=TIMEOUT_ENV)
                ) from None
            if say is not None and not said:
                say(MSG_WAITING.format(path=path, timeout=limit))
                said = True
            time.sleep(POLL_SECONDS)


def connect_warehouse(
    path: Path,
    *,
    read_only: bool = False,
    timeout: float | None = None,
    say: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file, once no other process holds its lock."""
    return wait_for_lock(
        lambda: duckdb.connect(str(path), read_only=read_only), path, timeout=timeout, say=say
    )
