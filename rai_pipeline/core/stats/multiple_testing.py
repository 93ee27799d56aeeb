"""Multiple-testing adjustment for families of interval verdicts (Holm, Benjamini–Hochberg).

A verdict row makes one of two claims from its interval: *pass* (the interval lies inside the
policy band :math:`[L, U]`) or *fail* (it lies wholly outside). Each claim is a test: *pass*
rejects :math:`H^{pass}_0: \\theta \\notin [L, U]`, *fail* rejects
:math:`H^{fail}_0: \\theta \\in [L, U]`. Inverting the interval gives each claim a p-value, the
smallest :math:`\\alpha` at which the :math:`1 - \\alpha` interval makes it
(:mod:`~rai_pipeline.core.stats.claims`); exactly one of the two nulls is true for each row,
and a row can never make both claims.

The adjustment treats the pass claims of a family as one family of hypotheses and the fail
claims as another, and runs the chosen procedure on each (:func:`rejection_levels`):

``none``
    Every row at level :math:`\\alpha`: the unadjusted interval.
``holm``
    Holm's step-down: sort :math:`p_{(1)} \\le \\dots \\le p_{(m)}`; reject while
    :math:`p_{(k)} \\le \\alpha / (m - k + 1)`. Controls the family-wise error rate under any
    dependence.
``bh``
    Benjamini–Hochberg: :math:`R = \\max\\{k : p_{(k)} \\le k\\alpha / m\\}`, reject the
    :math:`R` smallest. Controls the false discovery rate for independent or positively
    dependent (PRDS) tests.

A setting (``multiple_testing`` in the config) is one of these or ``auto``, which lets each
family of claims take the method that suits it (:func:`method_for`).

Each hypothesis also gets the *level* at which its interval is reported, chosen so that the
interval shows exactly the procedure's decision: for Holm :math:`\\alpha / (m - k + 1)` for the
:math:`k`-th rejection and :math:`\\alpha / (m - J)` for the rest after :math:`J` rejections;
for BH :math:`\\max(R, 1)\\,\\alpha / m` for all (Benjamini & Yekutieli's false-coverage-rate
intervals). ``docs/statistics.md`` gives the argument for the error rates.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

MULTIPLE_TESTING_METHODS = ("none", "holm", "bh")
MultipleTesting = Literal["none", "holm", "bh"]
AUTO = "auto"  # a setting, not a method: each family of claims gets the method that suits it
MULTIPLE_TESTING_SETTINGS = (AUTO, *MULTIPLE_TESTING_METHODS)
MultipleTestingSetting = Literal["auto", "none", "holm", "bh"]

MSG_METHOD = "multiple_testing must be one of {choices}, got {value!r}"
MSG_P_VALUES = "p_values must be a 1-D array of numbers >= 0 (NaN not allowed)"
MSG_ALPHA = "alpha must be a number strictly between 0 and 1, got {value!r}"


def check_method(method: object) -> MultipleTesting:
    """Return ``method`` if it is one of :data:`MULTIPLE_TESTING_METHODS`, else raise."""
    if not isinstance(method, str) or method not in MULTIPLE_TESTING_METHODS:
        raise ValueError(MSG_METHOD.format(choices=MULTIPLE_TESTING_METHODS, value=method))
    return method  # type: ignore[return-value]


def method_for(setting: object, *, auto: MultipleTesting) -> MultipleTesting:
    """The method a ``multiple_testing`` setting applies to a family whose ``auto`` method is
    ``auto``; raise if the setting is none of :data:`MULTIPLE_TESTING_SETTINGS`."""
    if setting == AUTO:
        return auto
    if not isinstance(setting, str) or setting not in MULTIPLE_TESTING_METHODS:
        raise ValueError(MSG_METHOD.format(choices=MULTIPLE_TESTING_SETTINGS, value=setting))
    return setting  # type: ignore[return-value]


def _check_p_values(p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or np.isnan(p).any() or (p < 0).any():
        raise ValueError(MSG_P_VALUES)
    return p


def adjust_p_values(p_values: npt.ArrayLike, *, method: MultipleTesting) -> npt.NDArray[np.float64]:
    r"""Adjusted p-values: reject hypothesis :math:`i` at level :math:`\alpha` iff
    :math:`\tilde p_i \le \alpha`.

    Holm: :math:`\tilde p_{(k)} = \max_{j \le k} \min(1, (m - j + 1)\,p_{(j)})`.
    BH: :math:`\tilde p_{(k)} = \min_{j \ge k} \min(1, m\,p_{(j)} / j)`.

    Parameters
    ----------
    p_values : array_like
        1-D p-values (values above 1 are allowed and treated as 1).
    method : {"none", "holm", "bh"}
        Procedure; ``none`` returns the p-values capped at 1.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Examples
    --------
    >>> adjust_p_values([0.01, 0.04, 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_p_values([0.01, 0.04, 0.03], method="bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    method = check_method(method)
    p = np.minimum(_check_p_values(p_values), 1.0)
    m = p.size
    if method == "none" or m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    ranks = np.arange(1, m + 1)
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - ranks + 1) * ranked))
    else:
        adjusted = np.minimum.accumulate(np.minimum(1.0, m * ranked / ranks)[::-1])[::-1]
    out = np.empty(m)
    out[order] = adjusted
    return out


def rejection_levels(
    p_values: npt.ArrayLike, *, alpha: float, method: MultipleTesting
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    r"""Which hypotheses the procedure rejects, and the level to report each one's interval at.

    Parameters
    ----------
    p_values : array_like
        1-D p-values of one family.
    alpha : float
        Family-wise error rate (Holm) or false discovery rate (BH) to control.
    method : {"none", "holm", "bh"}
        Procedure (module docstring).

    Returns
    -------
    levels : numpy.ndarray
        Per hypothesis, the significance level :math:`\alpha_i` whose :math:`1 - \alpha_i`
        interval shows the decision: :math:`p_i \le \alpha_i` exactly for rejected ones.
    rejected : numpy.ndarray of bool
        The procedure's decisions (equal to ``adjust_p_values(p) <= alpha``).

    Examples
    --------
    >>> levels, rejected = rejection_levels([0.01, 0.04, 0.03], alpha=0.05, method="holm")
    >>> levels.round(4).tolist(), rejected.tolist()
    ([0.0167, 0.025, 0.025], [True, False, False])
    """
    method = check_method(method)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ValueError(MSG_ALPHA.format(value=alpha))
    p = _check_p_values(p_values)
    m = p.size
    if method == "none" or m == 0:
        return np.full(m, float(alpha)), p <= alpha
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    ranks = np.arange(1, m + 1)
    levels = np.empty(m)
    rejected = np.zeros(m, dtype=bool)
    if method == "holm":
        thresholds = alpha / (m - ranks + 1)
        failing = np.flatnonzero(ranked > thresholds)
        accepted_from = int(failing[0]) if failing.size else m  # J, the number of rejections
        rejected[order[:accepted_from]] = True
        levels[order[:accepted_from]] = thresholds[:accepted_from]
        if accepted_from < m:
            levels[order[accepted_from:]] = alpha / (m - accepted_from)
    else:
        thresholds = alpha * (ranks / m)  # exactly alpha for rank m
        passing = np.flatnonzero(ranked <= thresholds)
        count = int(passing[-1]) + 1 if passing.size else 0  # R
        rejected[order[:count]] = True
        levels[:] = thresholds[max(count, 1) - 1]
    return levels, rejected


def claim_levels(
    p_pass: npt.NDArray[np.float64],
    p_fail: npt.NDArray[np.float64],
    *,
    families: list[str],
    tested: npt.NDArray[np.bool_],
    alpha: float,
    method: MultipleTesting,
) -> tuple[npt.NDArray[np.float64], dict[str, int]]:
    """The significance level each row's interval is reported at, and each family's size.

    Pass claims and fail claims of a family are adjusted as two families of hypotheses
    (:func:`rejection_levels`); a row is reported at the
    level of the claim the procedure made, or at the smaller of its two levels when it made
    none. Untested rows keep ``alpha``; without adjustment every family has size 1.
    """
    levels = np.full(len(families), alpha)
    members: dict[str, list[int]] = {}
    for k, family in enumerate(families):
        members.setdefault(family, [])
        if tested[k]:
            members[family].append(k)
    if method == "none":
        return levels, dict.fromkeys(members, 1)
    for rows in members.values():
        if not rows:
            continue
        pass_levels, passed = rejection_levels(p_pass[rows], alpha=alpha, method=method)
        fail_levels, failed = rejection_levels(p_fail[rows], alpha=alpha, method=method)
        levels[rows] = np.where(
            passed, pass_levels, np.where(failed, fail_levels, np.minimum(pass_levels, fail_levels))
        )
    return levels, {family: len(rows) for family, rows in members.items()}
