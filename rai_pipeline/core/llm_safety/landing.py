"""The LLM safety inputs as the warehouse holds them, and back.

:func:`landing_tables` turns what a config names (the prompt set and one responses file per
model version, read as text) into four long tables, landed as Parquet and read by the dbt
sources (``dbt_project/models/llm_safety``):

- ``llm_prompts``: one row per prompt: ``prompt_id``, ``prompt_set``, ``expected``
  (``safe`` / ``unsafe``), ``text``, ``position`` (its row in the file) and one column per
  configured dimension (policy category, attack technique, language, ...);
- ``llm_responses``: one row per (model version, response): ``response_id`` as given,
  ``prompt_id`` it answers (after the id prefix is removed), ``completion``, ``position``;
- ``llm_ratings``: one row per (model version, response, rater): ``rater`` (a rater's column,
  or the column of the verdict of record), ``rater_kind`` (``human`` or ``record``),
  ``verdict``, and the record's ``category`` and ``severity`` when configured; an empty
  rating is no row;
- ``llm_versions``: one row per model version: the id prefix removed, the responses file's
  sha256, and the LLM feature it is (model id, system prompt, template, their digest).

:func:`evaluation_inputs` is the inverse: the tables read back from the warehouse become the
inputs of :func:`~rai_pipeline.core.llm_safety.evaluation.evaluate_llm_safety`, so the
pipeline computes with the same code, on the same rows in the same order, as
``rai evaluate-llm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from rai_pipeline.core.llm_safety.config import LlmSafetyConfig
from rai_pipeline.core.llm_safety.evaluation import VersionInput
from rai_pipeline.core.llm_safety.frame import (
    LlmInputError,
    check_unique,
    match_ids,
    prompt_table,
    require_columns,
)

PROMPT_COLUMNS = ("prompt_id", "prompt_set", "expected", "text", "position")
RESPONSE_COLUMNS = ("model_version", "response_id", "prompt_id", "completion", "position")
RATING_COLUMNS = (
    "model_version",
    "response_id",
    "prompt_id",
    "rater",
    "rater_kind",
    "verdict",
    "category",
    "severity",
)
VERSION_COLUMNS = (
    "model_version",
    "id_prefix",
    "responses_sha256",
    "responses_file",
    "model_id",
    "system_prompt",
    "template",
    "feature_digest",
)
HUMAN, RECORD = "human", "record"
WAREHOUSE = "the warehouse"
MSG_RESERVED = (
    "prompts.dimensions: {names} collide with the landed prompt table's own columns "
    "({reserved}); rename the column in the prompt set"
)
MSG_NOT_LANDED = (
    "model version {version!r} has no landed responses; landed versions: {landed}. Land the "
    "config's files first: rai land-llm --config CONFIG"
)


@dataclass(frozen=True)
class LandingTables:
    prompts: pd.DataFrame
    responses: pd.DataFrame
    ratings: pd.DataFrame
    versions: pd.DataFrame

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {
            "llm_prompts": self.prompts,
            "llm_responses": self.responses,
            "llm_ratings": self.ratings,
            "llm_versions": self.versions,
        }


def _text(values: pd.Series) -> pd.Series:
    """Text cells, an empty cell as missing."""
    out = values.astype(object)
    return out.where(out.notna() & (out.astype(str) != ""), None)


def landing_tables(
    prompts_raw: pd.DataFrame,
    versions: Sequence[VersionInput],
    config: LlmSafetyConfig,
    *,
    prompts_file: str,
    prompt_set: str,
) -> LandingTables:
    """The four tables (module docstring), checked as ``rai evaluate-llm`` checks its files:
    columns present, ids unique, expected values valid."""
    spec = config.prompts
    reserved = [d for d in spec.dimensions if d in PROMPT_COLUMNS]
    if reserved:
        raise LlmInputError(MSG_RESERVED.format(names=reserved, reserved=list(PROMPT_COLUMNS)))
    require_columns(
        prompts_raw,
        {
            "prompts.id": spec.id,
            "prompts.expected": spec.expected,
            "prompts.text": spec.text,
            **{f"prompts.dimensions[{k}]": d for k, d in enumerate(spec.dimensions)},
        },
        prompts_file,
    )
    table = prompt_table(prompts_raw, config, file=prompts_file)
    prompts = pd.DataFrame(
        {
            "prompt_id": table["prompt_id"],
            "prompt_set": prompt_set,
            "expected": table["expected"],
            "text": prompts_raw[spec.text].astype(str).to_numpy() if spec.text else None,
            "position": range(len(table)),
        }
    )
    for dimension in spec.dimensions:
        prompts[dimension] = table[dimension].to_numpy()
    known = set(prompts["prompt_id"])
    responses, ratings, rows = [], [], []
    for item in versions:
        response, own = item.spec, item.table
        require_columns(
            own,
            {
                "id": response.id,
                "final": response.final,
                "completion": response.completion,
                "category": response.category,
                "severity": response.severity,
                **{f"ratings[{k}]": c for k, c in enumerate(response.ratings)},
            },
            item.file,
        )
        ids, prefix = match_ids(own[response.id], known, response.id_prefix)
        check_unique(ids, file=item.file, column=response.id)
        version = response.model_version
        responses.append(
            pd.DataFrame(
                {
                    "model_version": version,
                    "response_id": own[response.id].astype(str).to_numpy(),
                    "prompt_id": ids.to_numpy(),
                    "completion": (
                        _text(own[response.completion]).to_numpy() if response.completion else None
                    ),
                    "position": range(len(own)),
                }
            )
        )
        raters = [(c, HUMAN) for c in response.ratings]
        if response.final is not None and response.final not in response.ratings:
            raters.append((response.final, RECORD))
        for column, kind in raters:
            record = kind == RECORD
            part = pd.DataFrame(
                {
                    "model_version": version,
                    "response_id": own[response.id].astype(str).to_numpy(),
                    "prompt_id": ids.to_numpy(),
                    "rater": column,
                    "rater_kind": kind,
                    "verdict": _text(own[column]).to_numpy(),
                    "category": (
                        _text(own[response.category]).to_numpy()
                        if record and response.category
                        else None
                    ),
                    "severity": (
                        _text(own[response.severity]).to_numpy()
                        if record and response.severity
                        else None
                    ),
                }
            )
            ratings.append(part[part["verdict"].notna()])
        feature = response.feature()
        rows.append(
            {
                "model_version": version,
                "id_prefix": prefix,
                "responses_sha256": item.digest,
                "responses_file": item.file,
                **feature,
                "feature_digest": response.feature_digest(),
            }
        )
    return LandingTables(
        prompts=prompts,
        responses=pd.concat(responses, ignore_index=True)[list(RESPONSE_COLUMNS)],
        ratings=(
            pd.concat(ratings, ignore_index=True)[list(RATING_COLUMNS)]
            if ratings
            else pd.DataFrame(columns=list(RATING_COLUMNS))
        ),
        versions=pd.DataFrame(rows, columns=list(VERSION_COLUMNS)),
    )


@dataclass(frozen=True)
class EvaluationInputs:
    config: LlmSafetyConfig  # the config, its column names those of the landed tables
    prompts: pd.DataFrame
    versions: list[VersionInput]


def evaluation_inputs(
    config: LlmSafetyConfig,
    tables: LandingTables,
    labels: Sequence[str],
    *,
    comparisons: list[tuple[str, str]] | None = None,
) -> EvaluationInputs:
    """The inputs of ``evaluate_llm_safety`` for the model versions ``labels`` (each a
    ``model_version`` of the config and of the landed tables), compared as ``comparisons``."""
    landed = tables.versions.set_index("model_version")
    missing = [label for label in labels if label not in landed.index]
    if missing:
        raise LlmInputError(MSG_NOT_LANDED.format(version=missing[0], landed=sorted(landed.index)))
    specs = {spec.model_version: spec for spec in config.responses}
    prompts = tables.prompts.sort_values("position", kind="stable").reset_index(drop=True)
    prompt_spec = config.prompts.model_copy(
        update={
            "path": WAREHOUSE,
            "id": "prompt_id",
            "expected": "expected",
            "safe_value": "safe",
            "unsafe_value": "unsafe",
            "text": "text" if config.prompts.text else None,
        }
    )
    responses, inputs = [], []
    for label in labels:
        rows = tables.responses[tables.responses["model_version"] == label]
        rows = rows.sort_values("position", kind="stable")
        ratings = tables.ratings[tables.ratings["model_version"] == label]
        wide = ratings.pivot(index="response_id", columns="rater", values="verdict")
        table = pd.DataFrame(
            {
                "response_id": rows["response_id"].to_numpy(),
                "completion": rows["completion"].fillna("").to_numpy(),
            }
        )
        humans = list(dict.fromkeys(ratings.loc[ratings["rater_kind"] == HUMAN, "rater"]))
        records = list(dict.fromkeys(ratings.loc[ratings["rater_kind"] == RECORD, "rater"]))
        original = specs.get(label)
        final = original.final if original is not None else (records[0] if records else None)
        for rater in dict.fromkeys([*humans, *records, *([final] if final else [])]):
            values = wide[rater] if rater in wide.columns else pd.Series(dtype=object)
            table[rater] = table["response_id"].map(values).fillna("").to_numpy()
        update = {
            "path": WAREHOUSE,
            "id": "response_id",
            "id_prefix": str(landed.loc[label, "id_prefix"]),
            "ratings": humans,
            "final": final,
            "label_studio": None,
            "completion": "completion" if original is None or original.completion else None,
        }
        spec = (original or config.responses[0]).model_copy(
            update={"model_version": label, **update}
        )
        responses.append(spec)
        inputs.append(
            VersionInput(
                spec=spec,
                table=table,
                digest=str(landed.loc[label, "responses_sha256"]),
                file=str(landed.loc[label, "responses_file"]),
            )
        )
    pipeline = config.model_copy(
        update={"prompts": prompt_spec, "responses": responses, "comparisons": comparisons}
    )
    return EvaluationInputs(config=pipeline, prompts=prompts, versions=inputs)
