"""The Cython twins give exactly the Python twins' results, and release the GIL."""

from __future__ import annotations

import threading
import time

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.workloads import mandelbrot, montecarlo_pi, primes
from kernels.workloads.base import load_native
from kernels.workloads.fib import fib as python_fib

FULL_VIEW = [-2.5, 1.0, -1.25, 1.25]


def test_fib_38_equals_the_published_value():
    # F(38) = 39088169 (OEIS A000045).
    assert load_native("fib").fib(38) == 39088169


@pytest.mark.parametrize("n", [1, 2, 3, 10, 25])
def test_fib_equals_python(n):
    assert load_native("fib").fib(n) == python_fib(n)


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        (0, 0),
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 2),
        (1, 100),
        (2, 3),
        (2, 1000),
        (7, 7),
        (10, 5),
        (97, 98),  # a one-number segment holding a prime
        (100, 101),  # a one-number segment holding a composite
        (120, 122),  # 121 = 11², the square of the largest base prime
        (1_000, 10_000),
        (999_983, 1_000_004),  # around the largest prime below 10^6
        (10_000_000, 10_100_000),
    ],
)
def test_prime_segment_equals_python(lo, hi):
    assert load_native("primes").count_segment(lo, hi) == primes.count_segment(lo, hi)


def test_prime_segments_add_up_to_published_pi():
    # π(10^6) = 78498 (OEIS A006880); the segments overlap nowhere and miss nothing.
    count = load_native("primes").count_segment
    bounds = [0, 1, 2, 3, 1000, 65_537, 500_000, 1_000_001]
    assert sum(count(lo, hi) for lo, hi in zip(bounds, bounds[1:], strict=False)) == 78_498


@pytest.mark.parametrize(
    ("key", "start", "stop"),
    [
        (montecarlo_pi.stream_key(2026), 0, 1),
        (montecarlo_pi.stream_key(2026), 0, 1_000),
        (montecarlo_pi.stream_key(0), 0, 777),
        (montecarlo_pi.stream_key(1), 5, 5),
        (montecarlo_pi.stream_key(1), 10, 3),
        # Not a multiple of the Python twin's chunk, and straddling a chunk boundary.
        (montecarlo_pi.stream_key(7), montecarlo_pi.CHUNK - 3, 2 * montecarlo_pi.CHUNK + 12_345),
        (montecarlo_pi.stream_key(2**32 - 1), 1_999_000_000, 1_999_100_001),
        (2**64 - 1, 0, 10_000),
    ],
)
def test_montecarlo_count_equals_python(key, start, stop):
    assert load_native("montecarlo").count_inside(key, start, stop) == montecarlo_pi.count_inside(key, start, stop)


@pytest.mark.parametrize(
    ("width", "height", "max_iter", "view", "y0", "y1"),
    [
        (16, 16, 1, FULL_VIEW, 0, 16),
        (17, 13, 1, FULL_VIEW, 0, 13),
        (33, 21, 50, FULL_VIEW, 0, 21),
        (33, 21, 50, FULL_VIEW, 5, 6),
        (33, 21, 50, FULL_VIEW, 7, 7),
        (101, 77, 255, FULL_VIEW, 16, 32),
        (64, 48, 1000, [-0.75, -0.74, 0.1, 0.11], 0, 48),
        (5, 3, 2, [-2, 1, -1, 1], 0, 3),  # integer view corners, as JSON may send them
    ],
)
def test_mandelbrot_band_equals_python_byte_for_byte(width, height, max_iter, view, y0, y1):
    native = load_native("mandelbrot").band(width, height, max_iter, view, y0, y1)
    assert isinstance(native, bytes)
    assert native == mandelbrot.band(width, height, max_iter, view, y0, y1)


def test_native_threads_release_the_gil():
    # While a unit holds the GIL no other Python thread runs, so a heartbeat thread would stall
    # for a whole unit. Span overlap alone cannot show this: with the GIL held a waiting thread
    # takes it between a unit's C call and its start/end timestamps, so serialised units still
    # get overlapping (even identical) spans. fib(40) lasts about 0.1 s in C.
    ticks: list[float] = []
    finished = threading.Event()

    def heartbeat():
        while not finished.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    beat = threading.Thread(target=heartbeat)
    beat.start()
    try:
        result = run(
            check_request(RunRequest("fib", {"ns": [40, 40]}, backend="threads", implementation="native", workers=2))
        )
    finally:
        finished.set()
        beat.join()

    assert result.value == [102334155, 102334155]
    first, second = result.spans
    assert {first["worker"], second["worker"]} == {0, 1}
    assert max(first["start"], second["start"]) < min(first["end"], second["end"]), result.spans
    longest_pause = max(later - earlier for earlier, later in zip(ticks, ticks[1:], strict=False))
    shorter = min(span["end"] - span["start"] for span in (first, second))
    assert longest_pause < shorter / 4, (longest_pause, result.spans)
