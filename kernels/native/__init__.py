"""Cython twins of the workloads' unit functions; they release the GIL (the seed's Py_BEGIN_ALLOW_THREADS)."""
