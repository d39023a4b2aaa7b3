"""Reads about jobs, scoped to the teams of the user asking."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, QuerySet
from django.db.models.fields.json import KT
from django.http import Http404

from webapp.jobs.models import Artifact, Job, Status
from webapp.teams.models import Membership, Team


def jobs_visible_to(user: User | AnonymousUser) -> QuerySet[Job]:
    if not user.is_authenticated:
        return Job.objects.none()
    # The user's few team ids as a literal list, not a join through memberships: the planner can then
    # walk the (team, queued_at) and queued_at indexes in order and stop at the first page.
    team_ids = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    return Job.objects.filter(team_id__in=team_ids).select_related("team", "submitted_by")


def job_get_for_user(*, user: User | AnonymousUser, job_id: int) -> Job:
    """The job if the user may see it; another team's job is a 404, never a 403."""
    job = jobs_visible_to(user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def jobs_get_for_user(*, user: User | AnonymousUser, job_ids: list[int]) -> list[Job]:
    """The jobs in the order asked, in one query, if the user may see every one; any other is a 404."""
    found = {job.pk: job for job in jobs_visible_to(user).filter(pk__in=job_ids)}
    missing = [job_id for job_id in job_ids if job_id not in found]
    if missing:
        raise Http404(f"No such job: #{missing[0]}.")
    return [found[job_id] for job_id in job_ids]


def artifact_get_for_user(*, user: User | AnonymousUser, job_id: int, name: str) -> Artifact:
    artifact = Artifact.objects.filter(job__in=jobs_visible_to(user), job_id=job_id, name=name).first()
    if artifact is None:
        raise Http404("No such artifact.")
    return artifact


def job_rows(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """What a table of jobs shows: progress counters without the per-unit spans, no logs or results; the study
    a job belongs to, if any, in the same query (``job.study_run``)."""
    return (
        jobs.select_related("study_run")
        .defer("progress", "log", "result", "provenance", "verification", "error", "measurement", "balance")
        .annotate(progress_done=KT("progress__done"), progress_total=KT("progress__total"))
    )


def team_job_rooms(*, teams: list[Team]) -> dict[int, int]:
    """How many more jobs each team can queue now, by team id: PARALAB_TEAM_MAX_ACTIVE less its queued and
    running jobs (what ``services.team_capacity_check`` enforces; this is for saying so before a submission).
    One query for all the teams, however many the user is in."""
    active = dict(
        Job.objects.filter(team__in=teams, status__in=(Status.QUEUED, Status.RUNNING))
        .order_by()
        .values("team")
        .annotate(n=Count("id"))
        .values_list("team", "n")
    )
    return {team.pk: max(0, settings.PARALAB_TEAM_MAX_ACTIVE - active.get(team.pk, 0)) for team in teams}
