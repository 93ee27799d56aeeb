"""Score intervals against independent oracles: scipy, statsmodels, published values and
root-finding on their defining equations; nesting, width and the claims they make."""

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep

from rai_pipeline.core.stats.claims import claim_p_values, is_reciprocal
from rai_pipeline.core.stats.intervals import (
    MSG_CONFIDENCE_LEVEL,
    MSG_WILSON_COUNTS,
    Z_MAX,
    mover_ratio,
    newcombe_difference,
    tango_paired_difference,
    tango_statistic,
    two_sided_p,
    wilson_interval,
    wilson_limits,
    z_value,
)

Z95 = NormalDist().inv_cdf(0.975)
# (x1, n1, x2, n2): zero counts, full counts, tiny and large groups, equal rates.
TWO_GROUP_CASES = [
    (7, 34, 1, 34),
    (0, 3, 0, 3),
    (0, 69, 50, 100),
    (50, 100, 0, 69),
    (3, 3, 0, 5),
    (10, 10, 10, 10),
    (1, 30, 29, 30),
    (12, 40, 30, 100),
    (400, 1000, 380, 1000),
    (5, 200, 6, 7),
]
# (n12, n21, n): paired discordant counts, from none to all.
PAIRED_CASES = [(0, 0, 100), (1, 7, 21), (5, 1, 20), (10, 0, 10), (0, 10, 10), (3, 3, 500)]

# Wilson interval -----------------------------------------------------------------------------


def test_wilson_interval_for_8_of_10_matches_the_closed_form():
    z = NormalDist().inv_cdf(0.975)
    p, n = 0.8, 10
    center = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    lower, upper = wilson_interval(8, 10, confidence_level=0.95)
    assert lower == pytest.approx(center - half, abs=1e-12)
    assert upper == pytest.approx(center + half, abs=1e-12)
    assert isinstance(lower, float)


@pytest.mark.parametrize("confidence_level", [0.8, 0.9, 0.95, 0.99])
def test_wilson_bounds_solve_the_score_test_quadratic(confidence_level):
    """Bounds are the roots p of (x/n - p)^2 = z^2 p (1 - p) / n."""
    successes = np.array([0, 1, 3, 8, 25, 50, 99, 100])
    trials = np.array([10, 10, 7, 10, 100, 50, 100, 100])
    z = NormalDist().inv_cdf(1 - (1 - confidence_level) / 2)
    lower, upper = wilson_interval(successes, trials, confidence_level=confidence_level)
    p_hat = successes / trials
    a = 1 + z**2 / trials
    b = -(2 * p_hat + z**2 / trials)
    c = p_hat**2
    root = np.sqrt(b**2 - 4 * a * c)
    np.testing.assert_allclose(lower, (-b - root) / (2 * a), atol=1e-12)
    np.testing.assert_allclose(upper, (-b + root) / (2 * a), atol=1e-12)
    assert np.all((lower <= p_hat) & (p_hat <= upper))
    assert np.all((lower >= 0) & (upper <= 1))


def test_wilson_interval_is_nan_without_trials_and_exact_at_the_edges():
    lower, upper = wilson_interval([0, 0, 10], [0, 10, 10])
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    assert lower[1] == 0.0
    assert upper[2] == 1.0


def test_wilson_interval_narrows_with_more_trials_and_widens_with_confidence():
    narrow = np.subtract(*wilson_interval(800, 1000)[::-1])
    wide = np.subtract(*wilson_interval(8, 10)[::-1])
    assert narrow < wide
    width_90 = np.subtract(*wilson_interval(8, 10, confidence_level=0.9)[::-1])
    assert width_90 < wide


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, True, "0.95", float("nan")])
def test_wilson_rejects_confidence_levels_outside_0_1(level):
    with pytest.raises(ValueError) as raised:
        wilson_interval(1, 2, confidence_level=level)
    assert str(raised.value) == MSG_CONFIDENCE_LEVEL.format(value=level)


@pytest.mark.parametrize(("successes", "trials"), [(3, 2), (-1, 5), (1, -1), ([1, 2], [2, 1])])
def test_wilson_rejects_impossible_counts(successes, trials):
    with pytest.raises(ValueError) as raised:
        wilson_interval(successes, trials)
    assert str(raised.value) == MSG_WILSON_COUNTS


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_limits_equal_scipy(level):
    for trials in (1, 7, 30, 200):
        for successes in range(0, trials + 1, max(1, trials // 7)):
            oracle = binomtest(successes, trials).proportion_ci(level, method="wilson")
            lower, upper = wilson_interval(successes, trials, confidence_level=level)
            assert lower == pytest.approx(oracle.low, abs=1e-12)
            assert upper == pytest.approx(oracle.high, abs=1e-12)


# Newcombe and MOVER-R ------------------------------------------------------------------------


@pytest.mark.parametrize("case", TWO_GROUP_CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.001])
def test_newcombe_difference_equals_statsmodels(case, alpha):
    x1, n1, x2, n2 = case
    expected = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", alpha=alpha)
    lower, upper = newcombe_difference(x1, n1, x2, n2, z_value(alpha))
    assert float(lower) == pytest.approx(expected[0], abs=1e-10)
    assert float(upper) == pytest.approx(expected[1], abs=1e-10)


def test_published_two_by_two_intervals():
    """Fagerland, Lydersen & Laake (2017), Table 4.x, Perondi et al. (2004): 7/34 vs 1/34."""
    lower, upper = newcombe_difference(7, 34, 1, 34, Z95)
    assert (round(float(lower), 4), round(float(upper), 4)) == (0.0189, 0.3404)
    lower, upper = mover_ratio(7, 34, 1, 34, Z95)
    assert (round(float(lower), 4), round(float(upper), 4)) == (1.1537, 41.9763)


@pytest.mark.parametrize("case", [c for c in TWO_GROUP_CASES if 0 < c[2] < c[3] and c[0] > 0])
def test_mover_ratio_solves_its_defining_equations(case):
    x1, n1, x2, n2 = case
    for z in (1.0, Z95, 3.3):
        p1, p2 = x1 / n1, x2 / n2
        wl = [wilson_limits(x, n, z) for x, n in ((x1, n1), (x2, n2))]
        (l1, u1), (l2, u2) = ((float(a), float(b)) for a, b in wl)

        def lower_eq(theta, p1=p1, p2=p2, l1=l1, u2=u2):
            return p1 - theta * p2 - math.sqrt((p1 - l1) ** 2 + theta**2 * (u2 - p2) ** 2)

        def upper_eq(theta, p1=p1, p2=p2, u1=u1, l2=l2):
            return theta * p2 - p1 - math.sqrt((u1 - p1) ** 2 + theta**2 * (p2 - l2) ** 2)

        expected_low = brentq(lower_eq, 0.0, p1 / p2, xtol=1e-14)
        expected_high = brentq(upper_eq, p1 / p2, 1e6, xtol=1e-12)
        lower, upper = mover_ratio(x1, n1, x2, n2, z)
        assert float(lower) == pytest.approx(expected_low, rel=1e-9)
        assert float(upper) == pytest.approx(expected_high, rel=1e-9)


@pytest.mark.parametrize("case", TWO_GROUP_CASES)
def test_mover_ratio_is_exactly_reciprocal(case):
    x1, n1, x2, n2 = case
    lower, upper = mover_ratio(x1, n1, x2, n2, Z95)
    swapped_lower, swapped_upper = mover_ratio(x2, n2, x1, n1, Z95)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(1 / swapped_upper, lower, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(1 / swapped_lower, upper, rtol=1e-9)


def test_zero_counts_give_wide_intervals_never_a_point():
    """0 of 3 false positives against 0 of 3: the difference spans each group's Wilson upper
    limit either way, the ratio is unbounded."""
    wilson_upper = wilson_interval(0, 3)[1]
    lower, upper = newcombe_difference(0, 3, 0, 3, Z95)
    assert (float(lower), float(upper)) == pytest.approx((-wilson_upper, wilson_upper))
    lower, upper = mover_ratio(0, 3, 0, 3, Z95)
    assert (float(lower), float(upper)) == (0.0, math.inf)
    lower, upper = mover_ratio(0, 69, 50, 100, Z95)
    assert float(lower) == 0.0 and 0.05 < float(upper) < 0.2


@pytest.mark.parametrize("method", [newcombe_difference, mover_ratio])
def test_comparison_intervals_are_nested_in_z_and_never_zero_width(method):
    cases = np.array(TWO_GROUP_CASES, dtype=float).T
    previous = None
    for z in np.linspace(0.05, 6.0, 60):
        lower, upper = method(*cases, z)
        assert (upper - lower > 0).all()
        if previous is not None:
            assert (lower <= previous[0] + 1e-12).all() and (upper >= previous[1] - 1e-12).all()
        previous = (lower, upper)
    point_lower, point_upper = method(*cases, 0.0)
    defined = cases[2] > 0  # both rates defined and, for a ratio, a finite point
    np.testing.assert_allclose(point_lower[defined], point_upper[defined])


# Tango -------------------------------------------------------------------------------------


def tango_by_likelihood(n12, n21, n, z):
    """Tango's interval from its definition: the restricted MLE of p21 by numerical
    maximisation of the multinomial likelihood, and the limits by root-finding."""

    def statistic(delta):
        # cells (p12, p21) with p12 - p21 = delta; p11 + p22 = 1 - p12 - p21 is free.
        def minus_log_likelihood(p21):
            cells = ((n12, p21 + delta), (n21, p21), (n - n12 - n21, 1 - 2 * p21 - delta))
            return -sum(count * math.log(p) for count, p in cells if count > 0)

        numerator = n12 - n21 - n * delta
        if numerator == 0:
            return 0.0
        low, high = max(0.0, -delta), (1 - delta) / 2
        p21 = minimize_scalar(
            minus_log_likelihood,
            bounds=(low + 1e-15, max(high - 1e-15, low + 2e-15)),
            method="bounded",
            options={"xatol": 1e-14},
        ).x
        return numerator / math.sqrt(n * (2 * p21 + delta * (1 - delta)))

    estimate = (n12 - n21) / n
    lower = -1.0 if estimate == -1 else brentq(lambda d: statistic(d) - z, -1 + 1e-9, estimate)
    upper = 1.0 if estimate == 1 else brentq(lambda d: statistic(d) + z, estimate, 1 - 1e-9)
    return lower, upper


@pytest.mark.parametrize("case", PAIRED_CASES)
def test_tango_interval_equals_its_definition(case):
    n12, n21, n = case
    expected = tango_by_likelihood(n12, n21, n, Z95)
    lower, upper = tango_paired_difference(n12, n21, n, Z95)
    assert float(lower) == pytest.approx(expected[0], abs=2e-6)
    assert float(upper) == pytest.approx(expected[1], abs=2e-6)


@pytest.mark.parametrize("case", [c for c in PAIRED_CASES if c[0] + c[1] > 0])
def test_tango_statistic_at_zero_is_mcnemar(case):
    n12, n21, n = case
    table = [[n - n12 - n21, n12], [n21, 0]]
    chi2 = mcnemar(table, exact=False, correction=False).statistic
    assert float(tango_statistic(0.0, n12, n21, n)) ** 2 == pytest.approx(chi2, rel=1e-12)


def test_tango_interval_without_discordant_rows_is_not_a_point():
    lower, upper = tango_paired_difference(0, 0, 100, Z95)
    half = Z95**2 / (100 + Z95**2)
    assert (float(lower), float(upper)) == pytest.approx((-half, half), abs=1e-12)


# Claims --------------------------------------------------------------------------------------


@pytest.mark.parametrize("band", [(0.2, 0.5), (0.05, 0.25), (0.31, 0.32), (-1.0, 2.0)])
def test_claim_p_values_invert_the_interval(band):
    """The interval at level 1 - a lies inside the band iff a >= p_pass and wholly outside iff
    a >= p_fail (up to the bisection's tolerance)."""
    x, n = np.array([30, 3, 0, 77, 31]), np.array([100, 10, 40, 80, 100])
    p_pass, p_fail = claim_p_values(
        lambda z: wilson_limits(x, n, z), band_lower=band[0], band_upper=band[1], size=x.size
    )
    assert ((p_pass == 1) | (p_fail == 1)).all()  # never both claims
    for alpha in np.geomspace(1e-8, 0.999, 300):
        lower, upper = wilson_limits(x, n, z_value(alpha))
        inside = (band[0] <= lower) & (upper <= band[1])
        outside = (upper < band[0]) | (lower > band[1])
        for holds, p in ((inside, p_pass), (outside, p_fail)):
            clear = np.abs(np.log(alpha) - np.log(p)) > 1e-6
            assert (holds == (alpha >= p))[clear].all()


def test_reciprocal_bands():
    assert is_reciprocal((0.8, 1.25))
    assert is_reciprocal((0.9, 1 / 0.9))
    assert not is_reciprocal((0.8, 1.2))


def test_z_value_and_two_sided_p_equal_scipy_normal_quantiles_and_tails():
    from scipy.stats import norm

    alphas = np.concatenate([np.logspace(-299, -1, 60), np.linspace(0.01, 1.99, 199)])
    z = z_value(alphas)
    np.testing.assert_allclose(z, np.minimum(norm.isf(alphas / 2), Z_MAX), rtol=1e-12)
    np.testing.assert_allclose(two_sided_p(z), 2 * norm.sf(z), rtol=1e-10)
    # edges: no interval (alpha 0) is capped, alpha 1 is the median, NaN stays NaN
    edges = z_value(np.array([0.0, 1.0, np.nan]))
    assert edges[0] == Z_MAX and edges[1] == 0.0 and not math.copysign(1, edges[1]) < 0
    assert np.isnan(edges[2])
    assert two_sided_p(0.0) == 1.0 and float(two_sided_p(np.inf)) == 0.0
