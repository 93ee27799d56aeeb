"""The demo versions' permutation importances in their evidence packs: equal to
scikit-learn's permutation_importance of the registered model on the same rows and seed, and
every number the model card states about them read back from the tables."""

from __future__ import annotations

import contextlib

import duckdb
import numpy as np
import pytest
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.core.config.schema import load_config
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.settings import DEMO_CONFIG


class _Model:
    def __init__(self, score):
        self.score = score

    def fit(self, X, y):
        return self


def test_the_packs_overall_importances_are_scikit_learns(demo):
    home, outcomes, _ = demo
    config = load_config(DEMO_CONFIG)
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    pack = outcomes[0].pack
    ref = ModelVersionRef("adult-income", pack.name)
    with contextlib.closing(duckdb.connect(str(home.warehouse), read_only=True)) as conn:
        rows = conn.execute(
            "select e.*, w.label from staging.stg_examples e "
            "join marts.eval_frame_wide w using (example_id) "
            "where w.model_name = ? and w.model_version = ? order by e.example_id",
            [ref.name, ref.version],
        ).df()
    assert len(rows) <= config.explainability.max_rows  # all rows, no sample
    features = rows.drop(columns=["example_id", "label"])
    score = store.load_scorer(ref)
    oracle = permutation_importance(
        _Model(score),
        features,
        rows["label"].to_numpy(),
        scoring=lambda model, X, y: roc_auc_score(y, model.score(X)),
        n_repeats=config.explainability.n_repeats,
        random_state=config.bootstrap.seed,
    )
    table = read_parquet(pack / "feature_importance.parquet")
    overall = table[table["dimension"] == "overall"].set_index("feature")
    for k, feature in enumerate(features.columns):
        assert overall.loc[feature, "importance"] == pytest.approx(oracle.importances_mean[k])
    assert set(table["dimension"]) == {"overall", *config.sensitive_features}


def test_the_model_card_states_the_importance_tables(demo):
    _, outcomes, _ = demo
    for outcome in outcomes:
        pack = outcome.pack
        card = (pack / "model_card.md").read_text()
        table = read_parquet(pack / "feature_importance.parquet")
        diffs = read_parquet(pack / "feature_importance_differences.parquet")
        overall = table[table["dimension"] == "overall"].sort_values(
            ["importance", "feature"], ascending=[False, True]
        )
        top = overall.head(8)
        for row in top.itertuples():
            interval = f"[{row.ci_lower:.4f}, {row.ci_upper:.4f}]"
            assert f"| {row.feature} | {row.importance:.4f} | {interval} |" in card
        baseline = overall["baseline"].iloc[0]
        assert f"(from {baseline:.3f} on the evaluation rows)" in card
        compared = diffs[diffs["feature"].isin(top["feature"])]
        apart = compared[(compared["ci_lower"] > 0) | (compared["ci_upper"] < 0)]
        assert (
            f"Of {len(compared)} group-feature pairs compared on these features" in card
            and f"{len(apart)} have an interval of the difference that excludes 0" in card
        )
        largest = apart.loc[apart["difference"].abs().idxmax()]
        assert f"| {largest['feature']} | {largest['difference']:.4f} |" in card
        # every group's difference is its importance minus the reference group's
        imp = table.set_index(["dimension", "group", "feature"])["importance"]
        for row in diffs.sample(5, random_state=0).itertuples():
            expected = (
                imp[(row.dimension, row.group, row.feature)]
                - imp[(row.dimension, row.reference_group, row.feature)]
            )
            assert row.difference == pytest.approx(expected)
        assert np.isfinite(overall["importance"]).all()


def test_the_shap_summary_is_in_the_pack_and_the_card(demo):
    _, outcomes, _ = demo
    pack = outcomes[-1].pack
    card = (pack / "model_card.md").read_text()
    summary = read_parquet(pack / "shap_summary.parquet")
    config = load_config(DEMO_CONFIG)
    assert (summary["rows"] == config.explainability.shap_rows).all()
    table = read_parquet(pack / "feature_importance.parquet")
    assert set(summary["feature"]) == set(table["feature"])
    top = summary.sort_values(["mean_abs_shap", "feature"], ascending=[False, True]).head(8)
    for row in top.itertuples():
        assert f"| {row.feature} | {row.mean_abs_shap:.4f} |" in card
    assert f"over {config.explainability.shap_rows} evaluation rows" in card
    assert f"background rows ({summary['method'].iloc[0]}):" in card
