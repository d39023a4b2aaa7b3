# cython: language_level=3, cdivision=True
"""Escape-time Mandelbrot band in C: the native twin of kernels.workloads.mandelbrot.band.

The arithmetic is the Python twin's, operation for operation, and setup.py builds with
-ffp-contract=off (no fused multiply-add), so both produce the same bytes.
"""

# No OpenMP prange over the band's rows: backends already run bands in parallel, one per
# worker, and threads inside a unit would oversubscribe the cores and blur the "workers" axis.


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
