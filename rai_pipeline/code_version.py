"""The version of this code that produced a piece of evidence (no Dagster import).

Two granularities: :func:`code_version` (git commit and package version of the whole
checkout, recorded in every evidence pack) and :func:`modules_code_version` (a digest of the
source files that implement one asset, for Dagster's per-asset code versions; needs no git,
so it works in an installed package too).
"""

from __future__ import annotations

import ast
import hashlib
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from rai_pipeline import __version__
from rai_pipeline.settings import PROJECT_ROOT


@cache
def git_commit() -> str:
    """The checked-out commit, with ``+dirty`` when tracked files differ; ``unknown`` outside
    a git checkout (an installed package)."""
    git = ["git", "-C", str(PROJECT_ROOT)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def code_version() -> dict[str, str]:
    return {"git_commit": git_commit(), "rai_pipeline_version": __version__}


# The code version of a Dagster asset: a digest of the source files that implement it ---------

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
"""The folder that holds the ``rai_pipeline`` package (the project root, or site-packages)."""
FOLLOWED_IMPORTS = ("rai_pipeline.core", "rai_pipeline.adapters")
"""Modules whose own imports count as part of the implementation: the pure library and its
adapters (imports point down only, so this never climbs into the Dagster layer)."""
CODE_VERSION_LENGTH = 16


def source_digest(files: Iterable[Path], root: Path) -> str:
    """sha256 over each file's path relative to ``root`` and the sha256 of its bytes, in sorted
    path order. The same files with the same bytes give the same digest wherever ``root`` is."""
    root = root.resolve()
    digest = hashlib.sha256()
    for path in sorted({Path(f).resolve() for f in files}):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _module_path(name: str, root: Path) -> Path | None:
    """The module's source: its ``.py`` file, its package's ``__init__.py``, or the C source
    of an extension module the install compiles (``rai_pipeline/core/loops.c``)."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py", base.with_suffix(".c")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, root: Path, prefixes: tuple[str, ...]) -> frozenset[str]:
    """Absolute imports in ``path`` (module level and inside functions) of modules named with
    one of ``prefixes``; ``from package import module`` counts as importing the module."""
    names: set[str] = set()
    if path.suffix != ".py":  # C source: it imports no module of the package
        return frozenset()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                names.add(child if _module_path(child, root) else node.module)
    return frozenset(
        n for n in names if n.startswith(prefixes) and _module_path(n, root) is not None
    )


def _package_files(init: Path) -> list[Path]:
    return [
        p
        for p in init.parent.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix not in (".pyc", ".so", ".pyd")  # built here: its source counts instead
    ]


def module_source_files(
    modules: Iterable[str],
    *,
    root: Path = PACKAGE_PARENT,
    follow: tuple[str, ...] = FOLLOWED_IMPORTS,
) -> list[Path]:
    """The files that implement ``modules``.

    Each named module contributes its source file; a named package contributes every file
    below its folder (templates included). A module whose name starts with one of ``follow``
    also brings, transitively, the modules it imports that start with one of ``follow``
    (lazy imports inside functions included). Raises ``ValueError`` for a name without a
    source file under ``root``."""
    files: set[Path] = set()
    pending = [(name, True) for name in modules]
    seen: set[str] = set()
    while pending:
        name, named = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_path(name, root)
        if path is None:
            raise ValueError(f"module {name!r} has no source file under {root}")
        files.add(path)
        if named and path.name == "__init__.py":
            for member in _package_files(path):
                files.add(member)
                if member.suffix == ".py" and member != path:
                    module = ".".join(member.relative_to(root).with_suffix("").parts)
                    pending.append((module.removesuffix(".__init__"), False))
        if name.startswith(follow):
            pending.extend((m, False) for m in _imports(path, root, follow) - seen)
    return sorted(files)


def modules_code_version(
    modules: Iterable[str],
    *,
    root: Path = PACKAGE_PARENT,
    follow: tuple[str, ...] = FOLLOWED_IMPORTS,
) -> str:
    """A short digest of :func:`module_source_files`: it changes when any of those files does."""
    files = module_source_files(modules, root=root, follow=follow)
    return source_digest(files, root)[:CODE_VERSION_LENGTH]
