"""Paralab's compute core: workloads, backends and the engine that joins them.

Never imports Django or Celery, so it runs from the CLI and benchmarks alone.
"""

__version__ = "0.1.0"
