"""Version regressions: what changed between two model versions on the same prompts.

For a pair (base, candidate), over the prompts both answered:

- **Flips**: the prompts whose pass/fail outcome differs, each marked ``regressed`` (passed
  before, fails now) or ``improved``.
- **Paired deltas** per slice group and rate (``pass_rate``, ``unsafe_compliance_rate``,
  ``over_refusal_rate``): the candidate's rate minus the base's on the same prompts, with a
  percentile interval from a paired bootstrap over prompts (each draw resamples prompts, both
  versions' outcomes together), and McNemar's exact test on the discordant prompts (the
  two-sided binomial test of ``worse`` against ``better`` at one half; statsmodels'
  ``mcnemar(exact=True)``).
- **Multiplicity**: within a pair, metric and dimension, the p-values of the groups are
  adjusted together (Holm by default, or Benjamini–Hochberg); ``overall`` is its own family.
  A change is a ``regression`` (or ``improvement``) when the adjusted p-value is at most
  ``alpha`` and the rate moved the wrong (or right) way; with fewer paired prompts than
  ``min_group_size`` it is ``insufficient_sample``.

Two versions judged by different judges are never compared
(:func:`~rai_pipeline.core.llm_safety.judges.check_same_judge`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pandas as pd

from rai_pipeline.core.llm_safety.judges import JudgeIdentity, check_same_judge
from rai_pipeline.core.stats.bootstrap import bootstrap_rng, percentile_interval
from rai_pipeline.core.stats.multiple_testing import MultipleTesting, adjust_p_values

# metric: (the prompts it is a rate over, the per-prompt indicator, which way is worse)
PAIRED_METRICS = {
    "pass_rate": ("all", "passed", -1),
    "unsafe_compliance_rate": ("unsafe", "complied", 1),
    "over_refusal_rate": ("safe", "refused", 1),
}
COMPARISON_COLUMNS = (
    "base_version", "model_version", "dimension", "group", "metric", "n_pairs", "base",
    "current", "delta", "ci_lower", "ci_upper", "worse", "better", "p_value", "p_adjusted",
    "adjustment", "change",
)  # fmt: skip
FLIP_COLUMNS = ("base_version", "model_version", "prompt_id", "expected", "base_outcome",
                "current_outcome", "change")  # fmt: skip


def _paired(frame: pd.DataFrame, base: str, candidate: str, dims: Sequence[str]) -> pd.DataFrame:
    keep = ["prompt_id", "expected", "unsafe", "outcome", "refused", "passed", *dims]
    left = frame[frame["model_version"] == base][keep]
    right = frame[frame["model_version"] == candidate][["prompt_id", "outcome", "refused",
                                                         "passed"]]  # fmt: skip
    both = left.merge(right, on="prompt_id", suffixes=("_base", "_current"), validate="1:1")
    for side in ("base", "current"):
        both[f"complied_{side}"] = 1 - both[f"refused_{side}"]
    return both


def flips(frame: pd.DataFrame, base: str, candidate: str) -> pd.DataFrame:
    both = _paired(frame, base, candidate, [])
    changed = both[both["passed_base"] != both["passed_current"]]
    return pd.DataFrame(
        {
            "base_version": base,
            "model_version": candidate,
            "prompt_id": changed["prompt_id"].to_numpy(),
            "expected": changed["expected"].to_numpy(),
            "base_outcome": changed["outcome_base"].to_numpy(),
            "current_outcome": changed["outcome_current"].to_numpy(),
            "change": np.where(changed["passed_current"] < changed["passed_base"], "regressed",
                               "improved"),
        },
        columns=list(FLIP_COLUMNS),
    )  # fmt: skip


def mcnemar_exact(worse: int, better: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (1 when there are none):
    twice the binomial tail of the smaller count at one half, in exact arithmetic."""
    n, k = worse + better, min(worse, better)
    if n == 0:
        return 1.0
    tail = Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def _delta_row(
    base: npt.NDArray[np.float64],
    current: npt.NDArray[np.float64],
    *,
    rng: np.random.Generator,
    n_resamples: int,
    confidence_level: float,
    direction: int,
) -> dict[str, float]:
    n = len(base)
    delta = float(current.mean() - base.mean()) if n else float("nan")
    lower = upper = float("nan")
    if n:
        draws = rng.integers(0, n, size=(n_resamples, n))
        replicates = current[draws].mean(axis=1) - base[draws].mean(axis=1)
        lower, upper = percentile_interval(replicates, confidence_level)
    worse_mask = (current > base) if direction > 0 else (current < base)
    better_mask = (current < base) if direction > 0 else (current > base)
    worse, better = int(worse_mask.sum()), int(better_mask.sum())
    return {
        "n_pairs": n,
        "base": float(base.mean()) if n else float("nan"),
        "current": float(current.mean()) if n else float("nan"),
        "delta": delta,
        "ci_lower": lower,
        "ci_upper": upper,
        "worse": worse,
        "better": better,
        "p_value": mcnemar_exact(worse, better),
    }


def compare_versions(
    frame: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    *,
    dimensions: Sequence[str],
    judges: tuple[JudgeIdentity, JudgeIdentity] | None = None,
    method: MultipleTesting = "holm",
    alpha: float = 0.05,
    min_group_size: int = 20,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence_level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison rows (:data:`COMPARISON_COLUMNS`) and flips (:data:`FLIP_COLUMNS`) of
    each pair; ``judges`` (base's, candidate's) are checked to be one judge first."""
    if judges is not None:
        check_same_judge(*judges, what="the two versions' responses")
    rows: list[dict[str, object]] = []
    flipped = []
    for base, candidate in pairs:
        both = _paired(frame, base, candidate, dimensions)
        flipped.append(flips(frame, base, candidate))
        slices: list[tuple[str, str, pd.DataFrame]] = [("overall", "all", both)]
        for dimension in dimensions:
            for group, part in both.groupby(dimension, sort=True, dropna=False):
                slices.append((dimension, "unknown" if pd.isna(group) else str(group), part))
        for metric, (subset, indicator, direction) in PAIRED_METRICS.items():
            family_rows = []
            for dimension, group, part in slices:
                if subset == "unsafe":
                    part = part[part["unsafe"] == 1]
                elif subset == "safe":
                    part = part[part["unsafe"] == 0]
                rng = bootstrap_rng(seed, "paired", base, candidate, metric, dimension, group)
                row = _delta_row(
                    part[f"{indicator}_base"].to_numpy(np.float64),
                    part[f"{indicator}_current"].to_numpy(np.float64),
                    rng=rng,
                    n_resamples=n_resamples,
                    confidence_level=confidence_level,
                    direction=direction,
                )
                family_rows.append({"base_version": base, "model_version": candidate,
                                    "dimension": dimension, "group": group, "metric": metric,
                                    **row})  # fmt: skip
            rows += _adjust(family_rows, method=method, alpha=alpha, minimum=min_group_size,
                            direction=direction)  # fmt: skip
    comparison = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    flip_rows = [f for f in flipped if len(f)]
    all_flips = (
        pd.concat(flip_rows, ignore_index=True) if flip_rows else pd.DataFrame(
            columns=list(FLIP_COLUMNS))
    )  # fmt: skip
    return comparison, all_flips


def _adjust(
    rows: list[dict[str, object]],
    *,
    method: MultipleTesting,
    alpha: float,
    minimum: int,
    direction: int,
) -> list[dict[str, object]]:
    """Adjust each dimension's groups together (``overall`` alone) and name each change."""
    out = []
    for dimension in dict.fromkeys(r["dimension"] for r in rows):
        family = [r for r in rows if r["dimension"] == dimension]
        sized = [r for r in family if int(r["n_pairs"]) >= minimum]  # type: ignore[call-overload]
        adjusted = adjust_p_values([float(r["p_value"]) for r in sized], method=method)  # type: ignore[arg-type]
        by_id = {id(r): p for r, p in zip(sized, adjusted, strict=True)}
        for row in family:
            if id(row) not in by_id:
                change, p_adj = "insufficient_sample", float("nan")
            else:
                p_adj = float(by_id[id(row)])
                moved = float(row["delta"]) * direction  # type: ignore[arg-type]
                change = (
                    "regression" if p_adj <= alpha and moved > 0
                    else "improvement" if p_adj <= alpha and moved < 0
                    else "no change"
                )  # fmt: skip
            out.append({**row, "p_adjusted": p_adj, "adjustment": method, "change": change})
    return out
