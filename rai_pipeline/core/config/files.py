"""The project's YAML files (evaluation configs, reviewer dispositions): reading them, and one
error format for everything that is wrong with them.

Every message names the file; a validation failure lists each broken rule as
``  - <key>: <rule>``, unknown and missing keys pointing the reader at the page that documents
the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from pydantic import ValidationError

MSG_UNREADABLE = "{path}: cannot read the {what} ({reason})"
MSG_INVALID_YAML = "{path}: not valid YAML ({reason})"
MSG_NOT_UTF8 = "not UTF-8 text: byte 0x{byte:02x} on line {line}; save the file as UTF-8"
MSG_DUPLICATE_KEY = "key {key!r} is given twice (lines {first} and {line}); keep one"
MSG_NOT_A_MAPPING = "{path}: the top level must be a mapping of keys to values"
MSG_UNKNOWN_KEY = "unknown key (check the spelling against {reference})"
MSG_MISSING_KEY = "required key is missing (see {reference})"


class _DuplicateKeyError(yaml.YAMLError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last one
    silently, so a setting could be overridden without anyone seeing it)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKeyError(
                    MSG_DUPLICATE_KEY.format(key=key, first=seen[key], line=line)
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml_mapping(path: Path | str, *, what: str, error: type[ValueError]) -> dict[str, Any]:
    """The top-level mapping of a YAML file (empty for an empty file), or ``error`` naming the
    file and what is wrong: unreadable, not YAML, or not a mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as failure:
        reason = failure.strerror or str(failure)
        raise error(MSG_UNREADABLE.format(path=path, what=what, reason=reason)) from None
    except UnicodeDecodeError as failure:
        line = failure.object[: failure.start].count(b"\n") + 1
        reason = MSG_NOT_UTF8.format(byte=failure.object[failure.start], line=line)
        raise error(MSG_UNREADABLE.format(path=path, what=what, reason=reason)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as failure:
        raise error(f"{path}: {failure}") from None
    except yaml.YAMLError as failure:
        raise error(MSG_INVALID_YAML.format(path=path, reason=failure)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(MSG_NOT_A_MAPPING.format(path=path))
    return data


def validation_message(header: str, failure: ValidationError, *, reference: str) -> str:
    """``header`` and one line per broken rule: ``  - <dotted key>: <rule>``."""
    lines = [header]
    for item in failure.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = MSG_UNKNOWN_KEY.format(reference=reference)
        elif item["type"] == "missing":
            message = MSG_MISSING_KEY.format(reference=reference)
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)
