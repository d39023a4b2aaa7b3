"""Prime counting with a segmented sieve: published values of π(N), and segments that tile [0, N]."""

from __future__ import annotations

import pytest

from kernels.engine import RunRequest, check_request, run
from kernels.workloads.primes import PUBLISHED_PI, WORKLOAD, base_primes, count_segment, prime_count


def test_pi_of_a_million_is_78498():
    # π(10^6) = 78498 (OEIS A006880).
    result = run(check_request(RunRequest("primes", {"n": 10**6}, "processes", "python", 2)))
    assert result.value == {"n": 1_000_000, "count": 78_498}
    assert (result.verified, result.verification) == (True, "equals the published π(10^6) (OEIS A006880): 78498")


def test_pi_of_ten_million_on_threads():
    # π(10^7) = 664579 (OEIS A006880).
    assert run(check_request(RunRequest("primes", {"n": 10**7}, "threads", "python", 2))).value["count"] == 664_579


def test_the_combinatorial_count_gives_every_published_value():
    assert {n: prime_count(n) for n in PUBLISHED_PI} == PUBLISHED_PI  # up to π(10^9) = 50847534, in ~0.1 s


COMBINATIONS = [(b, i) for b in WORKLOAD.backends for i in WORKLOAD.implementations if WORKLOAD.supports(b, i)]


@pytest.mark.parametrize(("backend", "implementation"), COMBINATIONS)
@pytest.mark.parametrize("n", [10, 11, 97, 123_457])
def test_other_n_are_checked_against_the_combinatorial_count(n, backend, implementation, require_native, options):
    if implementation == "native":
        require_native(WORKLOAD, {"n": n})
    workers = 1 if backend == "sequential" else 2
    result = run(check_request(RunRequest("primes", {"n": n}, backend, implementation, workers, options(backend))))
    expected = {10: 4, 11: 5, 97: 25, 123_457: 11_602}[n]  # π(11) = 5, π(97) = 25 counted by hand; π(123457) by sieve
    assert result.value["count"] == prime_count(n) == expected
    assert (
        (result.verified, result.verification)
        == (
            True,
            f"equals π(n) by Lucy Hedgehog's combinatorial count (no sieve): {expected}",
        )
        if n not in PUBLISHED_PI
        else (True, f"equals the published π(10^1) (OEIS A006880): {expected}")
    )


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


def test_a_wrong_count_fails_verification_at_any_n():
    verdict = WORKLOAD.verify({"n": 600_000_001}, {"n": 600_000_001, "count": 1}, [1])
    assert (verdict.ok, verdict.detail) == (
        False,
        "verification failed: counted 1 primes ≤ 600000001, π(n) by Lucy Hedgehog's combinatorial count (no sieve) "
        "gives 31324704",
    )
