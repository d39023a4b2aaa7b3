"""Reads about jobs, scoped to the teams of the user asking."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.db.models.fields.json import KT
from django.http import Http404

from webapp.jobs.models import Artifact, Job
from webapp.teams.models import Membership


def jobs_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Job]:
    if not user.is_authenticated:
        return Job.objects.none()
    # The user's few team ids as a literal list, not a join through memberships: the planner can then
    # walk the (team, queued_at) and queued_at indexes in order and stop at the first page.
    team_ids = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    return Job.objects.filter(team_id__in=team_ids).select_related("team", "submitted_by")


def job_get_for_user(*, user: AbstractBaseUser | AnonymousUser, job_id: int) -> Job:
    """The job if the user may see it; another team's job is a 404, never a 403."""
    job = jobs_visible_to(user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def artifact_get_for_user(*, user: AbstractBaseUser | AnonymousUser, job_id: int, name: str) -> Artifact:
    artifact = Artifact.objects.filter(job__in=jobs_visible_to(user), job_id=job_id, name=name).first()
    if artifact is None:
        raise Http404("No such artifact.")
    return artifact


def job_rows(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """What a table of jobs shows: progress counters without the per-unit spans, no logs or results."""
    return jobs.defer("progress", "log", "result", "provenance", "verification", "error").annotate(
        progress_done=KT("progress__done"), progress_total=KT("progress__total")
    )
