"""A bad id gives the site's own page with the reason: on compare (also with DEBUG on, where a bare Http404 showed
Django's technical page with the URL patterns), and the site's 404 page elsewhere."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_compare_with_a_bad_id_says_which_on_the_sites_page(settings, team_setup, client_for, make_job):
    settings.DEBUG = True
    alice = team_setup["alice"]
    job = make_job(user=alice, team=team_setup["team_a"])
    theirs = make_job(user=team_setup["mallory"], team=team_setup["team_b"])
    client = client_for(alice)
    for query, reason in ((f"jobs={job.pk},999999", "999999"), (f"jobs={job.pk},{theirs.pk}", str(theirs.pk)),
                          ("studies=999998,999999", "999998")):  # fmt: skip
        response = client.get(f"/compare/?{query}")
        html = response.content.decode()
        assert response.status_code == 404, query
        assert '<p class="errorlist nonfield" role="alert">No such' in html and reason in html, query
        assert "Django tried these URL patterns" not in html and '<form method="get"' in html


def test_another_teams_job_is_the_sites_404_page(settings, team_setup, client_for, make_job):
    settings.DEBUG = False
    theirs = make_job(user=team_setup["mallory"], team=team_setup["team_b"])
    response = client_for(team_setup["alice"]).get(f"/jobs/{theirs.pk}/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in html and "No such job." in html and "Back to the dashboard" in html
