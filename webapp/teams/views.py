"""Team pages: the teams you belong to, one team's members and invitations (which its owners manage),
and the page an invitation link opens."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from webapp.accounts.forms import SignupForm
from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.notifications.forms import WebhookForm
from webapp.notifications.selectors import deliveries_for_team, webhooks_for_team
from webapp.teams.actions import NotInTeam, team_action
from webapp.teams.forms import InvitationForm, MemberRoleForm
from webapp.teams.models import Invitation, Membership
from webapp.teams.selectors import memberships_for_user, team_access
from webapp.teams.services import (
    InvitationError,
    invitation_accept,
    invitation_accept_new_user,
    invitation_create,
    invitation_for_secret,
    invitation_mail,
    invitation_revoke,
    member_set_role,
)

INVITATIONS_SHOWN = 20


@login_required
def team_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "teams/list.html", {"memberships": list(memberships_for_user(request.user))})


def render_team(
    request: HttpRequest,
    membership: Membership,
    form: MemberRoleForm | None = None,
    *,
    invitation_form: InvitationForm | None = None,
    webhook_form: WebhookForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    # The team came from team_access, so listing its members is already scoped to a team the user is in.
    team = membership.team
    members = list(team.memberships.select_related("user").order_by("user__username"))
    context = {
        "team": team,
        "membership": membership,
        "members": members,
        "form": form or MemberRoleForm(),
        **extra,
    }
    if membership.can_manage:
        context["invitation_form"] = invitation_form or InvitationForm()
        context["invitations"] = list(team.invitations.select_related("used_by", "created_by")[:INVITATIONS_SHOWN])
        context["webhook_form"] = webhook_form or WebhookForm()
        context["webhooks"] = list(webhooks_for_team(team=team))
        context["deliveries"] = deliveries_for_team(team=team)
    return render(request, "teams/detail.html", context, status=status)


@login_required
def team_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return render_team(request, team_access(user=request.user, slug=slug))


@team_action
def team_member_set(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse | str:
    """Add a member or change a role."""
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return render_team(request, membership, form)
    try:
        changed = member_set_role(
            actor=request.user, team=membership.team, user=form.user, role=form.cleaned_data["role"]
        )
    except ValueError as exc:
        form.add_error("role", str(exc))
        return render_team(request, membership, form)
    return f"{form.user.get_username()} is now {changed.get_role_display().lower()} of {membership.team}."


@team_action
def team_invite(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """Make an invitation; its link is shown in this response only (it is stored hashed) and mailed if asked."""
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return render_team(request, membership, invitation_form=form, status=400)
    invitation, secret = invitation_create(
        actor=request.user, team=membership.team, role=form.cleaned_data["role"], email=form.cleaned_data["email"]
    )
    link = request.build_absolute_uri(reverse("invitation-accept", args=[secret]))
    if invitation.email:
        invitation_mail(invitation=invitation, link=link)
    response = render_team(request, membership, new_invitation=invitation, new_invitation_link=link)
    response["Cache-Control"] = "no-store"
    return response


@team_action
def team_invitation_revoke(request: AuthenticatedHttpRequest, membership: Membership, invitation_id: int) -> str:
    if not invitation_revoke(actor=request.user, team=membership.team, invitation_id=invitation_id):
        raise NotInTeam("No such pending invitation.")
    return "The invitation is revoked; its link no longer opens the team."


def invitation_page(request: HttpRequest, secret: str) -> HttpResponse:
    """What an invitation link opens: logged in, a button to join; otherwise a sign-up form that joins."""
    try:
        invitation = invitation_for_secret(secret)
    except InvitationError as exc:
        return render(request, "teams/invitation.html", {"error": str(exc)}, status=404)
    context: dict[str, Any] = {"invitation": invitation, "team": invitation.team}
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                invitation_accept(invitation=invitation, user=request.user)
            except InvitationError as exc:
                return render(request, "teams/invitation.html", {**context, "error": str(exc)}, status=409)
            return _joined(request, invitation)
        return render(request, "teams/invitation.html", context)
    form = SignupForm(request.POST if request.method == "POST" else None, invited_email=invitation.email)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = invitation_accept_new_user(
                invitation=invitation, username=data["username"], email=data["email"], password=data["password1"]
            )
        except InvitationError as exc:
            return render(request, "teams/invitation.html", {**context, "error": str(exc)}, status=409)
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        return _joined(request, invitation)
    status = 400 if form.is_bound else 200
    return render(request, "teams/invitation.html", {**context, "form": form}, status=status)


def _joined(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    messages.success(request, f"You joined {invitation.team} as {invitation.get_role_display().lower()}.")
    return redirect("team-detail", slug=invitation.team.slug)
