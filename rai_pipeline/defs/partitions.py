"""Evaluations are partitioned by registered model version: key ``<model>@<version>``."""

import dagster as dg

model_versions = dg.DynamicPartitionsDefinition(name="model_versions")

# LLM features, registered like models: key ``<model>@<version>`` too.
llm_feature_versions = dg.DynamicPartitionsDefinition(name="llm_feature_versions")
