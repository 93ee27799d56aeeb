"""Threshold curves and calibration from SQL histograms, against scikit-learn on the raw rows."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix

from rai_pipeline.core.engine.slices import OVERALL, build_slices
from rai_pipeline.core.engine.statistics import compute_score_histograms
from rai_pipeline.core.metrics.calibration import (
    CALIBRATION_CURVE_COLUMNS,
    CALIBRATION_ERROR_COLUMNS,
    MSG_CALIBRATION_RANGE,
    calibration_curves,
)
from rai_pipeline.core.metrics.histograms import (
    MSG_COARSE_BINS,
    MSG_COLUMNS,
    MSG_EMPTY,
    MSG_SHAPE,
    REQUIRED_COLUMNS,
    coarsen_histograms,
)
from rai_pipeline.core.metrics.thresholds import (
    MSG_THRESHOLDS,
    THRESHOLD_CURVE_COLUMNS,
    threshold_curves,
)
from tests.core.builders import FEATURES
from tests.core.builders import make_scored_frame as make_frame


def histograms(frame, slices, **options):
    conn = duckdb.connect()
    conn.register("ev", frame)
    return compute_score_histograms(
        conn, relation="ev", slices=slices, label="label", score="score", **options
    )


def oracle_groups(frame, slices):
    """(dimension, group, rows) for the overall slice and each slice's groups."""
    out = [(OVERALL.dimension, "all", frame)]
    for spec in slices:
        labels = frame[list(spec.features)].fillna("unknown").agg("&".join, axis=1)
        for group, rows in sorted(frame.groupby(labels), key=lambda item: item[0]):
            out.append((spec.dimension, group, rows))
    return out


def with_scores_on_edges(frame, bins, lower=0.0, upper=1.0):
    """Put some scores exactly on bin edges, where a careless binning miscounts."""
    frame = frame.copy()
    edges = lower + (upper - lower) * np.arange(bins) / bins
    frame.loc[frame.index[: 3 * bins : 3], "score"] = edges
    return frame


@pytest.mark.parametrize(("bins", "scale"), [(50, False), (1000, False), (40, True)])
def test_threshold_curves_equal_sklearn_confusion_matrices_at_every_edge(bins, scale):
    frame = make_frame(1)
    options = {"bins": bins}
    if scale:
        frame["score"] = frame["score"] * 10 - 4  # margins: the histogram uses the observed range
        options["score_range"] = "auto"
        frame = with_scores_on_edges(frame, bins, frame["score"].min(), frame["score"].max())
    else:
        frame = with_scores_on_edges(frame, bins)
    slices = build_slices(FEATURES)
    hist = histograms(frame, slices, **options)
    curves = threshold_curves(hist)
    assert list(curves.columns) == list(THRESHOLD_CURVE_COLUMNS)
    thresholds = np.sort(hist["bin_lower"].unique())
    checked = 0
    for dimension, group, rows in oracle_groups(frame, slices):
        part = curves[(curves["dimension"] == dimension) & (curves["group"] == group)]
        np.testing.assert_array_equal(part["threshold"].to_numpy(), thresholds)
        y, s = rows["label"].to_numpy(), rows["score"].to_numpy()
        step = max(2, bins // 25)  # every other edge of 50 bins, every 40th of 1000
        for row in part.iloc[::step].itertuples():
            tn, fp, fn, tp = confusion_matrix(y, s >= row.threshold, labels=[0, 1]).ravel()
            assert (row.tp, row.fp, row.tn, row.fn) == (tp, fp, tn, fn)
            assert row.selection_rate == pytest.approx((tp + fp) / len(y), rel=1e-12)
            assert row.true_positive_rate == pytest.approx(tp / (tp + fn), rel=1e-12)
            assert row.false_positive_rate == pytest.approx(fp / (fp + tn), rel=1e-12)
            if tp + fp:
                assert row.precision_score == pytest.approx(tp / (tp + fp), rel=1e-12)
            else:
                assert np.isnan(row.precision_score)
            checked += 1
    assert checked > 150


def test_chosen_thresholds_must_be_edges():
    hist = histograms(make_frame(2), [], bins=1000)
    curves = threshold_curves(hist, thresholds=[0.5, 0.3, 0.5, 0.123])
    assert curves["threshold"].tolist() == [0.123, 0.3, 0.5]
    for bad in ([0.5, 0.1234], [1.0], [-0.001]):
        with pytest.raises(ValueError) as raised:
            threshold_curves(hist, thresholds=bad)
        assert str(raised.value) == MSG_THRESHOLDS.format(
            values=[v for v in bad if v not in (0.5,)], first=0.0, last=0.999
        )


def test_rates_without_their_denominator_are_nan():
    frame = make_frame(3)
    frame.loc[frame["race"] == "Asian", "label"] = 0
    hist = histograms(frame, build_slices(["race"]), bins=10)
    asian = threshold_curves(hist).query("group == 'Asian'")
    assert asian["true_positive_rate"].isna().all()
    assert asian["false_positive_rate"].notna().all()
    top = histograms(frame.assign(score=frame["score"] * 0.5), [], bins=10)
    above = threshold_curves(top, thresholds=[0.5, 0.9])
    assert above["precision_score"].isna().all()  # nothing selected above the highest score
    assert (above["selection_rate"] == 0).all()


@pytest.mark.parametrize("bins", [5, 10, 20])
def test_calibration_equals_sklearn_uniform_bins_on_the_raw_rows(bins):
    frame = make_frame(4)
    inner = np.arange(1, bins) / bins
    assert not np.isin(frame["score"], inner).any()  # sklearn bins edge scores the other way
    slices = build_slices(FEATURES)
    direct = calibration_curves(histograms(frame, slices, bins=bins))
    fine = calibration_curves(histograms(frame, slices, bins=1000), bins=bins)
    assert direct.status == "ok" and direct.reason == ""
    assert list(direct.curve.columns) == list(CALIBRATION_CURVE_COLUMNS)
    assert list(direct.errors.columns) == list(CALIBRATION_ERROR_COLUMNS)
    pd.testing.assert_frame_equal(direct.curve, fine.curve, rtol=1e-12)
    pd.testing.assert_frame_equal(direct.errors, fine.errors, rtol=1e-12)
    for dimension, group, rows in oracle_groups(frame, slices):
        y, s = rows["label"].to_numpy(), rows["score"].to_numpy()
        prob_true, prob_pred = calibration_curve(y, s, n_bins=bins, strategy="uniform")
        part = direct.curve[
            (direct.curve["dimension"] == dimension) & (direct.curve["group"] == group)
        ]
        np.testing.assert_allclose(part["fraction_of_positives"], prob_true, rtol=1e-12)
        np.testing.assert_allclose(part["mean_score"], prob_pred, rtol=1e-12)
        b = np.minimum((s * bins).astype(int), bins - 1)
        counts = np.bincount(b, minlength=bins)
        gaps = np.abs(
            np.bincount(b, weights=y, minlength=bins) - np.bincount(b, weights=s, minlength=bins)
        )
        error = direct.errors[
            (direct.errors["dimension"] == dimension) & (direct.errors["group"] == group)
        ].iloc[0]
        assert error["n"] == len(y)
        assert error["bins_used"] == (counts > 0).sum()
        assert error["expected_calibration_error"] == pytest.approx(gaps.sum() / len(y), rel=1e-9)
        used = counts > 0
        assert error["maximum_calibration_error"] == pytest.approx(
            (gaps[used] / counts[used]).max(), rel=1e-9
        )


def test_calibration_is_skipped_with_a_reason_for_scores_outside_the_unit_interval():
    frame = make_frame(5)
    frame["score"] = np.log(frame["score"] / (1 - frame["score"]))  # logits
    hist = histograms(frame, build_slices(["sex"]), bins=20, score_range="auto")
    result = calibration_curves(hist)
    assert result.status == "skipped"
    assert result.reason == MSG_CALIBRATION_RANGE.format(
        lower=float(frame["score"].min()), upper=float(frame["score"].max())
    )
    assert result.curve.empty and list(result.curve.columns) == list(CALIBRATION_CURVE_COLUMNS)
    assert result.errors.empty and list(result.errors.columns) == list(CALIBRATION_ERROR_COLUMNS)
    assert len(threshold_curves(hist)) == 3 * 20  # thresholds still work on logits


def test_coarsening_equals_a_direct_query():
    frame = make_frame(6)
    slices = build_slices(["race"])
    fine = histograms(frame, slices, bins=1000)
    for bins in (10, 20, 125):
        direct = histograms(frame, slices, bins=bins)
        coarse = coarsen_histograms(fine, bins=bins)
        pd.testing.assert_frame_equal(
            coarse.drop(columns=["sum_score", "sum_sq_score"]),
            direct[coarse.columns].drop(columns=["sum_score", "sum_sq_score"]),
            check_exact=True,
        )
        pd.testing.assert_frame_equal(coarse, direct[coarse.columns], rtol=1e-12)
    for bad in (3, 0, 2.0, True):
        with pytest.raises(ValueError) as raised:
            coarsen_histograms(fine, bins=bad)
        assert str(raised.value) == MSG_COARSE_BINS.format(bins=1000, value=bad)


def test_histograms_that_are_not_dense_are_rejected():
    hist = histograms(make_frame(7), build_slices(["sex"]), bins=4)
    with pytest.raises(ValueError) as raised:
        threshold_curves(hist.drop(columns=["bin_lower"]))
    assert str(raised.value) == MSG_COLUMNS.format(
        missing=["bin_lower"], required=list(REQUIRED_COLUMNS)
    )
    with pytest.raises(ValueError) as raised:
        threshold_curves(hist.iloc[:0])
    assert str(raised.value) == MSG_EMPTY
    broken = [
        hist.iloc[1:],  # a bin missing
        hist.assign(n=hist["n"] - 0.5),  # not counts
        hist.assign(bin_lower=hist["bin_lower"] + np.arange(len(hist)) * 1e-6),  # edges differ
        hist[hist["label"] == 1],  # one label only
        hist.assign(label=hist["label"].astype(object).where(hist.index != 0, "x")),  # text
        hist.assign(label=pd.array(hist["label"].where(hist.index != 0), dtype="Int64")),  # NA
    ]
    for frame in broken:
        with pytest.raises(ValueError) as raised:
            calibration_curves(frame)
        assert str(raised.value) == MSG_SHAPE
