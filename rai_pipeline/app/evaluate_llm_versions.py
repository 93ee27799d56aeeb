"""``rai evaluate-llm-versions``: evaluate registered LLM feature versions through the Dagster
job the UI and the LLM registry sensor run, in-process, recorded in the Dagster instance
under RAI_HOME (the LLM counterpart of ``rai evaluate``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rai_pipeline.app.evaluate import (
    Echo,
    EvaluateError,
    JobSpec,
    VersionOutcome,
    evaluate_versions,
    versions_to_evaluate,
)
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import RaiHome

MSG_NOT_LANDED = (
    "{folder}: no landed LLM safety set for {name!r}; land it first: rai land-llm --config {config}"
)


def summarize_llm_pack(pack: Path) -> pd.DataFrame:
    """One row per policy axis (value, interval, verdict) and the gate."""
    from rai_pipeline.core.evidence.verify import read_manifest

    verdicts = read_parquet(pack / "llm_safety_verdicts.parquet")
    rows = [
        (str(r.metric), f"{r.value:.3f} [{r.ci_lower:.3f}, {r.ci_upper:.3f}] ({r.verdict})")
        for r in verdicts.itertuples()
    ]
    lineage = read_manifest(pack)["lineage"]
    rows.insert(0, ("model_version", str(lineage.get("feature_label", ""))))
    return pd.DataFrame(rows, columns=["", "value"])


def llm_job(config_path: Path) -> JobSpec:
    from rai_pipeline.defs.llm_safety.jobs import EVALUATE_LLM_JOB
    from rai_pipeline.defs.partitions import llm_feature_versions

    return JobSpec(
        job=EVALUATE_LLM_JOB,
        partitions=llm_feature_versions.name,
        resources={"llm_config": {"config": {"path": str(config_path.resolve())}}},
        stages="landing checks, dbt, data checks, evaluation, evidence",
        summarize=summarize_llm_pack,
    )


def run_evaluate_llm_versions(
    config_path: Path, version: str | None, *, home: RaiHome, echo: Echo
) -> list[VersionOutcome]:
    """Check the config and the landed set, then evaluate the chosen versions (every version
    not yet evaluated when ``version`` is None)."""
    import logging

    from rai_pipeline.adapters.mlflow_store import MlflowStore
    from rai_pipeline.core.llm_safety.config import load_llm_config
    from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
    from rai_pipeline.settings import configure_environment

    config, _ = load_llm_config(config_path)
    folder = home.llm_landing(config.model_name)
    if not (folder / "current" / "llm_set.parquet").is_file():
        raise EvaluateError(
            MSG_NOT_LANDED.format(folder=folder, name=config.model_name, config=config_path)
        )
    configure_environment(home)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    refs = versions_to_evaluate(store, config.model_name, version, echo)
    if not refs:
        return []
    echo(f"LLM config {config_path}; RAI_HOME {home.root}")
    ensure_dbt_manifest()
    return evaluate_versions(
        refs,
        home=home,
        config_path=config_path,
        echo=echo,
        tracking_uri=store.tracking_uri,
        spec=llm_job(config_path),
    )
