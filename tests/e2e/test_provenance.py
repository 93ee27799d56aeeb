"""Provenance on the demo: the Dagster instance records, for every asset we compute, a code
version and a data version equal to a digest recomputed here from what was produced; the
evidence pack's materialization names its model version, dataset version and MLflow run."""

import hashlib
import json
import struct
from contextlib import contextmanager

import dagster as dg
import duckdb

from rai_pipeline.core.storage import read_parquet
from rai_pipeline.defs.lineage import frame_digest

DATA_VERSION, CODE_VERSION = "dagster/data_version", "dagster/code_version"
LANDED_FILES = {
    "examples": "examples.parquet",
    "labels": "labels.parquet",
    "subject_attributes": "subject_attributes.parquet",
    "dataset_versions": "dataset_version.parquet",
}


@contextmanager
def demo_instance(home):
    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
        yield instance


def latest(instance, key, partition: str | None = None) -> dg.AssetMaterialization:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(key), asset_partitions=[partition] if partition else None
        ),
        limit=1,
    ).records
    assert records, f"no materialization of {key} {partition or ''}"
    materialization = records[0].asset_materialization
    assert materialization is not None
    return materialization


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_versions() -> dict[str, str | None]:
    from rai_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return {k.to_user_string(): graph.get(k).code_version for k in graph.get_all_asset_keys()}


def test_landing_materializations_carry_the_sha256_of_each_landed_file(demo):
    home, outcomes, _ = demo
    assert all(o.success for o in outcomes), [o.error for o in outcomes]
    versions = code_versions()
    with demo_instance(home) as instance:
        for name, filename in LANDED_FILES.items():
            event = latest(instance, ["landing", name])
            landed = (home.landing / "current" / filename).read_bytes()
            assert event.tags[DATA_VERSION] == sha256(landed), name
            assert event.tags[CODE_VERSION] == versions[f"landing/{name}"]
        # the dbt staging model recorded the extract's data version as its input
        staging = latest(instance, ["staging", "stg_examples"])
        provenance = dg.DataProvenance.from_tags(staging.tags)
        assert provenance is not None
        assert provenance.input_data_versions[dg.AssetKey(["landing", "examples"])] == (
            dg.DataVersion(latest(instance, ["landing", "examples"]).tags[DATA_VERSION])
        )


def test_predictions_data_version_is_the_digest_of_the_scored_rows(demo):
    home, outcomes, _ = demo
    versions = code_versions()
    with (
        demo_instance(home) as instance,
        duckdb.connect(str(home.warehouse), read_only=True) as conn,
    ):
        for outcome in outcomes:
            name, version = outcome.partition_key.split("@")
            rows = conn.execute(
                "select example_id, score from landing.predictions "
                "where model_name = ? and model_version = ? order by example_id",
                [name, version],
            ).fetchall()
            expected = sha256(b"".join(struct.pack("<qd", i, s) for i, s in rows))
            event = latest(instance, ["predictions"], outcome.partition_key)
            assert event.tags[DATA_VERSION] == expected
            assert event.tags[CODE_VERSION] == versions["predictions"]


def test_metric_tables_data_versions_are_digests_of_the_published_tables(demo):
    home, outcomes, _ = demo
    versions = code_versions()
    with demo_instance(home) as instance:
        for outcome in outcomes:
            manifest = json.loads((outcome.pack / "manifest.json").read_text())
            lineage = manifest["lineage"]
            for table in ("slice_metrics", "fairness_metrics"):
                frame = read_parquet(outcome.pack / f"{table}.parquet")
                event = latest(instance, [table], outcome.partition_key)
                assert event.tags[DATA_VERSION] == frame_digest(frame), table
                assert event.tags[CODE_VERSION] == versions[table]
                metadata = event.metadata
                assert metadata["model_version"].value == lineage["model_version"]
                assert metadata["dataset_version"].value == lineage["dataset_version"]
                assert metadata["evaluation_id"].value == lineage["evaluation_id"]


def test_evidence_pack_carries_its_digest_model_dataset_and_mlflow_run(demo):
    from mlflow import MlflowClient

    home, outcomes, _ = demo
    client = MlflowClient(tracking_uri=home.tracking_uri, registry_uri=home.tracking_uri)
    versions = code_versions()
    with demo_instance(home) as instance:
        for outcome in outcomes:
            name, version = outcome.partition_key.split("@")
            manifest_bytes = (outcome.pack / "manifest.json").read_bytes()
            lineage = json.loads(manifest_bytes)["lineage"]
            event = latest(instance, ["evidence_pack"], outcome.partition_key)
            digest = sha256(manifest_bytes)
            tagged = client.get_model_version(name, version).tags["rai.evidence_digest"]
            assert event.tags[DATA_VERSION] == digest == tagged
            assert event.tags[CODE_VERSION] == versions["evidence_pack"]

            metadata = {key: value.value for key, value in event.metadata.items()}
            assert metadata["model_name"] == name and metadata["model_version"] == version
            assert metadata["model_uri"] == f"models:/{name}/{version}"
            assert metadata["dataset_version"] == lineage["dataset_version"]
            assert metadata["model_artifact_sha256"] == lineage["model_artifact_sha256"]
            assert metadata["evaluation_id"] == lineage["evaluation_id"]
            assert metadata["evidence_digest"] == digest
            assert metadata["path"] == str(outcome.pack)
            run_id = metadata["mlflow_run_id"]
            assert run_id == lineage["mlflow_run_id"]
            run = client.get_run(run_id)
            assert isinstance(event.metadata["mlflow_run"], dg.UrlMetadataValue)
            # a local (SQLite) store has no web UI: the link is the run's artifact location
            assert metadata["mlflow_run"] == run.info.artifact_uri
            assert run_id in metadata["mlflow_run"]
