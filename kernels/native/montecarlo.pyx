# cython: language_level=3
"""Monte Carlo π sample counting in C: the native twin of kernels.workloads.montecarlo_pi.count_inside.

Same counter-based SplitMix64 output function, in uint64 arithmetic that wraps like NumPy's,
so the count is identical to the Python twin's for every (key, start, stop).
"""

from libc.stdint cimport int64_t, uint64_t

# No OpenMP prange here: backends already run one unit per worker, and threads inside a unit
# would oversubscribe the cores and blur the "workers" axis the product measures.


cdef inline double _uniform(uint64_t z) noexcept nogil:
    """SplitMix64's output function (Steele et al. 2014) of a counter, as a double in [0, 1)."""
    z = z + 0x9E3779B97F4A7C15ULL
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    z = z ^ (z >> 31)
    # z >> 11 has 53 bits, so the conversion is exact; 2^-53 scales it into [0, 1).
    return <double>(z >> 11) * (1.0 / 9007199254740992.0)


cdef uint64_t _count_inside(uint64_t key, int64_t start, int64_t stop) noexcept nogil:
    cdef int64_t k
    cdef uint64_t counter
    cdef uint64_t inside = 0
    cdef double x, y
    for k in range(start, stop):
        counter = (<uint64_t>k) * 2
        x = _uniform(key ^ counter)
        y = _uniform(key ^ (counter + 1))
        if x * x + y * y <= 1.0:
            inside += 1
    return inside


def count_inside(uint64_t key, int64_t start, int64_t stop):
    """Samples k in [start, stop) with x_k² + y_k² ≤ 1, x_k = U(key ^ 2k), y_k = U(key ^ 2k+1)."""
    cdef uint64_t result
    with nogil:
        result = _count_inside(key, start, stop)
    return result
