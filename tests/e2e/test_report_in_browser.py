"""The HTML fairness report renders in a real browser (Debian Chromium, headless) without
console errors, with its charts present. A screenshot is kept under test-artifacts/."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rai_pipeline.cli import app
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


def evaluate_file_pack(folder):
    """An evaluate-file pack of two groups with a disparity, from a score column."""
    rng = np.random.default_rng(5)
    n = 3000
    group = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    label = rng.binomial(1, np.where(group == "a", 0.45, 0.2))
    score = np.clip(
        0.35 * label + np.where(group == "a", 0.2, 0.05) + rng.normal(0.2, 0.15, n), 0, 1
    )
    pd.DataFrame({"label": label, "score": score.round(4), "g": group}).to_csv(
        folder / "data.csv", index=False
    )
    (folder / "c.yaml").write_text(
        "columns: {label: label, score: score}\nsensitive_features: [g]\n"
    )
    result = CliRunner().invoke(
        app,
        ["evaluate-file", str(folder / "data.csv"), "--config", str(folder / "c.yaml"),
         "--out", str(folder / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "out"


@pytest.mark.parametrize("source", ["demo", "evaluate-file"])
def test_the_first_screen_holds_the_verdict_summary_and_recommendations(demo, tmp_path, source):
    pack = demo[1][-1].pack if source == "demo" else evaluate_file_pack(tmp_path)
    register = pd.read_csv(pack / "risk_register.csv")
    dimensions = list(dict.fromkeys(register["dimension"]))
    height = 900
    with browser_page(width=1200, height=height) as (page, errors):
        page.goto((pack / "fairness_report.html").as_uri())
        page.wait_for_load_state("load")
        verdict = page.locator("p.gate").bounding_box()
        lead = page.locator("section.lead").bounding_box()
        advice = page.locator("section.lead ul.advice > li").all_text_contents()
        details_open = page.locator("section.lead details").get_attribute("open")
        page.screenshot(path=str(ARTIFACTS / f"first_screen_{source}.png"))
    assert errors == []
    assert verdict["y"] >= 0 and lead["y"] > verdict["y"]
    assert lead["y"] + lead["height"] <= height, (lead, "summary and recommendations overflow")
    # one line per dimension with blocking findings, counting the register's entries
    assert [line.split(":")[0] for line in advice] == dimensions
    for line, dimension in zip(advice, dimensions, strict=True):
        count = int((register["dimension"] == dimension).sum())
        assert f"{count} finding" in line
    assert details_open is None  # each finding's full text waits behind a click
