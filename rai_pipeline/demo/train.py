"""Train and register the demo's two model versions (fixed seeds, deterministic).

Version 1 is a logistic regression, version 2 a histogram gradient-boosted classifier; both
are scikit-learn pipelines over the UCI Adult features (sex and race are not model inputs;
they are evaluated as sensitive attributes). Both are logged with
``pyfunc_predict_fn="predict_proba"`` so that ``models:/<name>/<version>`` returns class
probabilities, which is the contract :meth:`MlflowStore.load_scorer` expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rai_pipeline.adapters.mlflow_store import MlflowStore, experiment_name
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.demo.adult import (
    CATEGORICAL_FEATURES,
    FEATURES,
    LABEL,
    NUMERIC_FEATURES,
    load_adult,
)

DEMO_MODEL_NAME = "adult-income"
SEED = 20261126
# Types the pipelines serialise beyond skops' defaults: the encoders record numpy dtypes; the
# boosted model keeps TreePredictor objects and a partial of check_array for its categorical
# preprocessing. Trusted because this module wrote the files.
SKOPS_TRUSTED_TYPES = [
    "functools.partial",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]


@dataclass(frozen=True)
class TrainedVersion:
    ref: ModelVersionRef
    estimator: str
    run_id: str


def _pipelines() -> dict[str, object]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    categorical, numeric = CATEGORICAL_FEATURES, NUMERIC_FEATURES
    one_hot = ColumnTransformer(
        [
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                ),
                categorical,
            ),
            ("num", StandardScaler(), numeric),
        ]
    )
    # The boosted model splits on categories natively: ordinal codes, missing and unseen = -1.
    ordinal = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
                ),
                categorical,
            ),
            ("num", "passthrough", numeric),
        ]
    )
    boosted = HistGradientBoostingClassifier(
        random_state=SEED, max_iter=200, categorical_features=list(range(len(categorical)))
    )
    return {
        "logistic_regression": Pipeline(
            [("encode", one_hot), ("model", LogisticRegression(max_iter=2000))]
        ),
        "hist_gradient_boosting": Pipeline([("encode", ordinal), ("model", boosted)]),
    }


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns; numbers as floats so the logged signature admits NULLs."""
    inputs = frame[FEATURES].copy()
    inputs[NUMERIC_FEATURES] = inputs[NUMERIC_FEATURES].astype("float64")
    return inputs


def train_and_register(
    store: MlflowStore, *, model_name: str = DEMO_MODEL_NAME
) -> list[TrainedVersion]:
    """Fit both pipelines on the training split and register them as versions 1 and 2."""
    import mlflow
    import sklearn
    from mlflow.models import infer_signature

    mlflow.set_tracking_uri(store.tracking_uri)
    mlflow.set_registry_uri(store.tracking_uri)
    experiment_id = store.ensure_experiment(experiment_name(model_name) + "/training")
    train = load_adult("train")
    features, labels = model_inputs(train), train[LABEL].astype(int)
    trained: list[TrainedVersion] = []
    for estimator_name, pipeline in _pipelines().items():
        pipeline.fit(features, labels)  # type: ignore[attr-defined]
        sample = features.head(20)
        signature = infer_signature(sample, pipeline.predict_proba(sample))  # type: ignore[attr-defined]
        with mlflow.start_run(experiment_id=experiment_id, run_name=estimator_name) as run:
            mlflow.log_params({"estimator": estimator_name, "seed": SEED, "rows": len(train)})
            # the training data's reference and digest, which the model card shows
            mlflow.log_input(
                mlflow.data.from_pandas(train, name="adult_train.parquet"), context="training"
            )
            info = mlflow.sklearn.log_model(
                pipeline,
                name="model",
                registered_model_name=model_name,
                pyfunc_predict_fn="predict_proba",
                signature=signature,
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                skops_trusted_types=SKOPS_TRUSTED_TYPES,
            )
        version = str(info.registered_model_version)
        trained.append(
            TrainedVersion(ModelVersionRef(model_name, version), estimator_name, run.info.run_id)
        )
    return trained
