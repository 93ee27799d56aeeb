"""Great Expectations suites of the evaluation frame: the suite file's shape, the expectations
the configured sensitive attributes add to it, and the outcome of a validation as plain
dataclasses (:class:`SuiteResult`, :class:`ExpectationOutcome`).

The suite format is GX 1.x's own (``{"name": ..., "expectations": [{"type": ..., "kwargs":
{...}}]}``). ``expectations/eval_frame.json`` holds the rules of the frame's fixed columns;
:func:`with_attributes` adds those of each sensitive attribute, from the same declaration the
dbt models and the pandera schema read. The runner that needs Great Expectations
itself is an adapter (:mod:`rai_pipeline.adapters.great_expectations`); the evidence documents
render a result with :func:`rai_pipeline.core.evidence.render.render_suite_summary`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rai_pipeline.core.schemas.attributes import SensitiveAttribute

ERR_SUITE_FILE = "expectation suite {path} is not readable JSON: {error}"
ERR_SUITE_SHAPE = (
    "expectation suite {path} must be an object with 'name' and a list of 'expectations' "
    "({{'type': ..., 'kwargs': {{...}}}})"
)


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


def with_attributes(
    suite: dict[str, Any], attributes: Sequence[SensitiveAttribute]
) -> dict[str, Any]:
    """``suite`` plus, per sensitive attribute, ``expect_column_values_to_not_be_null`` and,
    for a band, ``expect_column_values_to_be_in_set`` of its labels and ``unknown``.

    Examples
    --------
    >>> band = SensitiveAttribute("age_band", "age", bins=(25.0,), labels=("<25", "25+"))
    >>> added = with_attributes({"name": "s", "expectations": []}, [band])["expectations"]
    >>> [e["type"] for e in added]
    ['expect_column_values_to_not_be_null', 'expect_column_values_to_be_in_set']
    >>> added[1]["kwargs"]["value_set"]
    ['<25', '25+', 'unknown']
    """
    added: list[dict[str, Any]] = []
    for attribute in attributes:
        added.append(
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": attribute.name}}
        )
        values = attribute.accepted_values()
        if values is not None:
            added.append(
                {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": attribute.name, "value_set": values},
                }
            )
    return {**suite, "expectations": [*suite["expectations"], *added]}
