"""The LLM safety report (``llm_safety_report.md`` / ``.html``): the verdict on both axes and a
summary first, then recommendations, then the detail (rates, failure modes, coverage,
labelling quality, the judge, data checks, methods), all from the evaluation's own tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rai_pipeline.core.evidence.numbers import fmt, interval, plural
from rai_pipeline.core.evidence.render import template_for
from rai_pipeline.core.llm_safety.evaluation import LlmEvaluation
from rai_pipeline.core.llm_safety.verdicts import overall_verdict
from rai_pipeline.core.metrics.verdicts import VERDICT_PASS

LLM_DOCUMENTS = {
    "llm_safety_report.md": "llm_safety_report.md.j2",
    "llm_safety_report.html": "llm_safety_report.html.j2",
}
AXIS_WORDS = {
    "unsafe_compliance": "unsafe prompts complied with",
    "over_refusal": "safe prompts refused",
    "judge_agreement": "judge agreement with human labels (Cohen's κ)",
}
ADVICE = {
    "unsafe_compliance": (
        "Strengthen refusals of unsafe requests (safety training data, the system prompt, an "
        "input or output filter) and evaluate again; until then, restrict the feature's "
        "exposure or put human review on its outputs{where}."
    ),
    "over_refusal": (
        "Reduce refusals of safe requests (refusal-calibration examples, a system prompt that "
        "names what is allowed) and check that unsafe compliance does not rise{where}."
    ),
    "judge_agreement": (
        "Do not rely on this judge's verdicts: label more responses by hand, revise the "
        "judge's rule or prompt, and measure it against the human labels again."
    ),
}


@dataclass(frozen=True)
class LlmReportContext:
    model_name: str
    evaluation_id: str
    evaluation: LlmEvaluation
    lineage: Mapping[str, Any]
    prompts: int
    dimensions: list[str]
    min_group_size: int
    confidence_level: float
    policy: Mapping[str, float]
    files: list[str] = field(default_factory=list)


def _where(failures: pd.DataFrame, version: str, metric: str) -> str:
    rows = failures[(failures["model_version"] == version) & (failures["metric"] == metric)]
    named = [f"{r.dimension} = {r.group} ({r.value:.2f})" for r in rows.head(3).itertuples()]
    return f"; start where it fails most: {', '.join(named)}" if named else ""


def _versions(context: LlmReportContext) -> list[dict[str, Any]]:
    ev = context.evaluation
    out = []
    for version in dict.fromkeys(ev.metrics["model_version"]):
        axes = ev.verdicts[ev.verdicts["model_version"] == version]
        rows = []
        for axis in axes.itertuples():
            sign = "≤" if axis.kind == "max" else "≥"
            rows.append({"axis": axis.axis, "words": AXIS_WORDS[axis.axis],
                         "value": fmt(axis.value), "interval": interval(axis.ci_lower,
                         axis.ci_upper), "bound": f"{sign} {axis.bound:g}",
                         "verdict": axis.verdict})  # fmt: skip
        advice = []
        for axis in axes[axes["verdict"] != VERDICT_PASS].itertuples():
            failure_metric = f"{axis.axis}_rate"
            where = _where(ev.failures, version, failure_metric) if axis.kind == "max" else ""
            advice.append(
                {
                    "axis": axis.axis,
                    "verdict": axis.verdict,
                    "text": ADVICE[axis.axis].format(where=where),
                }
            )
        out.append(
            {
                "version": version,
                "verdict": overall_verdict(ev.verdicts, version),
                "axes": rows,
                "advice": advice,
            }
        )
    return out


def _table(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict("records") if len(frame) else []


def _pairs(ev: LlmEvaluation) -> list[dict[str, Any]]:
    """Per compared pair: the regressions and improvements, and the prompts that flipped."""
    out = []
    comparison, flips = ev.comparison, ev.flips
    for (base, current), rows in comparison.groupby(["base_version", "model_version"],
                                                     sort=False):  # fmt: skip
        mine = flips[(flips["base_version"] == base) & (flips["model_version"] == current)]
        out.append(
            {
                "base": base,
                "current": current,
                "regressions": _table(rows[rows["change"] == "regression"]),
                "improvements": int((rows["change"] == "improvement").sum()),
                "regressed": int((mine["change"] == "regressed").sum()),
                "improved": int((mine["change"] == "improved").sum()),
                "adjustment": str(rows["adjustment"].iloc[0]),
            }
        )
    return out


def llm_view(context: LlmReportContext) -> dict[str, Any]:
    ev = context.evaluation
    m = ev.metrics
    safety = m[(m["family"] == "safety") & (m["dimension"] == "overall")]
    labelling = m[(m["family"] == "labelling") & (m["dimension"] == "overall")]
    judge = m[m["family"] == "judge"]
    problems = ev.checks[ev.checks["count"] > 0]
    coverage_flags = ev.coverage[ev.coverage["flag"] != "ok"] if len(ev.coverage) else ev.coverage
    versions = _versions(context)
    return {
        "c": context,
        "versions": versions,
        "failing": [v for v in versions if v["verdict"] != VERDICT_PASS],
        "overall": _table(safety),
        "failures": _table(ev.failures),
        "coverage": _table(ev.coverage),
        "coverage_flags": _table(coverage_flags),
        "labelling": _table(labelling),
        "low_agreement": len(ev.low_agreement),
        "raters": _table(ev.rater_agreement),
        "judge_rows": _table(judge),
        "judge": ev.judge,
        "checks": _table(ev.checks),
        "problems": _table(problems),
        "prefixes": ev.id_prefixes,
        "pairs": _pairs(ev),
        "fmt": fmt,
        "interval": interval,
        "plural": plural,
    }


def render_llm_document(template: str, context: LlmReportContext) -> str:
    return template_for(template).render(**llm_view(context))
