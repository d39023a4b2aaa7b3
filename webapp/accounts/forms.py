"""The sign-up form: Django's own user creation (its password validators included) plus an e-mail address."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    # The address password resets are mailed to.
    email = forms.EmailField(help_text="for password resets and, if you ask for them, job notifications")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def __init__(self, *args: Any, invited_email: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        if invited_email:
            # The invitation's link reached this address, which proves it: the account takes it as it is.
            self.fields["email"].initial = invited_email
            self.fields["email"].disabled = True
            self.fields["email"].help_text = "the address this invitation was sent to"
