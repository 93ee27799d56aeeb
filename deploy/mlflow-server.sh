#!/usr/bin/env bash
# An MLflow tracking server for rai-pipeline: tracking store and model registry in PostgreSQL,
# artifacts served by the server from a folder (or an object store URI).
#
#   RAI_MLFLOW_PG_URL   postgresql+psycopg2://USER:PASSWORD@HOST:PORT/DB (secret: environment only)
#   RAI_MLFLOW_ARTIFACTS  where the server keeps artifacts (default ./mlflow-artifacts)
#   RAI_MLFLOW_HOST, RAI_MLFLOW_PORT  where it listens (default 127.0.0.1:5000)
#
# Clients then use: export RAI_MLFLOW_TRACKING_URI=http://HOST:PORT
# The database URL is passed through the environment (MLFLOW_BACKEND_STORE_URI), never on the
# command line, so it does not show in the process list.
set -euo pipefail
: "${RAI_MLFLOW_PG_URL:?set RAI_MLFLOW_PG_URL to postgresql+psycopg2://user:password@host:port/db}"
export MLFLOW_BACKEND_STORE_URI="$RAI_MLFLOW_PG_URL"
# no background job runner: rai-pipeline does not use MLflow's server-side jobs
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
exec mlflow server \
  --artifacts-destination "${RAI_MLFLOW_ARTIFACTS:-./mlflow-artifacts}" \
  --host "${RAI_MLFLOW_HOST:-127.0.0.1}" \
  --port "${RAI_MLFLOW_PORT:-5000}" \
  --workers "${RAI_MLFLOW_WORKERS:-2}"
