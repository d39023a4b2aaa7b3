# cython: language_level=3
"""The heat stencil in C: the native twin of kernels.workloads.heat.step, OpenMP threads over rows.

Each cell is computed with NumPy's operations in NumPy's order (up + down + left + right − 4c,
times α, plus c), and setup.py builds with -ffp-contract=off, so every bit equals the Python run.
"""

from cython.parallel cimport parallel, prange, threadid

import numpy as np

from kernels.native.board cimport COLUMNS, mark_done, thread_cpu, wall_now

cdef inline void _row(const double* src, double* dst, Py_ssize_t cols, Py_ssize_t r, double alpha) noexcept nogil:
    cdef Py_ssize_t c
    cdef const double* up = src + (r - 1) * cols
    cdef const double* mid = src + r * cols
    cdef const double* down = src + (r + 1) * cols
    cdef double* out = dst + r * cols
    for c in range(1, cols - 1):
        out[c] = mid[c] + alpha * (up[c] + down[c] + mid[c - 1] + mid[c + 1] - 4.0 * mid[c])


cdef void _step(
    const double* src, double* dst, Py_ssize_t rows, Py_ssize_t cols, double alpha, int threads, double* cpu
) noexcept nogil:
    """One step of the interior rows, ``threads`` threads; each adds its CPU seconds to cpu[thread]."""
    cdef Py_ssize_t r
    cdef int tid
    cdef double used
    # Static: every row costs the same, so equal contiguous shares balance and each thread keeps
    # the same rows (and their cache lines) from step to step.
    with parallel(num_threads=threads):
        tid = threadid()
        used = thread_cpu()
        for r in prange(1, rows - 1, schedule="static"):
            _row(src, dst, cols, r, alpha)
        cpu[tid] += thread_cpu() - used


def _check(double[:, ::1] a, double[:, ::1] b, int threads, double[::1] cpu):
    if a.shape[0] != b.shape[0] or a.shape[1] != b.shape[1]:
        raise ValueError(f"grids of different shapes: {a.shape[0]} × {a.shape[1]} and {b.shape[0]} × {b.shape[1]}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if cpu.shape[0] < threads:
        raise ValueError(f"cpu must hold one value per thread ({threads}), got {cpu.shape[0]}")


def step(double[:, ::1] src, double[:, ::1] dst, double alpha, int threads, double[::1] cpu):
    """One explicit step on the interior of ``src`` into ``dst``, like kernels.workloads.heat.step."""
    _check(src, dst, threads, cpu)
    if src.shape[0] > 2 and src.shape[1] > 2:
        with nogil:
            _step(&src[0, 0], &dst[0, 0], src.shape[0], src.shape[1], alpha, threads, &cpu[0])


def simulate(
    double[:, ::1] a, double[:, ::1] b, int steps, double alpha, int threads, marks,
    double[:, ::1] board, int[::1] cancel,
):
    """Step ``a`` (and ``b``, a copy of it) ``steps`` times with ``threads`` threads; the GIL is released.

    After step ``marks[k]`` each thread t fills event t × len(marks) + k of the board
    (kernels/native/board.pxd) with its CPU time since the previous mark. Stops early once
    ``cancel[0]`` is set. Returns the number of steps done: the result is in ``a`` if even, ``b`` if odd.
    """
    cdef Py_ssize_t n_marks = len(marks), k = 0, t
    cdef int n = 0
    cdef double since, now
    cdef const double* src
    cdef double* dst
    cdef double* swap
    cdef double[::1] used = np.zeros(max(threads, 1)), before = np.zeros(max(threads, 1))
    cdef long long[::1] at = np.asarray(marks, dtype=np.int64).reshape(-1)
    _check(a, b, threads, used)
    if board.shape[0] < threads * n_marks or board.shape[1] != COLUMNS:
        raise ValueError(f"the board must have {threads * n_marks} rows of {COLUMNS}, got {board.shape[0]}")
    if a.shape[0] <= 2 or a.shape[1] <= 2:
        return steps
    with nogil:
        src, dst = &a[0, 0], &b[0, 0]
        since = wall_now()
        while n < steps and not cancel[0]:
            _step(src, dst, a.shape[0], a.shape[1], alpha, threads, &used[0])
            n += 1
            swap = dst
            dst = <double*>src
            src = swap
            if k < n_marks and n == at[k]:
                now = wall_now()
                for t in range(threads):
                    mark_done(board, t * n_marks + k, <int>t, since, now, used[t] - before[t])
                    before[t] = used[t]
                since, k = now, k + 1
    return n
