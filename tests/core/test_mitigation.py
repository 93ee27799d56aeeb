"""The per-group threshold what-if against fairlearn's ThresholdOptimizer on the same rows.

The rows are scored on histogram edges, so the thresholds ThresholdOptimizer considers (between
distinct scores) and the edges of the threshold curves select the same rows. The oracle's
rule for each group (two threshold operations mixed, and for equalized odds a share of
constant predictions) is applied to the rows with numpy and scored with scikit-learn.
"""

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import ConvexHull
from sklearn.metrics import accuracy_score

from rai_pipeline.core.compiled import LOOPS
from rai_pipeline.core.engine.binning import histogram_edges
from rai_pipeline.core.engine.slices import SliceSpec
from rai_pipeline.core.engine.statistics import compute_score_histograms
from rai_pipeline.core.metrics.mitigation import (
    CONSTRAINT_RATES,
    PER_GROUP,
    SINGLE_THRESHOLD,
    STATUS_NOT_COMPUTED,
    WHATIF_COLUMNS,
    WHATIF_GROUP_COLUMNS,
    group_points,
    threshold_whatif,
    upper_hull,
)
from rai_pipeline.core.metrics.thresholds import threshold_curves
from tests.core.threshold_oracle import oracle

BINS = 200


def rows(seed, sizes=(900, 500, 160), shifts=(0.0, 0.6, -0.4)):
    rng = np.random.default_rng(seed)
    edges = histogram_edges((0.0, 1.0), BINS)
    parts = []
    for k, (n, shift) in enumerate(zip(sizes, shifts, strict=True)):
        label = rng.binomial(1, 0.3 + 0.15 * k, n)
        logit = 1.6 * (label - 0.5) * 2 + shift + rng.normal(0, 1.2, n)
        score = edges[np.clip(np.floor(BINS / (1 + np.exp(-logit))), 0, BINS - 1).astype(int)]
        parts.append(pd.DataFrame({"g": f"g{k}", "label": label, "score": score}))
    return pd.concat(parts, ignore_index=True)


def curves_of(frame):
    conn = duckdb.connect()
    conn.register("ev", frame)
    hist = compute_score_histograms(
        conn,
        relation="ev",
        slices=[SliceSpec(("g",))],
        label="label",
        score="score",
        bins=BINS,
    )
    return threshold_curves(hist)


CASES = [(c, 0.0) for c in CONSTRAINT_RATES] + [
    ("demographic_parity", 0.05),
    ("true_positive_rate_parity", 0.02),
    ("false_positive_rate_parity", 0.05),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("constraint", "tolerance"), CASES)
def test_per_group_thresholds_reach_what_threshold_optimizer_reaches(seed, constraint, tolerance):
    frame = rows(seed)
    whatif = threshold_whatif(curves_of(frame), threshold=0.5)
    assert list(whatif.options.columns) == list(WHATIF_COLUMNS)
    assert list(whatif.groups.columns) == list(WHATIF_GROUP_COLUMNS)
    ours = whatif.groups[
        (whatif.groups["constraint"] == constraint) & (whatif.groups["tolerance"] == tolerance)
    ].set_index("group")
    expected = oracle(frame, constraint, tolerance)
    assert sorted(ours.index) == sorted(expected)
    for group, rates in expected.items():
        for rate, value in rates.items():
            assert ours.loc[group, rate] == pytest.approx(value, abs=1e-9), (group, rate)
    option = whatif.options[
        (whatif.options["constraint"] == constraint)
        & (whatif.options["option"] == PER_GROUP)
        & (whatif.options["tolerance"] == tolerance)
    ].iloc[0]
    weights = frame["g"].value_counts(normalize=True)
    overall = sum(weights[g] * expected[g]["accuracy"] for g in expected)
    assert option["accuracy"] == pytest.approx(overall, abs=1e-9)
    spans = [np.ptp([expected[g][r] for g in expected]) for r in CONSTRAINT_RATES[constraint]]
    assert option["disparity"] == pytest.approx(max(spans), abs=1e-9)
    assert option["disparity"] <= tolerance + 1e-9


def test_the_single_threshold_row_is_the_decision_in_use():
    frame = rows(3)
    whatif = threshold_whatif(curves_of(frame), threshold=0.5)
    current = whatif.options[whatif.options["option"] == SINGLE_THRESHOLD]
    assert len(current) == len(CONSTRAINT_RATES)
    decided = (frame["score"] >= 0.5).astype(int)
    accuracy = accuracy_score(frame["label"], decided)
    assert current["accuracy"].to_numpy() == pytest.approx(accuracy, abs=1e-12)
    rates = frame.assign(d=decided).groupby("g")["d"].mean()
    dp = current[current["constraint"] == "demographic_parity"].iloc[0]
    assert dp["disparity"] == pytest.approx(rates.max() - rates.min(), abs=1e-12)
    per_group = whatif.options[
        (whatif.options["option"] == PER_GROUP) & (whatif.options["constraint"] == dp["constraint"])
    ]
    np.testing.assert_allclose(
        per_group["accuracy_change"], per_group["accuracy"] - accuracy, atol=1e-12
    )
    # a looser tolerance never costs more accuracy than a tighter one
    assert per_group.sort_values("tolerance")["accuracy"].is_monotonic_increasing


def test_a_group_without_positives_is_named_not_optimised():
    frame = rows(4)
    frame.loc[frame["g"] == "g2", "label"] = 0
    options = threshold_whatif(curves_of(frame), threshold=0.5).options
    assert (options["status"] == STATUS_NOT_COMPUTED).all()
    assert options["note"].str.contains("group g2 has no positives").all()


HULL_LOOPS = {"compiled": LOOPS, "python": None}


@pytest.fixture(params=sorted(HULL_LOOPS))
def loops(request):
    """The monotone chain in C (built by the install) or in Python."""
    return HULL_LOOPS[request.param]


def test_the_hull_drops_points_under_a_chord_and_keeps_the_highest_of_equal_x(loops):
    x = np.array([0.0, 0.0, 0.5, 0.5, 1.0, 0.25])
    y = np.array([0.1, 0.4, 0.6, 0.9, 0.2, 0.5])
    hull = upper_hull(x, y, loops=loops)
    assert hull.x.tolist() == [0.0, 0.5, 1.0]
    assert hull.y.tolist() == [0.4, 0.9, 0.2]
    assert hull.index.tolist() == [1, 3, 4]


@pytest.mark.parametrize("seed", range(12))
def test_the_hull_is_the_upper_chain_of_scipys_convex_hull(seed, loops):
    """Points in general position: the upper hull is the convex hull's vertices on or above
    the line from the leftmost to the rightmost point (qhull, an independent algorithm)."""
    rng = np.random.default_rng(seed)
    x, y = rng.random(200 + 37 * seed), rng.random(200 + 37 * seed)
    y = y - 2 * (x - 0.5) ** 2 if seed % 2 else y  # concave clouds too: more points kept
    left, right = int(np.argmin(x)), int(np.argmax(x))
    slope = (y[right] - y[left]) / (x[right] - x[left])
    vertices = ConvexHull(np.column_stack([x, y])).vertices
    upper = [v for v in vertices if y[v] >= y[left] + slope * (x[v] - x[left]) - 1e-12]
    expected = sorted(upper, key=lambda v: x[v])
    assert upper_hull(x, y, loops=loops).index.tolist() == expected


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_chain_keeps_the_points_the_python_chain_keeps(seed):
    """Rates of real threshold curves (many equal x, collinear runs, exact zeros and ones)."""
    curves = curves_of(rows(seed))
    points = [
        p
        for d in curves["dimension"].unique()
        for p in group_points(curves[curves["dimension"] == d])
    ]
    assert len(points) >= 3
    for p in points:
        for x, y in [
            (p.rate("selection_rate"), p.rate("accuracy")),
            (p.rate("true_positive_rate"), p.rate("accuracy")),
            (p.rate("false_positive_rate"), p.rate("true_positive_rate")),
        ]:
            compiled, python = upper_hull(x, y, loops=LOOPS), upper_hull(x, y, loops=None)
            assert compiled.index.tolist() == python.index.tolist()
            assert len(compiled.index) >= 2


def test_the_compiled_chain_refuses_what_it_cannot_read():
    x, y = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    kept = np.empty(2, dtype=np.int64)
    with pytest.raises(ValueError, match="index 5 outside"):
        LOOPS.upper_hull(x, y, np.array([0, 5], dtype=np.int64), kept)
    with pytest.raises(TypeError, match="x"):
        LOOPS.upper_hull(x.astype(np.float32), y, np.array([0, 1], dtype=np.int64), kept)
    with pytest.raises(ValueError, match="kept"):
        LOOPS.upper_hull(x, y, np.array([0, 1], dtype=np.int64), kept[:1])
