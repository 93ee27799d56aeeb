"""Config validation: errors name the file, the key and the rule."""

import hashlib
import json

import pytest
import yaml

from rai_pipeline.core.config.files import read_yaml_mapping
from rai_pipeline.core.config.schema import (
    MSG_COLUMN_NAME,
    MSG_COLUMN_ROLES,
    MSG_FEATURE_IS_COLUMN,
    MSG_INTERSECTION_MEMBER,
    MSG_POSITIVE_LABEL_BOOL,
    MSG_RATIO_BAND,
    MSG_RATIO_BAND_RECIPROCAL,
    MSG_SCORE_OR_PREDICTION,
    MSG_THRESHOLD_WITH_PREDICTION,
    ConfigError,
    load_config,
    parse_config,
)
from rai_pipeline.settings import DEMO_CONFIG, PROJECT_ROOT


def test_demo_config_is_valid():
    config = load_config(DEMO_CONFIG)
    assert config.registered_models == ["adult-income"]
    assert ("sex", "race") in config.resolved_intersections()


def test_intersections_default_to_every_pair():
    config = parse_config({"sensitive_features": ["a", "b", "c"]})
    assert config.resolved_intersections() == [("a", "b"), ("a", "c"), ("b", "c")]


def test_unknown_key_is_named_with_the_file(tmp_path):
    path = tmp_path / "rai.yaml"
    path.write_text("sensitive_features: [sex]\ntreshold: 0.4\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value)
    assert "treshold: unknown key" in str(error.value)


def test_intersection_member_must_be_a_sensitive_feature():
    with pytest.raises(ConfigError) as error:
        parse_config({"sensitive_features": ["sex"], "intersections": [["sex", "race"]]})
    assert MSG_INTERSECTION_MEMBER.format(member="race", features=["sex"]) in str(error.value)


def test_ratio_band_must_contain_one():
    with pytest.raises(ConfigError) as error:
        parse_config({"sensitive_features": ["sex"], "policy": {"ratio_band": [1.1, 1.3]}})
    assert "policy.ratio_band" in str(error.value)
    assert MSG_RATIO_BAND in str(error.value)


def test_a_ratio_band_that_is_not_reciprocal_is_an_error_that_says_why():
    with pytest.raises(ConfigError) as error:
        parse_config({"sensitive_features": ["sex"], "policy": {"ratio_band": [0.8, 1.2]}})
    assert str(error.value) == (
        "<config>: invalid configuration\n  - policy.ratio_band: "
        + MSG_RATIO_BAND_RECIPROCAL.format(lower=0.8, upper=1.2, inverse=1.25)
    )
    assert "depend on which of them is the reference group" in str(error.value)
    band = parse_config({"sensitive_features": ["sex"], "policy": {"ratio_band": [0.9, 1 / 0.9]}})
    assert band.policy.ratio_band == (0.9, 1 / 0.9)


def test_defaults_adjust_for_multiplicity_and_require_five_of_each_class():
    config = parse_config({"sensitive_features": ["sex"]})
    assert config.multiple_testing == "auto"
    assert config.min_positives == config.min_negatives == 5


def test_sensitive_feature_names_must_be_identifiers():
    with pytest.raises(ConfigError, match=r"sensitive_features: .* must match"):
        parse_config({"sensitive_features": ['sex"; drop table x; --']})


def test_digest_changes_with_policy():
    a = parse_config({"sensitive_features": ["sex"]})
    b = parse_config({"sensitive_features": ["sex"], "policy": {"difference_bound": 0.05}})
    assert a.digest() != b.digest()
    assert a.digest() == parse_config({"sensitive_features": ["sex"]}).digest()


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


# Keys of `rai evaluate-file` ------------------------------------------------------------------

FILE_CONFIG = {"sensitive_features": ["race", "sex"], "columns": {"label": "y", "score": "p"}}


def test_evaluate_file_keys_are_accepted_and_documented_example_is_valid():
    config = parse_config(
        {
            **FILE_CONFIG,
            "columns": {"id": "person_id", "label": "income", "score": "p"},
            "positive_label": ">50K",
            "reference_groups": {"race": "White"},
        }
    )
    assert config.columns.roles() == {"id": "person_id", "label": "income", "score": "p"}
    assert config.positive_label == ">50K"


@pytest.mark.parametrize(
    ("columns", "state"),
    [({"label": "y"}, "neither is set"), ({"label": "y", "score": "p", "prediction": "d"}, "both")],
)
def test_columns_need_exactly_one_of_score_and_prediction(columns, state):
    with pytest.raises(ConfigError) as error:
        parse_config({**FILE_CONFIG, "columns": columns})
    assert "  - columns: " + MSG_SCORE_OR_PREDICTION.split("{")[0] in str(error.value)
    assert state in str(error.value)


def test_column_names_follow_the_identifier_rule():
    with pytest.raises(ConfigError) as error:
        parse_config({**FILE_CONFIG, "columns": {"label": "y", "score": "p; drop table t"}})
    assert "columns.score: " + MSG_COLUMN_NAME.format(name="p; drop table t") in str(error.value)


def test_one_column_cannot_play_two_roles():
    with pytest.raises(ConfigError) as error:
        parse_config({**FILE_CONFIG, "columns": {"label": "y", "score": "y"}})
    assert MSG_COLUMN_ROLES.format(role="label", other="score", name="y") in str(error.value)
    with pytest.raises(ConfigError) as error:
        parse_config({**FILE_CONFIG, "columns": {"label": "race", "score": "p"}})
    assert MSG_FEATURE_IS_COLUMN.format(name="race", role="label") in str(error.value)


def test_threshold_is_rejected_when_decisions_are_given():
    given = {**FILE_CONFIG, "columns": {"label": "y", "prediction": "d"}}
    assert parse_config(given).columns.prediction == "d"
    with pytest.raises(ConfigError) as error:
        parse_config({**given, "threshold": 0.3})
    assert MSG_THRESHOLD_WITH_PREDICTION in str(error.value)


def test_positive_label_refuses_yaml_booleans(tmp_path):
    path = tmp_path / "rai.yaml"
    path.write_text(yaml.safe_dump(FILE_CONFIG) + "positive_label: yes\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"positive_label: {MSG_POSITIVE_LABEL_BOOL}" in str(error.value)
    assert parse_config({**FILE_CONFIG, "positive_label": "yes"}).positive_label == "yes"
    assert parse_config({**FILE_CONFIG, "positive_label": 2}).positive_label == 2


def test_a_missing_nested_key_is_named():
    with pytest.raises(ConfigError) as error:
        parse_config({**FILE_CONFIG, "columns": {"score": "p"}})
    assert "columns.label: required key is missing" in str(error.value)


def test_integer_reference_groups_are_group_labels():
    config = parse_config({**FILE_CONFIG, "reference_groups": {"race": 3}})
    assert config.reference_groups == {"race": "3"}


LATER_KEYS = (
    "columns",
    "positive_label",
    "auc",
    "multiple_testing",
    "multiple_testing_family",
    "evaluation_date",
    "limits",
    "ethical_considerations",
    "mitigation_due_days",
    "out_of_scope_uses",
)


def test_digest_of_a_config_without_the_later_keys_is_unchanged():
    data = read_yaml_mapping(DEMO_CONFIG, what="config", error=ValueError)
    config = parse_config({k: v for k, v in data.items() if k not in LATER_KEYS})
    data = config.model_dump(mode="json")
    for key in (*LATER_KEYS, "warehouse"):  # where it runs is never part of the digest
        del data[key]
    expected = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    assert config.digest() == expected
    base = parse_config(FILE_CONFIG).digest()
    for change in (
        {"columns": {"label": "y", "score": "q"}},
        {"auc": "binned"},
        {"multiple_testing": "holm"},
        {"multiple_testing": "bh", "multiple_testing_family": "metric"},
        {"limits": {"max_groups_per_dimension": 50}},
        {"ethical_considerations": "Decisions allocate loans."},
    ):
        assert parse_config({**FILE_CONFIG, **change}).digest() != base


def test_the_warehouse_is_chosen_by_the_config_and_is_not_part_of_its_digest():
    """The same evaluation on another engine keeps its identity (evaluation ids, packs)."""
    on_duckdb = parse_config(FILE_CONFIG)
    assert on_duckdb.warehouse.engine == "duckdb"
    for engine in ("postgres", "spark"):
        elsewhere = parse_config({**FILE_CONFIG, "warehouse": {"engine": engine}})
        assert elsewhere.warehouse.engine == engine
        assert elsewhere.digest() == on_duckdb.digest()
    with pytest.raises(ConfigError) as error:
        parse_config({**FILE_CONFIG, "warehouse": {"engine": "oracle"}}, source="rai.yaml")
    assert "warehouse.engine: Input should be 'duckdb', 'postgres' or 'spark'" in str(error.value)


@pytest.mark.parametrize(
    "key, value, allowed",
    [
        ("auc", "approximate", "'exact' or 'binned'"),
        ("multiple_testing", "bonferroni", "'auto', 'none', 'holm' or 'bh'"),
        ("multiple_testing_family", "all", "'dimension' or 'metric'"),
    ],
)
def test_method_keys_name_what_is_allowed(key, value, allowed):
    with pytest.raises(ConfigError) as error:
        parse_config({**FILE_CONFIG, key: value}, source="rai.yaml")
    assert str(error.value) == (
        f"rai.yaml: invalid configuration\n  - {key}: Input should be {allowed}"
    )


@pytest.mark.parametrize("document", ["README.md", "docs/configuration.md"])
def test_documented_evaluate_file_configs_are_valid(document):
    text = (PROJECT_ROOT / document).read_text()
    blocks = [b.split("```")[0] for b in text.split("```yaml\n")[1:]]
    examples = [yaml.safe_load(b) for b in blocks if b.lstrip().startswith("columns")]
    assert examples
    for example in examples:
        assert parse_config(example).columns is not None
