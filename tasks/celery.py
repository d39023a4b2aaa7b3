"""The worker's Celery app: the one webapp/celery.py configures, which loads the task modules here.

Run a worker with the threads pool: prefork children are daemonic and may not start the
processes that the processes, subprocesses and MPI backends need (docs/architecture.md, working recipes):

    celery -A tasks worker -P threads --concurrency 1            # every queue
    celery -A tasks worker -P threads -Q "$(python -m tasks.queues mpi)"   # MPI jobs only
"""

from webapp.celery import app

__all__ = ["app"]
