"""The Mandelbrot set as a PNG; bands of rows are the units."""

from __future__ import annotations

import hashlib
from typing import Any

from kernels.params import Param, ParamError
from kernels.png import encode_gray
from kernels.workloads.base import Outcome, Verdict, Workload, load_native

BAND_ROWS = 16
MAX_WORK = 10**9


def band(width: int, height: int, max_iter: int, view: list[float], y0: int, y1: int) -> bytes:
    """Gray levels for rows [y0, y1): 0 inside the set, brighter the faster a point escapes.

    The native twin does the same arithmetic in the same order, so both give the same bytes.
    """
    x_min, x_max, y_min, y_max = view
    dx = (x_max - x_min) / width
    dy = (y_max - y_min) / height
    out = bytearray((y1 - y0) * width)
    pos = 0
    for row in range(y0, y1):
        cy = y_min + row * dy
        for col in range(width):
            cx = x_min + col * dx
            x = y = 0.0
            i = 0
            while i < max_iter:
                x2 = x * x
                y2 = y * y
                if x2 + y2 > 4.0:
                    break
                y = 2.0 * x * y + cy
                x = x2 - y2 + cx
                i += 1
            out[pos] = 0 if i == max_iter else 255 - (i * 255) // max_iter
            pos += 1
    return bytes(out)


class Mandelbrot(Workload):
    name = "mandelbrot"
    title = "Mandelbrot image"
    description = "Escape-time Mandelbrot set rendered to a grayscale PNG; bands of 16 rows are units."
    params = (
        Param("width", "int", 1024, 16, 4096, "image width in pixels"),
        Param("height", "int", 768, 16, 4096, "image height in pixels"),
        Param("max_iter", "int", 256, 1, 10_000, "iterations before a point counts as inside"),
        Param("x_min", "float", -2.5, -4.0, 4.0, "left edge of the viewport"),
        Param("x_max", "float", 1.0, -4.0, 4.0, "right edge of the viewport"),
        Param("y_min", "float", -1.25, -4.0, 4.0, "bottom edge of the viewport"),
        Param("y_max", "float", 1.25, -4.0, 4.0, "top edge of the viewport"),
    )

    def validate(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        params = super().validate(raw)
        if params["x_max"] <= params["x_min"]:
            raise ParamError("x_max", "must be greater than x_min")
        if params["y_max"] <= params["y_min"]:
            raise ParamError("y_max", "must be greater than y_min")
        # width × height × max_iter bounds the work: at ~80 ns an iteration in pure Python (measured),
        # 10^9 is under a minute and a half sequentially, worst case (every point inside the set).
        work = params["width"] * params["height"] * params["max_iter"]
        if work > MAX_WORK:
            raise ParamError("max_iter", f"width × height × max_iter must be at most {MAX_WORK:_}, got {work:_}")
        return params

    def split(self, params: dict[str, Any], workers: int) -> list[Any]:
        p = params
        view = [p["x_min"], p["x_max"], p["y_min"], p["y_max"]]
        return [
            [p["width"], p["height"], p["max_iter"], view, y0, min(y0 + BAND_ROWS, p["height"])]
            for y0 in range(0, p["height"], BAND_ROWS)
        ]

    def run_unit(self, unit: Any) -> Any:
        return band(*unit)

    def run_unit_native(self, unit: Any) -> Any:
        return load_native("mandelbrot").band(*unit)

    def combine(self, params: dict[str, Any], results: list[Any]) -> Outcome:
        pixels = b"".join(results)
        png = encode_gray(params["width"], params["height"], pixels)
        inside = pixels.count(0)
        value = {
            "width": params["width"],
            "height": params["height"],
            "sha256": hashlib.sha256(pixels).hexdigest(),
            "inside_fraction": inside / len(pixels),
            "artifact": "mandelbrot.png",
        }
        return Outcome(value, {"mandelbrot.png": png})

    def verify(self, params: dict[str, Any], value: Any, results: list[Any]) -> Verdict:
        # Recompute three rows (top, middle, bottom) in pure Python and compare byte for byte:
        # a full second render would double the job.
        p, width = params, params["width"]
        view = [p["x_min"], p["x_max"], p["y_min"], p["y_max"]]
        pixels = b"".join(results)
        for row in sorted({0, p["height"] // 2, p["height"] - 1}):
            expected = band(width, p["height"], p["max_iter"], view, row, row + 1)
            if pixels[row * width : (row + 1) * width] != expected:
                return Verdict(False, f"row {row} differs from the pure-Python reference")
        return Verdict(True, "rows 0, h/2 and h-1 equal the pure-Python reference")


WORKLOAD = Mandelbrot()
