"""Writes about teams: creating them, managing members, and invitations into them."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from webapp.accounts.services import LOOKUP_CHARS, secret_digest, secret_new, user_signup
from webapp.teams.models import Invitation, Membership, Role, Team
from webapp.teams.selectors import membership_get, team_owner_check

INVITATION_PREFIX = "pli_"


@transaction.atomic
def team_create(*, name: str, owner: User, slug: str = "") -> Team:
    team = Team.objects.create(name=name, slug=slug or slugify(name)[:50])
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def member_set_role(*, actor: User, team: Team, user: User, role: str) -> Membership:
    """Add ``user`` to ``team`` with ``role``, or change their role; only owners may."""
    team_owner_check(user=actor, team=team)
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    if role != Role.OWNER and not team.memberships.filter(role=Role.OWNER).exclude(user=user).exists():
        raise ValueError("a team needs at least one owner: make someone else owner first")
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return membership


class InvitationError(ValueError):
    """An invitation that cannot be used: unknown, used, revoked or expired, or the user already belongs."""


def invitation_create(*, actor: User, team: Team, role: str, email: str = "") -> tuple[Invitation, str]:
    """A new invitation and its secret (shown once; only its digest is kept). Only owners may invite.

    With an e-mail address, the link is mailed there once the transaction commits.
    """
    team_owner_check(user=actor, team=team)
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    text, prefix, digest = secret_new(INVITATION_PREFIX)
    invitation = Invitation.objects.create(
        team=team,
        email=email,
        role=role,
        prefix=prefix,
        digest=digest,
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.PARALAB_INVITATION_DAYS),
    )
    return invitation, text


def invitation_mail(*, invitation: Invitation, link: str) -> None:
    """Mails the link to the invitation's address after the commit (a rolled-back invitation sends nothing)."""
    context = {"invitation": invitation, "link": link, "inviter": invitation.created_by.get_username()}
    subject = f"You are invited to {invitation.team.name} on Paralab"
    body = render_to_string("teams/invitation_email.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))


def invitation_revoke(*, actor: User, team: Team, invitation_id: int) -> bool:
    team_owner_check(user=actor, team=team)
    return bool(
        Invitation.objects.filter(pk=invitation_id, team=team, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def invitation_for_secret(text: str) -> Invitation:
    """The usable invitation this secret opens, or InvitationError saying why there is none."""
    if not text.startswith(INVITATION_PREFIX) or len(text) > 100:
        raise InvitationError("This invitation link is not valid.")
    digest = secret_digest(text)
    for invitation in Invitation.objects.filter(prefix=text[:LOOKUP_CHARS]).select_related("team", "created_by"):
        if hmac.compare_digest(invitation.digest, digest):
            if invitation.state != "pending":
                raise InvitationError(f"This invitation was {invitation.state}: ask the team's owner for a new one.")
            return invitation
    raise InvitationError("This invitation link is not valid.")


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """``user`` joins the team with the invitation's role; the invitation is used up.

    The claim is a conditional UPDATE, so two people racing on one link cannot both get in.
    """
    existing = membership_get(user=user, team=invitation.team)
    if existing is not None:
        raise InvitationError(f"You are already {existing.get_role_display().lower()} of {invitation.team}.")
    now = timezone.now()
    claimed = Invitation.objects.filter(
        pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, used_by=user)
    if not claimed:
        raise InvitationError("This invitation was just used or revoked: ask the team's owner for a new one.")
    return Membership.objects.create(team=invitation.team, user=user, role=invitation.role)


@transaction.atomic
def invitation_accept_new_user(*, invitation: Invitation, username: str, email: str, password: str) -> Membership:
    """A new account that joins the team at once; if the invitation cannot be used, no account is left behind."""
    user = user_signup(username=username, email=email, password=password)
    return invitation_accept(invitation=invitation, user=user)
