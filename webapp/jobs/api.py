"""The jobs and workloads API: thin views over selectors and services."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kernels.registry import WORKLOADS
from webapp.accounts.requests import AuthenticatedRequest
from webapp.converters import ID_REGEX
from webapp.jobs.filters import JobFilter
from webapp.jobs.selectors import artifact_get_for_user, job_rows, jobs_visible_to
from webapp.jobs.serializers import (
    JobCreateSerializer,
    JobListSerializer,
    JobRerunSerializer,
    JobSerializer,
    WorkloadSerializer,
)
from webapp.jobs.services import JobInputError, job_cancel, job_rerun, job_submit
from webapp.teams.selectors import memberships_for_user

ERROR = OpenApiResponse(description="Bad input: a JSON object naming each bad field and the reason.")


def team_for_submission(user: Any, slug: str | None) -> Any:
    memberships = list(memberships_for_user(user))
    if slug:
        for membership in memberships:
            if membership.team.slug == slug:
                return membership.team
        raise JobInputError("team", f"you are not a member of a team {slug!r}")
    submitters = [m for m in memberships if m.can_submit]
    if len(submitters) == 1:
        return submitters[0].team
    if not memberships:
        raise JobInputError("team", "you are not a member of any team")
    names = ", ".join(m.team.slug for m in submitters) or "none where you may submit"
    raise JobInputError("team", f"required: choose one of your teams ({names})")


class JobViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs of the teams you belong to."""

    lookup_value_regex = ID_REGEX  # ids that fit a 64-bit integer; anything else is a 404

    filterset_class = JobFilter
    ordering_fields = ["queued_at", "started_at", "finished_at", "wall_time", "workers", "id"]
    ordering = ["-queued_at", "-id"]

    def get_queryset(self) -> Any:
        queryset = jobs_visible_to(self.request.user)
        if self.action == "list":
            return job_rows(queryset).defer(None).defer("progress", "log", "provenance", "measurement", "balance")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("artifacts")
        return queryset

    def get_serializer_class(self) -> Any:
        return {"list": JobListSerializer, "create": JobCreateSerializer, "rerun": JobRerunSerializer}.get(
            self.action, JobSerializer
        )

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except (ValueError, TypeError):
            raise Http404 from None

    # The default IsAuthenticated lets only a signed-in user in; the mixin types the request for any user.
    @extend_schema(request=JobCreateSerializer, responses={201: JobSerializer, 400: ERROR})
    def create(self, request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        incoming = JobCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        job = job_submit(
            user=request.user,
            team=team_for_submission(request.user, data.get("team")),
            workload=data["workload"],
            params=data["params"],
            backend=data["backend"],
            implementation=data["implementation"],
            workers=data["workers"],
            time_limit=data.get("time_limit"),
            threads=data.get("threads"),
        )
        return Response(JobSerializer(job, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Cancel: a queued job never starts; a running one is killed and ends `cancelled`."""
        job = job_cancel(user=request.user, job=self.get_object())
        return Response(JobSerializer(job, context=self.get_serializer_context()).data)

    @extend_schema(request=JobRerunSerializer, responses={201: JobSerializer, 400: ERROR})
    @action(detail=True, methods=["post"])
    def rerun(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Submit the job again, optionally with some parameters changed."""
        incoming = JobRerunSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        job = job_rerun(user=request.user, job=self.get_object(), params=incoming.validated_data.get("params"))
        return Response(JobSerializer(job, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"], url_path=r"artifacts/(?P<name>[\w.\-]+)")
    def artifact(self, request: Request, pk: str | None = None, name: str = "") -> FileResponse:
        """Download a file the job produced (the Mandelbrot PNG)."""
        artifact = artifact_get_for_user(user=request.user, job_id=self.get_object().pk, name=name)
        return FileResponse(artifact.file.open("rb"), content_type=artifact.content_type, filename=artifact.name)


class WorkloadViewSet(viewsets.ViewSet):
    """The workload registry: parameter schemas with bounds, and supported backends × implementations."""

    lookup_value_regex = "[a-z_]+"

    @extend_schema(responses=WorkloadSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response([w.describe() for w in WORKLOADS.values()])

    @extend_schema(responses=WorkloadSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        if pk not in WORKLOADS:
            raise Http404("No such workload.")
        return Response(WORKLOADS[pk].describe())


__all__ = ["JobViewSet", "WorkloadViewSet"]
