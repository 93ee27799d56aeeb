"""The shape every ``manifest.json`` must have before anything in it is trusted.

A manifest that is not JSON, lacks a field, or lists a path outside the pack is refused with
one line per broken rule (``outputs.3.sha256: Field required``), never a traceback. Fields the
schema does not name (new lineage keys, input details) are kept: the schema checks what
verification relies on.

Examples
--------
>>> check_manifest({"schema_version": 1, "lineage": {}, "inputs": [],
...                 "outputs": [{"path": "a.csv", "bytes": 3, "sha256": "0" * 64}]}, "p")
>>> try:
...     check_manifest({"schema_version": 1, "lineage": {}, "inputs": [],
...                     "outputs": [{"path": "../x", "bytes": 3}]}, "p")
... except PackError as error:
...     print(error)
p/manifest.json does not have the shape of a manifest:
  - outputs.0.path: a path inside the pack (relative, no '..'), got '../x'
  - outputs.0.sha256: required key is missing (see docs/auditor-guide.md)
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rai_pipeline.core.config.files import validation_message
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME

SHA256_PATTERN = r"^[0-9a-f]{64}$"
REFERENCE = "docs/auditor-guide.md"
MSG_SHAPE = "{pack}/{manifest} does not have the shape of a manifest:"
MSG_OUTSIDE = "a path inside the pack (relative, no '..'), got {path!r}"
MSG_DUPLICATE = "{path!r} is listed more than once"


class PackError(ValueError):
    """The folder is not a readable evidence pack."""


class _Output(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256_PATTERN)

    @field_validator("path")
    @classmethod
    def _inside_the_pack(cls, value: str) -> str:
        parts = PurePosixPath(value)
        if (
            not value
            or "\\" in value
            or parts.is_absolute()
            or ".." in parts.parts
            or value != parts.as_posix()
        ):
            raise ValueError(MSG_OUTSIDE.format(path=value))
        return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    name: str
    sha256: str | None = None


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int
    lineage: dict[str, Any]
    inputs: list[_Input]
    outputs: list[_Output]

    @field_validator("outputs")
    @classmethod
    def _each_path_once(cls, value: list[_Output]) -> list[_Output]:
        seen: set[str] = set()
        for item in value:
            if item.path in seen:
                raise ValueError(MSG_DUPLICATE.format(path=item.path))
            seen.add(item.path)
        return value


def check_manifest(data: Any, pack: Any) -> None:
    """Raise :class:`PackError` listing every rule ``data`` breaks; return when it has the
    shape of a manifest."""
    try:
        _Manifest.model_validate(data)
    except ValidationError as failure:
        header = MSG_SHAPE.format(pack=pack, manifest=MANIFEST_NAME)
        raise PackError(validation_message(header, failure, reference=REFERENCE)) from None
