"""Reads: a team's webhooks and their recent deliveries (team page), a user's e-mail choice (profile)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from webapp.notifications.models import JobEmail, NotificationSettings, Webhook, WebhookDelivery
from webapp.teams.models import Team

DELIVERIES_SHOWN = 20


def webhooks_for_team(*, team: Team) -> QuerySet[Webhook]:
    return Webhook.objects.filter(team=team)


def deliveries_for_team(*, team: Team, limit: int = DELIVERIES_SHOWN) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(webhook__team=team).select_related("webhook")[:limit])


def job_email_get(*, user: User) -> str:
    choice = NotificationSettings.objects.filter(user=user).values_list("job_email", flat=True).first()
    return choice or JobEmail.OFF
