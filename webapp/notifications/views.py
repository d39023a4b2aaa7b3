"""The team page's webhook forms (owners) and the profile's e-mail choice; thin, as everywhere."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.notifications.forms import JobEmailForm, WebhookForm
from webapp.notifications.services import job_email_set, webhook_create, webhook_delete, webhook_send_test
from webapp.teams.actions import NotInTeam, team_action
from webapp.teams.models import Membership
from webapp.teams.views import render_team


@team_action
def webhook_add(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse | str:
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return render_team(request, membership, webhook_form=form, status=400)
    webhook_create(actor=request.user, team=membership.team, **form.cleaned_data)
    return f"Finished jobs will be POSTed to {form.cleaned_data['url']}."


@team_action
def webhook_remove(request: AuthenticatedHttpRequest, membership: Membership, webhook_id: int) -> str:
    if not webhook_delete(actor=request.user, team=membership.team, webhook_id=webhook_id):
        raise NotInTeam("No such webhook.")
    return "The webhook is removed, with its delivery log."


@team_action
def webhook_test(request: AuthenticatedHttpRequest, membership: Membership, webhook_id: int) -> str:
    if not webhook_send_test(actor=request.user, team=membership.team, webhook_id=webhook_id):
        raise NotInTeam("No such webhook.")
    return "A test delivery (event “ping”) is on its way: reload to see its answer below."


@require_POST
@login_required
def job_email_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = JobEmailForm(request.POST)
    if not form.is_valid():
        for error in [e for errors in form.errors.values() for e in errors]:
            messages.error(request, str(error))
        return redirect("profile")
    job_email_set(user=request.user, **form.cleaned_data)
    messages.success(request, "Saved your e-mail choice.")
    return redirect("profile")
