"""Render the human-readable documents of an evidence pack from the evaluation's tables.

Documents name the harms measured and the groups affected, say what the numbers do not
capture, and never call a model "fair" or "unbiased" (see ``docs/writing-about-fairness``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket

from rai_pipeline.core.config.dataset import DATASHEET_KEYS
from rai_pipeline.core.evidence.charts import bar_chart_svg, disparity_chart_svg
from rai_pipeline.core.evidence.escaping import Markdown, code_span, finalize, md_text
from rai_pipeline.core.evidence.glossary import exclusion_reason, lineage_rows
from rai_pipeline.core.evidence.governance import ChecklistItem, completeness
from rai_pipeline.core.evidence.numbers import fmt, interval, plural
from rai_pipeline.core.evidence.report_charts import curve_charts
from rai_pipeline.core.evidence.risk_register import risk_register
from rai_pipeline.core.evidence.summary import (
    evaluated_sentence,
    recommendations,
    recommendations_by_dimension,
    reference_comparisons,
    worst_findings,
)
from rai_pipeline.core.evidence.threshold_cost import current_accuracy, whatif_view
from rai_pipeline.core.explain.importance import Importance
from rai_pipeline.core.governance.dispositions import Resolution, finding_id
from rai_pipeline.core.governance.gate import aggregate_verdict
from rai_pipeline.core.metrics.calibration import CalibrationResult
from rai_pipeline.core.metrics.mitigation import WhatIf
from rai_pipeline.core.metrics.verdicts import AGGREGATE_GROUP, EXCLUDED_GROUPS, VERDICT_PASS
from rai_pipeline.core.schemas.expectations import SuiteResult

REPORT_METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision_score",
    "accuracy_score",
    "roc_auc_score",
)


@dataclass(frozen=True)
class DatasheetInfo:
    """What the datasheet describes: sources, attributes (name and how each is read),
    missingness, and the data set's columns by role."""

    sources: Sequence[Mapping[str, Any]]
    sensitive_attributes: Sequence[Mapping[str, str]]  # name, description
    missingness: pd.DataFrame  # column, dimension, group, rows, missing
    columns: pd.DataFrame  # column, role, stored, shown, description


@dataclass(frozen=True)
class ReportContext:
    """Everything a document shows, already computed."""

    model_name: str
    model_version: str
    model_uri: str
    dataset_version: str
    evaluation_id: str
    threshold: float
    confidence_level: float
    min_group_size: int
    evaluated_on: dt.date
    slice_metrics: pd.DataFrame
    fairness_metrics: pd.DataFrame
    lineage: Mapping[str, Any]
    quality_checks: Sequence[Mapping[str, Any]] = field(default_factory=list)
    intended_use: str = ""
    owners: Mapping[str, str] = field(default_factory=dict)
    risk_tier: str = "medium"
    model_details: Mapping[str, Any] = field(default_factory=dict)
    resolutions: Sequence[Resolution] = ()
    datasheet: DatasheetInfo | None = None
    previous_version: str | None = None
    comparison: pd.DataFrame | None = None
    threshold_curves: pd.DataFrame | None = None
    threshold_whatif: WhatIf | None = None  # per-group thresholds' cost, from every edge
    calibration: CalibrationResult | None = None
    min_positives: int = 0
    min_negatives: int = 0
    decision_column: str | None = None  # decisions given by this column, not score >= threshold
    mitigation_due_days: int = 30
    # the datasheet's texts from the config (dataset.description, ...), None where not given
    dataset_documentation: Mapping[str, str | None] = field(default_factory=dict)
    ethical_considerations: str = ""
    out_of_scope_uses: str = ""
    feature_importance: Importance | None = None  # permutation importance (pipeline packs)


def _low_information(
    by_metric: Mapping[str, Mapping[str, Any]], n: int, minimums: Mapping[str, int]
) -> str:
    """Why a group's AUC says little (too few positives or negatives), or ""."""
    if "prevalence" not in by_metric or not n:
        return ""
    positives = round(float(by_metric["prevalence"]["value"]) * n)
    negatives = n - positives
    if positives >= minimums["min_positives"] and negatives >= minimums["min_negatives"]:
        return ""
    return f"low information ({plural(positives, 'positive')}, {plural(negatives, 'negative')})"


def _wide_groups(
    slice_metrics: pd.DataFrame, dimension: str, minimums: Mapping[str, int]
) -> list[dict[str, Any]]:
    """One row per group of ``dimension`` (in the table's order), its report metrics as cells."""
    rows = slice_metrics.loc[
        slice_metrics["dimension"] == dimension,
        ["group", "metric", "value", "ci_lower", "ci_upper", "status"],
    ]
    groups: dict[Any, dict[str, dict[str, Any]]] = {}
    for record in rows.to_dict("records"):
        groups.setdefault(record["group"], {})[record["metric"]] = record
    out = []
    for group, by_metric in groups.items():
        n = int(by_metric["count"]["value"]) if "count" in by_metric else 0
        small = any(r["status"] == "insufficient_sample" for r in by_metric.values())
        low_information = _low_information(by_metric, n, minimums)
        cells = {}
        for metric in REPORT_METRICS:
            if metric in by_metric:
                record = by_metric[metric]
                shown = metric == "roc_auc_score" and low_information
                cells[metric] = {
                    "value": Markdown(low_information) if shown else fmt(record["value"]),
                    "interval": Markdown("")
                    if shown
                    else interval(record["ci_lower"], record["ci_upper"]),
                    "raw": record["value"],
                    "lower": record["ci_lower"],
                    "upper": record["ci_upper"],
                }
        status = "insufficient_sample" if small else "ok"
        out.append({"group": group, "n": n, "status": status, "metrics": cells})
    return out


def _comparison_view(comparison: pd.DataFrame | None) -> dict[str, Any] | None:
    """Regressions first, then other significant changes; the full table is in the pack."""
    if comparison is None or comparison.empty:
        return None
    flagged = comparison[comparison["change"].isin(["regression", "improvement", "changed"])]
    rank = {"regression": 0, "changed": 1, "improvement": 2}
    flagged = flagged.assign(_rank=flagged["change"].map(rank)).sort_values(
        ["_rank", "dimension", "group", "metric"], kind="stable"
    )
    overall = comparison[comparison["dimension"] == "overall"]
    tested = comparison[comparison["change"] != "insufficient_sample"]
    return {
        "adjustment": METHOD_NAMES[str(comparison["adjustment"].iloc[0])],
        "family_size": int(tested["family_size"].max()) if len(tested) else 0,
        "regressions": int((comparison["change"] == "regression").sum()),
        "rows": flagged.drop(columns="_rank").to_dict("records"),
        "overall": overall.to_dict("records"),
    }


METHOD_NAMES = {
    "none": "none",
    "holm": "Holm's step-down procedure",
    "bh": "the Benjamini–Hochberg procedure",
}


def _methods_view(fairness: pd.DataFrame) -> dict[str, Any]:
    """What the fairness table says about how its verdicts were adjusted."""
    aggregate = fairness[
        (fairness["group"] == AGGREGATE_GROUP) & (fairness["metric"] != EXCLUDED_GROUPS)
    ]
    per_group = fairness[fairness["group"] != AGGREGATE_GROUP]
    tested = aggregate[aggregate["comparisons"] > 0]

    def method(rows: pd.DataFrame) -> str:
        return str(rows["adjustment"].iloc[0]) if len(rows) else "none"

    return {
        "aggregate_method": method(aggregate),
        "aggregate_adjustment": METHOD_NAMES[method(aggregate)],
        "aggregate_family_size": int(tested["family_size"].max()) if len(tested) else 0,
        "most_pairs": int(tested["comparisons"].max()) if len(tested) else 0,
        "per_group_adjustment": METHOD_NAMES[method(per_group)],
    }


def register_of(context: ReportContext) -> pd.DataFrame:
    """The evaluation's risk register (one entry per finding), as the pack writes it."""
    return risk_register(
        context.fairness_metrics,
        context.slice_metrics,
        {r.finding: r for r in context.resolutions},
        evaluation_id=context.evaluation_id,
        risk_tier=context.risk_tier,
        default_owner=context.owners.get("model", "unassigned"),
        evaluated_on=context.evaluated_on,
        due_days=context.mitigation_due_days,
        whatif=context.threshold_whatif,
    )


def report_view(context: ReportContext, register: pd.DataFrame | None = None) -> dict[str, Any]:
    """What every document of a pack shows, computed once for all of them (tables in words,
    charts, findings, recommendations); ``register``: the pack's risk register when it is
    already built."""
    sm, fm = context.slice_metrics, context.fairness_metrics
    dimensions = [d for d in dict.fromkeys(sm["dimension"]) if d != "overall"]
    overall = sm[sm["dimension"] == "overall"].set_index("metric")
    aggregate = fm[fm["group"] == AGGREGATE_GROUP]
    by_finding = {r.finding: r for r in context.resolutions}
    findings = []
    for record in aggregate.to_dict("records"):
        if record["verdict"] == VERDICT_PASS:
            continue
        resolution = by_finding.get(finding_id(record["dimension"], record["metric"]))
        record["finding"] = finding_id(record["dimension"], record["metric"])
        record["disposition_status"] = resolution.status if resolution else "pending"
        record["disposition_note"] = (
            resolution.disposition.describe() if resolution and resolution.disposition else ""
        )
        findings.append(record)
    minimums = {
        "min_group_size": context.min_group_size,
        "min_positives": context.min_positives,
        "min_negatives": context.min_negatives,
    }
    small = [
        {**record, "reason": exclusion_reason(record["excluded_by"], minimums)}
        for record in sm[(sm["metric"] == "count") & (sm["status"] == "insufficient_sample")]
        .loc[:, ["dimension", "group", "value", "excluded_by"]]
        .to_dict("records")
    ]
    fairness_of: dict[str, list[dict[str, Any]]] = {}
    for record in fm.to_dict("records"):
        fairness_of.setdefault(str(record["dimension"]), []).append(record)
    per_dimension = []
    for dimension in dimensions:
        groups = _wide_groups(sm, dimension, minimums)
        reference, versus = reference_comparisons(fairness_of.get(dimension, []))
        disparities = [r for r in fairness_of.get(dimension, []) if r["group"] == AGGREGATE_GROUP]
        charted = [d for d in disparities if d["metric"] != EXCLUDED_GROUPS]
        per_dimension.append(
            {
                "dimension": dimension,
                "groups": groups,
                "reference": reference,
                "versus": versus,
                "chart": bar_chart_svg(groups, "selection_rate"),
                "disparities": disparities,
                "disparity_chart": disparity_chart_svg(charted) if charted else "",
                **curve_charts(context, dimension, groups),
            }
        )
    blocking = [f for f in findings if f["disposition_status"] not in {"accepted", "mitigating"}]
    if register is None:
        register = register_of(context)
    advice = recommendations(register, [f["finding"] for f in blocking])
    rule = (
        f"given by column {context.decision_column}"
        if context.decision_column
        else f"score >= {context.threshold}"
    )
    return {
        "c": context,
        "gate": aggregate_verdict(fm),
        "blocking": blocking,
        "evaluated": evaluated_sentence(
            model=context.model_name,
            version=context.model_version,
            dataset_version=context.dataset_version,
            rows=int(overall.loc["count", "value"]) if "count" in overall.index else 0,
            rule=rule,
            dimensions=dimensions,
        ),
        "worst": worst_findings(register, fm),
        "recommendations": advice,
        "advice_by_dimension": recommendations_by_dimension(advice, context.threshold_whatif),
        "whatif": whatif_view(context.threshold_whatif),
        "accuracy_now": current_accuracy(context.threshold_whatif),
        "datasheet": context.datasheet,
        "previous_version": context.previous_version,
        "comparison": _comparison_view(context.comparison),
        "methods": _methods_view(fm),
        "evaluated_on": context.evaluated_on.isoformat(),
        "overall": [
            {
                "metric": m,
                "value": str(int(overall.loc[m, "value"]))
                if m == "count"
                else fmt(overall.loc[m, "value"]),
                "interval": interval(overall.loc[m, "ci_lower"], overall.loc[m, "ci_upper"]),
            }
            for m in ("count", *REPORT_METRICS, "brier_score_loss")
            if m in overall.index
        ],
        "aggregate": aggregate.to_dict("records"),
        "findings": findings,
        "small_groups": small,
        "dimensions": per_dimension,
        "report_metrics": REPORT_METRICS,
        "fmt": fmt,
        "interval": interval,
        "plural": plural,
        "lineage": dict(context.lineage),
        "lineage_rows": lineage_rows(context.lineage),
        "about_data": [
            {"key": key, "title": title, "text": context.dataset_documentation.get(key)}
            for key, title in DATASHEET_KEYS.items()
        ],
        "importance": _importance_view(context.feature_importance),
    }


IMPORTANCE_SHOWN = 8  # features in the model card's tables
IMPORTANCE_DIFFERENCES_SHOWN = 5


def _importance_view(result: Importance | None) -> dict[str, Any] | None:
    """The model card's view of the importances: the top features overall with intervals,
    and per dimension each group's difference from the reference on those features."""
    if result is None:
        return None
    imp = result.importances
    overall = imp[imp["dimension"] == "overall"].sort_values(
        ["importance", "feature"], ascending=[False, True]
    )
    top = list(overall["feature"].head(IMPORTANCE_SHOWN))
    unread = sorted(overall.loc[overall["importance"] == 0, "feature"])
    rows = [
        {
            "feature": r.feature,
            "importance": fmt(r.importance, 4),
            "interval": Markdown(f"[{r.ci_lower:.4f}, {r.ci_upper:.4f}]"),
        }
        for r in overall.head(IMPORTANCE_SHOWN).itertuples()
    ]
    diffs = result.differences
    on_top = diffs[diffs["feature"].isin(top)] if len(diffs) else diffs
    apart = on_top[(on_top["ci_lower"] > 0) | (on_top["ci_upper"] < 0)] if len(on_top) else on_top
    largest = apart.reindex(apart["difference"].abs().sort_values(ascending=False).index)
    differences = [
        {
            "dimension": row.dimension,
            "group": row.group,
            "reference": row.reference_group,
            "feature": row.feature,
            "difference": fmt(row.difference, 4),
            "interval": Markdown(f"[{row.ci_lower:.4f}, {row.ci_upper:.4f}]"),
        }
        for row in largest.head(IMPORTANCE_DIFFERENCES_SHOWN).itertuples()
    ]
    baseline = overall["baseline"].iloc[0] if len(overall) else float("nan")
    shap = None
    if result.shap is not None:
        ranked = result.shap.sort_values(["mean_abs_shap", "feature"], ascending=[False, True])
        shap = {
            "rows": int(ranked["rows"].iloc[0]),
            "background": int(ranked["background_rows"].iloc[0]),
            "method": str(ranked["method"].iloc[0]),
            "top": [
                {"feature": r.feature, "value": fmt(r.mean_abs_shap, 4)}
                for r in ranked.head(IMPORTANCE_SHOWN).itertuples()
            ],
        }
    return {
        "shap": shap,
        "rows": rows,
        "repeats": int(overall["repeats"].iloc[0]) if len(overall) else 0,
        "baseline": fmt(float(baseline)),
        "features": len(overall),
        "unread": unread,
        "differences": differences,
        "apart": len(apart),
        "compared": len(on_top),
    }


TEMPLATES = Path(__file__).with_name("templates")
# the templates' bytecode, compiled at install (`make bytecode`: compile_templates)
BYTECODE = TEMPLATES / "__jinja__"
_BYTECODE_SUFFIX = ".cache"


class InstalledBytecode(BytecodeCache):
    """The templates' compiled bytecode in :data:`BYTECODE`, read at run time and written only
    by :func:`compile_templates`. A template whose source changed since (Jinja checks each
    entry's checksum and its Jinja and Python versions) is compiled in memory, as without
    the cache; without the folder (a wheel install), every template is."""

    def __init__(self, directory: Path, *, write: bool = False) -> None:
        self.directory, self.write = directory, write

    def _path(self, bucket: Bucket) -> Path:
        return self.directory / f"{bucket.key}{_BYTECODE_SUFFIX}"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with self._path(bucket).open("rb") as handle:
                bucket.load_bytecode(handle)
        except OSError:
            pass

    def dump_bytecode(self, bucket: Bucket) -> None:
        if not self.write:
            return
        self.directory.mkdir(exist_ok=True)
        path = self._path(bucket)
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        with aside.open("wb") as handle:
            bucket.write_bytecode(handle)
        os.replace(aside, path)


def _environment(
    *, html: bool, bytecode: Path = BYTECODE, write_bytecode: bool = False
) -> Environment:
    env = Environment(
        loader=PackageLoader("rai_pipeline.core.evidence", "templates"),
        bytecode_cache=InstalledBytecode(bytecode, write=write_bytecode),
        undefined=StrictUndefined,
        autoescape=html,
        finalize=None if html else finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code"] = code_span
    env.filters["markdown"] = Markdown  # text written as Markdown on purpose (config prose)
    env.filters["repr"] = repr
    return env


_TEXT_ENV, _HTML_ENV = _environment(html=False), _environment(html=True)


def compile_templates(directory: Path = BYTECODE) -> list[str]:
    """Compile every template into ``directory`` (`make bytecode` runs this at install, into
    :data:`BYTECODE`); returns their names."""
    names = sorted(path.name for path in TEMPLATES.glob("*.j2"))
    for html in (False, True):
        env = _environment(html=html, bytecode=directory, write_bytecode=True)
        for name in names:
            if name.endswith(".html.j2") == html:
                env.get_template(name)
    return names


def template_for(name: str) -> Any:
    """A document template: HTML ones autoescaped, Markdown ones with every value escaped
    (:func:`~rai_pipeline.core.evidence.escaping.finalize`)."""
    return (_HTML_ENV if name.endswith(".html.j2") else _TEXT_ENV).get_template(name)


def render_document(
    template: str,
    context: ReportContext,
    *,
    files: Sequence[str] = (),
    register: pd.DataFrame | None = None,
    view: Mapping[str, Any] | None = None,
) -> str:
    """Render ``templates/<template>`` with the report view of ``context``; ``files`` are the
    pack's files the document may link to (relative paths); ``register`` the risk register
    already built for the pack (:func:`register_of` otherwise); ``view`` the
    :func:`report_view` already computed for the pack's other documents."""
    env = _HTML_ENV if template.endswith(".html.j2") else _TEXT_ENV
    if view is None:
        view = report_view(context, register)
    return env.get_template(template).render(**view, files=list(files))


def render_checklist(
    items: Sequence[ChecklistItem],
    *,
    title: str,
    signoffs: Sequence[Mapping[str, str]] = (),
) -> str:
    """The launch-readiness checklist as Markdown (``launch_checklist.md``), with the
    approvals of each finding (:func:`~rai_pipeline.core.evidence.governance.approvals`)."""
    done = sum(item.done for item in items)
    template = _TEXT_ENV.get_template("launch_checklist.md.j2")
    return template.render(
        title=title, score=completeness(items), done=done, items=items, signoffs=signoffs
    )


def render_suite_summary(result: SuiteResult) -> str:
    """A Markdown table of every expectation of a suite, failures first, for a person."""
    outcomes = []
    for outcome in sorted(result.results, key=lambda o: o.success):
        args = ", ".join(f"{k}={v!r}" for k, v in outcome.kwargs.items() if k != "column")
        outcomes.append(
            {
                "success": outcome.success,
                "column": outcome.column,
                "rule": Markdown(
                    code_span(outcome.expectation_type) + (f" ({md_text(args)})" if args else "")
                ),
                "unexpected_count": outcome.unexpected_count,
                "shown": outcome.sample if outcome.sample else outcome.observed_value,
            }
        )
    passed = len(result.results) - len(result.failures())
    template = _TEXT_ENV.get_template("expectation_summary.md.j2")
    return template.render(result=result, passed=passed, outcomes=outcomes).rstrip("\n")


DOCUMENTS = {
    "fairness_report.md": "fairness_report.md.j2",
    "fairness_report.html": "fairness_report.html.j2",
    "model_card.md": "model_card.md.j2",
    "datasheet.md": "datasheet.md.j2",
}
