"""Study tasks: calibrate a study's baseline before its jobs are made (webapp/studies/calibration.py)."""

from __future__ import annotations

from celery import shared_task

from webapp.celery import CALIBRATE_STUDY


# acks_late: a calibration whose worker died is delivered again (the sweeper also re-sends it, sooner), and
# study_calibrate only calibrates a study that is still calibrating, has no jobs and no other worker's fresh
# heartbeat, so a second delivery is harmless.
@shared_task(name=CALIBRATE_STUDY, acks_late=True)
def calibrate_study(study_id: int) -> None:
    from webapp.studies.calibration import study_calibrate

    study_calibrate(study_id=study_id)
