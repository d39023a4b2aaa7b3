# cython: language_level=3, cdivision=True
"""Segmented sieve of Eratosthenes in C: the native twin of kernels.workloads.primes.count_segment.

The segment [lo, hi) is sieved in L1-sized blocks, each base prime remembering its next multiple,
so memory stays at one block plus O(√hi) however long the segment is.
"""

from libc.math cimport sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memset

# Fits in the L1 data cache (48 KiB per core here): a 2 MiB segment sieved in one piece spends
# its time in cache misses, since every base prime strides across all of it.
cdef enum:
    BLOCK = 32768


cdef long long _isqrt(long long n) noexcept nogil:
    """Floor of √n for n ≥ 0, exact: a double's sqrt can be off by one near perfect squares."""
    cdef long long r = <long long>sqrt(<double>n)
    while r * r > n:
        r -= 1
    while (r + 1) * (r + 1) <= n:
        r += 1
    return r


cdef long long _base_primes(long long limit, unsigned char* flags, long long* out) noexcept nogil:
    """Write the primes ≤ limit to out (flags has limit + 1 bytes of scratch); return how many."""
    cdef long long p, m, n = 0
    memset(flags, 1, limit + 1)
    p = 2
    while p * p <= limit:
        if flags[p]:
            m = p * p
            while m <= limit:
                flags[m] = 0
                m += p
        p += 1
    for p in range(2, limit + 1):
        if flags[p]:
            out[n] = p
            n += 1
    return n


cdef long long _count_segment(
    long long lo, long long hi, unsigned char* block, long long* primes, long long n_primes, long long* next_multiple
) noexcept nogil:
    """Primes in [lo, hi), 2 ≤ lo < hi, given the base primes ≤ √(hi - 1)."""
    cdef long long j, p, m, start, end, size, i
    cdef long long count = 0
    for j in range(n_primes):
        p = primes[j]
        m = (lo + p - 1) // p * p
        next_multiple[j] = m if m > p * p else p * p
    start = lo
    while start < hi:
        end = start + BLOCK if hi - start > BLOCK else hi
        size = end - start
        memset(block, 1, size)
        for j in range(n_primes):
            p = primes[j]
            m = next_multiple[j]
            while m < end:
                block[m - start] = 0
                m += p
            next_multiple[j] = m
        for i in range(size):
            count += block[i]
        start = end
    return count


def count_segment(long long lo, long long hi):
    """Number of primes in [lo, hi)."""
    cdef long long limit, n_primes, result
    cdef unsigned char* block
    cdef long long* primes
    cdef long long* next_multiple
    if lo < 2:
        lo = 2
    if hi <= lo:
        return 0
    limit = _isqrt(hi - 1)
    # flags (limit + 1 bytes) is scratch for the base sieve, then the first block of the segment.
    block = <unsigned char*>malloc(max(BLOCK, limit + 1))
    # The primes ≤ limit are 2 and odd numbers, so there are at most limit // 2 + 1 of them.
    primes = <long long*>malloc((limit // 2 + 1) * sizeof(long long))
    next_multiple = <long long*>malloc((limit // 2 + 1) * sizeof(long long))
    if block == NULL or primes == NULL or next_multiple == NULL:
        free(block)
        free(primes)
        free(next_multiple)
        raise MemoryError(f"cannot allocate a sieve for [{lo}, {hi})")
    try:
        with nogil:
            n_primes = _base_primes(limit, block, primes)
            result = _count_segment(lo, hi, block, primes, n_primes, next_multiple)
    finally:
        free(block)
        free(primes)
        free(next_multiple)
    return result
