"""Benchmarks of the whole service (make bench-live, bench-history, bench-study): each starts the real
web server and worker it measures. The compute core's own benchmarks stay in kernels/bench.py
(`python -m kernels.bench`), which needs nothing but the engine."""
