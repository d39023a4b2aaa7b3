"""The workers page: who is online, what each serves, runs and offers. Thin: one selector call."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.queues import CAPABILITIES, queue_name
from webapp.workers.selectors import CAPABILITY_RUNS, worker_status_for_user
from webapp.workers.waiting import queue_depths


@login_required
def worker_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    status = worker_status_for_user(user=request.user)
    depths = {row.capability: row for row in queue_depths()}
    coverage = [
        {
            "capability": c,
            "queue": queue_name(c),
            "runs": CAPABILITY_RUNS[c],
            "workers": len(status.serving(c)),
            "waiting": depths[c],
        }
        for c in CAPABILITIES
    ]
    return render(request, "workers/list.html", {"status": status, "coverage": coverage})
