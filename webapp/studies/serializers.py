"""How studies look in the API. The full document (runs, analysis, provenance) is also what the page
embeds for its charts and what the JSON export downloads, so all three show the same numbers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from webapp.jobs.document import STUDY_RUN_FIELDS, job_document
from webapp.studies.models import Study, StudyRun
from webapp.studies.presets import PRESETS
from webapp.studies.selectors import (
    Progress,
    progress_of_runs,
    run_counts_towards_timing,
    run_layout,
    series_with_marks,
    study_analysis,
    study_progress,
    study_provenance,
    study_runs,
)
from webapp.studies.svg_chart import chart_style
from webapp.teams.models import Team

PROGRESS_SCHEMA = {
    "type": "object",
    "properties": {
        name: {"type": "integer"}
        for name in ("total", "finished", "queued", "running", "succeeded", "failed", "cancelled")
    },
}


class StudySerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api-study-detail", lookup_url_kwarg="pk")
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = [
            "id", "url", "team", "created_by", "title", "preset", "workload", "params", "backends",
            "min_baseline", "calibration",
            "implementations", "workers", "threads", "repetitions", "created_at", "status", "progress",
        ]  # fmt: skip
        read_only_fields = fields

    def _progress(self, study: Study) -> Progress:
        return self.context.get("progress") or study_progress(study)

    def get_status(self, study: Study) -> str:
        return self._progress(study).status

    @extend_schema_field(PROGRESS_SCHEMA)
    def get_progress(self, study: Study) -> dict[str, int]:
        return self._progress(study).as_dict()


class StudyCreateSerializer(serializers.Serializer):
    """Shape only; the service checks every value against the workload's schema and the limits."""

    team = serializers.SlugField(required=False, help_text="Team slug; optional if you belong to one team.")
    preset = serializers.ChoiceField(
        choices=list(PRESETS), required=False, help_text="Start a ready-made study; workload and params come from it."
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    workload = serializers.CharField(required=False, max_length=40)
    params = serializers.JSONField(required=False, default=dict)
    # The ignores: drf-stubs type a JSONField's default as a mapping, but JSON is a list or a number as well.
    backends = serializers.JSONField(
        required=False,
        default=list,  # type: ignore[arg-type]
        help_text='e.g. ["threads", "processes"]; the sequential baseline is added',
    )
    implementations = serializers.JSONField(
        required=False,
        default=lambda: ["python"],  # type: ignore[arg-type,return-value]
        help_text='e.g. ["python"]',
    )
    workers = serializers.JSONField(
        required=False,
        default=None,
        help_text="worker counts; default 1, 2, 4, … up to the cores, fewer if over the team's limit",
    )
    repetitions = serializers.JSONField(
        required=False,
        default=3,  # type: ignore[arg-type]
        help_text="runs of each configuration, 1 to 10",
    )
    min_baseline = serializers.JSONField(
        required=False,
        default=None,
        help_text="seconds the sequential baseline must last: a worker first scales the workload's size (per "
        "implementation, within its bounds) until it does, then the jobs are made; default: the size as given",
    )
    threads = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="OpenMP threads per MPI rank of the hybrid runs, dividing each of their worker counts "
        "(workers = ranks × threads); default: each run's ranks fill the cores of the host that runs them",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("preset") and not attrs.get("workload"):
            raise serializers.ValidationError({"workload": ["required unless a preset is given"]})
        if not attrs.get("preset") and not attrs.get("backends"):
            raise serializers.ValidationError({"backends": ["required unless a preset is given"]})
        return attrs


class PresetSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    workload = serializers.CharField()
    params = serializers.DictField()
    backends = serializers.ListField(child=serializers.CharField())
    implementations = serializers.ListField(child=serializers.CharField())
    # What one request with the preset's defaults makes on this server (the sweep depends on its cores).
    workers = serializers.ListField(child=serializers.IntegerField(), help_text="the default worker sweep here")
    repetitions = serializers.IntegerField(allow_null=True)
    jobs = serializers.IntegerField(
        allow_null=True,
        help_text="jobs the preset makes with its defaults here (a team may have PARALAB_TEAM_MAX_ACTIVE queued "
        "or running); null if it cannot be made here",
    )
    problem = serializers.CharField(allow_blank=True, help_text="why the preset cannot be made here, if it cannot")


def study_document(study: Study, *, request: Any, runs: list[StudyRun] | None = None) -> dict[str, Any]:
    """Everything about a study: settings, progress, every run, the scaling analysis and provenance,
    all from one read of its runs (``runs``, if the caller has them)."""
    runs = study_runs(study) if runs is None else runs
    series = series_with_marks(study_analysis(study, runs), runs)
    progress = progress_of_runs(runs, study)

    def absolute(path: str) -> str:
        return request.build_absolute_uri(path) if request is not None else path

    run_rows = []
    for run in runs:
        job = run.job
        run_rows.append(
            {
                "job": job.pk,
                "url": absolute(reverse("api-job-detail", kwargs={"pk": job.pk})),
                "page": absolute(reverse("job-detail", kwargs={"job_id": job.pk})),
                "repetition": run.repetition,
                **job_document(job, STUDY_RUN_FIELDS),
                # Annotated by studies_runs; the stubs cannot see annotate() through list[StudyRun].
                "done": int(run.progress_done or 0),  # type: ignore[attr-defined]
                "total": int(run.progress_total or 0),  # type: ignore[attr-defined]
                "counted": run_counts_towards_timing(run),
                "layout": run_layout(run),
            }
        )
    base = StudySerializer(study, context={"request": request, "progress": progress}).data
    return {
        **base,
        "current": next((row for row in run_rows if row["status"] == "running"), None),
        "runs": run_rows,
        "series": series,
        "chart_style": chart_style(series),  # colours, markers and axes, the same in the SVG downloads
        "provenance": {name: values for name, values in study_provenance(study)},
    }
