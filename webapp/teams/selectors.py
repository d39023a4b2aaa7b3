"""Reads about teams, always from the point of view of one user."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from webapp.teams.models import Membership, Team

OWNERS_ONLY = "Only the team's owners manage its members, invitations and webhooks."


def teams_for_user(user: User | AnonymousUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def memberships_for_user(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def membership_get(*, user: User, team: Team | int) -> Membership | None:
    team_id = team.pk if isinstance(team, Team) else team
    return Membership.objects.filter(user=user, team_id=team_id).select_related("team").first()


def team_access(*, user: User, slug: str) -> Membership:
    """The user's membership of the team ``slug``; a team they are not in does not exist for them."""
    membership = Membership.objects.filter(user=user, team__slug=slug).select_related("team").first()
    if membership is None:
        raise Http404("No such team.")
    return membership


def team_submitter_check(*, user: User, team: Team, action: str) -> Membership:
    """The user's membership if they may write in the team (owner or member); viewers get PermissionDenied."""
    membership = membership_get(user=user, team=team)
    if membership is None or not membership.can_submit:
        raise PermissionDenied(f"Viewers cannot {action} in this team.")
    return membership


def team_owner_check(*, user: User, team: Team) -> Membership:
    """The user's membership if they own the team (members, invitations, webhooks); others get PermissionDenied."""
    membership = membership_get(user=user, team=team)
    if membership is None or not membership.can_manage:
        raise PermissionDenied(OWNERS_ONLY)
    return membership


def team_owner_access(*, user: User, slug: str) -> Membership:
    """``team_access`` for an owner's page: a team they are not in is a 404, one they do not own a 403."""
    membership = team_access(user=user, slug=slug)
    if not membership.can_manage:
        raise PermissionDenied(OWNERS_ONLY)
    return membership
