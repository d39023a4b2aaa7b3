"""Open sign-up (off unless PARALAB_OPEN_SIGNUP) and Django's password reset through the pages, with the
mail read from Django's test outbox."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-passphrase-42"


def text(response) -> str:
    return response.content.decode()


def test_sign_up_is_by_invitation_unless_the_setting_allows_it():
    login_page = text(Client().get("/accounts/login/"))
    assert "Ask a team's owner for an invitation link." in login_page and "/accounts/signup/" not in login_page
    response = Client().post("/accounts/signup/", {"username": "drifter", "email": "d@example.org",
                                                   "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})  # fmt: skip
    assert response.status_code == 404
    assert not get_user_model().objects.filter(username="drifter").exists()


@override_settings(PARALAB_OPEN_SIGNUP=True)
def test_open_sign_up_makes_an_account_in_no_team():
    client = Client()
    assert 'href="/accounts/signup/"' in text(client.get("/accounts/login/"))
    bad = client.post("/accounts/signup/", {"username": "drifter", "email": "nope", "password1": "drifter",
                                            "password2": "drifter"})  # fmt: skip
    assert bad.status_code == 400
    assert "Enter a valid email address." in text(bad) and "The password is too similar to the username." in text(bad)
    response = client.post("/accounts/signup/", {"username": "drifter", "email": "d@example.org",
                                                 "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
                           follow=True)  # fmt: skip
    assert response.redirect_chain[-1][0] == "/" and "Ask a team&#x27;s owner for an invitation" in text(response)
    user = get_user_model().objects.get(username="drifter")
    assert user.email == "d@example.org" and not user.memberships.exists()
    assert client.get("/accounts/signup/").status_code == 302  # logged in now


def test_password_reset_by_mail(make_user):
    user = make_user("forgetful")
    user.email = "forgetful@example.org"
    user.save()
    client = Client()
    assert 'href="/accounts/password-reset/"' in text(client.get("/accounts/login/"))
    response = client.post("/accounts/password-reset/", {"email": "forgetful@example.org"}, follow=True)
    assert "Check your e-mail" in text(response)
    # An unknown address looks the same and sends nothing (no way to probe who has an account).
    assert "Check your e-mail" in text(
        client.post("/accounts/password-reset/", {"email": "x@example.org"}, follow=True)
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["forgetful@example.org"]
    assert mail.outbox[0].subject == "Reset your Paralab password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)

    form = client.get(link, follow=True)  # Django swaps the token for a session marker, then shows the form
    assert "Choose a new password" in text(form) and 'name="new_password1"' in text(form)
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
                       follow=True)  # fmt: skip
    assert "Your new password works now." in text(done)
    assert Client().login(username="forgetful", password=NEW_PASSWORD)
    # The link works once.
    again = Client().get(link, follow=True)
    assert "This link is not valid" in text(again) and 'name="new_password1"' not in text(again)
