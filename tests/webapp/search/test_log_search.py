"""Log search through the page and the API, scoped to the user's teams; runs on SQLite (substring match)
and PostgreSQL (full-text search) — the suite's two passes."""

from __future__ import annotations

import pytest
from django.db import connection

from webapp.jobs.models import Job, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def logs(team_setup):
    def job(team, user, log, status=Status.SUCCEEDED, error=""):
        return Job.objects.create(team=team_setup[team], submitted_by=team_setup[user], workload="mpi_ring",
                                  params={}, backend="mpi", implementation="python", status=status, log=log,
                                  error=error).pk  # fmt: skip

    return {
        "ring": job("team_a", "alice", ["rank 0 sends P0", "rank 1 appends P1", "ring closed after 4 hops"]),
        "fib": job("team_a", "bob", ["fib(37) on worker 1", "unit 2 done"]),
        "failed": job("team_a", "bob", ["starting"], Status.FAILED, "MPI startup: rank 3 never connected"),
        "other": job("team_b", "mallory", ["rank 0 sends P0", "ring closed after 2 hops"]),
    }


def ids(response) -> list[int]:
    return [hit["id"] for hit in response.json()["results"]]


def test_search_finds_the_teams_jobs_with_their_matching_lines(logs, team_setup, client_for, api_client_for):
    page = client_for(team_setup["vera"]).get("/search/logs/?q=closed")
    body = page.content.decode()
    assert page.status_code == 200 and "1 job." in body
    assert f'href="/jobs/{logs["ring"]}/"' in body and "ring closed after 4 hops" in body
    assert f"/jobs/{logs['other']}/" not in body and "2 hops" not in body  # team B's job, same words

    response = api_client_for(team_setup["vera"]).get("/api/v1/search/logs/", {"q": "closed"})
    assert response.status_code == 200 and ids(response) == [logs["ring"]]
    [hit] = response.json()["results"]
    assert hit["lines"] == ["ring closed after 4 hops"] and hit["team"] == "team-a"
    assert hit["url"] == f"/api/v1/jobs/{logs['ring']}/"

    # The error text is searched too, and shown when no log line matches.
    [hit] = api_client_for(team_setup["bob"]).get("/api/v1/search/logs/", {"q": "connected"}).json()["results"]
    assert hit["id"] == logs["failed"] and hit["lines"] == ["MPI startup: rank 3 never connected"]
    # Mallory sees her own team's job only; the team filter narrows to one team of one's own.
    assert ids(api_client_for(team_setup["mallory"]).get("/api/v1/search/logs/", {"q": "closed"})) == [logs["other"]]
    assert (
        ids(api_client_for(team_setup["mallory"]).get("/api/v1/search/logs/", {"q": "closed", "team": "team-a"})) == []
    )
    assert ids(api_client_for(team_setup["alice"]).get("/api/v1/search/logs/", {"q": "P0"})) == [logs["ring"]]
    assert ids(api_client_for(team_setup["alice"]).get("/api/v1/search/logs/", {"q": "nothing-like-it"})) == []


def test_several_words(logs, team_setup, api_client_for):
    def found(q: str) -> list[int]:
        return ids(api_client_for(team_setup["alice"]).get("/api/v1/search/logs/", {"q": q}))

    assert found("rank 1") == [logs["ring"]]  # "rank 1 appends P1"; the failed job has "rank 3", the fib job "1"
    if connection.vendor == "postgresql":
        # Full text, web-search syntax: words anywhere and in any order, "or", "-" to exclude.
        assert found("hops rank") == [logs["ring"]]
        assert found("hops -sends") == []
        assert set(found("fib or hops")) == {logs["ring"], logs["fib"]}
        assert found("RANK") == [logs["failed"], logs["ring"]]  # newest first
    else:
        # A case-insensitive substring, as written.
        assert found("hops rank") == []
        assert found("RANK 1") == [logs["ring"]]


@pytest.mark.parametrize(
    "params, error",
    [({}, "give one or more words to look for"), ({"q": "   "}, "give one or more words to look for"),
     ({"q": "x" * 201}, "at most 200 characters"),
     # PostgreSQL refuses NUL in text: schemathesis found the 500 (GET /api/v1/search/logs/?team=…%00…).
     ({"q": "sy\x00s"}, "must not contain NUL characters"), ({"q": "closed", "team": "a\x00b"}, "must not contain NUL")],
)  # fmt: skip
def test_bad_queries_are_a_400_that_says_why(team_setup, client_for, api_client_for, params, error):
    response = api_client_for(team_setup["alice"]).get("/api/v1/search/logs/", params)
    assert response.status_code == 400 and error in str(response.json())
    if params:
        page = client_for(team_setup["alice"]).get("/search/logs/", params)
        assert page.status_code == 400 and error in page.content.decode()
    else:  # the page with no query is the empty search form
        page = client_for(team_setup["alice"]).get("/search/logs/")
        assert page.status_code == 200 and 'name="q"' in page.content.decode()
