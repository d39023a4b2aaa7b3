"""How jobs look in the API. Validation of a submission is the service's job, not the serializer's."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kernels.registry import BACKENDS, IMPLEMENTATIONS
from webapp.jobs.models import Artifact, Job


class ArtifactSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = ["name", "size", "sha256", "url"]

    def get_url(self, artifact: Artifact) -> str:
        path = reverse("api-job-artifact", kwargs={"pk": artifact.job_id, "name": artifact.name})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class JobSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    artifacts = ArtifactSerializer(many=True, read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api-job-detail", lookup_url_kwarg="pk")

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "team",
            "submitted_by",
            "workload",
            "params",
            "backend",
            "implementation",
            "workers",
            "status",
            "progress",
            "result",
            "verified",
            "verification",
            "error",
            "wall_time",
            "worker_host",
            "provenance",
            "queued_at",
            "started_at",
            "finished_at",
            "cancel_requested_at",
            "time_limit",
            "attempts",
            "heartbeat_at",
            "capability",
            "rerun_of",
            "artifacts",
            "log",
        ]
        read_only_fields = fields


class JobListSerializer(JobSerializer):
    """The list leaves out the bulky fields (unit spans, log, provenance)."""

    progress = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = [f for f in JobSerializer.Meta.fields if f not in ("log", "provenance", "artifacts")]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}}})
    def get_progress(self, job: Job) -> dict[str, Any]:
        # Annotated by selectors.job_rows, so the list never loads the per-unit spans.
        return {"done": int(job.progress_done or 0), "total": int(job.progress_total or 0)}


class JobCreateSerializer(serializers.Serializer):
    """Shape only; bounds and combinations are checked by the engine's schema in services.job_submit."""

    team = serializers.SlugField(required=False, help_text="Team slug; optional if you belong to one team.")
    workload = serializers.CharField(max_length=40)
    params = serializers.JSONField(required=False, default=dict)
    backend = serializers.ChoiceField(choices=BACKENDS, default="sequential")
    implementation = serializers.ChoiceField(choices=IMPLEMENTATIONS, default="python")
    workers = serializers.IntegerField(default=1)
    time_limit = serializers.IntegerField(
        required=False, allow_null=True, help_text="Seconds the run may take (default and maximum: the server's limit)."
    )


class JobRerunSerializer(serializers.Serializer):
    params = serializers.JSONField(required=False, help_text="Parameters to change; the rest are kept.")


class WorkloadSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    params = serializers.ListField(child=serializers.DictField())
    backends = serializers.ListField(child=serializers.CharField())
    implementations = serializers.ListField(child=serializers.CharField())
