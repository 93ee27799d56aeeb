"""Every drift statistic against scipy on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from rai_pipeline.core.monitoring.drift import (
    bucket_counts,
    chi_square,
    js_distance,
    ks_from_counts,
    psi,
    reference_edges,
)

RNG = np.random.default_rng(20261202)


def _pair(shift: float, n: tuple[int, int] = (4000, 1500)):
    reference = RNG.normal(0, 1, n[0])
    window = RNG.normal(shift, 1, n[1])
    edges = reference_edges(reference, 10)
    return reference, window, bucket_counts(reference, edges), bucket_counts(window, edges)


def test_reference_edges_make_equal_buckets_and_counts_cover_every_row():
    reference, window, ref, cur = _pair(0.5)
    assert len(ref) == 10 and ref.sum() == len(reference) and cur.sum() == len(window)
    # quantile buckets of the reference hold a tenth of it each (to a row or so)
    assert np.all(np.abs(ref - len(reference) / 10) <= 2)
    # the edges' own rule, by hand: numpy's histogram over the same edges
    edges = reference_edges(reference, 10)
    by_hand, _ = np.histogram(window, bins=np.concatenate([[-np.inf], edges, [np.inf]]))
    assert by_hand.tolist() == cur.tolist()


def test_missing_values_are_not_counted_and_repeated_quantiles_merge():
    values = np.array([1, 1, 1, 1, 1, 1, 2, 3, np.nan])
    edges = reference_edges(values, 4)
    assert edges.tolist() == sorted(set(edges.tolist()))
    assert bucket_counts(values, edges).sum() == 8


@pytest.mark.parametrize("shift", [0.0, 0.2, 1.0])
def test_js_distance_equals_scipy(shift):
    _, _, ref, cur = _pair(shift)
    for base in (2.0, np.e):
        expected = jensenshannon(ref / ref.sum(), cur / cur.sum(), base=base)
        assert js_distance(ref, cur, base=base) == pytest.approx(expected, abs=1e-12)


def test_js_distance_with_an_empty_bucket_equals_scipy():
    ref, cur = np.array([10, 0, 5, 5]), np.array([0, 3, 3, 4])
    assert js_distance(ref, cur) == pytest.approx(jensenshannon(ref / 20, cur / 10, base=2))


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_psi_equals_the_sum_of_kl_divergences_scipy_computes(shift):
    _, _, ref, cur = _pair(shift)
    p, q = ref / ref.sum(), cur / cur.sum()
    # PSI = KL(q || p) + KL(p || q) when no share is below the floor
    expected = stats.entropy(q, p) + stats.entropy(p, q)
    assert psi(ref, cur) == pytest.approx(expected, rel=1e-12)


def test_psi_floors_empty_buckets_by_hand():
    ref, cur = np.array([50, 50, 0]), np.array([40, 40, 20])
    p = np.array([0.5, 0.5, 1e-4])
    q = np.array([0.4, 0.4, 0.2])
    assert psi(ref, cur) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5])
def test_chi_square_equals_scipy_contingency(shift):
    _, _, ref, cur = _pair(shift)
    expected = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    result = chi_square(ref, cur)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert result.dof == expected.dof


def test_chi_square_of_categories_drops_buckets_neither_side_holds():
    ref, cur = np.array([30, 0, 20, 10]), np.array([10, 0, 25, 5])
    expected = stats.chi2_contingency(np.array([[30, 20, 10], [10, 25, 5]]), correction=False)
    assert chi_square(ref, cur).statistic == pytest.approx(expected.statistic)
    assert chi_square(ref, cur).dof == 2


@pytest.mark.parametrize("shift", [0.0, 0.15, 0.6])
def test_ks_with_one_bucket_per_value_equals_scipy_on_the_raw_values(shift):
    # integer-valued data: one bucket per distinct value holds the raw distribution
    reference = np.round(RNG.normal(40, 10, 3000))
    window = np.round(RNG.normal(40 + 10 * shift, 10, 1200))
    values = np.unique(np.concatenate([reference, window]))
    edges = values[1:]
    ref, cur = bucket_counts(reference, edges), bucket_counts(window, edges)
    expected = stats.ks_2samp(reference, window, method="asymp")
    result = ks_from_counts(ref, cur)
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_ks_on_coarse_buckets_is_a_lower_bound_of_the_raw_statistic():
    reference, window, ref, cur = _pair(0.4)
    assert ks_from_counts(ref, cur).statistic <= stats.ks_2samp(reference, window).statistic


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="same length"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        js_distance([1, -1], [1, 1])
    with pytest.raises(ValueError, match="the window has no rows"):
        chi_square([1, 2], [0, 0])


def _counts_table(values: dict[tuple[str, str, str], np.ndarray], edges: dict[str, np.ndarray]):
    import pandas as pd

    rows = []
    for (feature, dimension, group), data in values.items():
        for bucket, count in enumerate(bucket_counts(data, edges[feature])):
            rows.append(
                {
                    "feature": feature,
                    "dimension": dimension,
                    "group": group,
                    "bucket": bucket,
                    "rows": int(count),
                }
            )
    return pd.DataFrame(rows)


def test_drift_rows_test_each_feature_and_group_and_adjust_by_bh_like_statsmodels():
    from statsmodels.stats.multitest import multipletests

    from rai_pipeline.core.monitoring.drift import CATEGORICAL, NUMERIC, drift_rows

    ref_age, cur_age = np.round(RNG.normal(40, 10, 2000)), np.round(RNG.normal(43, 10, 800))
    ref_kind, cur_kind = RNG.integers(0, 4, 2000), RNG.integers(0, 4, 800)
    ages = np.unique(np.concatenate([ref_age, cur_age]))
    edges = {"age": ages[1:], "kind": np.array([1, 2, 3])}
    sex_ref, sex_cur = RNG.integers(0, 2, 2000), RNG.integers(0, 2, 800)
    reference, window = {}, {}
    for feature, r, c in (("age", ref_age, cur_age), ("kind", ref_kind, cur_kind)):
        reference[(feature, "overall", "all")], window[(feature, "overall", "all")] = r, c
        for code, group in enumerate(("F", "M")):
            reference[(feature, "sex", group)] = r[sex_ref == code]
            window[(feature, "sex", group)] = c[sex_cur == code]
    table = drift_rows(
        _counts_table(reference, edges),
        _counts_table(window, edges),
        {"age": NUMERIC, "kind": CATEGORICAL},
    )
    assert len(table) == 6
    for row in table.itertuples():
        r, c = (
            reference[(row.feature, row.dimension, row.group)],
            window[(row.feature, row.dimension, row.group)],
        )
        if row.feature == "age":
            assert row.statistic == pytest.approx(stats.ks_2samp(r, c, method="asymp").statistic)
        else:
            table_rc = np.vstack([np.bincount(r, minlength=4), np.bincount(c, minlength=4)])
            expected = stats.chi2_contingency(table_rc, correction=False)
            assert row.statistic == pytest.approx(expected.statistic)
    _, adjusted, _, _ = multipletests(table["p_value"], method="fdr_bh")
    np.testing.assert_allclose(table["p_adjusted"], adjusted, rtol=1e-12)
