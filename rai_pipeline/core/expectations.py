"""Run a Great Expectations suite stored as JSON against a pandas frame.

The suite format is GX 1.x's own (``{"name": ..., "expectations": [{"type": ..., "kwargs":
{...}}]}``; see ``expectations/eval_frame.json``). Great Expectations is imported inside
:func:`run_expectation_suite` (the import alone takes about 3 s) and runs in an ephemeral
context: nothing is written to disk, nothing is sent anywhere, progress bars are off.

The result is translated into plain dataclasses (:class:`SuiteResult`,
:class:`ExpectationOutcome`) so that callers (Dagster asset checks, the CLI, evidence
documents) never depend on GX's result objects.

Example
-------
>>> result = run_expectation_suite(Path("expectations/eval_frame.json"), frame)
>>> result.success
True
>>> print(result.summary_markdown())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_SAMPLE_SIZE = 10

ERR_SUITE_FILE = "expectation suite {path} is not readable JSON: {error}"
ERR_SUITE_SHAPE = (
    "expectation suite {path} must be an object with 'name' and a list of 'expectations' "
    "({{'type': ..., 'kwargs': {{...}}}})"
)
ERR_NOT_A_FRAME = "df must be a pandas DataFrame, got {type_name}"
ERR_SAMPLE_SIZE = "sample_size must be a positive integer, got {value!r}"

# Keys GX adds to every expectation's kwargs; not part of the rule.
_GX_BOOKKEEPING_KWARGS = {"batch_id"}


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict.

    Attributes
    ----------
    expectation_type : str
        GX expectation type, e.g. ``expect_column_values_to_be_in_set``.
    column : str or None
        The column the expectation is about (None for table-level expectations).
    kwargs : dict
        The expectation's arguments as written in the suite.
    success : bool
    unexpected_count : int or None
        Number of offending values (None for expectations that do not count rows).
    sample : list
        Up to ``sample_size`` offending values (NULLs as None).
    observed_value : Any
        What table-level expectations observed (e.g. the row count), else None.
    """

    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)
    observed_value: Any = None

    def describe(self) -> str:
        """One line: the rule, its arguments and what was found."""
        rule = self.expectation_type
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items() if k != "column")
        subject = f"`{self.column}` " if self.column else ""
        text = f"{subject}{rule}({args})"
        if self.unexpected_count is not None:
            text += f": {self.unexpected_count} unexpected value(s)"
            if self.sample:
                text += f", e.g. {self.sample!r}"
        elif self.observed_value is not None:
            text += f": observed {self.observed_value!r}"
        return text


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of a whole suite on one frame."""

    suite_name: str
    success: bool
    row_count: int
    results: list[ExpectationOutcome] = field(default_factory=list)

    def failures(self) -> list[ExpectationOutcome]:
        """The outcomes that did not succeed, in suite order."""
        return [outcome for outcome in self.results if not outcome.success]

    def summary_markdown(self) -> str:
        """A Markdown table of every expectation, failures first, for a person to read."""
        passed = len(self.results) - len(self.failures())
        verdict = "passed" if self.success else "FAILED"
        lines = [
            f"**Suite `{self.suite_name}` {verdict}**: {passed} of {len(self.results)} "
            f"expectations met on {self.row_count:,} rows.",
            "",
            "| result | column | expectation | unexpected | sample / observed |",
            "| --- | --- | --- | --- | --- |",
        ]
        ordered = sorted(self.results, key=lambda o: o.success)
        for outcome in ordered:
            args = ", ".join(f"{k}={v!r}" for k, v in outcome.kwargs.items() if k != "column")
            rule = f"`{outcome.expectation_type}`" + (f" ({args})" if args else "")
            unexpected = "" if outcome.unexpected_count is None else str(outcome.unexpected_count)
            shown = outcome.sample if outcome.sample else outcome.observed_value
            lines.append(
                "| {res} | {col} | {rule} | {unexpected} | {shown} |".format(
                    res="pass" if outcome.success else "**fail**",
                    col=f"`{outcome.column}`" if outcome.column else "(table)",
                    rule=_md_escape(rule),
                    unexpected=unexpected,
                    shown="" if shown in (None, []) else _md_escape(repr(shown)),
                )
            )
        return "\n".join(lines)


def load_suite_dict(suite_path: Path) -> dict[str, Any]:
    """Read and shape-check a suite JSON file; return it as a dict."""
    try:
        suite = json.loads(Path(suite_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(ERR_SUITE_FILE.format(path=suite_path, error=error)) from error
    expectations = suite.get("expectations") if isinstance(suite, dict) else None
    if (
        not isinstance(suite, dict)
        or not isinstance(suite.get("name"), str)
        or not isinstance(expectations, list)
        or not all(isinstance(e, dict) and "type" in e for e in expectations)
    ):
        raise ValueError(ERR_SUITE_SHAPE.format(path=suite_path))
    return suite


def run_expectation_suite(
    suite_path: Path, df: pd.DataFrame, *, sample_size: int = DEFAULT_SAMPLE_SIZE
) -> SuiteResult:
    """Validate ``df`` against the GX suite stored at ``suite_path``.

    Parameters
    ----------
    suite_path : pathlib.Path
        A GX 1.x suite as JSON.
    df : pandas.DataFrame
        The whole batch to validate (not modified).
    sample_size : int, default 10
        How many offending values to keep per expectation.

    Returns
    -------
    SuiteResult
        ``success`` is True only if every expectation is met.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(ERR_NOT_A_FRAME.format(type_name=type(df).__name__))
    if not isinstance(sample_size, int) or isinstance(sample_size, bool) or sample_size < 1:
        raise ValueError(ERR_SAMPLE_SIZE.format(value=sample_size))
    suite_dict = load_suite_dict(suite_path)

    gx, progress_bars_config = _import_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = progress_bars_config(globally=False)
    suite = gx.ExpectationSuite(**suite_dict)
    batch = (
        context.data_sources.add_pandas(name="rai")
        .add_dataframe_asset(name=suite.name)
        .add_batch_definition_whole_dataframe("whole_frame")
        .get_batch(batch_parameters={"dataframe": df})
    )
    validation = batch.validate(
        suite,
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": sample_size},
    )
    outcomes = [_outcome(result, sample_size) for result in validation.results]
    return SuiteResult(
        suite_name=suite.name,
        success=bool(validation.success),
        row_count=len(df),
        results=outcomes,
    )


def _import_gx() -> tuple[Any, Any]:
    """Import GX, silencing the DeprecationWarnings its import raises on Python 3.11 (sre_*)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"module 'sre_(constants|parse)' is deprecated",
            category=DeprecationWarning,
        )
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
    return gx, ProgressBarsConfig


def _outcome(result: Any, sample_size: int) -> ExpectationOutcome:
    """Translate one GX ``ExpectationValidationResult``."""
    config = result.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k not in _GX_BOOKKEEPING_KWARGS}
    details = dict(result.result or {})
    unexpected = details.get("unexpected_count")
    sample = [_plain(v) for v in details.get("partial_unexpected_list", [])[:sample_size]]
    return ExpectationOutcome(
        expectation_type=config.type,
        column=kwargs.get("column"),
        kwargs=kwargs,
        success=bool(result.success),
        unexpected_count=None if unexpected is None else int(unexpected),
        sample=sample,
        observed_value=_plain(details.get("observed_value")),
    )


def _plain(value: Any) -> Any:
    """Missing markers (NaN, NA, NaT) become None; numpy scalars become Python scalars."""
    if isinstance(value, list | tuple | dict | set):
        return value
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
