"""Run every study and write the measured table into ``docs/statistics.md``.

``python -m rai_pipeline.validation`` (``make validate``) replaces what lies between the two
marker lines of the document with freshly measured tables; the test suite runs the same
studies with fewer replicates and asserts the targets.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rai_pipeline.core.metrics.group_rates import PER_GROUP_RATES
from rai_pipeline.core.metrics.verdicts import VERDICT_FAIL, VERDICT_PASS
from rai_pipeline.validation.calibration import (
    EXPONENTS,
    CalibrationStudy,
    run_calibration_study,
)
from rai_pipeline.validation.comparison import ComparisonStudy, run_comparison_study
from rai_pipeline.validation.designs import DESIGNS
from rai_pipeline.validation.disparities import (
    AGGREGATE_NAMES,
    DisparityStudy,
    run_disparity_study,
)

START = "<!-- validation:start (written by make validate) -->"
END = "<!-- validation:end -->"
SIZES = (30, 200, 2000)
LARGE = 10_000
STUDIED = ("identical", "distinct", "tied_minimum", "band_edge")
COMPARISON_GROUPS = 20
SHORT = {
    "demographic_parity_difference": "DPD",
    "demographic_parity_ratio": "DPR",
    "equalized_odds_difference": "EOD",
    "equalized_odds_ratio": "EOR",
    "equal_opportunity_difference": "EOpp",
}

MSG_MARKERS = "{path}: the markers {start!r} and {end!r} must each appear once, in that order"


@dataclass
class Results:
    replicates: int
    seed: int
    disparities: list[DisparityStudy] = field(default_factory=list)
    large: list[DisparityStudy] = field(default_factory=list)
    comparisons: list[ComparisonStudy] = field(default_factory=list)
    calibration: list[CalibrationStudy] = field(default_factory=list)
    seconds: float = 0.0


def run_all(
    *, replicates: int, seed: int, progress: Callable[[str], None] = lambda _: None
) -> Results:
    """Every study: ``replicates`` data sets per design and size (fewer for the slow ones)."""
    started = time.perf_counter()
    results = Results(replicates=replicates, seed=seed)
    for name in STUDIED:
        for n in SIZES:
            progress(f"disparities: {name}, n = {n} per group")
            results.disparities.append(
                run_disparity_study(DESIGNS[name], n=n, replicates=replicates, seed=seed)
            )
    for name in ("identical", "far_apart"):
        progress(f"disparities: {name}, n = {LARGE} per group")
        results.large.append(
            run_disparity_study(DESIGNS[name], n=LARGE, replicates=replicates // 2, seed=seed)
        )
    for n in SIZES:
        progress(f"version comparison: {COMPARISON_GROUPS} groups, n = {n} per group")
        results.comparisons.append(
            run_comparison_study(
                groups=COMPARISON_GROUPS, n=n, replicates=replicates // 2, seed=seed
            )
        )
    for scores in EXPONENTS:
        for n in SIZES:
            progress(f"calibration: {scores}, n = {n}")
            results.calibration.append(
                run_calibration_study(scores, n=n, replicates=replicates // 2, seed=seed)
            )
    results.seconds = time.perf_counter() - started
    return results


def _share(value: float) -> str:
    return f"{value:.3f}"


def _span(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return _share(low) if abs(high - low) < 5e-4 else f"{low:.3f}–{high:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def markdown(results: Results) -> str:
    """The measured tables, as Markdown."""
    r = results.replicates
    lines = [
        f"Measured by `make validate` (seed {results.seed}; {r} data sets per design and group "
        f"size, {r // 2} for the group size of {LARGE:,}, the version comparison and "
        f"calibration). Monte-Carlo 95 % margin of a share near 0.95: "
        f"±{1.96 * (0.05 * 0.95 / r) ** 0.5:.3f} over {r} data sets.",
        "",
        "**Coverage of the nominal 95 % intervals** (`multiple_testing: none`): the Wilson "
        "interval of each of the 8 rates, pooled over groups; Newcombe (difference) and "
        "MOVER-R (ratio) intervals of each group against the reference group, over the 8 "
        "rates (range shown); and each aggregate's interval, built from its simultaneous "
        "pairwise intervals.",
        "",
    ]
    header = ["design", "n / group", "rates", "differences", "ratios", *SHORT.values()]
    rows = []
    for study in results.disparities:
        cov = study.comparison_coverage
        rows.append(
            [
                study.design,
                str(study.n),
                _span(list(study.rate_coverage.values())),
                _span([cov[f"{rate}_difference"] for rate in PER_GROUP_RATES]),
                _span([cov[f"{rate}_ratio"] for rate in PER_GROUP_RATES]),
                *(_share(study.aggregate_coverage[name]) for name in AGGREGATE_NAMES),
            ]
        )
    lines += _table(header, rows)
    lines += [
        "",
        "**Verdicts at the default settings** (`multiple_testing: auto`: the five aggregates "
        "of an evaluation adjusted together by Holm). Each cell is the share of data sets with "
        "`pass` / `fail`; the true position of the disparity against its band is in "
        "brackets. *any fail*: share of evaluations with at least one aggregate `fail`; "
        "*any wrong*: share with a verdict the truth contradicts (`fail` inside or on the edge, "
        "`pass` outside or on the edge).",
        "",
    ]
    header = ["design", "n / group", *SHORT.values(), "any fail", "any wrong"]
    rows = []
    for study in [*results.disparities, *results.large]:
        cells = []
        for name in AGGREGATE_NAMES:
            shares = study.verdicts[name]
            cells.append(
                f"{_share(shares.get(VERDICT_PASS, 0.0))} / "
                f"{_share(shares.get(VERDICT_FAIL, 0.0))} ({study.truth[name]})"
            )
        rows.append(
            [study.design, f"{study.n:,}", *cells, _share(study.any_fail), _share(study.any_wrong)]
        )
    lines += _table(header, rows)
    lines += [
        "",
        f"**Version comparison with no true change** ({COMPARISON_GROUPS} groups and the "
        "overall row, 4 metrics: 84 claims; the versions disagree on 10 % of rows, equally "
        "often each way). Share of comparisons that flag any regression, or any change at "
        "all, without adjustment and with the default (Benjamini–Hochberg over the "
        "comparison); coverage of the true change 0 by the nominal Tango intervals.",
        "",
    ]
    header = [
        "n / group",
        "any regression (none)",
        "any regression (auto)",
        "any change (none)",
        "any change (auto)",
        "coverage",
    ]
    lines += _table(
        header,
        [
            [
                str(s.n),
                _share(s.any_regression["none"]),
                _share(s.any_regression["auto"]),
                _share(s.any_flag["none"]),
                _share(s.any_flag["auto"]),
                _share(s.coverage),
            ]
            for s in results.comparisons
        ],
    )
    lines += [
        "",
        "**Calibration** (10 bins; scores Beta(2, 3); labels Bernoulli(s), or Bernoulli(s^1.6) "
        "for over-confident scores). Mean ECE; mean `ece_if_calibrated`; share with "
        "`calibration_p_value` ≤ 0.05 (for calibrated scores: the false-alarm rate); coverage "
        "of the population ECE by the bootstrap interval.",
        "",
    ]
    header = [
        "scores",
        "n",
        "population ECE",
        "mean ECE",
        "mean if calibrated",
        "p ≤ 0.05",
        "coverage",
    ]
    lines += _table(
        header,
        [
            [
                s.scores,
                str(s.n),
                _share(s.population_ece),
                _share(s.mean_ece),
                _share(s.mean_ece_if_calibrated),
                _share(s.flagged),
                _share(s.coverage),
            ]
            for s in results.calibration
        ],
    )
    return "\n".join(lines) + "\n"


def write_into(path: Path, text: str) -> None:
    """Replace what lies between the markers of ``path`` with ``text``."""
    document = path.read_text(encoding="utf-8")
    head, _, rest = document.partition(START)
    if document.count(START) != 1 or document.count(END) != 1 or END not in rest:
        raise ValueError(MSG_MARKERS.format(path=path, start=START, end=END))
    tail = rest.partition(END)[2]
    path.write_text(f"{head}{START}\n{text}{END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rai_pipeline.validation",
        description="Measure coverage and verdict error rates by simulation.",
    )
    parser.add_argument("--replicates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--write", type=Path, help="document to write the tables into")
    args = parser.parse_args(argv)
    results = run_all(
        replicates=args.replicates,
        seed=args.seed,
        progress=lambda step: print(f"  {step}", file=sys.stderr, flush=True),
    )
    text = markdown(results)
    if args.write:
        write_into(args.write, text)
        print(f"wrote the measured tables into {args.write} ({results.seconds / 60:.1f} min)")
    else:
        print(text)
    return 0
