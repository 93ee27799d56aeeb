"""The sensitive attributes of an evaluation, declared once in the config and handed to every
place that needs them: the dbt models (as ``--vars``), the pandera schema and the Great
Expectations suite of the evaluation frame, and the datasheet.

An attribute is either a column of the data set, kept as text, or a band of a numeric column
(``derived_features``). Either way a missing value is the group ``unknown``.

Examples
--------
>>> from rai_pipeline.core.config.schema import parse_config
>>> config = parse_config({"sensitive_features": ["sex", "age_band"], "derived_features": {
...     "age_band": {"from": "age", "bins": [25, 65], "labels": ["<25", "25-64", "65+"]}}})
>>> [(a.name, a.source, a.accepted_values()) for a in sensitive_attributes(config)]
[('sex', 'sex', None), ('age_band', 'age', ['<25', '25-64', '65+', 'unknown'])]
>>> dbt_vars(config)["sensitive_attributes"][1]["bins"]
[25.0, 65.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine.slices import UNKNOWN_GROUP, group_value
from rai_pipeline.core.evidence.escaping import Markdown, code_span


@dataclass(frozen=True)
class SensitiveAttribute:
    """One sensitive attribute: its name in the results, the column it is read from and, for
    a band, the edges and labels."""

    name: str
    source: str
    bins: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def derived(self) -> bool:
        return bool(self.bins)

    def accepted_values(self) -> list[str] | None:
        """The values a band can take (its labels and ``unknown``); None for a column, whose
        values are the data's."""
        return [*self.labels, UNKNOWN_GROUP] if self.derived else None

    def describe(self) -> str:
        """How the attribute is read, in words (for the datasheet)."""
        unknown = code_span(UNKNOWN_GROUP)
        if not self.derived:
            recorded = code_span(group_value(UNKNOWN_GROUP))
            return Markdown(
                f"column {code_span(self.source)} as recorded; missing values form the group "
                f"{unknown} (a recorded value {unknown} is the group {recorded})"
            )
        edges = ", ".join(f"{edge:g}" for edge in self.bins)
        bands = ", ".join(code_span(label) for label in self.labels)
        return Markdown(
            f"bands of column {code_span(self.source)} cut at {edges} (lower edge included): "
            f"{bands}; missing values form the group {unknown}"
        )


def sensitive_attributes(config: EvaluationConfig) -> list[SensitiveAttribute]:
    """The config's sensitive features in order, each with how it is read."""
    out = []
    for name in config.sensitive_features:
        derived = config.derived_features.get(name)
        if derived is None:
            out.append(SensitiveAttribute(name=name, source=name))
        else:
            out.append(
                SensitiveAttribute(
                    name=name,
                    source=derived.source,
                    bins=tuple(float(edge) for edge in derived.bins),
                    labels=tuple(derived.labels),
                )
            )
    return out


def dbt_vars(config: EvaluationConfig) -> dict[str, Any]:
    """The ``--vars`` of every dbt invocation: the threshold and the sensitive attributes in
    the shape ``dbt_project/macros/sensitive_attributes.sql`` reads."""
    attributes: list[dict[str, Any]] = []
    for attribute in sensitive_attributes(config):
        entry: dict[str, Any] = {"name": attribute.name, "source": attribute.source}
        if attribute.derived:
            entry |= {"bins": list(attribute.bins), "labels": list(attribute.labels)}
        attributes.append(entry)
    return {"threshold": config.threshold, "sensitive_attributes": attributes}


ROLE_ID, ROLE_LABEL, ROLE_FEATURE = "id", "label", "feature"
ROLE_SENSITIVE, ROLE_RESTRICTED = "sensitive attribute", "restricted"
ROLE_SOURCE = "source of a derived attribute"
ID_COLUMN = "example_id"


def dataset_columns(config: EvaluationConfig, features: list[str]) -> list[dict[str, Any]]:
    """Every column of the data set the evaluation uses, by role, and whether it is stored in
    the landed extracts and shown by ``rai trace --rows`` without ``--include-restricted``.

    ``features`` are the model's input columns as landed. The id is stored as ``example_id``
    and masked; restricted columns are never stored; a feature is shown only when
    ``dataset.public`` lists it; labels and sensitive attributes are shown, a band's source
    column (unless it is a shown feature) is not.

    Examples
    --------
    >>> from rai_pipeline.core.config.schema import parse_config
    >>> config = parse_config({"sensitive_features": ["sex"], "dataset": {"path": "d.csv",
    ...     "label": "y", "restricted": ["name"], "public": ["income"]}})
    >>> [(c["column"], c["role"], c["stored"], c["shown"])
    ...  for c in dataset_columns(config, ["income", "debt"])]  # doctest: +NORMALIZE_WHITESPACE
    [('example_id', 'id', True, False), ('y', 'label', True, True),
     ('income', 'feature', True, True), ('debt', 'feature', True, False),
     ('sex', 'sensitive attribute', True, True), ('name', 'restricted', False, False)]
    """
    dataset = config.dataset
    public = set(dataset.public) if dataset is not None else set()
    id_source = dataset.id if dataset is not None and dataset.id is not None else None
    rows: list[dict[str, Any]] = [
        {
            "column": ID_COLUMN,
            "role": ROLE_ID,
            "stored": True,
            "shown": False,
            "description": Markdown(
                (
                    f"from column {code_span(id_source)}"
                    if id_source is not None
                    else "the row number in the source (0-based)"
                )
                + "; masked in row-level audit output unless explicitly requested"
            ),
        }
    ]
    if dataset is not None:
        rows.append(
            {
                "column": dataset.label,
                "role": ROLE_LABEL,
                "stored": True,
                "shown": True,
                "description": "the observed outcome, stored as 0/1"
                + (
                    f" (1 where it equals {dataset.positive_label!r})"
                    if dataset.positive_label is not None
                    else ""
                ),
            }
        )
    for name in features:
        rows.append(
            {
                "column": name,
                "role": ROLE_FEATURE,
                "stored": True,
                "shown": name in public,
                "description": "a model input"
                + ("" if name in public else "; shown only with --include-restricted"),
            }
        )
    listed = {row["column"] for row in rows}
    for attribute in sensitive_attributes(config):
        rows.append(
            {
                "column": attribute.name,
                "role": ROLE_SENSITIVE,
                "stored": not attribute.derived,
                "shown": True,
                "description": Markdown(
                    attribute.describe()
                    + ("; computed in the warehouse" if attribute.derived else "")
                ),
            }
        )
        listed.add(attribute.name)
    for attribute in sensitive_attributes(config):
        if attribute.derived and attribute.source not in listed:
            rows.append(
                {
                    "column": attribute.source,
                    "role": ROLE_SOURCE,
                    "stored": True,
                    "shown": False,
                    "description": Markdown(
                        f"read only to compute {code_span(attribute.name)}; shown only with "
                        "--include-restricted"
                    ),
                }
            )
            listed.add(attribute.source)
    for name in dataset.restricted if dataset is not None else []:
        rows.append(
            {
                "column": name,
                "role": ROLE_RESTRICTED,
                "stored": False,
                "shown": False,
                "description": "not stored by rai land; reaches no output, log or MLflow record",
            }
        )
    return rows
