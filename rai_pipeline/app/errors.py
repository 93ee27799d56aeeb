"""The errors a user's input can cause, which the CLI reports in one line with exit code 2:
a config, dispositions file, evidence pack, predictions file or trace request that breaks a
rule (each message names the file and the rule)."""

from __future__ import annotations

from rai_pipeline.app.evaluate_file import EvaluateFileError
from rai_pipeline.app.reproduce import ReproduceError
from rai_pipeline.app.trace import TraceError
from rai_pipeline.core.config.schema import ConfigError
from rai_pipeline.core.evidence.verify import PackError
from rai_pipeline.core.governance.dispositions import DispositionsError
from rai_pipeline.core.governance.gate import EXIT_ERROR

EXIT_BAD_INPUT = EXIT_ERROR
INPUT_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    DispositionsError,
    EvaluateFileError,
    PackError,
    ReproduceError,
    TraceError,
    OSError,
)
