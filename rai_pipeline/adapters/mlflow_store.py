"""MLflow implementation of the registry and evaluation-tracking interfaces.

Tracking and registry URIs and the artifact location are always explicit (MLflow's defaults
write into the current directory). ``mlflow`` is imported lazily: it costs seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from rai_pipeline.core.governance.registry import (
    FEATURE_LABEL_TAG,
    ModelVersionInfo,
    ModelVersionRef,
    Scorer,
)

EXPERIMENT_PREFIX = "rai/"
MSG_MISSING_INPUTS = (
    "model {uri} expects input column(s) {missing} that the evaluation examples do not have"
)
_METRIC_KEY_INVALID = re.compile(r"[^A-Za-z0-9_\-. /]")


def experiment_name(model_name: str) -> str:
    """One MLflow experiment per registered model holds its evaluation runs."""
    return f"{EXPERIMENT_PREFIX}{model_name}"


def metric_key(*parts: str) -> str:
    """An MLflow metric key from parts, with characters MLflow rejects replaced by ``_``."""
    return "/".join(_METRIC_KEY_INVALID.sub("_", part) for part in parts)


def directory_sha256(folder: Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file below ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


SQLITE_PREFIX = "sqlite:///"


def local_store_missing(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` names a local SQLite store whose file does not exist: opening it
    would create it, which a read-only command must not do.

    >>> local_store_missing("sqlite:////no/such/mlflow.db"), local_store_missing("http://x")
    (True, False)
    """
    path = tracking_uri.removeprefix(SQLITE_PREFIX)
    return tracking_uri.startswith(SQLITE_PREFIX) and not Path(path).is_file()


def _is_http(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("http://", "https://"))


def mlflow_run_url(tracking_uri: str, *, experiment_id: str, run_id: str, artifact_uri: str) -> str:
    """The run's page in the MLflow UI for a tracking server (``http(s)://``); for a local
    store (SQLite or files), which has no web address, the run's artifact location."""
    if _is_http(tracking_uri):
        return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return artifact_uri


def mlflow_model_version_url(tracking_uri: str, *, name: str, version: str) -> str | None:
    """The model version's page in the MLflow UI; None for a local store."""
    if _is_http(tracking_uri):
        return f"{tracking_uri.rstrip('/')}/#/models/{quote(name, safe='')}/versions/{version}"
    return None


@dataclass(frozen=True)
class MlflowStore:
    """A tracking store and model registry at ``tracking_uri`` with artifacts under
    ``artifact_root``."""

    tracking_uri: str
    artifact_root: str

    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _activate(self) -> Any:
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        return mlflow

    def ensure_experiment(self, name: str) -> str:
        """The id of experiment ``name``, created with an explicit artifact location (a
        tracking server's own, which serves the artifacts, when the store is one)."""
        client = self.client()
        existing = client.get_experiment_by_name(name)
        if existing is not None:
            return str(existing.experiment_id)
        if _is_http(self.tracking_uri):
            return str(client.create_experiment(name))
        location = Path(self.artifact_root) / re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        return str(client.create_experiment(name, artifact_location=location.as_uri()))

    # Registry -------------------------------------------------------------------------------

    def list_versions(self, name: str) -> list[ModelVersionInfo]:
        from mlflow.exceptions import MlflowException

        try:
            versions = self.client().search_model_versions(f"name = '{_escape(name)}'")
        except MlflowException:
            return []
        return [
            ModelVersionInfo(
                ref=ModelVersionRef(mv.name, str(mv.version)),
                status=str(mv.status),
                tags=dict(mv.tags or {}),
                run_id=mv.run_id,
                source=mv.source,
            )
            for mv in versions
        ]

    def registered_model_names(self) -> list[str]:
        """Every registered model's name, sorted."""
        return sorted(model.name for model in self.client().search_registered_models())

    def load_scorer(self, ref: ModelVersionRef) -> Scorer:
        """Load ``models:/<name>/<version>`` as a function from features to positive scores.

        The model's pyfunc ``predict`` must return the positive-class score: one column, or
        class probabilities whose last column is the positive class (sklearn models logged
        with ``pyfunc_predict_fn="predict_proba"``).
        """
        mlflow = self._activate()
        model = mlflow.pyfunc.load_model(ref.uri)
        schema = model.metadata.get_input_schema()
        wanted = schema.input_names() if schema is not None and schema.has_input_names() else None

        def score(features: pd.DataFrame) -> np.ndarray:
            if wanted is not None:
                missing = [name for name in wanted if name not in features.columns]
                if missing:
                    raise ValueError(MSG_MISSING_INPUTS.format(uri=ref.uri, missing=missing))
                features = _widen_integers(features[wanted], schema)
            output = np.asarray(model.predict(features), dtype=float)
            return output[:, -1] if output.ndim == 2 else output

        return score

    def spark_scorer(self, ref: ModelVersionRef, session: Any) -> Callable[[Any], Any]:
        """``models:/<name>/<version>`` as an MLflow ``spark_udf`` on ``session``: a function
        from a Spark DataFrame of examples (``example_id`` and the features) to one of
        ``(example_id, score)``, computed by Spark's executors, so the rows never come back to
        this process. The score is the model's output as :meth:`load_scorer` reads it: the
        one column, or the last column of class probabilities."""
        mlflow = self._activate()
        from pyspark.sql import functions as F

        info = mlflow.models.get_model_info(ref.uri)
        inputs = info.signature.inputs if info.signature is not None else None
        wanted = inputs.input_names() if inputs is not None and inputs.has_input_names() else None
        floats = _float_inputs(inputs) if wanted is not None else set()
        columns = _probability_columns(info.signature.outputs if info.signature else None)
        udf = mlflow.pyfunc.spark_udf(
            session,
            ref.uri,
            result_type="array<double>" if columns > 1 else "double",
            env_manager="local",
        )

        def score(examples: Any) -> Any:
            names = wanted or [c for c in examples.columns if c != "example_id"]
            missing = [name for name in names if name not in examples.columns]
            if missing:
                raise ValueError(MSG_MISSING_INPUTS.format(uri=ref.uri, missing=missing))
            fields = [
                (F.col(name).cast("double") if name in floats else F.col(name)).alias(name)
                for name in names
            ]
            output = udf(F.struct(*fields))
            value = F.element_at(output, -1) if columns > 1 else output
            return examples.select(F.col("example_id"), value.cast("double").alias("score"))

        return score

    def model_facts(self, ref: ModelVersionRef) -> dict[str, str]:
        """The model card's facts from MLflow: the estimator (a scikit-learn pipeline's steps)
        and its parameters, the flavours it was logged with, the inputs its signature names,
        the training run, its params and the datasets it logged."""
        mlflow = self._activate()
        model = mlflow.pyfunc.load_model(ref.uri)
        facts: dict[str, str] = {}
        raw = model.get_raw_model()
        final = raw.steps[-1][1] if hasattr(raw, "steps") else raw
        package = type(final).__module__.split(".")[0]
        facts["Estimator"] = f"{type(final).__qualname__} ({package})"
        if hasattr(raw, "steps"):
            facts["Pipeline steps"] = " → ".join(
                f"{name} ({type(step).__name__})" for name, step in raw.steps
            )
        if hasattr(final, "get_params"):
            simple = (bool, int, float, str, type(None))
            params = final.get_params(deep=False)
            shown = {k: v for k, v in sorted(params.items()) if isinstance(v, simple)}
            facts["Parameters"] = ", ".join(f"{k}={v!r}" for k, v in shown.items()) or "none"
        flavors = model.metadata.flavors
        facts["Logged flavours"] = ", ".join(
            f"{name} {info.get(f'{name}_version', '')}".strip() if isinstance(info, dict) else name
            for name, info in sorted(flavors.items())
        )
        schema = model.metadata.get_input_schema()
        if schema is not None and schema.has_input_names():
            kinds = schema.input_types_dict()
            facts["Inputs"] = ", ".join(
                f"{n} ({getattr(kinds[n], 'name', kinds[n])})" for n in schema.input_names()
            )
        version = self.client().get_model_version(ref.name, ref.version)
        if version.run_id:
            run = self.client().get_run(version.run_id)
            facts["Training run"] = f"{version.run_id} ({run.info.run_name})"
            if run.data.params:
                facts["Training params"] = ", ".join(
                    f"{k}={v}" for k, v in sorted(run.data.params.items())
                )
            datasets = [
                f"{d.dataset.name} (digest {d.dataset.digest})"
                for d in (run.inputs.dataset_inputs if run.inputs else [])
            ]
            facts["Training data"] = "; ".join(datasets) or "not logged by the training run"
        return facts

    def model_artifact_digest(self, ref: ModelVersionRef) -> str:
        """sha256 over the model version's artifact files: what was actually scored."""
        mlflow = self._activate()
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(artifact_uri=ref.uri, dst_path=tmp)
            return directory_sha256(Path(local))

    def set_version_tags(self, ref: ModelVersionRef, tags: Mapping[str, str]) -> None:
        client = self.client()
        for key, value in tags.items():
            client.set_model_version_tag(ref.name, ref.version, key, value)

    def register_feature(
        self, name: str, *, feature: Mapping[str, str], tags: Mapping[str, str]
    ) -> ModelVersionRef:
        """Register an LLM feature (model id, system prompt, template) as a new version of
        ``name``: a run logs ``feature.json``, and the version's source is that artifact
        folder. The version is READY at once (nothing to upload but the JSON)."""
        from mlflow.exceptions import MlflowException

        client = self.client()
        experiment_id = self.ensure_experiment(experiment_name(name))
        run = client.create_run(
            experiment_id, run_name=f"register {name} {tags.get(FEATURE_LABEL_TAG, '')}".strip()
        )
        run_id = str(run.info.run_id)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "feature"
            folder.mkdir()
            (folder / "feature.json").write_text(
                json.dumps(dict(feature), indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            client.log_artifacts(run_id, str(folder), artifact_path="feature")
        client.set_terminated(run_id, status="FINISHED")
        with contextlib.suppress(MlflowException):  # registered before
            client.create_registered_model(name)
        version = client.create_model_version(
            name, source=f"{run.info.artifact_uri}/feature", run_id=run_id, tags=dict(tags)
        )
        return ModelVersionRef(name, str(version.version))

    def delete_version(self, ref: ModelVersionRef) -> None:
        self.client().delete_model_version(ref.name, ref.version)

    def version_tags(self, ref: ModelVersionRef) -> dict[str, str]:
        """The model version's tags (raises when the version is not registered)."""
        return dict(self.client().get_model_version(ref.name, ref.version).tags or {})

    def delete_version_tags(self, ref: ModelVersionRef, keys: Iterable[str]) -> None:
        client = self.client()
        for key in keys:
            client.delete_model_version_tag(ref.name, ref.version, key)

    # Tracking -------------------------------------------------------------------------------

    def log_evaluation(
        self,
        *,
        ref: ModelVersionRef,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
        metrics: Mapping[str, float],
    ) -> str:
        """Create the evaluation run with its tags, params and metrics; return its id."""
        client = self.client()
        experiment_id = self.ensure_experiment(experiment_name(ref.name))
        run = client.create_run(experiment_id, run_name=run_name, tags=dict(tags))
        run_id = str(run.info.run_id)
        from mlflow.entities import Metric, Param

        finite = {metric_key(*k.split("/")): float(v) for k, v in metrics.items() if np.isfinite(v)}
        metric_entities = [Metric(k, v, 0, 0) for k, v in sorted(finite.items())]
        param_entities = [Param(k, str(v)) for k, v in sorted(params.items())]
        for start in range(0, max(len(metric_entities), 1), 900):
            client.log_batch(
                run_id,
                metrics=metric_entities[start : start + 900],
                params=param_entities if start == 0 else [],
            )
        return run_id

    def finish_evaluation(self, run_id: str, *, artifacts_dir: Path, status: str) -> None:
        """Upload the evidence files and close the run (``FINISHED`` or ``FAILED``)."""
        client = self.client()
        if artifacts_dir.exists():
            client.log_artifacts(run_id, str(artifacts_dir), artifact_path="evidence")
        client.set_terminated(run_id, status=status)

    def fail_evaluation(self, run_id: str) -> None:
        self.client().set_terminated(run_id, status="FAILED")

    def run_artifact_uri(self, run_id: str) -> str:
        return str(self.client().get_run(run_id).info.artifact_uri)

    def links(self, ref: ModelVersionRef, run_id: str) -> dict[str, str | None]:
        """Where a reviewer opens the evaluation's run and the registered model version."""
        info = self.client().get_run(run_id).info
        return {
            "mlflow_run_url": mlflow_run_url(
                self.tracking_uri,
                experiment_id=str(info.experiment_id),
                run_id=run_id,
                artifact_uri=str(info.artifact_uri),
            ),
            "model_version_url": mlflow_model_version_url(
                self.tracking_uri, name=ref.name, version=ref.version
            ),
        }

    def describe(self, ref: ModelVersionRef, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """What the tracking store and the registry hold about an evaluation run and the model
        version it evaluated (for an audit trace)."""
        client = self.client()
        run = client.get_run(run_id)
        version = client.get_model_version(ref.name, ref.version)
        return (
            {
                "status": run.info.status,
                "experiment_id": run.info.experiment_id,
                "artifact_uri": run.info.artifact_uri,
                "tracking_uri": self.tracking_uri,
            },
            {"source": version.source, "registry_tags": dict(version.tags or {})},
        )


def _widen_integers(features: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """Integer columns where the signature wants floating point: MLflow refuses int64 -> float64
    as unsafe, yet any warehouse integer column of a float-typed model input needs it."""
    from mlflow.types import DataType

    wanted = schema.input_types_dict()
    floats = {DataType.double, DataType.float}
    columns = [
        name
        for name, kind in wanted.items()
        if kind in floats and pd.api.types.is_integer_dtype(features[name])
    ]
    return features.astype(dict.fromkeys(columns, "float64")) if columns else features


def _float_inputs(schema: Any) -> set[str]:
    """The inputs the signature wants as floating point (integer columns are widened to them,
    as :func:`_widen_integers` does for pandas)."""
    from mlflow.types import DataType

    return {
        name
        for name, kind in schema.input_types_dict().items()
        if kind in {DataType.double, DataType.float}
    }


def _probability_columns(outputs: Any) -> int:
    """How many columns the model's output has, from its signature: class probabilities of a
    ``predict_proba`` model are a 2-D tensor of one column per class; anything else is one
    score per row."""
    if outputs is None or not outputs.is_tensor_spec():
        return 1
    shape = outputs.inputs[0].shape
    return int(shape[1]) if len(shape) == 2 and shape[1] and shape[1] > 1 else 1


def _escape(value: str) -> str:
    return value.replace("'", "''")
