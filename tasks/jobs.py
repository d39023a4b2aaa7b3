"""Job tasks: take an id, call the service."""

from celery import shared_task


@shared_task(name="paralab.run_job", acks_late=True)
def run_job(job_id: int) -> None:
    from webapp.jobs.execution import job_execute

    job_execute(job_id)
