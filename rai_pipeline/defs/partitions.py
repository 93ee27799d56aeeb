"""Evaluations are partitioned by registered model version: key ``<model>@<version>``."""

import dagster as dg

model_versions = dg.DynamicPartitionsDefinition(name="model_versions")
