"""Convert the UCI Adult source files into the demo Parquet files shipped with the package.

Reads ``adult.data`` and ``adult.test`` (byte-identical UCI originals, gzipped in
``scripts/uci_adult/``, see its ``PROVENANCE.md``; plain or ``.gz`` files in ``--source-dir``),
checks their sha256 against the recorded digests, and writes ``adult_train.parquet`` and
``adult_test.parquet`` into ``rai_pipeline/demo/data/``.

The conversion changes nothing but representation: snake_case column names, ``?`` becomes
NULL, the trailing period of the test labels is stripped and the income label becomes
``income_over_50k`` (1 for ``>50K``, 0 for ``<=50K``). Rows keep their source order.

Output bytes are deterministic for a given input and pyarrow version (no pandas metadata,
fixed compression level and row-group size). ``--check`` rebuilds into a temporary folder and
fails if the result differs from the files already in the output folder.

Usage::

    python scripts/build_demo_data.py [--source-dir DIR] [--out-dir DIR] [--check]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
import tempfile
from pathlib import Path

import pandas as pd

from rai_pipeline.core.storage import EXTRACT_OPTIONS, file_sha256, write_parquet

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE_DIR = REPO_ROOT / "scripts" / "uci_adult"
DEFAULT_OUT_DIR = REPO_ROOT / "rai_pipeline" / "demo" / "data"

SOURCE_SHA256 = {
    "adult.data": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
}
SPLITS = {"train": "adult.data", "test": "adult.test"}
EXPECTED_ROWS = {"train": 32_561, "test": 16_281}

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
    "income",
]
INTEGER_COLUMNS = [
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
]
LABELS = {"<=50K": 0, ">50K": 1}


ERR_SHA_MISMATCH = "{name}: sha256 {actual} differs from the recorded {expected}"
ERR_ROWS = "{split}: expected {expected} rows, read {actual}"
ERR_LABELS = "{split}: unexpected income labels {values!r}"
ERR_CHECK = "{name} differs from a fresh build (committed {committed}, rebuilt {rebuilt})"


def source_bytes(source_dir: Path, name: str) -> bytes:
    """The bytes of a source file: ``<name>`` if present, else ``<name>.gz`` decompressed."""
    plain = source_dir / name
    if plain.exists():
        return plain.read_bytes()
    return gzip.decompress((source_dir / f"{name}.gz").read_bytes())


def read_split(source_dir: Path, split: str) -> pd.DataFrame:
    """Read one split from the UCI text format into the demo column layout."""
    name = SPLITS[split]
    data = source_bytes(source_dir, name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != SOURCE_SHA256[name]:
        raise SystemExit(
            ERR_SHA_MISMATCH.format(name=name, actual=actual, expected=SOURCE_SHA256[name])
        )
    frame = pd.read_csv(
        io.BytesIO(data),
        header=None,
        names=COLUMNS,
        skiprows=1 if split == "test" else 0,
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
        skip_blank_lines=True,
        dtype={c: "string" for c in COLUMNS if c not in INTEGER_COLUMNS},
    )
    if len(frame) != EXPECTED_ROWS[split]:
        raise SystemExit(
            ERR_ROWS.format(split=split, expected=EXPECTED_ROWS[split], actual=len(frame))
        )
    income = frame.pop("income").str.rstrip(".")
    unknown = sorted(set(income.dropna()) - set(LABELS))
    if unknown or income.isna().any():
        raise SystemExit(ERR_LABELS.format(split=split, values=unknown or [None]))
    frame["income_over_50k"] = income.map(LABELS).astype("int64")
    for column in INTEGER_COLUMNS:
        frame[column] = frame[column].astype("int64")
    return frame


def build(source_dir: Path, out_dir: Path) -> dict[str, Path]:
    """Write ``adult_<split>.parquet`` for both splits into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for split in SPLITS:
        path = out_dir / f"adult_{split}.parquet"
        write_parquet(read_split(source_dir, split), path, options=EXTRACT_OPTIONS)
        written[split] = path
    return written


def check(source_dir: Path, out_dir: Path) -> None:
    """Rebuild into a temporary folder and fail if any byte differs from ``out_dir``."""
    with tempfile.TemporaryDirectory() as tmp:
        for path in build(source_dir, Path(tmp)).values():
            committed = out_dir / path.name
            rebuilt, existing = file_sha256(path), file_sha256(committed)
            if rebuilt != existing:
                raise SystemExit(
                    ERR_CHECK.format(name=path.name, committed=existing, rebuilt=rebuilt)
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--check", action="store_true", help="verify the output is reproducible")
    args = parser.parse_args(argv)
    if args.check:
        check(args.source_dir, args.out_dir)
        print(f"ok: {args.out_dir} is reproducible from {args.source_dir}")
        return 0
    for split, path in build(args.source_dir, args.out_dir).items():
        print(f"{split}: {path} ({path.stat().st_size:,} bytes, sha256 {file_sha256(path)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
