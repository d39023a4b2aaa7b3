"""Every API route, generated from the URL conf, with a ``.json`` suffix or a ``?format=``: never a 5xx.

DRF's format-suffix routes handed a ``format`` argument to actions that do not take one (issue 10,
item 6: ``/api/v1/workloads.json``, ``jobs/<id>/cancel.json``, ``studies/presets.json`` … were 500s).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, reverse
from rest_framework.test import APIClient

from webapp import api_urls
from webapp.jobs.models import Status
from webapp.studies.models import Study, StudyRun

pytestmark = pytest.mark.django_db

METHODS = ["get", "head", "options", "post", "put", "patch", "delete"]


def api_routes(patterns: list[Any]) -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns)
        else:
            yield pattern


def route_kwargs(route: URLPattern, objects: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Values that reach the view for each argument of the route (an existing job, study, team, file)."""
    groups = list(route.pattern.regex.groupindex)
    pk = objects["study"] if route.name.startswith("api-study") else objects["job"]
    if route.name.startswith("api-workload"):
        pk = "fib"
    values = {"pk": pk, "name": "mandelbrot.png", "slug": "team-a"}
    for fmt in ["csv", "json"] if "fmt" in groups else [None]:
        yield {g: fmt if g == "fmt" else values[g] for g in groups}


def api_paths(objects: dict[str, Any]) -> list[str]:
    paths = []
    for route in api_routes(api_urls.urlpatterns):
        if "format" in route.pattern.regex.groupindex:
            continue  # a suffix route itself; its base route is walked below
        for kwargs in route_kwargs(route, objects):
            paths.append(reverse(route.name, kwargs=kwargs))
    return paths


@pytest.fixture
def objects(team_setup, make_job, make_artifact):
    alice, team = team_setup["alice"], team_setup["team_a"]
    job = make_job(user=alice, team=team, status=Status.SUCCEEDED, wall_time=1.0, result={})
    make_artifact(job)
    study = Study.objects.create(team=team, created_by=alice, title="s", workload="fib", params={"ns": [5]},
                                 backends=["sequential"], implementations=["python"], workers=[1],
                                 repetitions=1)  # fmt: skip
    StudyRun.objects.create(study=study, job=job, repetition=1)
    return {"job": job.pk, "study": study.pk, **team_setup}


def test_every_api_route_with_a_format_suffix_or_parameter_answers_without_a_server_error(objects, api_client_for):
    client: APIClient = api_client_for(objects["alice"])
    client.raise_request_exception = False  # a view's exception must show as the 500 a user would get
    paths = api_paths(objects)
    assert "/api/v1/studies/presets/" in paths and f"/api/v1/jobs/{objects['job']}/rerun/" in paths
    failures = []
    for path in paths:
        variants = {path.rstrip("/") + ".json", path + ".json", path + "?format=json", path + "?format=csv"}
        for url in sorted(variants):
            for method in METHODS:
                response = getattr(client, method)(url, {}, format="json")
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {url} -> {response.status_code}")
    assert not failures, "\n".join(failures)


def test_suffix_routes_are_a_clean_404_and_the_api_root_links_to_real_routes(objects, api_client_for):
    client = api_client_for(objects["alice"])
    for url in ["/api/v1/workloads.json", f"/api/v1/jobs/{objects['job']}/cancel.json", "/api/v1/studies/presets.json"]:
        response = client.get(url) if "cancel" not in url else client.post(url)
        assert response.status_code == 404, url
    links = client.get("/api/v1/").json()
    assert links["workloads"] == "http://testserver/api/v1/workloads/"
    assert all(client.get(link).status_code == 200 for link in links.values())
