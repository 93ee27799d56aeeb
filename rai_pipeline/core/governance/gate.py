"""The release gate: an evaluation passes when every finding passes or has a valid disposition.

Findings are the aggregate rows (group ``*``) of ``fairness_metrics`` whose verdict is not
``pass``: disparities that fail or are inconclusive, and dimensions with groups that could not
be assessed (``excluded_groups``: ``insufficient_sample``). Per-group rows inform the report
and the risk register; the aggregates decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rai_pipeline.core.governance.dispositions import (
    Disposition,
    Resolution,
    check_known_findings,
    finding_id,
    resolve,
)
from rai_pipeline.core.metrics.verdicts import (
    AGGREGATE_GROUP,
    VERDICT_FAIL,
    VERDICT_INCONCLUSIVE,
    VERDICT_PASS,
)

GATE_PASS, GATE_FAIL = "pass", "fail"
EXIT_PASS, EXIT_BLOCKED, EXIT_ERROR = 0, 1, 2


def aggregate_verdict(fairness_metrics: pd.DataFrame) -> str:
    """``fail`` if any aggregate disparity fails, ``inconclusive`` if any other is not a
    pass (or there are none), else ``pass``: the evaluation's verdict before dispositions."""
    aggregate = fairness_metrics[fairness_metrics["group"] == AGGREGATE_GROUP]
    verdicts = set(aggregate["verdict"])
    if VERDICT_FAIL in verdicts:
        return VERDICT_FAIL
    if verdicts - {VERDICT_PASS} or aggregate.empty:
        return VERDICT_INCONCLUSIVE
    return VERDICT_PASS


def findings(fairness_metrics: pd.DataFrame, *, per_group: bool = False) -> list[tuple[str, str]]:
    """``(finding_id, verdict)`` for every row that is not a pass, in table order."""
    rows = fairness_metrics
    if not per_group:
        rows = rows[rows["group"] == AGGREGATE_GROUP]
    rows = rows[rows["verdict"] != VERDICT_PASS]
    return [
        (finding_id(r.dimension, r.metric, r.group), str(r.verdict))
        for r in rows.itertuples(index=False)
    ]


@dataclass(frozen=True)
class GateDecision:
    """The gate for one evaluation on one day."""

    verdict: str
    resolutions: list[Resolution]

    @property
    def blocking(self) -> list[Resolution]:
        return [r for r in self.resolutions if not r.resolved]

    @property
    def result(self) -> str:
        return GATE_FAIL if self.blocking else GATE_PASS

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.blocking else EXIT_PASS


def decide_gate(
    fairness_metrics: pd.DataFrame,
    dispositions: Sequence[Disposition],
    *,
    model: str,
    model_version: str,
    today: dt.date,
    source: Path | str = "the dispositions file",
) -> GateDecision:
    """Apply the dispositions valid on ``today`` to the evaluation's findings; an entry for this
    model version that names no row of ``fairness_metrics`` is a
    :class:`~rai_pipeline.core.governance.dispositions.DispositionsError` (``source`` names
    the file in its message)."""
    known = [finding_id(r.dimension, r.metric, r.group) for r in fairness_metrics.itertuples()]
    check_known_findings(
        dispositions, known, model=model, model_version=model_version, source=source
    )
    resolutions = resolve(
        findings(fairness_metrics),
        dispositions,
        model=model,
        model_version=model_version,
        today=today,
    )
    return GateDecision(verdict=aggregate_verdict(fairness_metrics), resolutions=resolutions)
