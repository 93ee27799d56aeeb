"""How numbers read in the documents: fixed digits, an em dash for a missing or undefined
value, intervals in brackets, counts with their noun."""

from __future__ import annotations

import math
from typing import Any

from rai_pipeline.core.evidence.escaping import Markdown, md_text


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table: fixed digits, an em dash for missing or undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Markdown("—")
    if isinstance(value, float):
        return Markdown(f"{value:.{digits}f}")
    return md_text(value)


def interval(lower: Any, upper: Any) -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (lower, upper)):
        return Markdown("—")
    return Markdown(f"[{lower:.3f}, {upper:.3f}]")


def plural(count: int, noun: str) -> str:
    """``1 positive``, ``2 positives``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
