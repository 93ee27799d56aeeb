"""``rai evaluate-file``: evaluate a CSV or Parquet file of predictions without the orchestrator.

The pipeline's engine (:mod:`rai_pipeline.core.engine.slices`,
:mod:`~rai_pipeline.core.metrics.slice_metrics`,
:mod:`~rai_pipeline.core.metrics.fairness`) runs on an in-process DuckDB connection that reads the
file
itself: the path reaches SQL only as a quoted literal, column names only after the identifier
rule. Python sees the file's schema, one row of validation counts and the per-group
aggregates, never the rows.

Steps, in order; nothing is written before the last one:

1. Read the config; ``columns`` is required here. Refuse an existing, non-empty output folder
   unless ``force``.
2. Check the file in one scan (:mod:`rai_pipeline.app.predictions_file`): columns present, no
   NULL labels, scores or decisions, labels 0/1 (or equal to ``positive_label``), scores finite
   in [0, 1], ids unique. Every problem found is reported at once, each naming the file, the
   column and the rule.
3. Slice statistics, metrics with Wilson intervals, disparities with bootstrap intervals.
4. Tables, documents and ``manifest.json`` assembled in a staging folder beside the output
   folder, then moved into place with one ``rename``. With ``force`` an existing folder is
   first renamed to ``<out>.previous-<its evidence digest>``: nothing is lost.

Identical inputs give byte-identical outputs with any number of threads: every sum over rows
is an integer (counts, and scores in fixed point), so the order in which threads add them does
not matter. The engine uses every core this process may run on unless ``threads`` says
otherwise.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rai_pipeline.app.background import in_background
from rai_pipeline.app.file_options import (
    MSG_OUT_EMPTY,
    check_flag,
    check_out,
    check_slices,
    require_columns,
)
from rai_pipeline.app.input_checks import InputFileError, check_reference_groups
from rai_pipeline.app.input_files import InputFiles, resolve_input
from rai_pipeline.app.input_reader import connect, file_stem, reader_for_input, usable_cores
from rai_pipeline.app.predictions_file import DECISION, FRAME_RELATION, LABEL, SCORE, load_frame
from rai_pipeline.app.publish_folder import stage_and_publish
from rai_pipeline.app.recovery import spill_prefix, sweep_beside
from rai_pipeline.code_version import code_version
from rai_pipeline.core import evaluation
from rai_pipeline.core.config.schema import (
    ColumnsConfig,
    EvaluationConfig,
    load_config,
)
from rai_pipeline.core.engine.profile import GroupLimitError
from rai_pipeline.core.evidence.escaping import Markdown, code_span, md_text
from rai_pipeline.core.evidence.manifest import build_manifest
from rai_pipeline.core.evidence.pack import assemble_pack
from rai_pipeline.core.governance.dispositions import load_dispositions
from rai_pipeline.core.governance.gate import aggregate_verdict, decide_gate
from rai_pipeline.core.storage import file_sha256
from rai_pipeline.settings import rai_home

SCORE_METRICS = ("roc_auc_score", "brier_score_loss")
DEFAULT_MODEL_NAME = "file"
MSG_CHANGED = "{file}: the file changed while it was being evaluated; run again"
MSG_SKIPPED_SCORE = (
    "no score column: decisions are given by column {column!r}, so roc_auc_score and "
    "brier_score_loss are not computed"
)


@dataclass(frozen=True)
class FileEvaluation:
    """What :func:`evaluate_file` published."""

    out: Path
    evaluation_id: str
    rows: int
    verdict: str
    verdict_counts: Mapping[str, int]
    evidence_digest: str
    files: list[str]
    previous: Path | None = None
    skipped_metrics: Mapping[str, str] = field(default_factory=dict)


Progress = Callable[[str], None]


def _silent(_: str) -> None:
    return None


def evaluate_file(
    path: Path | str,
    *,
    config_path: Path | str,
    out: Path | str,
    model_name: str | None = None,
    model_version: str | None = None,
    force: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
    progress: Progress = _silent,
    dispositions: Path | str | None = None,
    spill: Path | None = None,
) -> FileEvaluation:
    """Evaluate a predictions file and publish its evidence folder at ``out``.

    Parameters
    ----------
    path : path-like
        CSV (``.csv``, ``.csv.gz``, ``.csv.zst``) or Parquet (``.parquet``, ``.pq``) file, one
        row per example; or a pattern such as ``parts/*.parquet`` over several files of one
        format (:mod:`~rai_pipeline.app.input_files`).
    config_path : path-like
        Evaluation config (docs/configuration.md) with ``columns``.
    out : path-like
        Output folder; must not exist or be empty unless ``force``.
    model_name, model_version : str, optional
        Recorded in every table row and document; default ``file`` and the file's stem.
    force : bool, default False
        Replace a non-empty ``out``, keeping it as ``<out>.previous-<digest>``.
    threads : int, optional
        DuckDB threads; default every core this process may use (:func:`usable_cores`). The
        outputs do not depend on it (see the module docstring).
    dispositions : path-like, optional
        Dispositions YAML (docs/governance.md) applied to the findings on the evaluation day;
        recorded among the pack's inputs.
    memory_limit : str, optional
        DuckDB ``memory_limit`` (e.g. ``"1GB"``); beyond it DuckDB spills to a folder under
        ``$RAI_HOME/spill/``, removed when the evaluation ends.
    progress : callable, optional
        Receives one line per step (the CLI prints them on stderr).
    spill : path-like, optional
        Folder for DuckDB's temporary files; default ``$RAI_HOME/spill`` (``rai reproduce``
        gives its own scratch folder, so that an audit creates no state).

    Returns
    -------
    FileEvaluation

    Raises
    ------
    ConfigError
        The config is unreadable or breaks a rule, or has no ``columns``.
    InputFileError
        The file, its columns or values, the output folder or an engine option is unusable;
        nothing has been written.
    """
    started = time.perf_counter()

    def step(message: str) -> None:
        progress(f"{time.perf_counter() - started:7.2f}s  {message}")

    if not str(out).strip():
        raise InputFileError(MSG_OUT_EMPTY)
    for flag, value in (("--model-name", model_name), ("--model-version", model_version)):
        check_flag(flag, value)
    path, config_path, out = Path(path), Path(config_path), Path(out)
    config = load_config(config_path)
    decisions = load_dispositions(dispositions)
    columns = require_columns(config, config_path)
    check_slices(config, config_path)
    check_out(out, force=force, inputs={"input file": path, "config": config_path})
    files = resolve_input(path)
    reader_for_input(files)

    parts = f", {len(files.files)} files" if files.is_glob else ""
    # sha256 releases the GIL: the file is hashed on a second thread while DuckDB reads and
    # checks it, and hashed again while the metrics and documents are computed; nothing is
    # published until both digests are in and equal
    step(f"hashing {files.name} ({files.bytes / 1e6:,.1f} MB{parts}) beside the checks")
    hashed = in_background(files.digests, name="rai-hash")

    spill_root = Path(spill) if spill is not None else rai_home().spill
    sweep_beside(out, spill=spill_root)  # what killed runs left beside --out and in spill/
    spill_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=spill_prefix(), dir=spill_root) as spilled:
        conn = connect(
            threads=threads or usable_cores(), memory_limit=memory_limit, spill=Path(spilled)
        )
        try:
            step(f"reading and checking {files.name}")
            frame = load_frame(conn, files, columns=columns, config=config)
            rows, checks = frame.rows, frame.checks
            step(f"{rows:,} rows pass {len(checks)} checks; computing slice statistics")
            statistics = evaluation.slice_statistics(
                conn,
                config,
                relation=FRAME_RELATION,
                label=LABEL,
                score=SCORE,
                decision=DECISION,
                profile=frame.profile,
            )
        except GroupLimitError as error:
            raise InputFileError([f"{path}: {error}"]) from None
        finally:
            conn.close()
    stats = statistics.stats
    check_reference_groups(stats, config, path)
    digests = hashed()
    file_digest = files.sha256(digests)
    rehashed = in_background(lambda: resolve_input(path).sha256(), name="rai-rehash")
    config_digest = config.digest()
    evaluation_id = hashlib.sha256(f"{file_digest}\n{config_digest}".encode()).hexdigest()[:16]
    ids = {
        "evaluation_id": evaluation_id,
        "model_name": model_name or DEFAULT_MODEL_NAME,
        "model_version": model_version or file_stem(files.stem_source()),
        "dataset_version": file_digest,
    }

    step(f"metrics and disparities ({config.bootstrap.n_resamples:,} bootstrap resamples)")
    metrics = evaluation.slice_metrics(statistics, config)
    skipped: dict[str, str] = {}
    if columns.prediction is not None:
        reason = MSG_SKIPPED_SCORE.format(column=columns.prediction)
        skipped = dict.fromkeys(SCORE_METRICS, reason)
        metrics = metrics[~metrics["metric"].isin(SCORE_METRICS)].reset_index(drop=True)
        step(reason)
    fairness = evaluation.fairness_metrics(metrics, stats, config)
    metrics, fairness = evaluation.with_ids(metrics, ids), evaluation.with_ids(fairness, ids)

    step(f"writing {out}")
    evaluated_on = evaluation.evaluation_date(config)
    lineage = {
        **ids,
        "evaluated_on": evaluated_on.isoformat(),
        "model_uri": f"file:{files.name}",
        "config_sha256": config_digest,
        "input_file": files.name,
        "input_rows": rows,
        **code_version(),
        **evaluation.method_notes(config, stats),
    }
    context = evaluation.report_context(
        config,
        model_name=ids["model_name"],
        model_version=ids["model_version"],
        model_uri=lineage["model_uri"],
        dataset_version=file_digest,
        evaluation_id=evaluation_id,
        metrics=metrics,
        fairness=fairness,
        lineage=lineage,
        histograms=None if skipped else statistics.histograms,
        evaluated_on=evaluated_on,
        quality_checks=checks,
        model_details=_model_details(files, rows, columns, config, skipped),
        decision_column=columns.prediction,
        # without dispositions every finding that needs one is pending, and the documents say so
        resolutions=decide_gate(
            fairness,
            decisions,
            model=ids["model_name"],
            model_version=ids["model_version"],
            today=evaluated_on,
            source=dispositions or "the dispositions file",
        ).resolutions,
    )
    predictions: dict[str, object] = {
        "kind": "predictions_file",
        "name": files.name,
        "path": str(files.pattern.resolve()),
        "sha256": file_digest,
        "bytes": files.bytes,
        "rows": rows,
    }
    if files.is_glob:
        predictions["files"] = [
            {
                "name": part.name,
                "path": str(part.resolve()),
                "sha256": digest,
                "bytes": part.stat().st_size,
            }
            for part, digest in digests
        ]
    inputs = [
        predictions,
        {
            "kind": "config",
            "name": config_path.name,
            "path": str(config_path.resolve()),
            "sha256": file_sha256(config_path),
            "config_digest": config_digest,
        },
    ]
    if dispositions is not None:
        inputs.append(
            {
                "kind": "dispositions",
                "name": Path(dispositions).name,
                "path": str(Path(dispositions).resolve()),
                "sha256": file_sha256(Path(dispositions)),
            }
        )

    def build(staging: Path) -> dict[str, object]:
        assemble_pack(staging, context)
        (staging / "lineage").mkdir(exist_ok=True)
        (staging / "lineage" / "slice_stats.sql").write_text(
            statistics.sql_script(), encoding="utf-8"
        )
        manifest = build_manifest(staging, inputs=inputs, lineage=lineage)
        if skipped:
            manifest["skipped_metrics"] = skipped
        return manifest

    if rehashed() != file_digest:
        raise InputFileError(MSG_CHANGED.format(file=path))
    published = stage_and_publish(out, force=force, build=build)
    step(f"done: {out}")
    aggregate = fairness[fairness["group"] == "*"]
    return FileEvaluation(
        out=out,
        evaluation_id=evaluation_id,
        rows=rows,
        verdict=aggregate_verdict(fairness),
        verdict_counts={k: int(v) for k, v in aggregate["verdict"].value_counts().items()},
        evidence_digest=published.evidence_digest,
        files=published.files,
        previous=published.previous,
        skipped_metrics=skipped,
    )


# Outputs -------------------------------------------------------------------------------------


def _model_details(
    files: InputFiles,
    rows: int,
    columns: ColumnsConfig,
    config: EvaluationConfig,
    skipped: Mapping[str, str],
) -> dict[str, str]:
    if columns.score is not None:
        decisions = f"score >= {config.threshold} on column {code_span(columns.score)}"
    else:
        decisions = f"given by column {code_span(columns.prediction)}"
    label = f"column {code_span(columns.label)}"
    if config.positive_label is not None:
        label += f", positive class = {md_text(repr(config.positive_label))}"
    details = {
        "Predictions file": Markdown(
            f"{code_span(files.name)} ({rows:,} rows"
            + (f" in {len(files.files):,} files)" if files.is_glob else ")")
        ),
        "Label": Markdown(label),
        "Decisions": Markdown(decisions),
    }
    if skipped:
        details["Metrics not computed"] = next(iter(skipped.values()))
    return details
