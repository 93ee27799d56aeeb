"""The dbt project handle. Kept apart from ``@dbt_assets`` so tooling can import it alone."""

from dagster_dbt import DbtProject

from rai_pipeline.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_relation(model_name: str) -> str:
    """``schema.alias`` of a dbt model, as built by the project's profile (from the manifest)."""
    import json

    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == model_name:
            return f"{node['schema']}.{node['alias']}"
    raise KeyError(f"dbt model {model_name!r} is not in {dbt_project.manifest_path}")
