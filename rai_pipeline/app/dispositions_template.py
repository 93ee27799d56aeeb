"""``rai dispositions template PACK``: a dispositions file with one stub per finding of a pack.

Each stub names the model, the version and the finding, with the finding's numbers in a
comment, and leaves ``decision`` empty: a file whose stubs are not filled in is refused by
``rai gate`` and ``rai evaluate-file``, so nothing is accepted by accident. Read-only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from rai_pipeline.core.evidence.verify import read_manifest
from rai_pipeline.core.governance.gate import findings
from rai_pipeline.core.storage import read_parquet

HEADER = """\
# Dispositions for {model} version {version} (evidence pack {pack}).
# One entry per finding of the pack. Fill in each decision, then pass the file to
#   rai gate {pack} --dispositions FILE      (or: rai evaluate-file ... --dispositions FILE)
# An entry left without a decision is an error, so nothing is accepted by accident.
#   decision: accept-with-approval   needs approver, justification, expires (approved_on: optional)
#   decision: mitigate               needs owner, plan, due
# An approval counts before its expiry date, a mitigation up to its due date.
schema_version: 1
dispositions:
"""
STUB = """\
  # {metric} for {dimension}: {numbers}, {verdict}
  - model: {model_json}
    model_version: {version_json}
    finding: {finding_json}
    decision:            # accept-with-approval or mitigate
"""
NONE = "dispositions: []  # every aggregate disparity passes: nothing to decide\n"


def _numbers(row: pd.Series) -> str:
    if row["metric"] == "excluded_groups":
        return f"{int(row['value'])} group(s) excluded ({row['groups_excluded']})"
    if any(math.isnan(float(row[k])) for k in ("value", "ci_lower", "ci_upper")):
        return "not defined"
    return (
        f"{row['value']:.3f} [{row['ci_lower']:.3f}, {row['ci_upper']:.3f}], "
        f"band [{row['threshold_lower']:.3f}, {row['threshold_upper']:.3f}]"
    )


def dispositions_template(pack: Path) -> str:
    """The YAML text of a dispositions file with one stub per finding of ``pack``."""
    lineage = read_manifest(pack)["lineage"]
    model, version = str(lineage["model_name"]), str(lineage["model_version"])
    fairness = read_parquet(pack / "fairness_metrics.parquet")
    aggregate = fairness[fairness["group"] == "*"].set_index(["dimension", "metric"])
    text = HEADER.format(model=model, version=version, pack=pack)
    pending = findings(fairness)
    if not pending:
        return text.replace("dispositions:\n", NONE)
    for finding, verdict in pending:
        dimension, metric = finding.split("/", 1)
        row = aggregate.loc[(dimension, metric)].copy()
        row["metric"] = metric
        text += STUB.format(
            metric=metric,
            dimension=dimension,
            numbers=_numbers(row),
            verdict=verdict,
            model_json=json.dumps(model),
            version_json=json.dumps(version),
            finding_json=json.dumps(finding),
        )
    return text
