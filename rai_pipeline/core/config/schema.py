"""Evaluation configuration: what to evaluate, against which policy, and who owns it.

Config is YAML validated into :class:`EvaluationConfig`. A validation failure raises
:class:`ConfigError` whose message names the file, the key and the rule that must hold, so a
user can fix the file without reading code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rai_pipeline.core.config.dataset import DATASHEET_KEYS, DatasetConfig, DerivedFeature
from rai_pipeline.core.config.files import MSG_NOT_A_MAPPING, read_yaml_mapping, validation_message
from rai_pipeline.core.engine.plan import MAX_GROUPING_FEATURES
from rai_pipeline.core.engine.sql import IDENTIFIER_RULE, is_identifier
from rai_pipeline.core.stats.claims import is_reciprocal

# Groups with fewer positives (or negatives) than this are reported as insufficient samples,
# not compared: with 4 positives, a TPR's 95 % Wilson interval is at least 0.49 wide.
DEFAULT_MIN_CLASS_COUNT = 5
# Defaults that keep a run within minutes (docs/reliability.md, input limits).
DEFAULT_MAX_GROUPS = 250
DEFAULT_MAX_FEATURES = 16

REFERENCE = "docs/configuration.md"
MSG_INTERSECTION_MEMBER = (
    "intersection member {member!r} is not one of sensitive_features {features}"
)
MSG_INTERSECTION_SIZE = "an intersection lists 2 or 3 sensitive features, got {size}"
MSG_REFERENCE_GROUP_KEY = "reference_groups key {key!r} is not one of sensitive_features {features}"
MSG_RATIO_BAND = "policy.ratio_band must be [lower, upper] with 0 < lower <= 1 <= upper"
MSG_RATIO_BAND_RECIPROCAL = (
    "policy.ratio_band must be reciprocal, [t, 1/t]: [{lower}, {upper}] is not (1/{lower} = "
    "{inverse:.6g}); against a band that is not, the verdict on the ratio of two groups would "
    "depend on which of them is the reference group"
)
MSG_TOO_MANY_FEATURES = (
    "sensitive_features lists {count} features, more than limits.max_sensitive_features "
    "({limit}); raise the limit (at most {ceiling}) or list fewer"
)
MSG_DUPLICATE_FEATURES = "sensitive_features lists {name!r} more than once"
MSG_COLUMN_NAME = "{name!r} is not a usable column name: it must match " + IDENTIFIER_RULE
MSG_SCORE_OR_PREDICTION = (
    "give exactly one of columns.score (a probability; decision = score >= threshold) or "
    "columns.prediction (given 0/1 decisions); {given}"
)
MSG_COLUMN_ROLES = "columns.{role} and columns.{other} name the same column {name!r}"
MSG_FEATURE_IS_COLUMN = (
    "sensitive feature {name!r} is also columns.{role}: a column can play only one role"
)
MSG_POSITIVE_LABEL_BOOL = (
    "must be a string or an integer; a YAML boolean (true/false/yes/no) is "
    'ambiguous: quote it ("yes") or leave positive_label out for 0/1 or true/false labels'
)
MSG_DERIVED_UNUSED = (
    "derived feature {name!r} is not one of sensitive_features {features}: list it there or "
    "remove it"
)
MSG_DERIVED_NAME = "{name!r} must match " + IDENTIFIER_RULE
MSG_DERIVED_FROM_ITSELF = (
    "derived feature {name!r} is cut from the column of the same name: give the band its own "
    "name (e.g. {name}_band)"
)
MSG_SENSITIVE_ROLE = (
    "sensitive feature {name!r} is also dataset.{role}: a column can play only one role"
)
MSG_DERIVED_FROM_RESTRICTED = (
    "derived feature {name!r} is cut from {source!r}, which is dataset.restricted: a "
    "restricted column never reaches an output, and its bands would"
)
MSG_THRESHOLD_WITH_PREDICTION = (
    "threshold applies only with columns.score; with columns.prediction the decisions are "
    "given: remove threshold"
)
# Keys added after the first release: left out of the digest while they hold their default,
# so the digest (and the evaluation ids derived from it) of a config that does not use them is
# unchanged.
_LATER_KEYS: dict[str, Any] = {
    "columns": None,
    "positive_label": None,
    "auc": "exact",
    "multiple_testing": "auto",
    "multiple_testing_family": "dimension",
    "evaluation_date": None,
    "dataset": None,
    "derived_features": {},
    "ethical_considerations": "",
    "out_of_scope_uses": "",
    "mitigation_due_days": 30,
    "limits": {
        "max_groups_per_dimension": DEFAULT_MAX_GROUPS,
        "max_sensitive_features": DEFAULT_MAX_FEATURES,
    },
}


# Keys that say where an evaluation runs, not what it computes: never in the digest, so the
# same evaluation on another engine has the same identity (and byte-identical tables).
_PLACEMENT_KEYS = ("warehouse",)


class ConfigError(ValueError):
    """A config file broke a rule; the message names the file, key and rule."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FairnessPolicyConfig(_Strict):
    """Acceptance band for disparities: ratios inside ``ratio_band``, differences within
    ``±difference_bound``."""

    ratio_band: tuple[float, float] = (0.8, 1.25)
    difference_bound: float = Field(default=0.1, gt=0, le=1)

    @field_validator("ratio_band")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        lower, upper = value
        if not (0 < lower <= 1 <= upper):
            raise ValueError(MSG_RATIO_BAND)
        if not is_reciprocal((lower, upper)):
            raise ValueError(
                MSG_RATIO_BAND_RECIPROCAL.format(lower=lower, upper=upper, inverse=1 / lower)
            )
        return value


class BootstrapConfig(_Strict):
    n_resamples: int = Field(default=1000, ge=100, le=100_000)
    seed: int = 0


class ExplainabilityConfig(_Strict):
    """Permutation importance of a registered version's features (docs/configuration.md)."""

    enabled: bool = True
    n_repeats: int = Field(default=10, ge=2, le=100)
    max_rows: int = Field(default=20_000, ge=100, le=10_000_000)
    shap_rows: int = Field(default=50, ge=10, le=10_000)
    shap_background: int = Field(default=25, ge=5, le=1_000)


class LimitsConfig(_Strict):
    """Sizes past which an evaluation is refused before any heavy work, with an error that
    names the dimension: the defaults keep a run within minutes."""

    max_groups_per_dimension: int = Field(
        default=DEFAULT_MAX_GROUPS,
        ge=2,
        le=1_000_000,
        description="Most groups a dimension (a sensitive feature or an intersection) may "
        "have; a column with more distinct values is usually an id or a free-text field.",
    )
    max_sensitive_features: int = Field(
        default=DEFAULT_MAX_FEATURES,
        ge=1,
        le=MAX_GROUPING_FEATURES,
        description="Most sensitive features a config may list (at most "
        f"{MAX_GROUPING_FEATURES}, the engine's ceiling).",
    )


class WarehouseConfig(_Strict):
    """Where the pipeline builds the evaluation frame and keeps its result tables
    (docs/scaling.md)."""

    engine: Literal["duckdb", "postgres", "spark"] = Field(
        default="duckdb",
        description="duckdb: the file RAI_HOME/warehouse.duckdb; postgres: the database of "
        "RAI_WAREHOUSE_PG_* (dbt's postgres target); spark: a local Spark session whose "
        "tables and catalog are under RAI_HOME (dbt's spark target).",
    )


class Owners(_Strict):
    model: str = "unassigned"
    evaluation: str = "unassigned"


class ColumnsConfig(_Strict):
    """Which columns of a predictions file hold what (``rai evaluate-file``).

    ``label`` is required, and exactly one of ``score`` (a probability, thresholded at
    ``threshold``) and ``prediction`` (given 0/1 decisions). ``id`` is optional; when given,
    its values must be present and unique.
    """

    id: str | None = None
    label: str
    score: str | None = None
    prediction: str | None = None

    @field_validator("id", "label", "score", "prediction")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not is_identifier(value):
            raise ValueError(MSG_COLUMN_NAME.format(name=value))
        return value

    @model_validator(mode="after")
    def _roles(self) -> ColumnsConfig:
        given = [key for key in ("score", "prediction") if getattr(self, key) is not None]
        if len(given) != 1:
            state = "both are set" if given else "neither is set"
            raise ValueError(MSG_SCORE_OR_PREDICTION.format(given=state))
        roles = self.roles()
        for i, (role, name) in enumerate(roles.items()):
            for other, other_name in list(roles.items())[:i]:
                if name == other_name:
                    raise ValueError(MSG_COLUMN_ROLES.format(role=other, other=role, name=name))
        return self

    def roles(self) -> dict[str, str]:
        """``{role: column}`` for the roles that are set (``id``, ``label``, ``score`` or
        ``prediction``)."""
        return {
            role: name
            for role in ("id", "label", "score", "prediction")
            if (name := getattr(self, role)) is not None
        }


class EvaluationConfig(_Strict):
    """What to evaluate and the policy to judge it by."""

    registered_models: list[str] = Field(
        default_factory=list,
        description="Registered model names the sensor watches (pipeline only).",
    )
    threshold: float = Field(default=0.5, ge=0, le=1)
    sensitive_features: list[str] = Field(min_length=1)
    intersections: list[list[str]] | None = None
    min_group_size: int = Field(default=30, ge=1)
    min_positives: int = Field(default=DEFAULT_MIN_CLASS_COUNT, ge=0)
    min_negatives: int = Field(default=DEFAULT_MIN_CLASS_COUNT, ge=0)
    reference_groups: dict[str, str] = Field(default_factory=dict)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    policy: FairnessPolicyConfig = FairnessPolicyConfig()
    bootstrap: BootstrapConfig = BootstrapConfig()
    explainability: ExplainabilityConfig = ExplainabilityConfig()
    risk_tier: str = Field(default="medium", pattern="^(low|medium|high)$")
    owners: Owners = Owners()
    intended_use: str = ""
    out_of_scope_uses: str = Field(
        default="",
        description="Uses the model is not for (Markdown, shown in the model card).",
    )
    mitigation_due_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days from the evaluation to a finding's due date in the risk register "
        "while no disposition sets one.",
    )
    ethical_considerations: str = Field(
        default="",
        description="Who the model's decisions affect and how (Markdown, shown in the model "
        "card); the card says it is not stated when empty.",
    )
    columns: ColumnsConfig | None = Field(
        default=None,
        description="Column roles of a predictions file (rai evaluate-file only).",
    )
    positive_label: int | str | None = Field(
        default=None,
        description="Label value that means the positive class; others are negatives.",
    )
    auc: Literal["exact", "binned"] = Field(
        default="exact",
        description="ROC AUC on the scores as given (a sort per slice), or from the 1000-bin "
        "score histograms with a stated error bound (fast on large frames).",
    )
    multiple_testing: Literal["auto", "none", "holm", "bh"] = Field(
        default="auto",
        description="Adjust verdicts for the number of claims made: auto is Holm for the "
        "aggregate disparities (the gate's family-wise claim) and Benjamini-Hochberg for the "
        "per-group rows and the version comparison; holm, bh or none apply to all three.",
    )
    evaluation_date: dt.date | None = Field(
        default=None,
        description="The day the evaluation is as of: dispositions are judged on it and the "
        "documents state it. Default: the day it runs (UTC). Recorded in the manifest.",
    )
    dataset: DatasetConfig | None = Field(
        default=None,
        description="The evaluation data set of the pipeline: where it is and which column "
        "plays which role (rai land).",
    )
    derived_features: dict[str, DerivedFeature] = Field(
        default_factory=dict,
        description="Sensitive features banded from numeric columns in the warehouse.",
    )
    limits: LimitsConfig = Field(
        default_factory=LimitsConfig,
        description="Groups per dimension and sensitive features past which an evaluation is "
        "refused before any heavy work.",
    )
    multiple_testing_family: Literal["dimension", "metric"] = Field(
        default="dimension",
        description="Rows adjusted together: all per-group rows of a dimension, or of a "
        "dimension and metric.",
    )
    warehouse: WarehouseConfig = Field(
        default_factory=WarehouseConfig,
        description="Where the pipeline runs (never part of the digest: the same config "
        "gives the same evidence on every engine).",
    )

    @field_validator("positive_label", mode="before")
    @classmethod
    def _positive_label(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(MSG_POSITIVE_LABEL_BOOL)
        return value

    @field_validator("reference_groups", mode="before")
    @classmethod
    def _reference_values(cls, value: object) -> object:
        # Group labels are text; let `group_b: 1` mean the group "1" without quoting.
        if isinstance(value, Mapping):
            return {
                key: str(group) if isinstance(group, int) and not isinstance(group, bool) else group
                for key, group in value.items()
            }
        return value

    @field_validator("sensitive_features")
    @classmethod
    def _features(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if not is_identifier(name):
                raise ValueError(f"{name!r} must match {IDENTIFIER_RULE}")
            if name in seen:
                raise ValueError(MSG_DUPLICATE_FEATURES.format(name=name))
            seen.add(name)
        return value

    @model_validator(mode="after")
    def _cross_keys(self) -> EvaluationConfig:
        features = self.sensitive_features
        if len(features) > self.limits.max_sensitive_features:
            raise ValueError(
                MSG_TOO_MANY_FEATURES.format(
                    count=len(features),
                    limit=self.limits.max_sensitive_features,
                    ceiling=MAX_GROUPING_FEATURES,
                )
            )
        for members in self.intersections or []:
            if not 2 <= len(members) <= 3:
                raise ValueError(MSG_INTERSECTION_SIZE.format(size=len(members)))
            for member in members:
                if member not in features:
                    raise ValueError(
                        MSG_INTERSECTION_MEMBER.format(member=member, features=features)
                    )
        for key in self.reference_groups:
            if key not in features:
                raise ValueError(MSG_REFERENCE_GROUP_KEY.format(key=key, features=features))
        for name, derived in self.derived_features.items():
            if not is_identifier(name):
                raise ValueError(MSG_DERIVED_NAME.format(name=name))
            if name not in features:
                raise ValueError(MSG_DERIVED_UNUSED.format(name=name, features=features))
            if derived.source == name:
                raise ValueError(MSG_DERIVED_FROM_ITSELF.format(name=name))
        if self.dataset is not None:
            self._check_dataset_roles(self.dataset)
        if self.columns is not None:
            for role, name in self.columns.roles().items():
                if name in features:
                    raise ValueError(MSG_FEATURE_IS_COLUMN.format(name=name, role=role))
            if self.columns.prediction is not None and "threshold" in self.model_fields_set:
                raise ValueError(MSG_THRESHOLD_WITH_PREDICTION)
        return self

    def _check_dataset_roles(self, dataset: DatasetConfig) -> None:
        roles: dict[str, list[str | None]] = {
            "id": [dataset.id],
            "label": [dataset.label],
            "restricted": list(dataset.restricted),
        }
        for name in self.sensitive_features:
            for role, names in roles.items():
                if name in names:
                    raise ValueError(MSG_SENSITIVE_ROLE.format(name=name, role=role))
        for name, derived in self.derived_features.items():
            if derived.source in dataset.restricted:
                raise ValueError(
                    MSG_DERIVED_FROM_RESTRICTED.format(name=name, source=derived.source)
                )

    def raw_sensitive_features(self) -> list[str]:
        """The sensitive features that are columns of the data set (not derived)."""
        return [name for name in self.sensitive_features if name not in self.derived_features]

    def attribute_sources(self) -> list[str]:
        """The columns the sensitive features are read from, once each, in order: the raw
        sensitive features, then the sources of the derived ones."""
        sources = [*self.raw_sensitive_features()]
        sources += [d.source for d in self.derived_features.values()]
        return list(dict.fromkeys(sources))

    def resolved_intersections(self) -> list[tuple[str, ...]]:
        """The configured intersections, or every pair of sensitive features when unset."""
        if self.intersections is not None:
            return [tuple(members) for members in self.intersections]
        features = self.sensitive_features
        return [(a, b) for i, a in enumerate(features) for b in features[i + 1 :]]

    def digest(self) -> str:
        """sha256 of the canonical JSON form: the config's identity in lineage records."""
        data = self.model_dump(mode="json", exclude=set(_PLACEMENT_KEYS))
        for key, default in _LATER_KEYS.items():
            if data[key] == default:
                del data[key]
        for key in DATASHEET_KEYS:  # added to dataset later: left out while not given
            if isinstance(data.get("dataset"), dict) and data["dataset"][key] is None:
                del data["dataset"][key]
        canonical = json.dumps(data, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_config(data: Mapping[str, Any], *, source: Path | str = "<config>") -> EvaluationConfig:
    """Validate a mapping into an :class:`EvaluationConfig` or raise :class:`ConfigError`."""
    if not isinstance(data, Mapping):
        raise ConfigError(MSG_NOT_A_MAPPING.format(path=source))
    try:
        return EvaluationConfig.model_validate(dict(data))
    except ValidationError as error:
        header = f"{source}: invalid configuration"
        raise ConfigError(validation_message(header, error, reference=REFERENCE)) from None


def load_config(path: Path | str) -> EvaluationConfig:
    """Read and validate a YAML config file."""
    data = read_yaml_mapping(path, what="config file", error=ConfigError)
    return parse_config(data, source=Path(path))
