"""The code location ``dagster dev`` loads (``workspace.yaml``): the entry point that prepares
RAI_HOME and the dbt manifest, then hands Dagster the definitions."""

from rai_pipeline.defs.dbt.prepare import ensure_dbt_manifest
from rai_pipeline.settings import configure_environment

configure_environment()
ensure_dbt_manifest()

from rai_pipeline.definitions import defs  # noqa: E402  (needs the manifest)

__all__ = ["defs"]
