"""One evaluation, as configured: the calls the pipeline and ``rai evaluate-file`` share.

Both read the same :class:`~rai_pipeline.core.config.schema.EvaluationConfig` and must turn it into
the
same engine options; these three functions are the only place that happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

from rai_pipeline.core.config.schema import EvaluationConfig
from rai_pipeline.core.engine.binning import SCORE_RANGE_AUTO
from rai_pipeline.core.engine.profile import FrameProfile
from rai_pipeline.core.engine.slices import SliceSpec, build_slices
from rai_pipeline.core.engine.statistics import SliceStatistics, compute_slice_statistics
from rai_pipeline.core.evidence.render import ReportContext
from rai_pipeline.core.metrics.calibration import calibration_curves
from rai_pipeline.core.metrics.comparison import AUTO_COMPARISON, compare_versions
from rai_pipeline.core.metrics.fairness import (
    AUTO_AGGREGATE,
    AUTO_PER_GROUP,
    fairness_metrics_from_slices,
)
from rai_pipeline.core.metrics.mitigation import threshold_whatif
from rai_pipeline.core.metrics.policy import FairnessPolicy
from rai_pipeline.core.metrics.slice_metrics import (
    BOOTSTRAP_BINS,
    STATUS_OK,
    slice_metrics_from_stats,
)
from rai_pipeline.core.metrics.thresholds import threshold_curves
from rai_pipeline.core.stats.multiple_testing import method_for

REPORT_THRESHOLD_STEP = 10  # every 10th of the 1000 histogram edges: a 0.01 grid on [0, 1]
CALIBRATION_BINS = 10
ID_COLUMNS = ("evaluation_id", "model_name", "model_version", "dataset_version")


def with_ids(frame: pd.DataFrame, ids: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with the evaluation's ids (:data:`ID_COLUMNS`) as its first columns."""
    out = frame.copy()
    for position, (column, value) in enumerate(ids.items()):
        out.insert(position, column, value)
    return out


def configured_slices(config: EvaluationConfig) -> list[SliceSpec]:
    """The sensitive features and their intersections (every pair when none are listed)."""
    return build_slices(config.sensitive_features, config.resolved_intersections())


def slice_statistics(
    conn: duckdb.DuckDBPyConnection,
    config: EvaluationConfig,
    *,
    relation: str,
    label: str,
    score: str,
    decision: str,
    where: Mapping[str, str | int] | None = None,
    labelled: bool = False,
    profile: FrameProfile | None = None,
) -> SliceStatistics:
    """Sufficient statistics of ``relation`` for the configured slices (one scan of the rows,
    plus the exact AUC query when ``auc: exact``), with :data:`BOOTSTRAP_BINS` score bins.
    ``labelled``: the attribute columns already hold group values (the pipeline's frame);
    ``profile``: what the caller's checks of every row found
    (:func:`~rai_pipeline.core.engine.statistics.compute_slice_statistics`)."""
    return compute_slice_statistics(
        conn,
        relation=relation,
        slices=configured_slices(config),
        label=label,
        score=score,
        decision=decision,
        where=where,
        bins=BOOTSTRAP_BINS,
        score_range=SCORE_RANGE_AUTO,
        auc=config.auc,
        labelled=labelled,
        max_groups=config.limits.max_groups_per_dimension,
        profile=profile,
    )


def slice_metrics(statistics: SliceStatistics, config: EvaluationConfig) -> pd.DataFrame:
    """The ``slice_metrics`` table (without ids) with Wilson and bootstrap intervals."""
    return slice_metrics_from_stats(
        statistics.stats,
        confidence_level=config.confidence_level,
        min_group_size=config.min_group_size,
        min_positives=config.min_positives,
        min_negatives=config.min_negatives,
        histograms=statistics.histograms,
        n_bootstrap=config.bootstrap.n_resamples,
        seed=config.bootstrap.seed,
    )


def fairness_metrics(
    metrics: pd.DataFrame, stats: pd.DataFrame, config: EvaluationConfig
) -> pd.DataFrame:
    """The ``fairness_metrics`` table (without ids): disparities, policy band, verdicts."""
    return fairness_metrics_from_slices(
        metrics,
        stats=stats,
        reference_groups=config.reference_groups,
        policy=FairnessPolicy(
            ratio_band=config.policy.ratio_band,
            difference_bound=config.policy.difference_bound,
        ),
        confidence_level=config.confidence_level,
        multiple_testing=config.multiple_testing,
        multiple_testing_family=config.multiple_testing_family,
    )


def version_comparison(cells: pd.DataFrame, config: EvaluationConfig) -> pd.DataFrame:
    """The comparison with the previous version from its paired cells, adjusted as configured."""
    return compare_versions(
        cells,
        min_group_size=config.min_group_size,
        confidence_level=config.confidence_level,
        multiple_testing=config.multiple_testing,
    )


def report_curves(
    histograms: pd.DataFrame, metrics: pd.DataFrame, config: EvaluationConfig
) -> dict[str, Any]:
    """Threshold curves on a coarse grid of exact bin edges, the per-group threshold what-if
    from the curves at every edge, and 10-bin calibration with ECE intervals for the groups
    that meet the minimum sizes, for the report (``ReportContext`` keyword arguments); nothing
    for empty histograms."""
    if histograms.empty:
        return {}
    hist = histograms.drop(columns=[c for c in ID_COLUMNS if c in histograms.columns])
    edges = sorted(set(hist["bin_lower"]))[::REPORT_THRESHOLD_STEP]
    sized = metrics[(metrics["metric"] == "count") & (metrics["status"] == STATUS_OK)]
    return {
        "threshold_curves": threshold_curves(hist, thresholds=edges),
        "threshold_whatif": threshold_whatif(threshold_curves(hist), threshold=config.threshold),
        "calibration": calibration_curves(
            hist,
            bins=CALIBRATION_BINS,
            eligible=set(zip(sized["dimension"], sized["group"], strict=True)),
            n_bootstrap=config.bootstrap.n_resamples,
            seed=config.bootstrap.seed,
            confidence_level=config.confidence_level,
        ),
    }


def method_notes(config: EvaluationConfig, stats: pd.DataFrame) -> dict[str, str]:
    """How the AUC and the verdicts were computed, for a pack's lineage: ``roc_auc_method``
    (with the largest error bound when binned) and ``multiple_testing``."""
    auc: str = config.auc
    if auc == "binned":
        bounds = stats["auc_error_bound"].dropna() if "auc_error_bound" in stats else []
        largest = float(max(bounds)) if len(bounds) else 0.0
        auc = f"binned ({BOOTSTRAP_BINS} score bins; largest error bound {largest:.1e})"
    setting = config.multiple_testing
    aggregate = method_for(setting, auto=AUTO_AGGREGATE)
    per_group = method_for(setting, auto=AUTO_PER_GROUP)
    comparison = method_for(setting, auto=AUTO_COMPARISON)
    adjustment = (
        f"{setting}: aggregate disparities {aggregate} (family: the evaluation); per-group rows "
        f"{per_group} (family: {config.multiple_testing_family}); version comparison "
        f"{comparison} (family: the comparison)"
    )
    return {"roc_auc_method": auc, "multiple_testing": adjustment}


def evaluation_date(config: EvaluationConfig) -> dt.date:
    """The day the evaluation is as of: ``evaluation_date`` from the config, else today (UTC).
    Callers record it in the pack's lineage (``evaluated_on``), so documents never read a
    clock."""
    return config.evaluation_date or dt.datetime.now(dt.UTC).date()


def report_context(
    config: EvaluationConfig,
    *,
    model_name: str,
    model_version: str,
    model_uri: str,
    dataset_version: str,
    evaluation_id: str,
    metrics: pd.DataFrame,
    fairness: pd.DataFrame,
    lineage: Mapping[str, Any],
    histograms: pd.DataFrame | None,
    evaluated_on: dt.date,
    **details: Any,
) -> ReportContext:
    """What the documents show: the evaluation's identity and tables, the policy and owners
    from ``config``, curves from ``histograms`` (none when it is None), plus ``details``
    (quality checks, resolutions, comparison, datasheet, model details, ...)."""
    return ReportContext(
        model_name=model_name,
        model_version=model_version,
        model_uri=model_uri,
        dataset_version=dataset_version,
        evaluation_id=evaluation_id,
        threshold=config.threshold,
        confidence_level=config.confidence_level,
        min_group_size=config.min_group_size,
        min_positives=config.min_positives,
        min_negatives=config.min_negatives,
        slice_metrics=metrics,
        fairness_metrics=fairness,
        lineage=lineage,
        intended_use=config.intended_use,
        ethical_considerations=config.ethical_considerations,
        out_of_scope_uses=config.out_of_scope_uses,
        mitigation_due_days=config.mitigation_due_days,
        dataset_documentation=config.dataset.documentation() if config.dataset else {},
        owners=config.owners.model_dump(),
        risk_tier=config.risk_tier,
        evaluated_on=evaluated_on,
        **(report_curves(histograms, metrics, config) if histograms is not None else {}),
        **details,
    )
