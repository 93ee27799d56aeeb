"""Files the project writes and reads back by digest: sha256 of a file, byte-deterministic
Parquet and its reading back, folders moved into place in one rename (complete or absent,
never partial), and an exclusive lock on a file for what concurrent processes must do one at
a time."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1 << 20
READ_ONLY = 0o444
MSG_WAITING = "waiting for another process on {home}: {what}"
# Evidence tables: small, rewritten per evaluation.
TABLE_OPTIONS: Mapping[str, Any] = {"compression": "zstd", "write_statistics": False}
# Landed extracts: immutable inputs read by digest; statistics let DuckDB skip row groups.
EXTRACT_OPTIONS: Mapping[str, Any] = {
    "compression": "zstd",
    "compression_level": 9,
    "row_group_size": 1 << 20,
    "use_dictionary": True,
    "write_statistics": True,
}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_parquet(
    frame: pd.DataFrame,
    path: Path,
    *,
    options: Mapping[str, Any] = TABLE_OPTIONS,
    durable: bool = False,
) -> None:
    """Write ``frame`` (index dropped) as Parquet whose bytes depend only on the data and
    ``options``: the pandas schema metadata is removed. ``durable`` also fsyncs the file and
    makes it read-only."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    with Path(path).open("wb") as handle:
        pq.write_table(table, handle, **options)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    if durable:
        Path(path).chmod(READ_ONLY)


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The Parquet file at ``path`` as a DataFrame, read through Arrow's own file system.

    Not ``pandas.read_parquet``: pandas opens a local path as a Python file object, and Arrow's
    scan releases that object on one of its worker threads, sometimes after the scan has
    returned. When that happens while the interpreter exits, the worker cannot take the GIL
    and the process aborts ("terminate called without an active exception", exit -6) after
    its work is done. A path Arrow opens itself holds no Python object.
    """
    return pq.read_table(os.fspath(path), columns=columns).to_pandas()


def fsync_dir(path: Path) -> None:
    """Persist a rename in ``path`` (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into_place(staging: Path, target: Path, *, aside: Path | None = None) -> None:
    """Move the complete folder ``staging`` to ``target`` with one rename.

    An empty ``target`` folder is removed first. A non-empty one is renamed to ``aside`` first
    (and renamed back if the final rename fails); without ``aside`` the rename fails with
    ``OSError`` and nothing moves.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    moved = False
    if aside is not None and target.exists():
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.rename(target, aside)
        moved = True
    try:
        os.rename(staging, target)
    except OSError:
        if moved and not target.exists():
            os.rename(aside, target)  # type: ignore[arg-type]
        raise
    fsync_dir(target.parent)


@contextmanager
def exclusive_lock(
    path: Path, *, what: str = "", say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block; when another
    process holds it, say so once through ``say``, then wait. The operating system releases
    the lock when its process ends, however it ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if say is not None:
                say(MSG_WAITING.format(home=path.parent, what=what))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
