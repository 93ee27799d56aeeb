"""Model versions of the COMPAS example (examples/compas) for the scale-out tests: logistic
regressions of different regularisation, registered in a RAI_HOME's real MLflow store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.settings import RaiHome

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "compas" / "compas.yaml"
MODEL = "recidivism"
NUMERIC = ["age", "priors_count", "juv_fel_count", "juv_misd_count"]


def train_and_register(home: RaiHome, regularisations: Sequence[float]) -> list[ModelVersionRef]:
    """One logistic regression per inverse regularisation strength ``C``, registered as the
    next versions of MODEL (skops-serialised, scoring with ``predict_proba``)."""
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = pd.read_csv(CONFIG.parent / "people.csv")
    features = data[[*NUMERIC, "charge_degree"]].astype(dict.fromkeys(NUMERIC, "float64"))
    label = (data["reoffended"] == "yes").astype(int)
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    mlflow.set_tracking_uri(home.tracking_uri)
    mlflow.set_registry_uri(home.tracking_uri)
    mlflow.set_experiment(experiment_id=store.ensure_experiment("training"))
    refs = []
    for c in regularisations:
        model = make_pipeline(
            ColumnTransformer(
                [
                    ("categories", OneHotEncoder(handle_unknown="ignore"), ["charge_degree"]),
                    ("numbers", StandardScaler(), NUMERIC),
                ]
            ),
            LogisticRegression(C=c, max_iter=1000),
        ).fit(features, label)
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=MODEL,
                pyfunc_predict_fn="predict_proba",
                signature=infer_signature(features, model.predict_proba(features)),
                serialization_format="skops",
                skops_trusted_types=["numpy.dtype"],
            )
        refs.append(ModelVersionRef(MODEL, str(info.registered_model_version)))
    return refs


def compas_config(folder: Path, engine: str = "duckdb") -> Path:
    """The COMPAS config written to ``folder``: its data set by absolute path, the costly
    extras turned down (the smallest bootstrap, a little feature importance), on the
    warehouse ``engine``."""
    config = yaml.safe_load(CONFIG.read_text())
    config["dataset"]["path"] = str(CONFIG.parent / config["dataset"]["path"])
    config["explainability"] = {
        "n_repeats": 2,
        "max_rows": 100,
        "shap_rows": 10,
        "shap_background": 5,
    }
    config["bootstrap"] = {"n_resamples": 100}
    if engine != "duckdb":
        config["warehouse"] = {"engine": engine}
    path = folder / "compas.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
