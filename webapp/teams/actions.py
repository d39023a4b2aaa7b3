"""The forms on a team's page that change the team (members, invitations, webhooks) share one shape: a POST by
one of its owners, one service call, then back to the team page saying what happened."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.teams.models import Membership
from webapp.teams.selectors import team_owner_access

P = ParamSpec("P")


class NotInTeam(Exception):
    """What a team action acts on is not (or no longer) in the team: said on the team page, as a stale
    link to a revoked invitation or a deleted webhook deserves no error page."""


def team_action(
    view: Callable[Concatenate[AuthenticatedHttpRequest, Membership, P], HttpResponse | str],
) -> Callable[Concatenate[AuthenticatedHttpRequest, str, P], HttpResponse]:
    """Make ``view(request, membership, **url_kwargs)`` a team page's action, URL ``teams/<slug>/…``.

    Before the view runs, a GET is a 405, the anonymous go to the login page, a team the user is not in is a 404
    and one they do not own a 403 (the services check the owner again). The view returns the success message
    (back to the team page with it), raises NotInTeam (back with that error) or returns a response of its own
    (a form with its errors)."""

    @require_POST
    @login_required
    @wraps(view)
    def action(request: AuthenticatedHttpRequest, slug: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        membership = team_owner_access(user=request.user, slug=slug)
        try:
            outcome = view(request, membership, *args, **kwargs)
        except NotInTeam as exc:
            messages.error(request, str(exc))
        else:
            if isinstance(outcome, HttpResponse):
                return outcome
            messages.success(request, outcome)
        return redirect("team-detail", slug=slug)

    return action
