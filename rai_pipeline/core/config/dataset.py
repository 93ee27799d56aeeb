"""The evaluation data set of the pipeline (config key ``dataset``) and the sensitive features
derived from its columns (``derived_features``).

``dataset`` says where the examples are (a CSV or Parquet file, or a table of a DuckDB
database) and which column plays which role: the id, the label, the model's inputs
(``features``), the columns that must never reach an output (``restricted``) and those that
``rai trace --rows`` may show (``public``). A derived feature is a band of a numeric column,
computed in the warehouse and documented in the datasheet::

    derived_features:
      age_group: {from: age, bins: [25, 45, 65], labels: ["<25", "25-44", "45-64", "65+"]}

A value ``v`` gets the label of the first edge above it: ``v < 25`` is ``<25``,
``25 <= v < 45`` is ``25-44``, ..., ``v >= 65`` is ``65+``; a missing value is ``unknown``.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rai_pipeline.core.engine.slices import UNKNOWN_GROUP, group_value
from rai_pipeline.core.engine.sql import IDENTIFIER_RULE, is_identifier, qualified_relation

MSG_COLUMN_NAME = "{name!r} is not a usable column name: it must match " + IDENTIFIER_RULE
MSG_PATH_OR_TABLE = "give exactly one of dataset.path (a CSV or Parquet file) or dataset.table"
MSG_DATABASE_WITHOUT_TABLE = "dataset.database applies to dataset.table only"
MSG_TABLE_NAME = (
    "{name!r} is not a usable table name: expected 'table' or 'schema.table', each part "
    "matching " + IDENTIFIER_RULE
)
MSG_ROLE_TWICE = "column {name!r} is both dataset.{role} and dataset.{other}"
MSG_LISTED_TWICE = "dataset.{role} lists {name!r} more than once"
MSG_BINS = "bins must be strictly increasing finite numbers, got {bins}"
MSG_LABELS = (
    "labels must name the {expected} bands that {count} edges make (below the first edge, "
    "between edges, at or above the last), got {got}"
)
MSG_LABEL_TEXT = (
    "labels must be distinct, non-empty strings other than {unknown!r}, without '&' or a "
    "backslash (they are group labels as they stand), got {labels}"
)
MSG_POSITIVE_LABEL_BOOL = (
    "must be a string or an integer; a YAML boolean (true/false/yes/no) is ambiguous: quote "
    'it ("yes") or leave positive_label out for 0/1 or true/false labels'
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_column(value: str) -> str:
    if not is_identifier(value):
        raise ValueError(MSG_COLUMN_NAME.format(name=value))
    return value


class DerivedFeature(_Strict):
    """A sensitive feature banded from a numeric column (``from``) at ``bins``."""

    source: str = Field(alias="from", description="The numeric column the bands are cut from.")
    bins: list[float] = Field(min_length=1, description="Band edges, strictly increasing.")
    labels: list[str] = Field(description="One label per band: len(bins) + 1 of them.")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return _check_column(value)

    @model_validator(mode="after")
    def _bands(self) -> DerivedFeature:
        bins = self.bins
        if not all(math.isfinite(b) for b in bins) or any(
            b >= c for b, c in itertools.pairwise(bins)
        ):
            raise ValueError(MSG_BINS.format(bins=bins))
        if len(self.labels) != len(bins) + 1:
            raise ValueError(
                MSG_LABELS.format(expected=len(bins) + 1, count=len(bins), got=len(self.labels))
            )
        labels = self.labels
        if len(set(labels)) != len(labels) or any(
            not label.strip() or label == UNKNOWN_GROUP or group_value(label) != label
            for label in labels
        ):
            raise ValueError(MSG_LABEL_TEXT.format(unknown=UNKNOWN_GROUP, labels=labels))
        return self

    def accepted_values(self) -> list[str]:
        """Every value the band can take: its labels and ``unknown``."""
        return [*self.labels, UNKNOWN_GROUP]


# What the datasheet says about the data beyond what the pipeline measures: each key a short
# text from the data's owner; a key left out is "not provided" and keeps the checklist's
# datasheet item open.
DATASHEET_KEYS = {
    "description": "Description",
    "source": "Source",
    "licence": "Licence",
    "collection": "Collection",
    "sampling": "Sampling",
    "labelling": "Labelling",
    "consent": "Consent",
    "pii": "Personal data",
}


class DatasetConfig(_Strict):
    """Where the evaluation examples are and which column plays which role, and what its
    datasheet says about it (:data:`DATASHEET_KEYS`)."""

    path: Path | None = Field(
        default=None,
        description="A CSV (.csv, .csv.gz, .csv.zst) or Parquet (.parquet, .pq) file; a "
        "relative path is relative to the config file.",
    )
    table: str | None = Field(
        default=None,
        description="A table ('table' or 'schema.table') of the project warehouse, or of "
        "dataset.database.",
    )
    database: Path | None = Field(
        default=None,
        description="Another DuckDB database file holding dataset.table, attached read-only; "
        "relative to the config file.",
    )
    id: str | None = Field(
        default=None,
        description="Unique integer id of an example; default: its row number in the source "
        "(0-based, in file order).",
    )
    label: str = Field(description="The observed outcome.")
    positive_label: int | str | None = Field(
        default=None,
        description="Label value that means the positive class; without it labels must be "
        "0/1 or true/false.",
    )
    features: list[str] | None = Field(
        default=None,
        description="The columns the model receives; default: every column except id, label "
        "and restricted.",
    )
    restricted: list[str] = Field(
        default_factory=list,
        description="Columns that never reach an output, log, MLflow param or tag (names, "
        "birth dates, ...). rai land does not store them.",
    )
    public: list[str] = Field(
        default_factory=list,
        description="Feature columns rai trace --rows may show besides the id (masked), label, "
        "score, decision and sensitive attributes.",
    )
    description: str | None = Field(default=None, description="What the data set is.")
    source: str | None = Field(default=None, description="Who produced it, and where from.")
    licence: str | None = Field(default=None, description="Its licence or terms of use.")
    collection: str | None = Field(default=None, description="How and when it was collected.")
    sampling: str | None = Field(default=None, description="How the rows were sampled.")
    labelling: str | None = Field(default=None, description="How the label was assigned.")
    consent: str | None = Field(
        default=None, description="The consent under which people's data was collected."
    )
    pii: str | None = Field(
        default=None, description="Which personal data it holds and how it is protected."
    )

    def documentation(self) -> dict[str, str | None]:
        """The datasheet's texts by key (:data:`DATASHEET_KEYS`), None where not provided."""
        return {key: getattr(self, key) for key in DATASHEET_KEYS}

    @field_validator("id", "label")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return None if value is None else _check_column(value)

    @field_validator("features", "restricted", "public")
    @classmethod
    def _name_lists(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            _check_column(name)
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None:
            parts = value.split(".")
            if len(parts) > 2:
                raise ValueError(MSG_TABLE_NAME.format(name=value))
            try:
                qualified_relation(value)
            except ValueError:
                raise ValueError(MSG_TABLE_NAME.format(name=value)) from None
        return value

    @field_validator("positive_label", mode="before")
    @classmethod
    def _positive_label(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(MSG_POSITIVE_LABEL_BOOL)
        return value

    @model_validator(mode="after")
    def _roles(self) -> DatasetConfig:
        if (self.path is None) == (self.table is None):
            raise ValueError(MSG_PATH_OR_TABLE)
        if self.database is not None and self.table is None:
            raise ValueError(MSG_DATABASE_WITHOUT_TABLE)
        for role in ("features", "restricted", "public"):
            names = getattr(self, role) or []
            for name in names:
                if names.count(name) > 1:
                    raise ValueError(MSG_LISTED_TWICE.format(role=role, name=name))
        single = {"id": self.id, "label": self.label}
        lists = {"features": self.features or [], "restricted": self.restricted}
        for role, name in single.items():
            if name is None:
                continue
            for other, names in lists.items():
                if name in names:
                    raise ValueError(MSG_ROLE_TWICE.format(name=name, role=role, other=other))
        if self.id is not None and self.id == self.label:
            raise ValueError(MSG_ROLE_TWICE.format(name=self.id, role="id", other="label"))
        for name in self.restricted:
            for other in ("features", "public"):
                if name in (getattr(self, other) or []):
                    raise ValueError(
                        MSG_ROLE_TWICE.format(name=name, role="restricted", other=other)
                    )
        return self

    def resolved(self, base: Path) -> DatasetConfig:
        """The same config with ``path`` and ``database`` made absolute against ``base`` (the
        config file's folder)."""
        update = {
            key: (base / value).resolve()
            for key in ("path", "database")
            if (value := getattr(self, key)) is not None and not value.is_absolute()
        }
        return self.model_copy(update=update)
