"""`python -m tasks.queues cpu mpi` prints the queue names for `celery -Q` (the queues: webapp/queues.py)."""

from __future__ import annotations

import sys

from webapp.queues import CAPABILITIES, all_queues, capability_for, queue_name

__all__ = ["CAPABILITIES", "all_queues", "capability_for", "queue_name"]

if __name__ == "__main__":
    import django

    django.setup()
    print(",".join(queue_name(c) for c in (sys.argv[1:] or CAPABILITIES)))
