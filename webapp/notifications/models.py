"""Who hears about finished jobs: a team's webhooks (with a log of every delivery) and each user's e-mail choice."""

from django.conf import settings
from django.db import models


class Webhook(models.Model):
    """An address the team's owners chose; every finished job of the team is POSTed there, signed."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    # Kept in clear, unlike our tokens: each payload is signed with it (HMAC-SHA256), so we need the key itself.
    secret = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not sent yet, or waiting to be tried again
    DELIVERED = "delivered", "Delivered"  # the receiver answered 2xx
    FAILED = "failed", "Failed"  # given up: a refusal, a 4xx, or every attempt used


class WebhookDelivery(models.Model):
    """One event for one webhook, and every attempt to deliver it (when, the response code or error, how long)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=30)  # job.finished, or ping for the team page's test button
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)  # claimed attempts; `attempts` has their outcomes
    attempts = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_recent")]
        # A redelivered task finds the job's delivery instead of making a second one.
        constraints = [models.UniqueConstraint(fields=["webhook", "job", "event"], name="one_delivery_per_job_event")]

    @property
    def response_codes(self) -> list[str]:
        return [str(a["code"]) if a.get("code") is not None else "no answer" for a in self.attempts]


class JobEmail(models.TextChoices):
    OFF = "off", "Never"
    FAILED = "failed", "When a job of mine fails"
    FINISHED = "finished", "When a job of mine ends (succeeded, failed or cancelled)"


class NotificationSettings(models.Model):
    """A user's own choice of e-mail about their jobs; no row means no e-mail (opt-in)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    job_email = models.CharField(max_length=10, choices=JobEmail.choices, default=JobEmail.OFF)
