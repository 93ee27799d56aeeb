"""The UCI Adult demo dataset (CC BY 4.0), shipped as Parquet inside the package.

Becker, B. & Kohavi, R. (1996). Adult. UCI Machine Learning Repository.
https://doi.org/10.24432/C5XW20 . See ``rai_pipeline/demo/data/README.md`` for what was changed.

Example
-------
>>> from rai_pipeline.demo.adult import FEATURES, LABEL, SENSITIVE, load_adult
>>> train = load_adult("train")
>>> X, y = train[FEATURES], train[LABEL]
"""

from __future__ import annotations

from importlib.resources import as_file, files
from typing import Literal, get_args

import pandas as pd

from rai_pipeline.core.storage import read_parquet

Split = Literal["train", "test"]

LABEL = "income_over_50k"
SENSITIVE = ["sex", "race"]
WEIGHT = "fnlwgt"
COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income_over_50k",
]
FEATURES = [c for c in COLUMNS if c not in {*SENSITIVE, LABEL, WEIGHT}]
NUMERIC_FEATURES = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CATEGORICAL_FEATURES = [c for c in FEATURES if c not in NUMERIC_FEATURES]
ID_COLUMN = "example_id"

ERR_SPLIT = "split must be one of {allowed}, got {split!r}"


def load_adult(split: Split) -> pd.DataFrame:
    """Load one split of UCI Adult as shipped in ``rai_pipeline/demo/data``.

    Parameters
    ----------
    split : {"train", "test"}
        ``train`` is ``adult.data`` (32,561 rows), ``test`` is ``adult.test`` (16,281 rows).

    Returns
    -------
    pandas.DataFrame
        The columns in :data:`COLUMNS`, source row order; missing values are ``None``.
    """
    allowed = get_args(Split)
    if split not in allowed:
        raise ValueError(ERR_SPLIT.format(allowed=allowed, split=split))
    resource = files("rai_pipeline.demo").joinpath("data", f"adult_{split}.parquet")
    with as_file(resource) as path:
        return read_parquet(path)


def load_adult_with_ids(split: Split) -> pd.DataFrame:
    """Load a split with an ``example_id`` column (0-based source row number, int64) first.

    The ids are stable because the shipped files keep the source row order; this is the frame
    to pass to :func:`rai_pipeline.core.landing.extracts.land_evaluation_extracts`.
    """
    frame = load_adult(split)
    frame.insert(0, ID_COLUMN, pd.RangeIndex(len(frame), dtype="int64").to_numpy())
    return frame
