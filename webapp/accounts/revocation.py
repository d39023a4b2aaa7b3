"""Tells open WebSockets that their access may be gone: a logout, a deactivation, a new password, a team left.

A socket checks access once, when it connects, and then relays its group's events without asking again
(hundreds of viewers per job: no per-event query). So when access may have been lost, a message goes,
after the commit, to the two groups every socket joins besides its feed — its user's and its session's —
and the consumer (webapp/jobs/consumers.py) checks again or, for its own session's logout, closes.

These are model and auth signals rather than calls in our services because the changes mostly come
through Django's own code: the logout view, the admin's user form, `manage.py changepassword`, and
memberships deleted in cascade with their team or user. The receivers decide nothing; they only notify.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from webapp.group_send import group_send

log = logging.getLogger(__name__)

ACCESS_CHANGED = "access.changed"  # the user or one of their memberships changed: check again
SESSION_ENDED = "session.ended"  # this very session logged out: close


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def session_group(session_key: str) -> str:
    # A digest, not the key: group names are Redis keys anyone with access to Redis can list, and a
    # session key is a login.
    return "session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def access_changed(*, user_id: int) -> None:
    """After the commit, every open socket of this user checks its access again."""
    transaction.on_commit(lambda: _notify(user_group(user_id), ACCESS_CHANGED))


def session_ended(*, session_key: str) -> None:
    """After the commit, every open socket of this session closes (the user's other sessions stay)."""
    transaction.on_commit(lambda: _notify(session_group(session_key), SESSION_ENDED))


def _notify(group: str, message_type: str) -> None:
    try:
        group_send(group, {"type": message_type})
    except Exception:  # a logout or an admin save must not fail for it; sockets also re-check on their own
        log.warning("could not tell %s that access changed", group, exc_info=True)


def _on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        session_ended(session_key=session_key)


def _on_user_saved(sender: Any, instance: Any, created: bool, update_fields: Any, **kwargs: Any) -> None:
    # Every login saves last_login: nothing to check then. Any other save may deactivate the user or
    # change their password (which ends their other sessions).
    if not created and update_fields != frozenset({"last_login"}):
        access_changed(user_id=instance.pk)


def _on_membership_changed(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    # A new membership takes nothing away (and no socket can be open on a team the user was not in).
    if not created:
        access_changed(user_id=instance.user_id)


def connect_receivers() -> None:
    user_logged_out.connect(_on_logged_out, dispatch_uid="revocation-logout")
    post_save.connect(_on_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="revocation-user")
    post_delete.connect(_on_membership_changed, sender="teams.Membership", dispatch_uid="revocation-left")
    post_save.connect(_on_membership_changed, sender="teams.Membership", dispatch_uid="revocation-role")
