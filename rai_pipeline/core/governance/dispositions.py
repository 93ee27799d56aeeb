"""Reviewer dispositions: what was decided about each failed or inconclusive finding.

A dispositions file is versioned YAML kept beside the model's governance record::

    schema_version: 1
    dispositions:
      - model: adult-income
        model_version: "2"
        finding: sex/demographic_parity_difference     # <dimension>/<metric>[/<group>]
        decision: accept-with-approval                 # or: mitigate
        approver: jane.doe@example.com
        approved_on: 2026-12-01                        # optional: the day it was signed off
        justification: Selection-rate gap reflects label prevalence; reviewed with legal.
        expires: 2027-03-31
      - model: adult-income
        model_version: "2"
        finding: race/equalized_odds_difference
        decision: mitigate
        owner: ml-team@example.com
        plan: Reweigh training data; re-evaluate as version 3.
        due: 2027-01-15

An ``accept-with-approval`` needs an approver, a justification and an expiry date; on and
after the expiry date it no longer counts. A ``mitigate`` needs an owner, a plan and a due
date; after the due date it no longer counts (it is *overdue*). An entry for the model version
whose finding is not a row of its ``fairness_metrics`` (a typo, or a finding of another
version) is an error, not ignored. Errors name the file, the entry and the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rai_pipeline.core.config.files import MSG_NOT_A_MAPPING, read_yaml_mapping, validation_message
from rai_pipeline.core.metrics.verdicts import AGGREGATE_GROUP

ACCEPT, MITIGATE = "accept-with-approval", "mitigate"
MSG_ACCEPT_FIELDS = "accept-with-approval needs approver, justification and expires"
MSG_MITIGATE_FIELDS = "mitigate needs owner, plan and due"
MSG_FINDING_FORM = "finding must be '<dimension>/<metric>' or '<dimension>/<metric>/<group>'"
MSG_INVALID = "{path}: invalid dispositions file"
MSG_UNKNOWN_FINDING = (
    "{path}: dispositions.{entry}.finding: {finding!r} is not a finding of {model} version "
    "{version}; its findings are: {known}"
)
REFERENCE = "docs/governance.md"


class DispositionsError(ValueError):
    """The dispositions file broke a rule; the message names the file, entry and rule."""


class Disposition(BaseModel):
    """One decision about one finding of one model version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    finding: str
    decision: Literal["accept-with-approval", "mitigate"]
    approver: str | None = None
    approved_on: dt.date | None = None
    justification: str | None = None
    expires: dt.date | None = None
    owner: str | None = None
    plan: str | None = None
    due: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _version_as_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("model_version"), int):
            data = {**data, "model_version": str(data["model_version"])}
        return data

    @model_validator(mode="after")
    def _required_for_decision(self) -> Disposition:
        if not 2 <= len(self.finding.split("/")) <= 3 or not all(self.finding.split("/")):
            raise ValueError(MSG_FINDING_FORM)
        if self.decision == ACCEPT and not (self.approver and self.justification and self.expires):
            raise ValueError(MSG_ACCEPT_FIELDS)
        if self.decision == MITIGATE and not (self.owner and self.plan and self.due):
            raise ValueError(MSG_MITIGATE_FIELDS)
        return self

    def is_valid_on(self, day: dt.date) -> bool:
        """An approval counts before its expiry date; a mitigation up to its due date."""
        if self.decision == MITIGATE:
            return self.due is not None and day <= self.due
        return self.expires is not None and day < self.expires

    def describe(self) -> str:
        if self.decision == ACCEPT:
            signed = f" on {self.approved_on}" if self.approved_on else ""
            return f"accepted by {self.approver}{signed} until {self.expires}: {self.justification}"
        return f"mitigation by {self.owner}, due {self.due}: {self.plan}"

    def lapse(self) -> str:
        """Why it no longer counts: ``approval expired on ...`` or ``mitigation overdue ...``."""
        if self.decision == MITIGATE:
            return f"mitigation overdue since {self.due}"
        return f"approval expired on {self.expires}"


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    dispositions: list[Disposition] = Field(default_factory=list)


def finding_id(dimension: str, metric: str, group: str | None = None) -> str:
    """``<dimension>/<metric>`` for aggregate findings, ``.../<group>`` for per-group ones."""
    if group in (None, AGGREGATE_GROUP, ""):
        return f"{dimension}/{metric}"
    return f"{dimension}/{metric}/{group}"


def parse_dispositions(data: Mapping[str, Any], *, source: Path | str) -> list[Disposition]:
    """Validate a mapping into dispositions or raise :class:`DispositionsError`."""
    if not isinstance(data, Mapping):
        raise DispositionsError(MSG_NOT_A_MAPPING.format(path=source))
    try:
        return _File.model_validate(dict(data)).dispositions
    except ValidationError as error:
        header = MSG_INVALID.format(path=source)
        raise DispositionsError(validation_message(header, error, reference=REFERENCE)) from None


def load_dispositions(path: Path | str | None) -> list[Disposition]:
    """Read a dispositions file; ``None`` means no dispositions."""
    if path is None:
        return []
    data = read_yaml_mapping(path, what="dispositions file", error=DispositionsError)
    return parse_dispositions(data, source=Path(path))


@dataclass(frozen=True)
class Resolution:
    """A finding and what (if anything) currently covers it."""

    finding: str
    verdict: str
    disposition: Disposition | None
    expired: Disposition | None

    @property
    def resolved(self) -> bool:
        return self.disposition is not None

    @property
    def status(self) -> str:
        if self.disposition is not None:
            return "accepted" if self.disposition.decision == ACCEPT else "mitigating"
        if self.expired is not None:
            return "overdue" if self.expired.decision == MITIGATE else "expired"
        return "pending"


def check_known_findings(
    dispositions: Sequence[Disposition],
    known: Sequence[str],
    *,
    model: str,
    model_version: str,
    source: Path | str,
) -> None:
    """Raise :class:`DispositionsError` for the first entry of this model version whose
    finding is not one of ``known`` (the ids of every row of its ``fairness_metrics``)."""
    ids = set(known)
    for entry, disposition in enumerate(dispositions):
        if disposition.model != model or disposition.model_version != model_version:
            continue
        if disposition.finding not in ids:
            shown = ", ".join(sorted(i for i in ids if i.count("/") == 1))
            raise DispositionsError(
                MSG_UNKNOWN_FINDING.format(
                    path=source,
                    entry=entry,
                    finding=disposition.finding,
                    model=model,
                    version=model_version,
                    known=shown,
                )
            )


def resolve(
    findings: Sequence[tuple[str, str]],
    dispositions: Sequence[Disposition],
    *,
    model: str,
    model_version: str,
    today: dt.date,
) -> list[Resolution]:
    """Match each ``(finding_id, verdict)`` to a disposition valid on ``today``.

    The last matching entry in the file wins, so a reviewer appends rather than edits.
    """
    relevant = [d for d in dispositions if d.model == model and d.model_version == model_version]
    out = []
    for finding, verdict in findings:
        matches = [d for d in relevant if d.finding == finding]
        valid = [d for d in matches if d.is_valid_on(today)]
        expired = [d for d in matches if not d.is_valid_on(today)]
        out.append(
            Resolution(
                finding=finding,
                verdict=verdict,
                disposition=valid[-1] if valid else None,
                expired=expired[-1] if expired and not valid else None,
            )
        )
    return out
