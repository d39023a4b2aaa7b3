"""/api/v1/workers/: the online workers, as the workers page shows them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.workers.selectors import worker_status_for_user


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


class WorkerStatusSerializer(serializers.Serializer):
    status = serializers.SerializerMethodField(help_text='"online" list, or "unknown" when the broker did not answer')
    checked_at = serializers.DateTimeField()
    error = serializers.CharField()
    workers = WorkerSerializer(many=True)

    def get_status(self, status: Any) -> str:
        return "online" if status.known else "unknown"


class WorkerStatusView(APIView):
    """The Celery workers online for this deployment (checked at most every couple of seconds)."""

    @extend_schema(responses=WorkerStatusSerializer)
    def get(self, request: Request) -> Response:
        return Response(WorkerStatusSerializer(worker_status_for_user(user=request.user)).data)
