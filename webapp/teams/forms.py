"""Forms for managing a team's members."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from webapp.teams.models import Role


class MemberRoleForm(forms.Form):
    """Add a user to the team by username with a role, or change the role of a member."""

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    user: Any = None  # the user named, once the form is valid

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"There is no user named {username!r}.")
        self.user = user
        return username


class InvitationForm(forms.Form):
    """Invite someone by e-mail, or leave the address empty for a link to hand over yourself."""

    email = forms.EmailField(required=False, help_text="leave empty for a link you send yourself")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    prefix = "invite"  # the team page also shows the member form, whose fields have the same names
