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


def column_flags(model_names: list[str]) -> list[dict]:
    """Per column of the named dbt models: the ``sensitive`` / ``restricted`` flags from dbt
    ``meta`` and the column description, in manifest order."""
    import json

    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    rows = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["name"] not in model_names:
            continue
        for column in node["columns"].values():
            meta = column.get("meta") or {}
            rows.append(
                {
                    "model": node["name"],
                    "column": column["name"],
                    "sensitive": bool(meta.get("sensitive")),
                    "restricted": bool(meta.get("restricted")),
                    "description": " ".join(str(column.get("description") or "").split()),
                }
            )
    order = {name: i for i, name in enumerate(model_names)}
    return sorted(rows, key=lambda row: order[row["model"]])
