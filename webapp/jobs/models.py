"""A job: one workload run on one backend × implementation × worker count, owned by a team."""

from django.conf import settings
from django.db import models

from kernels.registry import BACKENDS, IMPLEMENTATIONS


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)


class Job(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="jobs")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    workload = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    backend = models.CharField(max_length=20, choices=[(b, b) for b in BACKENDS])
    implementation = models.CharField(max_length=10, choices=[(i, i) for i in IMPLEMENTATIONS])
    workers = models.PositiveSmallIntegerField(default=1)
    # Hybrid's OpenMP threads per MPI rank, as chosen (workers = ranks × threads); null: the default layout,
    # chosen on the host that runs the ranks, which the run records in provenance["layout"].
    threads = models.PositiveSmallIntegerField(null=True, blank=True)
    # Written only by services.job_transition.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    verified = models.BooleanField(null=True)
    verification = models.TextField(blank=True)
    error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True)
    wall_time = models.FloatField(null=True, blank=True)
    cpu_time = models.FloatField(null=True, blank=True)  # seconds of CPU, every process of the run
    # How far the timing can be trusted (kernels/measurement.py): host load and steal around the run,
    # the units' CPU share, the fixed overhead, and the reasons it was disturbed or too short, if so.
    measurement = models.JSONField(default=dict, blank=True)
    # Load-imbalance diagnosis from the unit spans (kernels/balance.py); empty for one worker.
    balance = models.JSONField(default=dict, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Seconds the run may take; the engine kills it after that (at most PARALAB_MAX_RUNTIME).
    time_limit = models.PositiveIntegerField(null=True, blank=True)
    # When the last task message for this job was sent; a sweeper re-sends one that may have been lost.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Written by the running worker every few seconds; a reaper ends jobs whose worker went silent.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The capability queue it was sent to (webapp/queues.py): cpu, native, mpi or study.
    capability = models.CharField(max_length=10, default="cpu")
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-queued_at"], name="job_team_recent"),
            models.Index(fields=["team", "status", "-queued_at"], name="job_team_status_recent"),
            models.Index(fields=["status"], name="job_status"),
            models.Index(fields=["submitted_by", "-queued_at"], name="job_submitter_recent"),
            models.Index(fields=["-queued_at", "-id"], name="job_recent"),
            # INCLUDE lets PostgreSQL count filtered history pages from the index alone.
            models.Index(
                fields=["team", "workload", "-queued_at"],
                include=["backend", "implementation", "status"],
                name="job_team_workload_recent",
            ),
            models.Index(fields=["-wall_time"], name="job_slowest"),
            # Fair share (fair_share.py), at every claim: a queue's waiting jobs oldest first, from an index
            # as small as the backlog; and the jobs each team started on the queue since the oldest of them
            # was queued (running ones come from job_status), without reading the whole history.
            models.Index(
                fields=["capability", "queued_at", "id"],
                condition=models.Q(status="queued"),
                include=["team"],
                name="job_queued_in_turn",
            ),
            models.Index(fields=["capability", "started_at"], name="job_started_on_queue"),
            # The log search's GIN index (job_log_search) is PostgreSQL's alone: migration 0009 makes it.
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.workload} on {self.backend}×{self.implementation}×{self.workers}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES

    @property
    def queue_time(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.started_at - self.queued_at).total_seconds()


class Artifact(models.Model):
    """A file a job produced (the Mandelbrot PNG), kept with Django's storage API."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=100)
    file = models.FileField(upload_to="artifacts/%Y/%m/")
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="one_artifact_name_per_job")]

    @property
    def content_type(self) -> str:
        return "image/png" if self.name.endswith(".png") else "application/octet-stream"


class SpanBatch(models.Model):
    """Unit spans of a running job, in the order they finished, written a batch at a time.

    Kept out of the job row so that a progress write costs the same at unit 10 as at unit 10,000:
    the row carries counters, and each flush appends only the spans that are new since the last one.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="span_batches")
    first = models.PositiveIntegerField()  # index of this batch's first span in the run's spans
    spans = models.JSONField(default=list)

    class Meta:
        ordering = ["job", "first"]
        constraints = [models.UniqueConstraint(fields=["job", "first"], name="one_span_batch_per_offset")]
