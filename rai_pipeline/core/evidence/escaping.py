"""Values from data, config and flags made safe for each format a pack writes.

- **Markdown.** The documents' text environment escapes every value it prints
  (:func:`md_text`): line breaks become spaces, so a value cannot start a heading or end a
  table row, and the characters that open markup (``\\ ` * _ [ ] | ~``, ``<`` before a tag,
  ``&`` before an entity) get a backslash, so a value reads as the text it is. Text the
  templates build as Markdown on purpose is a :class:`Markdown` and printed as it stands;
  :func:`code_span` makes a value a code span whatever backticks it holds.
- **HTML.** Jinja's autoescape, and :func:`html.escape` in the SVG charts.
- **CSV.** A text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return) is written with a leading ``'``
  (:func:`spreadsheet_safe`). The Parquet tables keep every value as it is.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

MARKUP = re.compile(
    r"[\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Markdown(str):
    """Text that is Markdown already: the templates print it as it stands."""


def one_line(value: Any) -> str:
    """``value`` as text on one line: every line break (``\\n``, ``\\r``, U+2028, ...) a
    space."""
    return " ".join(str(value).splitlines())


def md_text(value: Any) -> Markdown:
    """``value`` as Markdown that reads as the text it is, on one line.

    Examples
    --------
    >>> print(md_text("x|y\\n# heading"))
    x\\|y # heading
    >>> print(md_text("selection_rate <25 <b>"))
    selection_rate <25 \\<b>
    """
    if isinstance(value, Markdown):
        return value
    return Markdown(MARKUP.sub(lambda match: "\\" + match.group(0), one_line(value)))


def code_span(value: Any) -> Markdown:
    """``value`` as a Markdown code span: fenced by more backticks than it holds in a row, and
    ``|`` escaped (a table cell would end there otherwise).

    Examples
    --------
    >>> print(code_span("a`b"))
    ``a`b``
    """
    text = one_line(value).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def finalize(value: Any) -> Any:
    """Jinja's ``finalize`` for Markdown templates: every printed value through
    :func:`md_text`, except :class:`Markdown` and numbers."""
    return value if isinstance(value, Markdown | int | float) else md_text(value)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text cell that a spreadsheet would read as a formula prefixed by
    ``'``; numbers and the other cells unchanged.

    Examples
    --------
    >>> spreadsheet_safe(pd.DataFrame({"g": ["=1+1", "a", "-x"], "v": [-1, 2, 3]})).values.tolist()
    [["'=1+1", -1], ['a', 2], ["'-x", 3]]
    >>> len(spreadsheet_safe(pd.DataFrame({"g": pd.Series([], dtype="string")})))
    0
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        risky = risky.astype(bool)  # an empty text column maps to an empty text column
        if risky.any():
            out[column] = values.where(~risky, "'" + values.astype(str))
    return out
