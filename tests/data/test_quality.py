"""Data quality of the evaluation frame: the pandera schema and the GX suite, each with the
rules of the configured sensitive attributes added from one declaration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rai_pipeline.adapters.great_expectations import run_expectation_suite
from rai_pipeline.core.evidence.render import render_suite_summary
from rai_pipeline.core.schemas import frame as quality
from rai_pipeline.core.schemas.attributes import SensitiveAttribute
from rai_pipeline.core.schemas.expectations import load_suite_dict, with_attributes
from rai_pipeline.core.schemas.frame import FAILURE_COLUMNS
from rai_pipeline.core.schemas.frame import validate_eval_frame as validate_with

SUITE_FILE = Path(__file__).resolve().parents[2] / "expectations" / "eval_frame.json"
ATTRIBUTES = [
    SensitiveAttribute("sex", "sex"),
    SensitiveAttribute("race", "race"),
    SensitiveAttribute(
        "age_band", "age", bins=(17, 25, 45, 65), labels=("0-16", "17-24", "25-44", "45-64", "65+")
    ),
]
AGE_BANDS = ATTRIBUTES[2].accepted_values()
SUITE = with_attributes(load_suite_dict(SUITE_FILE), ATTRIBUTES)


def validate_eval_frame(frame, **options):
    return validate_with(frame, attributes=ATTRIBUTES, **options)


def eval_frame(n: int = 40, *, seed: int = 0) -> pd.DataFrame:
    """A valid evaluation frame of one model version, typed as DuckDB returns it."""
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    return pd.DataFrame(
        {
            "model_name": "adult-income",
            "model_version": "3",
            "example_id": np.arange(n, dtype=np.int64),
            "label": rng.integers(0, 2, n).astype(np.int32),
            "score": score,
            "threshold": 0.5,
            "decision": (score >= 0.5).astype(np.int32),
            "sex": rng.choice(["Female", "Male", "unknown"], n),
            "race": rng.choice(["White", "Black", "unknown"], n),
            "age_band": rng.choice(AGE_BANDS, n),
            "dataset_version": "d" * 64,
        }
    )


def corrupt(frame: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    frame = frame.copy()
    if value is None or isinstance(value, str):
        frame[column] = frame[column].astype(object)
    elif isinstance(value, float) and frame[column].dtype.kind == "i":
        frame[column] = frame[column].astype("float64")
    frame.loc[row, column] = value
    return frame


# --- pandera ---------------------------------------------------------------------------------


def test_a_valid_frame_passes_with_an_empty_failure_table():
    report = validate_eval_frame(eval_frame())
    assert report.passed
    assert report.message == quality.MSG_PASSED.format(rows=40)
    assert list(report.failures.columns) == FAILURE_COLUMNS
    assert report.failures.empty and report.sample_rows.empty


@pytest.mark.parametrize(
    ("column", "value", "failing_column", "check"),
    [
        ("label", 2, "label", "isin([0, 1])"),
        ("label", float("nan"), "label", "not_nullable"),
        ("score", 1.5, "score", "less_than_or_equal_to(1.0)"),
        ("score", -0.1, "score", "greater_than_or_equal_to(0.0)"),
        ("threshold", 1.2, "threshold", "less_than_or_equal_to(1.0)"),
        ("decision", 5, "decision", "isin([0, 1])"),
        ("sex", None, "sex", "not_nullable"),
        ("age_band", "90+", "age_band", f"isin({AGE_BANDS!r})"),
        ("dataset_version", None, "dataset_version", "not_nullable"),
    ],
)
def test_each_broken_rule_is_named_with_its_column_and_row(column, value, failing_column, check):
    report = validate_eval_frame(corrupt(eval_frame(), column, 7, value))
    assert not report.passed
    hits = report.failures[
        (report.failures["column"] == failing_column) & (report.failures["check"] == check)
    ]
    assert hits["index"].tolist() == [7]
    assert f"- {failing_column}: {check} failed for 1 row(s), e.g. index 7 -> " in report.message
    assert 7 in report.sample_rows.index


def test_decision_must_equal_score_at_or_above_threshold():
    frame = eval_frame()
    frame.loc[3, ["score", "decision"]] = [0.5, 0]  # at the threshold the decision is 1
    report = validate_eval_frame(frame)
    rule = report.failures[report.failures["check"] == quality.DECISION_RULE]
    assert rule.to_dict("records") == [
        {
            "column": "decision, score, threshold",
            "check": quality.DECISION_RULE,
            "failure_case": "decision=0, score=0.5, threshold=0.5",
            "index": 3,
        }
    ]


def test_duplicate_examples_of_one_model_version_are_reported_once_per_row():
    frame = eval_frame()
    frame.loc[5, "example_id"] = 4
    report = validate_eval_frame(frame)
    rule = report.failures[report.failures["check"] == quality.UNIQUENESS_RULE]
    assert rule["index"].tolist() == [4, 5]
    assert set(rule["column"]) == {"model_name, model_version, example_id"}


def test_a_missing_column_is_named():
    report = validate_eval_frame(eval_frame().drop(columns=["race"]))
    assert report.failures.to_dict("records") == [
        {"column": "race", "check": "column_in_dataframe", "failure_case": "race", "index": None}
    ]
    assert "- race: column_in_dataframe failed" in report.message


def test_validation_does_not_modify_the_input():
    frame = corrupt(eval_frame(), "label", 2, 2)
    before = frame.copy()
    validate_eval_frame(frame)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"df": [1, 2]}, TypeError, "df must be a pandas DataFrame, got list"),
        ({"sample_size": 0}, ValueError, "sample_size must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_raise_with_the_documented_message(kwargs, error, message):
    options = {"df": eval_frame()} | kwargs
    df = options.pop("df")
    with pytest.raises(error, match=message):
        validate_eval_frame(df, **options)


# --- Great Expectations ------------------------------------------------------------------------


def test_the_suite_file_names_no_column_of_any_data_set():
    suite = json.loads(SUITE_FILE.read_text())
    columns = {e["kwargs"].get("column") for e in suite["expectations"]} - {None}
    assert columns == {"example_id", "label", "score", "decision"}


def test_without_attributes_the_schema_checks_only_the_fixed_columns():
    frame = eval_frame().drop(columns=["sex", "race", "age_band"])
    assert validate_with(frame).passed
    assert not validate_with(frame, attributes=ATTRIBUTES[:1]).passed


def test_the_suite_covers_the_documented_rules_and_the_attributes():
    suite = SUITE
    assert suite["name"] == "eval_frame"
    rules = {(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]}
    in_set = {
        e["kwargs"]["column"]: e["kwargs"]["value_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set"
    }
    assert in_set["age_band"] == AGE_BANDS and "sex" not in in_set
    assert rules >= {
        ("expect_table_row_count_to_be_between", None),
        ("expect_column_values_to_not_be_null", "example_id"),
        ("expect_column_values_to_be_unique", "example_id"),
        ("expect_column_values_to_not_be_null", "label"),
        ("expect_column_values_to_be_in_set", "label"),
        ("expect_column_values_to_not_be_null", "score"),
        ("expect_column_values_to_be_between", "score"),
        ("expect_column_values_to_be_in_set", "decision"),
        ("expect_column_values_to_not_be_null", "sex"),
        ("expect_column_values_to_not_be_null", "race"),
        ("expect_column_values_to_not_be_null", "age_band"),
        ("expect_column_values_to_be_in_set", "age_band"),
    }


def test_suite_passes_on_a_valid_frame():
    result = run_expectation_suite(SUITE, eval_frame())
    assert result.success and result.failures() == []
    assert result.suite_name == "eval_frame" and result.row_count == 40
    assert "passed" in render_suite_summary(result)
    row_count = next(r for r in result.results if r.column is None)
    assert row_count.observed_value == 40


def test_suite_reports_each_failing_expectation_with_a_sample():
    frame = eval_frame()
    frame = corrupt(frame, "label", 1, 2)
    frame = corrupt(frame, "score", 2, 1.5)
    frame = corrupt(frame, "sex", 3, None)
    frame.loc[4, "example_id"] = 0
    result = run_expectation_suite(SUITE, frame, sample_size=3)
    failed = {(o.expectation_type, o.column): o for o in result.failures()}
    assert set(failed) == {
        ("expect_column_values_to_be_in_set", "label"),
        ("expect_column_values_to_be_between", "score"),
        ("expect_column_values_to_not_be_null", "sex"),
        ("expect_column_values_to_be_unique", "example_id"),
    }
    assert failed[("expect_column_values_to_be_in_set", "label")].sample == [2.0]
    assert failed[("expect_column_values_to_be_between", "score")].unexpected_count == 1
    assert failed[("expect_column_values_to_not_be_null", "sex")].sample == [None]
    assert failed[("expect_column_values_to_be_unique", "example_id")].sample == [0, 0]
    assert "batch_id" not in failed[("expect_column_values_to_be_in_set", "label")].kwargs
    summary = render_suite_summary(result)
    assert summary.startswith("**Suite `eval_frame` FAILED**: 9 of 13")
    assert len(SUITE["expectations"]) == 13
    assert summary.count("**fail**") == 4


def test_an_empty_frame_fails_the_row_count_expectation():
    result = run_expectation_suite(SUITE, eval_frame().iloc[0:0])
    assert not result.success
    (row_count,) = [o for o in result.failures() if o.column is None]
    assert row_count.expectation_type == "expect_table_row_count_to_be_between"
    assert row_count.observed_value == 0


def test_a_malformed_suite_is_rejected_before_gx_runs(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "x", "expectations": [{"kwargs": {}}]}))  # no type
    with pytest.raises(ValueError, match="must be an object with 'name'"):
        run_expectation_suite(path, eval_frame())
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not readable JSON"):
        run_expectation_suite(path, eval_frame())


def test_a_value_that_cannot_be_coerced_is_reported_and_does_not_crash_the_rules():
    report = validate_eval_frame(corrupt(eval_frame(), "score", 6, "high"))
    checks = set(zip(report.failures["column"], report.failures["check"], strict=True))
    assert ("score", "coerce_dtype('float64')") in checks
    assert ("decision, score, threshold", quality.DECISION_RULE) in checks
    assert "- score: coerce_dtype('float64') failed for 1 row(s), e.g. index 6 -> high" in (
        report.message
    )
