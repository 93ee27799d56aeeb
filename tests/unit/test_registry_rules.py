"""The sensor's planning rule: which versions a tick requests and how far the cursor moves."""

import pytest

from rai_pipeline.core.governance.registry import (
    EVALUATED_TAG,
    MSG_BAD_PARTITION_KEY,
    ModelVersionInfo,
    ModelVersionRef,
    format_cursor,
    parse_cursor,
    parse_partition_key,
    plan_registry_tick,
)


def version(number: int, *, status: str = "READY", evaluated: bool = False) -> ModelVersionInfo:
    tags = {EVALUATED_TAG: "run"} if evaluated else {}
    return ModelVersionInfo(ModelVersionRef("m", str(number)), status=status, tags=tags)


def test_new_versions_are_requested_in_order_and_cursor_moves_to_the_last():
    plan = plan_registry_tick({}, {"m": [version(2), version(1)]})
    assert [r.version for r in plan.requests] == ["1", "2"]
    assert plan.cursor == {"m": 2}


def test_versions_at_or_below_the_cursor_are_not_requested_again():
    plan = plan_registry_tick({"m": 2}, {"m": [version(1), version(2), version(3)]})
    assert [r.version for r in plan.requests] == ["3"]
    assert plan.cursor == {"m": 3}


def test_sensor_does_not_advance_cursor_past_unrequested_version():
    plan = plan_registry_tick({}, {"m": [version(1), version(2), version(3)]}, max_requests=2)
    assert [r.version for r in plan.requests] == ["1", "2"]
    assert plan.cursor == {"m": 2}
    assert plan.skipped[-1][0].version == "3"


def test_a_version_still_registering_stops_the_walk():
    plan = plan_registry_tick(
        {}, {"m": [version(1), version(2, status="PENDING_REGISTRATION"), version(3)]}
    )
    assert [r.version for r in plan.requests] == ["1"]
    assert plan.cursor == {"m": 1}


def test_already_evaluated_versions_are_skipped_and_passed():
    plan = plan_registry_tick({}, {"m": [version(1, evaluated=True), version(2)]})
    assert [r.version for r in plan.requests] == ["2"]
    assert plan.cursor == {"m": 2}
    assert plan.skipped == [(ModelVersionRef("m", "1"), "already evaluated")]


def test_cursor_round_trips_and_rejects_garbage():
    assert parse_cursor(format_cursor({"b": 2, "a": 1})) == {"a": 1, "b": 2}
    assert parse_cursor(None) == {}
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_cursor("[1, 2]")


def test_partition_key_round_trips_and_names_the_expected_form():
    ref = ModelVersionRef("adult-income@eu", "12")
    assert parse_partition_key(ref.partition_key) == ref
    with pytest.raises(ValueError) as error:
        parse_partition_key("adult-income")
    assert str(error.value) == MSG_BAD_PARTITION_KEY.format(key="adult-income")
