"""Evaluations are partitioned by registered model version: key ``<model>@<version>``."""

import dagster as dg

model_versions = dg.DynamicPartitionsDefinition(name="model_versions")

# LLM features, registered like models: key ``<model>@<version>`` too.
llm_feature_versions = dg.DynamicPartitionsDefinition(name="llm_feature_versions")

# Production days of the monitored model (``YYYY-MM-DD``); logs before the start date are not
# monitored.
MONITORING_START = "2024-01-01"
monitoring_days = dg.DailyPartitionsDefinition(start_date=MONITORING_START)
