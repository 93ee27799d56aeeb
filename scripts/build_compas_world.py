"""Build the de-identified COMPAS example (``examples/compas/people.csv``).

Reads ProPublica's ``compas-scores-two-years.csv`` (checked against its sha256; see
``examples/compas/PROVENANCE.md``) and writes one row per defendant with other column
names than the demo's, so that a test can evaluate a data set the project has never seen:

- ``person_id``: a new id (1000 + the source row number); ProPublica's ids are not kept;
- ``age``, ``priors_count``, ``juv_fel_count``, ``juv_misd_count``, ``charge_degree`` (from
  ``c_charge_degree``): model inputs;
- ``ethnicity`` (from ``race``), ``gender`` (from ``sex``; blank on every 97th row, to
  exercise missing values): sensitive attributes;
- ``reoffended``: ``yes`` / ``no`` from ``two_year_recid`` (a categorical label);
- ``full_name``, ``birth_date``: restricted columns holding synthetic markers
  (``RESTRICTED-NAME-00042``); the real names and birth dates are never copied.

Usage::

    python scripts/build_compas_world.py \
        [--source ../shared/data/compas/compas-scores-two-years.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from rai_pipeline.core.storage import file_sha256

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data" / "compas" / "compas-scores-two-years.csv"
OUT = REPO_ROOT / "examples" / "compas" / "people.csv"
SOURCE_SHA256 = "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"
BLANK_EVERY = 97


def build(source: Path) -> pd.DataFrame:
    raw = pd.read_csv(source)
    rows = range(len(raw))
    gender = raw["sex"].where([i % BLANK_EVERY != 0 for i in rows], "")
    return pd.DataFrame(
        {
            "person_id": [1000 + i for i in rows],
            "age": raw["age"],
            "priors_count": raw["priors_count"],
            "juv_fel_count": raw["juv_fel_count"],
            "juv_misd_count": raw["juv_misd_count"],
            "charge_degree": raw["c_charge_degree"],
            "ethnicity": raw["race"],
            "gender": gender,
            "reoffended": raw["two_year_recid"].map({1: "yes", 0: "no"}),
            "full_name": [f"RESTRICTED-NAME-{i:05d}" for i in rows],
            "birth_date": [f"RESTRICTED-DOB-{i:05d}" for i in rows],
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    digest = file_sha256(args.source)
    if digest != SOURCE_SHA256:
        print(f"{args.source}: sha256 {digest}, expected {SOURCE_SHA256}", file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    build(args.source).to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {OUT} (sha256 {file_sha256(OUT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
