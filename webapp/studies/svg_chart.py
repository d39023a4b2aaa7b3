"""A study's charts as standalone SVG, drawn on the server from the numbers (for the API and downloads).

Hand-written SVG, no plotting library: axes with ticks, one polyline per series with its points
and min/max whiskers, dashed reference lines (the ideal speedup), dotted fitted curves, a legend.
The page draws the same charts with Chart.js; these are for papers, slides and `curl`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 64, 230, 42, 52  # margins; the legend sits in the right one
PALETTE = ["#2456a6", "#c0392b", "#1d7a3e", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#b7950b", "#2c3e50", "#e84393"]

CHARTS = {
    "speedup": ("Speedup vs workers", "speedup over the sequential run (×)"),
    "time": ("Wall time vs workers", "wall time (s), median with min–max"),
    "efficiency": ("Parallel efficiency vs workers", "efficiency S/p"),
    "karp_flatt": ("Karp–Flatt metric vs workers", "experimental serial fraction e"),
}


@dataclass
class Line:
    label: str
    color: str
    points: list[tuple[float, float]]
    whiskers: list[tuple[float, float, float]] = field(default_factory=list)  # (x, low, high)
    dash: str = ""  # SVG stroke-dasharray
    markers: bool = True


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e4 else f"{value:.3g}"


def render(title: str, x_label: str, y_label: str, lines: list[Line], subtitle: str = "") -> str:
    xs = [x for line in lines for x, _ in line.points] or [1.0]
    ys = [y for line in lines for _, y in line.points] + [
        v for line in lines for _, lo, hi in line.whiskers for v in (lo, hi)
    ]
    ys = ys or [0.0, 1.0]
    x_ticks = nice_ticks(min(1.0, min(xs)), max(xs), count=min(8, max(1, int(max(xs) - min(xs)) or 1)))
    y_ticks = nice_ticks(min(0.0, min(ys)), max(ys) * 1.05)
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y - y0) / ((y1 - y0) or 1) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{LEFT}" y="20" font-size="15" font-weight="600">{escape(title)}</text>',
    ]
    if subtitle:
        out.append(f'<text x="{LEFT}" y="35" fill="#5d6678">{escape(subtitle)}</text>')
    for t in y_ticks:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#e3e7ee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in x_ticks:
        out.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#f0f2f6"/>')
        out.append(f'<text x="{px(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#5d6678"/>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(
        f'<text transform="translate(16 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>'
    )
    for index, line in enumerate(lines):
        stroke = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line.points)
        out.append(f'<g data-series="{escape(line.label)}">')
        if len(line.points) > 1:
            out.append(f'<polyline points="{path}" fill="none" stroke="{line.color}" stroke-width="2"{stroke}/>')
        for x, low, high in line.whiskers:
            out.append(
                f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{py(low):.1f}" y2="{py(high):.1f}" stroke="{line.color}"/>'
            )
        if line.markers:
            for x, y in line.points:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{line.color}"/>')
        out.append("</g>")
        legend_y = TOP + 8 + index * 18
        legend_x = LEFT + plot_w + 14
        out.append(
            f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="{legend_y}" y2="{legend_y}" stroke="{line.color}" '
            f'stroke-width="2"{stroke}/>'
        )
        out.append(f'<text x="{legend_x + 28}" y="{legend_y + 4}">{escape(line.label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def study_chart(series: list[dict[str, Any]], chart: str, title: str) -> str:
    """One of CHARTS for a study's analysis (``selectors.series_with_marks``)."""
    name, y_label = CHARTS[chart]
    parallel = [s for s in series if not s["is_baseline"]]
    top = max((p["workers"] for s in series for p in s["points"]), default=1)
    lines: list[Line] = []
    if chart == "speedup":
        lines.append(Line("ideal (S = p)", "#9aa3b2", [(1, 1), (top, top)], dash="6 4", markers=False))
    if chart == "efficiency":
        lines.append(Line("ideal (E = 1)", "#9aa3b2", [(1, 1), (top, 1)], dash="6 4", markers=False))
    shown = series if chart == "time" else parallel
    for index, s in enumerate(shown):
        color = PALETTE[index % len(PALETTE)]
        points = s["points"]
        if chart == "time":
            if s["is_baseline"]:
                median = points[0]["median"]
                lines.append(Line(f"{s['label']} (baseline)", color, [(1, median), (top, median)], dash="2 3"))
                continue
            xy = [(p["workers"], p["median"]) for p in points]
            whiskers = [(p["workers"], p["min"], p["max"]) for p in points]
        elif chart == "speedup":
            xy = [(p["workers"], p["speedup"]) for p in points if p["speedup"] is not None]
            whiskers = [(p["workers"], p["speedup_min"], p["speedup_max"]) for p in points if p["speedup"] is not None]
        elif chart == "efficiency":
            xy = [(p["workers"], p["efficiency"]) for p in points if p["efficiency"] is not None]
            whiskers = []
        else:
            xy = [(p["workers"], p["karp_flatt"]) for p in points if p["karp_flatt"] is not None]
            whiskers = []
        lines.append(Line(s["label"], color, xy, whiskers))
        if chart == "speedup" and s["amdahl"]:
            fit = s["amdahl"]
            curve = [(p, v) for p, v in fit["curve"]]
            lines.append(
                Line(f"  Amdahl fit, f = {fit['serial_fraction']:.3f}", color, curve, dash="1 3", markers=False)
            )
    return render(f"{name}", "workers", y_label, lines, subtitle=title)
