"""rai-pipeline: traceable Responsible-AI evidence for model versions."""

import os as _os

# MLflow, dbt, Dagster and Great Expectations read these at import time; none of them may
# reach the network from here. Users can still override each one explicitly.
for _key, _value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}.items():
    _os.environ.setdefault(_key, _value)

__version__ = "0.1.0"
