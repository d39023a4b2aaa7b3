# cython: language_level=3, cdivision=True
"""Escape-time Mandelbrot band in C: the native twin of kernels.workloads.mandelbrot.band.

The arithmetic is the Python twin's, operation for operation, and setup.py builds with
-ffp-contract=off (no fused multiply-add), so both produce the same bytes.
"""

from cpython cimport array
from cython.parallel cimport prange, threadid

import array

from kernels.native.board cimport COLUMNS, mark_done, mark_started, thread_cpu, wall_now

# ``band`` is one unit, run by one worker of whichever backend; ``bands`` is the openmp backend's
# kernel, where the OpenMP threads are the workers and share out whole bands.


cdef void _band(
    unsigned char* out, int width, int max_iter,
    double x_min, double y_min, double dx, double dy, int y0, int y1,
) noexcept nogil:
    cdef int row, col, i
    cdef double cx, cy, x, y, x2, y2
    cdef Py_ssize_t pos = 0
    for row in range(y0, y1):
        cy = y_min + row * dy
        for col in range(width):
            cx = x_min + col * dx
            x = 0.0
            y = 0.0
            i = 0
            while i < max_iter:
                x2 = x * x
                y2 = y * y
                if x2 + y2 > 4.0:
                    break
                y = 2.0 * x * y + cy
                x = x2 - y2 + cx
                i += 1
            # max_iter ≥ 1 whenever the division runs (i == max_iter == 0 takes the first branch).
            out[pos] = 0 if i == max_iter else 255 - (<long long>i * 255) // max_iter
            pos += 1


def band(int width, int height, int max_iter, view, int y0, int y1):
    """Gray levels for rows [y0, y1): 0 inside the set, brighter the faster a point escapes."""
    cdef double x_min, x_max, y_min, y_max, dx, dy
    x_min, x_max, y_min, y_max = view
    if width == 0 or height == 0:
        raise ZeroDivisionError("width and height must be non-zero")
    dx = (x_max - x_min) / width
    dy = (y_max - y_min) / height
    if y1 < y0 or width < 0:
        raise ValueError(f"negative band size: rows [{y0}, {y1}) × width {width}")
    out = bytearray(<Py_ssize_t>(y1 - y0) * width)
    cdef unsigned char[::1] pixels = out
    if len(out):
        with nogil:
            _band(&pixels[0], width, max_iter, x_min, y_min, dx, dy, y0, y1)
    return bytes(out)


def bands(int width, int height, int max_iter, view, rows, int threads, double[:, ::1] board, int[::1] cancel):
    """``band`` for each (y0, y1) in ``rows``, shared out by ``threads`` OpenMP threads, the GIL released.

    Band k is event k on the board (kernels/native/board.pxd); once ``cancel[0]`` is set no band starts.
    The bytes of each band, in order (those never started are zeros).
    """
    cdef double x_min, x_max, y_min, y_max, dx, dy, start, cpu
    cdef Py_ssize_t k, n = len(rows), total = 0
    cdef int tid
    x_min, x_max, y_min, y_max = view
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive, got {width} × {height}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if board.shape[0] < n or board.shape[1] != COLUMNS:
        raise ValueError(f"the board must have {n} rows of {COLUMNS}, got {board.shape[0]} × {board.shape[1]}")
    dx = (x_max - x_min) / width
    dy = (y_max - y_min) / height
    y0s = array.array("i", [y0 for y0, _ in rows])
    y1s = array.array("i", [y1 for _, y1 in rows])
    offsets = array.array("q", [0] * (n + 1))
    cdef int[::1] first = y0s, last = y1s
    cdef long long[::1] offset = offsets
    for k in range(n):
        if not 0 <= first[k] <= last[k] <= height:
            raise ValueError(f"band {k} has rows [{first[k]}, {last[k]}), outside [0, {height})")
        total += <Py_ssize_t>(last[k] - first[k]) * width
        offset[k + 1] = total
    out = bytearray(total)
    if total == 0:
        return [b""] * n
    cdef unsigned char[::1] pixels = out
    # Dynamic, one band at a time: a band through the set's body costs up to max_iter per pixel and
    # one outside it a few iterations (100× apart), so fixed shares would leave one thread the body.
    for k in prange(n, nogil=True, num_threads=threads, schedule="dynamic", chunksize=1):
        if cancel[0]:
            continue
        tid = threadid()
        start = wall_now()
        cpu = thread_cpu()
        mark_started(board, k, tid, start)
        _band(&pixels[offset[k]], width, max_iter, x_min, y_min, dx, dy, first[k], last[k])
        mark_done(board, k, tid, start, wall_now(), thread_cpu() - cpu)
    return [bytes(out[offset[k] : offset[k + 1]]) for k in range(n)]
