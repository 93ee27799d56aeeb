"""The evaluation frame's contract as a pandera schema, and a validator that explains failures.

:class:`EvalFrameSchema` mirrors the dbt model ``marts.eval_frame`` (one row per model version
and example): types, ranges and enums per column, unique (model_name, model_version,
example_id), and a frame-level rule that ``decision`` equals ``score >= threshold``.
:func:`frame_schema` adds the configured sensitive attributes (the columns of
``marts.eval_frame_wide``): text, never NULL, and a band only ever one of its labels or
``unknown``.

:func:`validate_eval_frame` runs the schema lazily (every failure, not just the first) and
returns a :class:`QualityReport` whose ``failures`` frame is machine-readable (column, check,
failure_case, index) and whose ``message`` names each failing column and rule with a sample of
offending values, for a person reading a Dagster check or a CLI error.

Example
-------
>>> report = validate_eval_frame(frame)  # doctest: +SKIP
>>> report.passed  # doctest: +SKIP
False
>>> print(report.message)  # doctest: +SKIP
eval_frame failed 1 rule(s) on 16,281 rows:
- label: isin([0, 1]) failed for 2 row(s), e.g. index 17 -> 2, index 90 -> 2
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from rai_pipeline.core.schemas.attributes import SensitiveAttribute

KEY_COLUMNS = ["model_name", "model_version", "example_id"]
FAILURE_COLUMNS = ["column", "check", "failure_case", "index"]
DEFAULT_SAMPLE_SIZE = 5
DECISION_RULE = "decision_equals_score_at_or_above_threshold"
UNIQUENESS_RULE = "multiple_fields_uniqueness"
FRAME_CHECK_COLUMNS = {
    DECISION_RULE: ["decision", "score", "threshold"],
    UNIQUENESS_RULE: KEY_COLUMNS,
}
_PANDAS_CONCAT_WARNING = "The behavior of DataFrame concatenation with empty or all-NA entries"

MSG_PASSED = "eval_frame passed every rule on {rows:,} rows"
MSG_FAILED = "eval_frame failed {n_rules} rule(s) on {rows:,} rows:\n{details}"
MSG_RULE = "- {column}: {check} failed for {count} row(s), e.g. {sample}"
MSG_SAMPLE_ITEM = "index {index} -> {value}"
ERR_NOT_A_FRAME = "df must be a pandas DataFrame, got {type_name}"
ERR_SAMPLE_SIZE = "sample_size must be a positive integer, got {value!r}"


class EvalFrameSchema(pa.DataFrameModel):
    """One row per (model_name, model_version, example_id); see ``marts.eval_frame``.

    Columns are coerced to the declared types (a value that cannot be coerced is a failure).
    Extra columns are allowed.
    """

    model_name: Series[str] = pa.Field(nullable=False)
    model_version: Series[str] = pa.Field(nullable=False)
    example_id: Series[int] = pa.Field(nullable=False)
    label: Series[int] = pa.Field(isin=[0, 1], nullable=False)
    score: Series[float] = pa.Field(ge=0.0, le=1.0, nullable=False)
    threshold: Series[float] = pa.Field(ge=0.0, le=1.0, nullable=False)
    decision: Series[int] = pa.Field(isin=[0, 1], nullable=False)
    dataset_version: Series[str] = pa.Field(nullable=False)

    class Config:
        name = "eval_frame"
        coerce = True
        strict = False
        unique = KEY_COLUMNS

    @pa.dataframe_check(name=DECISION_RULE)
    def decision_equals_score_at_or_above_threshold(cls, df: pd.DataFrame) -> pd.Series:
        """``decision == int(score >= threshold)`` on every row."""
        return df["decision"] == (df["score"] >= df["threshold"]).astype("int64")


def frame_schema(attributes: Sequence[SensitiveAttribute] = ()) -> pa.DataFrameSchema:
    """:class:`EvalFrameSchema` with one column per sensitive attribute: text, never NULL
    (a missing value is the group ``unknown``), a band one of its labels or ``unknown``."""
    columns = {
        attribute.name: pa.Column(
            str,
            nullable=False,
            coerce=True,
            checks=(
                [pa.Check.isin(values)]
                if (values := attribute.accepted_values()) is not None
                else []
            ),
        )
        for attribute in attributes
    }
    return EvalFrameSchema.to_schema().add_columns(columns)


@dataclass(frozen=True)
class QualityReport:
    """The outcome of :func:`validate_eval_frame`.

    Attributes
    ----------
    passed : bool
    failures : pandas.DataFrame
        One row per failing (column, check, row): columns ``column``, ``check``,
        ``failure_case`` (the offending value; for a rule over several columns, the row's
        values of those columns) and ``index`` (the row's index label; None for failures that
        concern the whole table, such as a missing column). Empty when ``passed``.
    message : str
        Human-readable summary naming each failing column and rule with sample values.
    sample_rows : pandas.DataFrame
        Up to ``sample_size`` offending rows of the input frame, for display.
    """

    passed: bool
    failures: pd.DataFrame
    message: str
    sample_rows: pd.DataFrame = field(default_factory=pd.DataFrame)


def validate_eval_frame(
    df: pd.DataFrame,
    *,
    attributes: Sequence[SensitiveAttribute] = (),
    sample_size: int = DEFAULT_SAMPLE_SIZE,
) -> QualityReport:
    """Validate an evaluation frame against :func:`frame_schema`, collecting every failure.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of ``marts.eval_frame_wide`` (usually one model version). Not modified.
    attributes : sequence of SensitiveAttribute
        The configured sensitive attributes, each a column of ``df``.
    sample_size : int, default 5
        How many offending values per rule the message shows, and how many rows
        ``sample_rows`` holds.

    Returns
    -------
    QualityReport
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(ERR_NOT_A_FRAME.format(type_name=type(df).__name__))
    if not isinstance(sample_size, int) or isinstance(sample_size, bool) or sample_size < 1:
        raise ValueError(ERR_SAMPLE_SIZE.format(value=sample_size))
    try:
        with warnings.catch_warnings():
            # pandera 0.35 concatenates failure cases with all-NA entries (e.g. a NULL label),
            # which pandas 2.3 flags with a FutureWarning about a future dtype rule.
            warnings.filterwarnings(
                "ignore", message=_PANDAS_CONCAT_WARNING, category=FutureWarning
            )
            frame_schema(attributes).validate(df, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failures = _normalise_failure_cases(
            errors.failure_cases, integer_index=pd.api.types.is_integer_dtype(df.index.dtype)
        )
    else:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in FAILURE_COLUMNS})
        return QualityReport(True, empty, MSG_PASSED.format(rows=len(df)), df.iloc[0:0])

    message = MSG_FAILED.format(
        n_rules=failures[["column", "check"]].drop_duplicates().shape[0],
        rows=len(df),
        details=_describe(failures, sample_size),
    )
    row_labels = [i for i in dict.fromkeys(failures["index"].dropna()) if i in df.index]
    return QualityReport(False, failures, message, df.loc[row_labels[:sample_size]])


def _normalise_failure_cases(cases: pd.DataFrame, *, integer_index: bool) -> pd.DataFrame:
    """Reduce pandera's failure cases to one row per (column, check, row).

    pandera reports a frame-level rule once per column of each failing row; those rows are
    merged into one whose ``column`` names the rule's columns (:data:`FRAME_CHECK_COLUMNS`)
    and whose ``failure_case`` holds the row's values of them. A missing column is reported
    under its own name with no index.
    """
    missing = cases["check"] == "column_in_dataframe"
    frame_level = (cases["schema_context"] == "DataFrameSchema") & ~missing
    records: list[dict[str, object]] = [
        {"column": name, "check": "column_in_dataframe", "failure_case": name, "index": None}
        for name in cases.loc[missing, "failure_case"]
    ]
    records.extend(cases.loc[~frame_level & ~missing, FAILURE_COLUMNS].to_dict("records"))
    for (check, index), group in cases[frame_level].groupby(
        ["check", "index"], sort=False, dropna=False
    ):
        columns = FRAME_CHECK_COLUMNS.get(str(check), list(dict.fromkeys(group["column"])))
        values = dict(zip(group["column"], group["failure_case"], strict=True))
        shown = [c for c in columns if c in values]
        records.append(
            {
                "column": ", ".join(columns),
                "check": check,
                # a rule that raised reports the error text once, under the schema's name
                "failure_case": (
                    ", ".join(f"{c}={values[c]!r}" for c in shown)
                    if shown
                    else "; ".join(str(v) for v in values.values())
                ),
                "index": index,
            }
        )
    result = pd.DataFrame.from_records(records, columns=FAILURE_COLUMNS).astype("object")
    result["index"] = pd.Series(
        [_index_label(v, integer_index=integer_index) for v in result["index"]],
        index=result.index,
        dtype="object",
    )
    result["failure_case"] = pd.Series(
        [None if _is_missing(v) else v for v in result["failure_case"]],
        index=result.index,
        dtype="object",
    )
    return result.sort_values(["column", "check"], kind="stable").reset_index(drop=True)


def _index_label(value: object, *, integer_index: bool) -> object:
    """pandera turns row labels into floats when some failures have none; undo that."""
    if _is_missing(value):
        return None
    if integer_index and isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _describe(failures: pd.DataFrame, sample_size: int) -> str:
    lines = []
    for (column, check), group in failures.groupby(["column", "check"], sort=False):
        head = group.head(sample_size)
        sample = ", ".join(
            str(value) if index is None else MSG_SAMPLE_ITEM.format(index=index, value=value)
            for index, value in zip(head["index"], head["failure_case"], strict=True)
        )
        lines.append(MSG_RULE.format(column=column, check=check, count=len(group), sample=sample))
    return "\n".join(lines)
