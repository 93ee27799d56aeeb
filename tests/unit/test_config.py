"""Config validation: errors name the file, the key and the rule."""

import pytest

from rai_pipeline.core.config import (
    MSG_INTERSECTION_MEMBER,
    MSG_RATIO_BAND,
    ConfigError,
    load_config,
    parse_config,
)
from rai_pipeline.settings import DEMO_CONFIG


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
