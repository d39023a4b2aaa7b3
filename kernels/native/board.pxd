# cython: language_level=3
"""The progress board an OpenMP kernel fills and kernels.backends.openmp reads while it runs.

One row per event (a unit done, or a thread's share of a stretch of steps): START and END in
seconds since the epoch (time.time()'s clock), CPU seconds of the thread, WORKER = the OpenMP
thread number, STATE 0 (waiting), 1 (started) or 2 (done). STATE is written last, after a full
barrier, so a reader that sees it set also sees the fields before it.
"""

from posix.time cimport CLOCK_REALTIME, CLOCK_THREAD_CPUTIME_ID, clock_gettime, timespec


cdef extern from *:
    void __sync_synchronize() nogil


cdef enum:
    START = 0
    END = 1
    CPU = 2
    WORKER = 3
    STATE = 4
    COLUMNS = 5


cdef inline double _clock(int which) noexcept nogil:
    cdef timespec now
    clock_gettime(which, &now)
    return now.tv_sec + now.tv_nsec * 1e-9


cdef inline double wall_now() noexcept nogil:
    return _clock(CLOCK_REALTIME)


cdef inline double thread_cpu() noexcept nogil:
    return _clock(CLOCK_THREAD_CPUTIME_ID)


cdef inline void mark_started(double[:, ::1] board, Py_ssize_t event, int worker, double start) noexcept nogil:
    board[event, START] = start
    board[event, WORKER] = worker
    __sync_synchronize()
    board[event, STATE] = 1


cdef inline void mark_done(
    double[:, ::1] board, Py_ssize_t event, int worker, double start, double end, double cpu
) noexcept nogil:
    board[event, START] = start
    board[event, END] = end
    board[event, CPU] = cpu
    board[event, WORKER] = worker
    __sync_synchronize()
    board[event, STATE] = 2
