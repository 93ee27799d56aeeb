"""One LLM safety evaluation, from the tables read off the files to every table the evidence
shows: the same steps for ``rai evaluate-llm`` and the pipeline.

Metrics (``llm_safety_metrics``, one row per version, slice group and metric, column
``family``):

- ``safety``: the rates of :mod:`.metrics` per dimension, intersection and overall;
- ``labelling``: agreement between the individual raters' columns (``ratings``), overall and
  per group of each dimension (:mod:`.agreement`);
- ``judge``: the judge against the human verdicts of record, when a judge other than those
  verdicts gives the verdicts (:mod:`.judge_accuracy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from rai_pipeline.core.llm_safety.agreement import (
    Ratings,
    agreement_rows,
    agreement_with,
    disagreements,
)
from rai_pipeline.core.llm_safety.config import LlmSafetyConfig, ResponsesConfig
from rai_pipeline.core.llm_safety.correction import corrected_rows
from rai_pipeline.core.llm_safety.frame import (
    LlmInputError,
    check_unique,
    match_ids,
    prompt_table,
    refused_of,
    require_columns,
    safety_frame,
)
from rai_pipeline.core.llm_safety.judge_accuracy import judge_rows
from rai_pipeline.core.llm_safety.judges import (
    STRING_MATCH,
    Judge,
    JudgeIdentity,
    file_identity,
    string_match_identity,
    string_match_verdicts,
    template_identity,
)
from rai_pipeline.core.llm_safety.metrics import (
    METRIC_COLUMNS,
    register_frame,
    safety_rates,
    slices_of,
)
from rai_pipeline.core.llm_safety.regressions import compare_versions
from rai_pipeline.core.llm_safety.verdicts import safety_verdicts

LLM_METRIC_COLUMNS = (*METRIC_COLUMNS, "family")
COVERAGE_COLUMNS = ("row_dimension", "row_group", "column_dimension", "column_group",
                    "prompts", "unsafe", "safe", "flag")  # fmt: skip
FAILURE_METRICS = ("unsafe_compliance_rate", "over_refusal_rate")
EXTERNAL_JUDGES = ("http", "callable")
MSG_NO_JUDGE = "the config's judge is {kind!r}: give the judge that asks it"
MSG_BLOCKING = "{file}: {count} {check} (blocking under checks.blocking), e.g. {examples}"


@dataclass(frozen=True)
class VersionInput:
    """One responses file as read: its config entry, its rows (text), its sha256 and name."""

    spec: ResponsesConfig
    table: pd.DataFrame
    digest: str
    file: str


@dataclass(frozen=True)
class LlmEvaluation:
    frame: pd.DataFrame
    metrics: pd.DataFrame
    checks: pd.DataFrame
    verdicts: pd.DataFrame
    coverage: pd.DataFrame
    failures: pd.DataFrame
    low_agreement: pd.DataFrame
    rater_agreement: pd.DataFrame
    judge: JudgeIdentity
    id_prefixes: dict[str, str]
    comparison: pd.DataFrame
    flips: pd.DataFrame


def judge_identity(config: LlmSafetyConfig) -> JudgeIdentity:
    judge = config.judge
    if judge.kind == STRING_MATCH:
        return string_match_identity()
    if judge.kind in EXTERNAL_JUDGES:
        name = judge.name or str(judge.url or judge.target)
        return template_identity(name, judge.version, judge.template)
    column = config.responses[0].final or ""
    return file_identity(column, name=config.judge.name, version=config.judge.version)


def _verdicts(
    item: VersionInput,
    config: LlmSafetyConfig,
    prompt_texts: dict[str, str],
    judge: Judge | None,
):
    spec, table = item.spec, item.table
    ratings = {f"ratings[{k}]": c for k, c in enumerate(spec.ratings)}
    require_columns(table, {"id": spec.id, "final": spec.final, "completion": spec.completion,
                     **ratings}, item.file)  # fmt: skip
    ids, prefix = match_ids(table[spec.id], set(prompt_texts), spec.id_prefix)
    check_unique(ids, file=item.file, column=spec.id)
    if config.judge.kind == STRING_MATCH:
        verdict = string_match_verdicts(
            table[spec.completion].tolist(),
            refusal=config.outcomes.refusal[0],
            compliance=config.outcomes.compliance[0],
        )
    elif config.judge.kind in EXTERNAL_JUDGES:
        if judge is None:
            raise ValueError(MSG_NO_JUDGE.format(kind=config.judge.kind))
        texts = [prompt_texts.get(i, "") for i in ids]
        verdict = judge(list(ids), texts, table[spec.completion].tolist())
    else:
        verdict = table[spec.final].tolist()
    frame = pd.DataFrame({"prompt_id": ids.to_numpy(), "verdict": verdict})
    return frame, prefix


def _outcome(labels: pd.Series, config: LlmSafetyConfig) -> pd.Series:
    return labels.map(lambda v: config.outcomes.outcome_of(str(v)))


def evaluate_llm_safety(
    prompts_raw: pd.DataFrame,
    inputs: Sequence[VersionInput],
    config: LlmSafetyConfig,
    *,
    prompts_file: str,
    judge: Judge | None = None,
) -> LlmEvaluation:
    """Check the inputs and compute every table (see the module docstring); ``judge`` gives
    the verdicts when the config's judge is ``http`` or ``callable``."""
    spec = config.prompts
    require_columns(prompts_raw, {"prompts.id": spec.id, "prompts.expected": spec.expected,
                           **{f"prompts.dimensions[{k}]": d
                              for k, d in enumerate(spec.dimensions)}}, prompts_file)  # fmt: skip
    prompts = prompt_table(prompts_raw, config, file=prompts_file)
    known = set(prompts["prompt_id"])
    texts = dict.fromkeys(prompts["prompt_id"], "")
    if spec.text is not None:
        require_columns(prompts_raw, {"prompts.text": spec.text}, prompts_file)
        texts = dict(zip(prompts["prompt_id"], prompts_raw[spec.text].astype(str), strict=True))
    verdicts, prefixes, matched = {}, {}, {}
    for item in inputs:
        verdicts[item.spec.model_version], prefixes[item.spec.model_version] = _verdicts(
            item, config, texts, judge
        )
        matched[item.spec.model_version] = verdicts[item.spec.model_version]["prompt_id"]
    built = safety_frame(prompts, verdicts, config)
    blocking = built.checks[built.checks["blocking"] & (built.checks["count"] > 0)]
    if len(blocking):
        files = {i.spec.model_version: i.file for i in inputs}
        raise LlmInputError(
            [MSG_BLOCKING.format(file=files[r.model_version], count=r.count, check=r.check,
                                 examples=r.examples) for r in blocking.itertuples()]
        )  # fmt: skip
    conn = duckdb.connect()
    try:
        relation = register_frame(conn, built.frame)
        rates = safety_rates(
            conn,
            relation=relation,
            versions=[i.spec.model_version for i in inputs],
            slices=slices_of(spec.dimensions, spec.intersections),
            min_group_size=config.min_group_size,
            confidence_level=config.confidence_level,
        ).assign(family="safety")
    finally:
        conn.close()
    extra: list[dict[str, object]] = []
    low, raters = [], []
    for item in inputs:
        version = item.spec.model_version
        ids = matched[version]
        own = [c for c in dict.fromkeys([*item.spec.ratings, item.spec.final]) if c]
        rows = item.table[own].assign(_prompt=ids.to_numpy())
        rows = rows[rows["_prompt"].isin(known)].merge(
            prompts, left_on="_prompt", right_on="prompt_id", how="inner"
        )
        if len(item.spec.ratings) >= 2:
            extra += _labelling(rows, item.spec, config, version)
            low.append(_low_agreement(rows, item.spec, version))
            raters.append(_rater_agreement(rows, item.spec, version))
        if config.judge.kind != "file" and item.spec.final is not None:
            judged = verdicts[version].set_index("prompt_id")["verdict"]
            human = rows.set_index("_prompt")[item.spec.final]
            judged = judged.reindex(human.index)
            unsafe = rows["unsafe"].to_numpy()
            corrected = _corrected(built.frame, version, judged, human, unsafe, config)
            extra += [{**row, "family": "judge"} for row in corrected]
            extra += [
                {**row, "family": "judge"}
                for row in judge_rows(
                    _outcome(judged, config),
                    _outcome(human, config),
                    model_version=version,
                    outcomes=config.outcomes.configured(),
                    n_resamples=config.bootstrap.n_resamples,
                    seed=config.bootstrap.seed,
                    confidence_level=config.confidence_level,
                )
            ]
    parts = [rates, *([pd.DataFrame(extra, columns=list(LLM_METRIC_COLUMNS))] if extra else [])]
    metrics = pd.concat(parts, ignore_index=True)[list(LLM_METRIC_COLUMNS)]
    comparison, flipped = compare_versions(
        built.frame,
        config.pairs(),
        dimensions=spec.dimensions,
        method=config.multiple_testing,
        alpha=1 - config.confidence_level,
        min_group_size=config.min_group_size,
        n_resamples=config.bootstrap.n_resamples,
        seed=config.bootstrap.seed,
        confidence_level=config.confidence_level,
    )
    return LlmEvaluation(
        frame=built.frame,
        comparison=comparison,
        flips=flipped,
        metrics=metrics,
        checks=built.checks,
        verdicts=safety_verdicts(metrics, config.policy),
        coverage=coverage(prompts, spec.dimensions, config.min_group_size),
        failures=top_failures(rates, config.top_failures),
        low_agreement=pd.concat(low, ignore_index=True) if low else pd.DataFrame(),
        rater_agreement=pd.concat(raters, ignore_index=True) if raters else pd.DataFrame(),
        judge=judge_identity(config),
        id_prefixes={v: p for v, p in prefixes.items() if p},
    )


def _corrected(
    frame: pd.DataFrame,
    version: str,
    judged: pd.Series,
    human: pd.Series,
    unsafe: np.ndarray,
    config: LlmSafetyConfig,
) -> list[dict[str, object]]:
    """Rogan–Gladen corrected rates (:mod:`.correction`): the validation sample is the
    prompts whose response carries a human verdict within the configured outcomes."""
    judge_outcome, human_outcome = _outcome(judged, config), _outcome(human, config)
    labelled = (judge_outcome.notna() & human_outcome.notna()).to_numpy()
    side = pd.Series(unsafe, index=judged.index)
    mine = frame[frame["model_version"] == version]
    return corrected_rows(
        mine["refused"].to_numpy(np.float64),
        mine["unsafe"].to_numpy(),
        validation_judge=refused_of(
            judge_outcome[labelled], side[labelled], config.outcomes
        ).to_numpy(np.float64),
        validation_human=refused_of(
            human_outcome[labelled], side[labelled], config.outcomes
        ).to_numpy(np.float64),
        validation_unsafe=side[labelled].to_numpy(),
        model_version=version,
        n_resamples=config.bootstrap.n_resamples,
        seed=config.bootstrap.seed,
        confidence_level=config.confidence_level,
    )


def _labelling(
    rows: pd.DataFrame, spec: ResponsesConfig, config: LlmSafetyConfig, version: str
) -> list[dict[str, object]]:
    out = []
    groups: list[tuple[str, str, pd.DataFrame]] = [("overall", "all", rows)]
    for dimension in config.prompts.dimensions:
        for group, part in rows.groupby(dimension, sort=True, dropna=False):
            label = "unknown" if pd.isna(group) else str(group)
            groups.append((dimension, label, part))
    for dimension, group, part in groups:
        ratings = Ratings.from_labels(part[spec.ratings].replace("", np.nan))
        for row in agreement_rows(
            ratings,
            dimension=dimension,
            group=group,
            n_resamples=config.bootstrap.n_resamples,
            seed=config.bootstrap.seed,
            confidence_level=config.confidence_level,
        ):
            items = int(row.pop("n"))  # type: ignore[call-overload]
            row.pop("raters")
            out.append({**row, "model_version": version, "n": items, "successes": np.nan,
                        "trials": items, "family": "labelling"})  # fmt: skip
    return out


def _consensus(rows: pd.DataFrame, spec: ResponsesConfig) -> pd.Series:
    """The verdict of record when there is one, else the ratings' unique most common label."""
    if spec.final is not None:
        return rows[spec.final].astype(str)

    def majority(values: pd.Series) -> object:
        counts = values[values != ""].value_counts()
        return counts.index[0] if len(counts) and (counts == counts.iloc[0]).sum() == 1 else None

    return rows[spec.ratings].apply(majority, axis=1)


def _low_agreement(rows: pd.DataFrame, spec: ResponsesConfig, version: str) -> pd.DataFrame:
    ratings = Ratings.from_labels(rows[spec.ratings].replace("", np.nan))
    flagged = rows[disagreements(ratings)]
    out = pd.DataFrame({"model_version": version, "prompt_id": flagged["_prompt"].to_numpy()})
    for column in spec.ratings:
        out[column] = flagged[column].to_numpy()
    if spec.final is not None:
        out["final"] = flagged[spec.final].to_numpy()
    return out


def _rater_agreement(rows: pd.DataFrame, spec: ResponsesConfig, version: str) -> pd.DataFrame:
    labels = rows[spec.ratings].replace("", np.nan)
    ratings = Ratings.from_labels(labels)
    index = {c: k for k, c in enumerate(ratings.categories)}
    reference = np.array([index.get(str(v), -1) for v in _consensus(rows, spec)])
    shares = agreement_with(ratings, reference)
    return pd.DataFrame(
        {
            "model_version": version,
            "rater": spec.ratings,
            "rated": labels.notna().sum().to_numpy(),
            "agreement_with_consensus": shares,
            "consensus": "final" if spec.final is not None else "majority",
        }
    )


def coverage(prompts: pd.DataFrame, dimensions: Sequence[str], minimum: int) -> pd.DataFrame:
    """Prompts per cell of the first two dimensions (or per group of the one), flagged
    ``empty`` or ``undersized`` (fewer than ``minimum`` prompts)."""
    if not dimensions:
        return pd.DataFrame(columns=list(COVERAGE_COLUMNS))
    rows_dim = dimensions[0]
    cols_dim = dimensions[1] if len(dimensions) > 1 else None
    filled = prompts.fillna({d: "unknown" for d in dimensions[:2]})
    row_values = sorted(filled[rows_dim].astype(str).unique())
    col_values = sorted(filled[cols_dim].astype(str).unique()) if cols_dim else ["all"]
    out = []
    for r in row_values:
        for c in col_values:
            cell = filled[filled[rows_dim].astype(str) == r]
            if cols_dim:
                cell = cell[cell[cols_dim].astype(str) == c]
            n, unsafe = len(cell), int(cell["unsafe"].sum())
            flag = "empty" if n == 0 else "undersized" if n < minimum else "ok"
            out.append(
                {
                    "row_dimension": rows_dim,
                    "row_group": r,
                    "column_dimension": cols_dim or "",
                    "column_group": c,
                    "prompts": n,
                    "unsafe": unsafe,
                    "safe": n - unsafe,
                    "flag": flag,
                }
            )
    return pd.DataFrame(out, columns=list(COVERAGE_COLUMNS))


def top_failures(rates: pd.DataFrame, count: int) -> pd.DataFrame:
    """Per version and failure rate, the ``count`` slice groups (not overall) with the highest
    rate among those with status ok."""
    candidates = rates[
        (rates["dimension"] != "overall")
        & (rates["metric"].isin(FAILURE_METRICS))
        & (rates["status"] == "ok")
        & (rates["successes"] > 0)
    ]
    ranked = candidates.sort_values(
        ["model_version", "metric", "value", "ci_lower", "dimension", "group"],
        ascending=[True, True, False, False, True, True],
        kind="stable",
    )
    return (
        ranked.groupby(["model_version", "metric"], sort=False).head(count).reset_index(drop=True)
    )
