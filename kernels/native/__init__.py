"""Cython twins of the workloads' unit functions; they release the GIL (the seed's Py_BEGIN_ALLOW_THREADS)."""

import os

# OpenMP threads that wait at a barrier sleep instead of spinning. libgomp reads this once, when the
# first kernel here loads it. Paralab shares its hosts (web, workers, other jobs), and a spinning
# thread burns the CPU share its partner needs: heat 512²×500 at two threads took 4.6–5.2 s spinning
# and 0.43–0.46 s sleeping on a busy host (one thread: 0.4 s). An operator with dedicated cores may
# set OMP_WAIT_POLICY=active.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
