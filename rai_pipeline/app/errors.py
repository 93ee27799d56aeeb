"""The errors a user's input can cause, which the CLI reports in one line with exit code 2:
a config, dispositions file, evidence pack, input file (predictions or data set), landing area
or trace request that breaks a rule (each message names the file and the rule), and a
warehouse another process held for the whole wait."""

from __future__ import annotations

EXIT_BAD_INPUT = 2  # rai_pipeline.core.governance.gate.EXIT_ERROR


def input_errors() -> tuple[type[Exception], ...]:
    """The exception types a user's input can cause. Imported when called: the CLI evaluates
    it in its ``except`` clause, that is only when a command fails, so that a command's
    start-up does not pay for every other command's modules."""
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
    from rai_pipeline.core.landing.extracts import (
        LandingConflictError,
        LandingError,
        LandingIntegrityError,
    )
    from rai_pipeline.core.llm_safety.frame import LlmInputError

    return (
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
