"""The studies API, exports and comparisons: thin views over selectors, services and the export builders."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.requests import AuthenticatedRequest
from webapp.converters import ID_REGEX
from webapp.jobs.api import team_for_submission
from webapp.jobs.filters import JobFilter
from webapp.jobs.selectors import jobs_visible_to
from webapp.studies import exports, svg_chart
from webapp.studies.comparison import compare_jobs, compare_studies, parse_ids
from webapp.studies.selectors import (
    series_with_marks,
    studies_visible_to,
    study_analysis,
    study_get_for_user,
    study_rows,
    study_runs,
)
from webapp.studies.serializers import PresetSerializer, StudyCreateSerializer, StudySerializer, study_document
from webapp.studies.services import preset_sizes, study_cancel, study_create, study_create_from_preset

ERROR = OpenApiResponse(description="Bad input: a JSON object naming each bad field and the reason.")
DOCUMENT = OpenApiResponse(description="The study with its progress, runs, scaling analysis (series) and provenance.")


class StudyViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scaling studies of the teams you belong to: a workload swept over backends × implementations × workers."""

    lookup_value_regex = ID_REGEX  # ids that fit a 64-bit integer; anything else is a 404

    serializer_class = StudySerializer
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    filterset_fields: list[str] = []

    def get_queryset(self) -> Any:
        return study_rows(studies_visible_to(self.request.user))

    def get_object(self) -> Any:
        try:
            return study_get_for_user(user=self.request.user, study_id=int(self.kwargs["pk"]))
        except (ValueError, TypeError):
            raise Http404 from None

    @extend_schema(responses={200: DOCUMENT})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(study_document(self.get_object(), request=request))

    # The default IsAuthenticated lets only a signed-in user in; the mixin types the request for any user.
    @extend_schema(request=StudyCreateSerializer, responses={201: DOCUMENT, 400: ERROR})
    def create(self, request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """Start a study (or a preset): its jobs run one at a time on the study queue."""
        incoming = StudyCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        team = team_for_submission(request.user, data.get("team"))
        if data.get("preset"):
            study = study_create_from_preset(
                user=request.user,
                team=team,
                preset=data["preset"],
                workers=data.get("workers"),
                repetitions=data.get("repetitions", 3),
                min_baseline=data.get("min_baseline"),
                threads=data.get("threads"),
            )
        else:
            study = study_create(
                user=request.user,
                team=team,
                workload=data["workload"],
                params=data.get("params"),
                backends=data["backends"],
                implementations=data.get("implementations"),
                workers=data.get("workers"),
                repetitions=data.get("repetitions", 3),
                min_baseline=data.get("min_baseline"),
                title=data.get("title", ""),
                threads=data.get("threads"),
            )
        return Response(study_document(study, request=request), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: DOCUMENT})
    @action(detail=True, methods=["post"])
    def cancel(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        """Cancel the study's jobs that have not ended; finished ones are kept."""
        study = self.get_object()
        study_cancel(user=request.user, study=study)
        return Response(study_document(study, request=request))

    @extend_schema(responses=PresetSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def presets(self, request: Request) -> Response:
        """Ready-made studies, started with ``{"preset": name}``."""
        return Response(
            [
                PresetSerializer(
                    {
                        **vars(preset),
                        "workers": plan.workers if plan else [],
                        "jobs": plan.job_count if plan else None,
                        "repetitions": plan.repetitions if plan else None,
                        "problem": problem,
                    }  # fmt: skip
                ).data
                for preset, plan, problem in preset_sizes()
            ]
        )


class DownloadView(APIView):
    """Answers with a file whatever the Accept header asks for (``text/csv`` has no DRF renderer)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)


FORMAT = OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["csv", "json"])


class JobExportView(DownloadView):
    """Every job matching the history filters (as on /api/v1/jobs/), as CSV or JSON, newest first."""

    @extend_schema(
        parameters=[FORMAT] + [OpenApiParameter(name, OpenApiTypes.STR) for name in JobFilter.base_filters],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): {"type": "array", "items": {"type": "object", "additionalProperties": {}}},
            400: ERROR,
        },
    )
    def get(self, request: Request, fmt: str) -> Any:
        # The export reads neither the unit spans nor the log: don't load them for every row.
        queryset = jobs_visible_to(request.user).defer("progress", "log").order_by("-queued_at", "-id")
        filterset = JobFilter(request.query_params, queryset=queryset, request=request)
        if not filterset.is_valid():
            return Response(filterset.errors, status=status.HTTP_400_BAD_REQUEST)
        jobs = filterset.qs
        name = exports.export_name("paralab-jobs", fmt)
        if fmt == "csv":
            return exports.csv_response(
                name, exports.job_csv_header(), (exports.job_csv_row(job) for job in jobs.iterator(chunk_size=500))
            )
        return exports.json_response(name, [exports.job_record(job) for job in jobs.iterator(chunk_size=500)])


class StudyExportView(DownloadView):
    """A study as CSV (``?table=jobs``, one row per job, or ``?table=summary``, the page's table) or JSON."""

    @extend_schema(
        parameters=[
            FORMAT,
            OpenApiParameter("table", OpenApiTypes.STR, enum=["jobs", "summary"], description="CSV only"),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: int, fmt: str) -> Any:
        study = study_get_for_user(user=request.user, study_id=pk)
        if fmt == "json":
            return exports.json_response(
                exports.export_name(f"study-{pk}", "json"), study_document(study, request=request)
            )
        table = request.query_params.get("table", "jobs")
        if table not in ("jobs", "summary"):
            return Response({"table": ["must be jobs or summary"]}, status=status.HTTP_400_BAD_REQUEST)
        runs = study_runs(study)
        series = series_with_marks(study_analysis(study, runs), runs)
        if table == "summary":
            header, rows = exports.STUDY_SUMMARY_COLUMNS, exports.study_summary_rows(pk, series)
        else:
            header, rows = exports.STUDY_JOB_COLUMNS, exports.study_job_rows(pk, runs, series)
        return exports.csv_response(exports.export_name(f"study-{pk}-{table}", "csv"), header, rows)


class StudyChartView(DownloadView):
    """One of the study's charts as SVG, drawn on the server from the same numbers as the page."""

    @extend_schema(
        parameters=[OpenApiParameter("chart", OpenApiTypes.STR, enum=list(svg_chart.CHARTS))],
        responses={(200, "image/svg+xml"): OpenApiTypes.STR},
    )
    def get(self, request: Request, pk: int) -> Any:
        study = study_get_for_user(user=request.user, study_id=pk)
        chart = request.query_params.get("chart", "speedup")
        if chart not in svg_chart.CHARTS:
            return Response({"chart": [f"must be one of {', '.join(svg_chart.CHARTS)}"]}, status=400)
        runs = study_runs(study)
        svg = svg_chart.study_chart(series_with_marks(study_analysis(study, runs), runs), chart, study.title)
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        disposition = "attachment" if request.query_params.get("download") else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="study-{pk}-{chart}.svg"'
        return response


class CompareView(APIView):
    """Jobs (``?jobs=3,4``) or studies (``?studies=1,2``) side by side: differences in parameters,
    set-up and provenance, and their timings and speedups."""

    @extend_schema(
        parameters=[
            OpenApiParameter("jobs", OpenApiTypes.STR, description="job ids, comma-separated"),
            OpenApiParameter("studies", OpenApiTypes.STR, description="study ids, comma-separated"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        job_ids = parse_ids("jobs", request.query_params.getlist("jobs"))
        study_ids = parse_ids("studies", request.query_params.getlist("studies"))
        if len(job_ids) == 1 or len(study_ids) == 1 or not (job_ids or study_ids):
            field = "studies" if len(study_ids) == 1 else "jobs"
            return Response({field: ["give two or more ids to compare side by side"]}, status=400)
        return Response(
            {
                "jobs": compare_jobs(user=request.user, job_ids=job_ids) if job_ids else None,
                "studies": compare_studies(user=request.user, study_ids=study_ids) if study_ids else None,
            }
        )
