"""The options of ``rai evaluate-file``, checked before any work: the config has ``columns`` and
no derived features, the slices can be evaluated, ``--model-name`` and ``--model-version`` are
one line of visible text, and ``--out`` can take the pack."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rai_pipeline.app.input_checks import InputFileError
from rai_pipeline.app.predictions_file import DECISION, LABEL, SCORE
from rai_pipeline.core import evaluation
from rai_pipeline.core.config.schema import ColumnsConfig, ConfigError, EvaluationConfig
from rai_pipeline.core.engine.slices import SliceSpecError
from rai_pipeline.core.engine.sql import InvalidIdentifierError

PREVIOUS_SUFFIX = ".previous-"
MSG_DERIVED_FEATURES = (
    "{config}: derived_features are computed by the pipeline (rai land, rai evaluate); rai "
    "evaluate-file reads each sensitive feature as a column of the file: add the band to the "
    "file, or remove derived_features"
)
MSG_COLUMNS_REQUIRED = (
    "{config}: invalid configuration\n"
    "  - columns: required by rai evaluate-file: name the label column and one of score or "
    "prediction, e.g. columns: {{id: example_id, label: label, score: score}}"
)
MSG_RESERVED_FEATURE = (
    "{config}: invalid configuration\n"
    "  - sensitive_features: {name!r} is reserved by rai evaluate-file; rename the column"
)
MSG_SLICES = "{config}: invalid configuration\n  - {reason}"
MSG_OUT_NOT_DIR = "{out}: exists and is not a folder"
MSG_OUT_EMPTY = "--out: the output folder's path is empty; give a folder to create"
MSG_FLAG_TEXT = (
    "{flag} {value!r}: must be one line of visible text (it is printed in the documents); "
    "found {chars}"
)
MSG_OUT_EXISTS = (
    "{out}: the output folder exists and is not empty; pass --force to replace it "
    "(the current folder is then kept as {out}{suffix}<digest>)"
)
MSG_OUT_HOLDS_INPUT = "{out}: the output folder holds the {what} {path}; choose another folder"


def require_columns(config: EvaluationConfig, config_path: Path) -> ColumnsConfig:
    if config.columns is None:
        raise ConfigError(MSG_COLUMNS_REQUIRED.format(config=config_path))
    if config.derived_features:
        raise ConfigError(MSG_DERIVED_FEATURES.format(config=config_path))
    for name in config.sensitive_features:
        if name in (LABEL, SCORE, DECISION):
            raise ConfigError(MSG_RESERVED_FEATURE.format(config=config_path, name=name))
    return config.columns


def check_slices(config: EvaluationConfig, config_path: Path) -> None:
    """Fail before any work when the configured slices cannot be evaluated."""
    try:
        evaluation.configured_slices(config)
    except (SliceSpecError, InvalidIdentifierError) as error:
        raise ConfigError(MSG_SLICES.format(config=config_path, reason=error)) from None


def check_flag(flag: str, value: str | None) -> None:
    """Names that documents print must be one line of visible text."""
    if value is None:
        return
    bad = sorted({char for char in value if not char.isprintable()})
    if bad or not value.strip():
        shown = ", ".join(repr(char) for char in bad) or "only blanks"
        raise InputFileError(MSG_FLAG_TEXT.format(flag=flag, value=value, chars=shown))


def check_out(out: Path, *, force: bool, inputs: Mapping[str, Path]) -> None:
    if out.exists() and not out.is_dir():
        raise InputFileError(MSG_OUT_NOT_DIR.format(out=out))
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise InputFileError(MSG_OUT_EXISTS.format(out=out, suffix=PREVIOUS_SUFFIX))
        root = out.resolve()
        for what, item in inputs.items():
            if root in item.resolve().parents:
                raise InputFileError(MSG_OUT_HOLDS_INPUT.format(out=out, what=what, path=item))
