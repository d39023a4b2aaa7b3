"""The teams API: the teams you belong to, your role, and their members."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets

from webapp.teams.models import Membership, Team
from webapp.teams.selectors import teams_for_user


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role"]


class TeamSerializer(serializers.ModelSerializer):
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "slug", "name", "created_at", "members"]


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    lookup_field = "slug"

    def get_queryset(self) -> Any:
        return teams_for_user(self.request.user).prefetch_related("memberships__user")
