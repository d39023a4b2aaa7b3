"""Your profile (the teams you are in, your personal API tokens), logging in, open sign-up, password reset."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.forms import SignupForm
from webapp.accounts.models import ApiToken
from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.accounts.reset_limit import reset_wait
from webapp.accounts.services import token_create, token_revoke, user_signup
from webapp.notifications.forms import JobEmailForm
from webapp.notifications.selectors import job_email_get
from webapp.teams.selectors import memberships_for_user


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="what the token is for, e.g. “laptop CLI”")


def _render_profile(
    request: AuthenticatedHttpRequest,
    form: TokenCreateForm,
    new_token: ApiToken | None = None,
    new_token_text: str = "",
) -> HttpResponse:
    context = {
        "memberships": list(memberships_for_user(request.user)),
        "tokens": list(ApiToken.objects.filter(user=request.user)),
        "form": form,
        "new_token": new_token,
        "new_token_text": new_token_text,
        "job_email_form": JobEmailForm(
            initial={"job_email": job_email_get(user=request.user), "email": request.user.email}
        ),
    }
    return render(request, "accounts/profile.html", context)


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render_profile(request, TokenCreateForm())


@require_POST
@login_required
def token_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Shows the new token's text in this response only: it is never stored, so it cannot be shown again."""
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _render_profile(request, form)
    token, text = token_create(user=request.user, name=form.cleaned_data["name"])
    response = _render_profile(request, TokenCreateForm(), new_token=token, new_token_text=text)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def token_revoke_view(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    if token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "The token is revoked; requests using it are now refused.")
    else:
        messages.error(request, "No such active token.")
    return redirect("profile")


class LoginView(auth_views.LoginView):
    """Django's login, which also offers sign-up when the site allows it."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "open_signup": settings.PARALAB_OPEN_SIGNUP}


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, but a client or an address that asked too often is told when to ask again."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        wait = reset_wait(request=self.request, email=form.cleaned_data["email"])
        if wait:
            context = {"minutes": math.ceil(wait / 60)}
            response = render(self.request, "registration/password_reset_limited.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().form_valid(form)


def signup(request: HttpRequest) -> HttpResponse:
    """An account in no team yet. Off unless PARALAB_OPEN_SIGNUP: people come in through invitations."""
    if not settings.PARALAB_OPEN_SIGNUP:
        raise Http404("Sign-up is by invitation: ask a team's owner for a link.")
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = user_signup(username=data["username"], email=data["email"], password=data["password1"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Ask a team's owner for an invitation to join their team.")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.is_bound else 200)
