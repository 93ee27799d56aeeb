"""The registry sensor, stepped through cursor scenarios with build_sensor_context."""

from __future__ import annotations

import dagster as dg
import yaml

from rai_pipeline.core.governance.registry import EVALUATED_TAG, ModelVersionInfo, ModelVersionRef
from rai_pipeline.defs.evaluation.sensors import MAX_REQUESTS_PER_TICK, registered_model_versions
from rai_pipeline.defs.resources import EvaluationConfigResource, MlflowResource, RaiHomeResource
from rai_pipeline.settings import DAGSTER_YAML


class FakeStore:
    """A file-free registry: versions per model name."""

    def __init__(self, versions: dict[str, list[ModelVersionInfo]]) -> None:
        self.versions = versions

    def list_versions(self, name: str) -> list[ModelVersionInfo]:
        return list(self.versions.get(name, []))


class FakeMlflowResource(MlflowResource):
    """Serves a FakeStore through the real resource's interface."""

    def store(self):  # type: ignore[override]
        return FakeStore(_REGISTRY)


_REGISTRY: dict[str, list[ModelVersionInfo]] = {}


def info(number: int, *, evaluated: bool = False, status: str = "READY") -> ModelVersionInfo:
    tags = {EVALUATED_TAG: "run-id"} if evaluated else {}
    return ModelVersionInfo(ModelVersionRef("adult-income", str(number)), status=status, tags=tags)


def tick(cursor: str | None, config_path, **options) -> dg.SensorResult:
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={
                "mlflow": FakeMlflowResource(),
                "evaluation_config": EvaluationConfigResource(path=str(config_path)),
                "rai_home": RaiHomeResource(home=str(config_path.parent / "home")),
            },
            **options,
        )
        return registered_model_versions(context)


def write_config(tmp_path):
    path = tmp_path / "rai.yaml"
    path.write_text("registered_models: [adult-income]\nsensitive_features: [sex]\n")
    return path


def test_new_versions_get_a_partition_and_an_idempotent_run(tmp_path):
    _REGISTRY["adult-income"] = [info(1), info(2)]
    result = tick(None, write_config(tmp_path))
    assert [r.partition_key for r in result.run_requests] == ["adult-income@1", "adult-income@2"]
    assert [r.run_key for r in result.run_requests] == ["adult-income@1", "adult-income@2"]
    assert result.dynamic_partitions_requests[0].partition_keys == [
        "adult-income@1",
        "adult-income@2",
    ]
    assert result.cursor == '{"adult-income": 2}'


def test_second_tick_with_no_new_version_skips_and_keeps_cursor(tmp_path):
    _REGISTRY["adult-income"] = [info(1), info(2)]
    result = tick('{"adult-income": 2}', write_config(tmp_path))
    assert result.run_requests == []
    assert result.cursor == '{"adult-income": 2}'
    assert "no new versions of adult-income" in result.skip_reason.skip_message


def test_already_evaluated_versions_are_not_rerun(tmp_path):
    _REGISTRY["adult-income"] = [info(1, evaluated=True), info(2)]
    result = tick(None, write_config(tmp_path))
    assert [r.partition_key for r in result.run_requests] == ["adult-income@2"]


def test_sensor_does_not_advance_cursor_past_unrequested_version(tmp_path):
    _REGISTRY["adult-income"] = [info(n) for n in range(1, MAX_REQUESTS_PER_TICK + 3)]
    first = tick(None, write_config(tmp_path))
    assert len(first.run_requests) == MAX_REQUESTS_PER_TICK
    assert first.cursor == f'{{"adult-income": {MAX_REQUESTS_PER_TICK}}}'
    second = tick(first.cursor, write_config(tmp_path))
    assert [r.partition_key for r in second.run_requests] == [
        f"adult-income@{MAX_REQUESTS_PER_TICK + 1}",
        f"adult-income@{MAX_REQUESTS_PER_TICK + 2}",
    ]


def test_pending_registration_holds_the_cursor(tmp_path):
    _REGISTRY["adult-income"] = [info(1), info(2, status="PENDING_REGISTRATION")]
    result = tick(None, write_config(tmp_path))
    assert [r.partition_key for r in result.run_requests] == ["adult-income@1"]
    assert result.cursor == '{"adult-income": 1}'


def test_runs_on_a_postgres_warehouse_are_pointed_at_it_and_not_queued(tmp_path, dbt_manifest):
    """The config's warehouse reaches each run: the warehouse resource's engine in the run
    config (which the evaluation job accepts), and the tag rai/warehouse that the instance
    limits to one run at a time only for DuckDB."""
    from rai_pipeline.definitions import defs
    from rai_pipeline.defs.evaluation.jobs import EVALUATE_JOB

    _REGISTRY["adult-income"] = [info(1)]
    on_duckdb = tick(None, write_config(tmp_path)).run_requests[0]
    assert on_duckdb.tags["rai/warehouse"] == "duckdb"
    assert on_duckdb.run_config == {"resources": {}}
    config = write_config(tmp_path)
    config.write_text(config.read_text() + "warehouse: {engine: postgres}\n")
    on_postgres = tick(None, config).run_requests[0]
    assert on_postgres.tags["rai/warehouse"] == "postgres"
    assert on_postgres.run_config == {
        "resources": {"warehouse": {"config": {"engine": "postgres"}}}
    }
    job = defs.resolve_job_def(EVALUATE_JOB)
    resolved = dg.validate_run_config(job, on_postgres.run_config)
    assert resolved["resources"]["warehouse"]["config"]["engine"] == "postgres"
    limits = yaml.safe_load(DAGSTER_YAML.read_text())["concurrency"]["runs"]
    assert {"key": "rai/warehouse", "value": "duckdb", "limit": 1} in limits[
        "tag_concurrency_limits"
    ]
    assert not any(limit["value"] == "postgres" for limit in limits["tag_concurrency_limits"])


def test_runs_on_the_spark_warehouse_run_in_one_process_one_run_at_a_time(tmp_path, dbt_manifest):
    """The local Spark catalog opens in one process at a time: a sensor's run on it gets the
    warehouse resource's engine, the in-process executor (which the evaluation job accepts),
    and the tag rai/warehouse: spark, which the instance limits to one run at a time."""
    from rai_pipeline.definitions import defs
    from rai_pipeline.defs.evaluation.jobs import EVALUATE_JOB

    _REGISTRY["adult-income"] = [info(1)]
    config = write_config(tmp_path)
    config.write_text(config.read_text() + "warehouse: {engine: spark}\n")
    on_spark = tick(None, config).run_requests[0]
    assert on_spark.tags["rai/warehouse"] == "spark"
    assert on_spark.run_config == {
        "resources": {"warehouse": {"config": {"engine": "spark"}}},
        "execution": {"config": {"in_process": {}}},
    }
    job = defs.resolve_job_def(EVALUATE_JOB)
    resolved = dg.validate_run_config(job, on_spark.run_config)
    assert resolved["resources"]["warehouse"]["config"]["engine"] == "spark"
    assert "in_process" in resolved["execution"]["multi_or_in_process_executor"]
    limits = yaml.safe_load(DAGSTER_YAML.read_text())["concurrency"]["runs"]
    assert {"key": "rai/warehouse", "value": "spark", "limit": 1} in limits[
        "tag_concurrency_limits"
    ]
