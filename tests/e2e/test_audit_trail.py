"""Audit trail on the demo: trace a number to its source rows; verify flags a changed byte."""

import json
import shutil

import duckdb
import pytest

from rai_pipeline.app.trace import MASK, TraceError, trace_number
from rai_pipeline.core.evidence.verify import verify_pack
from rai_pipeline.core.storage import read_parquet

pytestmark = pytest.mark.slow


def test_trace_reaches_the_false_positives_behind_a_group_rate(demo):
    home, outcomes, _ = demo
    pack = outcomes[-1].pack
    metrics = read_parquet(pack / "slice_metrics.parquet")
    by = metrics[(metrics["dimension"] == "sex&race") & (metrics["group"] == "Female&Black")]
    by = by.set_index("metric")["value"]
    negatives = round(by["count"] * (1 - by["prevalence"]))
    expected_fp = round(by["false_positive_rate"] * negatives)
    trace = trace_number(
        pack,
        dimension="sex&race",
        group="Female&Black",
        metric="false_positive_rate",
        rows=True,
        cell="false_positive",
        limit=10_000,
    )
    assert trace.number["value"] == pytest.approx(by["false_positive_rate"])
    assert trace.mlflow_run["status"] == "FINISHED"
    assert trace.model_version["uri"].endswith("/2")
    assert [m["name"] for m in trace.dbt_models[:2]] == ["eval_frame_wide", "eval_frame"]
    assert {e["name"] for e in trace.source_extracts} == {
        "examples",
        "labels",
        "subject_attributes",
    }
    assert all(e["sha256_matches"] for e in trace.source_extracts)
    rows = trace.rows
    assert len(rows) == expected_fp
    assert (rows["label"] == 0).all() and (rows["decision"] == 1).all()
    assert set(rows["sex"]) == {"Female"} and set(rows["race"]) == {"Black"}
    assert (rows["example_id"] == MASK).all() and trace.masked_columns == ["example_id"]
    # the slice SQL recorded in the pack, re-run on the warehouse, gives the same counts:
    # first the frame it reads, then the one-scan query
    blocks = trace.slice_sql.split("\n\n")
    frame_step = blocks[0]
    [cells_step] = [b for b in blocks if b.startswith("-- cells, Brier sums")]
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        for block, expected in ((frame_step, "-- the evaluation frame"), (cells_step, "-- cells")):
            step, parameters, *sql = block.splitlines()
            assert step.startswith(expected)
            params = json.loads(parameters.removeprefix("-- parameters: "))
            result = conn.execute("\n".join(sql).rstrip(";"), params)
        cells = result.df()
    group = cells[cells["grp"] == "Female&Black"]
    assert group["n"].sum() == by["count"]
    assert group[(group["label"] == 0) & (group["decision"] == 1)]["n"].sum() == expected_fp


def test_trace_shows_restricted_columns_only_when_asked(demo):
    _, outcomes, _ = demo
    trace = trace_number(
        outcomes[0].pack,
        dimension="sex",
        group="Female",
        metric="selection_rate",
        rows=True,
        cell="selected",
        include_restricted=True,
        limit=5,
    )
    assert trace.masked_columns == [] and trace.rows["example_id"].dtype.kind == "i"


def test_trace_of_an_unknown_number_names_what_exists(demo):
    _, outcomes, _ = demo
    with pytest.raises(TraceError, match=r"dimensions here: .*sex"):
        trace_number(outcomes[0].pack, dimension="nope", group="x", metric="count")


def test_verify_flags_a_one_byte_change_in_a_copy_of_each_demo_pack(demo, tmp_path):
    _, outcomes, _ = demo
    for outcome in outcomes:
        assert verify_pack(outcome.pack).intact
        copy = tmp_path / outcome.pack.name
        shutil.copytree(outcome.pack, copy)
        target = copy / "lineage" / "dbt" / "eval_frame.sql"
        data = bytearray(target.read_bytes())
        data[0] ^= 0x20
        target.write_bytes(bytes(data))
        assert verify_pack(copy).modified == ["lineage/dbt/eval_frame.sql"]


def test_trace_of_an_aggregate_disparity_lists_the_rows_of_every_group_compared(demo):
    """demographic_parity_ratio over sex&race: min / max selection rate of the groups it
    compares; --rows lists those groups' selected rows, and none of the excluded groups'."""
    _, outcomes, _ = demo
    pack = outcomes[-1].pack
    fairness = read_parquet(pack / "fairness_metrics.parquet")
    row = fairness[
        (fairness["dimension"] == "sex&race")
        & (fairness["group"] == "*")
        & (fairness["metric"] == "demographic_parity_ratio")
    ].iloc[0]
    excluded = [g for g in (row["groups_excluded"] or "").split(";") if g]
    metrics = read_parquet(pack / "slice_metrics.parquet")
    by_group = metrics[metrics["dimension"] == "sex&race"].pivot(
        index="group", columns="metric", values="value"
    )
    compared = by_group.drop(index=excluded)
    trace = trace_number(
        pack,
        dimension="sex&race",
        group="*",
        metric="demographic_parity_ratio",
        rows=True,
        cell="selected",
        limit=100_000,
    )
    listed = trace.rows.groupby("group").size()
    expected = (compared["count"] * compared["selection_rate"]).round().astype(int)
    expected = expected[expected > 0]
    assert listed.sort_index().to_dict() == expected.sort_index().to_dict()
    assert not set(excluded) & set(trace.rows["group"])
    assert (trace.rows["decision"] == 1).all()
    rates = compared["selection_rate"]
    assert row["value"] == pytest.approx(rates.min() / rates.max())


def test_trace_of_excluded_groups_lists_the_rows_of_the_groups_left_out(demo):
    """race&age_band has groups below the minimum sizes: its excluded_groups finding counts
    them, and --rows lists exactly their rows."""
    _, outcomes, _ = demo
    pack = outcomes[-1].pack
    fairness = read_parquet(pack / "fairness_metrics.parquet")
    row = fairness[
        (fairness["dimension"] == "race&age_band") & (fairness["metric"] == "excluded_groups")
    ].iloc[0]
    excluded = row["groups_excluded"].split(";")
    assert row["verdict"] == "insufficient_sample" and row["value"] == len(excluded)
    metrics = read_parquet(pack / "slice_metrics.parquet")
    counts = metrics[
        (metrics["dimension"] == "race&age_band") & (metrics["metric"] == "count")
    ].set_index("group")
    assert (counts.loc[excluded, "status"] == "insufficient_sample").all()
    trace = trace_number(
        pack,
        dimension="race&age_band",
        group="*",
        metric="excluded_groups",
        rows=True,
        limit=100_000,
    )
    listed = trace.rows.groupby("group").size()
    assert (
        listed.sort_index().to_dict()
        == counts.loc[excluded, "value"].astype(int).sort_index().to_dict()
    )
