"""Lineage ids that every evaluation records: code, dbt manifest, package version."""

from rai_pipeline.code_version import code_version
from rai_pipeline.core.evidence.manifest import file_sha256
from rai_pipeline.defs.dbt.project import dbt_project


def code_lineage() -> dict[str, str]:
    return {**code_version(), "dbt_manifest_sha256": file_sha256(dbt_project.manifest_path)}
