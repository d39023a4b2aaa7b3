"""A scaling study: one workload and its parameters, swept over backends × implementations × worker counts,
repeated; and the jobs it created (``StudyRun``), which stay ordinary jobs of the team."""

from django.conf import settings
from django.db import models


class Study(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="studies")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="studies")
    title = models.CharField(max_length=200)
    preset = models.CharField(max_length=40, blank=True)  # the preset it was made from, if any
    workload = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    backends = models.JSONField(default=list)  # always starts with "sequential", the baseline
    implementations = models.JSONField(default=list)
    workers = models.JSONField(default=list)  # the worker counts swept on the parallel backends
    # Threads per MPI rank of its hybrid runs (each worker count is then ranks × threads); null: each run's
    # default layout, chosen on the host that runs it.
    threads = models.PositiveSmallIntegerField(null=True, blank=True)
    repetitions = models.PositiveSmallIntegerField(default=3)
    # Seconds its sequential baseline must last (webapp/studies/calibration.py): the sizes are calibrated on a
    # worker before the jobs are made. Null: the jobs are made at once, with ``params`` as given.
    min_baseline = models.FloatField(null=True, blank=True)
    # {"state": calibrating | calibrated | failed | cancelled, "implementations": {name: what was scaled,
    # from → to, and the measured baseline}, "error": why it failed}; {} without min_baseline.
    calibration = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="study_team_recent")]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return f"study #{self.pk} {self.title}"


class StudyRun(models.Model):
    """One job of a study, in the repetition it belongs to."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="runs")
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="study_run")
    repetition = models.PositiveSmallIntegerField()
    # The disturbed run this one repeats (services.studies_rerun_disturbed); each is repeated at most once.
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replacement"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"study #{self.study_id} run {self.repetition}: job #{self.job_id}"
