"""How studies look in the API. The full document (runs, analysis, provenance) is also what the page
embeds for its charts and what the JSON export downloads, so all three show the same numbers."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from webapp.studies.models import Study, StudyRun
from webapp.studies.presets import PRESETS
from webapp.studies.selectors import (
    Progress,
    progress_of_runs,
    run_counts_towards_timing,
    series_with_marks,
    study_analysis,
    study_progress,
    study_provenance,
    study_runs,
)

PROGRESS_SCHEMA = {
    "type": "object",
    "properties": {
        name: {"type": "integer"}
        for name in ("total", "finished", "queued", "running", "succeeded", "failed", "cancelled")
    },
}


class StudySerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api-study-detail", lookup_url_kwarg="pk")
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = [
            "id", "url", "team", "created_by", "title", "preset", "workload", "params", "backends",
            "implementations", "workers", "repetitions", "created_at", "status", "progress",
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
    backends = serializers.JSONField(
        required=False, default=list, help_text='e.g. ["threads", "processes"]; the sequential baseline is added'
    )
    implementations = serializers.JSONField(required=False, default=lambda: ["python"], help_text='e.g. ["python"]')
    workers = serializers.JSONField(required=False, default=None, help_text="worker counts, default 1..cores")
    repetitions = serializers.JSONField(required=False, default=3, help_text="runs of each configuration, 1 to 10")

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


def study_document(study: Study, *, request: Any, runs: list[StudyRun] | None = None) -> dict[str, Any]:
    """Everything about a study: settings, progress, every run, the scaling analysis and provenance,
    all from one read of its runs (``runs``, if the caller has them)."""
    runs = study_runs(study) if runs is None else runs
    series = series_with_marks(study_analysis(study, runs), runs)
    progress = progress_of_runs(runs)

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
                "backend": job.backend,
                "implementation": job.implementation,
                "workers": job.workers,
                "status": job.status,
                "verified": job.verified,
                "wall_time": job.wall_time,
                "done": int(run.progress_done or 0),
                "total": int(run.progress_total or 0),
                "counted": run_counts_towards_timing(run),
            }
        )
    base = StudySerializer(study, context={"request": request, "progress": progress}).data
    return {
        **base,
        "current": next((row for row in run_rows if row["status"] == "running"), None),
        "runs": run_rows,
        "series": series,
        "provenance": {name: values for name, values in study_provenance(study)},
    }
