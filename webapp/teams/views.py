"""Team pages: the teams you belong to, and one team's members (which its owners manage)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.teams.forms import MemberRoleForm
from webapp.teams.models import Membership
from webapp.teams.selectors import memberships_for_user, team_access
from webapp.teams.services import member_set_role


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    return render(request, "teams/list.html", {"memberships": list(memberships_for_user(request.user))})


def _render_team(request: HttpRequest, membership: Membership, form: MemberRoleForm) -> HttpResponse:
    # The team came from team_access, so listing its members is already scoped to a team the user is in.
    members = list(membership.team.memberships.select_related("user").order_by("user__username"))
    context = {"team": membership.team, "membership": membership, "members": members, "form": form}
    return render(request, "teams/detail.html", context)


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_team(request, team_access(user=request.user, slug=slug), MemberRoleForm())


@require_POST
@login_required
def team_member_set(request: HttpRequest, slug: str) -> HttpResponse:
    """Add a member or change a role; the service refuses non-owners (403)."""
    membership = team_access(user=request.user, slug=slug)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _render_team(request, membership, form)
    try:
        changed = member_set_role(
            actor=request.user, team=membership.team, user=form.user, role=form.cleaned_data["role"]
        )
    except ValueError as exc:
        form.add_error("role", str(exc))
        return _render_team(request, membership, form)
    messages.success(
        request, f"{form.user.get_username()} is now {changed.get_role_display().lower()} of {membership.team}."
    )
    return redirect("team-detail", slug=slug)
