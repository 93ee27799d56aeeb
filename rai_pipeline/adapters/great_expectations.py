"""Great Expectations behind the project's own result types: run a suite stored as JSON
against a pandas frame.

Great Expectations is imported inside :func:`run_expectation_suite` (the import alone takes
about 3 s) and runs in an ephemeral context: nothing is written to disk, nothing is sent
anywhere, progress bars are off. Its results are translated into
:class:`~rai_pipeline.core.schemas.expectations.SuiteResult`, so that callers (Dagster asset
checks, evidence documents) never depend on GX's objects.

Example
-------
>>> result = run_expectation_suite(Path("expectations/eval_frame.json"), frame)  # doctest: +SKIP
>>> result.success  # doctest: +SKIP
True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rai_pipeline.core.schemas.expectations import ExpectationOutcome, SuiteResult, load_suite_dict

DEFAULT_SAMPLE_SIZE = 10
ERR_NOT_A_FRAME = "df must be a pandas DataFrame, got {type_name}"
ERR_SAMPLE_SIZE = "sample_size must be a positive integer, got {value!r}"

# Keys GX adds to every expectation's kwargs; not part of the rule.
_GX_BOOKKEEPING_KWARGS = {"batch_id"}


def run_expectation_suite(
    suite: Path | Mapping[str, Any], df: pd.DataFrame, *, sample_size: int = DEFAULT_SAMPLE_SIZE
) -> SuiteResult:
    """Validate ``df`` against a GX suite.

    Parameters
    ----------
    suite : pathlib.Path or mapping
        A GX 1.x suite: the path of its JSON file, or the suite itself.
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
    suite_dict = load_suite_dict(suite) if isinstance(suite, Path) else dict(suite)

    gx, progress_bars_config = _import_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = progress_bars_config(globally=False)
    gx_suite = gx.ExpectationSuite(**suite_dict)
    batch = (
        context.data_sources.add_pandas(name="rai")
        .add_dataframe_asset(name=gx_suite.name)
        .add_batch_definition_whole_dataframe("whole_frame")
        .get_batch(batch_parameters={"dataframe": df})
    )
    validation = batch.validate(
        gx_suite,
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": sample_size},
    )
    outcomes = [_outcome(result, sample_size) for result in validation.results]
    return SuiteResult(
        suite_name=gx_suite.name,
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
