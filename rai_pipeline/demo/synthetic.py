"""A synthetic evaluation frame with planted, documented disparities.

Used to test the slice and fairness engine at any size (10^7 rows in a few seconds) against
known truth: every rate below holds exactly in expectation, so an estimate from the frame can
be compared with :func:`expected_rates`.

What is planted (defaults of :class:`SyntheticSpec`)
----------------------------------------------------
Rows are independent. The three attributes are drawn independently of each other and of
the label, so every group has the same base rate ``P(label = 1) = 0.30``.

- ``group_a`` (3 levels): ``a0`` 50 %, ``a1`` 30 %, ``a2`` 20 %.
  **Planted:** ``a2``'s false positive rate is raised by 0.10 (0.20 instead of 0.10). So
  ``a2``'s selection rate is higher by ``(1 - 0.30) * 0.10 = 0.07`` and the equalized-odds
  difference over ``group_a`` is 0.10. ``a0`` and ``a1`` are identical in distribution.
- ``group_b`` (2 levels): ``b0`` 50 %, ``b1`` 50 %. **Nothing planted** (control): every
  metric has the same expectation in both groups; a disparity test should not fail here.
- ``group_c`` (4 levels + NULL): ``c0`` 50 %, ``c1`` 30 %, ``c2`` 17.5 %, ``c3`` 0.5 %, NULL 2 %.
  **Planted:** ``c3`` is a *small group* whose true positive rate is lowered by 0.30 (0.50
  instead of 0.80, i.e. false negative rate 0.50 instead of 0.20). NULL rows behave like the
  majority and must be kept as their own (unknown) group.

Given the label, the decision is drawn with probability ``TPR(row)`` (label 1) or
``FPR(row)`` (label 0), where ``TPR(row) = 0.80 - 0.30 * [group_c = c3]`` and
``FPR(row) = 0.10 + 0.10 * [group_a = a2]``. Because the effects are additive and the
attributes independent, each group's marginal rates are exact; e.g. ``group_a`` TPR is
``0.80 - 0.30 * 0.005 = 0.7985`` in every ``a`` level and ``group_c`` FPR is
``0.10 + 0.10 * 0.20 = 0.12`` in every ``c`` level.

The score is consistent with the decision: ``score >= threshold`` exactly when
``decision = 1``. Within each side of the threshold it is a Beta draw that leans towards 1
for positives (Beta(3, 2)) and towards 0 for negatives (Beta(2, 3)), so scores also rank.

Example
-------
>>> frame = make_synthetic_frame(1_000_000, seed=7)
>>> truth = expected_rates()
>>> truth.query("dimension == 'group_a' and metric == 'false_positive_rate'")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ATTRIBUTES = ("group_a", "group_b", "group_c")

ERR_N = "n must be a non-negative integer, got {n!r}"
ERR_SEED = "seed must be an integer, got {seed!r}"
ERR_THRESHOLD = "threshold must lie strictly between 0 and 1, got {threshold!r}"
ERR_SHARES = "{name} shares must be non-negative and sum to 1, got {shares!r}"
ERR_RATE = "{name} must lie in [0, 1] after the planted shift, got {value!r}"


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of the synthetic frame; the defaults are what the module docstring states.

    ``*_shares`` give each level's share of rows (``group_c_shares`` includes a final entry
    for NULL). ``fpr_shift`` applies to ``fpr_shifted_level`` of ``group_a``; ``tpr_shift``
    to ``tpr_shifted_level`` of ``group_c``.
    """

    threshold: float = 0.5
    base_rate: float = 0.30
    tpr: float = 0.80
    fpr: float = 0.10
    group_a_levels: tuple[str, ...] = ("a0", "a1", "a2")
    group_a_shares: tuple[float, ...] = (0.50, 0.30, 0.20)
    group_b_levels: tuple[str, ...] = ("b0", "b1")
    group_b_shares: tuple[float, ...] = (0.50, 0.50)
    group_c_levels: tuple[str, ...] = ("c0", "c1", "c2", "c3")
    group_c_shares: tuple[float, ...] = (0.50, 0.30, 0.175, 0.005, 0.02)
    fpr_shifted_level: str = "a2"
    fpr_shift: float = 0.10
    tpr_shifted_level: str = "c3"
    tpr_shift: float = -0.30

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first parameter that is out of range."""
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(ERR_THRESHOLD.format(threshold=self.threshold))
        for name, levels, shares, extra in (
            ("group_a", self.group_a_levels, self.group_a_shares, 0),
            ("group_b", self.group_b_levels, self.group_b_shares, 0),
            ("group_c", self.group_c_levels, self.group_c_shares, 1),
        ):
            ok = len(shares) == len(levels) + extra and min(shares) >= 0
            if not ok or not np.isclose(sum(shares), 1.0):
                raise ValueError(ERR_SHARES.format(name=name, shares=shares))
        for name, value in (
            ("base_rate", self.base_rate),
            ("tpr", self.tpr),
            ("fpr", self.fpr),
            ("tpr + tpr_shift", self.tpr + self.tpr_shift),
            ("fpr + fpr_shift", self.fpr + self.fpr_shift),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(ERR_RATE.format(name=name, value=value))


def make_synthetic_frame(n: int, *, seed: int, spec: SyntheticSpec | None = None) -> pd.DataFrame:
    """Draw ``n`` rows of a synthetic evaluation frame with the planted disparities.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int
        Seed of ``numpy.random.default_rng``; same ``(n, seed, spec)``, same frame.
    spec : SyntheticSpec, optional
        Shares, rates and shifts; defaults as described in the module docstring.

    Returns
    -------
    pandas.DataFrame
        ``example_id`` (int64, 0..n-1), ``label`` and ``decision`` (int32, 0/1), ``score``
        (float64 in [0, 1], ``decision == (score >= threshold)``), and ``group_a``,
        ``group_b``, ``group_c`` (pandas categoricals; ``group_c`` has NULLs).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(ERR_N.format(n=n))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(ERR_SEED.format(seed=seed))
    spec = spec or SyntheticSpec()
    spec.validate()
    rng = np.random.default_rng(seed)

    codes_a = _draw_codes(rng, n, spec.group_a_shares)
    codes_b = _draw_codes(rng, n, spec.group_b_shares)
    codes_c = _draw_codes(rng, n, spec.group_c_shares)
    codes_c[codes_c == len(spec.group_c_levels)] = -1  # the last share is NULL

    label = rng.random(n) < spec.base_rate
    shifted_a = codes_a == spec.group_a_levels.index(spec.fpr_shifted_level)
    shifted_c = codes_c == spec.group_c_levels.index(spec.tpr_shifted_level)
    p_positive = np.where(
        label,
        spec.tpr + spec.tpr_shift * shifted_c,
        spec.fpr + spec.fpr_shift * shifted_a,
    )
    decision = rng.random(n) < p_positive

    lean = rng.beta(2.0 + label, 3.0 - label)
    below = np.minimum(spec.threshold * lean, np.nextafter(spec.threshold, 0.0))
    above = spec.threshold + (1.0 - spec.threshold) * lean
    score = np.where(decision, above, below)

    columns = {
        "example_id": np.arange(n, dtype=np.int64),
        "label": label.astype(np.int32),
        "score": score,
        "decision": decision.astype(np.int32),
        "group_a": pd.Categorical.from_codes(codes_a, categories=list(spec.group_a_levels)),
        "group_b": pd.Categorical.from_codes(codes_b, categories=list(spec.group_b_levels)),
        "group_c": pd.Categorical.from_codes(codes_c, categories=list(spec.group_c_levels)),
    }
    # Column by column: pandas' dict constructor would copy same-dtype columns into one block.
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for name, values in columns.items():
        frame[name] = values
    return frame


def expected_rates(spec: SyntheticSpec | None = None) -> pd.DataFrame:
    """The exact expected rates per attribute and group under ``spec``.

    Returns
    -------
    pandas.DataFrame
        Columns ``dimension`` (``group_a``/``group_b``/``group_c``), ``group`` (level name;
        None for the NULL group of ``group_c``), ``share`` (expected share of rows),
        ``metric`` (fairlearn names: ``selection_rate``, ``true_positive_rate``,
        ``false_positive_rate``, ``false_negative_rate``) and ``value``.

    Notes
    -----
    With ``s`` the share of the TPR-shifted level of ``group_c`` and ``q`` the share of the
    FPR-shifted level of ``group_a``: a level's TPR is ``tpr + tpr_shift * [level shifted]``
    within ``group_c`` and ``tpr + tpr_shift * s`` elsewhere; its FPR is
    ``fpr + fpr_shift * [level shifted]`` within ``group_a`` and ``fpr + fpr_shift * q``
    elsewhere; selection rate is ``base_rate * TPR + (1 - base_rate) * FPR``.
    """
    spec = spec or SyntheticSpec()
    spec.validate()
    share_c_shifted = spec.group_c_shares[spec.group_c_levels.index(spec.tpr_shifted_level)]
    share_a_shifted = spec.group_a_shares[spec.group_a_levels.index(spec.fpr_shifted_level)]
    mean_tpr = spec.tpr + spec.tpr_shift * share_c_shifted
    mean_fpr = spec.fpr + spec.fpr_shift * share_a_shifted

    rows = []
    groups: list[tuple[str, str | None, float, float, float]] = []
    for level, share in zip(spec.group_a_levels, spec.group_a_shares, strict=True):
        fpr = spec.fpr + spec.fpr_shift * (level == spec.fpr_shifted_level)
        groups.append(("group_a", level, share, mean_tpr, fpr))
    for level, share in zip(spec.group_b_levels, spec.group_b_shares, strict=True):
        groups.append(("group_b", level, share, mean_tpr, mean_fpr))
    c_levels: list[str | None] = [*spec.group_c_levels, None]
    for level, share in zip(c_levels, spec.group_c_shares, strict=True):
        tpr = spec.tpr + spec.tpr_shift * (level == spec.tpr_shifted_level)
        groups.append(("group_c", level, share, tpr, mean_fpr))
    for dimension, group, share, tpr, fpr in groups:
        values = {
            "selection_rate": spec.base_rate * tpr + (1.0 - spec.base_rate) * fpr,
            "true_positive_rate": tpr,
            "false_positive_rate": fpr,
            "false_negative_rate": 1.0 - tpr,
        }
        rows.extend(
            {"dimension": dimension, "group": group, "share": share, "metric": m, "value": v}
            for m, v in values.items()
        )
    return pd.DataFrame(rows, columns=["dimension", "group", "share", "metric", "value"])


def _draw_codes(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> np.ndarray:
    """Category codes 0..len(shares)-1 drawn with the given probabilities (int8)."""
    edges = np.cumsum(shares[:-1])
    return np.searchsorted(edges, rng.random(n), side="right").astype(np.int8)
