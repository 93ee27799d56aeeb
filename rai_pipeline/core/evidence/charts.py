"""Inline SVG charts for the HTML report: no scripts, no external files, viewable offline."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def line_chart_svg(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
    marker_x: float | None = None,
    intervals: Sequence[tuple[Sequence[float], Sequence[float]]] | None = None,
    width: int = 360,
    height: int = 300,
    y_max: float = 1.0,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    threshold: float | None = None,
) -> str:
    """Lines on the unit square (x and y in [0, 1]) with a legend; NaN points are skipped.
    ``intervals`` (per series: the lower and upper y of each point) draws a vertical whisker
    through each point. ``y_max`` stretches the y axis to [0, y_max] (values above it are
    drawn at the top), ``x_ticks`` labels x positions (e.g. days), ``threshold`` draws a
    dashed horizontal line at that y."""
    left, top, plot_w, plot_h = 44, 24, width - 60, height - 110

    def sx(x: float) -> float:
        return left + x * plot_w

    def sy(y: float) -> float:
        return top + (1 - min(y / y_max, 1.0)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart curve" role="img" '
        f'aria-label="{html.escape(title)}" width="{width}" height="{height}">',
        f'<text x="{left}" y="14" font-size="12" font-weight="600">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="#999"/>',
    ]
    for tick, label in x_ticks if x_ticks is not None else [(t, str(t)) for t in (0, 0.5, 1)]:
        parts.append(
            f'<text class="tick" x="{sx(tick):.1f}" y="{top + plot_h + 14}" font-size="10" '
            f'text-anchor="middle">{html.escape(label)}</text>'
        )
    for tick in (0, 0.5, 1):
        y_tick = tick * y_max
        parts.append(
            f'<text x="{left - 4}" y="{sy(y_tick) + 3:.1f}" font-size="10" '
            f'text-anchor="end">{y_tick:.3g}</text>'
        )
    if threshold is not None:
        parts.append(
            f'<line class="threshold" x1="{left}" y1="{sy(threshold):.1f}" x2="{left + plot_w}" '
            f'y2="{sy(threshold):.1f}" stroke="#c00" stroke-dasharray="5 3"/>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 28}" font-size="11" '
        f'text-anchor="middle">{html.escape(x_label)}</text>'
        f'<text x="12" y="{top + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{html.escape(y_label)}</text>'
    )
    if diagonal:
        parts.append(
            f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="#bbb" '
            f'stroke-dasharray="4 3"/>'
        )
    if marker_x is not None and 0 <= marker_x <= 1:
        parts.append(
            f'<line x1="{sx(marker_x):.1f}" y1="{top}" x2="{sx(marker_x):.1f}" '
            f'y2="{top + plot_h}" stroke="#222" stroke-dasharray="2 2"/>'
        )
    for index, (name, xs, ys) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = [
            f"{sx(x):.1f},{sy(y):.1f}"
            for x, y in zip(map(_num, xs), map(_num, ys), strict=True)
            if math.isfinite(x) and math.isfinite(y)
        ]
        if points:
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="1.6" '
                f'points="{" ".join(points)}"/>'
            )
        if intervals is not None:
            lows, highs = intervals[index]
            for x, low, high in zip(map(_num, xs), map(_num, lows), map(_num, highs), strict=True):
                if all(math.isfinite(v) for v in (x, low, high)):
                    parts.append(
                        f'<line class="whisker" x1="{sx(x):.1f}" y1="{sy(low):.1f}" '
                        f'x2="{sx(x):.1f}" y2="{sy(high):.1f}" stroke="{color}" '
                        f'stroke-opacity="0.5"/>'
                    )
        legend_y = top + plot_h + 44 + 14 * (index // 2)
        legend_x = left + (index % 2) * (plot_w / 2)
        parts.append(
            f'<rect x="{legend_x:.1f}" y="{legend_y - 8}" width="10" height="10" '
            f'fill="{color}"/><text x="{legend_x + 14:.1f}" y="{legend_y + 1}" '
            f'font-size="10">{html.escape(str(name))[:28]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


RATIO_FLOOR = 0.05  # the ratio axis (log scale) starts here; smaller values are clipped


def _is_ratio(row: Mapping[str, Any]) -> bool:
    return str(row["metric"]).endswith("_ratio")


def disparity_axis(rows: Sequence[Mapping[str, Any]], *, ratio: bool) -> tuple[float, float]:
    """The axis range of a panel: differences on [0, up to 1] wide enough for three band
    widths and every interval; ratios on a log scale from :data:`RATIO_FLOOR` (or the lowest
    band edge's half) to past the band's upper edge."""
    bands = [_num(r[k]) for r in rows for k in ("threshold_lower", "threshold_upper")]
    values = [_num(r[k]) for r in rows for k in ("value", "ci_lower", "ci_upper")]
    finite = [v for v in values if math.isfinite(v)]
    if ratio:
        lowest_band = min((b for b in bands if math.isfinite(b) and b > 0), default=0.8)
        low = min(lowest_band / 2, max(RATIO_FLOOR, min((v for v in finite if v > 0), default=1)))
        high = max(1.5, *(b * 1.2 for b in bands if math.isfinite(b)))
        return max(RATIO_FLOOR, low), high
    band_high = max((b for b in bands if math.isfinite(b)), default=0.1)
    return 0.0, min(1.0, max(3 * band_high, *finite, 0.0) * 1.05 or 1.0)


def _disparity_panel(rows: Sequence[Mapping[str, Any]], *, ratio: bool, width: int) -> list[str]:
    """One panel: each row's band shaded, its interval as a whisker and its value as a dot;
    an end beyond the axis is drawn at the edge as a triangle pointing out."""
    row_h, left, right, top = 24, 230, 40, 22
    lo, hi = disparity_axis(rows, ratio=ratio)

    def forward(x: float) -> float:
        return math.log(x) if ratio else x

    span = forward(hi) - forward(lo)
    scale = (width - left - right) / span

    def sx(x: float) -> float:
        clipped = min(max(x, lo), hi)
        return left + (forward(clipped) - forward(lo)) * scale

    height = top + row_h * len(rows) + 26
    title = "Ratios (log scale; 1 = equal)" if ratio else "Differences (0 = equal)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart disparity" role="img" '
        f'aria-label="{title}" width="{width}" height="{height}">',
        f'<text x="{left}" y="14" font-size="12" font-weight="600">{title}</text>',
    ]
    edges = {_num(r[k]) for r in rows for k in ("threshold_lower", "threshold_upper")}
    ticks = {lo, hi, 1.0 if ratio else 0.0, *(e for e in edges if math.isfinite(e))}
    for tick in sorted(t for t in ticks if lo <= t <= hi):
        edge = tick in edges
        parts.append(
            f'<line x1="{sx(tick):.1f}" y1="{top}" x2="{sx(tick):.1f}" y2="{height - 20}" '
            f'stroke="{"#7a9f73" if edge else "#eee"}"/><text x="{sx(tick):.1f}" '
            f'y="{height - 6}" font-size="10" text-anchor="middle" class="tick">{tick:.3g}</text>'
        )
    for i, row in enumerate(rows):
        y = top + i * row_h + 4
        band_lo, band_hi = _num(row["threshold_lower"]), _num(row["threshold_upper"])
        parts.append(
            f'<rect x="{sx(band_lo):.1f}" y="{y}" width="{sx(band_hi) - sx(band_lo):.1f}" '
            f'height="18" fill="#d9f0d3"/>'
            f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end">'
            f"{html.escape(str(row['metric']))}</text>"
        )
        value, lower, upper = (_num(row[k]) for k in ("value", "ci_lower", "ci_upper"))
        color = {"pass": "#1a7f37", "fail": "#b42318"}.get(str(row["verdict"]), "#9a6700")
        if math.isfinite(lower) and math.isfinite(upper):
            parts.append(
                f'<line x1="{sx(lower):.1f}" y1="{y + 9}" x2="{sx(upper):.1f}" y2="{y + 9}" '
                f'stroke="{color}" stroke-width="2"/>'
            )
            for end, out, pointing in ((lower, lower < lo, -1), (upper, upper > hi, 1)):
                if out:
                    parts.append(_clip_marker(sx(end), y + 9, pointing, color))
        if math.isfinite(value):
            if lo <= value <= hi:
                parts.append(f'<circle cx="{sx(value):.1f}" cy="{y + 9}" r="4" fill="{color}"/>')
            else:
                parts.append(_clip_marker(sx(value), y + 9, -1 if value < lo else 1, color))
    parts.append("</svg>")
    return parts


def _clip_marker(x: float, y: float, pointing: int, color: str) -> str:
    """A triangle at the axis edge pointing the way the clipped end goes."""
    tip = x + 6 * pointing
    return (
        f'<polygon class="clipped" points="{tip:.1f},{y:.1f} {x:.1f},{y - 5:.1f} '
        f'{x:.1f},{y + 5:.1f}" fill="{color}"/>'
    )


def disparity_chart_svg(rows: Sequence[Mapping[str, Any]], *, width: int = 560) -> str:
    """Aggregate disparities with interval whiskers against their policy bands (shaded):
    differences and ratios in separate panels, each on its own axis with ticks at the band
    edges; an interval or value beyond the axis ends in a triangle at the edge."""
    differences = [r for r in rows if not _is_ratio(r)]
    ratios = [r for r in rows if _is_ratio(r)]
    parts: list[str] = []
    for panel, ratio in ((differences, False), (ratios, True)):
        if panel:
            parts += _disparity_panel(panel, ratio=ratio, width=width)
    return "".join(parts)


def bar_chart_svg(groups: Sequence[Mapping[str, Any]], metric: str, *, width: int = 560) -> str:
    """A horizontal bar chart of one rate per group with interval whiskers, as inline SVG."""
    rows = [g for g in groups if metric in g["metrics"]]
    row_h, left, right = 22, 170, 60
    height = row_h * len(rows) + 30
    scale = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{html.escape(metric)} by group" width="{width}" height="{height}">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">{tick}</text>'
        )
    for i, group in enumerate(rows):
        cell = group["metrics"][metric]
        y = i * row_h + 4
        value = cell["raw"]
        label = html.escape(str(group["group"])[:26])
        faded = ' fill-opacity="0.35"' if group["status"] != "ok" else ""
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end">{label}</text>'
        )
        if isinstance(value, float) and not math.isnan(value):
            parts.append(
                f'<rect x="{left}" y="{y}" width="{value * scale:.1f}" height="16" '
                f'fill="#4c78a8"{faded}/>'
            )
            lower, upper = cell["lower"], cell["upper"]
            if not (math.isnan(lower) or math.isnan(upper)):
                x1, x2 = left + lower * scale, left + upper * scale
                parts.append(
                    f'<line x1="{x1:.1f}" y1="{y + 8}" x2="{x2:.1f}" y2="{y + 8}" stroke="#222"/>'
                    f'<line x1="{x1:.1f}" y1="{y + 3}" x2="{x1:.1f}" y2="{y + 13}" stroke="#222"/>'
                    f'<line x1="{x2:.1f}" y1="{y + 3}" x2="{x2:.1f}" y2="{y + 13}" stroke="#222"/>'
                )
            parts.append(
                f'<text x="{left + scale + 6}" y="{y + 13}" font-size="11">{value:.3f}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
