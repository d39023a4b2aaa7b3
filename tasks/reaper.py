"""Every worker also sweeps: it ends jobs whose worker went silent, re-sends lost queue messages (jobs' and
studies' calibrations), and queues again the study repetitions a competing load disturbed.

Any live worker will do (the conditional updates make concurrent sweeps harmless), so a job whose
worker was killed is cleaned up by the next worker to run. `manage.py reap_jobs` does one sweep
from cron where no worker runs.
"""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready, worker_shutting_down

log = logging.getLogger(__name__)

SWEEP_EVERY = 5.0  # seconds
_stop = threading.Event()


def sweep() -> None:
    from django.conf import settings
    from django.db import close_old_connections

    from webapp.jobs.services import jobs_reap_lost, jobs_redispatch
    from webapp.studies.calibration import studies_recalibrate_lost
    from webapp.studies.services import studies_rerun_disturbed

    close_old_connections()
    reaped = jobs_reap_lost()
    if reaped:
        log.warning("reaped jobs whose worker was lost: %s", reaped)
    resent = jobs_redispatch()
    if resent:
        log.warning("re-sent %d queued jobs whose message may have been lost", resent)
    recalibrating = studies_recalibrate_lost()
    if recalibrating:
        log.warning("re-sent the calibrations of studies %s, whose message or worker was lost", recalibrating)
    rerun = studies_rerun_disturbed() if settings.PARALAB_RERUN_DISTURBED else 0
    if rerun:
        log.info("queued %d repetitions again whose first run was disturbed", rerun)


def _loop() -> None:
    while not _stop.wait(SWEEP_EVERY):
        try:
            sweep()
        except Exception:  # the database may be briefly away; try again next round
            log.exception("sweep failed")


@worker_ready.connect
def start_sweeper(**kwargs: object) -> None:
    _stop.clear()
    threading.Thread(target=_loop, name="paralab-sweeper", daemon=True).start()


@worker_shutting_down.connect
def stop_sweeper(**kwargs: object) -> None:
    _stop.set()
