"""Your profile: the teams you are in and your personal API tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.models import ApiToken
from webapp.accounts.services import token_create, token_revoke
from webapp.teams.selectors import memberships_for_user


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="what the token is for, e.g. “laptop CLI”")


def _render_profile(
    request: HttpRequest, form: TokenCreateForm, new_token: ApiToken | None = None, new_token_text: str = ""
) -> HttpResponse:
    context = {
        "memberships": list(memberships_for_user(request.user)),
        "tokens": list(ApiToken.objects.filter(user=request.user)),
        "form": form,
        "new_token": new_token,
        "new_token_text": new_token_text,
    }
    return render(request, "accounts/profile.html", context)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _render_profile(request, TokenCreateForm())


@require_POST
@login_required
def token_create_view(request: HttpRequest) -> HttpResponse:
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
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    if token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "The token is revoked; requests using it are now refused.")
    else:
        messages.error(request, "No such active token.")
    return redirect("profile")
