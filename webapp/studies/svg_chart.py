"""A study's charts as standalone SVG, drawn on the server from the numbers (for the API and downloads).

Hand-written SVG, no plotting library: axes with ticks, one polyline per series with its points
and min/max whiskers, dashed reference lines (the ideal speedup), dotted fitted curves, a legend.
The page draws the same charts with Chart.js; these are for papers, slides and `curl`.

The chart style (each series' colour and marker, whether time is drawn on a log axis) is decided
here once, by ``chart_style``; the study's JSON carries it to the page, so both draw alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 64, 230, 42, 52  # margins; the legend sits in the right one
# Okabe & Ito, "Color Universal Design" (2008): told apart with every common colour-vision deficiency.
# Its black and yellow are left out: one vanishes on the dark theme, the other on white.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
# A series' colour says its backend, its marker its implementation (Chart.js pointStyle names):
# ten look-alike colours for 5 backends × 2 implementations become five colours and two shapes.
MARKERS = ["circle", "triangle", "rect", "rectRot"]
REFERENCE = "#8c93a0"  # the ideal lines: a grey readable on white and on the dark theme
LOG_TIME_RATIO = 20  # slowest / fastest time beyond which time is drawn on a log axis (native fib is ~50× faster)

CHARTS = {
    "speedup": ("Speedup vs workers", "speedup over the sequential run (×)"),
    "time": ("Wall time vs workers", "wall time (s), median with its 95% interval"),
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
    marker: str = "circle"  # one of MARKERS, or "" for none


def chart_style(series: list[dict[str, Any]]) -> dict[str, Any]:
    """How the charts draw a study's series (``selectors.series_with_marks``): a colour per backend and
    a marker per implementation, in the order the study lists them, and whether time needs a log axis."""
    backends = list(dict.fromkeys(s["backend"] for s in series))
    implementations = list(dict.fromkeys(s["implementation"] for s in series))
    times = [t for s in series for p in s["points"] for t in (p["min"], p["max"]) if t and t > 0]
    return {
        "colors": {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(backends)},
        "markers": {name: MARKERS[index % len(MARKERS)] for index, name in enumerate(implementations)},
        "reference": REFERENCE,
        "log_time": bool(times) and max(times) / min(times) > LOG_TIME_RATIO,
    }


def log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5 × 10^k from the last such value at or below ``low`` to the first at or above ``high``."""
    candidates = [
        float(f"{mantissa}e{exponent}")  # not mantissa * 10**exponent, which gives 0.30000000000000004
        for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for mantissa in (1, 2, 5)
    ]
    first = max(value for value in candidates if value <= low)
    last = min(value for value in candidates if value >= high)
    return [value for value in candidates if first <= value <= last]


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


def marker_svg(shape: str, x: float, y: float, color: str, size: float = 3.5) -> str:
    """The point markers Chart.js draws for the same pointStyle names."""
    if shape == "triangle":
        points = f"{x:.1f},{y - size * 1.2:.1f} {x - size * 1.1:.1f},{y + size * 0.8:.1f} {x + size * 1.1:.1f},{y + size * 0.8:.1f}"
        return f'<polygon points="{points}" fill="{color}"/>'
    if shape == "rect":
        return f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size}" height="{2 * size}" fill="{color}"/>'
    if shape == "rectRot":
        d = size * 1.3
        points = f"{x:.1f},{y - d:.1f} {x + d:.1f},{y:.1f} {x:.1f},{y + d:.1f} {x - d:.1f},{y:.1f}"
        return f'<polygon points="{points}" fill="{color}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size}" fill="{color}"/>'


def render(title: str, x_label: str, y_label: str, lines: list[Line], subtitle: str = "", log_y: bool = False) -> str:
    xs = [x for line in lines for x, _ in line.points] or [1.0]
    ys = [y for line in lines for _, y in line.points] + [
        v for line in lines for _, lo, hi in line.whiskers for v in (lo, hi)
    ]
    ys = ys or [0.0, 1.0]
    log_y = log_y and min(ys) > 0
    x_ticks = nice_ticks(min(1.0, min(xs)), max(xs), count=min(8, max(1, int(max(xs) - min(xs)) or 1)))
    y_ticks = log_ticks(min(ys), max(ys)) if log_y else nice_ticks(min(0.0, min(ys)), max(ys) * 1.05)
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    scale = math.log10 if log_y else float
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (scale(y) - scale(y0)) / ((scale(y1) - scale(y0)) or 1) * plot_h

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
        if line.marker:
            for x, y in line.points:
                out.append(marker_svg(line.marker, px(x), py(y), line.color))
        out.append("</g>")
        legend_y = TOP + 8 + index * 18
        legend_x = LEFT + plot_w + 14
        out.append(
            f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="{legend_y}" y2="{legend_y}" stroke="{line.color}" '
            f'stroke-width="2"{stroke}/>'
        )
        if line.marker:
            out.append(marker_svg(line.marker, legend_x + 11, legend_y, line.color))
        out.append(f'<text x="{legend_x + 28}" y="{legend_y + 4}">{escape(line.label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def study_chart(series: list[dict[str, Any]], chart: str, title: str) -> str:
    """One of CHARTS for a study's analysis (``selectors.series_with_marks``), styled by ``chart_style``."""
    name, y_label = CHARTS[chart]
    style = chart_style(series)
    parallel = [s for s in series if not s["is_baseline"]]
    top = max((p["workers"] for s in series for p in s["points"]), default=1)
    lines: list[Line] = []
    if chart == "speedup":
        lines.append(Line("ideal (S = p)", REFERENCE, [(1, 1), (top, top)], dash="6 4", marker=""))
    if chart == "efficiency":
        lines.append(Line("ideal (E = 1)", REFERENCE, [(1, 1), (top, 1)], dash="6 4", marker=""))
    shown = series if chart == "time" else parallel
    for s in shown:
        color, marker = style["colors"][s["backend"]], style["markers"][s["implementation"]]
        points = s["points"]
        if chart == "time":
            if s["is_baseline"]:
                median = points[0]["median"]
                lines.append(
                    Line(f"{s['label']} (baseline)", color, [(1, median), (top, median)], dash="2 3", marker="")
                )
                continue
            xy = [(p["workers"], p["median"]) for p in points]
            whiskers = [(p["workers"], p["low"], p["high"]) for p in points]
        elif chart == "speedup":
            clear = [p for p in points if p["speedup"] is not None and p["speedup_clear"]]  # as the page draws them
            xy = [(p["workers"], p["speedup"]) for p in clear]
            whiskers = [(p["workers"], p["speedup_low"], p["speedup_high"]) for p in clear]
        elif chart == "efficiency":
            xy = [(p["workers"], p["efficiency"]) for p in points if p["efficiency"] is not None]
            whiskers = []
        else:
            xy = [(p["workers"], p["karp_flatt"]) for p in points if p["karp_flatt"] is not None]
            whiskers = []
        lines.append(Line(s["label"], color, xy, whiskers, marker=marker))
        if chart == "speedup" and s["amdahl"]:
            fit = s["amdahl"]
            curve = [(p, v) for p, v in fit["curve"]]
            lines.append(Line(f"  Amdahl fit, f = {fit['serial_fraction']:.3f}", color, curve, dash="1 3", marker=""))
    log_y = chart == "time" and style["log_time"]
    return render(name, "workers", f"{y_label}, log scale" if log_y else y_label, lines, subtitle=title, log_y=log_y)
