"""The HTML fairness report renders in a real browser (Debian Chromium, headless) without
console errors, with its charts present. A screenshot is kept under test-artifacts/."""

import pytest

from tests.e2e.browser import ARTIFACTS, browser_page


def test_fairness_report_renders_with_charts_and_no_console_errors(demo, tmp_path):
    _, outcomes, _ = demo
    pack = outcomes[-1].pack
    report = pack / "fairness_report.html"
    with browser_page(width=1200, height=900) as (page, errors):
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        dimensions = page.locator("h2", has_text="Groups by").count()
        assert dimensions == 6  # 3 attributes and their 3 pairwise intersections
        assert page.locator('svg[aria-label="selection_rate by group"]').count() == dimensions
        differences = page.locator('svg.chart.disparity[aria-label="Differences (0 = equal)"]')
        ratios = page.locator('svg.chart.disparity[aria-label="Ratios (log scale; 1 = equal)"]')
        assert differences.count() == ratios.count() == dimensions  # separate axes
        ticks = ratios.first.locator("text.tick").all_text_contents()
        assert {"0.8", "1", "1.25"} <= set(ticks)  # ticks at the band edges
        assert {"0", "0.1"} <= set(differences.first.locator("text.tick").all_text_contents())
        assert page.locator("svg.chart.disparity circle").count() >= dimensions
        # calibration points carry their Wilson intervals
        assert page.locator('svg.chart.curve[aria-label^="Calibration"] line.whisker').count() > 0
        # ROC, threshold sensitivity and calibration for each single attribute
        assert page.locator("svg.chart.curve polyline").count() >= 3 * 3
        assert page.locator("svg.chart rect").count() > 0
        assert page.locator("#what-changed").count() == 1
        title = page.title()
        page.screenshot(path=str(ARTIFACTS / "fairness_report.png"), full_page=True)
    assert errors == []
    assert title.startswith("Fairness report: adult-income version")
    assert (ARTIFACTS / "fairness_report.png").stat().st_size > 10_000


@pytest.mark.parametrize("document", ["fairness_report.html"])
def test_report_is_self_contained(demo, document):
    _, outcomes, _ = demo
    html = (outcomes[-1].pack / document).read_text()
    for reference in ('src="http', 'href="http', "url(http", "<script src", "<link "):
        assert reference not in html
