"""/api/v1/workers/: the online workers, as the workers page shows them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.workers.selectors import worker_status_for_user
from webapp.workers.waiting import queue_depths


class WorkerSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Celery node name, e.g. cpu@node-a")
    host = serializers.CharField(help_text="the machine's host name (a job's worker_host)")
    queues = serializers.ListField(child=serializers.CharField())
    capabilities = serializers.ListField(child=serializers.CharField(), help_text="of cpu, native, mpi, study")
    pool = serializers.CharField()
    concurrency = serializers.IntegerField(allow_null=True)
    cores = serializers.IntegerField(allow_null=True, help_text="cores the worker may use")
    mpi = serializers.BooleanField(help_text="mpiexec and mpi4py are available")
    mpi_hosts = serializers.ListField(child=serializers.CharField(), help_text="hosts in its MPI hostfile")
    running = serializers.IntegerField(help_text="Paralab jobs it is running now")
    jobs = serializers.ListField(child=serializers.IntegerField(), help_text="those of them in your teams")
    heartbeat = serializers.DateTimeField(allow_null=True, help_text="when it last answered, by its clock")


class QueueSerializer(serializers.Serializer):
    capability = serializers.CharField(help_text="cpu, native, mpi or study")
    queue = serializers.CharField(help_text="the broker queue's name")
    depth = serializers.IntegerField(help_text="jobs waiting in it, of every team")
    oldest_queued_at = serializers.DateTimeField(allow_null=True, help_text="when its oldest waiting job was queued")
    oldest_wait = serializers.FloatField(allow_null=True, help_text="seconds its oldest waiting job has waited")


class JobGroupSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    team = serializers.CharField(allow_null=True, help_text="null: of teams you are not in (counted, never named)")
    study = serializers.IntegerField(allow_null=True, help_text="the study they belong to, if yours")
    job = serializers.IntegerField(allow_null=True, help_text="the job, when the group is one running job of yours")
    phrase = serializers.CharField(help_text='e.g. "40 jobs of study #12 (Team A)"')


class QueuePlaceSerializer(serializers.Serializer):
    capability = serializers.CharField()
    queue = serializers.CharField()
    position = serializers.IntegerField(help_text="1: next to start, by the fair-share rule the workers follow")
    depth = serializers.IntegerField(help_text="jobs waiting in the queue, this one included")
    ahead = JobGroupSerializer(many=True, help_text="the jobs that start before it, by team and study")
    running = JobGroupSerializer(many=True, help_text="what the workers serving the queue are running now")
    slots = serializers.IntegerField(allow_null=True, help_text="worker slots serving the queue; null: unknown")
    estimate = serializers.FloatField(allow_null=True, help_text="seconds until it starts; null: cannot be told")
    estimate_note = serializers.CharField(help_text="the rule behind the estimate, or why there is none")
    summary = serializers.CharField(help_text="all of the above in a sentence, as the job page shows it")


class WorkerStatusSerializer(serializers.Serializer):
    status = serializers.SerializerMethodField(help_text='"online" list, or "unknown" when the broker did not answer')
    checked_at = serializers.DateTimeField()
    error = serializers.CharField()
    workers = WorkerSerializer(many=True)
    queues = serializers.SerializerMethodField(help_text="each capability queue's depth and oldest wait")

    def get_status(self, status: Any) -> str:
        return "online" if status.known else "unknown"

    @extend_schema_field(QueueSerializer(many=True))
    def get_queues(self, status: Any) -> list[dict[str, Any]]:
        return [QueueSerializer(queue).data for queue in queue_depths()]


class WorkerStatusView(APIView):
    """The Celery workers online for this deployment (checked at most every couple of seconds)."""

    @extend_schema(responses=WorkerStatusSerializer)
    def get(self, request: Request) -> Response:
        return Response(WorkerStatusSerializer(worker_status_for_user(user=request.user)).data)
