"""The landed extracts that dbt reads, as external assets at the root of the lineage graph."""

import dagster as dg

EXTRACTS = {
    "examples": ("examples.parquet", "Evaluation examples: example_id and model features."),
    "labels": ("labels.parquet", "Ground-truth labels: example_id and label 0/1."),
    "subject_attributes": (
        "subject_attributes.parquet",
        "Sensitive attributes of each example's subject (restricted columns).",
    ),
    "dataset_versions": (
        "dataset_version.parquet",
        "One row: the dataset version digest and each extract's sha256 and row count.",
    ),
}

landing_sources = [
    dg.AssetSpec(
        key=["landing", name],
        description=description,
        group_name="landing",
        kinds={"parquet"},
        metadata={"location": f"$RAI_HOME/landing/evaluation/current/{filename}"},
    )
    for name, (filename, description) in EXTRACTS.items()
]
