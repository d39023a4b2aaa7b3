"""Team pages: your teams, a team's members, and owners adding members and changing roles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from webapp.teams.models import Membership, Role

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_team_list_shows_only_my_teams_with_my_role(client_for, team_setup):
    page = text(client_for(team_setup["vera"]).get(reverse("team-list")))
    assert 'href="/teams/team-a/"' in page and "Viewer" in page
    assert "team-b" not in page and "Team B" not in page


def test_team_page_lists_members_and_roles(client_for, team_setup):
    page = text(client_for(team_setup["bob"]).get(reverse("team-detail", args=["team-a"])))
    for username, role in (("alice", "Owner"), ("bob", "Member"), ("vera", "Viewer")):
        assert username in page and role in page
    assert "mallory" not in page
    # Only owners get the forms.
    assert "Add a member" not in page and 'action="/teams/team-a/members/"' not in page


def test_another_teams_page_is_404(client_for, team_setup):
    assert client_for(team_setup["alice"]).get(reverse("team-detail", args=["team-b"])).status_code == 404
    assert client_for(team_setup["alice"]).get(reverse("team-detail", args=["no-such-team"])).status_code == 404


def test_owner_adds_a_member(client_for, team_setup, make_user):
    carol = make_user("carol")
    client = client_for(team_setup["alice"])
    assert "Add a member" in text(client.get(reverse("team-detail", args=["team-a"])))
    response = client.post(
        reverse("team-member-set", args=["team-a"]), {"username": "carol", "role": "member"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("team-detail", args=["team-a"])
    assert "carol is now member of Team A." in text(response)
    assert Membership.objects.get(team=team_setup["team_a"], user=carol).role == Role.MEMBER
    # carol now sees the team.
    assert client_for(carol).get(reverse("team-detail", args=["team-a"])).status_code == 200


def test_owner_changes_a_role(client_for, team_setup):
    client = client_for(team_setup["alice"])
    client.post(reverse("team-member-set", args=["team-a"]), {"username": "vera", "role": "member"})
    assert Membership.objects.get(team=team_setup["team_a"], user=team_setup["vera"]).role == Role.MEMBER
    page = text(client.get(reverse("team-detail", args=["team-a"])))
    membership = Membership.objects.get(team=team_setup["team_a"], user=team_setup["vera"])
    assert f'<select name="role" id="role-{membership.pk}">' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "nobody", "role": "member"}, "There is no user named &#x27;nobody&#x27;."),
        ({"username": "mallory", "role": "admin"}, "Select a valid choice. admin is not one of the available choices."),
        ({"username": "", "role": "member"}, "This field is required."),
    ],
)
def test_bad_member_form_shows_the_reason(client_for, team_setup, data, message):
    response = client_for(team_setup["alice"]).post(reverse("team-member-set", args=["team-a"]), data)
    assert response.status_code == 200
    assert message in text(response)
    assert not Membership.objects.filter(team=team_setup["team_a"], user=team_setup["mallory"]).exists()


def test_members_and_viewers_cannot_manage_and_outsiders_get_404(client_for, team_setup):
    url = reverse("team-member-set", args=["team-a"])
    data = {"username": "mallory", "role": "owner"}
    assert client_for(team_setup["bob"]).post(url, data).status_code == 403
    assert client_for(team_setup["vera"]).post(url, data).status_code == 403
    assert client_for(team_setup["mallory"]).post(url, data).status_code == 404
    assert client_for(team_setup["alice"]).get(url).status_code == 405
    # Refused before the form is read: a member's bad form is a 403 too, not the owner's form with its errors.
    assert client_for(team_setup["bob"]).post(url, {"username": "", "role": "member"}).status_code == 403
    assert not Membership.objects.filter(team=team_setup["team_a"], user=team_setup["mallory"]).exists()
