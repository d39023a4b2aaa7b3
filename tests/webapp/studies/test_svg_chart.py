"""The study charts' style (webapp/studies/svg_chart.chart_style): one colour-blind-safe palette and one log-axis
rule for the page and the SVG downloads, log axes labelled below 1 s too."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from kernels.scaling import Sample, analyse
from webapp.studies.svg_chart import MARKERS, PALETTE, chart_style, log_ticks, study_chart

SVG = "{http://www.w3.org/2000/svg}"


def seed_like_series() -> list[dict]:
    """Five backends × python and native; native ~50× faster, as the seed preset measures (so time needs a log axis)."""
    samples = []
    for backend in ("sequential", "threads", "processes", "subprocesses", "mpi"):
        for implementation, t1 in (("python", 6.0), ("native", 0.12)):
            for workers in (1,) if backend == "sequential" else (1, 2, 3):
                for rep in range(3):
                    speedup = (
                        1 if backend in ("sequential", "threads") and implementation == "python" else workers * 0.9
                    )
                    samples.append(Sample(backend, implementation, workers, t1 / speedup * (1 + rep / 100)))
    order = [
        (b, i) for b in ("sequential", "threads", "processes", "subprocesses", "mpi") for i in ("python", "native")
    ]
    return [s.as_dict(upto=3) | {"not_verified": 0} for s in analyse(samples, order=order)]


def test_a_colour_per_backend_and_a_marker_per_implementation_from_one_palette():
    style = chart_style(seed_like_series())
    assert style["colors"] == dict(
        zip(["sequential", "threads", "processes", "subprocesses", "mpi"], PALETTE, strict=False)
    )
    assert style["markers"] == {"python": MARKERS[0], "native": MARKERS[1]}
    assert len(set(style["colors"].values())) == 5  # ten series, five colours, two shapes: no look-alikes
    assert style["log_time"] is True  # 0.04 s to 6 s


def test_the_svg_draws_each_series_in_the_colour_the_page_is_given():
    series = seed_like_series()
    style = chart_style(series)
    root = ET.fromstring(study_chart(series, "efficiency", "seed"))
    for group in root.iter(f"{SVG}g"):
        label = group.get("data-series")
        if label.startswith("ideal") or "Amdahl" in label:
            continue
        backend, implementation = label.split(" × ")
        strokes = {line.get("stroke") for line in group.iter(f"{SVG}polyline")}
        assert strokes == {style["colors"][backend]}, label
        # python points are circles, native ones triangles, as Chart.js draws them on the page
        shapes = {child.tag.removeprefix(SVG) for child in group if child.tag in (f"{SVG}circle", f"{SVG}polygon")}
        assert shapes == ({"circle"} if implementation == "python" else {"polygon"}), label


def test_the_time_chart_has_a_labelled_log_axis_below_one_second():
    svg = study_chart(seed_like_series(), "time", "seed")
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', svg)  # the y axis' tick labels
    assert labels[:4] == ["0.02", "0.05", "0.1", "0.2"] and "1" in labels and "5" in labels and "10" in labels
    assert "wall time (s), median with its 95% interval, log scale" in svg


def test_log_ticks_cover_the_range_at_1_2_5():
    assert log_ticks(0.13, 6.5) == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]
    assert log_ticks(0.3, 0.31) == [0.2, 0.5]
