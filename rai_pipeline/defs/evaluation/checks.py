"""Blocking data-quality checks on one model version's evaluation frame.

Both checks read the partition's rows of ``eval_frame_wide`` (the frame with the configured
sensitive attributes as columns) and stop evidence generation when they fail, reporting the
rule that failed and a sample of offending rows. Their rules on the attributes come from the
evaluation config, as the dbt models' do. dbt's own tests on the same models arrive as asset
checks from dagster-dbt.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from rai_pipeline.core.evidence.render import render_suite_summary
from rai_pipeline.core.governance.registry import ModelVersionRef, parse_partition_key
from rai_pipeline.core.schemas.attributes import SensitiveAttribute, sensitive_attributes
from rai_pipeline.core.schemas.expectations import load_suite_dict, with_attributes
from rai_pipeline.defs.dbt.project import dbt_relation
from rai_pipeline.defs.evaluation.assets import EVAL_FRAME_WIDE_KEY
from rai_pipeline.defs.partitions import model_versions
from rai_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    EvaluationConfigResource,
    WarehouseResource,
)
from rai_pipeline.settings import EXPECTATIONS_DIR

SAMPLE_ROWS = 10


@dataclass(frozen=True)
class RuleOutcome:
    passed: bool
    observed: dict
    sample: pd.DataFrame
    message: str


@dataclass(frozen=True)
class FrameRule:
    """A yes/no question about the frame, answered with a :class:`RuleOutcome`."""

    name: str
    description: str
    evaluate: Callable[[pd.DataFrame, Sequence[SensitiveAttribute]], RuleOutcome]


def frame_suite(attributes: Sequence[SensitiveAttribute]) -> dict:
    """The frame's expectation suite: ``expectations/eval_frame.json`` and the rules of the
    configured sensitive attributes."""
    return with_attributes(load_suite_dict(EXPECTATIONS_DIR / "eval_frame.json"), attributes)


def _expectation_suite(
    frame: pd.DataFrame, attributes: Sequence[SensitiveAttribute]
) -> RuleOutcome:
    from rai_pipeline.adapters.great_expectations import run_expectation_suite

    result = run_expectation_suite(frame_suite(attributes), frame)
    failures = result.failures()
    sample = pd.DataFrame(
        [
            {
                "expectation": f.expectation_type,
                "column": f.column,
                "unexpected_count": f.unexpected_count,
                "sample": str(f.sample[:SAMPLE_ROWS]),
            }
            for f in failures
        ]
    )
    observed = {"expectations": len(result.results), "failed": len(failures)}
    return RuleOutcome(result.success, observed, sample, render_suite_summary(result))


def _schema(frame: pd.DataFrame, attributes: Sequence[SensitiveAttribute]) -> RuleOutcome:
    from rai_pipeline.core.schemas.frame import validate_eval_frame

    report = validate_eval_frame(frame, attributes=attributes)
    observed = {"rows": len(frame), "failure_cases": len(report.failures)}
    return RuleOutcome(report.passed, observed, report.failures.head(SAMPLE_ROWS), report.message)


FRAME_RULES = (
    FrameRule(
        "eval_frame_passes_expectation_suite",
        "Does the frame pass the Great Expectations suite (expectations/eval_frame.json and "
        "the rules of the configured sensitive attributes)?",
        _expectation_suite,
    ),
    FrameRule(
        "eval_frame_matches_schema",
        "Do the frame's columns match the pandera schema (types, ranges, decision rule, "
        "sensitive attributes)?",
        _schema,
    ),
)


def frame_rows(conn: Any, ref: ModelVersionRef) -> pd.DataFrame:
    """``ref``'s rows of the evaluation frame with its sensitive attributes, what the checks
    read (on any warehouse connection)."""
    return conn.execute(
        f"select * from {dbt_relation('eval_frame_wide')} "
        "where model_name = ? and model_version = ? order by example_id",
        [ref.name, ref.version],
    ).df()


def build_frame_check(rule: FrameRule) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=EVAL_FRAME_WIDE_KEY,
        name=rule.name,
        description=rule.description,
        blocking=True,
        pool=WAREHOUSE_POOL,
        partitions_def=model_versions,
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        evaluation_config: EvaluationConfigResource,
    ) -> dg.AssetCheckResult:
        ref = parse_partition_key(context.partition_key)
        attributes = sensitive_attributes(evaluation_config.load())
        with warehouse.connect() as conn:
            frame = frame_rows(conn, ref)
        outcome = rule.evaluate(frame, attributes)
        metadata: dict = {"model_version": ref.version, **outcome.observed}
        if not outcome.passed:
            metadata["failed_rules"] = dg.MetadataValue.md(outcome.message)
            if not outcome.sample.empty:
                metadata["offending_sample"] = dg.MetadataValue.md(
                    outcome.sample.to_markdown(index=False)
                )
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description=rule.description if outcome.passed else outcome.message,
        )

    return _check


frame_checks = [build_frame_check(rule) for rule in FRAME_RULES]
