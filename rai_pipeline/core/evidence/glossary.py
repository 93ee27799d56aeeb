"""What each lineage id of a pack means, in the words the documents print beside it, and the
words for the minimum-size rules that exclude a group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LINEAGE_TERMS = {
    "config_digest": "the config digest: sha256 of the evaluation config's canonical JSON "
    "(its keys sorted; keys left at a later-added default omitted), so that formatting and "
    "comments do not change it. It is not the sha256 of the config file's bytes, which the "
    "manifest lists among the inputs",
    "dagster_run_id": "the Dagster run that computed the pack",
    "dataset_version": "sha256 over the landed extracts' digests (for rai evaluate-file: of "
    "the predictions file)",
    "dbt_manifest_sha256": "sha256 of the dbt manifest that built the evaluation frame",
    "evaluated_on": "the day the evaluation is as of: dispositions are judged on it",
    "evaluation_id": "derived from the dataset version, the config digest and, in the "
    "pipeline, the model version",
    "git_commit": "the code that computed the pack (+dirty: with uncommitted changes)",
    "input_file": "the predictions file evaluated",
    "input_rows": "its rows",
    "mlflow_run_id": "the MLflow run that holds the same files",
    "mlflow_tracking_uri": "the MLflow store of that run and of the model version",
    "model_artifact_sha256": "sha256 over the registered model's artifact files",
    "model_name": "the model's name, as recorded",
    "model_run_id": "the MLflow run that trained the model",
    "model_uri": "where the scores came from",
    "model_version": "the model's version, as recorded",
    "multiple_testing": "how verdicts were adjusted for the number of claims",
    "rai_home": "the folder of the pipeline's stores",
    "rai_pipeline_version": "the package version",
    "roc_auc_method": "how roc_auc_score was computed",
}
RULE_WORDS = {
    "min_group_size": "fewer than {min_group_size} rows",
    "min_positives": "fewer than {min_positives} positives",
    "min_negatives": "fewer than {min_negatives} negatives",
}
# The lineage key that holds the config digest (the name it has had since the first release).
CONFIG_DIGEST_KEY = "config_sha256"


def lineage_rows(lineage: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``key``, ``value`` and ``meaning`` of each lineage id, sorted by key."""
    rows = []
    for key in sorted(lineage):
        term = "config_digest" if key == CONFIG_DIGEST_KEY else key
        rows.append({"key": key, "value": lineage[key], "meaning": LINEAGE_TERMS.get(term, "")})
    return rows


def exclusion_reason(excluded_by: str, minimums: Mapping[str, int]) -> str:
    """The rules of ``excluded_by`` (``min_positives, min_negatives``) in words, each with the
    rule's name: ``fewer than 5 positives (min_positives)``."""
    rules = [rule.strip() for rule in excluded_by.split(",") if rule.strip()]
    return "; ".join(f"{RULE_WORDS[rule].format(**minimums)} ({rule})" for rule in rules)
