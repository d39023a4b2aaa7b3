# cython: language_level=3
"""Naive recursive fib in C, computed with the GIL released so threads run it in parallel."""

cdef long long _fib(int n) noexcept nogil:
    if n <= 2:
        return 1
    return _fib(n - 1) + _fib(n - 2)


def fib(int n):
    cdef long long result
    with nogil:
        result = _fib(n)
    return result
