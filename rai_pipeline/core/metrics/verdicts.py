"""The vocabulary of verdicts: names, the aggregate group ``*``, and the rule that reads a
verdict off an interval and a band. Every module that writes or reads a verdict uses these."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rai_pipeline.core.stats.claims import inside, outside

AGGREGATE_GROUP = "*"
EXCLUDED_SEPARATOR = ";"
EXCLUDED_GROUPS = "excluded_groups"

VERDICT_PASS = "pass"
VERDICT_FAIL = "fail"
VERDICT_INCONCLUSIVE = "inconclusive"
VERDICT_INSUFFICIENT = "insufficient_sample"
DISPOSITION_NONE = "none_required"
DISPOSITION_PENDING = "pending"


def verdicts(
    lower: npt.ArrayLike, upper: npt.ArrayLike, band: tuple[npt.ArrayLike, npt.ArrayLike]
) -> Any:
    """``pass`` where [lower, upper] lies inside the band, ``fail`` where it lies wholly
    outside, else ``inconclusive`` (NaN limits included); ``band`` is ``(lower, upper)`` with
    entries broadcastable against the limits."""
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    band_lower, band_upper = (np.asarray(edge, dtype=np.float64) for edge in band)
    return np.where(
        inside(lo, hi, band_lower, band_upper),
        VERDICT_PASS,
        np.where(outside(lo, hi, band_lower, band_upper), VERDICT_FAIL, VERDICT_INCONCLUSIVE),
    ).astype(object)


def finding_row(**fields: Any) -> dict[str, Any]:
    verdict = fields["verdict"]
    fields["disposition"] = DISPOSITION_NONE if verdict == VERDICT_PASS else DISPOSITION_PENDING
    return fields


def excluded_list(groups: list[str], keep: npt.NDArray[np.bool_]) -> str:
    return EXCLUDED_SEPARATOR.join(g for g, k in zip(groups, keep, strict=True) if not k)
