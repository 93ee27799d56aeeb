"""The feature-importance asset's plain function: permutation importance of one registered
version (:mod:`rai_pipeline.core.explain.importance`) on its evaluation rows, overall and per
sensitive attribute, stored in ``rai.feature_importance`` and
``rai.feature_importance_differences`` under the version's key; and the SHAP summary
(:mod:`rai_pipeline.core.explain.shap_summary`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine import results
from rai_pipeline.core.engine.sql import quote_identifier
from rai_pipeline.core.explain.importance import Importance, permutation_importances
from rai_pipeline.core.explain.shap_summary import shap_summary
from rai_pipeline.core.governance.registry import EvaluationStore, ModelVersionRef
from rai_pipeline.defs.dbt.project import dbt_relation
from rai_pipeline.defs.evaluation.scoring import version_key
from rai_pipeline.defs.resources import WarehouseResource

IMPORTANCE, DIFFERENCES, SHAP = (
    "feature_importance",
    "feature_importance_differences",
    "shap_summary",
)
TABLES = (IMPORTANCE, DIFFERENCES, SHAP)


def model_features(examples: pd.DataFrame, config: EvaluationConfig) -> list[str]:
    """The columns a model may read: the examples' columns but the id and the restricted."""
    restricted = set(config.dataset.restricted) if config.dataset else set()
    return [c for c in examples.columns if c != "example_id" and c not in restricted]


def evaluation_rows(conn: Any, ref: ModelVersionRef, config: EvaluationConfig) -> pd.DataFrame:
    """The version's evaluation rows: features, label and the sensitive attributes' groups."""
    groups = ", ".join(
        f"w.{quote_identifier(d)} as {quote_identifier('g_' + d)}"
        for d in config.sensitive_features
    )
    return conn.execute(
        f"select e.*, w.label{', ' + groups if groups else ''} "
        f"from {dbt_relation('stg_examples')} e "
        f"join {dbt_relation('eval_frame_wide')} w using (example_id) "
        "where w.model_name = ? and w.model_version = ? order by e.example_id",
        [ref.name, ref.version],
    ).df()


def compute_feature_importance(
    ref: ModelVersionRef,
    *,
    warehouse: WarehouseResource,
    store: EvaluationStore,
    config: EvaluationConfig,
) -> Importance | None:
    """The importances (None when ``explainability.enabled`` is off: no rows are kept)."""
    settings = config.explainability
    key = version_key(ref)
    if not settings.enabled:
        with warehouse.connect() as conn:
            for table in TABLES:
                results.delete_rows(conn, table, key=key)
        return None
    with warehouse.connect() as conn:
        rows = evaluation_rows(conn, ref, config)
    if len(rows) > settings.max_rows:
        rows = rows.sample(settings.max_rows, random_state=config.bootstrap.seed)
        rows = rows.sort_values("example_id").reset_index(drop=True)
    features = rows[model_features(rows.drop(columns=["label", *_group_columns(config)]), config)]
    scorer = store.load_scorer(ref)
    importance = permutation_importances(
        scorer,
        features,
        rows["label"].to_numpy(np.int64),
        {d: rows[f"g_{d}"] for d in config.sensitive_features},
        reference_groups=config.reference_groups,
        n_repeats=settings.n_repeats,
        seed=config.bootstrap.seed,
        confidence_level=config.confidence_level,
        min_group_size=config.min_group_size,
    )
    shap = shap_summary(
        scorer,
        features,
        rows=settings.shap_rows,
        background=settings.shap_background,
        seed=config.bootstrap.seed,
    )
    importance = dataclasses.replace(importance, shap=shap)
    tables = {
        IMPORTANCE: importance.importances,
        DIFFERENCES: importance.differences,
        SHAP: shap if shap is not None else pd.DataFrame(),
    }
    with warehouse.connect() as conn:
        for table, frame in tables.items():
            if len(frame):
                results.replace_rows(conn, table, frame.assign(**key), key=key)
            else:
                results.delete_rows(conn, table, key=key)
    return importance


def _group_columns(config: EvaluationConfig) -> list[str]:
    return [f"g_{d}" for d in config.sensitive_features]


def stored_importance(conn: Any, ref: ModelVersionRef) -> Importance | None:
    """The version's stored importances (None when explainability was not computed)."""
    key = version_key(ref)
    importances = results.read_rows(conn, IMPORTANCE, key=key)
    if importances.empty:
        return None
    differences = results.read_rows(conn, DIFFERENCES, key=key)
    drop = list(key)
    order = ["dimension", "group", "feature"]
    if len(differences):
        differences = differences.drop(columns=drop).sort_values(order).reset_index(drop=True)
    shap = results.read_rows(conn, SHAP, key=key)
    return Importance(
        importances.drop(columns=drop).sort_values(order).reset_index(drop=True),
        differences,
        shap.drop(columns=drop).reset_index(drop=True) if len(shap) else None,
    )
