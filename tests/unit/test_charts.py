"""The disparity chart reads correctly: differences and ratios on separate axes, ticks at
the band edges, each dot inside or outside its band as the numbers are, and an interval that
runs past the axis ends in a visible marker, not cut off."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from rai_pipeline.core.evidence.charts import RATIO_FLOOR, disparity_axis, disparity_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
ROWS = [
    {"metric": "demographic_parity_difference", "value": 0.15, "ci_lower": 0.09,
     "ci_upper": 0.24, "threshold_lower": 0.0, "threshold_upper": 0.1, "verdict": "fail"},
    {"metric": "demographic_parity_ratio", "value": 0.9, "ci_lower": 0.82, "ci_upper": 0.97,
     "threshold_lower": 0.8, "threshold_upper": 1.25, "verdict": "pass"},
    {"metric": "equalized_odds_ratio", "value": 0.11, "ci_lower": 0.01, "ci_upper": 0.72,
     "threshold_lower": 0.8, "threshold_upper": 1.25, "verdict": "fail"},
]  # fmt: skip


def panels():
    svg = disparity_chart_svg(ROWS)
    root = ET.fromstring(f"<div>{svg}</div>")
    return {p.attrib["aria-label"]: p for p in root.findall(f"{SVG}svg")}


def test_differences_and_ratios_have_their_own_axes_with_ticks_at_the_band_edges():
    found = panels()
    assert set(found) == {"Differences (0 = equal)", "Ratios (log scale; 1 = equal)"}
    ticks = {
        name: {t.text for t in panel.iter(f"{SVG}text") if t.attrib.get("class") == "tick"}
        for name, panel in found.items()
    }
    assert {"0", "0.1"} <= ticks["Differences (0 = equal)"]
    assert {"0.8", "1", "1.25"} <= ticks["Ratios (log scale; 1 = equal)"]
    labels = {
        name: [t.text for t in panel.iter(f"{SVG}text") if t.attrib.get("text-anchor") == "end"]
        for name, panel in found.items()
    }
    assert labels["Differences (0 = equal)"] == ["demographic_parity_difference"]
    assert labels["Ratios (log scale; 1 = equal)"] == [
        "demographic_parity_ratio",
        "equalized_odds_ratio",
    ]


def test_a_dot_lies_inside_its_band_exactly_when_its_value_does():
    ratios = panels()["Ratios (log scale; 1 = equal)"]
    bands = [r for r in ratios.iter(f"{SVG}rect")]
    dots = list(ratios.iter(f"{SVG}circle"))
    assert len(bands) == 2 and len(dots) == 2
    for band, dot, row in zip(bands, dots, ROWS[1:], strict=True):
        x, w, cx = float(band.attrib["x"]), float(band.attrib["width"]), float(dot.attrib["cx"])
        inside = row["threshold_lower"] <= row["value"] <= row["threshold_upper"]
        assert (x <= cx <= x + w) is inside


def test_an_interval_past_the_axis_ends_in_a_marker_at_the_edge():
    lo, _ = disparity_axis(ROWS[1:], ratio=True)
    assert lo >= RATIO_FLOOR and lo > 0.01  # the lower end 0.01 is off the axis
    ratios = panels()["Ratios (log scale; 1 = equal)"]
    markers = [m for m in ratios.iter(f"{SVG}polygon") if m.attrib.get("class") == "clipped"]
    assert len(markers) == 1
    tip = float(markers[0].attrib["points"].split()[0].split(",")[0])
    edge = min(float(line.attrib["x1"]) for line in ratios.iter(f"{SVG}line"))
    assert tip < edge  # it points out of the axis, to the left
    assert not any(math.isnan(float(c.attrib["cx"])) for c in ratios.iter(f"{SVG}circle"))
