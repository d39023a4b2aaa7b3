"""Writes about teams: creating them and managing members."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.text import slugify

from webapp.teams.models import Membership, Role, Team


@transaction.atomic
def team_create(*, name: str, owner: AbstractBaseUser, slug: str = "") -> Team:
    team = Team.objects.create(name=name, slug=slug or slugify(name)[:50])
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def member_set_role(*, actor: AbstractBaseUser, team: Team, user: AbstractBaseUser, role: str) -> Membership:
    """Add ``user`` to ``team`` with ``role``, or change their role; only owners may."""
    if not Membership.objects.filter(team=team, user=actor, role=Role.OWNER).exists():
        raise PermissionDenied("Only the team's owners manage its members.")
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    if role != Role.OWNER and not team.memberships.filter(role=Role.OWNER).exclude(user=user).exists():
        raise ValueError("a team needs at least one owner: make someone else owner first")
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return membership
