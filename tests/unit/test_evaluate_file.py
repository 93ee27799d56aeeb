"""`rai evaluate-file`: fairlearn on the same rows is the oracle; bad input writes nothing."""

import functools
import hashlib
import json

import fairlearn.metrics as fl
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score, brier_score_loss, precision_score, roc_auc_score
from typer.testing import CliRunner

from rai_pipeline.app import evaluate_file as evaluate_file_module
from rai_pipeline.app import input_files as input_files_module
from rai_pipeline.app.evaluate_file import MSG_SKIPPED_SCORE, SCORE_METRICS
from rai_pipeline.cli import app
from rai_pipeline.core.evidence.manifest import MANIFEST_NAME
from rai_pipeline.core.storage import read_parquet
from rai_pipeline.demo.synthetic import make_synthetic_frame

TOLERANCE = 1e-9
TABLES = [f"{t}.{ext}" for t in ("slice_metrics", "fairness_metrics") for ext in ("csv", "parquet")]
DOCUMENTS = ["fairness_report.md", "fairness_report.html", "model_card.md"]
SYNTHETIC_CONFIG = {
    "columns": {"id": "example_id", "label": "label", "score": "score"},
    "threshold": 0.5,
    "sensitive_features": ["group_a", "group_b", "group_c"],
    "intersections": [["group_a", "group_b"], ["group_b", "group_c"]],
    "min_group_size": 30,
    "reference_groups": {"group_a": "a0"},
    "confidence_level": 0.95,
    "bootstrap": {"n_resamples": 200, "seed": 7},
}
COMPAS_CONFIG = {
    "columns": {"id": "id", "label": "two_year_recid", "score": "score"},
    "threshold": 0.5,
    "positive_label": "Yes",
    "sensitive_features": ["race", "sex"],
    "intersections": [["race", "sex"]],
    "min_group_size": 30,
    "reference_groups": {"race": "Caucasian"},
    "bootstrap": {"n_resamples": 200},
}


# Inputs -----------------------------------------------------------------------------------------


def compas_like(n=3000, seed=5):
    """COMPAS-shaped rows: string labels, decile scores with ties, small groups."""
    rng = np.random.default_rng(seed)
    races = ["African-American", "Caucasian", "Hispanic", "Other", "Asian"]
    race = rng.choice(races, p=[0.5, 0.34, 0.09, 0.065, 0.005], size=n)
    sex = rng.choice(["Male", "Female"], p=[0.8, 0.2], size=n)
    decile = rng.integers(1, 11, size=n)
    recid = rng.random(n) < 0.12 + 0.06 * decile + 0.05 * (race == "African-American")
    return pd.DataFrame(
        {
            "id": np.arange(n) + 1000,
            "race": race,
            "sex": sex,
            "score": decile / 10,
            "high_risk": (decile >= 7).astype(int),
            "two_year_recid": np.where(recid, "Yes", "No"),
        }
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    frame = make_synthetic_frame(4000, seed=21)
    frame.to_parquet(folder / "preds.parquet", index=False)
    frame.to_csv(folder / "preds.csv", index=False)
    return folder, frame


def write_config(folder, config, name="rai.yaml"):
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def invoke(*args):
    result = CliRunner().invoke(app, ["evaluate-file", *map(str, args)], catch_exceptions=False)
    return result


def evaluate(data, config, out, *extra):
    result = invoke(data, "--config", config, "--out", out, *extra)
    assert result.exit_code == 0, result.stderr
    return result


# The oracle: fairlearn MetricFrame on the raw rows ------------------------------------------------


def _guarded(function, need):
    """NaN where the metric is undefined (the engine's ``undefined``), else ``function``."""

    def metric(y_true, y_pred):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        defined = {
            "positives": (y_true == 1).any(),
            "negatives": (y_true == 0).any(),
            "predicted": (y_pred == 1).any(),
            "unpredicted": (y_pred == 0).any(),
            "both": (y_true == 1).any() and (y_true == 0).any(),
        }[need]
        return float(function(y_true, y_pred)) if defined else float("nan")

    return metric


DECISION_METRICS = {
    "count": fl.count,
    "selection_rate": fl.selection_rate,
    "true_positive_rate": _guarded(
        functools.partial(fl.true_positive_rate, pos_label=1), "positives"
    ),
    "false_positive_rate": _guarded(
        functools.partial(fl.false_positive_rate, pos_label=1), "negatives"
    ),
    "false_negative_rate": _guarded(
        functools.partial(fl.false_negative_rate, pos_label=1), "positives"
    ),
    "true_negative_rate": _guarded(
        functools.partial(fl.true_negative_rate, pos_label=1), "negatives"
    ),
    "accuracy_score": accuracy_score,
    "precision_score": _guarded(precision_score, "predicted"),
    "prevalence": lambda y_true, y_pred: float(np.mean(y_true)),
    # FP / (TP + FP) and FN / (FN + TN), straight from the confusion matrix
    "false_discovery_rate": _guarded(
        lambda y_true, y_pred: float(np.mean(np.asarray(y_true)[np.asarray(y_pred) == 1] == 0)),
        "predicted",
    ),
    "false_omission_rate": _guarded(
        lambda y_true, y_pred: float(np.mean(np.asarray(y_true)[np.asarray(y_pred) == 0] == 1)),
        "unpredicted",
    ),
}
SCORE_METRIC_FUNCTIONS = {
    "roc_auc_score": _guarded(roc_auc_score, "both"),
    "brier_score_loss": functools.partial(brier_score_loss, pos_label=1),
}
FAIRLEARN_DISPARITIES = {
    "demographic_parity_difference": fl.demographic_parity_difference,
    "demographic_parity_ratio": fl.demographic_parity_ratio,
    "equalized_odds_difference": fl.equalized_odds_difference,
    "equalized_odds_ratio": fl.equalized_odds_ratio,
    "equal_opportunity_difference": fl.equal_opportunity_difference,
}


def group_labels(frame, features):
    """The engine's group label per row: values joined by '&', NULL as 'unknown'."""
    parts = [
        frame[f].astype(object).where(frame[f].notna(), "unknown").astype(str) for f in features
    ]
    labels = parts[0]
    for part in parts[1:]:
        labels = labels + "&" + part
    return labels


def oracle(frame, y, d, s, dimensions, *, with_scores=True):
    """{(dimension, group, metric): value} from fairlearn MetricFrame on the rows."""
    expected = {}
    runs = [(DECISION_METRICS, d)] + ([(SCORE_METRIC_FUNCTIONS, s)] if with_scores else [])
    for metrics, y_pred in runs:
        for features in dimensions:
            labels = group_labels(frame, features)
            result = fl.MetricFrame(
                metrics=metrics, y_true=y, y_pred=y_pred, sensitive_features=labels
            )
            dimension = "&".join(features)
            for group, row in result.by_group.iterrows():
                expected.update({(dimension, group, m): v for m, v in row.items()})
        expected.update({("overall", "all", m): v for m, v in result.overall.items()})
    return expected


def assert_matches_oracle(out, frame, y, d, s, dimensions, *, with_scores=True):
    table = read_parquet(out / "slice_metrics.parquet")
    expected = oracle(frame, y, d, s, dimensions, with_scores=with_scores)
    got = {(r.dimension, r.group, r.metric): r.value for r in table.itertuples()}
    assert set(got) == set(expected)
    keys = sorted(expected)
    np.testing.assert_allclose(
        [got[k] for k in keys], [expected[k] for k in keys], rtol=0, atol=TOLERANCE
    )
    undefined = table[table["status"] == "undefined"]
    assert undefined["value"].isna().all()


def assert_disparities_match_fairlearn(out, frame, y, d):
    fairness = read_parquet(out / "fairness_metrics.parquet")
    compared = fairness[
        (fairness["group"] == "*")
        & (fairness["groups_compared"] >= 2)
        & (fairness["metric"] != "excluded_groups")
    ]
    assert len(compared) > 0
    for row in compared.itertuples():
        labels = group_labels(frame, row.dimension.split("&"))
        keep = ~labels.isin(row.groups_excluded.split(";") if row.groups_excluded else [])
        function = FAIRLEARN_DISPARITIES[row.metric]
        expected = function(y[keep], d[keep], sensitive_features=labels[keep])
        assert row.value == pytest.approx(expected, abs=TOLERANCE), (row.dimension, row.metric)


# Values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["preds.parquet", "preds.csv"])
def test_slice_metrics_equal_fairlearn_metricframe_on_the_same_rows(synthetic, tmp_path, name):
    folder, frame = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    result = evaluate(folder / name, config, tmp_path / "out")
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    d = (s >= 0.5).astype(int)
    dimensions = [("group_a",), ("group_b",), ("group_c",), ("group_a", "group_b")]
    dimensions.append(("group_b", "group_c"))
    assert_matches_oracle(tmp_path / "out", frame, y, d, s, dimensions)
    assert_disparities_match_fairlearn(tmp_path / "out", frame, y, d)
    assert "Evaluated 4,000 rows" in result.stdout
    assert "computing slice statistics" in result.stderr  # progress goes to stderr


def test_csv_and_parquet_of_the_same_rows_give_the_same_metrics(synthetic, tmp_path):
    folder, _ = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    tables = {}
    for name in ("preds.parquet", "preds.csv"):
        evaluate(folder / name, config, tmp_path / name)
        tables[name] = read_parquet(tmp_path / name / "slice_metrics.parquet")
    ids = ["evaluation_id", "model_version", "dataset_version"]
    pd.testing.assert_frame_equal(
        tables["preds.parquet"].drop(columns=ids), tables["preds.csv"].drop(columns=ids)
    )


def test_outputs_carry_ids_and_the_manifest_lists_inputs_and_outputs(synthetic, tmp_path):
    folder, _ = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    out = tmp_path / "out"
    evaluate(folder / "preds.parquet", config, out, "--model-name", "m", "--model-version", "7")
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    data_input, config_input = manifest["inputs"]
    assert data_input["kind"] == "predictions_file" and data_input["rows"] == 4000
    assert manifest["lineage"]["dataset_version"] == data_input["sha256"]
    listed = {item["path"] for item in manifest["outputs"]}
    assert set(TABLES + DOCUMENTS) <= listed
    assert "lineage/slice_stats.sql" in listed
    assert "GROUP BY GROUPING SETS" in (out / "lineage" / "slice_stats.sql").read_text()
    table = pd.read_csv(out / "slice_metrics.csv")
    assert list(table.columns[:4]) == [
        "evaluation_id",
        "model_name",
        "model_version",
        "dataset_version",
    ]
    assert set(table["model_name"]) == {"m"} and set(table["model_version"]) == {7}
    assert set(table["dataset_version"]) == {data_input["sha256"]}
    assert set(table["evaluation_id"]) == {manifest["lineage"]["evaluation_id"]}
    assert config_input["kind"] == "config"


def test_identical_inputs_give_byte_identical_outputs(synthetic, tmp_path):
    folder, _ = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    evaluate(folder / "preds.csv", config, tmp_path / "first")
    evaluate(folder / "preds.csv", config, tmp_path / "second")
    for name in TABLES + DOCUMENTS:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


def test_one_thread_or_two_give_byte_identical_outputs(tmp_path):
    """Every sum over rows is an integer, so the threads' order of addition cannot show: a file
    of several row groups (which DuckDB splits between threads) gives the same bytes."""
    frame = make_synthetic_frame(300_000, seed=5)
    data = tmp_path / "preds.parquet"
    frame.to_parquet(data, index=False, row_group_size=50_000)
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    for threads in ("1", "2"):
        evaluate(data, config, tmp_path / threads, "--threads", threads)
    for name in TABLES + DOCUMENTS:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_binned_auc_is_within_its_stated_bound_of_sklearn(synthetic, tmp_path):
    folder, frame = synthetic
    config = write_config(tmp_path, {**SYNTHETIC_CONFIG, "auc": "binned"})
    out = tmp_path / "out"
    evaluate(folder / "preds.parquet", config, out)
    table = read_parquet(out / "slice_metrics.parquet")
    auc = table[table["metric"] == "roc_auc_score"].set_index(["dimension", "group"])["value"]
    lineage = json.loads((out / MANIFEST_NAME).read_text())["lineage"]
    method = lineage["roc_auc_method"]
    assert method.startswith("binned (1000 score bins; largest error bound ")
    bound = float(method.rsplit(" ", 1)[1].rstrip(")"))
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    errors = [abs(auc[("overall", "all")] - roc_auc_score(y, s))]
    for value, rows in frame.groupby(frame["group_b"].astype(object).fillna("unknown")):
        errors.append(abs(auc[("group_b", value)] - roc_auc_score(rows["label"], rows["score"])))
    assert 0 < max(errors) <= bound < 0.01
    assert "Fairness report" in (out / "fairness_report.html").read_text()


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_multiple_testing_key_adjusts_the_verdicts(synthetic, tmp_path, method):
    folder, _ = synthetic
    results = {}
    for name, extra in (("auto", {}), (method, {"multiple_testing": method})):
        config = write_config(tmp_path, {**SYNTHETIC_CONFIG, **extra}, name=f"{name}.yaml")
        evaluate(folder / "preds.parquet", config, tmp_path / name)
        results[name] = read_parquet(tmp_path / name / "fairness_metrics.parquet")
    auto, adjusted = results["auto"], results[method]
    per_group = adjusted["group"] != "*"
    disparity = adjusted["metric"] != "excluded_groups"
    assert set(auto.loc[per_group, "adjustment"]) == {"bh"}
    assert set(auto.loc[~per_group & disparity, "adjustment"]) == {"holm"}
    assert set(adjusted.loc[disparity, "adjustment"]) == {method}
    # the adjustment changes decisions, never the estimates
    np.testing.assert_array_equal(auto["value"], adjusted["value"])
    lineage = json.loads((tmp_path / method / MANIFEST_NAME).read_text())["lineage"]
    assert lineage["multiple_testing"] == (
        f"{method}: aggregate disparities {method} (family: the evaluation); per-group rows "
        f"{method} (family: dimension); version comparison {method} (family: the comparison)"
    )


def test_string_labels_with_positive_label_and_reference_group(tmp_path):
    frame = compas_like()
    frame.to_csv(tmp_path / "compas.csv", index=False)
    config = write_config(tmp_path, COMPAS_CONFIG)
    evaluate(tmp_path / "compas.csv", config, tmp_path / "out")
    y = (frame["two_year_recid"] == "Yes").astype(int).to_numpy()
    s = frame["score"].to_numpy()
    d = (s >= 0.5).astype(int)  # decile 5 scores exactly 0.5: a positive decision
    assert_matches_oracle(tmp_path / "out", frame, y, d, s, [("race",), ("sex",), ("race", "sex")])
    assert_disparities_match_fairlearn(tmp_path / "out", frame, y, d)
    fairness = read_parquet(tmp_path / "out" / "fairness_metrics.parquet")
    per_group = fairness[(fairness["dimension"] == "race") & (fairness["group"] != "*")]
    assert set(per_group["reference_group"]) == {"Caucasian"}
    table = read_parquet(tmp_path / "out" / "slice_metrics.parquet")
    asian = table[(table["dimension"] == "race") & (table["group"] == "Asian")]
    assert set(asian["status"]) <= {"insufficient_sample", "undefined"}


def test_given_decisions_skip_score_metrics_with_a_stated_reason(tmp_path):
    frame = compas_like()
    frame.to_parquet(tmp_path / "compas.parquet", index=False)
    columns = {"id": "id", "label": "two_year_recid", "prediction": "high_risk"}
    config = {k: v for k, v in COMPAS_CONFIG.items() if k != "threshold"}
    config = write_config(tmp_path, {**config, "columns": columns})
    result = evaluate(tmp_path / "compas.parquet", config, tmp_path / "out")
    y = (frame["two_year_recid"] == "Yes").astype(int).to_numpy()
    d = frame["high_risk"].to_numpy()
    dimensions = [("race",), ("sex",), ("race", "sex")]
    assert_matches_oracle(tmp_path / "out", frame, y, d, None, dimensions, with_scores=False)
    reason = MSG_SKIPPED_SCORE.format(column="high_risk")
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert manifest["skipped_metrics"] == dict.fromkeys(SCORE_METRICS, reason)
    assert reason in result.stdout
    assert reason in (tmp_path / "out" / "model_card.md").read_text()


def test_an_integer_positive_label_maps_other_codes_to_negatives(tmp_path):
    frame = compas_like(n=500)
    frame["recid_code"] = np.where(frame["two_year_recid"] == "Yes", 2, 1)
    frame.to_csv(tmp_path / "coded.csv", index=False)
    columns = {"label": "recid_code", "score": "score"}
    config = write_config(tmp_path, {**COMPAS_CONFIG, "columns": columns, "positive_label": 2})
    evaluate(tmp_path / "coded.csv", config, tmp_path / "out")
    table = read_parquet(tmp_path / "out" / "slice_metrics.parquet")
    prevalence = table.query("dimension == 'overall' and metric == 'prevalence'")["value"]
    assert prevalence.item() == pytest.approx((frame["two_year_recid"] == "Yes").mean())


# Bad input: exit 2, a message naming the file, the column and the rule, nothing written -----------


def assert_rejected(result, out, *expected):
    assert result.exit_code == 2
    for text in expected:
        assert text in result.stderr
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.staging-*"))


def small_frame():
    return make_synthetic_frame(300, seed=4)


def _null_scores(frame):
    frame.loc[[3, 50, 70], "score"] = np.nan


def _bad_labels(frame):
    frame["label"] = frame["label"].astype(object)
    frame.loc[[1, 2], "label"] = 2


def _text_scores(frame):
    frame["score"] = frame["score"].astype(object)
    frame.loc[[5, 6], "score"] = "n/a"


def _high_score(frame):
    frame.loc[9, "score"] = 1.5


def _repeated_id(frame):
    frame.loc[10, "example_id"] = 7


def _two_problems(frame):
    _null_scores(frame)
    _bad_labels(frame)


DATA_ERRORS = {
    "null_scores": (_null_scores, ["preds.csv: column 'score' (columns.score) has 3 NULL values"]),
    "bad_labels": (
        _bad_labels,
        [
            "preds.csv: column 'label' (columns.label) has 2 values that are not 0/1 or "
            "true/false (e.g. '2'); set positive_label"
        ],
    ),
    "text_scores": (
        _text_scores,
        ["preds.csv: column 'score' (columns.score) has 2 non-numeric values"],
    ),
    "score_outside_0_1": (
        _high_score,
        ["preds.csv: column 'score' (columns.score) has 1 value outside [0, 1]; scores must"],
    ),
    "repeated_id": (
        _repeated_id,
        ["preds.csv: column 'example_id' (columns.id) has 1 repeated value; ids must be unique"],
    ),
    "every_problem_at_once": (
        _two_problems,
        ["column 'score' (columns.score) has 3 NULL values", "column 'label' (columns.label)"],
    ),
}


@pytest.mark.parametrize("case", DATA_ERRORS)
def test_bad_values_are_named_by_file_column_and_rule(tmp_path, case):
    change, expected = DATA_ERRORS[case]
    frame = small_frame()
    change(frame)
    frame.to_csv(tmp_path / "preds.csv", index=False)
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    result = invoke(tmp_path / "preds.csv", "--config", config, "--out", tmp_path / "out")
    assert_rejected(result, tmp_path / "out", *expected)


CONFIG_ERRORS = {
    "missing_column": (
        {"sensitive_features": ["group_a", "group_x"], "intersections": []},
        [
            "preds.csv: column 'group_x' (sensitive_features) not found; available: "
            "example_id, label, score, decision, group_a, group_b, group_c"
        ],
    ),
    "missing_label_column": (
        {"columns": {"label": "outcome", "score": "score"}},
        ["preds.csv: column 'outcome' (columns.label) not found"],
    ),
    "missing_columns_key": (
        {"columns": None},
        ["rai.yaml: invalid configuration", "columns: required by rai evaluate-file"],
    ),
    "missing_nested_key": (
        {"columns": {"score": "score"}},
        ["rai.yaml: invalid configuration", "columns.label: required key is missing"],
    ),
    "unknown_key": (
        {"treshold": 0.4},
        ["rai.yaml: invalid configuration", "treshold: unknown key"],
    ),
    "score_and_prediction": (
        {"columns": {"label": "label", "score": "score", "prediction": "decision"}},
        ["columns: give exactly one of columns.score", "both are set"],
    ),
    "absent_positive_label": (
        {"positive_label": ">50K"},
        [
            "preds.csv: column 'label' (columns.label) has no value equal to positive_label "
            "'>50K'; its values include '0', '1'"
        ],
    ),
    "absent_reference_group": (
        {"reference_groups": {"group_a": "a9"}},
        [
            "preds.csv: column 'group_a' has no group 'a9' (reference_groups.group_a); "
            "its groups are a0, a1, a2"
        ],
    ),
}


@pytest.mark.parametrize("case", CONFIG_ERRORS)
def test_config_errors_name_the_key_and_what_is_allowed(tmp_path, case):
    overrides, expected = CONFIG_ERRORS[case]
    small_frame().to_csv(tmp_path / "preds.csv", index=False)
    config = {**SYNTHETIC_CONFIG, **overrides}
    config = write_config(tmp_path, {k: v for k, v in config.items() if v is not None})
    result = invoke(tmp_path / "preds.csv", "--config", config, "--out", tmp_path / "out")
    assert_rejected(result, tmp_path / "out", *expected)


def test_unreadable_or_unknown_files_are_rejected(tmp_path):
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    out = tmp_path / "out"
    result = invoke(tmp_path / "absent.csv", "--config", config, "--out", out)
    assert_rejected(result, out, "absent.csv: no such file")
    (tmp_path / "preds.json").write_text("{}")
    result = invoke(tmp_path / "preds.json", "--config", config, "--out", out)
    assert_rejected(result, out, "preds.json: cannot tell the format", ".parquet")
    small_frame().head(0).to_csv(tmp_path / "empty.csv", index=False)
    result = invoke(tmp_path / "empty.csv", "--config", config, "--out", out)
    assert_rejected(result, out, "empty.csv: the file has no rows")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    result = invoke(tmp_path / "broken.parquet", "--config", config, "--out", out)
    assert_rejected(result, out, "broken.parquet: cannot be read as Parquet")
    small_frame().to_csv(tmp_path / "preds.csv", index=False)
    result = invoke(tmp_path / "preds.csv", "-c", config, "-o", out, "--memory-limit", "lots")
    assert_rejected(result, out, "--memory-limit 'lots'")


# Publishing ---------------------------------------------------------------------------------------


def test_an_existing_output_folder_is_kept_unless_forced_and_then_moved_aside(synthetic, tmp_path):
    folder, _ = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = invoke(folder / "preds.parquet", "--config", config, "--out", out)
    assert result.exit_code == 2
    assert "out: the output folder exists and is not empty; pass --force" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]

    result = evaluate(folder / "preds.parquet", config, out, "--force")
    previous = [p for p in tmp_path.iterdir() if p.name.startswith("out.previous-")]
    assert len(previous) == 1 and (previous[0] / "notes.txt").read_text() == "mine"
    assert str(previous[0]) in result.stdout
    assert (out / MANIFEST_NAME).is_file()
    assert not list(tmp_path.glob(".out.staging-*"))


def test_an_empty_output_folder_is_used(synthetic, tmp_path):
    folder, _ = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    (tmp_path / "out").mkdir()
    evaluate(folder / "preds.parquet", config, tmp_path / "out")
    assert (tmp_path / "out" / "slice_metrics.parquet").is_file()


def test_a_failure_while_writing_leaves_no_output_and_no_staging_folder(
    synthetic, tmp_path, monkeypatch
):
    folder, _ = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)

    def disk_full(staging, context):
        staging.mkdir(parents=True, exist_ok=True)
        (staging / "slice_metrics.csv").write_text("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evaluate_file_module, "assemble_pack", disk_full)
    result = invoke(folder / "preds.parquet", "--config", config, "--out", tmp_path / "out")
    assert_rejected(result, tmp_path / "out", "out: cannot write the outputs (No space left")


def test_a_file_that_changes_during_the_evaluation_is_not_published(
    synthetic, tmp_path, monkeypatch
):
    folder, _ = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    digests = iter(["a" * 64, "b" * 64])
    real = input_files_module.file_sha256

    def changing(path):
        return next(digests) if path.name == "preds.parquet" else real(path)

    monkeypatch.setattr(input_files_module, "file_sha256", changing)
    result = invoke(folder / "preds.parquet", "--config", config, "--out", tmp_path / "out")
    assert_rejected(result, tmp_path / "out", "preds.parquet: the file changed while it was")


# A data set in parts ---------------------------------------------------------------------------


def write_parts(folder, frame, parts=3):
    folder.mkdir()
    size = -(-len(frame) // parts)
    for k in range(parts):
        frame.iloc[k * size : (k + 1) * size].to_parquet(folder / f"part-{k}.parquet", index=False)
    return folder / "part-*.parquet"


def test_a_pattern_over_parts_evaluates_them_as_one_file_and_records_each(synthetic, tmp_path):
    folder, frame = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    pattern = write_parts(tmp_path / "scores", frame)
    evaluate(folder / "preds.parquet", config, tmp_path / "whole")
    result = evaluate(pattern, config, tmp_path / "parts")
    assert "Evaluated 4,000 rows" in result.stdout
    ids = ["evaluation_id", "model_version", "dataset_version"]
    whole, parts = (
        read_parquet(tmp_path / name / "slice_metrics.parquet").drop(columns=ids)
        for name in ("whole", "parts")
    )
    pd.testing.assert_frame_equal(whole, parts)
    manifest = json.loads((tmp_path / "parts" / MANIFEST_NAME).read_text())
    [recorded] = [i for i in manifest["inputs"] if i["kind"] == "predictions_file"]
    files = sorted(pattern.parent.glob("part-*.parquet"))
    assert [part["name"] for part in recorded["files"]] == [f.name for f in files]
    lines = "".join(f"{f.name}\t{hashlib.sha256(f.read_bytes()).hexdigest()}\n" for f in files)
    assert recorded["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert manifest["lineage"]["dataset_version"] == recorded["sha256"]
    assert manifest["lineage"]["model_version"] == "scores"  # the folder of the parts
    assert recorded["rows"] == len(frame)
    card = (tmp_path / "parts" / "model_card.md").read_text()
    assert f"`part-*.parquet` ({len(frame):,} rows in {len(files)} files)" in card


def test_a_pattern_matching_nothing_or_several_formats_is_refused_with_nothing_written(
    synthetic, tmp_path
):
    _, frame = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    result = invoke(tmp_path / "none-*.parquet", "--config", config, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "no file matches this pattern" in result.stderr
    pattern = write_parts(tmp_path / "mixed", frame, parts=2)
    frame.head(10).to_csv(pattern.parent / "part-9.csv", index=False)
    result = invoke(pattern.parent / "part-*", "--config", config, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "different formats (CSV, Parquet)" in result.stderr
    assert not (tmp_path / "o").exists()


def test_an_audit_refuses_parts_that_no_longer_match_what_was_evaluated(synthetic, tmp_path):
    from rai_pipeline.app.pack_sources import MSG_PARTS_CHANGED, PackSourceError, file_sources

    _, frame = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    pattern = write_parts(tmp_path / "scores", frame)
    evaluate(pattern, config, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert file_sources(tmp_path / "out", manifest).input_file == pattern.resolve()
    frame.head(5).to_parquet(pattern.parent / "part-7.parquet", index=False)
    with pytest.raises(PackSourceError) as raised:
        file_sources(tmp_path / "out", manifest)
    assert str(raised.value) == MSG_PARTS_CHANGED.format(
        pack=tmp_path / "out",
        pattern=pattern.resolve(),
        added=str((pattern.parent / "part-7.parquet").resolve()),
    )


def test_a_part_added_to_the_pattern_during_the_evaluation_is_not_published(
    synthetic, tmp_path, monkeypatch
):
    """The second digest resolves the pattern again: a part that appears while the rows are
    evaluated changes it, and nothing is published."""
    _, frame = synthetic
    config = write_config(tmp_path, SYNTHETIC_CONFIG)
    pattern = write_parts(tmp_path / "scores", frame)
    real = evaluate_file_module.evaluation.slice_statistics

    def then_a_part_arrives(*args, **kwargs):
        statistics = real(*args, **kwargs)
        frame.head(5).to_parquet(pattern.parent / "part-7.parquet", index=False)
        return statistics

    monkeypatch.setattr(evaluate_file_module.evaluation, "slice_statistics", then_a_part_arrives)
    result = invoke(pattern, "--config", config, "--out", tmp_path / "out")
    assert_rejected(result, tmp_path / "out", "part-*.parquet: the file changed while it was")
