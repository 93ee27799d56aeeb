"""A failing data check stops evidence generation for that version and names the rule.

Runs the real Great Expectations and pandera checks as Dagster asset checks against a real
DuckDB warehouse. Only the evaluation frame is a stand-in (an asset with the same key that
writes a frame with planted defects), so the test needs no dbt run.
"""

import dagster as dg
import pandas as pd

from rai_pipeline.demo.synthetic import make_synthetic_frame

PARTITION = "adult-income@7"


def frame_with_bad_labels(bad_rows: list[int]) -> pd.DataFrame:
    synthetic = make_synthetic_frame(200, seed=3)
    frame = pd.DataFrame(
        {
            "model_name": "adult-income",
            "model_version": "7",
            "example_id": synthetic["example_id"],
            "label": synthetic["label"].astype("int32"),
            "score": synthetic["score"],
            "threshold": 0.5,
            "decision": (synthetic["score"] >= 0.5).astype("int32"),
            "sex": synthetic["group_b"].astype(str),
            "race": synthetic["group_a"].astype(str),
            "age_band": "25-44",
            "dataset_version": "d" * 64,
        }
    )
    frame.loc[bad_rows, "label"] = 2
    return frame


def materialize_with_frame(frame: pd.DataFrame, tmp_path, dbt_manifest):
    from rai_pipeline.defs.evaluation.assets import EVAL_FRAME_WIDE_KEY, slice_metrics
    from rai_pipeline.defs.evaluation.checks import frame_checks
    from rai_pipeline.defs.partitions import model_versions
    from rai_pipeline.defs.resources import EvaluationConfigResource, WarehouseResource

    @dg.asset(key=EVAL_FRAME_WIDE_KEY, partitions_def=model_versions)
    def planted_eval_frame(warehouse: WarehouseResource) -> None:
        with warehouse.connect() as conn:
            conn.register("planted", frame)
            conn.execute("create schema if not exists marts")
            conn.execute("create or replace table marts.eval_frame_wide as select * from planted")

    config = tmp_path / "rai.yaml"
    config.write_text("sensitive_features: [sex, race]\n")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(model_versions.name, [PARTITION])
        result = dg.materialize(
            [planted_eval_frame, *frame_checks, slice_metrics],
            partition_key=PARTITION,
            instance=instance,
            resources={
                "warehouse": WarehouseResource(home=str(tmp_path)),
                "evaluation_config": EvaluationConfigResource(path=str(config)),
            },
            raise_on_error=False,
        )
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        materialized = {
            event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
        }
        return result, checks, materialized


def test_failing_checks_block_slice_metrics_and_name_the_rule(tmp_path, dbt_manifest):
    result, checks, materialized = materialize_with_frame(
        frame_with_bad_labels([3, 17, 42]), tmp_path, dbt_manifest
    )
    assert not result.success
    assert "slice_metrics" not in materialized
    expectation = checks["eval_frame_passes_expectation_suite"]
    schema = checks["eval_frame_matches_schema"]
    assert not expectation.passed and not schema.passed
    suite_text = expectation.metadata["failed_rules"].value
    assert "`label`" in suite_text and "expect_column_values_to_be_in_set" in suite_text
    schema_text = schema.metadata["failed_rules"].value
    assert "label" in schema_text and "3 row(s)" in schema_text
    assert "offending_sample" in schema.metadata


def test_a_clean_frame_passes_both_checks_and_metrics_follow(tmp_path, dbt_manifest):
    result, checks, materialized = materialize_with_frame(
        frame_with_bad_labels([]), tmp_path, dbt_manifest
    )
    assert result.success
    assert all(check.passed for check in checks.values())
    assert "slice_metrics" in materialized
