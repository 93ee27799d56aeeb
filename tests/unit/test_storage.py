"""Reading Parquet back (core/storage.py): the frame pandas and Arrow give, without handing
Arrow a Python file object (one released on Arrow's worker thread while the interpreter exits
aborts the process)."""

from __future__ import annotations

import builtins
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from rai_pipeline.core.storage import read_parquet, write_parquet


@pytest.fixture
def table(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "group": ["a", None, "b", "a"],
            "n": np.array([3, 1, 4, 1], dtype="int64"),
            "value": [0.5, np.nan, 0.25, 1.0],
        }
    )
    path = tmp_path / "table.parquet"
    write_parquet(frame, path)
    return path


def test_the_frame_is_arrows_and_columns_select(table: Path) -> None:
    pd.testing.assert_frame_equal(read_parquet(table), pq.read_table(table).to_pandas())
    selected = read_parquet(table, columns=["value", "group"])
    assert list(selected.columns) == ["value", "group"]
    pd.testing.assert_frame_equal(selected, pq.read_table(table).to_pandas()[["value", "group"]])


def test_no_python_file_object_is_opened(table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With Python's ``open`` refused, the read still succeeds: Arrow opened the file itself
    (pandas' own reader opens it in Python, and fails here)."""

    def refused(*args, **kwargs):
        raise AssertionError(f"a Python file object was opened: {args[:1]}")

    monkeypatch.setattr(builtins, "open", refused)
    monkeypatch.setattr(io, "open", refused)
    assert read_parquet(table)["n"].tolist() == [3, 1, 4, 1]
    with pytest.raises(AssertionError, match="Python file object"):
        pd.read_parquet(table)  # noqa: TID251 (the reader the helper replaces)


def test_a_missing_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_parquet(tmp_path / "absent.parquet")
