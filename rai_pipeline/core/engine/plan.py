"""The validated SQL plan of an evaluation: quoted relation, roles and features, the where
filter as bound parameters, and the SQL fragments every engine query shares (feature aliases,
GROUPING SETS, group labels). Names from configuration are validated and quoted by
:mod:`rai_pipeline.core.engine.sql`; ``where`` values are bound as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rai_pipeline.core.engine.slices import (
    OVERALL,
    SliceSpec,
    SliceSpecError,
    check_unique_slices,
    group_label_sql,
    group_value_sql,
)
from rai_pipeline.core.engine.sql import qualified_relation, quote_identifier

# DuckDB's GROUPING() takes at most 64 columns: the most features one plan can cut by.
MAX_GROUPING_FEATURES = 64
MSG_TOO_MANY_FEATURES = (
    "the slices use {count} distinct features; at most {limit} can be evaluated together"
)
MSG_SLICE_TYPE = "slices must be SliceSpec instances, got {type_name}"
MSG_WHERE_VALUE = "where-filter value for {column!r} must be a str or an int, got {type_name}"
MSG_COLUMN_ROLES = "label, score and decision must be three different columns, got {columns}"


@dataclass(frozen=True)
class SlicePlan:
    """Everything the generated SQL needs, validated once."""

    relation: str
    slices: tuple[SliceSpec, ...]  # overall first
    features: tuple[str, ...]  # distinct features over all slices, first-seen order
    label: str
    score: str
    decision: str | None
    where_sql: str
    params: dict[str, Any]
    filter_text: str
    labelled: bool = False  # the features already hold group values (the pipeline's frame)

    def alias(self, feature: str) -> str:
        return f"f{self.features.index(feature)}"

    @property
    def aliases(self) -> list[str]:
        return [f"f{i}" for i in range(len(self.features))]

    def mask(self, spec: SliceSpec) -> int:
        """``GROUPING(f0, ..., fm)`` for this slice: bit set (MSB = f0) when not grouped."""
        bits = 0
        for i, feature in enumerate(self.features):
            if feature not in spec.features:
                bits |= 1 << (len(self.features) - 1 - i)
        return bits

    def group_label(self, spec: SliceSpec) -> str:
        return group_label_sql([self.alias(f) for f in spec.features])

    def grouping(self) -> str:
        return f"GROUPING({', '.join(self.aliases)})" if self.features else "0"

    def slice_columns(self, gid: str | None = None) -> str:
        """``slice_index`` and ``grp`` from the grouping mask of a GROUPING SETS aggregate.

        ``gid`` names a column already holding the mask; by default ``GROUPING(...)``.
        """
        index_cases = " ".join(
            f"WHEN {self.mask(spec)} THEN {k}" for k, spec in enumerate(self.slices)
        )
        label_cases = " ".join(
            f"WHEN {self.mask(spec)} THEN {self.group_label(spec)}" for spec in self.slices
        )
        gid = gid or self.grouping()
        return f"CASE {gid} {index_cases} END AS slice_index, CASE {gid} {label_cases} END AS grp"

    def grouping_sets(self, *extra: str) -> str:
        sets = []
        for spec in self.slices:
            columns = [self.alias(f) for f in spec.features] + list(extra)
            sets.append(f"({', '.join(columns)})")
        return f"GROUPING SETS ({', '.join(sets)})"

    def group_value(self, column: str) -> str:
        """A sensitive value as its group label (:func:`~.slices.group_value`)."""
        return group_value_sql(column, labelled=self.labelled)

    def frame_sql(self, *, raw_features: bool = False) -> str:
        """``y``, ``s``, ``d`` and the features as ``f0, f1, ...``: group labels, or the
        columns as stored with ``raw_features`` (label them later with :meth:`group_value`)."""
        columns = [
            f"CAST({self.label} AS INTEGER) AS y",
            f"CAST({self.score} AS DOUBLE) AS s",
        ]
        columns.append(f"CAST({self.decision} AS INTEGER) AS d" if self.decision else "0 AS d")
        for feature in self.features:
            quoted = quote_identifier(feature)
            value = quoted if raw_features else self.group_value(quoted)
            columns.append(f"{value} AS {self.alias(feature)}")
        return f"SELECT {', '.join(columns)} FROM {self.relation}{self.where_sql}"


def plan_slices(
    *,
    relation: str,
    slices: Sequence[SliceSpec],
    label: str,
    score: str,
    decision: str | None,
    where: Mapping[str, str | int] | None,
    labelled: bool = False,
) -> SlicePlan:
    quoted_relation = qualified_relation(relation)
    roles = [label, score] + ([decision] if decision is not None else [])
    quoted_roles = [quote_identifier(name) for name in roles]
    if len(set(roles)) != len(roles):
        raise SliceSpecError(MSG_COLUMN_ROLES.format(columns=roles))
    specs = []
    for spec in slices:
        if not isinstance(spec, SliceSpec):
            raise SliceSpecError(MSG_SLICE_TYPE.format(type_name=type(spec).__name__))
        if not spec.is_overall:
            specs.append(spec)
    ordered = (OVERALL, *specs)
    check_unique_slices(ordered)
    features: list[str] = []
    for spec in specs:
        features.extend(f for f in spec.features if f not in features)
    if len(features) > MAX_GROUPING_FEATURES:
        raise SliceSpecError(
            MSG_TOO_MANY_FEATURES.format(count=len(features), limit=MAX_GROUPING_FEATURES)
        )
    clauses, params, shown = [], {}, []
    for i, (column, value) in enumerate((where or {}).items()):
        if not isinstance(value, str | int):
            raise SliceSpecError(
                MSG_WHERE_VALUE.format(column=column, type_name=type(value).__name__)
            )
        clauses.append(f"{quote_identifier(column)} = $w{i}")
        params[f"w{i}"] = value
        shown.append(f"{column}={value!r}")
    return SlicePlan(
        relation=quoted_relation,
        slices=ordered,
        features=tuple(features),
        label=quoted_roles[0],
        score=quoted_roles[1],
        decision=quoted_roles[2] if decision is not None else None,
        where_sql=f" WHERE {' AND '.join(clauses)}" if clauses else "",
        params=params,
        filter_text=f" where {', '.join(shown)}" if shown else "",
        labelled=labelled,
    )


def finish_rows(
    frame: pd.DataFrame,
    plan: SlicePlan,
    columns: Sequence[str],
    sort: list[str],
    *,
    presorted: bool = False,
) -> pd.DataFrame:
    """Name each row's dimension, order rows by slice then ``sort`` (unless ``presorted``)."""
    dimensions = np.array([spec.dimension for spec in plan.slices], dtype=object)
    if not presorted:
        frame = frame.sort_values(["slice_index", *sort], kind="stable", ignore_index=True)
    frame = frame.rename(columns={"grp": "group"})
    frame.insert(0, "dimension", dimensions[frame["slice_index"].to_numpy(dtype=np.int64)])
    return frame.loc[:, list(columns)]
