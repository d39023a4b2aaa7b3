"""How jobs look in the API. Validation of a submission is the service's job, not the serializer's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kernels.registry import BACKENDS, IMPLEMENTATIONS
from webapp.jobs.document import API_FIELDS, API_LIST_FIELDS, job_document, progress_of
from webapp.jobs.models import Artifact, Job
from webapp.teams.models import Team
from webapp.workers.api import QueuePlaceSerializer
from webapp.workers.waiting import job_queue_place


def _link(context: Mapping[str, Any], path: str) -> str:
    """An absolute link when the serializer has the request; the path alone otherwise."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


class ArtifactSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = ["name", "size", "sha256", "url"]

    def get_url(self, artifact: Artifact) -> str:
        return _link(self.context, reverse("api-job-artifact", kwargs={"pk": artifact.job_id, "name": artifact.name}))


# The field declarations are for the OpenAPI schema (a docstring here would be the schema's description);
# the values are job_document's, read as the live events and exports read them, but for the few only the API
# has (own_readers): its links, which need the request, the progress with its spans, and the queue place.
class JobSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    submitted_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    artifacts = ArtifactSerializer(many=True, read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api-job-detail", lookup_url_kwarg="pk")
    progress = serializers.SerializerMethodField()
    queue = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = list(API_FIELDS)
        read_only_fields = fields

    def to_representation(self, instance: Job) -> dict[str, Any]:
        own = self.own_readers()
        names = self.Meta.fields
        document = job_document(instance, [name for name in names if name not in own])
        return {name: own[name](instance) if name in own else document[name] for name in names}

    def own_readers(self) -> dict[str, Callable[[Job], Any]]:
        return {"url": self.get_url, "progress": self.get_progress, "artifacts": self.get_artifacts,
                "queue": self.get_queue}  # fmt: skip

    def get_url(self, job: Job) -> str:
        return _link(self.context, reverse("api-job-detail", kwargs={"pk": job.pk}))

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_progress(self, job: Job) -> dict[str, Any]:
        return progress_of(job, with_spans=True)

    def get_artifacts(self, job: Job) -> list[dict[str, Any]]:
        return list(ArtifactSerializer(job.artifacts.all(), many=True, context=self.context).data)

    @extend_schema_field(QueuePlaceSerializer(allow_null=True))
    def get_queue(self, job: Job) -> dict[str, Any] | None:
        """A queued job's place (webapp/workers/waiting.py); only in its own GET, as it asks after the workers."""
        request, view = self.context.get("request"), self.context.get("view")
        if request is None or getattr(view, "action", None) != "retrieve":
            return None
        place = job_queue_place(user=request.user, job=job)
        return QueuePlaceSerializer(place).data if place else None


class JobListSerializer(JobSerializer):
    """The list leaves out the bulky fields (unit spans, log, provenance)."""

    progress = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = list(API_LIST_FIELDS)
        read_only_fields = fields

    @extend_schema_field({"type": "object", "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}}})
    def get_progress(self, job: Job) -> dict[str, Any]:
        # Annotated by selectors.job_rows, so the list never loads the per-unit spans.
        return job_document(job, ("done", "total"))


class JobCreateSerializer(serializers.Serializer):
    """Shape only; bounds and combinations are checked by the engine's schema in services.job_submit."""

    team = serializers.SlugField(required=False, help_text="Team slug; optional if you belong to one team.")
    workload = serializers.CharField(max_length=40)
    params = serializers.JSONField(required=False, default=dict)
    backend = serializers.ChoiceField(choices=BACKENDS, default="sequential")
    implementation = serializers.ChoiceField(choices=IMPLEMENTATIONS, default="python")
    workers = serializers.IntegerField(default=1)
    threads = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Hybrid backend only: OpenMP threads per MPI rank, dividing workers (workers = ranks × threads). "
        "Default: as few ranks as possible, each filling up to the cores of the host that runs them.",
    )
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
