"""The file or files a predictions input names: one file, or a glob over several (a data set
written in parts, such as ``scores/part-*.parquet``), and the one digest that identifies them.

A path that names an existing file is that file, whatever characters its name holds. A path
that names no file but holds a wildcard (``*``, ``?`` or ``[...]``) is expanded here, in
Python, and sorted; DuckDB then reads exactly that list, so the files evaluated are the files
hashed and recorded. Every file must have the same format.

The digest of one file is its sha256 (as before there were parts); the digest of several is the
sha256 of their names and sha256s, one ``name<TAB>sha256`` line each in order, so that it
changes when a part is added, removed, renamed or changed.
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path

from rai_pipeline.app.input_checks import InputFileError
from rai_pipeline.core.storage import file_sha256

WILDCARDS = "*?["

MSG_NO_FILE = "{file}: no such file"
MSG_NO_MATCH = "{file}: no file matches this pattern"
MSG_NOT_A_FILE = "{file}: the pattern matches {path}, which is not a file"


@dataclass(frozen=True)
class InputFiles:
    """What the user named (``pattern``) and the files it stands for, in order."""

    pattern: Path
    files: tuple[Path, ...]

    @property
    def is_glob(self) -> bool:
        return len(self.files) != 1 or self.files[0] != self.pattern

    @property
    def name(self) -> str:
        """The name shown in documents: the file's, or the pattern's."""
        return self.pattern.name

    @property
    def bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files)

    def digests(self) -> list[tuple[Path, str]]:
        """Each file with its sha256."""
        return [(path, file_sha256(path)) for path in self.files]

    def sha256(self, digests: list[tuple[Path, str]] | None = None) -> str:
        """The digest of the input (module docstring)."""
        digests = self.digests() if digests is None else digests
        if not self.is_glob:
            return digests[0][1]
        lines = "".join(f"{path.name}\t{digest}\n" for path, digest in digests)
        return hashlib.sha256(lines.encode()).hexdigest()

    def stem_source(self) -> Path:
        """The path whose stem names the input by default: the file, or for a pattern the
        folder holding the parts."""
        return self.pattern.parent if self.is_glob else self.pattern


def has_wildcard(path: Path | str) -> bool:
    return any(char in str(path) for char in WILDCARDS)


def resolve_input(path: Path | str) -> InputFiles:
    """The files ``path`` names (module docstring); raise
    :class:`~rai_pipeline.app.input_checks.InputFileError` when it names none."""
    path = Path(path)
    if path.is_file():
        return InputFiles(path, (path,))
    if not has_wildcard(path):
        raise InputFileError(MSG_NO_FILE.format(file=path))
    matches = sorted(Path(match) for match in glob.glob(str(path)))
    if not matches:
        raise InputFileError(MSG_NO_MATCH.format(file=path))
    for match in matches:
        if not match.is_file():
            raise InputFileError(MSG_NOT_A_FILE.format(file=path, path=match))
    return InputFiles(path, tuple(matches))
