"""What a WebSocket subscriber may see: the scoped lookups behind the consumers."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from webapp.jobs.events import job_group, job_state, job_summary, team_group
from webapp.jobs.selectors import job_get_for_user, jobs_visible_to
from webapp.teams.selectors import team_access, teams_for_user

FEED_BACKLOG = 20


def job_subscription(*, user: Any, job_id: int) -> tuple[str, list[dict[str, Any]]] | None:
    try:
        job = job_get_for_user(user=user, job_id=job_id)
    except Http404:
        return None
    return job_group(job.pk), [job_state(job)]


def team_subscription(*, user: Any, slug: str) -> tuple[str, list[dict[str, Any]]] | None:
    try:
        membership = team_access(user=user, slug=slug)
    except Http404:
        return None
    recent = jobs_visible_to(user).filter(team=membership.team)[:FEED_BACKLOG]
    return team_group(membership.team_id), [job_summary(job) for job in reversed(list(recent))]


# The checks again while a socket is open: what the subscriptions check, as one cheap EXISTS each.


def job_visible(*, user: Any, job_id: int) -> bool:
    return jobs_visible_to(user).filter(pk=job_id).exists()


def team_visible(*, user: Any, slug: str) -> bool:
    return teams_for_user(user).filter(slug=slug).exists()
