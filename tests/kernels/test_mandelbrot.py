"""The Mandelbrot image: the same pixels on every backend, a valid PNG, and a check that notices a wrong band."""

from __future__ import annotations

import struct
import zlib

import pytest

from kernels.engine import RunRequest, run
from kernels.png import encode_gray
from kernels.workloads.mandelbrot import WORKLOAD

PARAMS = {"width": 48, "height": 40, "max_iter": 50}  # three bands: 16, 16 and 8 rows


@pytest.fixture(scope="module")
def reference():
    return run(RunRequest("mandelbrot", PARAMS))


@pytest.mark.parametrize(
    ("backend", "workers"),
    [("threads", 2), ("processes", 2), ("processes", 3), ("subprocesses", 2), ("mpi", 2), ("mpi", 3)],
)
def test_hash_identical_across_backends(backend, workers, reference, options):
    result = run(RunRequest("mandelbrot", PARAMS, backend, "python", workers, options(backend)))
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


def test_a_wrong_band_is_noticed():
    params = WORKLOAD.validate(PARAMS)
    bands = [WORKLOAD.run_unit(unit) for unit in WORKLOAD.split(params, 1)]
    good = WORKLOAD.combine(params, bands).value
    assert WORKLOAD.verify(params, good, bands).ok is True
    last = bytearray(bands[-1])  # rows 32..39; the check looks at rows 0, 20 and 39
    last[7 * 48 + 3] ^= 0xFF
    bands[-1] = bytes(last)
    verdict = WORKLOAD.verify(params, good, bands)
    assert (verdict.ok, verdict.detail) == (False, "row 39 differs from the pure-Python reference")


def test_png_refuses_the_wrong_pixel_count():
    with pytest.raises(ValueError, match="expected 6 pixels, got 5"):
        encode_gray(3, 2, bytes(5))
