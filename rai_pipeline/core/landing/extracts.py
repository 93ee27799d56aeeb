"""Land an evaluation dataset as immutable, content-addressed Parquet extracts.

The extracts are the dbt sources of the evaluation frame (``dbt_project/models/staging``).

Layout under ``landing_dir`` (the pipeline uses ``$RAI_HOME/landing/evaluation``)::

    landing_dir/
        versions/<dataset_version>/      one folder per version; read-only files, never modified
            examples.parquet             example_id + feature columns
            labels.parquet               example_id, label (INT32, 0/1)
            subject_attributes.parquet   example_id + sensitive attributes (e.g. sex, race, age)
            dataset_version.parquet      one row: dataset_version, <extract>_sha256, <extract>_rows
        current -> versions/<dataset_version>   relative symlink: what dbt reads

dbt reads the fixed paths ``landing_dir/current/<extract>.parquet``. Every extract is sorted by
``example_id`` and written without pandas metadata, with fixed compression settings, so the
same frame gives the same bytes (for a given pyarrow version).

``dataset_version`` is the sha256 (hex) of the UTF-8 text made of one line per extract,
``"<extract> <sha256 of its file>"``, lines sorted, each ending in ``\\n``, over the three
extracts ``examples``, ``labels`` and ``subject_attributes`` (``dataset_version.parquet`` is
derived from them and not part of the digest). An auditor recomputes it with::

    printf 'examples %s\\nlabels %s\\nsubject_attributes %s\\n' \\
        $(sha256sum examples.parquet labels.parquet subject_attributes.parquet | cut -d' ' -f1) \\
        | sha256sum

Writes are atomic: the extracts are written into a temporary folder inside ``landing_dir`` and
renamed to ``versions/<dataset_version>`` in one step; ``current`` is switched by renaming a new
symlink over it. Landing a frame whose version already exists leaves that folder untouched
(after checking its digests). If ``current`` points at a different version the call raises
:class:`LandingConflictError` unless ``replace_current=True`` is passed; the previous version's
folder is never deleted, and :attr:`LandedDataset.previous_version` reports the switch.

Predictions are not landed as files: the pipeline writes them into the warehouse table
:data:`PREDICTIONS_TABLE` (see :data:`PREDICTIONS_DDL`), which dbt reads as a source.

Example
-------
>>> import shutil, tempfile
>>> from rai_pipeline.demo.adult import FEATURES, LABEL, load_adult_with_ids
>>> home = Path(tempfile.mkdtemp())
>>> landed = land_evaluation_extracts(
...     load_adult_with_ids("test"),
...     landing_dir=home / "landing" / "evaluation",
...     label_column=LABEL,
...     attribute_columns=["sex", "race", "age"],
...     feature_columns=FEATURES,
... )
>>> landed.rows["examples"], len(landed.dataset_version)
(16281, 64)
>>> shutil.rmtree(home)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rai_pipeline.core.storage import (
    EXTRACT_OPTIONS,
    file_sha256,
    fsync_dir,
    move_into_place,
    read_parquet,
    write_parquet,
)

EXTRACTS = ("examples", "labels", "subject_attributes")
VERSION_FILE = "dataset_version"
VERSIONS_DIR = "versions"
CURRENT_LINK = "current"
LABEL = "label"


PREDICTIONS_TABLE = "landing.predictions"
PREDICTIONS_COLUMNS = {
    "model_name": "VARCHAR",
    "model_version": "VARCHAR",
    "example_id": "BIGINT",
    "score": "DOUBLE",
    "scored_at_run": "VARCHAR",
}
PREDICTIONS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS landing;\n"
    f"CREATE TABLE IF NOT EXISTS {PREDICTIONS_TABLE} (\n"
    + ",\n".join(
        f"    {name} {sql_type} NOT NULL" for name, sql_type in PREDICTIONS_COLUMNS.items()
    )
    + "\n);"
)

# On Spark: a Parquet table partitioned by model version, so that scoring a version again
# overwrites that version's partition only (Parquet tables cannot delete rows).
PREDICTIONS_DDL_SPARK = (
    f"CREATE TABLE IF NOT EXISTS {PREDICTIONS_TABLE} (example_id BIGINT, score DOUBLE, "
    "scored_at_run STRING, model_name STRING, model_version STRING) USING parquet "
    "PARTITIONED BY (model_name, model_version)"
)

# The landed extracts as the tables of a warehouse's schema ``landing`` (dbt's sources on its
# postgres and spark targets), each with the file of a landed version it is loaded from.
WAREHOUSE_TABLES = {
    "examples": "examples.parquet",
    "labels": "labels.parquet",
    "subject_attributes": "subject_attributes.parquet",
    "dataset_versions": f"{VERSION_FILE}.parquet",
}
ERR_NOT_LANDED = "{landing_dir}: no landed data set to load into the warehouse (rai land)"

ERR_MISSING_COLUMNS = "frame has no column(s) {missing}; available: {available}"
ERR_EMPTY_SELECTION = "{what} must name at least one column"
ERR_OVERLAP = "column(s) {columns} appear in more than one of id, label, attributes and features"
ERR_ID_TYPE = "id column {column!r} must hold integers, got dtype {dtype}"
ERR_ID_NULL = "id column {column!r} has {count} NULL value(s)"
ERR_ID_DUPLICATE = "id column {column!r} must be unique; {count} duplicated id(s), e.g. {sample}"
ERR_LABEL_VALUES = "label column {column!r} must hold only 0 and 1 (no NULL); found {sample}"
ERR_EMPTY_FRAME = "frame has no rows; an evaluation dataset needs at least one example"
ERR_CONFLICT = (
    "{current_link} points at dataset version {current}, not the newly landed {new}; "
    "pass replace_current=True to switch (both versions stay under {versions})"
)
ERR_INTEGRITY = (
    "existing landing {directory} does not match its own digest: {name} has sha256 "
    "{actual}, expected {expected}"
)
ERR_CURRENT_NOT_LINK = "{path} exists and is not a symlink; move it away before landing"


class LandingError(ValueError):
    """The frame cannot be landed as evaluation extracts; the message says what must hold."""


class LandingConflictError(RuntimeError):
    """``current`` points at another dataset version and replacing it was not requested."""


class LandingIntegrityError(RuntimeError):
    """A previously landed version folder no longer matches its content digest."""


@dataclass(frozen=True)
class LandedDataset:
    """Where and what was landed.

    Attributes
    ----------
    dataset_version : str
        Content digest of the three extracts (see the module docstring).
    directory : pathlib.Path
        ``landing_dir/versions/<dataset_version>``.
    current_dir : pathlib.Path
        ``landing_dir/current``, the fixed path dbt reads.
    paths, sha256, rows : dict
        Per file name without suffix (``examples``, ``labels``, ``subject_attributes``,
        ``dataset_version``): absolute path, hex sha256 of the bytes, number of rows.
    created : bool
        False if this dataset version had already been landed.
    previous_version : str or None
        The version ``current`` pointed at before, if it was different.
    """

    dataset_version: str
    directory: Path
    current_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    created: bool = True
    previous_version: str | None = None


def dataset_version_of(extract_sha256: dict[str, str]) -> str:
    """Digest of the sorted ``"<extract> <sha256>"`` lines, each ending in a newline."""
    lines = sorted(f"{name} {digest}\n" for name, digest in extract_sha256.items())
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def read_current_version(landing_dir: Path) -> str | None:
    """Return the dataset version ``landing_dir/current`` points at, or None if not landed."""
    link = Path(landing_dir) / CURRENT_LINK
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def load_current_into(engine: Any, landing_dir: Path) -> str:
    """Load the extracts of the version ``landing_dir/current`` points at into ``engine``'s
    tables :data:`WAREHOUSE_TABLES` (``load_table`` of a
    :class:`~rai_pipeline.adapters.sql_engines.PostgresEngine` or ``SparkEngine``), each
    replacing the table of its name; return that version. Read from the version's own folder,
    so a landing that switches ``current`` meanwhile cannot mix two versions."""
    version = read_current_version(landing_dir)
    if version is None:
        raise FileNotFoundError(ERR_NOT_LANDED.format(landing_dir=landing_dir))
    folder = Path(landing_dir) / VERSIONS_DIR / version
    for table, filename in WAREHOUSE_TABLES.items():
        engine.load_table(f"landing.{table}", read_parquet(folder / filename))
    return version


def land_evaluation_extracts(
    frame: pd.DataFrame,
    *,
    landing_dir: Path,
    label_column: str,
    attribute_columns: Sequence[str],
    feature_columns: Sequence[str],
    id_column: str = "example_id",
    replace_current: bool = False,
) -> LandedDataset:
    """Split ``frame`` into the three evaluation extracts and land them atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per example. Not modified.
    landing_dir : pathlib.Path
        Root of the landing area, e.g. ``$RAI_HOME/landing/evaluation``; created if missing.
    label_column : str
        Binary label (0/1 or bool, no NULL); landed as ``label`` (INT32).
    attribute_columns : sequence of str
        Sensitive attributes landed in ``subject_attributes`` (the dbt project expects
        ``sex``, ``race`` and ``age``). May repeat a feature column (``age`` is both).
    feature_columns : sequence of str
        Model inputs landed in ``examples``.
    id_column : str, default "example_id"
        Unique, non-NULL integer key; landed as ``example_id`` (INT64).
    replace_current : bool, default False
        Switch ``current`` to this version when it points at another one.

    Returns
    -------
    LandedDataset

    Raises
    ------
    LandingError
        Missing or overlapping columns, bad ids, labels other than 0/1, no rows.
    LandingConflictError
        ``current`` points at another version and ``replace_current`` is False. The new
        version is still stored under ``versions/``.
    LandingIntegrityError
        The folder of this version exists but its files do not match the digest.
    """
    extracts = _build_extracts(
        frame,
        id_column=id_column,
        label_column=label_column,
        attribute_columns=list(attribute_columns),
        feature_columns=list(feature_columns),
    )
    landing_dir = Path(landing_dir).absolute()
    versions_dir = landing_dir / VERSIONS_DIR
    versions_dir.mkdir(parents=True, exist_ok=True)

    tmp_dir = landing_dir / f".tmp-{uuid.uuid4().hex}"
    tmp_dir.mkdir()
    try:
        sha256: dict[str, str] = {}
        rows: dict[str, int] = {}
        for name, table in extracts.items():
            write_parquet(table, tmp_dir / f"{name}.parquet", options=EXTRACT_OPTIONS, durable=True)
            sha256[name] = file_sha256(tmp_dir / f"{name}.parquet")
            rows[name] = len(table)
        version = dataset_version_of(sha256)
        summary = pd.DataFrame(
            [
                {
                    "dataset_version": version,
                    **{f"{n}_sha256": sha256[n] for n in EXTRACTS},
                    **{f"{n}_rows": rows[n] for n in EXTRACTS},
                }
            ]
        ).astype({f"{n}_rows": "int64" for n in EXTRACTS})
        write_parquet(
            summary, tmp_dir / f"{VERSION_FILE}.parquet", options=EXTRACT_OPTIONS, durable=True
        )
        sha256[VERSION_FILE] = file_sha256(tmp_dir / f"{VERSION_FILE}.parquet")
        rows[VERSION_FILE] = 1

        directory = versions_dir / version
        created = publish_version(tmp_dir, directory, sha256)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)

    previous = point_current(landing_dir, version, replace_current=replace_current)
    return LandedDataset(
        dataset_version=version,
        directory=directory,
        current_dir=landing_dir / CURRENT_LINK,
        paths={name: directory / f"{name}.parquet" for name in sha256},
        sha256=sha256,
        rows=rows,
        created=created,
        previous_version=previous,
    )


def _build_extracts(
    frame: pd.DataFrame,
    *,
    id_column: str,
    label_column: str,
    attribute_columns: list[str],
    feature_columns: list[str],
) -> dict[str, pd.DataFrame]:
    """Validate ``frame`` and return the three extracts, sorted by example id."""
    for what, columns in (
        ("attribute_columns", attribute_columns),
        ("feature_columns", feature_columns),
    ):
        if not columns:
            raise LandingError(ERR_EMPTY_SELECTION.format(what=what))
    wanted = [id_column, label_column, *attribute_columns, *feature_columns]
    missing = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if missing:
        raise LandingError(
            ERR_MISSING_COLUMNS.format(missing=missing, available=list(frame.columns))
        )
    overlap = _overlap(id_column, label_column, attribute_columns, feature_columns)
    if overlap:
        raise LandingError(ERR_OVERLAP.format(columns=overlap))
    if frame.empty:
        raise LandingError(ERR_EMPTY_FRAME)

    ids = frame[id_column]
    if ids.isna().any():
        raise LandingError(ERR_ID_NULL.format(column=id_column, count=int(ids.isna().sum())))
    if not pd.api.types.is_integer_dtype(ids.dtype):
        raise LandingError(ERR_ID_TYPE.format(column=id_column, dtype=ids.dtype))
    duplicated = ids[ids.duplicated()]
    if not duplicated.empty:
        raise LandingError(
            ERR_ID_DUPLICATE.format(
                column=id_column,
                count=duplicated.nunique(),
                sample=sorted(duplicated.unique().tolist())[:5],
            )
        )

    labels = frame[label_column]
    bad = labels[~labels.isin([0, 1]) | labels.isna()]
    if not bad.empty:
        raise LandingError(
            ERR_LABEL_VALUES.format(column=label_column, sample=bad.unique().tolist()[:5])
        )

    order = ids.to_numpy(dtype="int64").argsort(kind="stable")
    base = frame.iloc[order]
    example_id = base[id_column].astype("int64").to_numpy()

    def extract(columns: list[str]) -> pd.DataFrame:
        out = base[columns].reset_index(drop=True)
        out.insert(0, "example_id", example_id)
        return out

    labels_frame = pd.DataFrame(
        {"example_id": example_id, LABEL: base[label_column].astype("int32").to_numpy()}
    )
    return {
        "examples": extract(feature_columns),
        "labels": labels_frame,
        "subject_attributes": extract(attribute_columns),
    }


def _overlap(
    id_column: str, label_column: str, attribute_columns: list[str], feature_columns: list[str]
) -> list[str]:
    """Columns used twice, except a column that is both an attribute and a feature."""
    clashes = {id_column} & {label_column, *attribute_columns, *feature_columns}
    clashes |= {label_column} & {*attribute_columns, *feature_columns}
    for group in (attribute_columns, feature_columns):
        clashes |= {c for c in group if group.count(c) > 1}
    return sorted(clashes)


def publish_version(tmp_dir: Path, directory: Path, sha256: dict[str, str]) -> bool:
    """Rename ``tmp_dir`` to ``directory``; if it exists, verify it instead. True if created."""
    if not directory.exists():
        try:
            move_into_place(tmp_dir, directory)
        except OSError:
            if not directory.exists():
                raise
        else:
            return True
    for name, expected in sha256.items():
        actual = file_sha256(directory / f"{name}.parquet")
        if actual != expected:
            raise LandingIntegrityError(
                ERR_INTEGRITY.format(
                    directory=directory, name=name, actual=actual, expected=expected
                )
            )
    return False


def point_current(landing_dir: Path, version: str, *, replace_current: bool) -> str | None:
    """Make ``current`` point at ``versions/<version>``; return the version it replaced."""
    link = landing_dir / CURRENT_LINK
    if link.exists() and not link.is_symlink():
        raise LandingConflictError(ERR_CURRENT_NOT_LINK.format(path=link))
    current = read_current_version(landing_dir)
    if current == version:
        return None
    if current is not None and not replace_current:
        raise LandingConflictError(
            ERR_CONFLICT.format(
                current_link=link, current=current, new=version, versions=landing_dir / VERSIONS_DIR
            )
        )
    tmp_link = landing_dir / f".current-{uuid.uuid4().hex}"
    os.symlink(Path(VERSIONS_DIR) / version, tmp_link, target_is_directory=True)
    os.replace(tmp_link, link)
    fsync_dir(landing_dir)
    return current
