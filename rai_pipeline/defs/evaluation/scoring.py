"""Scoring one registered model version: load ``models:/<name>/<version>`` from the store,
score the frozen evaluation examples, and write the scores to the predictions table and the
scoring record (model artifact digest, training run, source) to ``scoring_runs``.

Also the key that every result table of one model version is stored under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from rai_pipeline.adapters.sql_engines import SparkEngine
from rai_pipeline.core.engine import results
from rai_pipeline.core.governance.registry import EvaluationStore, ModelVersionRef
from rai_pipeline.core.landing.extracts import (
    PREDICTIONS_DDL,
    PREDICTIONS_DDL_SPARK,
    PREDICTIONS_TABLE,
)
from rai_pipeline.defs.dbt.project import dbt_relation
from rai_pipeline.defs.lineage import predictions_digest
from rai_pipeline.defs.resources import WarehouseResource

MSG_SCORE_COUNT = "model {uri} returned {got} scores for {expected} examples"
MSG_SCORE_NOT_FINITE = "model {uri} returned {count} scores that are NaN or infinite"


def version_key(ref: ModelVersionRef) -> dict[str, str]:
    """The key columns of one model version's rows in the result tables."""
    return {"model_name": ref.name, "model_version": ref.version}


@dataclass(frozen=True)
class ScoringRecord:
    ref: ModelVersionRef
    rows: int
    model_artifact_sha256: str
    model_run_id: str
    model_source: str
    score_min: float
    score_max: float


@dataclass(frozen=True)
class Scored:
    """What one scoring wrote to the predictions table: how many scores, their range."""

    rows: int
    low: float
    high: float


def score_model_version(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: EvaluationStore,
    run_id: str,
    log: Any,
) -> ScoringRecord:
    """Score the frozen examples with ``models:/<name>/<version>`` into the warehouse: in this
    process, or on Spark as an MLflow ``spark_udf`` when the warehouse is Spark."""
    if warehouse.engine == "spark":
        with warehouse.connect() as conn:
            scored = score_on_spark(ref, session=conn.session, store=store, run_id=run_id, log=log)
    else:
        scored = _score_here(ref, warehouse=warehouse, store=store, run_id=run_id, log=log)
    info = {v.ref: v for v in store.list_versions(ref.name)}[ref]
    record = ScoringRecord(
        ref=ref,
        rows=scored.rows,
        model_artifact_sha256=store.model_artifact_digest(ref),
        model_run_id=info.run_id or "",
        model_source=info.source or "",
        score_min=scored.low,
        score_max=scored.high,
    )
    with warehouse.connect() as conn:
        results.replace_rows(
            conn,
            "scoring_runs",
            pd.DataFrame(
                [
                    {
                        **version_key(ref),
                        "model_uri": ref.uri,
                        "model_artifact_sha256": record.model_artifact_sha256,
                        "model_run_id": record.model_run_id,
                        "model_source": record.model_source,
                        "rows": record.rows,
                        "dagster_run_id": run_id,
                    }
                ]
            ),
            key=version_key(ref),
        )
    return record


def _score_here(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: EvaluationStore,
    run_id: str,
    log: Any,
) -> Scored:
    """Score the frozen examples in this process and write the scores to the warehouse."""
    log.info(f"Loading {ref.uri}")
    scorer = store.load_scorer(ref)
    with warehouse.connect() as conn:
        examples = conn.execute(
            f"select * from {dbt_relation('stg_examples')} order by example_id"
        ).df()
    log.info(f"Scoring {len(examples):,} examples")
    scores = np.asarray(scorer(examples.drop(columns=["example_id"])), dtype=float)
    if scores.shape != (len(examples),):
        raise ValueError(
            MSG_SCORE_COUNT.format(uri=ref.uri, got=scores.size, expected=len(examples))
        )
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise ValueError(MSG_SCORE_NOT_FINITE.format(uri=ref.uri, count=bad))
    frame = pd.DataFrame(
        {
            "model_name": ref.name,
            "model_version": ref.version,
            "example_id": examples["example_id"].astype("int64"),
            "score": scores,
            "scored_at_run": run_id,
        }
    )
    with warehouse.connect() as conn:
        write_scores(conn, ref, frame)
    if not len(scores):
        return Scored(0, float("nan"), float("nan"))
    return Scored(len(scores), float(scores.min()), float(scores.max()))


def write_scores(conn: Any, ref: ModelVersionRef, frame: pd.DataFrame) -> None:
    """``ref``'s scores (``frame``: the columns of the predictions table) replace those an
    earlier scoring of ``ref`` wrote there, in one transaction: on the DuckDB warehouse here,
    on PostgreSQL by the engine (``adapters.sql_engines``; Spark scores with
    :func:`score_on_spark` instead)."""
    if not isinstance(conn, duckdb.DuckDBPyConnection):
        schema, table = PREDICTIONS_TABLE.split(".")
        conn.replace_rows(schema, table, frame, version_key(ref))
        return
    conn.execute(PREDICTIONS_DDL)
    results.replace_key_rows(conn, PREDICTIONS_TABLE, frame, version_key(ref))


def score_on_spark(
    ref: ModelVersionRef, *, session: Any, store: Any, run_id: str, log: Any
) -> Scored:
    """Score the frozen examples (``stg_examples``) with ``models:/<name>/<version>`` as an
    MLflow ``spark_udf`` and write the scores into ``ref``'s partition of the predictions
    table, replacing what an earlier scoring of ``ref`` wrote there. The rows stay in Spark;
    only the count of scores that are NaN or infinite (refused), the number of rows and the
    scores' range come back. ``store`` is an
    :class:`~rai_pipeline.adapters.mlflow_store.MlflowStore`."""
    from pyspark.sql import functions as F

    log.info(f"Scoring {ref.uri} on Spark (spark_udf)")
    scored = store.spark_scorer(ref, session)(session.table(dbt_relation("stg_examples")))
    scored = scored.select(
        "example_id",
        "score",
        F.lit(run_id).alias("scored_at_run"),
        F.lit(ref.name).alias("model_name"),
        F.lit(ref.version).alias("model_version"),
    ).cache()
    try:
        not_finite = F.isnan("score") | F.col("score").isNull() | (F.abs("score") == float("inf"))
        counts = scored.select(
            F.count(F.lit(1)), F.count(F.when(not_finite, 1)), F.min("score"), F.max("score")
        ).first()
        rows, bad, low, high = counts if counts is not None else (0, 0, None, None)
        if bad:
            raise ValueError(MSG_SCORE_NOT_FINITE.format(uri=ref.uri, count=bad))
        session.sql(f"CREATE DATABASE IF NOT EXISTS {PREDICTIONS_TABLE.split('.')[0]}")
        session.sql(PREDICTIONS_DDL_SPARK)
        SparkEngine(session).overwrite_partitions(PREDICTIONS_TABLE, scored)
    finally:
        scored.unpersist()
    nan = float("nan")
    return Scored(
        int(rows), nan if low is None else float(low), nan if high is None else float(high)
    )


def predictions_data_version(ref: ModelVersionRef, *, warehouse: WarehouseResource) -> str:
    """Digest of the scores stored for ``ref`` (example id and score, in example order)."""
    with warehouse.connect() as conn:
        return predictions_digest(conn, model_name=ref.name, model_version=ref.version)
