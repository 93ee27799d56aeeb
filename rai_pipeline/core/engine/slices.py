"""Slices: the ways of cutting an evaluation frame into groups, and the frame's vocabulary.

Input is an *evaluation frame*: a relation with one row per example, a 0/1 label column, a DOUBLE
score column, a 0/1 (or boolean) decision column and VARCHAR sensitive-attribute columns. A
*slice* is a tuple of sensitive features (``race``, ``race&sex``); its *groups* are the observed
value combinations (``Black``, ``Black&Female``), with NULL turned into the explicit group
``unknown``. The overall slice has dimension ``overall`` and the single group ``all``.

Every row-level step is SQL run by the connection it is given (:mod:`.plan`, :mod:`.profile`,
:mod:`.binning`, :mod:`.exact_auc`, assembled by :mod:`.statistics`); Python receives one row
per (dimension, group), or per (dimension, group, label, bin) for histograms.

A group label is unambiguous for any value (:func:`group_value`): within a value, ``\\`` and
``&`` are escaped with a backslash, a literal ``unknown`` is written ``\\unknown`` so that it
stays distinct from the missing values' group, and the values of an intersection are joined
with ``&``. :func:`decode_group_label` reads a label back into its values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from rai_pipeline.core.engine.sql import quote_identifier, quote_literal

OVERALL_DIMENSION = "overall"
OVERALL_GROUP = "all"
UNKNOWN_GROUP = "unknown"
GROUP_SEPARATOR = "&"
GROUP_ESCAPE = "\\"
STATS_COLUMNS = (
    "dimension",
    "group",
    "n",
    "n_pos",
    "n_neg",
    "tp",
    "fp",
    "tn",
    "fn",
    "sum_sq_error",
    "auc",
)
HISTOGRAM_COLUMNS = (
    "dimension",
    "group",
    "label",
    "bin",
    "bin_lower",
    "bin_upper",
    "n",
    "sum_score",
    "sum_sq_score",
)

MSG_NO_FEATURES = "sensitive_features must name at least one column"
MSG_DUPLICATE_FEATURE = "sensitive feature {name!r} is listed more than once"
MSG_RESERVED_FEATURE = (
    "a sensitive feature cannot be named {name!r}: that is the overall slice's dimension"
)
MSG_INTERSECTION_SIZE = "intersection {members} must combine at least two distinct features"
MSG_INTERSECTION_MEMBER = (
    "intersection member {member!r} is not one of the sensitive features {features}"
)
MSG_DUPLICATE_SLICE = "slice {dimension!r} repeats the features of slice {other!r}"


class SliceSpecError(ValueError):
    """Sensitive features, intersections or slices that cannot be evaluated."""


@dataclass(frozen=True)
class SliceSpec:
    """One way of cutting the evaluation frame into groups.

    Parameters
    ----------
    features : tuple of str
        Sensitive-feature columns; one for a single-attribute slice, several for an
        intersection, none for the overall slice (see :data:`OVERALL`).

    Examples
    --------
    >>> SliceSpec(("race", "sex")).dimension
    'race&sex'
    >>> OVERALL.dimension
    'overall'
    """

    features: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        seen: set[str] = set()
        for name in self.features:
            quote_identifier(name)
            if name == OVERALL_DIMENSION:
                raise SliceSpecError(MSG_RESERVED_FEATURE.format(name=name))
            if name in seen:
                raise SliceSpecError(MSG_DUPLICATE_FEATURE.format(name=name))
            seen.add(name)

    @property
    def dimension(self) -> str:
        """``"&".join(features)``, or ``overall`` for the overall slice."""
        return GROUP_SEPARATOR.join(self.features) if self.features else OVERALL_DIMENSION

    @property
    def is_overall(self) -> bool:
        """Whether this is the overall slice (no features)."""
        return not self.features


OVERALL = SliceSpec(())


def build_slices(
    sensitive_features: Sequence[str],
    intersections: Sequence[Sequence[str]] | None = None,
) -> list[SliceSpec]:
    """List the slices to evaluate: each sensitive feature, then each intersection.

    Parameters
    ----------
    sensitive_features : sequence of str
        Column names, each a valid identifier, no repeats.
    intersections : sequence of sequences of str, optional
        Feature combinations to evaluate jointly, in the order their labels should read
        (``("race", "sex")`` gives ``race&sex``). ``None`` means every pair of sensitive
        features, in the order given; an empty sequence means none.

    Returns
    -------
    list of SliceSpec
        Single-feature slices first, then intersections. The overall slice is not listed:
        the engine always adds it.

    Raises
    ------
    SliceSpecError
        No features (:data:`MSG_NO_FEATURES`), a repeated feature
        (:data:`MSG_DUPLICATE_FEATURE`), an intersection with fewer than two distinct members
        (:data:`MSG_INTERSECTION_SIZE`) or with a member that is not a sensitive feature
        (:data:`MSG_INTERSECTION_MEMBER`), or two slices over the same set of features
        (:data:`MSG_DUPLICATE_SLICE`).
    InvalidIdentifierError
        A name is not a valid SQL identifier.

    Examples
    --------
    >>> [s.dimension for s in build_slices(["race", "sex"])]
    ['race', 'sex', 'race&sex']
    """
    features = list(sensitive_features)
    if not features:
        raise SliceSpecError(MSG_NO_FEATURES)
    singles = [SliceSpec((name,)) for name in features]
    if len(set(features)) != len(features):
        repeated = next(name for name in features if features.count(name) > 1)
        raise SliceSpecError(MSG_DUPLICATE_FEATURE.format(name=repeated))
    if intersections is None:
        combos: list[tuple[str, ...]] = list(combinations(features, 2))
    else:
        combos = [tuple(members) for members in intersections]
    joint = []
    for members in combos:
        if len(set(members)) < 2 or len(set(members)) != len(members):
            raise SliceSpecError(MSG_INTERSECTION_SIZE.format(members=list(members)))
        for member in members:
            if member not in features:
                raise SliceSpecError(
                    MSG_INTERSECTION_MEMBER.format(member=member, features=features)
                )
        joint.append(SliceSpec(members))
    slices = singles + joint
    check_unique_slices(slices)
    return slices


def check_unique_slices(slices: Sequence[SliceSpec]) -> None:
    seen: dict[frozenset[str], str] = {}
    for spec in slices:
        key = frozenset(spec.features)
        if key in seen:
            raise SliceSpecError(
                MSG_DUPLICATE_SLICE.format(dimension=spec.dimension, other=seen[key])
            )
        seen[key] = spec.dimension


def group_value(value: object) -> str:
    """A sensitive value as its group label: ``unknown`` for a missing value; otherwise the
    text with ``\\`` and ``&`` escaped by a backslash, and the literal ``unknown`` as
    ``\\unknown``.

    Examples
    --------
    >>> [group_value(v) for v in (None, "unknown", "A&B", "a\\\\b", "Black")]
    ['unknown', '\\\\unknown', 'A\\\\&B', 'a\\\\\\\\b', 'Black']
    """
    if value is None:
        return UNKNOWN_GROUP
    text = str(value)
    if text == UNKNOWN_GROUP:
        return GROUP_ESCAPE + UNKNOWN_GROUP
    escaped = text.replace(GROUP_ESCAPE, GROUP_ESCAPE * 2)
    return escaped.replace(GROUP_SEPARATOR, GROUP_ESCAPE + GROUP_SEPARATOR)


def split_group_label(label: str) -> list[str]:
    """A group label's parts, one per feature of its slice, each still a group value (split at
    every ``&`` that is not escaped).

    Examples
    --------
    >>> split_group_label("A\\\\&B&unknown")
    ['A\\\\&B', 'unknown']
    """
    parts, current, i = [], [], 0
    while i < len(label):
        char = label[i]
        if char == GROUP_ESCAPE and i + 1 < len(label):
            current.append(label[i : i + 2])
            i += 2
            continue
        if char == GROUP_SEPARATOR:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def decode_group_label(label: str) -> list[str | None]:
    """The values a group label stands for, ``None`` for a missing value: the inverse of
    :func:`group_value` joined by ``&``.

    Examples
    --------
    >>> decode_group_label("A\\\\&B&unknown&\\\\unknown")
    ['A&B', None, 'unknown']
    """
    values: list[str | None] = []
    for part in split_group_label(label):
        if part == UNKNOWN_GROUP:
            values.append(None)
            continue
        text, i = [], 0
        while i < len(part):
            if part[i] == GROUP_ESCAPE and i + 1 < len(part):
                i += 1
            text.append(part[i])
            i += 1
        values.append("".join(text))
    return values


def group_value_sql(column: str, *, labelled: bool = False) -> str:
    """:func:`group_value` in SQL (``column`` is an SQL expression, already quoted).

    ``labelled`` says the column already holds group values (the pipeline's evaluation frame,
    which dbt builds with the same rule): it is then only read as text.
    """
    text = f"CAST({column} AS VARCHAR)"
    unknown = quote_literal(UNKNOWN_GROUP)
    if labelled:
        return f"COALESCE({text}, {unknown})"
    escape, separator = quote_literal(GROUP_ESCAPE), quote_literal(GROUP_SEPARATOR)
    escaped = (
        f"replace(replace({text}, {escape}, {quote_literal(GROUP_ESCAPE * 2)}), "
        f"{separator}, {quote_literal(GROUP_ESCAPE + GROUP_SEPARATOR)})"
    )
    return (
        f"CASE WHEN {column} IS NULL THEN {unknown} "
        f"WHEN {text} = {unknown} THEN {quote_literal(GROUP_ESCAPE + UNKNOWN_GROUP)} "
        f"ELSE {escaped} END"
    )


def group_label_sql(values: Sequence[str]) -> str:
    """A slice group's label, in SQL, from its features' group values (SQL expressions):
    ``all`` for the overall slice, the value of a single feature, the values joined by ``&``
    for an intersection.

    Examples
    --------
    >>> group_label_sql(["f0", "f1"])
    "concat_ws('&', f0, f1)"
    """
    if not values:
        return quote_literal(OVERALL_GROUP)
    if len(values) == 1:
        return values[0]
    return f"concat_ws({quote_literal(GROUP_SEPARATOR)}, {', '.join(values)})"
