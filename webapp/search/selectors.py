"""Search in job logs (and error texts), scoped to the teams of the user asking.

PostgreSQL: full-text search (django.contrib.postgres) with the "simple" configuration — logs are
words like "rank", "P0", "fib(37)": stemming English would only blur them — and web-search syntax
("a b" both words, "a or b", "-a", quoted phrases). SQLite: a case-insensitive substring match.
Newest first on both, not by rank: ranking computes every match's vector (2 s for a word in all of
5,000 jobs here), while newest-first stops at the first page of matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from webapp.jobs.models import Job
from webapp.jobs.selectors import jobs_visible_to

MAX_QUERY = 200
MAX_RESULTS = 50
LINES_SHOWN = 3


class SearchInputError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class LogHit:
    job: Job
    lines: list[str]  # the first few log lines holding one of the words (the error, if only it matched)


def log_search(*, user: User | AnonymousUser, query: str, team: str = "", limit: int = MAX_RESULTS) -> list[LogHit]:
    """The user's jobs whose log or error matches ``query``, newest first."""
    query = query.strip()
    for field, value in (("q", query), ("team", team)):
        if "\x00" in value:  # PostgreSQL refuses NUL in any text: a 400 here, not a 500 in the query
            raise SearchInputError(field, "must not contain NUL characters")
    if not query:
        raise SearchInputError("q", "give one or more words to look for")
    if len(query) > MAX_QUERY:
        raise SearchInputError("q", f"at most {MAX_QUERY} characters")
    jobs = jobs_visible_to(user)
    if team:
        jobs = jobs.filter(team__slug=team)
    found = _matching(jobs, query)[:limit]
    words = [w.strip('"').lower() for w in query.split() if w.strip('"-').lower() not in ("", "or")]
    return [LogHit(job, _lines(job, words)) for job in found]


def _matching(jobs: QuerySet[Job], query: str) -> QuerySet[Job]:
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # The expression of the GIN index job_log_search (jobs migration 0009), or the index goes unused. An
        # alias, not an annotation: selected, the vector would be computed again for every job returned.
        vector = SearchVector(Cast("log", TextField()), "error", config="simple")
        terms = SearchQuery(query, search_type="websearch", config="simple")
        return jobs.alias(search=vector).filter(search=terms).order_by("-queued_at", "-id")
    return (
        jobs.annotate(log_text=Cast("log", TextField()))
        .filter(Q(log_text__icontains=query) | Q(error__icontains=query))
        .order_by("-queued_at", "-id")
    )


def _lines(job: Job, words: list[str]) -> list[str]:
    lines = [line for line in job.log if any(word in line.lower() for word in words)][:LINES_SHOWN]
    return lines or ([job.error] if job.error else [])
