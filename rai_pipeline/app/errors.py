"""The errors a user's input can cause, which the CLI reports in one line with exit code 2:
a config, dispositions file, evidence pack, input file (predictions or data set), landing area
or trace request that breaks a rule (each message names the file and the rule), and a
warehouse another process held for the whole wait."""

from __future__ import annotations

from rai_pipeline.adapters.warehouse_lock import WarehouseBusyError
from rai_pipeline.app.evaluate import EvaluateError
from rai_pipeline.app.input_checks import InputFileError
from rai_pipeline.app.land_llm import LandLlmError
from rai_pipeline.app.pack_sources import PackSourceError
from rai_pipeline.app.reproduce import ReproduceError
from rai_pipeline.app.trace import TraceError
from rai_pipeline.core.config.schema import ConfigError
from rai_pipeline.core.evidence.verify import PackError
from rai_pipeline.core.governance.dispositions import DispositionsError
from rai_pipeline.core.governance.gate import EXIT_ERROR
from rai_pipeline.core.landing.extracts import (
    LandingConflictError,
    LandingError,
    LandingIntegrityError,
)
from rai_pipeline.core.llm_safety.frame import LlmInputError

EXIT_BAD_INPUT = EXIT_ERROR
INPUT_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    DispositionsError,
    EvaluateError,
    InputFileError,
    LandingConflictError,
    LandingError,
    LandingIntegrityError,
    LandLlmError,
    LlmInputError,
    PackError,
    PackSourceError,
    ReproduceError,
    TraceError,
    WarehouseBusyError,
    OSError,
)
