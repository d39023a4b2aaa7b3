"""API tokens: create (the clear text is returned once), revoke, authenticate; the hashed secrets they and
team invitations (webapp/teams/services.py) are made of."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone

from webapp.accounts.models import ApiToken

TOKEN_PREFIX = "plb_"
LOOKUP_CHARS = 12  # "plb_" + 8 random characters identify the row
LAST_USED_RESOLUTION = timedelta(minutes=1)  # don't write on every request


def secret_digest(text: str) -> str:
    # Secrets carry 256 random bits, so a plain SHA-256 (no slow KDF) is enough to make a leaked table useless.
    return hashlib.sha256(text.encode()).hexdigest()


def secret_new(prefix: str) -> tuple[str, str, str]:
    """A new secret: its text (to show once), the lookup prefix kept in clear, and the digest to store."""
    text = prefix + secrets.token_urlsafe(32)
    return text, text[:LOOKUP_CHARS], secret_digest(text)


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the row and the token text; the text is not stored and cannot be shown again."""
    text, prefix, digest = secret_new(TOKEN_PREFIX)
    token = ApiToken.objects.create(user=user, name=name[:100] or "token", prefix=prefix, digest=digest)
    return token, text


def token_revoke(*, user: User, token_id: int) -> bool:
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def token_authenticate(text: str) -> User | None:
    """The active user owning this token, or None; records when the token was last used."""
    if not text.startswith(TOKEN_PREFIX) or len(text) > 100:
        return None
    digest = secret_digest(text)
    for token in ApiToken.objects.filter(prefix=text[:LOOKUP_CHARS], revoked_at__isnull=True).select_related("user"):
        if hmac.compare_digest(token.digest, digest) and token.user.is_active:
            now = timezone.now()
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            return token.user
    return None


def user_signup(*, username: str, email: str, password: str) -> User:
    """An account of one's own, in no team yet (open sign-up, when PARALAB_OPEN_SIGNUP allows it)."""
    return get_user_model().objects.create_user(username=username, email=email, password=password)
