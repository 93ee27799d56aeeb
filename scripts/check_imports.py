"""Import rules of the package, checked by ``make lint``.

1. No module imports a private (``_``-prefixed) name from another module of the package, by
   ``from ... import _name`` or as ``module._name``.
2. Layers import downwards only: ``core`` never imports ``defs``, ``app``, ``adapters``,
   ``validation``, ``demo`` or the CLI; ``adapters`` never import ``defs`` or ``app``; ``defs``
   never imports ``app``. (Third-party rules for ``core`` are in ``rai_pipeline/core/ruff.toml``.)

Prints one line per breach (file:line: rule) and exits 1 when there is any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "rai_pipeline"
FORBIDDEN = {
    "core": ("defs", "app", "adapters", "validation", "demo", "cli", "code_location"),
    "adapters": ("defs", "app", "cli"),
    "defs": ("app", "cli"),
}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def breaches(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path)
    out = []
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            for alias in node.names:
                name = alias.name
                if name.startswith("_") and not name.startswith("__"):
                    out.append(f"{path}:{node.lineno}: imports private {node.module}.{name}")
                child = f"{node.module}.{name}"
                if (ROOT / Path(*child.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*child.split(".")) / "__init__.py"
                ).exists():
                    aliases.add(alias.asname or name)
            target = node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE):
                    aliases.add(alias.asname or alias.name.split(".")[0])
            target = next((a.name for a in node.names if a.name.startswith(PACKAGE)), "")
        else:
            target = ""
        if target.startswith(PACKAGE + "."):
            banned = FORBIDDEN.get(layer(here), ())
            if layer(target) in banned:
                out.append(f"{path}:{node.lineno}: {layer(here)} must not import {target}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            out.append(f"{path}:{node.lineno}: uses private {node.value.id}.{node.attr}")
    return out


def main() -> int:
    found = [b for path in sorted((ROOT / PACKAGE).rglob("*.py")) for b in breaches(path)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
