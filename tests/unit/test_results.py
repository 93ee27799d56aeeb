"""Result tables: one evaluation's rows are replaced, others kept; new columns migrate in."""

import duckdb
import pandas as pd
import pytest

from rai_pipeline.core.engine.results import read_rows, replace_rows


def rows(version: str, value: float, **extra) -> pd.DataFrame:
    return pd.DataFrame(
        {"model_name": ["m"], "model_version": [version], "value": [value], **extra}
    )


def test_replacing_one_version_keeps_the_others():
    conn = duckdb.connect()
    replace_rows(conn, "t", rows("1", 0.1), key={"model_name": "m", "model_version": "1"})
    replace_rows(conn, "t", rows("2", 0.2), key={"model_name": "m", "model_version": "2"})
    replace_rows(conn, "t", rows("1", 0.3), key={"model_name": "m", "model_version": "1"})
    kept = read_rows(conn, "t", key={"model_name": "m"}).sort_values("model_version")
    assert kept["value"].tolist() == [0.3, 0.2]


def test_a_column_added_by_a_newer_release_is_migrated_in():
    conn = duckdb.connect()
    replace_rows(conn, "t", rows("1", 0.1), key={"model_name": "m", "model_version": "1"})
    newer = rows("2", 0.2, adjustment=["holm"])
    replace_rows(conn, "t", newer, key={"model_name": "m", "model_version": "2"})
    table = read_rows(conn, "t", key={"model_name": "m"}).sort_values("model_version")
    assert table["adjustment"].isna().tolist() == [True, False]


def test_rows_must_carry_the_key():
    conn = duckdb.connect()
    with pytest.raises(ValueError, match="model_version = '2'"):
        replace_rows(conn, "t", rows("1", 0.1), key={"model_name": "m", "model_version": "2"})
    assert read_rows(conn, "t", key={"model_name": "m"}).empty
