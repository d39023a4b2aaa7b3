"""Invitations through the pages: an owner invites by e-mail or by link, the invited person signs up
(or logs in) through it and lands in the team with the invitation's role; used, revoked, expired and
unknown links are refused with the reason."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from webapp.teams.models import Invitation, Membership, Role
from webapp.teams.services import InvitationError, invitation_accept, invitation_accept_new_user, invitation_for_secret

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/invitations/pli_[A-Za-z0-9_-]+/)")
NEW_PASSWORD = "a-long-new-passphrase-42"


def text(response) -> str:
    return response.content.decode()


def invite(client: Client, role: str, email: str = "") -> str:
    """Invites through the team page; returns the link's path as the page shows it (once)."""
    response = client.post(reverse("team-invite", args=["team-a"]), {"invite-email": email, "invite-role": role})
    assert response.status_code == 200, text(response)
    assert response["Cache-Control"] == "no-store"
    return LINK.search(text(response)).group(1)


def sign_up(client: Client, path: str, username: str, email: str = "", **extra: str):
    data = {"username": username, "email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **extra}
    return client.post(path, data, follow=True)


def test_viewer_invited_by_email_signs_up_and_is_a_viewer(client_for, team_setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the mail goes once the invitation is committed
        path = invite(client_for(team_setup["alice"]), "viewer", "newcomer@example.org")
    # The link went to the address, and its secret is stored only as a digest.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newcomer@example.org"]
    assert path in mail.outbox[0].body and "as viewer" in mail.outbox[0].body
    secret = path.split("/")[2]
    assert not Invitation.objects.filter(digest=secret).exists() and secret not in str(
        list(Invitation.objects.values())
    )

    visitor = Client()
    page = text(visitor.get(path))
    assert "Join Team A" in page and "as <strong>viewer</strong>" in page
    # The address comes from the invitation and cannot be changed.
    assert 'value="newcomer@example.org"' in page and "disabled" in page
    response = sign_up(visitor, path, "newcomer", email="someone-else@example.org")
    assert response.redirect_chain[-1][0] == reverse("team-detail", args=["team-a"])
    assert "You joined Team A as viewer." in text(response)

    user = get_user_model().objects.get(username="newcomer")
    assert user.email == "newcomer@example.org"
    assert Membership.objects.get(team=team_setup["team_a"], user=user).role == Role.VIEWER
    # A viewer indeed: the API refuses a submission.
    api = visitor.post("/api/v1/jobs/", {"team": "team-a", "workload": "fib", "params": {"ns": [5]}},
                       content_type="application/json")  # fmt: skip
    assert api.status_code == 403
    invitation = Invitation.objects.get()
    assert invitation.used_by == user and invitation.used_at is not None
    # The owner's page shows it used; the link is spent.
    assert "used by newcomer" in text(client_for(team_setup["alice"]).get(reverse("team-detail", args=["team-a"])))
    again = Client().get(path)
    assert again.status_code == 404 and "This invitation was used" in text(again)


def test_link_invitation_joins_a_logged_in_user(client_for, team_setup, make_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        path = invite(client_for(team_setup["alice"]), "member")
    assert mail.outbox == []  # an open link is handed over by the owner, not mailed
    carol = make_user("carol")
    client = client_for(carol)
    assert "Join Team A as carol" in text(client.get(path))
    response = client.post(path, follow=True)
    assert "You joined Team A as member." in text(response)
    assert Membership.objects.get(team=team_setup["team_a"], user=carol).role == Role.MEMBER


def test_a_member_already_in_the_team_keeps_their_role_and_the_link(client_for, team_setup):
    path = invite(client_for(team_setup["alice"]), "viewer")
    response = client_for(team_setup["bob"]).post(path)
    assert response.status_code == 409 and "You are already member of Team A." in text(response)
    assert Membership.objects.get(team=team_setup["team_a"], user=team_setup["bob"]).role == Role.MEMBER
    assert Invitation.objects.get().used_at is None


def test_log_in_from_the_invitation_comes_back_to_it(client_for, team_setup, make_user):
    path = invite(client_for(team_setup["alice"]), "member")
    make_user("carol")
    visitor = Client()
    login_link = f'href="/accounts/login/?next={path}"'
    assert login_link in text(visitor.get(path))
    response = visitor.post(f"/accounts/login/?next={path}", {"username": "carol", "password": "pw-for-tests-1",
                                                            "next": path}, follow=True)  # fmt: skip
    assert response.redirect_chain[-1][0] == path and "Join Team A as carol" in text(response)


def test_a_secret_with_a_known_prefix_but_another_digest_is_not_valid(team_setup):
    secret = "pli_" + "x" * 43
    Invitation.objects.create(team=team_setup["team_a"], role=Role.MEMBER, prefix=secret[:12], digest="d",
                              created_by=team_setup["alice"], expires_at=timezone.now() + timedelta(days=1))  # fmt: skip
    response = Client().get(f"/invitations/{secret}/")
    assert response.status_code == 404 and "This invitation link is not valid." in text(response)


def test_revoked_expired_and_unknown_links_are_refused(client_for, team_setup):
    owner = client_for(team_setup["alice"])
    revoked, expired = invite(owner, "member"), invite(owner, "member")
    invitation = Invitation.objects.get(prefix=revoked.split("/")[2][:12])
    response = owner.post(reverse("team-invitation-revoke", args=["team-a", invitation.pk]), follow=True)
    assert "The invitation is revoked" in text(response)
    Invitation.objects.filter(prefix=expired.split("/")[2][:12]).update(expires_at=timezone.now())
    for path, reason in (
        (revoked, "This invitation was revoked"),
        (expired, "This invitation was expired"),
        ("/invitations/pli_nothing-like-it/", "This invitation link is not valid."),
        ("/invitations/plb_an-api-token/", "This invitation link is not valid."),
    ):
        response = Client().get(path)
        assert response.status_code == 404 and reason in text(response), path
        assert sign_up(Client(), path, "intruder").redirect_chain == []
    assert not get_user_model().objects.filter(username="intruder").exists()


def test_only_owners_invite_and_revoke(client_for, team_setup):
    path = invite(client_for(team_setup["alice"]), "member")
    invitation = Invitation.objects.get()
    for actor in ("bob", "vera"):
        client = client_for(team_setup[actor])
        assert client.post(reverse("team-invite", args=["team-a"]), {"invite-role": "owner"}).status_code == 403
        assert client.post(reverse("team-invitation-revoke", args=["team-a", invitation.pk])).status_code == 403
        assert "Invitations" not in text(client.get(reverse("team-detail", args=["team-a"])))
    outsider = client_for(team_setup["mallory"])
    assert outsider.post(reverse("team-invite", args=["team-a"]), {"invite-role": "owner"}).status_code == 404
    assert Invitation.objects.count() == 1 and Invitation.objects.get().state == "pending"
    assert Client().get(path).status_code == 200


def test_bad_invitation_form_says_why(client_for, team_setup):
    response = client_for(team_setup["alice"]).post(
        reverse("team-invite", args=["team-a"]), {"invite-email": "not-an-address", "invite-role": "boss"}
    )
    assert response.status_code == 400
    page = text(response)
    assert "Enter a valid email address." in page and "Select a valid choice. boss is not one of" in page
    assert not Invitation.objects.exists()


def test_bad_sign_up_says_why_and_uses_nothing(client_for, team_setup):
    path = invite(client_for(team_setup["alice"]), "member")
    response = Client().post(path, {"username": "alice", "email": "a@example.org", "password1": "x",
                                    "password2": "y"})  # fmt: skip
    assert response.status_code == 400
    page = text(response)
    assert "A user with that username already exists." in page
    assert "The two password fields didn" in page
    assert Invitation.objects.get().used_at is None


def test_a_link_used_meanwhile_leaves_no_account_behind(client_for, team_setup, make_user):
    path = invite(client_for(team_setup["alice"]), "member")
    stale = invitation_for_secret(path.split("/")[2])  # the sign-up page was opened...
    invitation_accept(invitation=invitation_for_secret(path.split("/")[2]), user=make_user("quick"))  # ...then used
    with pytest.raises(InvitationError, match="just used or revoked"):
        invitation_accept_new_user(invitation=stale, username="slow", email="slow@example.org", password="p")
    assert not get_user_model().objects.filter(username="slow").exists()
