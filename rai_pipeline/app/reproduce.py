"""`rai reproduce`: re-run an evaluation from its recorded inputs and compare the tables.

Where the inputs are comes from the pack (:mod:`~rai_pipeline.app.pack_sources`), never from
the current folder. A pipeline pack is re-run in a scratch RAI_HOME through the same Dagster
definitions: the landed extracts of the recorded dataset version are copied in (their digests
checked), the model is loaded from the recorded registry, and the graph is materialized up to
``fairness_metrics`` (no evidence is published, no tag is written). An ``rai evaluate-file``
pack is re-run from its recorded predictions file and config (their digests checked) into a
scratch folder. The recomputed tables are then compared with the pack's, value by value.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rai_pipeline.app.pack_sources import file_sources, is_file_pack, pipeline_sources
from rai_pipeline.core.engine import results
from rai_pipeline.core.evidence.verify import read_manifest
from rai_pipeline.core.landing.extracts import CURRENT_LINK, EXTRACTS, VERSION_FILE, VERSIONS_DIR
from rai_pipeline.core.storage import file_sha256, read_parquet
from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
from rai_pipeline.settings import RaiHome, configure_environment, environment

TABLES = ("slice_metrics", "fairness_metrics")
KEY_COLUMNS = {
    "slice_metrics": ["dimension", "group", "metric"],
    "fairness_metrics": ["dimension", "metric", "group"],
}
MSG_EXTRACT = "{path}: the landed extract does not match the pack's recorded sha256 {sha256}"
MSG_CONFIG = "{path}: the config does not match the pack's recorded sha256 {sha256}"


class ReproduceError(RuntimeError):
    """An input of the recorded evaluation is missing or changed."""


@dataclass
class ReproduceReport:
    identical: bool
    compared: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)


def _stage_dataset(source: RaiHome, scratch: RaiHome, manifest: dict) -> None:
    version = manifest["lineage"]["dataset_version"]
    origin = source.landing / VERSIONS_DIR / version
    target = scratch.landing / VERSIONS_DIR / version
    target.mkdir(parents=True)
    for item in manifest["inputs"]:
        if item.get("kind") == "landed_extract":
            path = origin / f"{item['name']}.parquet"
            if not path.exists() or file_sha256(path) != item["sha256"]:
                raise ReproduceError(MSG_EXTRACT.format(path=path, sha256=item["sha256"]))
    for name in (*EXTRACTS, VERSION_FILE):
        shutil.copy2(origin / f"{name}.parquet", target / f"{name}.parquet")
    (scratch.landing / CURRENT_LINK).symlink_to(Path(VERSIONS_DIR) / version)


def _config_path(manifest: dict) -> Path:
    [config] = [item for item in manifest["inputs"] if item.get("kind") == "config"]
    path = Path(config["name"])
    if not path.exists() or file_sha256(path) != config["sha256"]:
        raise ReproduceError(MSG_CONFIG.format(path=path, sha256=config["sha256"]))
    return path


def compare_tables(table: str, recorded: pd.DataFrame, recomputed: pd.DataFrame) -> list[str]:
    """Differences between two versions of a result table: rows only in one, changed values."""
    keys = KEY_COLUMNS[table]
    left, right = recorded.set_index(keys), recomputed.set_index(keys)
    out = [f"{table}: only in the pack: {k}" for k in left.index.difference(right.index)]
    out += [f"{table}: only recomputed: {k}" for k in right.index.difference(left.index)]
    common = left.index.intersection(right.index)
    for column in sorted(set(left.columns) & set(right.columns)):
        a, b = left.loc[common, column], right.loc[common, column]
        same = (a == b) | (a.isna() & b.isna())
        for key in common[~same.to_numpy()]:
            out.append(
                f"{table}: {key} {column}: pack {left.at[key, column]!r} "
                f"!= recomputed {right.at[key, column]!r}"
            )
    return out


def reproduce(pack: Path, *, echo: Callable[[str], None] = print) -> ReproduceReport:
    pack = Path(pack)
    manifest = read_manifest(pack)
    if is_file_pack(manifest):
        recomputed = _rerun_file(pack, manifest, echo)
    else:
        recomputed = _rerun_pipeline(pack, manifest, echo)
    differences: list[str] = []
    compared: dict[str, int] = {}
    for table in TABLES:
        recorded = read_parquet(pack / f"{table}.parquet")
        compared[table] = len(recorded)
        differences += compare_tables(table, recorded, recomputed[table])
    return ReproduceReport(not differences, compared, differences)


def _rerun_pipeline(
    pack: Path, manifest: dict, echo: Callable[[str], None]
) -> dict[str, pd.DataFrame]:
    sources = pipeline_sources(pack, manifest)
    lineage = manifest["lineage"]
    config_path = _config_path(manifest)
    with tempfile.TemporaryDirectory(prefix="rai-reproduce-") as tmp:
        scratch = RaiHome(Path(tmp))
        _stage_dataset(sources.home, scratch, manifest)
        echo(f"Re-running {lineage['model_uri']} on dataset {lineage['dataset_version'][:16]}…")
        variables = ("RAI_HOME", "DAGSTER_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
        registry = {
            "RAI_CONFIG": str(config_path),
            "RAI_MLFLOW_TRACKING_URI": sources.tracking_uri,
            "RAI_MLFLOW_ARTIFACT_ROOT": str(sources.home.artifact_root),
        }
        with environment(registry, restore=variables):
            configure_environment(scratch)
            return _run(scratch, lineage)


def _rerun_file(pack: Path, manifest: dict, echo: Callable[[str], None]) -> dict[str, pd.DataFrame]:
    from rai_pipeline.app.evaluate_file import evaluate_file

    sources = file_sources(pack, manifest)
    lineage = manifest["lineage"]
    echo(f"Re-running rai evaluate-file on {sources.input_file} with {sources.config}")
    with tempfile.TemporaryDirectory(prefix="rai-reproduce-") as tmp:
        out = Path(tmp) / "pack"
        evaluate_file(
            sources.input_file,
            config_path=sources.config,
            out=out,
            model_name=str(lineage["model_name"]),
            model_version=str(lineage["model_version"]),
            spill=Path(tmp) / "spill",
        )
        return {table: read_parquet(out / f"{table}.parquet") for table in TABLES}


def _run(scratch: RaiHome, lineage: dict) -> dict[str, pd.DataFrame]:
    """Materialize everything but the evidence pack for the recorded partition in ``scratch``
    (the registry comes from ``RAI_MLFLOW_*``); return the recomputed result tables."""
    import dagster as dg
    import duckdb

    ensure_dbt_manifest()
    from rai_pipeline.definitions import defs
    from rai_pipeline.defs.evaluation.jobs import EVALUATE_JOB
    from rai_pipeline.defs.partitions import model_versions

    key = f"{lineage['model_name']}@{lineage['model_version']}"
    job = defs.resolve_job_def(EVALUATE_JOB)
    # the metric tables it compares; not the pack, nor the importances (no table it checks)
    skipped = {"evidence_pack", "feature_importance"}
    selection = [k for k in job.asset_layer.executable_asset_keys if k.path[-1] not in skipped]
    with (
        dg.DagsterInstance.ephemeral() as instance,
        (scratch.root / "reproduce.log").open("w") as log,
        contextlib.redirect_stdout(log),
    ):
        instance.add_dynamic_partitions(model_versions.name, [key])
        result = job.execute_in_process(
            partition_key=key,
            instance=instance,
            asset_selection=selection,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    if not result.success:
        raise ReproduceError(f"the re-run of {key} failed in the scratch folder {scratch.root}")
    with duckdb.connect(str(scratch.warehouse), read_only=True) as conn:
        return {table: results.read_rows(conn, table, key={}) for table in TABLES}
