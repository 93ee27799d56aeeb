"""Read and check a predictions file in DuckDB and expose it as an evaluation frame.

:func:`load_frame` is the entry point for ``rai evaluate-file``: the file is read by
:mod:`~rai_pipeline.app.input_reader`, checked in one scan by
:mod:`~rai_pipeline.app.input_checks` (every problem reported at once), and then exposed
as the frame.

The frame (:data:`FRAME_RELATION`) is the engine's contract: a 0/1 label, a DOUBLE score, a 0/1
decision (``score >= threshold``, or the given prediction) and the sensitive features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from rai_pipeline.app.input_checks import as_binary, as_number, check_values, label_value
from rai_pipeline.app.input_files import InputFiles, resolve_input
from rai_pipeline.app.input_reader import INPUT_RELATION, load_input, reader_for_input
from rai_pipeline.core.config.schema import ColumnsConfig, EvaluationConfig
from rai_pipeline.core.engine.profile import FrameProfile
from rai_pipeline.core.engine.sql import quote_identifier

LABEL, SCORE, DECISION = "_rai_label", "_rai_score", "_rai_decision"
FRAME_RELATION = "_rai_frame"


@dataclass(frozen=True)
class LoadedFrame:
    """A predictions file read, checked and exposed as :data:`FRAME_RELATION`.

    ``checks``: ``name``, ``passed``, ``description`` of every rule checked (all passed), for
    the report's data-quality section. ``profile``: the rows and the frame's score extremes
    (and, with ``auc: exact``, its approximate distinct scores), counted in the checks' scan,
    so that the slice engine need not scan the rows again to validate them."""

    rows: int
    checks: list[dict[str, Any]]
    profile: FrameProfile


def load_frame(
    conn: duckdb.DuckDBPyConnection,
    path: Path | InputFiles,
    *,
    columns: ColumnsConfig,
    config: EvaluationConfig,
    keep_id: bool = False,
) -> LoadedFrame:
    """Read ``path`` (a file, or a pattern over several: :mod:`~rai_pipeline.app.input_files`),
    check it, and create the evaluation frame :data:`FRAME_RELATION` (with
    the id column too when ``keep_id``, for ``rai trace --rows``).

    Raises
    ------
    InputFileError
        Unreadable file, missing columns, or values that break a rule (all listed).
    """
    inputs = path if isinstance(path, InputFiles) else resolve_input(path)
    shown = str(inputs.pattern)
    load_input(conn, reader_for_input(inputs), inputs, shown, columns, config)
    score = _score_sql(columns, config)
    distinct = f"approx_count_distinct({score})" if config.auc == "exact" else "-1"
    rows, checks, (n_scores, low, high) = check_values(
        conn,
        INPUT_RELATION,
        shown,
        columns,
        config,
        measures=[distinct, f"min({score})", f"max({score})"],
    )
    _frame(conn, columns, config, keep_id=keep_id)
    profile = FrameProfile(rows, int(n_scores), float(low), float(high))
    return LoadedFrame(rows=rows, checks=checks, profile=profile)


def _decision_sql(columns: ColumnsConfig, config: EvaluationConfig) -> str:
    if columns.score is not None:
        score = f"CAST({as_number(columns.score)} AS DOUBLE)"
        return f"CAST({score} >= CAST({float(config.threshold)!r} AS DOUBLE) AS INTEGER)"
    assert columns.prediction is not None  # ColumnsConfig: exactly one of score, prediction
    return f"CAST({as_binary(columns.prediction)} AS INTEGER)"


def _score_sql(columns: ColumnsConfig, config: EvaluationConfig) -> str:
    """The frame's DOUBLE score: the score column, or the 0/1 prediction without one."""
    if columns.score is not None:
        return f"CAST({as_number(columns.score)} AS DOUBLE)"
    return f"CAST({_decision_sql(columns, config)} AS DOUBLE)"


def _frame(
    conn: duckdb.DuckDBPyConnection,
    columns: ColumnsConfig,
    config: EvaluationConfig,
    *,
    keep_id: bool,
) -> None:
    """The evaluation frame over ``_rai_input``: 0/1 label, DOUBLE score, 0/1 decision and the
    sensitive features, in the engine's contract."""
    label = label_value(columns.label, config.positive_label)
    score, decision = _score_sql(columns, config), _decision_sql(columns, config)
    kept = [columns.id] if keep_id and columns.id is not None else []
    features = ", ".join(quote_identifier(name) for name in [*kept, *config.sensitive_features])
    conn.execute(
        f"CREATE VIEW {FRAME_RELATION} AS SELECT {label} AS {LABEL}, {score} AS {SCORE}, "
        f"{decision} AS {DECISION}, {features} FROM {INPUT_RELATION}"
    )
