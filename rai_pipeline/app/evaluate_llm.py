"""``rai evaluate-llm``: an LLM safety evaluation of prompt and response files, without the
orchestrator, with the code the pipeline uses (:mod:`rai_pipeline.core.llm_safety`).

Steps; nothing is written before the last one:

1. Read the config (docs/llm-safety.md); paths resolve against its folder. Refuse an existing,
   non-empty output folder unless ``force``.
2. Read the prompt set and each responses file as text (CSV, multi-line quoted fields
   allowed, or Parquet), hash them, and check them: columns present, ids unique, expected
   values valid; the data checks are counted, and stop the run when configured blocking.
3. Rates per slice, labelling agreement, the judge against human labels, verdicts.
4. Tables, the report and ``manifest.json`` are assembled in a staging folder beside the
   output folder and moved into place with one rename.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rai_pipeline.adapters.llm_judges import judge_for
from rai_pipeline.app.file_options import MSG_OUT_EMPTY, check_out
from rai_pipeline.app.input_checks import InputFileError
from rai_pipeline.app.publish_folder import stage_and_publish
from rai_pipeline.app.recovery import sweep_beside
from rai_pipeline.code_version import code_version
from rai_pipeline.core.evidence.llm_pack import write_llm_pack
from rai_pipeline.core.llm_safety.config import (
    LlmSafetyConfig,
    ResponsesConfig,
    load_llm_config,
    resolve,
)
from rai_pipeline.core.llm_safety.evaluation import VersionInput, evaluate_llm_safety
from rai_pipeline.core.llm_safety.label_studio import LabelStudioError, label_studio_ratings
from rai_pipeline.core.llm_safety.verdicts import overall_verdict
from rai_pipeline.core.storage import file_sha256, read_parquet

MSG_READ = "{file}: cannot read it as {kind} ({reason})"
MSG_MISSING = "{file}: no such file (from the config's {key})"


@dataclass(frozen=True)
class LlmFileEvaluation:
    out: Path
    evaluation_id: str
    verdicts: dict[str, str]
    evidence_digest: str
    files: list[str]
    previous: Path | None


def read_text_table(path: Path, *, key: str) -> pd.DataFrame:
    """Every column as text (empty string where a CSV cell is empty)."""
    if not path.is_file():
        raise InputFileError(MSG_MISSING.format(file=path, key=key))
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return read_parquet(path).astype(object).where(lambda f: f.notna(), "").astype(str)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, UnicodeDecodeError) as error:
        kind = "Parquet" if path.suffix.lower() in {".parquet", ".pq"} else "CSV"
        raise InputFileError(MSG_READ.format(file=path, kind=kind, reason=error)) from None


def llm_evaluation_id(config_path: Path | str) -> str:
    """The evaluation's id: the sha256 of the config's digest and every input file's sha256
    (prompt set, responses, Label Studio exports), first 16 hex digits. Equal ids, equal
    evidence."""
    config, folder = load_llm_config(config_path)
    files = [config.prompts.path]
    for spec in config.responses:
        files += [spec.path, *([spec.label_studio.path] if spec.label_studio else [])]
    digests = []
    for name in files:
        path = resolve(folder, name)
        if not path.is_file():
            raise InputFileError(MSG_MISSING.format(file=path, key="a path"))
        digests.append(file_sha256(path))
    return _identity(config.digest(), digests)


def _identity(config_digest: str, digests: list[str]) -> str:
    return hashlib.sha256("\n".join([config_digest, *digests]).encode()).hexdigest()[:16]


def with_label_studio(
    spec: ResponsesConfig, table: pd.DataFrame, export: Path, *, index: int
) -> tuple[ResponsesConfig, pd.DataFrame]:
    """The responses with one more ratings column per Label Studio rater (matched on the
    responses' id column), and the config entry naming them."""
    key = f"responses[{index}].label_studio.path"
    if not export.is_file():
        raise InputFileError(MSG_MISSING.format(file=export, key=key))
    try:
        tasks = json.loads(export.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise InputFileError(MSG_READ.format(file=export, kind="JSON", reason=error)) from None
    assert spec.label_studio is not None
    try:
        ratings = label_studio_ratings(
            tasks,
            id_field=spec.label_studio.id_field,
            from_name=spec.label_studio.from_name,
            file=str(export),
        )
    except LabelStudioError as error:
        raise InputFileError(str(error)) from None
    columns = [c for c in ratings.columns if c != "response_id"]
    merged = table.merge(ratings, left_on=spec.id, right_on="response_id", how="left")
    merged = merged.drop(columns=["response_id"]).fillna({c: "" for c in columns})
    return spec.model_copy(update={"ratings": [*spec.ratings, *columns]}), merged


@dataclass(frozen=True)
class LlmInputs:
    """The files a config names, read and hashed (nothing checked beyond reading them)."""

    prompts: pd.DataFrame
    prompts_path: Path
    versions: list[VersionInput]
    extra_inputs: list[dict[str, str]]  # the Label Studio exports merged into the ratings


def read_llm_inputs(config: LlmSafetyConfig, folder: Path) -> LlmInputs:
    """Read the prompt set and every responses file (Label Studio exports merged in) as
    text; an empty dimension cell is a missing value."""
    prompts_path = resolve(folder, config.prompts.path)
    prompts = read_text_table(prompts_path, key="prompts.path")
    for dimension in config.prompts.dimensions:
        if dimension in prompts.columns:
            prompts[dimension] = prompts[dimension].where(prompts[dimension] != "")
    versions, extra_inputs = [], []
    for index, spec in enumerate(config.responses):
        path = resolve(folder, spec.path)
        table = read_text_table(path, key=f"responses[{index}].path")
        if spec.label_studio is not None:
            export = resolve(folder, spec.label_studio.path)
            spec, table = with_label_studio(spec, table, export, index=index)
            extra_inputs.append({"kind": "label_studio_export", "model_version": spec.model_version,
                                 "name": export.name, "path": str(export.resolve()),
                                 "sha256": file_sha256(export)})  # fmt: skip
        versions.append(VersionInput(spec=spec, table=table, digest=file_sha256(path),
                                     file=str(path)))  # fmt: skip
    return LlmInputs(prompts, prompts_path, versions, extra_inputs)


def evaluate_llm(
    config_path: Path | str, *, out: Path | str, force: bool = False
) -> LlmFileEvaluation:
    """Evaluate the files a config names and publish the evidence folder at ``out``."""
    if not str(out).strip():
        raise InputFileError(MSG_OUT_EMPTY)
    config_path, out = Path(config_path), Path(out)
    config, folder = load_llm_config(config_path)
    prompts_path = resolve(folder, config.prompts.path)
    response_paths = [resolve(folder, r.path) for r in config.responses]
    inputs_by_name = {"config": config_path, "prompt set": prompts_path}
    for spec, path in zip(config.responses, response_paths, strict=True):
        inputs_by_name[f"responses {spec.model_version}"] = path
    check_out(out, force=force, inputs=inputs_by_name)
    read = read_llm_inputs(config, folder)
    prompts, versions, extra_inputs = read.prompts, read.versions, read.extra_inputs
    prompts_digest = file_sha256(prompts_path)
    evaluation = evaluate_llm_safety(
        prompts,
        versions,
        config,
        prompts_file=str(prompts_path),
        judge=judge_for(config.judge, config.outcomes),
    )
    config_digest = config.digest()
    digests = [prompts_digest]
    for version, extra in zip(versions, config.responses, strict=True):
        digests.append(version.digest)
        if extra.label_studio is not None:
            digests += [
                i["sha256"] for i in extra_inputs if i["model_version"] == extra.model_version
            ]
    evaluation_id = _identity(config_digest, digests)
    lineage = {
        "evaluation_id": evaluation_id,
        "model_name": config.model_name,
        "model_versions": ", ".join(v.spec.model_version for v in versions),
        "config_sha256": config_digest,
        "prompt_set_sha256": prompts_digest,
        "judge": evaluation.judge.describe(),
        **code_version(),
    }
    inputs = [
        {"kind": "config", "name": config_path.name, "path": str(config_path.resolve()),
         "sha256": file_sha256(config_path), "config_digest": config_digest},
        {"kind": "prompt_set", "name": prompts_path.name, "path": str(prompts_path.resolve()),
         "sha256": prompts_digest, "rows": len(prompts)},
        *({"kind": "responses", "model_version": v.spec.model_version,
           "name": Path(v.file).name, "path": str(Path(v.file).resolve()),
           "sha256": v.digest, "rows": len(v.table)} for v in versions),
        *extra_inputs,
    ]  # fmt: skip
    sweep_beside(out)

    def build(staging: Path) -> dict[str, object]:
        return write_llm_pack(staging, evaluation=evaluation, config=config,
                              model_name=config.model_name, evaluation_id=evaluation_id,
                              lineage=lineage, prompts=len(prompts), inputs=inputs)  # fmt: skip

    published = stage_and_publish(out, force=force, build=build)
    return LlmFileEvaluation(
        out=out,
        evaluation_id=evaluation_id,
        verdicts={
            v.spec.model_version: overall_verdict(evaluation.verdicts, v.spec.model_version)
            for v in versions
        },
        evidence_digest=published.evidence_digest,
        files=published.files,
        previous=published.previous,
    )
