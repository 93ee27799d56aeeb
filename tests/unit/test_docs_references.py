"""What the README, the docs and the docstrings name exists: every ``rai_pipeline.x.y`` they
cite imports, and every source path the documents cite is a file or folder of the repository."""

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "dbt_project").rglob("*.md"),
        *(ROOT / "dbt_project" / "models").rglob("*.yml"),
    ]
)
DOTTED = re.compile(r"\brai_pipeline(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
# A backticked source path with a folder, e.g. `core/metrics/fairness.py`, or two folders,
# e.g. `rai_pipeline/demo/` (a lone `metrics/` is a name in its sentence's context; paths
# under RAI_HOME are state, not source).
PATH = re.compile(
    r"`((?:[a-z_][\w.-]*/)+[\w.-]+\.(?:py|j2|yml|yaml|md|toml)|[a-z_][\w.-]*/[a-z_][\w.-]*/)`"
)
# Paths in the docs are written from the repository root, the package or its core.
BASES = (ROOT, ROOT / "rai_pipeline", ROOT / "rai_pipeline" / "core")


SOURCES = sorted((ROOT / "rai_pipeline").rglob("*.py"))


def _cited(
    pattern: re.Pattern[str], group: int, documents: list[Path] = DOCUMENTS
) -> list[tuple[str, str]]:
    return sorted(
        {
            (doc.relative_to(ROOT).as_posix(), match.group(group))
            for doc in documents
            for match in pattern.finditer(doc.read_text(encoding="utf-8"))
        }
    )


def _resolve(dotted: str) -> object:
    """The module a name cites (found, not imported: an entry point such as
    ``rai_pipeline.code_location`` prepares state when imported), or the attribute."""
    try:
        if importlib.util.find_spec(dotted) is not None:
            return dotted
    except ModuleNotFoundError:  # its parent is a module, not a package
        pass
    module, _, attribute = dotted.rpartition(".")
    target: object = _resolve(module)
    if isinstance(target, str):
        target = importlib.import_module(target)
    return getattr(target, attribute)


def test_the_documents_cite_names_and_paths():
    # Guards the two tests below against a pattern that stops matching anything.
    assert len(_cited(DOTTED, 0)) >= 3
    assert len(_cited(PATH, 1)) >= 20
    assert len(_cited(DOTTED, 0, SOURCES)) >= 100


@pytest.mark.parametrize(("document", "name"), _cited(DOTTED, 0))
def test_every_cited_python_name_imports(document, name):
    assert _resolve(name) is not None, f"{document} cites {name}"


@pytest.mark.parametrize(("module", "name"), _cited(DOTTED, 0, SOURCES))
def test_every_name_a_docstring_cites_imports(module, name):
    assert _resolve(name) is not None, f"{module} cites {name}"


@pytest.mark.parametrize(("document", "path"), _cited(PATH, 1))
def test_every_cited_source_path_exists(document, path):
    assert any((base / path).exists() for base in BASES), f"{document} cites {path}"
