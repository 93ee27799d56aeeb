"""Holm and Benjamini–Hochberg on interval verdicts: against scipy, by hand, by simulation."""

import numpy as np
import pytest
from scipy.stats import false_discovery_control

from rai_pipeline.core.stats.claims import claim_p_values
from rai_pipeline.core.stats.multiple_testing import (
    MSG_ALPHA,
    MSG_METHOD,
    MSG_P_VALUES,
    MULTIPLE_TESTING_METHODS,
    MULTIPLE_TESTING_SETTINGS,
    adjust_p_values,
    claim_levels,
    method_for,
    rejection_levels,
)


def holm_by_hand(p, alpha):
    """Holm's step-down as written in textbooks: walk the sorted p-values until one fails."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    rejected = [False] * len(p)
    for k, i in enumerate(order):
        if p[i] > alpha / (len(p) - k):
            break
        rejected[i] = True
    return rejected


def bh_by_hand(p, alpha):
    """Benjamini–Hochberg: the largest k with p_(k) <= k alpha / m; reject the k smallest."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    count = 0
    for k, i in enumerate(order, start=1):
        if p[i] <= k * alpha / len(p):
            count = k
    return [i in order[:count] for i in range(len(p))]


P_VALUE_SETS = [
    [0.01, 0.04, 0.03],
    [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205],
    [0.5],
    [0.0, 0.0, 1.0],
    list(np.random.default_rng(0).uniform(0, 0.1, 25)),
    list(np.random.default_rng(1).beta(0.3, 4, 40)),
]


@pytest.mark.parametrize("p", P_VALUE_SETS)
def test_bh_adjusted_p_values_equal_scipy(p):
    np.testing.assert_allclose(
        adjust_p_values(p, method="bh"), false_discovery_control(p, method="bh"), rtol=1e-12
    )


@pytest.mark.parametrize("p", P_VALUE_SETS)
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_rejections_equal_the_textbook_procedures_and_adjusted_p_values(p, alpha):
    for method, by_hand in (("holm", holm_by_hand), ("bh", bh_by_hand)):
        levels, rejected = rejection_levels(p, alpha=alpha, method=method)
        assert rejected.tolist() == by_hand(p, alpha)
        assert rejected.tolist() == (adjust_p_values(p, method=method) <= alpha).tolist()
        p_arr = np.asarray(p)
        # The level shows the decision: p <= level exactly for the rejected hypotheses.
        assert (p_arr[rejected] <= levels[rejected]).all()
        assert (p_arr[~rejected] > levels[~rejected]).all()
        assert ((levels >= alpha / len(p) - 1e-18) & (levels <= alpha)).all()
    holm = rejection_levels(p, alpha=alpha, method="holm")[1]
    bh = rejection_levels(p, alpha=alpha, method="bh")[1]
    assert not (holm & ~bh).any()  # BH rejects everything Holm rejects
    levels, rejected = rejection_levels(p, alpha=alpha, method="none")
    assert (levels == alpha).all() and rejected.tolist() == [x <= alpha for x in p]


def test_holm_levels_by_hand():
    levels, rejected = rejection_levels([0.001, 0.02, 0.01, 0.3], alpha=0.05, method="holm")
    # Sorted: 0.001 <= 0.05/4, 0.01 <= 0.05/3, 0.02 <= 0.05/2, 0.3 > 0.05/1.
    assert rejected.tolist() == [True, True, True, False]
    np.testing.assert_allclose(levels, [0.05 / 4, 0.05 / 2, 0.05 / 3, 0.05 / 1])
    levels, rejected = rejection_levels([0.001, 0.02, 0.01, 0.3], alpha=0.05, method="bh")
    assert rejected.tolist() == [True, True, True, False]
    np.testing.assert_allclose(levels, [3 * 0.05 / 4] * 4)


def simulate_verdict_errors(*, families=2000, m=8, alpha=0.05):
    """Per method: share of families with a wrong verdict, and mean share of wrong verdicts.

    Each family has m rows with estimate ~ N(theta, 1) and interval estimate ± z, whose claims
    get their p-values by inversion (claim_p_values); the band is [-3, 3]. Half the rows sit
    on the band's edge (theta = 3, inside: a fail verdict is wrong), half just outside it
    (theta = 3.01: a pass verdict is wrong): the least favourable case, where every row can err.
    """
    rng = np.random.default_rng(7)
    theta = np.tile(np.where(np.arange(m) % 2 == 0, 3.0, 3.01), families)
    inside = np.abs(theta[:m]) <= 3.0
    estimate = theta + rng.normal(size=theta.size)
    p_pass, p_fail = claim_p_values(
        lambda z: (estimate - z, estimate + z), band_lower=-3.0, band_upper=3.0, size=theta.size
    )
    p = np.stack([p_pass, p_fail], axis=-1).reshape(families, m, 2)
    results = {}
    for method in ("none", "holm", "bh"):
        any_wrong, wrong_share = 0, 0.0
        for f in range(families):
            _, passed = rejection_levels(p[f, :, 0], alpha=alpha, method=method)
            _, failed = rejection_levels(p[f, :, 1], alpha=alpha, method=method)
            wrong = int((passed & ~inside).sum() + (failed & inside).sum())
            any_wrong += wrong > 0
            wrong_share += wrong / max(1, int(passed.sum() + failed.sum()))
        results[method] = (any_wrong / families, wrong_share / families)
    return results


def test_holm_bounds_any_wrong_verdict_and_bh_the_share_of_wrong_verdicts():
    results = simulate_verdict_errors()
    tolerance = 3 * np.sqrt(0.05 * 0.95 / 2000)
    assert results["none"][0] > 0.15  # eight claims at 5 % each: the family errs far more often
    assert results["holm"][0] <= 0.05 + tolerance
    assert results["bh"][1] <= 0.05 + tolerance


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: adjust_p_values([0.1], method="sidak"),
            MSG_METHOD.format(choices=MULTIPLE_TESTING_METHODS, value="sidak"),
        ),
        (
            lambda: rejection_levels([0.1], alpha=0.05, method="BH"),
            MSG_METHOD.format(choices=MULTIPLE_TESTING_METHODS, value="BH"),
        ),
        (lambda: adjust_p_values([0.1, np.nan], method="holm"), MSG_P_VALUES),
        (lambda: adjust_p_values([[0.1]], method="holm"), MSG_P_VALUES),
        (lambda: rejection_levels([-0.1], alpha=0.05, method="holm"), MSG_P_VALUES),
        (
            lambda: rejection_levels([0.1], alpha=1.0, method="holm"),
            MSG_ALPHA.format(value=1.0),
        ),
        (
            lambda: method_for("sidak", auto="holm"),
            MSG_METHOD.format(choices=MULTIPLE_TESTING_SETTINGS, value="sidak"),
        ),
    ],
)
def test_bad_inputs_are_rejected_with_their_messages(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert str(raised.value) == message


def test_claim_levels_adjust_each_family_and_leave_untested_rows_at_alpha():
    p_pass = np.array([0.001, 0.5, 1.0, 0.004, 0.2])
    p_fail = np.array([1.0, 1.0, 0.01, 1.0, 1.0])
    families = ["a", "a", "a", "b", "b"]
    tested = np.array([True, True, True, True, False])
    levels, sizes = claim_levels(
        p_pass, p_fail, families=families, tested=tested, alpha=0.05, method="holm"
    )
    assert sizes == {"a": 3, "b": 1}
    pass_a, passed_a = rejection_levels(p_pass[:3], alpha=0.05, method="holm")
    fail_a, failed_a = rejection_levels(p_fail[:3], alpha=0.05, method="holm")
    assert passed_a.tolist() == [True, False, False] and failed_a.tolist() == [False, False, True]
    np.testing.assert_allclose(levels[:3], [pass_a[0], min(pass_a[1], fail_a[1]), fail_a[2]])
    assert levels[3] == 0.05 and levels[4] == 0.05  # a family of one; an untested row
    levels, sizes = claim_levels(
        p_pass, p_fail, families=families, tested=tested, alpha=0.05, method="none"
    )
    assert (levels == 0.05).all() and sizes == {"a": 1, "b": 1}


def test_auto_takes_the_family_method_and_methods_pass_through():
    assert method_for("auto", auto="holm") == "holm"
    assert method_for("auto", auto="bh") == "bh"
    assert [method_for(m, auto="holm") for m in MULTIPLE_TESTING_METHODS] == list(
        MULTIPLE_TESTING_METHODS
    )
