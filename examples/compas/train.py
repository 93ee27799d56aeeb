"""Train a scikit-learn model on the example data and register it in rai's MLflow registry.

Run it with the environment `rai info --env` prints, so that MLflow writes to the same store
rai reads: `eval "$(rai info --env)"; python train.py`.
"""

import os

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

FEATURES = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "charge_degree"]
NUMERIC = [c for c in FEATURES if c != "charge_degree"]

data = pd.read_csv("people.csv")
X = data[FEATURES].astype({c: "float64" for c in NUMERIC})  # floats: missing values stay valid
y = (data["reoffended"] == "yes").astype(int)
model = make_pipeline(
    ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["charge_degree"]),
            ("numbers", StandardScaler(), NUMERIC),
        ]
    ),
    LogisticRegression(max_iter=1000),
).fit(X, y)

# Artifacts go under RAI_HOME with the runs, not into ./mlruns: create the experiment with an
# artifact location (MLflow only takes one when the experiment is created).
experiment = "recidivism-training"
if mlflow.get_experiment_by_name(experiment) is None:
    root = os.environ["RAI_MLFLOW_ARTIFACT_ROOT"]
    mlflow.create_experiment(experiment, artifact_location=f"{root}/{experiment}")
mlflow.set_experiment(experiment)

with mlflow.start_run():
    mlflow.sklearn.log_model(
        model,
        name="model",
        registered_model_name="recidivism",
        # rai scores with the pyfunc flavour: make it return probabilities, not 0/1 labels.
        pyfunc_predict_fn="predict_proba",
        # The signature names the columns the model receives (rai passes exactly these).
        signature=infer_signature(X, model.predict_proba(X)),
        # skops is the safe format in MLflow 3; list the types your pipeline needs beyond
        # skops' defaults (loading fails with "Untrusted types found" when one is missing).
        serialization_format="skops",
        skops_trusted_types=["numpy.dtype"],
    )
versions = mlflow.MlflowClient().search_model_versions("name = 'recidivism'")
print(f"registered models:/recidivism/{max(int(v.version) for v in versions)}")
