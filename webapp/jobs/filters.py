"""The job history filters, shared by the history page and the API.

Callers pass an already scoped queryset (``selectors.jobs_visible_to(user)``): these filters only
narrow what the user may see, they never widen it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from kernels.registry import BACKENDS, IMPLEMENTATIONS, WORKLOADS
from webapp.jobs.models import Job, Status


class JobFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", label="Team", help_text="team slug")
    workload = django_filters.ChoiceFilter(
        choices=[(name, name) for name in WORKLOADS], empty_label="any workload", label="Workload"
    )
    backend = django_filters.ChoiceFilter(
        choices=[(name, name) for name in BACKENDS], empty_label="any backend", label="Backend"
    )
    implementation = django_filters.ChoiceFilter(
        choices=[(name, name) for name in IMPLEMENTATIONS], empty_label="any implementation", label="Implementation"
    )
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="any status", label="Status")
    study = django_filters.NumberFilter(field_name="study_run__study", label="Study", help_text="study id")
    submitted_by = django_filters.CharFilter(
        field_name="submitted_by__username", label="Submitted by", help_text="username"
    )
    # Compared as a range of instants, not queued_at::date, so the queued_at indexes serve them.
    queued_after = django_filters.DateFilter(
        method="filter_queued_after", label="Queued on or after", help_text="YYYY-MM-DD"
    )
    queued_before = django_filters.DateFilter(
        method="filter_queued_before", label="Queued on or before", help_text="YYYY-MM-DD"
    )

    def filter_queued_after(self, queryset: QuerySet[Job], name: str, value: date) -> QuerySet[Job]:
        return queryset.filter(queued_at__gte=_start_of(value))

    def filter_queued_before(self, queryset: QuerySet[Job], name: str, value: date) -> QuerySet[Job]:
        if value >= date.max:  # the last day there is: nothing is after it
            return queryset
        return queryset.filter(queued_at__lt=_start_of(value + timedelta(days=1)))

    class Meta:
        model = Job
        fields = [
            "team",
            "workload",
            "backend",
            "implementation",
            "status",
            "study",
            "submitted_by",
            "queued_after",
            "queued_before",
        ]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
