"""Fuzzing the API from its own OpenAPI schema (schemathesis) with a valid token: no input gives a 5xx,
and every documented response matches the schema. The number of examples per operation is bounded."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from webapp.wsgi import application

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def keep_the_test_transaction():
    """The WSGI handler closes the DB connection around each request; Django's own test client
    disconnects that signal too, so every fuzzed request stays inside the test's transaction
    (and no job is ever sent to a worker: the transaction is never committed)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(team_setup):
    from webapp.accounts.services import token_create

    return token_create(user=team_setup["alice"], name="fuzz")[1]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_fails_and_matches_its_schema(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error, response_schema_conformance]
    )
