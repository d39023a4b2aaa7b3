"""Credentials are taken out of any URL in a text before it reaches an error or a log."""

import pytest

from kernels.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:s3cret@redis.example:6379/0", "redis://***@redis.example:6379/0"),
        (
            "cannot reach postgres://paralab:s3cret@db:5432/paralab: refused",
            "cannot reach postgres://***@db:5432/paralab: refused",
        ),
        ("rediss://default:p@ss@host/1", "rediss://***@host/1"),  # an unescaped "@" in the password
        ("redis://user@host", "redis://***@host"),  # a lone user part may be a token
        ("a redis://:one@h1/0 and amqp://u:two@h2//", "a redis://***@h1/0 and amqp://***@h2//"),
        ("redis://:one@h1,redis://:two@h2/0", "redis://***@h1,redis://***@h2/0"),
    ],
)
def test_the_credentials_of_every_url_are_hidden(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "redis://127.0.0.1:6379/0",
        "Error 111 connecting to 127.0.0.1:1. Connection refused.",
        "mail alice@example.org about https://example.org/a@b",
        "",
    ],
)
def test_text_without_credentials_is_unchanged(text):
    assert redact(text) == text
