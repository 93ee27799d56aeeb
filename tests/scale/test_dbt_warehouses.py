"""The evaluation frame built by the dbt project on PostgreSQL (dbt-postgres) and on Spark
(dbt-spark in session mode), and the slice engine run where the frame is: the same landed
data set and model versions give the same frame and the same slice statistics and metrics as
on DuckDB, the default warehouse.

The data set is the COMPAS example (examples/compas), landed by ``rai land``; two model
versions are trained here and registered in a real MLflow store. On DuckDB and PostgreSQL
the pipeline scores in Python (:meth:`MlflowStore.load_scorer`); on Spark through an MLflow
``spark_udf`` (:func:`score_on_spark`), so the rows stay in Spark. On PostgreSQL and Spark
the landed extracts are tables of the warehouse's schema ``landing``, as a user's own tables
would be. Each warehouse builds version 1 with the whole project, then version 2 with the
per-version models only, as the pipeline does: the frame keeps both versions.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from rai_pipeline.adapters.mlflow_store import MlflowStore
from rai_pipeline.adapters.sql_engines import PostgresEngine, SparkEngine
from rai_pipeline.app.land import land
from rai_pipeline.core.config.schema import (
    BootstrapConfig,
    EvaluationConfig,
    ExplainabilityConfig,
    load_config,
)
from rai_pipeline.core.engine.sql import relation_columns
from rai_pipeline.core.governance.registry import ModelVersionRef
from rai_pipeline.core.landing.extracts import WAREHOUSE_TABLES, load_current_into
from rai_pipeline.core.schemas.attributes import dbt_vars
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.defs.dbt.project import DBT_PROJECT_DIR, dbt_relation
from rai_pipeline.defs.evaluation.metrics import (
    evaluate_slices,
    missingness_by_group,
)
from rai_pipeline.defs.evaluation.scoring import score_on_spark, write_scores
from rai_pipeline.defs.lineage import predictions_digest
from rai_pipeline.settings import RaiHome
from tests.scale.compas_models import CONFIG, train_and_register
from tests.scale.postgres_server import Server

pytestmark = pytest.mark.slow

SHARED = ["--exclude", "tag:per_model_version", "tag:llm_safety", "tag:monitoring"]
PER_VERSION = ["--select", "tag:per_model_version"]


@dataclass(frozen=True)
class World:
    home: RaiHome
    config: EvaluationConfig
    store: MlflowStore
    refs: list[ModelVersionRef]

    def extract(self, name: str) -> pd.DataFrame:
        return read_parquet(self.home.landing / "current" / WAREHOUSE_TABLES[name])

    def python_scores(self) -> pd.DataFrame:
        """Both versions' scores of the landed examples, computed in this process."""
        examples = self.extract("examples").sort_values("example_id")
        frames = [
            pd.DataFrame(
                {
                    "model_name": ref.name,
                    "model_version": ref.version,
                    "example_id": examples["example_id"].astype("int64"),
                    "score": self.store.load_scorer(ref)(examples.drop(columns=["example_id"])),
                    "scored_at_run": "test",
                }
            )
            for ref in self.refs
        ]
        return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> World:
    """The landed COMPAS example and two registered versions (the engine names relations
    through the dbt manifest, hence ``dbt_manifest``)."""
    home = RaiHome(tmp_path_factory.mktemp("warehouses") / "home")
    land(CONFIG, home=home, echo=lambda _: None)
    refs = train_and_register(home, [1.0, 0.01])
    store = MlflowStore(tracking_uri=home.tracking_uri, artifact_root=str(home.artifact_root))
    # the costly extras turned down: both warehouses are compared on the same settings
    config = load_config(CONFIG).model_copy(
        update={
            "bootstrap": BootstrapConfig(n_resamples=200),
            "explainability": ExplainabilityConfig(n_repeats=2, shap_rows=10, shap_background=5),
        }
    )
    return World(home, config, store, refs)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in the environment for the block, then put back as they were."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        yield


def _pg_environment(world: World, postgres: Server) -> dict[str, str]:
    """The environment dbt's postgres target and the PostgreSQL warehouse read."""
    return {
        "RAI_HOME": str(world.home.root),
        "RAI_WAREHOUSE_PG_HOST": postgres.host,
        "RAI_WAREHOUSE_PG_PORT": str(postgres.port),
        "RAI_WAREHOUSE_PG_USER": postgres.user,
        "RAI_WAREHOUSE_PG_PASSWORD": postgres.password,
        "RAI_WAREHOUSE_PG_DB": postgres.database,
    }


def _dbt_build(
    world: World, target: str, ref: ModelVersionRef, selection: list[str], folder: Path
) -> None:
    """``dbt build`` of the project on ``target``, in this process (a Spark target then uses
    this process's SparkSession), with the pipeline's vars for ``ref``."""
    from dbt.cli.main import dbtRunner

    run_vars = {"model_name": ref.name, "model_version": ref.version, **dbt_vars(world.config)}
    args = [
        "build",
        "--target",
        target,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(folder / "target"),
        "--log-path",
        str(folder / "logs"),
        "--log-level-file",
        "none",
        "--quiet",
        "--vars",
        json.dumps(run_vars),
        *selection,
    ]
    result = dbtRunner().invoke(args)
    failed = [
        f"{r.node.name}: {r.message}"
        for r in (result.result or [])
        if str(r.status) not in {"success", "pass"}
    ]
    assert result.success and not failed, (result.exception, failed)


def _evaluate(conn: object, world: World) -> dict[str, dict[str, pd.DataFrame]]:
    """Each version's slice statistics, histograms and metrics computed on ``conn``."""
    out = {}
    for ref in world.refs:
        computed = evaluate_slices(conn, ref, world.config)
        out[ref.version] = {
            "stats": computed.statistics.stats,
            "histograms": computed.statistics.histograms,
            "metrics": computed.result.metrics,
        }
    return out


def _frame_rows(conn: object) -> dict[str, int]:
    rows = conn.execute(  # type: ignore[attr-defined]
        "select model_version, count(*) from marts.eval_frame group by model_version"
    ).fetchall()
    return {str(version): int(count) for version, count in rows}


@pytest.fixture(scope="module")
def on_duckdb(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The reference: the default warehouse, a DuckDB file under RAI_HOME."""
    folder = tmp_path_factory.mktemp("dbt-duckdb")
    with _environment({"RAI_HOME": str(world.home.root)}):
        _dbt_build(world, "local", world.refs[0], SHARED, folder)
        with duckdb.connect(str(world.home.warehouse)) as conn:
            _write_scores(conn, world)
        for ref in world.refs:
            _dbt_build(world, "local", ref, PER_VERSION, folder)
    with duckdb.connect(str(world.home.warehouse)) as conn:
        return {
            "results": _evaluate(conn, world),
            "rows": _frame_rows(conn),
            "read_back": _read_back(conn, world),
        }


def _write_scores(conn: object, world: World) -> None:
    """Each version's scores written as the pipeline writes them, twice (a re-scoring
    replaces a version's rows)."""
    scores = world.python_scores()
    for _ in range(2):
        for ref in world.refs:
            write_scores(conn, ref, scores[scores["model_version"] == ref.version])


def _read_back(conn: object, world: World) -> dict[str, object]:
    """What the pipeline reads back from the warehouse besides the slice statistics: each
    version's scores digest, the examples' columns, the missing values per group."""
    return {
        "digests": [
            predictions_digest(conn, model_name=ref.name, model_version=ref.version)
            for ref in world.refs
        ],
        "columns": relation_columns(conn, dbt_relation("stg_examples")),
        "missingness": missingness_by_group(conn, world.config.sensitive_features),
    }


def _assert_same_read_back(got: dict[str, object], expected: dict[str, object]) -> None:
    assert got["digests"] == expected["digests"]
    assert got["columns"] == expected["columns"]
    pd.testing.assert_frame_equal(got["missingness"], expected["missingness"], check_dtype=False)


def _assert_same(results: dict[str, dict[str, pd.DataFrame]], reference: dict) -> None:
    for version, tables in reference.items():
        for name, expected in tables.items():
            got = results[version][name]
            pd.testing.assert_frame_equal(
                got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
            )


def test_duckdb_reference_agrees_with_scikit_learn(world: World, on_duckdb: dict) -> None:
    """The reference itself: each version's overall AUC is scikit-learn's on the same scores."""
    labels = world.extract("labels").set_index("example_id")["label"]
    scores = world.python_scores()
    for ref in world.refs:
        mine = scores[scores["model_version"] == ref.version].set_index("example_id")["score"]
        metrics = on_duckdb["results"][ref.version]["metrics"]
        overall = metrics[
            (metrics["dimension"] == "overall") & (metrics["metric"] == "roc_auc_score")
        ]
        expected = roc_auc_score(labels.loc[mine.index], mine)
        assert float(overall["value"].iloc[0]) == pytest.approx(expected, abs=1e-12)
    assert on_duckdb["rows"] == {ref.version: len(labels) for ref in world.refs}


def test_postgres_builds_the_frame_and_computes_the_same_evidence(
    world: World, on_duckdb: dict, postgres: Server, tmp_path: Path
) -> None:
    """dbt-postgres over the tables in `landing`, the frame built and evaluated in PostgreSQL."""
    with PostgresEngine.connect(**postgres.dsn()) as engine:
        load_current_into(engine, world.home.landing)
        _write_scores(engine, world)
    with _environment(_pg_environment(world, postgres)):
        _dbt_build(world, "postgres", world.refs[0], SHARED, tmp_path)
        for ref in world.refs:
            _dbt_build(world, "postgres", ref, PER_VERSION, tmp_path)
    with PostgresEngine.connect(**postgres.dsn()) as engine:
        assert _frame_rows(engine) == on_duckdb["rows"]
        _assert_same(_evaluate(engine, world), on_duckdb["results"])
        _assert_same_read_back(_read_back(engine, world), on_duckdb["read_back"])


def test_spark_scores_with_spark_udf_builds_the_frame_and_computes_the_same_evidence(
    world: World, on_duckdb: dict, spark: object, tmp_path: Path
) -> None:
    """dbt-spark in session mode on this process's SparkSession, the versions scored there by
    an MLflow spark_udf, the engine's SQL run on the same session."""
    engine = SparkEngine(spark)
    load_current_into(engine, world.home.landing)
    python_scores = world.python_scores()
    conf = spark.conf  # type: ignore[attr-defined]
    ansi = conf.get("spark.sql.ansi.enabled")
    try:
        with _environment({"RAI_HOME": str(world.home.root)}):
            _dbt_build(world, "spark", world.refs[0], SHARED, tmp_path)
            for ref in world.refs:
                scored = score_on_spark(
                    ref, session=spark, store=world.store, run_id="test", log=_Quiet()
                )
                mine = python_scores[python_scores["model_version"] == ref.version]["score"]
                assert scored.rows == len(world.extract("examples")) == len(mine)
                assert (scored.low, scored.high) == (mine.min(), mine.max())
                _dbt_build(world, "spark", ref, PER_VERSION, tmp_path)
        # the scores spark_udf wrote are the ones this process computes
        written = engine.execute(
            "select model_version, example_id, score from landing.predictions"
        ).df()
        expected = python_scores[["model_version", "example_id", "score"]]
        merged = expected.merge(written, on=["model_version", "example_id"], suffixes=("", "_s"))
        assert len(merged) == len(expected) == len(written)
        np.testing.assert_array_equal(merged["score_s"], merged["score"])
        assert _frame_rows(engine) == on_duckdb["rows"]
        _assert_same(_evaluate(engine, world), on_duckdb["results"])
        _assert_same_read_back(_read_back(engine, world), on_duckdb["read_back"])
    finally:
        conf.set("spark.sql.ansi.enabled", ansi)


class _Quiet:
    def info(self, _: str) -> None:
        pass
