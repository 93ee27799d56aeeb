"""The document templates' bytecode compiled at install (``make bytecode``): documents rendered
from it are the ones compiled from the sources, a template changed since is not served stale,
and rendering never writes the cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader

from rai_pipeline.core.evidence import render


def templates(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.j2"))


def test_every_template_is_compiled_once_into_the_folder(tmp_path: Path) -> None:
    names = render.compile_templates(tmp_path / "bytecode")
    assert names == templates(render.TEMPLATES)
    assert len(list((tmp_path / "bytecode").glob("*.cache"))) == len(names)


def test_bytecode_gives_the_compiled_template_and_a_changed_source_wins(tmp_path: Path) -> None:
    """A copy of the templates folder, compiled; then one template edited: its new text is
    what renders (Jinja checks the source's checksum), from a cache that is never written."""
    folder, cache = tmp_path / "templates", tmp_path / "bytecode"
    shutil.copytree(render.TEMPLATES, folder, ignore=shutil.ignore_patterns("__jinja__"))
    (folder / "probe.md.j2").write_text("first {{ value }}\n")

    def environment(write: bool) -> Environment:
        return Environment(
            loader=FileSystemLoader(folder),
            bytecode_cache=render.InstalledBytecode(cache, write=write),
            keep_trailing_newline=True,
        )

    assert environment(write=True).get_template("probe.md.j2").render(value=1) == "first 1\n"
    written = {p.name: p.read_bytes() for p in cache.glob("*.cache")}
    assert len(written) == 1
    reader = environment(write=False)
    assert reader.get_template("probe.md.j2").render(value=2) == "first 2\n"
    (folder / "probe.md.j2").write_text("second {{ value }}\n")
    assert environment(write=False).get_template("probe.md.j2").render(value=3) == "second 3\n"
    assert {p.name: p.read_bytes() for p in cache.glob("*.cache")} == written


@pytest.mark.parametrize("name", templates(render.TEMPLATES))
def test_the_run_time_environments_read_without_writing(name: str, tmp_path: Path) -> None:
    """The environments the documents use never dump bytecode, whatever they compile."""
    env = render._environment(html=name.endswith(".html.j2"), bytecode=tmp_path / "none")
    env.get_template(name)
    assert not (tmp_path / "none").exists()
