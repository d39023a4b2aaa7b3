"""The profile page: personal API tokens shown once, listed by prefix, revocable; the token then works on the API."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from webapp.accounts.models import ApiToken
from webapp.accounts.services import token_create

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_profile_lists_my_teams_and_links_from_the_nav(client_for, team_setup):
    page = text(client_for(team_setup["bob"]).get(reverse("profile")))
    assert 'href="/profile/"' in page and 'href="/api/docs/"' in page
    assert "Team A" in page and "member" in page
    assert "No tokens yet." in page


def test_token_is_shown_once_then_only_its_prefix(client_for, team_setup):
    client = client_for(team_setup["alice"])
    response = client.post(reverse("token-create"), {"name": "laptop CLI"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = text(response)
    shown = re.search(r'<pre class="token">(plb_[\w-]+)</pre>', page)
    assert shown, page
    assert "will not be shown again" in page

    token = ApiToken.objects.get(user=team_setup["alice"])
    assert token.name == "laptop CLI" and shown.group(1).startswith(token.prefix)

    later = text(client.get(reverse("profile")))
    assert shown.group(1) not in later
    assert f"<code>{token.prefix}…</code>" in later and "laptop CLI" in later

    # The text shown is a working API credential.
    assert Client().get("/api/v1/jobs/", HTTP_AUTHORIZATION=f"Bearer {shown.group(1)}").status_code == 200


def test_token_needs_a_name(client_for, team_setup):
    response = client_for(team_setup["alice"]).post(reverse("token-create"), {"name": ""})
    assert "This field is required." in text(response)
    assert not ApiToken.objects.exists()


def test_revoke_marks_the_token_and_it_stops_working(client_for, team_setup):
    token, token_text = token_create(user=team_setup["alice"], name="ci")
    client = client_for(team_setup["alice"])
    assert f'action="/profile/tokens/{token.pk}/revoke/"' in text(client.get(reverse("profile")))

    response = client.post(reverse("token-revoke", args=[token.pk]), follow=True)
    assert "The token is revoked" in text(response)
    token.refresh_from_db()
    assert token.revoked_at is not None
    page = text(response)
    assert '<tr class="revoked">' in page and f'action="/profile/tokens/{token.pk}/revoke/"' not in page

    assert Client().get("/api/v1/jobs/", HTTP_AUTHORIZATION=f"Bearer {token_text}").status_code == 401


def test_cannot_see_or_revoke_someone_elses_token(client_for, team_setup):
    token, _ = token_create(user=team_setup["mallory"], name="mallory's")
    client = client_for(team_setup["alice"])
    assert "mallory&#x27;s" not in text(client.get(reverse("profile")))
    response = client.post(reverse("token-revoke", args=[token.pk]), follow=True)
    assert "No such active token." in text(response)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_pages_are_post_only_and_need_login(client, client_for, team_setup):
    assert client.post(reverse("token-create"), {"name": "x"}).status_code == 302
    assert client_for(team_setup["alice"]).get(reverse("token-create")).status_code == 405
    assert not ApiToken.objects.exists()
