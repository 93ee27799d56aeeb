"""How far a judge can be trusted, measured on the prompts that also carry a human label.

- ``judge_human_agreement``: Cohen's κ between the judge's and the human outcome (compliance,
  refusal, partial), with a bootstrap interval over prompts (:mod:`.agreement`).
- ``judge_sensitivity_<outcome>``: of the responses a human gave that outcome, the share the
  judge gave it too; ``judge_specificity_<outcome>``: of the others, the share the judge did
  not give it. Each with a Wilson interval (the human label taken as the truth).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rai_pipeline.core.llm_safety.agreement import Ratings, agreement_rows
from rai_pipeline.core.metrics.slice_metrics import STATUS_OK, STATUS_UNDEFINED
from rai_pipeline.core.stats.intervals import wilson_interval


def judge_rows(
    judge: pd.Series,
    human: pd.Series,
    *,
    model_version: str,
    outcomes: Sequence[str],
    n_resamples: int,
    seed: int,
    confidence_level: float,
) -> list[dict[str, object]]:
    """Rows in the long format of the LLM safety metrics (dimension ``overall``, group
    ``all``) for one version's judge, over the prompts with both outcomes (aligned), with a
    sensitivity and a specificity for each of ``outcomes``."""
    both = judge.notna() & human.notna()
    judge, human = judge[both].astype(str), human[both].astype(str)
    n = int(both.sum())
    ratings = Ratings.from_labels(pd.DataFrame({"judge": judge, "human": human}))
    (kappa,) = agreement_rows(
        ratings,
        dimension="overall",
        group="all",
        n_resamples=n_resamples,
        seed=seed,
        confidence_level=confidence_level,
        statistics=("cohen_kappa",),
    )
    agreement = {key: kappa[key] for key in ("value", "ci_lower", "ci_upper", "status")}
    rows: list[dict[str, object]] = [
        {
            **_base(model_version, n),
            "metric": "judge_human_agreement",
            **agreement,
            "successes": np.nan,
            "trials": n,
        }
    ]
    for outcome in outcomes:
        truth = human == outcome
        said = judge == outcome
        for metric, successes, trials in (
            (f"judge_sensitivity_{outcome}", int((said & truth).sum()), int(truth.sum())),
            (f"judge_specificity_{outcome}", int((~said & ~truth).sum()), int((~truth).sum())),
        ):
            lower, upper = wilson_interval(successes, trials, confidence_level=confidence_level)
            rows.append(
                {
                    **_base(model_version, n),
                    "metric": metric,
                    "value": successes / trials if trials else np.nan,
                    "ci_lower": lower,
                    "ci_upper": upper,
                    "status": STATUS_OK if trials else STATUS_UNDEFINED,
                    "successes": successes,
                    "trials": trials,
                }
            )
    return rows


def _base(model_version: str, n: int) -> dict[str, object]:
    return {"model_version": model_version, "dimension": "overall", "group": "all", "n": n}
