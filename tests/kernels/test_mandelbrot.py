"""The Mandelbrot image: the same pixels on every backend, a valid PNG, and a check that notices a wrong band."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.png import encode_gray
from kernels.workloads.mandelbrot import WORKLOAD, band, escape_time_image

PARAMS = {"width": 48, "height": 40, "max_iter": 50}  # three bands: 16, 16 and 8 rows


@pytest.fixture(scope="module")
def reference():
    return run(check_request(RunRequest("mandelbrot", PARAMS)))


@pytest.mark.parametrize(
    ("backend", "workers"),
    [("threads", 2), ("processes", 2), ("processes", 3), ("subprocesses", 2), ("mpi", 2), ("mpi", 3)],
)
def test_hash_identical_across_backends(backend, workers, reference, options):
    result = run(check_request(RunRequest("mandelbrot", PARAMS, backend, "python", workers, options(backend))))
    assert result.value["sha256"] == reference.value["sha256"]
    assert result.artifacts == reference.artifacts


def test_the_artifact_is_a_png_of_the_image(reference):
    png = reference.artifacts["mandelbrot.png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert (width, height, depth, colour) == (48, 40, 8, 0)
    idat_length = struct.unpack(">I", png[33:37])[0]
    raw = zlib.decompress(png[41 : 41 + idat_length])
    assert len(raw) == 40 * (48 + 1)
    assert reference.value["artifact"] == "mandelbrot.png"
    # The centre-left of the default view is inside the set (black); the corners are outside.
    assert raw[20 * 49 + 1 + 20] == 0 and raw[1] != 0
    assert 0 < reference.value["inside_fraction"] < 1


COMBINATIONS = [(b, i) for b in WORKLOAD.backends for i in WORKLOAD.implementations if WORKLOAD.supports(b, i)]


@pytest.mark.parametrize(("backend", "implementation"), COMBINATIONS)
def test_every_pixel_equals_the_numpy_reference_on_every_backend(backend, implementation, require_native, options):
    if implementation == "native":
        require_native(WORKLOAD, PARAMS)
    workers = 1 if backend == "sequential" else 3
    result = run(check_request(RunRequest("mandelbrot", PARAMS, backend, implementation, workers, options(backend))))
    expected = escape_time_image(48, 40, 50, [-2.5, 1.0, -1.25, 1.25])
    assert result.value["sha256"] == hashlib.sha256(expected.tobytes()).hexdigest()
    assert (result.verified, result.verification) == (
        True,
        "all 1,920 pixels equal an independent NumPy escape-time reference",
    )


def test_the_reference_is_not_the_kernel_yet_agrees_with_it_on_an_odd_view():
    # A view off-centre, a width no band divides, one iteration and many: every pixel, byte for byte.
    for params in ({"width": 37, "height": 29, "max_iter": 1}, {"width": 37, "height": 29, "max_iter": 700,
                   "x_min": -0.8, "x_max": -0.7, "y_min": 0.05, "y_max": 0.15}):  # fmt: skip
        p = WORKLOAD.validate(params)
        view = [p["x_min"], p["x_max"], p["y_min"], p["y_max"]]
        kernel = band(p["width"], p["height"], p["max_iter"], view, 0, p["height"])
        assert escape_time_image(p["width"], p["height"], p["max_iter"], view).tobytes() == kernel


def test_a_swapped_middle_band_fails_verification():
    tall = WORKLOAD.validate({**PARAMS, "height": 80})  # five bands; rows 0, 40 and 79 are in bands 0, 2 and 4
    bands = [WORKLOAD.run_unit(unit) for unit in WORKLOAD.split(tall, 1)]
    assert WORKLOAD.verify(tall, WORKLOAD.combine(tall, bands).value, bands).ok is True
    # Bands 1 and 3 (rows 16..31 and 48..63) swapped, a misordered gather: checking rows 0, h/2 and h−1 passed it.
    swapped = [bands[0], bands[3], bands[2], bands[1], bands[4]]
    verdict = WORKLOAD.verify(tall, WORKLOAD.combine(tall, swapped).value, swapped)
    assert verdict.ok is False
    assert verdict.detail.startswith("verification failed: ")
    assert (
        " of 3,840 pixels differ from an independent NumPy escape-time reference; the first at row 1" in verdict.detail
    )

    params = WORKLOAD.validate(PARAMS)
    bands = [WORKLOAD.run_unit(unit) for unit in WORKLOAD.split(params, 1)]
    good = WORKLOAD.combine(params, bands).value
    # One pixel, and a stored checksum that is not the image's.
    last = bytearray(bands[-1])
    last[7 * 48 + 3] ^= 0xFF
    verdict = WORKLOAD.verify(params, good, [*bands[:-1], bytes(last)])
    assert verdict.detail.startswith("verification failed: 1 of 1,920 pixels differ from an independent NumPy")
    assert "the first at row 39, column 3: " in verdict.detail
    verdict = WORKLOAD.verify(params, {**good, "sha256": "0" * 64}, bands)
    assert (verdict.ok, verdict.detail) == (
        False,
        "verification failed: the reported sha256 is not that of an independent NumPy escape-time reference",
    )


def test_png_refuses_the_wrong_pixel_count():
    with pytest.raises(ValueError, match="expected 6 pixels, got 5"):
        encode_gray(3, 2, bytes(5))
