"""The log search page and its API twin; both call the one selector."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.search.selectors import SearchInputError, log_search
from webapp.teams.selectors import teams_for_user


@login_required
def log_search_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    query, team = request.GET.get("q", ""), request.GET.get("team", "")
    context: dict[str, Any] = {"query": query, "team": team, "teams": list(teams_for_user(request.user))}
    status = 200
    if "q" in request.GET:
        try:
            context["hits"] = log_search(user=request.user, query=query, team=team)
        except SearchInputError as exc:
            context["error"], status = exc.reason, 400
    return render(request, "search/logs.html", context, status=status)


class LogHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="job.pk")
    url = serializers.SerializerMethodField()
    team = serializers.CharField(source="job.team.slug")
    workload = serializers.CharField(source="job.workload")
    status = serializers.CharField(source="job.status")
    queued_at = serializers.DateTimeField(source="job.queued_at")
    lines = serializers.ListField(child=serializers.CharField())

    def get_url(self, hit: Any) -> str:
        return reverse("api-job-detail", args=[hit.job.pk])


class LogSearchResultsSerializer(serializers.Serializer):
    results = LogHitSerializer(many=True)


class LogSearchView(APIView):
    """GET ?q=words[&team=slug]: your teams' jobs whose log or error holds them, with the matching lines."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="words (PostgreSQL: web-search syntax)"),
            OpenApiParameter("team", str, description="a team's slug; all your teams if absent"),
        ],
        responses=LogSearchResultsSerializer,
    )
    def get(self, request: Request) -> Response:
        try:
            hits = log_search(user=request.user, query=request.query_params.get("q", ""),
                              team=request.query_params.get("team", ""))  # fmt: skip
        except SearchInputError as exc:
            raise ValidationError({exc.field: [exc.reason]}) from None
        return Response({"results": LogHitSerializer(hits, many=True).data})
