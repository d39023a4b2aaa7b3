"""Forms: a team's webhook, and a user's choice of e-mail about their jobs."""

from __future__ import annotations

import secrets

from django import forms

from webapp.notifications.models import JobEmail
from webapp.notifications.outbound import WebhookRefused, url_check


class WebhookForm(forms.Form):
    prefix = "webhook"

    url = forms.URLField(max_length=500, assume_scheme="https", label="URL",
                         help_text="each finished job of the team is POSTed here as JSON")  # fmt: skip
    secret = forms.CharField(
        min_length=16,
        max_length=200,
        help_text="signs each payload (X-Paralab-Signature: t=…,v1=HMAC-SHA256 of “t.body”); keep a copy",
    )

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["secret"].initial = secrets.token_hex(24)  # a good one, unless the owner has their own

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            url_check(url)
        except WebhookRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


class JobEmailForm(forms.Form):
    job_email = forms.ChoiceField(choices=JobEmail.choices, label="E-mail me", widget=forms.RadioSelect)
    email = forms.EmailField(required=False, label="at", help_text="your account's address (password resets too)")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("job_email", JobEmail.OFF) != JobEmail.OFF and not data.get("email"):
            raise forms.ValidationError("Give the address to send these e-mails to.")
        return data
