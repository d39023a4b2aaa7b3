"""Prime counting with a segmented sieve: published values of π(N), and segments that tile [0, N]."""

from __future__ import annotations

import pytest

from kernels.engine import RunRequest, run
from kernels.workloads.primes import WORKLOAD, base_primes, count_segment, reference_count


def test_pi_of_a_million_is_78498():
    # π(10^6) = 78498 (OEIS A006880).
    result = run(RunRequest("primes", {"n": 10**6}, "processes", "python", 2))
    assert result.value == {"n": 1_000_000, "count": 78_498}
    assert (result.verified, result.verification) == (True, "equals the published π(10^k) (OEIS A006880): 78498")


def test_pi_of_ten_million_on_threads():
    # π(10^7) = 664579 (OEIS A006880).
    assert run(RunRequest("primes", {"n": 10**7}, "threads", "python", 2)).value["count"] == 664_579


@pytest.mark.parametrize("n", [10, 11, 12, 97, 100, 123_457])
def test_other_n_are_checked_against_a_plain_sieve(n):
    result = run(RunRequest("primes", {"n": n}))
    assert result.value["count"] == reference_count(n)
    assert result.verified is True


@pytest.mark.parametrize(("n", "workers"), [(10, 1), (99, 3), (1_000_003, 2), (10**7, 4)])
def test_segments_tile_zero_to_n(n, workers):
    units = WORKLOAD.split({"n": n}, workers)
    assert units[0][0] == 0 and units[-1][1] == n + 1
    assert all(a[1] == b[0] for a, b in zip(units, units[1:], strict=False))
    assert len(units) >= min(4 * workers, n + 1)


def test_segment_edges():
    assert base_primes(30) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    assert count_segment(0, 2) == 0
    assert count_segment(2, 3) == 1
    assert count_segment(120, 122) == 0  # 121 = 11²
    assert count_segment(10, 5) == 0


def test_above_the_reference_limit_the_result_is_unchecked():
    verdict = WORKLOAD.verify({"n": 60_000_001}, {"n": 60_000_001, "count": 1}, [1])
    assert verdict.ok is None
    assert verdict.detail == "no reference for n=60000001 above 50_000_000"
