"""Seeded evaluation frames, edge-case scenarios and oracles shared by the core tests.

Every frame is built from a seed; the oracles compute on the raw rows with pandas and
scikit-learn, independently of the engine.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_auc_score

from rai_pipeline.core.engine.slices import OVERALL, STATS_COLUMNS
from rai_pipeline.core.engine.statistics import compute_slice_stats

FEATURES = ["race", "sex"]


def make_frame(seed=0, n=2000, *, ties=False, null_rate=0.05, black_shift=0.0):
    """An evaluation frame: informative scores (shifted by ``black_shift`` for one group),
    NULL race values, two models and two versions."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["Asian", "Black", "White"], size=n, p=[0.2, 0.3, 0.5]).astype(object)
    race[rng.random(n) < null_rate] = None
    label = rng.binomial(1, 0.35, n)
    shift = np.where(race == "Black", black_shift, 0.0)
    score = np.clip(0.3 + 0.35 * label + shift + rng.normal(0, 0.2, n), 0, 1)
    if ties:
        score = np.round(score, 1)
    return pd.DataFrame(
        {
            "model_name": rng.choice(["adult-income", "other"], size=n),
            "model_version": rng.choice([1, 2], size=n),
            "label": label,
            "score": score,
            "decision": (score >= 0.5).astype(int),
            "race": race,
            "sex": rng.choice(["Female", "Male"], size=n).astype(object),
            "age_band": rng.choice(["<30", "30-50", ">50"], size=n).astype(object),
        }
    )


def make_scored_frame(seed=0, n=3000):
    """Labels, logistic scores spread over (0, 1) and two sensitive features: for curves."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["Asian", "Black", "White"], size=n, p=[0.2, 0.3, 0.5]).astype(object)
    race[rng.random(n) < 0.05] = None
    label = rng.binomial(1, 0.35, n)
    score = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.5 * label - 1 + 0.3 * (race == "Black"))))
    return pd.DataFrame(
        {
            "label": label,
            "score": score,
            "race": race,
            "sex": rng.choice(["Female", "Male"], size=n).astype(object),
        }
    )


def scenario(name, **options):
    """(frame, where, intersections) of an edge case; ``where`` is applied by the engine and
    by the oracle, ``intersections`` is what ``build_slices`` gets (``[]``: none)."""
    frame, where, intersections = make_frame(**options), None, []
    if name == "tied_scores":
        frame = make_frame(1, ties=True, **options)
    elif name == "group_without_positives":
        frame.loc[frame["race"] == "Asian", "label"] = 0
    elif name == "group_without_negatives":
        frame.loc[frame["race"] == "Asian", "label"] = 1
    elif name == "group_without_selections":
        frame.loc[frame["race"] == "Asian", "decision"] = 0
    elif name == "small_group":
        frame.loc[frame.index[:12], "race"] = "Pacific"
    elif name == "single_group":
        frame["sex"] = "Female"
    elif name == "many_nulls":
        frame = make_frame(2, null_rate=0.4, **options)
        frame.loc[frame.index % 7 == 0, "sex"] = None
    elif name == "intersections":
        intersections = None
    elif name == "where_filter":
        where = {"model_name": "adult-income"}
    elif name == "where_two_columns":
        where = {"model_name": "adult-income", "model_version": 2}
    return frame, where, intersections


def load(frame, table="ev"):
    """An in-memory DuckDB connection with ``frame`` as table ``table``."""
    conn = duckdb.connect()
    conn.register("incoming", frame)
    conn.execute(f"CREATE TABLE {table} AS SELECT * FROM incoming")
    conn.unregister("incoming")
    return conn


def stats_for(conn, slices, where=None, **options):
    """The engine's slice statistics of table ``ev``."""
    return compute_slice_stats(
        conn,
        relation="ev",
        slices=slices,
        label="label",
        score="score",
        decision="decision",
        where=where,
        **options,
    )


def apply_where(frame, where):
    for column, value in (where or {}).items():
        frame = frame[frame[column] == value]
    return frame


def label_value(value):
    """The group-label rule restated (docs/metrics.md): NULL is ``unknown``; otherwise
    backslash and ``&`` are escaped by a backslash and the literal ``unknown`` is
    ``\\unknown``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    text = str(value)
    return "\\unknown" if text == "unknown" else text.replace("\\", "\\\\").replace("&", "\\&")


def group_labels(frame, features):
    """Each row's group label for ``features``: each value by :func:`label_value`, joined by
    ``&``."""
    return frame[list(features)].map(label_value).agg("&".join, axis=1)


def oracle_groups(frame, spec):
    """(group label, rows) per group of ``spec``, sorted by label, computed with pandas."""
    if spec.is_overall:
        return [("all", frame)]
    labels = group_labels(frame, spec.features)
    return sorted(frame.groupby(labels, sort=False), key=lambda item: item[0])


def oracle_stats(frame, slices):
    """The slice statistics of the raw rows: confusion cells by scikit-learn, AUC, Brier sum."""
    rows = []
    for spec in [OVERALL, *slices]:
        for group, rows_g in oracle_groups(frame, spec):
            y, s = rows_g["label"].to_numpy(), rows_g["score"].to_numpy()
            d = rows_g["decision"].astype(int).to_numpy()
            tn, fp, fn, tp = confusion_matrix(y, d, labels=[0, 1]).ravel()
            both = 0 < y.sum() < len(y)
            rows.append(
                {
                    "dimension": spec.dimension,
                    "group": group,
                    "n": len(y),
                    "n_pos": int(y.sum()),
                    "n_neg": int(len(y) - y.sum()),
                    "tp": tp,
                    "fp": fp,
                    "tn": tn,
                    "fn": fn,
                    "sum_sq_error": float(((s - y) ** 2).sum()),
                    "auc": roc_auc_score(y, s) if both else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=list(STATS_COLUMNS))
