"""Password-reset mails are limited per client address and per e-mail address (webapp/accounts/reset_limit.py):
through the pages with the test client, the counts in the suite's real Redis, the mail in Django's test outbox."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail
from django.test import Client

from tests.services import free_port

pytestmark = pytest.mark.django_db

SENT = "Check your e-mail"
LIMITED = "Too many reset requests"
PROXY = "10.0.0.1"


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    # The counts belong to the deployment, named by its queue: a name of this test's own starts them at zero.
    settings.CELERY_TASK_DEFAULT_QUEUE = f"reset-limit-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def forgetful(make_user):
    user = make_user("forgetful")
    user.email = "forgetful@example.org"
    user.save()
    return user


def ask(client: Client, email: str):
    return client.post("/accounts/password-reset/", {"email": email}, follow=True)


def test_an_address_that_asked_too_often_gets_no_more_mail_and_a_page_that_says_when_to_ask_again(settings, forgetful):
    for n in range(settings.PARALAB_RESET_PER_ADDRESS):
        # Each from a client of its own: what stops the next is the address's limit.
        assert SENT in ask(Client(REMOTE_ADDR=f"192.0.2.{n}"), "forgetful@example.org").content.decode()
    response = ask(Client(REMOTE_ADDR="192.0.2.99"), " Forgetful@EXAMPLE.org")  # the same address to Django
    page = response.content.decode()
    assert response.status_code == 429 and LIMITED in page and "You can ask again in 60 minutes." in page
    assert settings.PARALAB_RESET_WINDOW - 10 < int(response["Retry-After"]) <= settings.PARALAB_RESET_WINDOW
    assert len(mail.outbox) == settings.PARALAB_RESET_PER_ADDRESS
    assert SENT in ask(Client(REMOTE_ADDR="192.0.2.99"), "someone-else@example.org").content.decode()


def test_an_address_without_an_account_is_answered_exactly_alike(settings, forgetful):
    def answers(email: str, client: Client) -> list[tuple[int, str]]:
        asked = [ask(client, email) for _ in range(settings.PARALAB_RESET_PER_ADDRESS + 1)]
        return [(response.status_code, response.content.decode()) for response in asked]

    known = answers("forgetful@example.org", Client(REMOTE_ADDR="198.51.100.1"))
    unknown = answers("nobody-here@example.org", Client(REMOTE_ADDR="198.51.100.2"))
    assert known == unknown  # no way to probe who has an account
    assert [code for code, _ in known][-2:] == [200, 429]
    assert len(mail.outbox) == settings.PARALAB_RESET_PER_ADDRESS  # all to the account, none to the stranger


def test_a_client_that_asked_too_often_gets_no_more_mail_whatever_the_address(settings, forgetful):
    client = Client(REMOTE_ADDR="203.0.113.5")
    for n in range(settings.PARALAB_RESET_PER_CLIENT):
        assert ask(client, f"guess-{n}@example.org").status_code == 200
    assert ask(client, "forgetful@example.org").status_code == 429
    assert mail.outbox == []
    assert SENT in ask(Client(REMOTE_ADDR="203.0.113.6"), "forgetful@example.org").content.decode()
    assert len(mail.outbox) == 1


def test_behind_the_proxy_the_client_is_counted_as_the_login_lockout_counts_it(settings, forgetful):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.PARALAB_RESET_PER_CLIENT):
        # The leftmost entries are the client's own words: changing them does not make it another client.
        client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.5")
        assert ask(client, f"guess-{n}@example.org").status_code == 200
    spoofing = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="10.9.9.200, 203.0.113.5")
    assert ask(spoofing, "guess-x@example.org").status_code == 429
    # Another client behind the same proxy has its own count.
    other = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert SENT in ask(other, "forgetful@example.org").content.decode()


def test_without_redis_the_reset_still_works_unlimited(settings, forgetful, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    for _ in range(settings.PARALAB_RESET_PER_ADDRESS + 1):
        assert SENT in ask(Client(), "forgetful@example.org").content.decode()
    assert len(mail.outbox) == settings.PARALAB_RESET_PER_ADDRESS + 1
    assert "password reset not rate-limited: Redis did not answer" in caplog.text


def test_a_bad_address_is_a_form_error_and_uses_up_nothing(settings):
    client = Client(REMOTE_ADDR="192.0.2.200")
    for _ in range(settings.PARALAB_RESET_PER_CLIENT + 1):
        response = client.post("/accounts/password-reset/", {"email": "not-an-address"})
        assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    assert ask(client, "forgetful@example.org").status_code == 200
